/**
 * overlayfs for image roots: the mount itself, the probe that says whether this machine
 * can do it, and the conversion of a layer's OCI whiteouts into overlay whiteouts.
 *
 * Node can neither mount nor make device nodes nor set extended attributes, so the
 * `mount`/`umount` commands (util-linux) and GNU tar (which makes character devices and
 * restores `trusted.*` xattrs as root) do those parts. Both are on every Linux with runc.
 *
 * The mount option string is limited to one page (4096 bytes): the lower directories are
 * given as short relative names (`0`, `1`, … symlinks to the cached layers in a directory
 * of the container's) and `mount` runs in that directory, so an image of hundreds of
 * layers fits, as Docker's overlay2 does with its `l/` links.
 * https://docs.kernel.org/filesystems/overlayfs.html
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import type { LayerMeta } from './extract.js';

export interface OverlayDirs {
  /** Layer roots, top first (overlayfs' lowerdir order). */
  lower: string[];
  /** Holds the short names of the lower directories. */
  links: string;
  upper: string;
  work: string;
  target: string;
}

export async function mountOverlay(dirs: OverlayDirs): Promise<void> {
  mkdirSync(dirs.links, { recursive: true });
  dirs.lower.forEach((dir, i) => symlinkSync(dir, join(dirs.links, String(i))));
  for (const dir of [dirs.upper, dirs.work, dirs.target]) mkdirSync(dir, { recursive: true });
  const lowerdir = dirs.lower.map((_, i) => String(i)).join(':');
  const options = `lowerdir=${lowerdir},upperdir=${dirs.upper},workdir=${dirs.work}`;
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options, dirs.target], dirs.links);
}

/** Unmounts `target` if it is a mount point (lazily when busy). */
export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', [target]);
  } catch (err) {
    if (!(await isMountPoint(target))) return;
    await run('umount', ['-l', target]).catch(() => {
      throw err;
    });
  }
}

async function isMountPoint(path: string): Promise<boolean> {
  const r = await run('mountpoint', ['-q', path]).then(
    () => true,
    () => false,
  );
  return r;
}

/** Whether an overlay can be mounted with its layers under `dir` (and whiteouts made). */
export async function probeOverlay(dir: string): Promise<boolean> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  mkdirSync(dir, { recursive: true });
  const probe = await mkdtemp(join(dir, 'overlay-probe-'));
  const dirs: OverlayDirs = {
    lower: [join(probe, 'lower')],
    links: join(probe, 'l'),
    upper: join(probe, 'upper'),
    work: join(probe, 'work'),
    target: join(probe, 'mnt'),
  };
  try {
    mkdirSync(join(probe, 'lower', 'd'), { recursive: true });
    await materializeWhiteouts(join(probe, 'lower'), { whiteouts: ['d/x'], opaque: ['d'] });
    if (!lstatSync(join(probe, 'lower', 'd', 'x')).isCharacterDevice()) return false;
    await mountOverlay(dirs);
    await unmount(dirs.target);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

/**
 * Writes a layer's whiteouts as overlayfs wants them in a lower directory: a character
 * device 0/0 per deleted path, `trusted.overlay.opaque=y` on opaque directories. The
 * directories they sit in keep their attributes (their entries in the generated tar carry
 * what they had, and GNU tar restores them last).
 */
export async function materializeWhiteouts(
  root: string,
  meta: Pick<LayerMeta, 'whiteouts' | 'opaque'>,
): Promise<void> {
  if (meta.whiteouts.length === 0 && meta.opaque.length === 0) return;
  const dirs = new Set<string>(meta.opaque);
  for (const path of meta.whiteouts) {
    const slash = path.lastIndexOf('/');
    dirs.add(slash < 0 ? '' : path.slice(0, slash));
  }
  const opaque = new Set(meta.opaque);
  const archive = pack();
  for (const dir of [...dirs].sort()) {
    const st = lstatSync(dir === '' ? root : join(root, dir));
    archive.entry({
      name: dir === '' ? './' : `./${dir}/`,
      type: 'directory',
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: st.mtime,
      ...(opaque.has(dir) ? { pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } } : {}),
    });
  }
  for (const path of meta.whiteouts) {
    archive.entry({
      name: `./${path}`,
      type: 'character-device',
      mode: 0,
      devmajor: 0,
      devminor: 0,
    });
  }
  archive.finalize();
  await run(
    'tar',
    [
      '-x',
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=trusted.overlay.*',
      '-f',
      '-',
      '-C',
      root,
    ],
    undefined,
    archive,
  );
}

/** Runs a command to its end; rejects with its stderr on failure. */
function run(
  cmd: string,
  args: string[],
  cwd?: string,
  stdin?: { pipe(dest: NodeJS.WritableStream): unknown },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr?.on('data', (c: Buffer) => stderr.push(c));
    if (stdin && child.stdin) {
      child.stdin.on('error', () => undefined);
      stdin.pipe(child.stdin);
    }
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${cmd} ${args.join(' ')}: ${Buffer.concat(stderr).toString().trim()}`));
    });
  });
}
