/**
 * Task placement on registered container instances (EC2 launch type), in the order AWS
 * documents: keep the instances with the CPU, memory and ports the task needs, then those
 * that satisfy the constraints, then narrow by each strategy in turn.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html
 *
 * "binpack: Tasks are placed on container instances so as to leave the least amount of
 * unused CPU or memory." "spread: Tasks are placed evenly based on the specified value."
 * Ties left after the last strategy go to the earliest registered instance (AWS leaves
 * them unspecified; a fixed order keeps local runs repeatable), except under `random`.
 */
import { randomInt } from 'node:crypto';
import { InvalidParameterException } from '../../api/ecs/errors.js';
import type {
  PlacementConstraint,
  PlacementStrategy,
  TaskDefinition,
  TaskOverride,
} from '../../api/ecs/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { parseCpu, parseMemory } from './fargate.js';
import {
  QuerySyntaxError,
  checkSubjects,
  evaluate,
  parseQuery,
  type Query,
  type QuerySubject,
} from './query-language.js';
import {
  T,
  clusterKey,
  type ContainerInstanceRecord,
  type PlacementSettings,
  type Scope,
  type TaskPlacement,
  type TaskRecord,
} from './store.js';

/** The ports the ECS agent reserves on every instance it registers. */
export const AGENT_RESERVED_PORTS = [22, 2375, 2376, 51678, 51679];

/** What a task takes from the instance it is placed on. */
export interface TaskNeeds {
  cpu: number;
  memory: number;
  ports: number[];
  udpPorts: number[];
}

/**
 * CPU units and MiB reserved by a task: its task-level size where it has one, otherwise
 * the sum of its containers' (memoryReservation, the soft limit, where given, else the
 * hard `memory`); host ports its containers publish statically (`host` mode, or a
 * non-zero hostPort in `bridge` mode; hostPort 0 is a dynamic port, not reserved).
 */
export function needsOf(def: Partial<TaskDefinition>, overrides: TaskOverride): TaskNeeds {
  const containers = (def.containerDefinitions ?? []).map((c) => {
    const o = overrides.containerOverrides?.find((x) => x.name === c.name) ?? {};
    return {
      cpu: o.cpu ?? c.cpu ?? 0,
      memory: o.memoryReservation ?? c.memoryReservation ?? o.memory ?? c.memory ?? 0,
      portMappings: c.portMappings ?? [],
    };
  });
  const taskCpu = overrides.cpu ?? def.cpu;
  const taskMemory = overrides.memory ?? def.memory;
  const mode = def.networkMode ?? 'bridge';
  const ports: number[] = [];
  const udpPorts: number[] = [];
  for (const c of containers)
    for (const p of c.portMappings) {
      const port = mode === 'host' ? p.containerPort : mode === 'bridge' ? p.hostPort : undefined;
      if (!port) continue;
      (p.protocol === 'udp' ? udpPorts : ports).push(port);
    }
  return {
    cpu:
      (taskCpu !== undefined ? parseCpu(taskCpu) : undefined) ??
      containers.reduce((n, c) => n + c.cpu, 0),
    memory:
      (taskMemory !== undefined ? parseMemory(taskMemory) : undefined) ??
      containers.reduce((n, c) => n + c.memory, 0),
    ports,
    udpPorts,
  };
}

/** A container instance with the tasks that hold part of it now (not STOPPED). */
export interface InstanceState {
  record: ContainerInstanceRecord;
  tasks: { group?: string; placement: TaskPlacement; lastStatus: string }[];
}

export interface InstanceUsage {
  cpu: number;
  memory: number;
  ports: Set<number>;
  udpPorts: Set<number>;
  running: number;
  pending: number;
}

export function usageOf(state: InstanceState): InstanceUsage {
  const u: InstanceUsage = {
    cpu: 0,
    memory: 0,
    ports: new Set(state.record.ports),
    udpPorts: new Set(state.record.udpPorts),
    running: 0,
    pending: 0,
  };
  for (const t of state.tasks) {
    u.cpu += t.placement.cpu;
    u.memory += t.placement.memory;
    t.placement.ports.forEach((p) => u.ports.add(p));
    t.placement.udpPorts.forEach((p) => u.udpPorts.add(p));
    if (t.lastStatus === 'RUNNING') u.running++;
    else if (['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(t.lastStatus)) u.pending++;
  }
  return u;
}

/** The cluster's registered instances (not deregistered), oldest first, with their tasks. */
export async function loadInstances(
  ops: MetadataOps,
  scope: Scope,
  cluster: string,
): Promise<InstanceState[]> {
  const prefix = `${clusterKey(scope, cluster)}:`;
  const instances = (await ops.list<ContainerInstanceRecord>(T.containerInstances, { prefix }))
    .map((r) => r.value)
    .filter((i) => i.status !== 'INACTIVE')
    .sort((a, b) => a.registeredAt - b.registeredAt);
  const tasks = (await ops.list<TaskRecord>(T.tasks, { prefix }))
    .map((r) => r.value)
    .filter((t) => t.placement && t.report.lastStatus !== 'STOPPED');
  return instances.map((record) => ({
    record,
    tasks: tasks
      .filter((t) => t.placement!.instanceId === record.id)
      .map((t) => ({
        ...(t.group && { group: t.group }),
        placement: t.placement!,
        lastStatus: t.report.lastStatus,
      })),
  }));
}

export const attributeMap = (r: ContainerInstanceRecord): Map<string, string | undefined> =>
  new Map(r.attributes.map((a) => [a.name, a.value]));

export function querySubject(state: InstanceState): QuerySubject {
  const r = state.record;
  return {
    attributes: attributeMap(r),
    ec2InstanceId: r.ec2InstanceId,
    agentConnected: true,
    agentVersion: r.versionInfo.agentVersion ?? '',
    registeredAt: r.registeredAt,
    runningTasksCount: usageOf(state).running,
    taskGroups: state.tasks.flatMap((t) => (t.group ? [t.group] : [])),
  };
}

/** A cluster query language expression, or InvalidParameterException naming what is wrong. */
export function parseExpression(expression: string, what: string): Query {
  try {
    const q = parseQuery(expression);
    checkSubjects(q);
    return q;
  } catch (err) {
    if (err instanceof QuerySyntaxError)
      throw new InvalidParameterException(`${what} is invalid: ${err.message}.`);
    throw err;
  }
}

/**
 * Checks placement settings as RunTask / CreateService do, and returns them in the form
 * stored (strategy field names as given; `host` kept, it means instanceId).
 */
export function checkPlacement(
  strategy: PlacementStrategy[] | undefined,
  constraints: PlacementConstraint[] | undefined,
  launchType: 'FARGATE' | 'EC2',
): PlacementSettings {
  const s = strategy ?? [];
  const c = constraints ?? [];
  if (launchType === 'FARGATE' && (s.length || c.length))
    throw new InvalidParameterException(
      'Task placement constraints and strategies are not supported with the FARGATE launch type.',
    );
  if (s.length > 5)
    throw new InvalidParameterException('The number of placement strategies cannot exceed 5.');
  if (c.length > 10)
    throw new InvalidParameterException('The number of placement constraints cannot exceed 10.');
  for (const x of s) {
    const field = x.field ?? '';
    if (x.type === 'binpack' && !['cpu', 'memory'].includes(field.toLowerCase()))
      throw new InvalidParameterException(
        `Invalid placement strategy field '${field}' for binpack: it must be cpu or memory.`,
      );
    if (
      x.type === 'spread' &&
      !['instanceid', 'host'].includes(field.toLowerCase()) &&
      !/^attribute:.+/.test(field)
    )
      throw new InvalidParameterException(
        `Invalid placement strategy field '${field}' for spread: it must be instanceId, host or attribute:<name>.`,
      );
  }
  for (const x of c) {
    if (x.type === 'distinctInstance' && x.expression)
      throw new InvalidParameterException(
        'Expression cannot be specified with distinctInstance placement constraint.',
      );
    if (x.type === 'memberOf') {
      if (!x.expression)
        throw new InvalidParameterException(
          'Expression must be specified with memberOf placement constraint.',
        );
      if (x.expression.length > 2000)
        throw new InvalidParameterException('Expression cannot exceed 2000 characters.');
      parseExpression(x.expression, 'Placement constraint expression');
    }
  }
  return {
    strategy: s.map((x) => ({
      ...(x.type && { type: x.type }),
      ...(x.field && { field: x.field }),
    })),
    constraints: c.map((x) => ({
      ...(x.type && { type: x.type }),
      ...(x.expression && { expression: x.expression }),
    })),
  };
}

/** What becomes of one task: an instance, or why each instance refused it. */
export type PlacementResult =
  | { instance: InstanceState }
  | { failures: { instance: ContainerInstanceRecord; reason: string }[] };

/** AWS's default for services: "spread using the attribute:ecs.availability-zone". */
export const SERVICE_DEFAULT_STRATEGY: PlacementStrategy[] = [
  { type: 'spread', field: 'attribute:ecs.availability-zone' },
];

/**
 * Picks the instance for one task. `group` is the task's group (`service:<name>` or
 * RunTask's group): distinctInstance and spread count the tasks of the same group.
 */
export function placeTask(
  instances: InstanceState[],
  needs: TaskNeeds,
  group: string | undefined,
  settings: PlacementSettings,
): PlacementResult {
  const failures: { instance: ContainerInstanceRecord; reason: string }[] = [];
  const memberOf = settings.constraints
    .filter((c) => c.type === 'memberOf' && c.expression)
    .map((c) => parseExpression(c.expression!, 'Placement constraint expression'));
  const distinct = settings.constraints.some((c) => c.type === 'distinctInstance');
  const fits: InstanceState[] = [];
  for (const state of instances) {
    if (state.record.status !== 'ACTIVE') continue;
    const u = usageOf(state);
    const r = state.record;
    let reason: string | undefined;
    if (u.cpu + needs.cpu > r.cpu) reason = 'RESOURCE:CPU';
    else if (u.memory + needs.memory > r.memory) reason = 'RESOURCE:MEMORY';
    else if (needs.ports.some((p) => u.ports.has(p))) reason = 'RESOURCE:PORTS';
    else if (needs.udpPorts.some((p) => u.udpPorts.has(p))) reason = 'RESOURCE:PORTS_UDP';
    else if (distinct && state.tasks.some((t) => t.group === group))
      reason = 'DistinctInstance placement constraint unsatisfied';
    else if (memberOf.length) {
      const subject = querySubject(state);
      if (!memberOf.every((q) => evaluate(q, subject)))
        reason = 'MemberOf placement constraint unsatisfied';
    }
    if (reason) failures.push({ instance: r, reason });
    else fits.push(state);
  }
  if (fits.length === 0) return { failures };

  const groupCount = (s: InstanceState) => s.tasks.filter((t) => t.group === group).length;
  let candidates = fits;
  for (const strategy of settings.strategy) {
    if (candidates.length <= 1) break;
    if (strategy.type === 'random') {
      candidates = [candidates[randomInt(candidates.length)]!];
      break;
    }
    const field = strategy.field ?? '';
    let score: (s: InstanceState) => number;
    if (strategy.type === 'binpack') {
      const memory = field.toLowerCase() === 'memory';
      score = (s) => {
        const u = usageOf(s);
        return memory ? s.record.memory - u.memory : s.record.cpu - u.cpu;
      };
    } else if (strategy.type === 'spread' && /^(instanceid|host)$/i.test(field)) {
      score = groupCount;
    } else if (strategy.type === 'spread') {
      // The group's tasks per value of the attribute, over every registered instance.
      const name = field.slice('attribute:'.length);
      const valueOf = (s: InstanceState) => attributeMap(s.record).get(name) ?? '';
      const perValue = new Map<string, number>();
      for (const s of instances)
        perValue.set(valueOf(s), (perValue.get(valueOf(s)) ?? 0) + groupCount(s));
      score = (s) => perValue.get(valueOf(s)) ?? 0;
    } else continue;
    const best = Math.min(...candidates.map(score));
    candidates = candidates.filter((s) => score(s) === best);
  }
  if (settings.strategy.length === 0 && candidates.length > 1)
    candidates = [candidates[randomInt(candidates.length)]!];
  return { instance: candidates[0]! };
}

/** Records a placement in the in-memory state, so the next task of the same call sees it. */
export function holdOn(
  state: InstanceState,
  placement: TaskPlacement,
  group: string | undefined,
): void {
  state.tasks.push({ ...(group && { group }), placement, lastStatus: 'PROVISIONING' });
}

export function placementOf(state: InstanceState, needs: TaskNeeds): TaskPlacement {
  const az = attributeMap(state.record).get('ecs.availability-zone');
  return {
    instanceId: state.record.id,
    cpu: needs.cpu,
    memory: needs.memory,
    ports: needs.ports,
    udpPorts: needs.udpPorts,
    ...(az && { availabilityZone: az }),
  };
}

/**
 * One placement at a time in this server: a placement reads what instances have left and
 * writes the task that takes part of it; two at once could both take the last of it.
 */
export class PlacementLock {
  private tail: Promise<void> = Promise.resolve();
  run<R>(fn: () => Promise<R>): Promise<R> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export interface PlacedStarts {
  started: TaskRecord[];
  /** Why the tasks that found no instance found none (one entry per instance per task). */
  failures: { instance: ContainerInstanceRecord; reason: string }[];
  /** The cluster has registered instances but none ACTIVE (all DRAINING). */
  noActiveInstance: boolean;
}

/**
 * Places and starts `count` tasks of one kind. A cluster with no registered container
 * instance runs EC2 tasks on this machine unplaced, as Stratus did before instances
 * existed (placement = undefined); one with instances places every task on one.
 */
export async function placeAndStart(
  ops: MetadataOps,
  lock: PlacementLock,
  scope: Scope,
  cluster: string,
  needs: TaskNeeds,
  group: string | undefined,
  settings: PlacementSettings,
  count: number,
  start: (placement: TaskPlacement | undefined) => Promise<TaskRecord>,
): Promise<PlacedStarts> {
  const out: PlacedStarts = { started: [], failures: [], noActiveInstance: false };
  // No instance registered: no placement, and no lock (RunTask's start stays concurrent).
  const registered = await ops.list<ContainerInstanceRecord>(T.containerInstances, {
    prefix: `${clusterKey(scope, cluster)}:`,
  });
  if (!registered.some((r) => r.value.status !== 'INACTIVE')) {
    for (let i = 0; i < count; i++) out.started.push(await start(undefined));
    return out;
  }
  return lock.run(async () => {
    const instances = await loadInstances(ops, scope, cluster);
    if (!instances.some((s) => s.record.status === 'ACTIVE')) {
      out.noActiveInstance = true;
      return out;
    }
    for (let i = 0; i < count; i++) {
      const result = placeTask(instances, needs, group, settings);
      if ('failures' in result) {
        for (const f of result.failures)
          if (!out.failures.some((x) => x.instance.id === f.instance.id && x.reason === f.reason))
            out.failures.push(f);
        continue;
      }
      const placement = placementOf(result.instance, needs);
      out.started.push(await start(placement));
      holdOn(result.instance, placement, group);
    }
    return out;
  });
}
