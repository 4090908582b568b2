/**
 * Container images built without internet, for the registry tests and the ECR benchmark:
 * OCI image layouts on disk (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * that skopeo reads through its `oci:<layout>:<tag>` transport.
 *
 * An image is a busybox-static rootfs made into a layer by `umoci insert`, optionally a
 * second layer of incompressible random bytes, and an entrypoint set by `umoci config`. All
 * timestamps are fixed, so the same options (and `seed`) give byte-identical images, and a
 * different seed a different random layer. umoci cannot make image indexes, so buildIndex
 * writes the index blob and `index.json` itself from two images built here.
 *
 * skopeo runs with a permissive signature policy written to a temp file (`--policy`), so no
 * /etc/containers/policy.json is needed, and plainHttpFlags() gives the `*-tls-verify=false`
 * flags each subcommand takes for a plain-HTTP registry on loopback.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import {
  chmod,
  copyFile,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

export const BUSYBOX = '/bin/busybox';
/** Applets linked to busybox in the image's /bin. */
const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'true', 'env'];
/** Every file, tar header and history entry gets this time, so that builds are reproducible. */
const FIXED_TIME = '2024-01-01T00:00:00Z';
const FIXED_DATE = new Date(FIXED_TIME);

export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** Set on index.json entries: the tag `oci:<layout>:<tag>` selects. */
const REF_NAME = 'org.opencontainers.image.ref.name';

export interface BuiltImage {
  /** The OCI layout directory. */
  layout: string;
  /** `oci:<layout>:<tag>`, for skopeo. */
  ref: string;
  tag: string;
  /** sha256 digest of the image manifest (or of the index, for buildIndex). */
  digest: string;
}

export interface BuiltIndex extends BuiltImage {
  /** The index's children in order: platform (`linux/amd64`) and manifest digest. */
  children: { platform: string; digest: string }[];
}

export interface ImageOptions {
  /** Default `latest`. */
  tag?: string;
  /** Size of a second layer of random bytes; none when 0 or absent. */
  randomLayerBytes?: number;
  /** Makes the random layer deterministic; without it every build's layer differs. */
  seed?: string;
  /** The config's architecture (default amd64); also written to /etc/platform, so each
   * architecture gets its own rootfs layer. The busybox binary is the host's either way. */
  arch?: string;
  /** A prepared root filesystem for the rootfs layer, instead of the minimal busybox one
   * (its files' times are left as they are). */
  rootfs?: string;
  /** The runtime config, instead of entrypoint `/bin/sh -c` and cmd `echo hello from
   * stratus`; fields left out stay unset. */
  config?: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string };
}

export type IndexOptions = Omit<ImageOptions, 'arch' | 'rootfs' | 'config'>;

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command to the end; a timeout kills it (by its PID) and reports code -1. */
function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      resolve({
        stdout: Buffer.concat(out).toString(),
        stderr: timedOut ? `${stderr}\n(killed after ${opts.timeoutMs ?? 120_000} ms)` : stderr,
        code: timedOut ? -1 : (code ?? -1),
      });
    });
  });
}

async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r;
}

/** Whether `name` is an executable on PATH (or an executable path), for skip reasons. */
export function hasTool(name: string): boolean {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why image building cannot work here, or undefined when it can. */
export function imageToolsMissing(): string | undefined {
  const missing = ['skopeo', 'umoci', BUSYBOX].filter((t) => !hasTool(t));
  return missing.length
    ? `${missing.join(', ')} not installed (apt-get install skopeo umoci busybox-static)`
    : undefined;
}

// ---------------------------------------------------------------- skopeo

let policyFile: string | undefined;

/**
 * A signature policy that accepts anything, in a temp file removed at exit: the
 * equivalent of `--insecure-policy` that works without /etc/containers/policy.json.
 * https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md
 */
function permissivePolicy(): string {
  if (policyFile) return policyFile;
  const dir = mkdtempSync(join(tmpdir(), 'skopeo-policy-'));
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return (policyFile = file);
}

/** The arguments after `skopeo` for a run with the permissive policy (for own spawns). */
export function skopeoArgv(args: string[]): string[] {
  return ['--policy', permissivePolicy(), ...args];
}

/** `skopeo --policy <permissive> ...args`; never throws on a non-zero exit. */
export function skopeo(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run('skopeo', skopeoArgv(args), opts);
}

/**
 * The flags `skopeo <command>` needs to use plain HTTP (and skip TLS verification) for
 * docker:// references to a loopback registry; harmless for other transports.
 */
export function plainHttpFlags(command: string): string[] {
  switch (command) {
    case 'copy':
    case 'sync':
      return ['--src-tls-verify=false', '--dest-tls-verify=false'];
    case 'inspect':
    case 'list-tags':
    case 'delete':
    case 'login':
    case 'logout':
      return ['--tls-verify=false'];
    default:
      return [];
  }
}

export interface CopyOptions {
  /** Copy an index with all its children (`--all`), not just the host's platform. */
  all?: boolean;
  /** `user:password` for the source / destination registry. */
  srcCreds?: string;
  destCreds?: string;
  /** More `skopeo copy` flags. */
  args?: string[];
  timeoutMs?: number;
}

/** `skopeo copy` over plain HTTP; throws with skopeo's stderr when it fails. */
export async function copyImage(src: string, dest: string, opts: CopyOptions = {}): Promise<void> {
  const args = [
    'copy',
    '--quiet',
    ...plainHttpFlags('copy'),
    ...(opts.all ? ['--all'] : []),
    ...(opts.srcCreds ? ['--src-creds', opts.srcCreds] : []),
    ...(opts.destCreds ? ['--dest-creds', opts.destCreds] : []),
    ...(opts.args ?? []),
    src,
    dest,
  ];
  const r = await skopeo(args, { timeoutMs: opts.timeoutMs });
  if (r.code !== 0) throw new Error(`skopeo copy ${src} ${dest} failed (${r.code}): ${r.stderr}`);
}

/** What `skopeo inspect` prints for one image (the fields the tests use). */
export interface SkopeoInspect {
  Name?: string;
  Digest: string;
  RepoTags?: string[];
  Architecture: string;
  Os: string;
  Layers: string[];
  Created?: string;
}

export interface InspectOptions {
  /** `user:password` for the registry. */
  creds?: string;
  /** The platform to pick from an index (skopeo's global `--override-arch`). */
  arch?: string;
  /** More `skopeo inspect` flags. */
  args?: string[];
}

async function inspect(ref: string, extra: string[], opts: InspectOptions): Promise<string> {
  const args = [
    ...(opts.arch ? ['--override-arch', opts.arch] : []),
    'inspect',
    ...plainHttpFlags('inspect'),
    ...(opts.creds ? ['--creds', opts.creds] : []),
    ...(opts.args ?? []),
    ...extra,
    ref,
  ];
  const r = await skopeo(args);
  if (r.code !== 0) throw new Error(`skopeo inspect ${ref} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** `skopeo inspect <ref>`, parsed. For an index, skopeo picks the host's platform. */
export async function inspectImage(ref: string, opts: InspectOptions = {}): Promise<SkopeoInspect> {
  return JSON.parse(await inspect(ref, [], opts)) as SkopeoInspect;
}

/** The manifest (or index) exactly as stored: `skopeo inspect --raw`. */
export function rawManifest(ref: string, opts: InspectOptions = {}): Promise<string> {
  return inspect(ref, ['--raw'], opts);
}

/** The image config: `skopeo inspect --config`, parsed. */
export async function imageConfig(
  ref: string,
  opts: InspectOptions = {},
): Promise<Record<string, unknown>> {
  return JSON.parse(await inspect(ref, ['--config'], opts)) as Record<string, unknown>;
}

export function sha256Digest(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

// ---------------------------------------------------------------- layouts

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

async function readLayoutIndex(layout: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as LayoutIndex;
}

/** The descriptor `index.json` holds for `tag` (what `oci:<layout>:<tag>` resolves to). */
export async function layoutDescriptor(layout: string, tag: string): Promise<Descriptor> {
  const found = (await readLayoutIndex(layout)).manifests.find(
    (d) => d.annotations?.[REF_NAME] === tag,
  );
  if (!found) throw new Error(`no tag ${tag} in ${layout}/index.json`);
  return found;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Creates `layout` as an empty OCI layout unless it already is one (then tags are added). */
async function ensureLayout(layout: string): Promise<void> {
  if (await exists(join(layout, 'index.json'))) return;
  // umoci init refuses an existing path, even an empty directory.
  if (await exists(layout)) {
    if ((await readdir(layout)).length > 0)
      throw new Error(`${layout} exists and is not an OCI layout`);
    await rm(layout, { recursive: true });
  }
  await runOk('umoci', ['init', '--layout', layout]);
}

// ---------------------------------------------------------------- building

/**
 * Random bytes to a file: AES-256-CTR over zeros keyed by the seed (reproducible and as
 * incompressible as real randomness, at GB/s), or the system's randomness without a seed.
 */
async function writeRandomFile(path: string, bytes: number, seed?: string): Promise<void> {
  const cipher =
    seed === undefined
      ? undefined
      : createCipheriv(
          'aes-256-ctr',
          createHash('sha256').update(`stratus-oci-image:${seed}`).digest(),
          Buffer.alloc(16),
        );
  const chunk = 1 << 22;
  const zeros = Buffer.alloc(chunk);
  const fh = await open(path, 'w');
  try {
    for (let left = bytes; left > 0; left -= chunk) {
      const n = Math.min(chunk, left);
      await fh.write(cipher ? cipher.update(zeros.subarray(0, n)) : randomBytes(n));
    }
  } finally {
    await fh.close();
  }
}

/** Sets the fixed time on every entry under `dir` (symlinks themselves, not their targets). */
async function fixTimes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await fixTimes(path);
    await lutimes(path, FIXED_DATE, FIXED_DATE);
  }
  await lutimes(dir, FIXED_DATE, FIXED_DATE);
}

/** A world-readable directory (mkdtemp makes 0700 ones, which would end up in the tar). */
async function publicDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o755);
}

async function stageRootfs(root: string, arch: string): Promise<void> {
  await publicDir(join(root, 'bin'));
  await publicDir(join(root, 'etc'));
  await copyFile(BUSYBOX, join(root, 'bin', 'busybox'));
  await chmod(join(root, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
  await writeFile(join(root, 'etc', 'platform'), `linux/${arch}\n`, { mode: 0o644 });
  await fixTimes(root);
}

/**
 * Builds an image into the OCI layout `dir` (created if missing; an existing layout gets
 * one more tag): a busybox-static rootfs layer, optionally a layer holding
 * `/random.bin` of `randomLayerBytes` random bytes, entrypoint `/bin/sh -c`, cmd
 * `echo hello from stratus`.
 */
export async function buildImage(dir: string, opts: ImageOptions = {}): Promise<BuiltImage> {
  const tag = opts.tag ?? 'latest';
  const arch = opts.arch ?? 'amd64';
  const image = `${dir}:${tag}`;
  // Not as root, --rootless makes umoci record the files as root's, as a root build does
  // (same digests).
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  const history = ['--history.created', FIXED_TIME];
  const stage = await mkdtemp(join(tmpdir(), 'oci-image-'));
  try {
    await ensureLayout(dir);
    await runOk('umoci', ['new', '--image', image]);

    let rootfs = opts.rootfs;
    if (!rootfs) {
      rootfs = join(stage, 'rootfs');
      await publicDir(rootfs);
      await stageRootfs(rootfs, arch);
    }
    await runOk('umoci', ['insert', ...rootless, ...history, '--image', image, rootfs, '/']);

    if (opts.randomLayerBytes) {
      const data = join(stage, 'random.bin');
      await writeRandomFile(data, opts.randomLayerBytes, opts.seed);
      await chmod(data, 0o644);
      await lutimes(data, FIXED_DATE, FIXED_DATE);
      await runOk('umoci', [
        'insert',
        ...rootless,
        ...history,
        '--image',
        image,
        data,
        '/random.bin',
      ]);
    }

    await runOk('umoci', [
      'config',
      ...history,
      '--image',
      image,
      '--created',
      FIXED_TIME,
      '--os',
      'linux',
      '--architecture',
      arch,
      ...configFlags(
        opts.config ?? { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hello from stratus'] },
      ),
    ]);
    // Every umoci step wrote a new manifest and config; drop the ones no tag reaches.
    await runOk('umoci', ['gc', '--layout', dir]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  const { digest } = await layoutDescriptor(dir, tag);
  return { layout: dir, ref: `oci:${dir}:${tag}`, tag, digest };
}

/** `umoci config` flags setting exactly these runtime config fields. */
function configFlags(config: NonNullable<ImageOptions['config']>): string[] {
  const repeat = (flag: string, values: string[] = []) => values.flatMap((v) => [flag, v]);
  return [
    ...repeat('--config.env', config.Env),
    ...repeat('--config.entrypoint', config.Entrypoint),
    ...repeat('--config.cmd', config.Cmd),
    ...(config.WorkingDir ? ['--config.workingdir', config.WorkingDir] : []),
  ];
}

const INDEX_PLATFORMS = ['amd64', 'arm64'] as const;

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', ...digest.split(':'));
}

/** Copies every blob of `from` into `to` (same digests, so existing ones are skipped). */
async function copyBlobs(from: string, to: string): Promise<void> {
  const src = join(from, 'blobs', 'sha256');
  const dest = join(to, 'blobs', 'sha256');
  await mkdir(dest, { recursive: true });
  for (const name of await readdir(src))
    if (!(await exists(join(dest, name)))) await copyFile(join(src, name), join(dest, name));
}

/**
 * Builds an OCI image index for linux/amd64 and linux/arm64 into the layout `dir`: two
 * images from buildImage (each its own rootfs layer, so the child digests differ; their
 * random layers are seeded `<seed>/<arch>`), then the index blob and its `index.json`
 * entry written here. https://github.com/opencontainers/image-spec/blob/main/image-index.md
 */
export async function buildIndex(dir: string, opts: IndexOptions = {}): Promise<BuiltIndex> {
  const tag = opts.tag ?? 'latest';
  const work = await mkdtemp(join(tmpdir(), 'oci-index-'));
  try {
    if (!(await exists(join(dir, 'index.json')))) {
      await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
      await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    }
    const children: Descriptor[] = [];
    for (const arch of INDEX_PLATFORMS) {
      const child = await buildImage(join(work, arch), {
        ...opts,
        tag: 'image',
        arch,
        seed: opts.seed === undefined ? undefined : `${opts.seed}/${arch}`,
      });
      await copyBlobs(child.layout, dir);
      const d = await layoutDescriptor(child.layout, 'image');
      children.push({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        platform: { architecture: arch, os: 'linux' },
      });
    }
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: children }),
    );
    const digest = sha256Digest(index);
    await writeFile(blobPath(dir, digest), index);

    const layoutIndex = await readLayoutIndex(dir);
    layoutIndex.manifests = [
      ...layoutIndex.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag),
      {
        mediaType: MEDIA_TYPE_OCI_INDEX,
        digest,
        size: index.length,
        annotations: { [REF_NAME]: tag },
      },
    ];
    await writeFile(join(dir, 'index.json'), JSON.stringify(layoutIndex));
    return {
      layout: dir,
      ref: `oci:${dir}:${tag}`,
      tag,
      digest,
      children: children.map((c) => ({
        platform: `linux/${c.platform?.architecture ?? ''}`,
        digest: c.digest,
      })),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Adds one layer holding `files` (paths inside the image, mode 0644 under 0755
 * directories) to the image `<layout>:<tag>` in place, then sets the runtime config
 * fields given (umoci insert + umoci config): a function image from a base image.
 */
export async function addFilesLayer(
  layout: string,
  tag: string,
  files: Record<string, string>,
  config: NonNullable<ImageOptions['config']> = {},
): Promise<BuiltImage> {
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  const image = `${layout}:${tag}`;
  const stage = await mkdtemp(join(tmpdir(), 'oci-layer-'));
  try {
    await publicDir(stage);
    for (const [path, content] of Object.entries(files)) {
      const target = join(stage, path);
      await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
      await writeFile(target, content, { mode: 0o644 });
    }
    await runOk('umoci', ['insert', ...rootless, '--image', image, stage, '/']);
    const flags = configFlags(config);
    if (flags.length) await runOk('umoci', ['config', '--image', image, ...flags]);
    await runOk('umoci', ['gc', '--layout', layout]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  const { digest } = await layoutDescriptor(layout, tag);
  return { layout, ref: `oci:${layout}:${tag}`, tag, digest };
}
