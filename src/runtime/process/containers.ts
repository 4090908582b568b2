/**
 * The process driver's side of the container contract: a "container" is a host process
 * in its own process group, with the host's root, network and user. Only `root: host`
 * specs are accepted; anything needing isolation or limits (image roots, mounts, tmpfs,
 * a read-only root, a user, published ports, memory/cpu/pids limits) is refused with
 * UnsupportedSpecError rather than silently ignored. Memory is reported (VmHWM), never
 * enforced.
 *
 * With a state directory, each running container leaves a record (pid and the process's
 * start time, so a reused pid is never mistaken for it): list() and destroy() then find
 * the processes a crashed server left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  stopWithGrace,
  OWNER_LABEL,
  UnsupportedSpecError,
  type Container,
  type ContainerExit,
  type ContainerIo,
  type ContainerSpec,
  type ContainerStats,
  type ContainerSummary,
  type PublishedPort,
} from '../container.js';
import { treeHighWaterKb } from './memory.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface ProcessRecord {
  id: string;
  pid: number;
  /** /proc/<pid>/stat field 22: tells a reused pid apart. */
  startTime: string;
  labels: Record<string, string>;
}

export class ProcessContainers {
  private readonly live = new Map<string, ProcessContainer>();

  constructor(
    private readonly stateDir: string | undefined,
    private readonly owner: string,
  ) {}

  async create(spec: ContainerSpec, io: ContainerIo): Promise<Container> {
    refuseUnsupported(spec);
    const id = `process-${randomBytes(6).toString('hex')}`;
    const labels = { ...spec.labels, [OWNER_LABEL]: spec.labels[OWNER_LABEL] ?? this.owner };
    const c = new ProcessContainer(id, spec, io, labels, this);
    this.live.set(id, c);
    return c;
  }

  async list(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const out = new Map<string, ContainerSummary>();
    for (const r of await this.records())
      out.set(r.id, { id: r.id, labels: r.labels, running: isRunning(r) });
    for (const c of this.live.values())
      out.set(c.id, { id: c.id, labels: c.labels, running: c.running });
    return [...out.values()].filter((s) =>
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  async destroy(id: string): Promise<void> {
    const c = this.live.get(id);
    if (c) return c.remove();
    const record = (await this.records()).find((r) => r.id === id);
    if (record && isRunning(record)) killGroup(record.pid, 'SIGKILL');
    await this.forget(id);
  }

  /** @internal */
  async remember(r: ProcessRecord): Promise<void> {
    if (!this.stateDir) return;
    await mkdir(this.stateDir, { recursive: true });
    await writeFile(join(this.stateDir, `${r.id}.json`), JSON.stringify(r));
  }

  /** @internal */
  async forget(id: string): Promise<void> {
    this.live.delete(id);
    if (this.stateDir) await rm(join(this.stateDir, `${id}.json`), { force: true });
  }

  private async records(): Promise<ProcessRecord[]> {
    if (!this.stateDir) return [];
    const out: ProcessRecord[] = [];
    for (const f of await readdir(this.stateDir).catch(() => [] as string[])) {
      if (!f.startsWith('process-') || !f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.stateDir, f), 'utf8')) as ProcessRecord);
      } catch {
        // half-written by a crash: nothing ran from it yet
      }
    }
    return out;
  }
}

function refuseUnsupported(spec: ContainerSpec): void {
  const refuse = (what: string) => {
    throw new UnsupportedSpecError('process', `the process driver cannot honour ${what}`);
  };
  if (spec.root.kind !== 'host') refuse(`a ${spec.root.kind} root (it runs host processes)`);
  if (spec.readonlyRoot) refuse('a read-only root');
  if (spec.user) refuse('a user');
  if (spec.mounts?.length) refuse('mounts');
  if (spec.tmpfs?.length) refuse('tmpfs mounts');
  if (spec.ulimits?.length) refuse('ulimits');
  if (spec.network.join) refuse("joining another container's network");
  const r = spec.resources ?? {};
  if (r.memoryMb !== undefined || r.cpus !== undefined || r.pidsLimit !== undefined)
    refuse('resource limits');
  if (spec.network.mode !== 'host' && spec.network.mode !== 'none') refuse('a private network');
  if (spec.network.ports?.length) refuse('published ports');
  if (!spec.entrypoint?.length && !spec.command?.length) refuse('a spec without a command');
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function isRunning(r: ProcessRecord): boolean {
  return processStartTime(r.pid) === r.startTime;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone
  }
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

class ProcessContainer implements Container {
  readonly ip = undefined;
  readonly ports: readonly PublishedPort[] = [];
  running = false;
  private child: ChildProcess | undefined;
  private exit: Promise<ContainerExit> | undefined;
  private exited: ContainerExit | undefined;
  private peakKb = 0;

  constructor(
    readonly id: string,
    readonly spec: ContainerSpec,
    private readonly io: ContainerIo,
    readonly labels: Record<string, string>,
    private readonly owner: ProcessContainers,
  ) {}

  start(): Promise<void> {
    if (this.child) return Promise.reject(new Error(`container ${this.id} already started`));
    const [file, ...args] = [...(this.spec.entrypoint ?? []), ...(this.spec.command ?? [])];
    const env = { PATH: DEFAULT_PATH, ...this.spec.env };
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        cwd: this.spec.workingDir || '/',
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      child.stdout!.on('data', (c: Buffer) => this.io.onStdout(c));
      child.stderr!.on('data', (c: Buffer) => this.io.onStderr(c));
      let status: ContainerExit | undefined;
      this.exit = new Promise<ContainerExit>((settle) => {
        child.once('exit', (code, signal) => {
          this.sample();
          this.running = false;
          status = {
            code: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0),
            signal: signal ?? null,
            oomKilled: false,
          };
        });
        child.once('close', () => {
          this.exited = status ?? { code: 255, signal: null, oomKilled: false };
          void this.owner.forget(this.id).catch(() => undefined);
          settle(this.exited);
        });
      });
      child.once('error', (err) => {
        if (child.pid === undefined) {
          this.exited = { code: 127, signal: null, oomKilled: false };
          reject(err);
        }
      });
      child.once('spawn', () => {
        this.running = true;
        const startTime = processStartTime(child.pid!) ?? '';
        this.owner
          .remember({ id: this.id, pid: child.pid!, startTime, labels: this.labels })
          .then(resolve, reject);
      });
    });
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.child?.pid && this.running) killGroup(this.child.pid, signal);
  }

  async stop(graceMs: number): Promise<ContainerExit> {
    if (!this.exit) throw new Error(`container ${this.id} was not started`);
    if (this.exited) return this.exited;
    return stopWithGrace(this, this.exit, this.spec.stopSignal ?? 'SIGTERM', graceMs);
  }

  wait(): Promise<ContainerExit> {
    if (!this.exit) return Promise.reject(new Error(`container ${this.id} was not started`));
    return this.exit;
  }

  async stats(): Promise<ContainerStats> {
    this.sample();
    let cpuTimeMs = 0;
    const pid = this.child?.pid;
    if (pid && this.running) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // utime + stime + cutime + cstime, in clock ticks (100 per second on Linux).
        cpuTimeMs = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
      } catch {
        // exited meanwhile
      }
    }
    return { peakMemoryMb: Math.ceil(this.peakKb / 1024), cpuTimeMs };
  }

  private sample(): void {
    const pid = this.child?.pid;
    if (!pid || !this.running) return;
    const kb = treeHighWaterKb(pid, 0);
    if (kb > this.peakKb) this.peakKb = kb;
  }

  async remove(): Promise<void> {
    if (this.exit && !this.exited) {
      await this.signal('SIGKILL');
      await this.exit;
    }
    await this.owner.forget(this.id);
  }
}
