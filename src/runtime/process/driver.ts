/**
 * The `process` driver: code runs as a child process on the host, in its own process group
 * (so a kill takes whatever it spawned too). Memory is reported (VmHWM from /proc), never
 * enforced: there is no cgroup here. Mounts are not applied either; callers that need
 * `/opt`-like paths pass the host directories through the environment instead.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type {
  ExecutionDriver,
  ExitStatus,
  ProcessIo,
  ProcessSpec,
  SpawnedProcess,
} from '../types.js';

/** How long `exited` waits for the output pipes to drain after the process itself exited
 *  (a grandchild that inherited them could hold them open for ever). */
const PIPE_DRAIN_GRACE_MS = 100;
/** /proc/<pid>/task/<pid>/children is followed this deep for the memory figure. */
const MAX_CHILD_DEPTH = 3;

export class ProcessDriver implements ExecutionDriver {
  readonly name = 'process' as const;
  readonly enforcesMemory = false;

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

/** VmHWM of a process plus (best effort) its descendants, in kB. */
function treeHighWaterKb(pid: number, depth: number): number {
  let total = 0;
  try {
    total = vmHwmKb(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return 0;
  }
  if (depth >= MAX_CHILD_DEPTH) return total;
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1');
  } catch {
    return total;
  }
  if (children.length === 0) return total;
  for (const c of children.split(' ')) {
    const child = Number(c);
    if (child > 0) total += treeHighWaterKb(child, depth + 1);
  }
  return total;
}

function vmHwmKb(status: string): number {
  const at = status.indexOf('VmHWM:');
  if (at < 0) return 0;
  let i = at + 6;
  while (status.charCodeAt(i) === 32 || status.charCodeAt(i) === 9) i++;
  let kb = 0;
  for (let c = status.charCodeAt(i); c >= 48 && c <= 57; c = status.charCodeAt(++i)) {
    kb = kb * 10 + (c - 48);
  }
  return kb;
}
