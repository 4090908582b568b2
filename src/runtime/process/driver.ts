/**
 * The `process` driver: code runs as a child process on the host, in its own process group
 * (so a kill takes whatever it spawned too). Memory is reported (VmHWM from /proc), never
 * enforced: there is no cgroup here. Mounts are not applied either; callers that need
 * `/opt`-like paths pass the host directories through the environment instead.
 */
import { spawn } from 'node:child_process';
import type {
  Container,
  ContainerDriver,
  ContainerIo,
  ContainerSpec,
  ContainerSummary,
} from '../container.js';
import type {
  ExecutionDriver,
  ExitStatus,
  ProcessIo,
  ProcessSpec,
  SpawnedProcess,
} from '../types.js';
import { ProcessContainers } from './containers.js';
import { treeHighWaterKb } from './memory.js';

/** How long `exited` waits for the output pipes to drain after the process itself exited
 *  (a grandchild that inherited them could hold them open for ever). */
const PIPE_DRAIN_GRACE_MS = 100;

export interface ProcessDriverOptions {
  /** Where running containers are recorded, so a restarted server finds them. */
  stateDir?: string;
  /** OWNER_LABEL's value on every container (default: stateDir, else 'process'). */
  owner?: string;
}

/**
 * Both contracts: ExecutionDriver (Lambda's host processes, today) and ContainerDriver
 * (host-root containers, so services stay driver-agnostic).
 */
export class ProcessDriver implements ExecutionDriver, ContainerDriver {
  readonly name = 'process' as const;
  readonly enforcesMemory = false;
  readonly capabilities = { images: false, limits: false, isolation: false };
  private readonly containers: ProcessContainers;

  constructor(opts: ProcessDriverOptions = {}) {
    this.containers = new ProcessContainers(
      opts.stateDir,
      opts.owner ?? opts.stateDir ?? 'process',
    );
  }

  create(spec: ContainerSpec, io: ContainerIo): Promise<Container> {
    return this.containers.create(spec, io);
  }

  list(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return this.containers.list(labels);
  }

  destroy(id: string): Promise<void> {
    return this.containers.destroy(id);
  }

  spawn(spec: ProcessSpec, io: ProcessIo): Promise<SpawnedProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        // A new session and process group: kill(-pid) then reaches every descendant.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => io.onStdout(chunk));
      child.stderr.on('data', (chunk: Buffer) => io.onStderr(chunk));

      let status: ExitStatus | undefined;
      let settle: (s: ExitStatus) => void = () => {};
      const exited = new Promise<ExitStatus>((r) => (settle = r));
      let grace: NodeJS.Timeout | undefined;
      child.once('exit', (code, signal) => {
        status = { code, signal };
        grace = setTimeout(() => settle(status!), PIPE_DRAIN_GRACE_MS);
        grace.unref();
      });
      child.once('close', (code, signal) => {
        if (grace) clearTimeout(grace);
        settle(status ?? { code, signal });
      });

      child.on('error', (err) => {
        // Only a failed spawn reaches here before 'spawn'; later errors (kill of a dead
        // process) are ignored, the exit status tells the story.
        if (child.pid === undefined) reject(err);
      });
      child.once('spawn', () => resolve(new SpawnedChild(child.pid!, exited, () => status)));
    });
  }
}

class SpawnedChild implements SpawnedProcess {
  private peakKb = 0;

  constructor(
    readonly pid: number,
    readonly exited: Promise<ExitStatus>,
    private readonly status: () => ExitStatus | undefined,
  ) {}

  /** Synchronous /proc reads: a few microseconds each, cheaper than a thread-pool hop. */
  peakMemoryMb(): Promise<number> {
    if (this.status() === undefined) {
      const kb = treeHighWaterKb(this.pid, 0);
      if (kb > this.peakKb) this.peakKb = kb;
    }
    return Promise.resolve(Math.ceil(this.peakKb / 1024));
  }

  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // ESRCH: the whole group is gone already.
    }
    await this.exited;
  }
}
