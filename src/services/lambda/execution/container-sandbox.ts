/**
 * Execution environments as containers (runc or docker driver): the runtime image of the
 * function's runtime (runtime-image.ts), the code read-only at /var/task, the layers merged
 * read-only at /opt (later layers win), a private /tmp of EphemeralStorage MB (tmpfs), the
 * memory limit enforced by the cgroup, an own network namespace on Stratus's bridge, run
 * as AWS's sandbox user (uid 993). An image function (PackageType Image) runs its own image.
 *
 * The Runtime API is one listener per environment that serves only the container's own
 * address: a host process or another environment is cut at once. Containers reach it,
 * and Stratus's endpoint (AWS_ENDPOINT_URL), at the bridge's gateway address; how that
 * address leads to the listener is the driver's (sandbox-network.ts): a DNAT to loopback
 * that keeps the source on runc, a listener on the gateway address itself on Docker.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BindMount,
  Container,
  ContainerDriver,
  ContainerIo,
  ContainerSpec,
  ResolvedImage,
} from '../../../runtime/container.js';
import { mergeEnv } from '../../../runtime/runc/bundle.js';
import type { SpawnedProcess } from '../../../runtime/types.js';
import type { RuntimeApi } from './runtime-api.js';
import type { RuntimeImages } from './runtime-image.js';
import type { SandboxNetwork } from './sandbox-network.js';
import { reservedVariables, type RuntimeFamily } from './runtimes.js';
import type { FunctionImageSpec, FunctionVersionSpec } from './types.js';

/** AWS's sandbox user (sbx_user1051) and group. */
const SANDBOX_USER = '993:990';
const TASK_ROOT = '/var/task';
const RUNTIME_DIR = '/var/runtime';

export interface ContainerSandboxOptions {
  driver: ContainerDriver;
  /** How containers and the host reach each other on this driver. */
  network: SandboxNetwork;
  images: RuntimeImages;
  /** Stratus's endpoint as seen from the host (the port is kept, the host is the gateway). */
  endpoint: () => string;
  /** Where merged /opt directories are kept (one per set of layers). */
  workDir: string;
}

export interface SandboxLaunch {
  fn: FunctionVersionSpec;
  family: RuntimeFamily;
  api: RuntimeApi;
  logStreamName: string;
  io: ContainerIo;
}

/**
 * A pre-started environment's mount points: `<slot>` is a shared bind mount of itself on
 * the host, and the container sees `<slot>/task` at /var/task and `<slot>/opt` at /opt
 * as slaves of it, so the code (and layers) mounted there at assignment appear inside,
 * read-only, with no process entering the container.
 */
export class CodeSlot {
  private mounted: string[] = [];
  private onRelease: (() => void)[] = [];

  constructor(readonly dir: string) {}

  static async create(root: string, id: string): Promise<CodeSlot> {
    const dir = join(root, id);
    await mkdir(join(dir, 'task'), { recursive: true });
    await mkdir(join(dir, 'opt'), { recursive: true });
    await run('mount', ['--bind', dir, dir]);
    const slot = new CodeSlot(dir);
    slot.mounted.push(dir);
    await run('mount', ['--make-shared', dir]);
    return slot;
  }

  get mounts(): BindMount[] {
    return [
      { source: join(this.dir, 'task'), target: TASK_ROOT, readonly: true, propagation: 'rslave' },
      { source: join(this.dir, 'opt'), target: '/opt', readonly: true, propagation: 'rslave' },
    ];
  }

  /**
   * Mounts the function's code (and merged layers) where the container sees them;
   * `release` runs when the slot is released.
   */
  async fill(codeDir: string, opt: string | undefined, release?: () => void): Promise<void> {
    if (release) this.onRelease.push(release);
    const task = join(this.dir, 'task');
    const jobs = [run('mount', ['--bind', '-o', 'ro', codeDir, task])];
    this.mounted.push(task);
    if (opt !== undefined) {
      const optDir = join(this.dir, 'opt');
      jobs.push(run('mount', ['--bind', '-o', 'ro', opt, optDir]));
      this.mounted.push(optDir);
    }
    await Promise.all(jobs);
  }

  async release(): Promise<void> {
    for (const m of this.mounted.reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    this.mounted = [];
    for (const f of this.onRelease.splice(0)) f();
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Slots a crashed Stratus left mounted under `root`: unmounted and removed. */
  static async reap(root: string): Promise<void> {
    const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
    const prefix = `${root}/`;
    const leftovers = mounts
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(prefix))
      .sort((a, b) => b.length - a.length);
    for (const m of leftovers) await run('umount', ['-l', m]).catch(() => undefined);
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _out, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`))
        : resolve(),
    );
  });
}

/** A merged /opt directory and the environments holding it. */
interface MergedOpt {
  dir: Promise<string>;
  users: number;
  /** Date.now() its last user let go (or it was made). */
  idleSince: number;
}

/** What the container runs: ContainerSpec's process fields. */
type ContainerProcess = Pick<ContainerSpec, 'entrypoint' | 'command' | 'workingDir'>;

/** A started pre-started container: its handle and where its code goes. */
export interface Prestarted {
  proc: SpawnedProcess;
  slot: CodeSlot;
  /** The image's own Env, which the runtime's environment is rebuilt on at assignment. */
  imageEnv: Record<string, string>;
}

export class ContainerSandbox {
  private readonly opts: ContainerSandboxOptions;
  private readonly merged = new Map<string, MergedOpt>();
  private gateway: string | undefined;

  constructor(opts: ContainerSandboxOptions) {
    this.opts = opts;
  }

  get driverName(): string {
    return this.opts.driver.name;
  }

  /** Pre-started containers get their code by a bind mount on the host: root only. */
  get canPrestart(): boolean {
    return process.getuid?.() === 0;
  }

  /** Where Runtime APIs listen (the gateway's host side, or loopback behind a DNAT). */
  listenHost(): Promise<string> {
    return this.opts.network.listenHost();
  }

  /** The address containers reach the host at (known once a container was launched). */
  private async ready(): Promise<void> {
    this.gateway ??= await this.opts.network.gateway();
  }

  /** The variables of `fn`'s runtime inside its container (over the image's Env). */
  functionEnv(l: Omit<SandboxLaunch, 'io'>): Record<string, string> {
    const gateway = this.gateway;
    if (gateway === undefined) throw new Error('the sandbox network is not ready');
    const endpoint = new URL(this.opts.endpoint());
    endpoint.hostname = gateway;
    return {
      AWS_ENDPOINT_URL: endpoint.toString().replace(/\/$/, ''),
      ...l.fn.environment,
      ...reservedVariables(
        l.fn,
        l.family,
        { runtimeApi: `${gateway}:${l.api.listenPort}`, logStreamName: l.logStreamName },
        TASK_ROOT,
        RUNTIME_DIR,
      ),
    };
  }

  /** Creates and starts the environment's container; the handle kills and removes it. */
  async launch(l: SandboxLaunch): Promise<SpawnedProcess> {
    const { fn } = l;
    await this.ready();
    if (fn.image !== undefined) return this.launchImage(l, fn.image);
    const [image, opt] = await Promise.all([
      this.opts.images.ensure(fn.runtime),
      this.holdLayers(fn.layerDirs),
    ]);
    const mounts: BindMount[] = [{ source: fn.codeDir, target: TASK_ROOT, readonly: true }];
    if (opt.dir !== undefined) mounts.push({ source: opt.dir, target: '/opt', readonly: true });
    // The image's entrypoint (/lambda-entrypoint.sh) takes the handler, as AWS's do.
    const cmd = { command: [fn.handler], workingDir: TASK_ROOT };
    try {
      return await this.run(l, image, this.functionEnv(l), cmd, mounts, async () => opt.release());
    } catch (err) {
      opt.release();
      throw err;
    }
  }

  /**
   * A PackageType Image function: its own image by digest, whose entrypoint is the runtime
   * interface client (talking to AWS_LAMBDA_RUNTIME_API), under the ImageConfig overrides.
   * An EntryPoint override keeps the image's CMD unless Command is given too: the two
   * settings override ENTRYPOINT and CMD each.
   * https://docs.aws.amazon.com/lambda/latest/dg/images-parms.html
   */
  private async launchImage(l: SandboxLaunch, spec: FunctionImageSpec): Promise<SpawnedProcess> {
    const image = await this.opts.images.resolve(spec.resolvedUri, l.fn.account, l.fn.region);
    const cmd: ContainerProcess = {
      entrypoint: spec.entryPoint,
      command: spec.command ?? (spec.entryPoint ? image.config.Cmd : undefined),
      workingDir: spec.workingDirectory ?? (image.config.WorkingDir || undefined),
    };
    return this.run(l, image, this.functionEnv(l), cmd, [], async () => {});
  }

  /**
   * A container of `shape`'s runtime image, memory and /tmp size, started before any
   * function is known: the runtime boots and waits for its assignment (STRATUS_PRESTART).
   */
  async prestart(l: SandboxLaunch, id: string): Promise<Prestarted> {
    await this.ready();
    const image = await this.opts.images.ensure(l.fn.runtime);
    const slot = await CodeSlot.create(join(this.opts.workDir, 'slots'), id);
    const env = {
      STRATUS_PRESTART: '1',
      AWS_LAMBDA_RUNTIME_API: `${this.gateway}:${l.api.listenPort}`,
    };
    try {
      const cmd = { command: [], workingDir: TASK_ROOT };
      const proc = await this.run(l, image, env, cmd, slot.mounts, () => slot.release());
      // As the driver sets it up (PATH, HOME defaults): the assignment replaces it whole.
      return { proc, slot, imageEnv: envObject(mergeEnv(image.config.Env, {}, '/')) };
    } catch (err) {
      await slot.release();
      throw err;
    }
  }

  /** Mounts `fn`'s code and layers into a pre-started environment's slot. */
  async fill(slot: CodeSlot, fn: FunctionVersionSpec): Promise<void> {
    const opt = await this.holdLayers(fn.layerDirs);
    await slot.fill(fn.codeDir, opt.dir, opt.release);
  }

  /**
   * Leftovers of a crash: pre-started slots still mounted, and Runtime API ports still
   * DNATed from the gateway (recorded under `ports/`, as the nftables set is shared).
   */
  async reap(): Promise<void> {
    const ports = join(this.opts.workDir, 'ports');
    for (const name of await readdir(ports).catch(() => [] as string[])) {
      if (/^\d+$/.test(name)) await this.opts.network.unexpose(Number(name));
      await rm(join(ports, name), { force: true });
    }
    await CodeSlot.reap(join(this.opts.workDir, 'slots'));
    // Merged /opt directories of a previous run: no environment uses them any more.
    for (const name of await readdir(this.opts.workDir).catch(() => [] as string[])) {
      if (name.startsWith('opt-'))
        await rm(join(this.opts.workDir, name), { recursive: true, force: true });
    }
  }

  /** Lets the container reach the Runtime API port at the gateway; recorded for reap(). */
  private async expose(port: number): Promise<void> {
    const dir = join(this.opts.workDir, 'ports');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, String(port)), '');
    await this.opts.network.expose(port);
  }

  private async unexpose(port: number): Promise<void> {
    await this.opts.network.unexpose(port);
    await rm(join(this.opts.workDir, 'ports', String(port)), { force: true });
  }

  private async run(
    l: SandboxLaunch,
    image: ResolvedImage,
    env: Record<string, string>,
    cmd: ContainerProcess,
    mounts: BindMount[],
    cleanUp: () => Promise<void>,
  ): Promise<SpawnedProcess> {
    const { fn, api } = l;
    const port = api.listenPort;
    await this.expose(port);
    let container: Container;
    try {
      container = await this.opts.driver.create(
        {
          name: `lambda-${fn.functionName}`,
          root: { kind: 'image', image },
          readonlyRoot: true,
          ...cmd,
          env,
          user: SANDBOX_USER,
          mounts,
          tmpfs: [{ target: '/tmp', sizeMb: fn.ephemeralStorageMb }],
          resources: { memoryMb: fn.memoryMb, pidsLimit: 1024 },
          network: { mode: 'private' },
          labels: {
            'dev.stratus.service': 'lambda',
            'dev.stratus.lambda.function': fn.functionArn,
          },
          stopSignal: 'SIGKILL',
        },
        l.io,
      );
    } catch (err) {
      await this.unexpose(port);
      throw err;
    }
    let released: Promise<void> | undefined;
    const release = () =>
      (released ??= container
        .remove()
        .catch(() => undefined)
        .then(() => Promise.all([this.unexpose(port), cleanUp()]))
        .then(() => undefined));
    // runc knows the address at create, Docker once the container runs (until then the
    // listener holds what connects).
    if (container.ip !== undefined) api.allowPeer(container.ip);
    try {
      await container.start();
      if (container.ip === undefined) throw new Error('the container has no address');
      api.allowPeer(container.ip);
    } catch (err) {
      await release();
      throw err;
    }
    const exited = container.wait().then((exit) => {
      void release();
      return {
        code: exit.signal ? null : exit.code,
        signal: exit.signal,
        oomKilled: exit.oomKilled,
      };
    });
    return {
      pid: 0,
      exited,
      peakMemoryMb: async () => (await container.stats()).peakMemoryMb,
      kill: async () => {
        await release();
      },
    };
  }

  /**
   * One read-only directory holding every layer of the function, later layers over
   * earlier ones (as AWS extracts them into /opt), built once per set of layers and held
   * by the environments using it; `release` (idempotent) lets go. A single layer is
   * mounted as it is.
   */
  async holdLayers(layerDirs: string[]): Promise<{ dir: string | undefined; release: () => void }> {
    if (layerDirs.length <= 1) return { dir: layerDirs[0], release: () => {} };
    const key = createHash('sha256').update(layerDirs.join('\0')).digest('hex').slice(0, 24);
    let m = this.merged.get(key);
    if (m === undefined) {
      const dir = (async () => {
        const dir = join(this.opts.workDir, `opt-${key}`);
        if (existsSync(dir)) return dir;
        const tmp = `${dir}.tmp-${process.pid}`;
        await rm(tmp, { recursive: true, force: true });
        await mkdir(tmp, { recursive: true });
        for (const layer of layerDirs) {
          await cp(layer, tmp, { recursive: true, force: true, verbatimSymlinks: true });
        }
        await rename(tmp, dir);
        return dir;
      })();
      const entry: MergedOpt = { dir, users: 0, idleSince: Date.now() };
      m = entry;
      this.merged.set(key, entry);
      dir.catch(() => {
        if (this.merged.get(key) === entry) this.merged.delete(key);
      });
    }
    const entry = m;
    entry.users++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.users--;
      entry.idleSince = Date.now();
    };
    try {
      return { dir: await entry.dir, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Removes merged /opt directories no environment has used for `idleMs` (the executor's
   * sweep calls it with the environments' idle timeout); the next user merges again.
   */
  async collectLayers(now: number, idleMs: number): Promise<void> {
    for (const [key, m] of this.merged) {
      if (m.users > 0 || now - m.idleSince < idleMs) continue;
      this.merged.delete(key);
      const dir = await m.dir.catch(() => undefined);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Merged /opt directories held or kept (for tests). */
  get mergedCount(): number {
    return this.merged.size;
  }
}

/** `["K=V", …]` (an image config's Env) as an object. */
function envObject(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
