/**
 * Raw `runc run` of a bundle the runc driver wrote: the baseline bench/containers.ts and
 * bench/ecs.ts measure the driver against ("against raw `runc run` of the same bundle").
 *
 * An image root is an overlay runc mounts inside the container (config.json's first mount,
 * lowerdir = the layer cache's layers, upperdir/workdir in the container's directory), so
 * the raw runs of such a bundle get what a driver-made container gets: a fresh, empty
 * upper and work directory each (an overlay whose upper another live mount holds is not
 * the same start), over the same lower layers, with the same config.json otherwise.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** `runc run` of a bundle until the container exits: its exit code. */
export function rawRunc(argv: string[], bundle: string, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const [bin, ...args] = argv;
    const child = spawn(bin!, [...args, 'run', '--bundle', bundle, id], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
}

/**
 * `runc run` of a bundle until its pid file appears (the container's process runs, which
 * is what the driver waits for): ms. The container is then killed and deleted.
 */
export async function rawRuncToPid(argv: string[], bundle: string, id: string): Promise<number> {
  const pidFile = join(bundle, `pid-${id}`);
  const [bin, ...root] = argv;
  const t0 = performance.now();
  const child = spawn(bin!, [...root, 'run', '--bundle', bundle, '--pid-file', pidFile, id], {
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline) throw new Error(`raw runc run of ${bundle} did not start`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const ms = performance.now() - t0;
  const runc = (args: string[]) =>
    new Promise((r) => spawn(bin!, [...root, ...args], { stdio: 'ignore' }).once('exit', r));
  await runc(['kill', id, 'KILL']);
  await exited;
  await runc(['delete', '--force', id]);
  return ms;
}

interface OciConfig {
  root: { path: string };
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  linux: { cgroupsPath?: string };
}

/**
 * A copy of a driver-written bundle (config.json and the files it binds from the bundle
 * directory: hosts, resolv.conf, hostname), taken while the original exists (an ECS task's
 * bundle goes with the task), from which each raw run gets a bundle of its own: the same
 * config.json with a fresh overlay upper/work directory and, optionally, another cgroup.
 */
export class RawBundles {
  private constructor(
    private readonly dir: string,
    private readonly config: OciConfig,
    private readonly overlay: boolean,
  ) {}

  /**
   * Copies `bundle` into `dir`. `cgroupsPath`: runc's cgroup for the raw runs (the same
   * parent a driver-made container has; the original's may be gone with it).
   */
  static async copy(bundle: string, dir: string, cgroupsPath?: string): Promise<RawBundles> {
    await mkdir(join(dir, 'rootfs'), { recursive: true });
    const text = await readFile(join(bundle, 'config.json'), 'utf8');
    const config = JSON.parse(text) as OciConfig;
    // Files the config binds from the bundle directory come along; paths are rewritten.
    for (const name of await readdir(bundle)) {
      if (['hosts', 'resolv.conf', 'hostname'].includes(name))
        await copyFile(join(bundle, name), join(dir, name));
    }
    for (const m of config.mounts) {
      if (m.type === 'bind' && m.source.startsWith(`${bundle}/`))
        m.source = join(dir, m.source.slice(bundle.length + 1));
    }
    const overlay = config.mounts[0]?.type === 'overlay' && config.mounts[0].destination === '/';
    if (config.root.path.startsWith(`${bundle}/`)) config.root.path = join(dir, 'rootfs');
    if (cgroupsPath) config.linux.cgroupsPath = cgroupsPath;
    return new RawBundles(dir, config, overlay);
  }

  /** Whether the root is an overlay runc mounts (an image root with the layer cache). */
  get isOverlay(): boolean {
    return this.overlay;
  }

  /** The overlay's lower layers (top first), for the report. */
  get lower(): string[] {
    const o = this.config.mounts[0]?.options?.find((x) => x.startsWith('lowerdir='));
    return o ? o.slice('lowerdir='.length).split(':') : [];
  }

  /** A bundle for one raw run named `id` (fresh upper/work): its directory. */
  async prepare(id: string): Promise<string> {
    const bundle = join(this.dir, 'runs', id);
    const config = structuredClone(this.config);
    if (this.overlay) {
      const upper = join(bundle, 'upper');
      const work = join(bundle, 'work');
      await mkdir(upper, { recursive: true });
      await mkdir(work, { recursive: true });
      config.mounts[0]!.options = config.mounts[0]!.options!.map((o) =>
        o.startsWith('upperdir=')
          ? `upperdir=${upper}`
          : o.startsWith('workdir=')
            ? `workdir=${work}`
            : o,
      );
    } else await mkdir(bundle, { recursive: true });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
    return bundle;
  }

  /** Removes a run's bundle (after `runc delete`). */
  async discard(bundle: string): Promise<void> {
    await rm(bundle, { recursive: true, force: true });
  }
}
