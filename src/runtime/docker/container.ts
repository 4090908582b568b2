/**
 * One Docker container behind the Container contract. Output is attached before start (as
 * `docker run` does), so nothing written in the first microseconds is lost; wait() resolves
 * once the daemon reports the exit and the attached stream has delivered everything.
 */
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import {
  stopWithGrace,
  ExecTimeoutError,
  type Container,
  type ContainerExit,
  type ContainerIo,
  type ContainerSpec,
  type ContainerStats,
  type PublishedPort,
} from '../container.js';
import { ignoring, statusCode } from './api.js';
import { portKey } from './create-options.js';
import { signalName } from './signals.js';

/** How long wait() lets the attached stream drain after the daemon reported the exit. */
const OUTPUT_DRAIN_MS = 2_000;
const MB = 1024 * 1024;

export interface DockerContainerOptions {
  docker: Docker;
  handle: Docker.Container;
  spec: ContainerSpec;
  io: ContainerIo;
  /** What stop() sends first: the spec's, else the image's StopSignal, else SIGTERM. */
  stopSignal: NodeJS.Signals;
  /** Runs after the container is removed (an imported rootfs image is deleted, say). */
  afterRemove: () => Promise<void>;
  /** Creates the private network again (it was removed behind the driver's back). */
  recreateNetwork: () => Promise<void>;
}

export class DockerContainer implements Container {
  readonly id: string;
  readonly spec: ContainerSpec;
  ip: string | undefined;
  ports: PublishedPort[] = [];
  private readonly handle: Docker.Container;
  private readonly opts: DockerContainerOptions;
  private output: NodeJS.ReadWriteStream | undefined;
  private outputDone: Promise<void> = Promise.resolve();
  private exit: Promise<ContainerExit> | undefined;
  private markStarted: () => void = () => {};
  private readonly started = new Promise<void>((r) => (this.markStarted = r));
  private peakMemoryMb = 0;
  private cpuTimeMs = 0;
  /** When start() returned (ms since the epoch), for the event log's `since`. */
  private startedAt = 0;
  /** We sent SIGKILL ourselves: a 137 then needs no OOM check. */
  private killedByUs = false;

  constructor(opts: DockerContainerOptions) {
    this.opts = opts;
    this.handle = opts.handle;
    this.id = opts.handle.id;
    this.spec = opts.spec;
  }

  /** Attaches stdout and stderr; called by the driver right after create. */
  async attach(): Promise<void> {
    const stream = await this.handle.attach({ stream: true, stdout: true, stderr: true });
    this.output = stream;
    const sink = (deliver: (chunk: Buffer) => void) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          deliver(chunk);
          done();
        },
      });
    this.opts.docker.modem.demuxStream(
      stream,
      sink((c) => this.opts.io.onStdout(c)),
      sink((c) => this.opts.io.onStderr(c)),
    );
    this.outputDone = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', resolve);
    });
  }

  async start(): Promise<void> {
    try {
      await this.handle.start();
    } catch (err) {
      // Docker resolves the network by name at start: a `docker network rm` since the
      // driver made sure of it shows here, not at create.
      if (this.spec.network.mode !== 'private' || statusCode(err) !== 404) throw err;
      if (!/network/i.test(String(err))) throw err;
      await this.opts.recreateNetwork();
      // The failed start ended the attached stream: attach again before the next one.
      this.detach();
      await this.attach();
      await this.handle.start();
    }
    this.startedAt = Date.now();
    // Only a private network has an address and host ports to read back.
    if (this.spec.network.join) this.ip = await this.joinedIp(this.spec.network.join);
    else if (this.spec.network.mode === 'private') this.readNetwork(await this.handle.inspect());
    else if (this.spec.network.mode === 'host') this.ports = this.hostModePorts();
    this.exit = this.waitForExit();
    // Whoever waits sees a failure (the daemon went away); nobody waiting is not a crash.
    this.exit.catch(() => undefined);
    this.markStarted();
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    if (signal === 'SIGKILL') this.killedByUs = true;
    // 409: not running (already exited); like kill(2) on a reaped process, nothing to do.
    await ignoring([409], () => this.handle.kill({ signal }));
  }

  async stop(graceMs: number): Promise<ContainerExit> {
    if (!this.exit) throw new Error(`container ${this.id} was never started`);
    // A sample before the end: Docker has no figures once the cgroup is gone.
    await this.stats().catch(() => undefined);
    return stopWithGrace(this, this.exit, this.opts.stopSignal, graceMs);
  }

  async wait(): Promise<ContainerExit> {
    await this.started;
    return this.exit!;
  }

  /**
   * Peak memory: cgroup v1's max_usage, else the cgroup v2 memory.peak file (Docker's stats
   * do not carry it), else the highest usage sampled. After the exit the daemon has no
   * figures left, so the last sample stands.
   */
  async stats(): Promise<ContainerStats> {
    const s = await this.handle.stats({ stream: false, 'one-shot': true });
    const mem: Partial<Docker.MemoryStats> = s.memory_stats ?? {};
    const peakBytes = mem.max_usage ?? (await this.cgroupV2Peak()) ?? mem.usage ?? 0;
    this.peakMemoryMb = Math.max(this.peakMemoryMb, Math.ceil(peakBytes / MB));
    const cpuNs = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
    this.cpuTimeMs = Math.max(this.cpuTimeMs, Math.round(cpuNs / 1e6));
    return {
      peakMemoryMb: this.peakMemoryMb,
      ...(mem.usage !== undefined && { memoryMb: mem.usage / MB }),
      cpuTimeMs: this.cpuTimeMs,
    };
  }

  async remove(): Promise<void> {
    this.detach();
    await ignoring([404], () => this.handle.remove({ force: true, v: true }));
    await this.opts.afterRemove();
  }

  /** Runs argv through the Engine's exec API and polls its exit code. */
  async exec(argv: string[], timeoutMs: number): Promise<number> {
    const exec = await this.handle.exec({ Cmd: argv, AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      if (Date.now() > deadline) throw new ExecTimeoutError(timeoutMs);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The address of the container whose namespace this one shares. */
  private async joinedIp(peer: string): Promise<string | undefined> {
    const info = await this.opts.docker.getContainer(peer).inspect();
    const networks = Object.values(info.NetworkSettings.Networks ?? {});
    return networks.find((n) => n.IPAddress)?.IPAddress || undefined;
  }

  private detach(): void {
    this.output?.removeAllListeners('data');
    (this.output as { destroy?: () => void } | undefined)?.destroy?.();
    this.output = undefined;
  }

  private readNetwork(info: Docker.ContainerInspectInfo): void {
    const networks = Object.values(info.NetworkSettings.Networks ?? {});
    this.ip = networks.find((n) => n.IPAddress)?.IPAddress || undefined;
    const bound = (info.NetworkSettings.Ports ?? {}) as Record<
      string,
      { HostIp: string; HostPort: string }[] | null
    >;
    this.ports = (this.spec.network.ports ?? []).map((p) => {
      const binding = bound[portKey(p)]?.[0];
      if (!binding) throw new Error(`docker published no host port for ${portKey(p)}`);
      return { ...p, hostIp: binding.HostIp, hostPort: Number(binding.HostPort) };
    });
  }

  /** The host's network: a container port is the host's own port. */
  private hostModePorts(): PublishedPort[] {
    return (this.spec.network.ports ?? []).map((p) => ({
      ...p,
      hostIp: '127.0.0.1',
      hostPort: p.containerPort,
    }));
  }

  private async waitForExit(): Promise<ContainerExit> {
    // A container removed (destroy, `docker rm -f`) before its exit was seen was killed.
    let code = 128 + constants.signals.SIGKILL;
    try {
      const result = (await this.handle.wait({ condition: 'not-running' })) as {
        StatusCode: number;
      };
      code = result.StatusCode;
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    let drained: NodeJS.Timeout | undefined;
    await Promise.race([
      this.outputDone,
      new Promise<void>((r) => (drained = setTimeout(r, OUTPUT_DRAIN_MS))),
    ]);
    clearTimeout(drained);
    let oomKilled = false;
    try {
      const { State } = await this.handle.inspect();
      code = State.ExitCode ?? code;
      oomKilled = State.OOMKilled === true;
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    const sigkill = 128 + constants.signals.SIGKILL;
    if (!oomKilled && code === sigkill && !this.killedByUs && this.spec.resources?.memoryMb)
      oomKilled = await this.oomEventLogged();
    return {
      code,
      // Docker reports a death by signal n as 128+n and keeps no other trace of it.
      signal: code > 128 ? (signalName(String(code - 128)) ?? null) : null,
      oomKilled,
    };
  }

  /**
   * Docker sets OOMKilled from containerd's OOM event, which can arrive after the exit
   * event: the flag then stays false although the kernel killed the container for memory.
   * The daemon logs the `oom` event either way, so its event log is asked, waiting up to
   * a second or two for a late one (`until` in the future keeps the stream open).
   */
  private async oomEventLogged(): Promise<boolean> {
    const stream = await this.opts.docker.getEvents({
      since: Math.floor(this.startedAt / 1000) - 1,
      until: Math.ceil(Date.now() / 1000) + 1,
      filters: { container: [this.id], event: ['oom'] },
    });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) if (chunk.length > 0) return true;
      return false;
    } finally {
      (stream as { destroy?: () => void }).destroy?.();
    }
  }

  /** memory.peak of the container's cgroup where /sys/fs/cgroup is the v2 hierarchy. */
  private async cgroupV2Peak(): Promise<number | undefined> {
    try {
      const { State } = await this.handle.inspect();
      const cgroup = await readFile(`/proc/${State.Pid}/cgroup`, 'utf8');
      const path = /^0::(.*)$/m.exec(cgroup)?.[1];
      if (!path) return undefined;
      return Number((await readFile(`/sys/fs/cgroup${path}/memory.peak`, 'utf8')).trim());
    } catch {
      return undefined;
    }
  }
}
