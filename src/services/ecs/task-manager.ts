/**
 * ECS's task core: owns the tasks table, turns a task definition (with RunTask's
 * overrides) into the task runner's TaskSpec (src/runtime/tasks/), and writes every state
 * the runner reports into the task's record, in order, so DescribeTasks reads the store
 * alone. Services (scheduler.ts) listen to the same changes.
 *
 * A restart of Stratus finds no task alive: the container layer reaps every container the
 * previous run left, and recover() writes those tasks down as STOPPED, for services to
 * replace, as ECS does with the tasks of an instance that went away.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyValuePair, TaskOverride, Tag } from '../../api/ecs/types.js';
import type { RunningTask, TaskHooks, TaskRunner } from '../../runtime/tasks/runner.js';
import type {
  StopCode,
  TaskContainerSpec,
  TaskNetworkMode,
  TaskReport,
  TaskSpec,
} from '../../runtime/tasks/spec.js';
import type { Meter } from '../../billing/meter.js';
import type { MetadataStore } from '../../storage/types.js';
import { parseCpu, parseMemory } from './fargate.js';
import { meterFargate } from './metering.js';
import { PlacementLock } from './placement.js';
import {
  T,
  taskKey,
  type Scope,
  type TaskDefinitionRecord,
  type TaskPlacement,
  type TaskRecord,
} from './store.js';

/** Label on every ECS container: which cluster's task it is (with the runner's task label). */
export const ECS_CLUSTER_LABEL = 'dev.stratus.ecs.cluster';

/** Why a task is gone after a restart (the containers went with the server). */
export const RESTART_REASON = 'Task stopped because the Stratus server running it restarted';

export interface TaskStart {
  scope: Scope;
  cluster: string;
  definition: TaskDefinitionRecord;
  launchType: 'FARGATE' | 'EC2';
  capacityProviderName?: string;
  platformVersion?: string;
  overrides: TaskOverride;
  group?: string;
  startedBy?: string;
  tags: Tag[];
  service?: string;
  deploymentId?: string;
  /** ACTIVATING/DEACTIVATING work (a service's load balancer registration). */
  hooks?: Pick<TaskHooks, 'activate' | 'deactivate'>;
  /** The registered container instance it is placed on (EC2 launch type). */
  placement?: TaskPlacement;
}

export type TaskListener = (record: TaskRecord) => void;

export interface EcsTasksOptions {
  store: MetadataStore;
  /** Undefined where the container driver cannot run images: tasks then fail to start. */
  runner: TaskRunner | undefined;
  /** Why runner is undefined. */
  noRunnerReason?: string;
  now(): number;
  log(message: string): void;
  /** The bill's meter: Fargate tasks' vCPUs and memory while they run. */
  meter?: Meter;
}

/** A running task as CloudWatch sees it (metrics.ts). */
export interface LiveTask {
  scope: Scope;
  cluster: string;
  service?: string;
  /** Task-level reservations (CPU units, MiB), when the task has them. */
  cpuUnits?: number;
  memoryMib?: number;
  task: RunningTask;
}

export class EcsTasks {
  private readonly live = new Map<string, RunningTask>();
  private readonly liveInfo = new Map<string, LiveTask>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly listeners: TaskListener[] = [];
  private closing = false;
  /** Serialises placements on registered container instances (placement.ts). */
  readonly placementLock = new PlacementLock();

  constructor(private readonly opts: EcsTasksOptions) {}

  onChange(listener: TaskListener): void {
    this.listeners.push(listener);
  }

  /** Writes the task down as PROVISIONING and starts it. */
  async start(s: TaskStart): Promise<TaskRecord> {
    const def = s.definition.definition;
    const taskId = randomBytes(16).toString('hex');
    const containerDefs = def.containerDefinitions ?? [];
    const overrides = s.overrides;
    const cpu = overrides.cpu ?? def.cpu;
    const memory = overrides.memory ?? def.memory;
    const record: TaskRecord = {
      ...s.scope,
      taskId,
      cluster: s.cluster,
      taskDefinitionArn: def.taskDefinitionArn!,
      launchType: s.launchType,
      ...(s.capacityProviderName && { capacityProviderName: s.capacityProviderName }),
      ...(s.launchType === 'FARGATE' && { platformVersion: s.platformVersion ?? '1.4.0' }),
      ...(cpu !== undefined && { cpu: String(parseCpu(cpu) ?? cpu) }),
      ...(memory !== undefined && { memory: String(parseMemory(memory) ?? memory) }),
      ...(def.runtimePlatform?.cpuArchitecture === 'ARM64' && { cpuArchitecture: 'ARM64' }),
      ...(s.group && { group: s.group }),
      ...(s.startedBy && { startedBy: s.startedBy }),
      overrides,
      tags: s.tags,
      createdAt: this.opts.now(),
      desiredStatus: 'RUNNING',
      report: {
        taskId,
        lastStatus: 'PROVISIONING',
        healthStatus: 'UNKNOWN',
        containers: containerDefs.map((c) => ({
          name: c.name!,
          lastStatus: 'PENDING',
          healthStatus: 'UNKNOWN',
          networkBindings: [],
        })),
        times: {},
      },
      images: Object.fromEntries(containerDefs.map((c) => [c.name!, c.image!])),
      containerIds: Object.fromEntries(containerDefs.map((c) => [c.name!, randomUUID()])),
      version: 1,
      ...(s.service && { service: s.service }),
      ...(s.deploymentId && { deploymentId: s.deploymentId }),
      ...(s.placement && { placement: s.placement }),
    };
    const key = taskKey(s.scope, s.cluster, taskId);
    await this.opts.store.put(T.tasks, key, record);
    const runner = this.opts.runner;
    if (!runner) {
      record.desiredStatus = 'STOPPED';
      record.report = {
        ...record.report,
        lastStatus: 'STOPPED',
        stopCode: 'TaskFailedToStart',
        stoppedReason: `CannotCreateContainerError: ${this.opts.noRunnerReason ?? 'no container driver runs images here'}`,
        times: { stoppedAt: this.opts.now() },
      };
      record.report.containers.forEach((c) => (c.lastStatus = 'STOPPED'));
      await this.opts.store.put(T.tasks, key, record);
      this.notify(record);
      return record;
    }
    const spec = taskSpec(s, taskId, cpu, memory);
    const task = runner.run(spec, {
      onChange: (report) => this.reported(key, report),
      ...s.hooks,
    });
    this.live.set(key, task);
    const cpuUnits = record.cpu === undefined ? undefined : Number(record.cpu);
    const memoryMib = record.memory === undefined ? undefined : Number(record.memory);
    this.liveInfo.set(key, {
      scope: s.scope,
      cluster: s.cluster,
      ...(s.service && { service: s.service }),
      ...(cpuUnits !== undefined && Number.isFinite(cpuUnits) && { cpuUnits }),
      ...(memoryMib !== undefined && Number.isFinite(memoryMib) && { memoryMib }),
      task,
    });
    void task.done.then(() => {
      this.live.delete(key);
      this.liveInfo.delete(key);
    });
    return record;
  }

  /** Asks a task to stop; resolves the record as it stands (desiredStatus STOPPED). */
  async stop(
    scope: Scope,
    cluster: string,
    taskId: string,
    code: StopCode,
    reason: string,
  ): Promise<TaskRecord | undefined> {
    const key = taskKey(scope, cluster, taskId);
    const record = await this.opts.store.transaction(async (tx) => {
      const r = await tx.get<TaskRecord>(T.tasks, key);
      if (!r) return undefined;
      if (r.desiredStatus !== 'STOPPED') {
        r.desiredStatus = 'STOPPED';
        r.version++;
        await tx.put(T.tasks, key, r);
      }
      return r;
    });
    if (!record) return undefined;
    const task = this.live.get(key);
    if (task) {
      task.stop(code, reason);
      await this.writes.get(key);
      return (await this.opts.store.get<TaskRecord>(T.tasks, key)) ?? record;
    }
    return record;
  }

  /** Whether the task is running in this server (not a leftover record). */
  /** The tasks running now, with what CloudWatch's ECS metrics need. */
  running(): LiveTask[] {
    return [...this.liveInfo.values()];
  }

  isLive(scope: Scope, cluster: string, taskId: string): boolean {
    return this.live.has(taskKey(scope, cluster, taskId));
  }

  /** Writes down as STOPPED every task a previous run of the server left unfinished. */
  async recover(): Promise<number> {
    const rows = await this.opts.store.list<TaskRecord>(T.tasks);
    let n = 0;
    for (const { key, value } of rows) {
      if (value.report.lastStatus === 'STOPPED' || this.live.has(key)) continue;
      const now = this.opts.now();
      value.desiredStatus = 'STOPPED';
      value.report.lastStatus = 'STOPPED';
      value.report.stopCode ??= 'TaskFailedToStart';
      value.report.stoppedReason ??= RESTART_REASON;
      value.report.times.executionStoppedAt ??= now;
      value.report.times.stoppedAt = now;
      for (const c of value.report.containers) c.lastStatus = 'STOPPED';
      value.version++;
      await this.opts.store.put(T.tasks, key, value);
      if (this.opts.meter) meterFargate(this.opts.meter, value);
      n++;
    }
    return n;
  }

  /** Server shutdown: reports go nowhere from now on (the container layer reaps). */
  close(): void {
    this.closing = true;
  }

  /** Waits for every task to be STOPPED (tests, reset). */
  async stopAll(reason: string): Promise<void> {
    const tasks = [...this.live.values()];
    for (const t of tasks) t.stop('UserInitiated', reason);
    await Promise.all(tasks.map((t) => t.done));
    await Promise.all(this.writes.values());
  }

  private reported(key: string, report: TaskReport): void {
    if (this.closing) return;
    const snapshot = structuredClone(report);
    const previous = this.writes.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.closing) return;
      const record = await this.opts.store.transaction(async (tx) => {
        const r = await tx.get<TaskRecord>(T.tasks, key);
        if (!r) return undefined;
        r.report = snapshot;
        if (snapshot.lastStatus === 'STOPPED') r.desiredStatus = 'STOPPED';
        r.version++;
        await tx.put(T.tasks, key, r);
        return r;
      });
      if (record) this.notify(record);
    });
    const settled = next.catch((err: unknown) =>
      this.opts.log(`ecs: recording task ${report.taskId} failed: ${String(err)}`),
    );
    this.writes.set(key, settled);
    void settled.then(() => {
      if (this.writes.get(key) === settled && snapshot.lastStatus === 'STOPPED')
        this.writes.delete(key);
    });
  }

  private notify(record: TaskRecord): void {
    if (this.opts.meter) meterFargate(this.opts.meter, record);
    for (const l of this.listeners) {
      try {
        l(record);
      } catch (err) {
        this.opts.log(`ecs: task listener failed: ${String(err)}`);
      }
    }
  }
}

function env(list: KeyValuePair[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.name ?? '', kv.value ?? '']));
}

/** The runner's view of a task definition with RunTask's overrides applied. */
function taskSpec(
  s: TaskStart,
  taskId: string,
  cpu: string | undefined,
  memory: string | undefined,
): TaskSpec {
  const def = s.definition.definition;
  const networkMode: TaskNetworkMode =
    s.launchType === 'FARGATE' ? 'awsvpc' : (def.networkMode ?? 'bridge');
  const region = s.scope.region;
  // What Fargate puts in every container's environment.
  const injected: Record<string, string> = {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: s.launchType === 'FARGATE' ? 'AWS_ECS_FARGATE' : 'AWS_ECS_EC2',
  };
  const containers: TaskContainerSpec[] = (def.containerDefinitions ?? []).map((c) => {
    const o = s.overrides.containerOverrides?.find((x) => x.name === c.name) ?? {};
    const log = c.logConfiguration;
    const awslogs = log?.logDriver === 'awslogs' ? (log.options ?? {}) : undefined;
    const hc = c.healthCheck;
    return {
      name: c.name!,
      image: c.image!,
      essential: c.essential !== false,
      ...(c.entryPoint && { entryPoint: c.entryPoint }),
      ...((o.command ?? c.command) && { command: o.command ?? c.command }),
      environment: { ...injected, ...env(c.environment), ...env(o.environment) },
      ...(c.user && { user: c.user }),
      ...(c.workingDirectory && { workingDirectory: c.workingDirectory }),
      ...((o.cpu ?? c.cpu) ? { cpu: o.cpu ?? c.cpu } : {}),
      ...((o.memory ?? c.memory) !== undefined && { memory: o.memory ?? c.memory }),
      ...((o.memoryReservation ?? c.memoryReservation) !== undefined && {
        memoryReservation: o.memoryReservation ?? c.memoryReservation,
      }),
      ulimits: (c.ulimits ?? []).map((u) => ({
        name: u.name,
        soft: u.softLimit,
        hard: u.hardLimit,
      })),
      readonlyRootFilesystem: c.readonlyRootFilesystem === true,
      mountPoints: (c.mountPoints ?? []).map((m) => ({
        sourceVolume: m.sourceVolume ?? '',
        containerPath: m.containerPath ?? '',
        readOnly: m.readOnly === true,
      })),
      portMappings: (c.portMappings ?? []).map((p) => ({
        containerPort: p.containerPort ?? 0,
        hostPort: networkMode === 'bridge' ? (p.hostPort ?? 0) : p.containerPort,
        protocol: p.protocol === 'udp' ? ('udp' as const) : ('tcp' as const),
      })),
      dependsOn: (c.dependsOn ?? []).map((d) => ({
        containerName: d.containerName,
        condition: d.condition,
      })),
      ...(hc && {
        healthCheck: {
          command: hc.command,
          intervalSeconds: hc.interval ?? 30,
          timeoutSeconds: hc.timeout ?? 5,
          retries: hc.retries ?? 3,
          startPeriodSeconds: hc.startPeriod ?? 0,
        },
      }),
      ...(awslogs && {
        logging: {
          logGroup: awslogs['awslogs-group'] ?? '',
          region: awslogs['awslogs-region'] ?? region,
          ...(awslogs['awslogs-stream-prefix'] && {
            streamPrefix: awslogs['awslogs-stream-prefix'],
          }),
        },
      }),
      ...(c.stopTimeout !== undefined && { stopTimeout: c.stopTimeout }),
      ...(c.extraHosts && {
        extraHosts: Object.fromEntries(c.extraHosts.map((h) => [h.hostname, h.ipAddress])),
      }),
    };
  });
  return {
    taskId,
    account: s.scope.account,
    region,
    networkMode,
    ...(cpu !== undefined && parseCpu(cpu) ? { cpu: parseCpu(cpu) } : {}),
    ...(memory !== undefined && parseMemory(memory) ? { memory: parseMemory(memory) } : {}),
    containers,
    volumes: (def.volumes ?? []).map((v) => ({
      name: v.name ?? '',
      ...(v.host?.sourcePath && { hostPath: v.host.sourcePath }),
    })),
    labels: { [ECS_CLUSTER_LABEL]: `${s.scope.account}:${s.scope.region}:${s.cluster}` },
  };
}
