/**
 * The task runner: runs one ECS-shaped task (spec.ts) on the ContainerDriver and reports
 * its life as ECS does, for ECS (RunTask, services) and Batch (a job is a one-container
 * task) alike. No API types here; each service maps its own API onto TaskSpec/TaskReport.
 *
 * A task goes PROVISIONING (scratch volumes) → PENDING (images resolved through the
 * ImageSource, containers created, each started once its dependsOn conditions hold:
 * START, COMPLETE, SUCCESS, HEALTHY) → ACTIVATING (the caller's `activate` hook, e.g. load
 * balancer registration) → RUNNING; and on stop → DEACTIVATING (`deactivate` hook) →
 * STOPPING (each container gets its stop signal, SIGKILL after its stopTimeout) →
 * DEPROVISIONING (containers removed, scratch volumes deleted, logs flushed) → STOPPED,
 * with ECS's stopCode and stoppedReason:
 * - an essential container exits: `EssentialContainerExited`, "Essential container in task exited";
 * - an image that does not resolve, a container that cannot be created or started, a
 *   dependency that can no longer be met: `TaskFailedToStart` with ECS's error prefix
 *   (CannotPullContainerError, CannotCreateContainerError, CannotStartContainerError);
 * - the caller's stop(): its own code and reason (`UserInitiated`, …).
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
 *
 * Networks: awsvpc puts every container in the first one's namespace (one address, shared
 * localhost; ContainerSpec.network.join); bridge gives each container its own namespace with
 * its port mappings published on the host (hostPort 0: a free one); host and none map as is.
 * Limits: a container's memory (else the task's) is its hard limit, its cpu units its
 * share, the task's cpu a hard cap of cpu/1024 CPUs per container (each container is its
 * own cgroup: a task-level memory limit is enforced per container, exact for one).
 * Logs: `awslogs` sends each output line to CloudWatch Logs as one event, stream
 * `<prefix>/<container name>/<task id>` (without a prefix: the container's runtime id).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LineSplitter, LogWriter, type LogStream } from '../../events/log-writer.js';
import type { LogSink } from '../../events/logs.js';
import {
  type ContainerStats,
  ImageNotFoundError,
  type BindMount,
  type Container,
  type ContainerDriver,
  type ContainerExit,
  type ContainerSpec,
  type ImageSource,
  type ResolvedImage,
} from '../container.js';
import { HealthMonitor } from './health.js';
import type {
  ContainerReport,
  DependencyCondition,
  HealthStatus,
  NetworkBinding,
  StopCode,
  TaskContainerSpec,
  TaskReport,
  TaskSpec,
  TaskStatus,
} from './spec.js';

/** Label every task container carries: the task's id (with TaskSpec.labels). */
export const TASK_LABEL = 'dev.stratus.task';
/** Label naming the container within its task. */
export const TASK_CONTAINER_LABEL = 'dev.stratus.task-container';

/** ECS's default stopTimeout (seconds). */
export const DEFAULT_STOP_TIMEOUT = 30;

export const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
export const ESSENTIAL_EXITED = 'Essential container in task exited';

export interface TaskRunnerDeps {
  containers: ContainerDriver;
  images: ImageSource;
  /** Where `awslogs` output goes; without it, output is dropped. */
  logs?: LogSink;
  /** Scratch volumes live in `<workDir>/<task id>/`. */
  workDir: string;
  /** Stratus's own log (a failed log append, a container that would not go away). */
  log?: (message: string) => void;
}

export interface TaskHooks {
  /** Every change of the report (state, a container's state or health, times). */
  onChange(report: TaskReport): void;
  /** Runs in ACTIVATING, once every container has started (ECS: register with target groups). */
  activate?(report: TaskReport): Promise<void>;
  /** Runs in DEACTIVATING, before containers are stopped (ECS: deregister, drain). */
  deactivate?(report: TaskReport): Promise<void>;
}

export class TaskRunner {
  private readonly writer: LogWriter | undefined;

  constructor(private readonly deps: TaskRunnerDeps) {
    this.writer = deps.logs
      ? new LogWriter(deps.logs, 200, (err) => deps.log?.(`awslogs append failed: ${String(err)}`))
      : undefined;
  }

  /** Starts the task; the returned handle reports through `hooks` and stops on demand. */
  run(spec: TaskSpec, hooks: TaskHooks): RunningTask {
    const task = new RunningTask(spec, this.deps, this.writer, hooks);
    void task.main();
    return task;
  }

  /** Destroys the containers a crash left behind whose labels include `labels`. */
  async reap(labels: Record<string, string>): Promise<string[]> {
    const left = await this.deps.containers.list(labels);
    for (const c of left) await this.deps.containers.destroy(c.id).catch(() => undefined);
    return left.map((c) => c.id);
  }

  /** Writes out buffered log events. */
  async flush(): Promise<void> {
    await this.writer?.flush();
  }
}

interface Slot {
  def: TaskContainerSpec;
  report: ContainerReport;
  image?: ResolvedImage;
  container?: Container;
  started: boolean;
  exit?: ContainerExit;
  /** Will never start (task stopping, or a dependency that can no longer be met). */
  blocked: boolean;
  health?: HealthMonitor;
  stream?: LogStream;
  out?: LineSplitter;
  err?: LineSplitter;
}

export class RunningTask {
  readonly report: TaskReport;
  /** Resolves with the final report once the task is STOPPED. */
  readonly done: Promise<TaskReport>;
  private resolveDone!: (r: TaskReport) => void;
  private readonly slots: Slot[];
  private stopRequested = false;
  private resolveStop!: () => void;
  private readonly stopSignal = new Promise<void>((r) => (this.resolveStop = r));
  /** Waiters for any change of a container (dependsOn conditions). */
  private waiters: (() => void)[] = [];

  constructor(
    readonly spec: TaskSpec,
    private readonly deps: TaskRunnerDeps,
    private readonly writer: LogWriter | undefined,
    private readonly hooks: TaskHooks,
  ) {
    this.slots = spec.containers.map((def) => ({
      def,
      report: {
        name: def.name,
        lastStatus: 'PENDING',
        healthStatus: 'UNKNOWN',
        networkBindings: [],
      },
      started: false,
      blocked: false,
    }));
    this.report = {
      taskId: spec.taskId,
      lastStatus: 'PROVISIONING',
      healthStatus: 'UNKNOWN',
      containers: this.slots.map((s) => s.report),
      times: {},
    };
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Resource use of the task's running containers (ECS's CPU and memory metrics). */
  async stats(): Promise<ContainerStats[]> {
    const out: ContainerStats[] = [];
    for (const s of this.slots) {
      if (!s.container || !s.started || s.exit) continue;
      const st = await s.container.stats().catch(() => undefined);
      if (st) out.push(st);
    }
    return out;
  }

  /** Asks the task to stop (the first caller's code and reason stand); await `done`. */
  stop(stopCode: StopCode, reason: string): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.report.stopCode = stopCode;
    this.report.stoppedReason = reason;
    this.emit();
    this.resolveStop();
    this.notify();
  }

  /** @internal the task's whole life; never rejects. */
  async main(): Promise<void> {
    this.emit();
    try {
      await this.startUp();
    } catch (err) {
      this.stop('TaskFailedToStart', errorMessage(err));
    }
    await this.stopSignal;
    await this.tearDown().catch((err: unknown) =>
      this.deps.log?.(`task ${this.spec.taskId}: teardown failed: ${errorMessage(err)}`),
    );
    this.setStatus('STOPPED');
    this.report.times.stoppedAt = Date.now();
    this.emit();
    this.resolveDone(this.report);
  }

  private async startUp(): Promise<void> {
    for (const v of this.spec.volumes ?? [])
      if (!v.hostPath) await mkdir(this.volumeDir(v.name), { recursive: true });
    this.setStatus('PENDING');
    this.report.times.pullStartedAt = Date.now();
    this.emit();
    await Promise.all(
      this.slots.map(async (slot) => {
        try {
          slot.image = await this.deps.images.resolve(
            slot.def.image,
            this.spec.account,
            this.spec.region,
          );
          slot.report.imageDigest = slot.image.manifestDigest;
        } catch (err) {
          const why = err instanceof ImageNotFoundError ? err.reason : errorMessage(err);
          throw new Error(
            `CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref ${slot.def.image}: ${why}`,
          );
        }
      }),
    );
    this.report.times.pullStoppedAt = Date.now();
    this.emit();
    for (const slot of this.slots) {
      if (this.stopRequested) return;
      await this.create(slot).catch((err: unknown) => {
        throw new Error(`CannotCreateContainerError: ${errorMessage(err)}`);
      });
    }
    this.report.times.connectivityAt = Date.now();
    if (this.spec.networkMode === 'awsvpc') this.report.privateIp = this.slots[0]?.container?.ip;
    this.emit();
    await Promise.all(this.slots.map((slot) => this.startWhenReady(slot)));
  }

  private volumeDir(name: string): string {
    return join(this.deps.workDir, this.spec.taskId, 'volumes', name);
  }

  private async create(slot: Slot): Promise<void> {
    const def = slot.def;
    const mounts: BindMount[] = (def.mountPoints ?? []).map((m) => {
      const volume = this.spec.volumes?.find((v) => v.name === m.sourceVolume);
      if (!volume) throw new Error(`Unknown volume ${m.sourceVolume}`);
      return {
        source: volume.hostPath ?? this.volumeDir(volume.name),
        target: m.containerPath,
        readonly: m.readOnly,
      };
    });
    const ports = (def.portMappings ?? []).map((p) => ({
      containerPort: p.containerPort,
      hostPort: p.hostPort,
      protocol: p.protocol,
    }));
    const first = this.slots[0]!.container;
    const network: ContainerSpec['network'] = (() => {
      switch (this.spec.networkMode) {
        case 'awsvpc':
          return first ? { mode: 'private', join: first.id } : { mode: 'private' };
        case 'bridge':
          return { mode: 'private', ports };
        case 'host':
          return { mode: 'host', ports };
        case 'none':
          return { mode: 'none' };
        default: {
          const never: never = this.spec.networkMode;
          throw new Error(`unknown network mode ${String(never)}`);
        }
      }
    })();
    if (def.extraHosts) network.hosts = def.extraHosts;
    const memory = def.memory ?? this.spec.memory;
    const spec: ContainerSpec = {
      name: `${this.spec.taskId}-${def.name}`,
      root: { kind: 'image', image: slot.image! },
      readonlyRoot: def.readonlyRootFilesystem,
      entrypoint: def.entryPoint,
      command: def.command,
      env: def.environment,
      user: def.user,
      workingDir: def.workingDirectory,
      mounts,
      resources: {
        ...(memory !== undefined && { memoryMb: memory }),
        ...(def.memoryReservation !== undefined && { memoryReservationMb: def.memoryReservation }),
        ...(def.cpu ? { cpuShares: def.cpu } : {}),
        ...(this.spec.cpu ? { cpus: this.spec.cpu / 1024 } : {}),
      },
      ulimits: def.ulimits,
      network,
      labels: {
        ...this.spec.labels,
        [TASK_LABEL]: this.spec.taskId,
        [TASK_CONTAINER_LABEL]: def.name,
      },
    };
    const split = (line: string) => slot.stream?.push(Date.now(), line);
    slot.out = new LineSplitter(split);
    slot.err = new LineSplitter(split);
    slot.container = await this.deps.containers.create(spec, {
      onStdout: (c) => slot.out!.write(c),
      onStderr: (c) => slot.err!.write(c),
    });
    slot.report.runtimeId = slot.container.id;
    if (def.logging && this.writer) {
      const l = def.logging;
      const name = l.streamPrefix
        ? `${l.streamPrefix}/${def.name}/${this.spec.taskId}`
        : slot.container.id;
      slot.stream = this.writer.open(
        { account: this.spec.account, region: l.region },
        l.logGroup,
        name,
      );
    }
  }

  /** Starts a container once its dependsOn conditions hold (or gives up on it). */
  private async startWhenReady(slot: Slot): Promise<void> {
    for (const dep of slot.def.dependsOn ?? []) {
      const target = this.slots.find((s) => s.def.name === dep.containerName);
      const met = target ? await this.until(() => condition(target, dep.condition)) : false;
      if (met) continue;
      slot.blocked = true;
      this.notify();
      if (!this.stopRequested && slot.def.essential)
        this.stop(
          'TaskFailedToStart',
          `Dependency condition ${dep.condition} of container ${slot.def.name} on container ${dep.containerName} was not met`,
        );
      this.checkRunning();
      return;
    }
    if (this.stopRequested) {
      slot.blocked = true;
      return;
    }
    const container = slot.container!;
    try {
      await container.start();
    } catch (err) {
      slot.blocked = true;
      this.stop('TaskFailedToStart', `CannotStartContainerError: ${errorMessage(err)}`);
      return;
    }
    slot.started = true;
    slot.report.lastStatus = 'RUNNING';
    slot.report.privateIp = container.ip;
    slot.report.networkBindings = this.bindings(slot);
    if (slot.def.healthCheck) {
      slot.health = new HealthMonitor(container, slot.def.healthCheck, (status) => {
        slot.report.healthStatus = status;
        this.updateHealth();
        this.notify();
      });
      slot.health.start();
    }
    void container.wait().then(
      (exit) => this.exited(slot, exit),
      (err: unknown) => this.exited(slot, { code: 255, signal: null, oomKilled: false }, err),
    );
    this.notify();
    this.emit();
    this.checkRunning();
  }

  private bindings(slot: Slot): NetworkBinding[] {
    const c = slot.container!;
    if (this.spec.networkMode === 'bridge')
      return c.ports.map((p) => ({
        bindIP: p.hostIp,
        containerPort: p.containerPort,
        hostPort: p.hostPort,
        protocol: p.protocol,
      }));
    if (this.spec.networkMode === 'host')
      return (slot.def.portMappings ?? []).map((p) => ({
        bindIP: '0.0.0.0',
        containerPort: p.containerPort,
        hostPort: p.containerPort,
        protocol: p.protocol,
      }));
    return [];
  }

  private exited(slot: Slot, exit: ContainerExit, err?: unknown): void {
    if (slot.exit) return;
    slot.exit = exit;
    slot.health?.stop();
    slot.out?.end();
    slot.err?.end();
    slot.report.lastStatus = 'STOPPED';
    slot.report.exitCode = exit.code;
    if (exit.oomKilled) slot.report.reason = OOM_REASON;
    else if (err) slot.report.reason = errorMessage(err);
    this.notify();
    this.emit();
    if (slot.def.essential) this.stop('EssentialContainerExited', ESSENTIAL_EXITED);
    else this.checkRunning();
  }

  /** PENDING → ACTIVATING → RUNNING once no container is still waiting to start. */
  private checkRunning(): void {
    if (this.report.lastStatus !== 'PENDING' || this.stopRequested) return;
    if (this.slots.some((s) => !s.started && !s.blocked && !s.exit)) return;
    if (!this.slots.every((s) => s.container)) return;
    void this.activate();
  }

  private async activate(): Promise<void> {
    if (this.hooks.activate) {
      this.setStatus('ACTIVATING');
      this.emit();
      try {
        await this.hooks.activate(this.report);
      } catch (err) {
        this.stop('TaskFailedToStart', errorMessage(err));
        return;
      }
    }
    if (this.stopRequested) return;
    this.setStatus('RUNNING');
    this.report.times.startedAt = Date.now();
    this.emit();
  }

  private async tearDown(): Promise<void> {
    const wasActive =
      this.report.lastStatus === 'RUNNING' || this.report.lastStatus === 'ACTIVATING';
    if (wasActive && this.hooks.deactivate) {
      this.setStatus('DEACTIVATING');
      this.emit();
      await this.hooks
        .deactivate(this.report)
        .catch((err: unknown) =>
          this.deps.log?.(`task ${this.spec.taskId}: deactivate failed: ${errorMessage(err)}`),
        );
    }
    this.setStatus('STOPPING');
    this.report.times.stoppingAt = Date.now();
    this.emit();
    // Containers others depend on stop last (ECS stops in reverse dependency order).
    const needed = new Set(
      this.slots.flatMap((s) => (s.def.dependsOn ?? []).map((d) => d.containerName)),
    );
    for (const group of [
      this.slots.filter((s) => !needed.has(s.def.name)),
      this.slots.filter((s) => needed.has(s.def.name)),
    ])
      await Promise.all(
        group
          .filter((s) => s.started && !s.exit)
          .map(async (s) => {
            const grace = (s.def.stopTimeout ?? DEFAULT_STOP_TIMEOUT) * 1000;
            const exit = await s.container!.stop(grace).catch(() => undefined);
            // The wait() callback records the exit too; record it here so the report is
            // complete before DEPROVISIONING.
            if (exit && !s.exit) this.exited(s, exit);
          }),
      );
    for (const s of this.slots) {
      s.health?.stop();
      if (!s.exit) s.report.lastStatus = 'STOPPED';
    }
    this.report.times.executionStoppedAt = Date.now();
    this.setStatus('DEPROVISIONING');
    this.emit();
    // The namespace's owner (the first container in awsvpc mode) goes last.
    for (const s of [...this.slots].reverse()) {
      if (!s.container) continue;
      await s.container
        .remove()
        .catch((err: unknown) =>
          this.deps.log?.(
            `task ${this.spec.taskId}: removing ${s.def.name} failed: ${errorMessage(err)}`,
          ),
        );
    }
    await rm(join(this.deps.workDir, this.spec.taskId), { recursive: true, force: true });
    await this.writer?.flush();
  }

  private updateHealth(): void {
    const checked = this.slots.filter((s) => s.def.essential && s.def.healthCheck);
    let status: HealthStatus = 'UNKNOWN';
    if (checked.some((s) => s.report.healthStatus === 'UNHEALTHY')) status = 'UNHEALTHY';
    else if (checked.length && checked.every((s) => s.report.healthStatus === 'HEALTHY'))
      status = 'HEALTHY';
    if (status !== this.report.healthStatus) {
      this.report.healthStatus = status;
      this.emit();
    }
  }

  /** Resolves true once `test` says so, false once it says never or the task stops. */
  private async until(test: () => boolean | undefined): Promise<boolean> {
    for (;;) {
      const result = test();
      if (result !== undefined) return result;
      if (this.stopRequested) return false;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private setStatus(status: TaskStatus): void {
    this.report.lastStatus = status;
  }

  private emit(): void {
    try {
      this.hooks.onChange(this.report);
    } catch (err) {
      this.deps.log?.(`task ${this.spec.taskId}: onChange failed: ${errorMessage(err)}`);
    }
  }
}

/** true: met; false: can no longer be met; undefined: not yet. */
function condition(dep: Slot, cond: DependencyCondition): boolean | undefined {
  switch (cond) {
    case 'START':
      return dep.started ? true : dep.blocked ? false : undefined;
    case 'COMPLETE':
      return dep.exit ? true : dep.blocked ? false : undefined;
    case 'SUCCESS':
      return dep.exit ? dep.exit.code === 0 : dep.blocked ? false : undefined;
    case 'HEALTHY':
      if (dep.report.healthStatus === 'HEALTHY') return true;
      return dep.exit || dep.blocked || !dep.def.healthCheck ? false : undefined;
    default: {
      const never: never = cond;
      throw new Error(`unknown dependency condition ${String(never)}`);
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
