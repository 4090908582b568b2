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
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, ContainerDriver, ContainerIo } from '../../../runtime/container.js';
import { exposeHostPort, GATEWAY, unexposeHostPort } from '../../../runtime/runc/network.js';
import type { SpawnedProcess } from '../../../runtime/types.js';
import type { RuntimeApi } from './runtime-api.js';
import type { RuntimeImages } from './runtime-image.js';
import { reservedVariables, type RuntimeFamily } from './runtimes.js';
import type { FunctionVersionSpec } from './types.js';

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

export class ContainerSandbox {
  private readonly opts: ContainerSandboxOptions;
  private readonly merged = new Map<string, Promise<string>>();

  constructor(opts: ContainerSandboxOptions) {
    this.opts = opts;
  }

  get driverName(): string {
    return this.opts.driver.name;
  }

  /** Creates and starts the environment's container; the handle kills and removes it. */
  async launch(l: SandboxLaunch): Promise<SpawnedProcess> {
    const { fn, family, api } = l;
    const [image, opt] = await Promise.all([
      this.opts.images.ensure(fn.runtime),
      this.mergedLayers(fn.layerDirs),
    ]);
    const port = api.listenPort;
    await exposeHostPort(port);
    const endpoint = new URL(this.opts.endpoint());
    endpoint.hostname = GATEWAY;
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL: endpoint.toString().replace(/\/$/, ''),
      ...fn.environment,
      ...reservedVariables(
        fn,
        family,
        { runtimeApi: `${GATEWAY}:${port}`, logStreamName: l.logStreamName },
        TASK_ROOT,
        RUNTIME_DIR,
      ),
    };
    const mounts = [{ source: fn.codeDir, target: TASK_ROOT, readonly: true }];
    if (opt !== undefined) mounts.push({ source: opt, target: '/opt', readonly: true });
    let container: Container;
    try {
      container = await this.opts.driver.create(
        {
          name: `lambda-${fn.functionName}`,
          root: { kind: 'image', image },
          readonlyRoot: true,
          // The image's entrypoint (/lambda-entrypoint.sh) takes the handler, as AWS's do.
          command: [fn.handler],
          env,
          user: SANDBOX_USER,
          workingDir: TASK_ROOT,
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
      await unexposeHostPort(port);
      throw err;
    }
    if (container.ip === undefined) throw new Error('the container has no address');
    api.allowPeer(container.ip);
    let released: Promise<void> | undefined;
    const release = () =>
      (released ??= container
        .remove()
        .catch(() => undefined)
        .then(() => unexposeHostPort(port)));
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
