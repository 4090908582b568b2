/**
 * For tests and benchmarks of the runc driver: whether runc can run here, and a busybox
 * root filesystem made from Debian's busybox-static (no image, no network).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const BUSYBOX = '/bin/busybox';

/** Why runc tests cannot run on this machine, or undefined when they can. */
export function runcSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'runc needs Linux';
  if (process.getuid?.() !== 0) return 'the runc driver needs root';
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'runc is not installed';
  }
  if (!existsSync(BUSYBOX)) return 'busybox-static is not installed (/bin/busybox)';
  return undefined;
}

/** A rootfs at `dir` with busybox and its applets in /bin, /etc/passwd and /etc/group. */
export function busyboxRootfs(dir: string): string {
  if (existsSync(join(dir, 'bin', 'busybox'))) return dir;
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  execFileSync('sh', [
    '-c',
    `printf 'root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\\n' > ${dir}/etc/passwd; ` +
      `printf 'root:x:0:\\nnogroup:x:65534:\\n' > ${dir}/etc/group`,
  ]);
  return dir;
}
