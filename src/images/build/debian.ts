/**
 * A Debian root filesystem as one layer, built by mmdebstrap from Debian's mirror (the only
 * network it uses): `--variant=minbase` (Essential: yes packages and apt), plus the
 * packages a recipe adds, written straight to a tarball. With SOURCE_DATE_EPOCH set,
 * mmdebstrap's output is reproducible for the same package versions; device nodes are left
 * out of the tarball (`--skip=output/dev`: the container runtime makes /dev), and so are
 * man pages, documentation (copyright files stay) and translations, which a function
 * never reads.
 * https://manpages.debian.org/testing/mmdebstrap/mmdebstrap.1.en.html
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { BuildCache, LayerRecord } from './cache.js';
import { runTool } from './command.js';
import { SOURCE_DATE_EPOCH, storeTar } from './layer.js';
import type { Step } from './progress.js';

/**
 * The Debian mirrors this machine's apt already uses (the archive and its security
 * archive), read from /etc/apt/sources.list and sources.list.d (one-line and deb822
 * forms), so image builds reach exactly the package source the machine is set up with.
 * `undefined` where apt names none (then STRATUS_DEBIAN_MIRROR must say).
 */
export async function hostDebianMirrors(
  aptDir = '/etc/apt',
): Promise<{ mirror?: string; security?: string }> {
  const texts: string[] = [];
  const read = (path: string) => readFile(path, 'utf8').then((t) => void texts.push(t), noFile);
  await read(join(aptDir, 'sources.list'));
  const dir = join(aptDir, 'sources.list.d');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names.sort()) if (/\.(list|sources)$/.test(n)) await read(join(dir, n));
  const uris: string[] = [];
  for (const text of texts) {
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      const deb822 = /^URIs:\s*(.+)$/i.exec(line);
      if (oneLine) uris.push(oneLine[1]);
      else if (deb822) uris.push(...deb822[1].trim().split(/\s+/));
    }
  }
  const clean = (u: string) => u.replace(/\/+$/, '');
  return {
    mirror: uris.map(clean).find((u) => /\/debian$/.test(u)),
    security: uris.map(clean).find((u) => /\/debian-security$/.test(u)),
  };
}

function noFile(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

/** dpkg path filters: what minbase would install but no function reads. */
export const PATH_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/lintian/*',
];

export interface DebianOptions {
  suite: string;
  /** Packages beyond minbase. */
  include: readonly string[];
  mirror: string;
  /**
   * Stable suites also take `<suite>-updates` and `<suite>-security` (from this mirror), so
   * the rootfs has the fixes a Debian system installed today would have. Undefined for
   * testing, which has no security suite.
   */
  securityMirror?: string;
  /**
   * A shell command run inside the finished rootfs (`chroot "$1" …`) whose stdout becomes
   * the step's `probe` fact, e.g. the Python version actually installed.
   */
  probe?: string;
  /**
   * Accept a Release file past its Valid-Until. Only testing and unstable have one (a week);
   * a snapshot or a slow mirror serves them expired, and apt then refuses the suite.
   * Signatures are still checked.
   */
  ignoreValidUntil?: boolean;
  /**
   * More `--customize-hook` commands, run after the packages are in (e.g. javac compiling
   * the Java runtime interface client inside the rootfs), with `hookInputs` naming what
   * they read from the host (a hash of it goes into the layer's key).
   */
  hooks?: readonly string[];
  hookInputs?: string;
  /**
   * `--essential-hook` commands: run after the Essential packages, before the others are
   * installed (e.g. creating /usr/share/man/man1, which OpenJDK's postinst needs for its
   * update-alternatives links and the path filters leave out).
   */
  essentialHooks?: readonly string[];
}

/** The inputs that decide the layer (its cache key). */
export function debianKey(opts: DebianOptions): Record<string, unknown> {
  return {
    kind: 'debian-rootfs',
    suite: opts.suite,
    include: [...opts.include].sort(),
    sources: sources(opts),
    excludes: PATH_EXCLUDES,
    probe: opts.probe,
    ignoreValidUntil: opts.ignoreValidUntil || undefined,
    hooks: opts.hooks,
    hookInputs: opts.hookInputs,
    essentialHooks: opts.essentialHooks,
  };
}

/** The apt sources, as sources.list lines (mmdebstrap takes them as its mirror arguments). */
export function sources(opts: DebianOptions): string[] {
  const lines = [`deb ${opts.mirror} ${opts.suite} main`];
  if (opts.securityMirror) {
    lines.push(
      `deb ${opts.mirror} ${opts.suite}-updates main`,
      `deb ${opts.securityMirror} ${opts.suite}-security main`,
    );
  }
  return lines;
}

export async function buildDebianLayer(
  opts: DebianOptions,
  cache: BuildCache,
  step: Step,
  description: string,
): Promise<LayerRecord> {
  const work = await cache.workDir(`debian-${opts.suite}`);
  const tarPath = join(work, 'rootfs.tar');
  const probeOut = join(work, 'probe');
  try {
    const args = [
      '--variant=minbase',
      '--format=tar',
      '--skip=output/dev',
      '--aptopt=Acquire::Retries "3"',
      ...(opts.ignoreValidUntil ? ['--aptopt=Acquire::Check-Valid-Until "false"'] : []),
      ...PATH_EXCLUDES.map((p) => `--dpkgopt=${p}`),
      ...(opts.include.length ? [`--include=${opts.include.join(',')}`] : []),
      ...(opts.essentialHooks ?? []).map((h) => `--essential-hook=${h}`),
      ...(opts.hooks ?? []).map((h) => `--customize-hook=${h}`),
      ...(opts.probe ? [`--customize-hook=chroot "$1" ${opts.probe} > ${probeOut}`] : []),
      opts.suite,
      tarPath,
      ...sources(opts),
    ];
    await runTool('mmdebstrap', args, {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) },
      // Its I:/W:/E: lines, not apt's hundred `Get:` lines (the error tail keeps those).
      onLine: (line) => /^[IWE]: /.test(line) && step.detail(`mmdebstrap: ${line}`),
      installHint: 'apt-get install mmdebstrap',
    });
    const facts: Record<string, string> = {};
    if (opts.probe) facts.probe = (await readFile(probeOut, 'utf8')).trim();
    const record = await storeTar(createReadStream(tarPath), cache, description, (n) =>
      step.bytes(n),
    );
    return { ...record, facts };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
