/**
 * Execution environments as containers (runc driver): the runtime image of the function's
 * runtime (runtime-image.ts), the code read-only at /var/task, the layers merged read-only
 * at /opt (later layers win), a private /tmp of EphemeralStorage MB (tmpfs), the memory
 * limit enforced by the cgroup, an own network namespace on Stratus's bridge, run as
 * AWS's sandbox user (uid 993).
 *
 * The Runtime API stays one listener per environment on 127.0.0.1, reached from the
 * container at the bridge's gateway address (<gateway>:<port>, DNATed to loopback by the
 * driver's nftables table) and serving only the container's own address, which the DNAT
 * keeps as the source: a host process connects from 127.0.0.1, another environment from
 * its own address, and both are cut. The alternative, a listener on the gateway address,
 * needs an input rule per port in the driver's table; the DNAT set already exists for
 * Stratus's own endpoint. Stratus's endpoint is reached the same way (AWS_ENDPOINT_URL).
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
import { exposeHostPort, GATEWAY, unexposeHostPort } from '../../../runtime/runc/network.js';
import type { SpawnedProcess } from '../../../runtime/types.js';
import type { RuntimeApi } from './runtime-api.js';
import type { RuntimeImages } from './runtime-image.js';
import { reservedVariables, type RuntimeFamily } from './runtimes.js';
import type { FunctionImageSpec, FunctionVersionSpec } from './types.js';

/** AWS's sandbox user (sbx_user1051) and group. */
const SANDBOX_USER = '993:990';
const TASK_ROOT = '/var/task';
const RUNTIME_DIR = '/var/runtime';

export interface ContainerSandboxOptions {
  driver: ContainerDriver;
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

  /** Mounts the function's code (and merged layers) where the container sees them. */
  async fill(codeDir: string, opt: string | undefined): Promise<void> {
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
  private readonly merged = new Map<string, Promise<string>>();

  constructor(opts: ContainerSandboxOptions) {
    this.opts = opts;
  }

  get driverName(): string {
    return this.opts.driver.name;
  }

  /** The variables of `fn`'s runtime inside its container (over the image's Env). */
  functionEnv(l: Omit<SandboxLaunch, 'io'>): Record<string, string> {
    const endpoint = new URL(this.opts.endpoint());
    endpoint.hostname = GATEWAY;
    return {
      AWS_ENDPOINT_URL: endpoint.toString().replace(/\/$/, ''),
      ...l.fn.environment,
      ...reservedVariables(
        l.fn,
        l.family,
        { runtimeApi: `${GATEWAY}:${l.api.listenPort}`, logStreamName: l.logStreamName },
        TASK_ROOT,
        RUNTIME_DIR,
      ),
    };
  }

  /** Creates and starts the environment's container; the handle kills and removes it. */
  async launch(l: SandboxLaunch): Promise<SpawnedProcess> {
    const { fn } = l;
    if (fn.image !== undefined) return this.launchImage(l, fn.image);
    const [image, opt] = await Promise.all([
      this.opts.images.ensure(fn.runtime),
      this.mergedLayers(fn.layerDirs),
    ]);
    const mounts: BindMount[] = [{ source: fn.codeDir, target: TASK_ROOT, readonly: true }];
    if (opt !== undefined) mounts.push({ source: opt, target: '/opt', readonly: true });
    // The image's entrypoint (/lambda-entrypoint.sh) takes the handler, as AWS's do.
    const cmd = { command: [fn.handler], workingDir: TASK_ROOT };
    return this.run(l, image, this.functionEnv(l), cmd, mounts, async () => {});
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
    const image = await this.opts.images.ensure(l.fn.runtime);
    const slot = await CodeSlot.create(join(this.opts.workDir, 'slots'), id);
    const env = {
      STRATUS_PRESTART: '1',
      AWS_LAMBDA_RUNTIME_API: `${GATEWAY}:${l.api.listenPort}`,
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
    await slot.fill(fn.codeDir, await this.mergedLayers(fn.layerDirs));
  }

  /**
   * Leftovers of a crash: pre-started slots still mounted, and Runtime API ports still
   * DNATed from the gateway (recorded under `ports/`, as the nftables set is shared).
   */
  async reap(): Promise<void> {
    const ports = join(this.opts.workDir, 'ports');
    for (const name of await readdir(ports).catch(() => [] as string[])) {
      if (/^\d+$/.test(name)) await unexposeHostPort(Number(name));
      await rm(join(ports, name), { force: true });
    }
    await CodeSlot.reap(join(this.opts.workDir, 'slots'));
  }

  /** Lets the container reach the Runtime API port at the gateway; recorded for reap(). */
  private async expose(port: number): Promise<void> {
    const dir = join(this.opts.workDir, 'ports');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, String(port)), '');
    await exposeHostPort(port);
  }

  private async unexpose(port: number): Promise<void> {
    await unexposeHostPort(port);
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
    if (container.ip === undefined) throw new Error('the container has no address');
    api.allowPeer(container.ip);
    let released: Promise<void> | undefined;
    const release = () =>
      (released ??= container
        .remove()
        .catch(() => undefined)
        .then(() => Promise.all([this.unexpose(port), cleanUp()]))
        .then(() => undefined));
    try {
      await container.start();
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
   * earlier ones (as AWS extracts them into /opt), built once per set of layers.
   */
  private mergedLayers(layerDirs: string[]): Promise<string | undefined> {
    if (layerDirs.length === 0) return Promise.resolve(undefined);
    if (layerDirs.length === 1) return Promise.resolve(layerDirs[0]);
    const key = createHash('sha256').update(layerDirs.join('\0')).digest('hex').slice(0, 24);
    let p = this.merged.get(key);
    if (p === undefined) {
      p = (async () => {
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
      this.merged.set(key, p);
      p.catch(() => this.merged.delete(key));
    }
    return p;
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
