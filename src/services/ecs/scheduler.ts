/**
 * The service scheduler: keeps each ACTIVE service at its desired count and rolls its
 * deployments, as ECS's rolling-update controller does.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
 *
 * Each pass over a service (on a timer, and whenever one of its tasks changes):
 * - tasks that failed their container health checks, or their target group's health
 *   checks once the grace period has passed, are stopped (and replaced);
 * - the PRIMARY deployment is started up to desiredCount, while RUNNING + PENDING tasks of
 *   all deployments stay within maximumPercent of desiredCount (rounded down);
 * - tasks of older deployments are stopped while the healthy RUNNING ones stay at or
 *   above minimumHealthyPercent of desiredCount (rounded up); emptied deployments end;
 * - the circuit breaker counts tasks of the PRIMARY deployment that failed; at the
 *   threshold (half the desired count, within 3..200) the rollout FAILS and, with
 *   rollback, the last COMPLETED deployment's task definition is deployed again;
 * - events carry ECS's messages ("(service web) has reached a steady state.").
 * Tasks of services with `loadBalancers` are registered with the target groups in the
 * task's ACTIVATING state and deregistered (with draining) in DEACTIVATING.
 * EC2 services on a cluster with registered container instances place each new task by
 * the service's strategies and constraints (placement.ts); tasks on a DRAINING instance
 * are replaced as an older deployment's are: "Service tasks on the container instance
 * that are in the RUNNING state are stopped and replaced according to the service's
 * deployment configuration parameters, minimumHealthyPercent and maximumPercent."
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Target, TargetHealthReport, TargetRegistry } from '../elbv2/targets.js';
import type { TaskReport } from '../../runtime/tasks/spec.js';
import type { MetadataStore } from '../../storage/types.js';
import type { EcsTasks } from './task-manager.js';
import { isProtected } from './task-protection.js';
import { findTaskDefinition } from './common.js';
import {
  SERVICE_DEFAULT_STRATEGY,
  loadInstances,
  needsOf,
  placeAndStart,
  type PlacedStarts,
} from './placement.js';
import {
  T,
  clusterKey,
  serviceKey,
  type Scope,
  type TaskPlacement,
  type DeploymentRecord,
  type LoadBalancerRecord,
  type ServiceRecord,
  type TaskRecord,
} from './store.js';
import { BoundedSet } from '../../shared/bounded-map.js';

/** The instance id bridge-mode tasks register under (instance targets are this machine). */
export const LOCAL_INSTANCE_ID = 'i-0000000000000000a';
const PASS_INTERVAL_MS = 1000;
const MAX_EVENTS = 100;
const MAX_PAST_DEPLOYMENTS = 50;

export interface SchedulerOptions {
  store: MetadataStore;
  tasks: EcsTasks;
  loadBalancing: TargetRegistry | undefined;
  now(): number;
  log(message: string): void;
}

export function newDeploymentId(): string {
  let digits = '';
  for (let i = 0; i < 19; i++) digits += String(randomInt(i === 0 ? 1 : 0, 10));
  return `ecs-svc/${digits}`;
}

export function newDeployment(taskDefinition: string, now: number): DeploymentRecord {
  return {
    id: newDeploymentId(),
    status: 'PRIMARY',
    taskDefinition,
    createdAt: now,
    updatedAt: now,
    failedTasks: 0,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: 'ECS deployment ecs-svc in progress.',
  };
}

/** The event ECS writes when a service's task fits on no container instance. */
function unplacedMessage(name: string, placed: PlacedStarts): string | undefined {
  const prefix = `${name} was unable to place a task because no container instance met all of its requirements.`;
  if (placed.noActiveInstance)
    return `${prefix} Reason: No Container Instances were found in your cluster.`;
  const closest = placed.failures[0];
  if (!closest) return undefined;
  const what: Record<string, string> = {
    'RESOURCE:CPU': 'has insufficient CPU units available',
    'RESOURCE:MEMORY': 'has insufficient memory available',
    'RESOURCE:PORTS': 'is already using a port required by your task',
    'RESOURCE:PORTS_UDP': 'is already using a port required by your task',
  };
  const detail = what[closest.reason];
  if (!detail) return `${prefix} Reason: ${closest.reason}.`;
  return `${prefix} The closest matching (container-instance ${closest.instance.id}) ${detail}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`;
}

export function addEvent(s: ServiceRecord, message: string, now: number): void {
  s.events.unshift({ id: randomUUID(), createdAt: now, message });
  if (s.events.length > MAX_EVENTS) s.events.length = MAX_EVENTS;
}

export class ServiceScheduler {
  private timer: NodeJS.Timeout | undefined;
  private readonly queued = new Set<string>();
  private running: Promise<void> = Promise.resolve();
  private readonly counted = new BoundedSet<string>(10_000);
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    opts.tasks.onChange((t) => {
      if (!t.service) return;
      if (t.report.lastStatus === 'STOPPED') void this.countFailure(t);
      this.kick(serviceKey(t, t.cluster, t.service));
    });
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.passAll(), PASS_INTERVAL_MS);
    this.timer.unref();
    void this.passAll();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Schedules a pass over one service (serialized with every other pass). */
  kick(key: string): void {
    if (this.queued.has(key) || this.stopped) return;
    this.queued.add(key);
    this.running = this.running.then(async () => {
      this.queued.delete(key);
      await this.pass(key).catch((err: unknown) =>
        this.opts.log(`ecs: service pass failed for ${key}: ${String(err)}`),
      );
    });
  }

  /** Schedules a pass over every service of a cluster (its instances changed). */
  async kickCluster(scope: Scope, cluster: string): Promise<void> {
    const rows = await this.opts.store.list<ServiceRecord>(T.services, {
      prefix: `${clusterKey(scope, cluster)}:`,
    });
    for (const r of rows) if (r.value.status !== 'INACTIVE') this.kick(r.key);
  }

  private async passAll(): Promise<void> {
    const rows = await this.opts.store.list<ServiceRecord>(T.services).catch(() => []);
    for (const r of rows) if (r.value.status !== 'INACTIVE') this.kick(r.key);
  }

  /** The LB hooks of a service's tasks. */
  hooks(s: ServiceRecord) {
    const registry = this.opts.loadBalancing;
    if (!registry || s.loadBalancers.length === 0) return undefined;
    const lbs = s.loadBalancers;
    return {
      activate: async (report: TaskReport) => {
        for (const lb of lbs) {
          const target = await this.target(registry, lb, report);
          if (target) await registry.register(lb.targetGroupArn, [target]);
        }
      },
      deactivate: async (report: TaskReport) => {
        await Promise.all(
          lbs.map(async (lb) => {
            const target = await this.target(registry, lb, report);
            if (target) await registry.deregister(lb.targetGroupArn, [target]);
          }),
        );
      },
    };
  }

  private async target(
    registry: TargetRegistry,
    lb: LoadBalancerRecord,
    report: TaskReport,
  ): Promise<Target | undefined> {
    if (report.privateIp) return { id: report.privateIp, port: lb.containerPort };
    const c = report.containers.find((x) => x.name === lb.containerName);
    const binding = c?.networkBindings.find((b) => b.containerPort === lb.containerPort);
    if (!binding) return undefined;
    const group = await registry.targetGroup(lb.targetGroupArn);
    return {
      id: group?.targetType === 'ip' ? '127.0.0.1' : LOCAL_INSTANCE_ID,
      port: binding.hostPort,
    };
  }

  private async countFailure(t: TaskRecord): Promise<void> {
    const key = `${t.cluster}:${t.taskId}`;
    if (this.counted.has(key) || !t.deploymentId) return;
    const code = t.report.stopCode;
    const failed =
      t.failedHealth ||
      code === 'TaskFailedToStart' ||
      (code === 'EssentialContainerExited' && t.report.times.stoppingAt !== undefined);
    if (!failed) return;
    // Only guards against a stopped task's repeated change events, which come at once:
    // bounded, so a service that fails for weeks does not keep every task it stopped.
    this.counted.add(key);
    await this.opts.store.transaction(async (tx) => {
      const s = await tx.get<ServiceRecord>(T.services, serviceKey(t, t.cluster, t.service!));
      const d = s?.deployments.find((x) => x.id === t.deploymentId);
      if (!s || !d) return;
      d.failedTasks++;
      await tx.put(T.services, serviceKey(t, t.cluster, s.name), s);
    });
  }

  private async pass(key: string): Promise<void> {
    const now = this.opts.now();
    const s = await this.opts.store.get<ServiceRecord>(T.services, key);
    if (!s || s.status === 'INACTIVE') return;
    const rows = await this.opts.store.list<TaskRecord>(T.tasks, {
      prefix: `${clusterKey(s, s.cluster)}:`,
    });
    const live = rows
      .map((r) => r.value)
      .filter(
        (t) =>
          t.service === s.name &&
          t.desiredStatus === 'RUNNING' &&
          t.report.lastStatus !== 'STOPPED',
      );
    const name = `(service ${s.name})`;
    // Tasks on an instance that is draining (or gone) are to be replaced.
    const instances = await loadInstances(this.opts.store, s, s.cluster);
    const active = new Set(
      instances.filter((i) => i.record.status === 'ACTIVE').map((i) => i.record.id),
    );
    const drained = (t: TaskRecord) =>
      t.placement !== undefined && !active.has(t.placement.instanceId);
    const stop = async (t: TaskRecord, reason: string, health = false) => {
      if (health) {
        await this.opts.store.transaction(async (tx) => {
          const k = `${clusterKey(t, t.cluster)}:${t.taskId}`;
          const r = await tx.get<TaskRecord>(T.tasks, k);
          if (r) await tx.put(T.tasks, k, { ...r, failedHealth: true });
        });
      }
      await this.opts.tasks.stop(t, t.cluster, t.taskId, 'ServiceSchedulerInitiated', reason);
      live.splice(live.indexOf(t), 1);
    };
    const stoppedIds: string[] = [];

    if (s.status === 'DRAINING') {
      for (const t of [...live]) await stop(t, 'Service is being deleted');
      if (live.length === 0) {
        s.status = 'INACTIVE';
        for (const d of s.deployments) d.status = 'INACTIVE';
        await this.save(s);
      }
      return;
    }

    // Target health per group, once per pass: a task behind a load balancer is healthy
    // only once its target is (so a roll never leaves the listener without targets).
    const groups = await this.targetHealth(s);
    const lbState = (t: TaskRecord) => this.targetStates(s, t, groups);

    // Health: container checks, then the target groups' once past the grace period.
    for (const t of [...live]) {
      if (t.report.lastStatus !== 'RUNNING') continue;
      if (t.report.healthStatus === 'UNHEALTHY') {
        await stop(t, 'Task failed container health checks', true);
        addEvent(s, `${name} (task ${t.taskId}) failed container health checks.`, now);
        stoppedIds.push(t.taskId);
        continue;
      }
      const started = t.report.times.startedAt ?? now;
      if (now - started < s.healthCheckGracePeriodSeconds * 1000) continue;
      const failedGroup = (await lbState(t)).find((x) => x.state === 'unhealthy')?.group;
      if (failedGroup) {
        await stop(t, `Task failed ELB health checks in (target-group ${failedGroup})`, true);
        addEvent(
          s,
          `${name} (port ${s.loadBalancers[0]?.containerPort}) is unhealthy in (target-group ${failedGroup}) due to (reason Health checks failed).`,
          now,
        );
        stoppedIds.push(t.taskId);
      }
    }

    const primary = s.deployments.find((d) => d.status === 'PRIMARY');
    if (!primary) return;
    const D = s.desiredCount;
    const maxTotal = Math.max(Math.floor((D * s.maximumPercent) / 100), D === 0 ? 0 : 1);
    const minHealthy = Math.ceil((D * s.minimumHealthyPercent) / 100);
    const lbHealthy = new Set<string>();
    for (const t of live)
      if ((await lbState(t)).every((x) => x.state === 'healthy')) lbHealthy.add(t.taskId);
    const healthy = (t: TaskRecord) =>
      t.report.lastStatus === 'RUNNING' &&
      t.report.healthStatus !== 'UNHEALTHY' &&
      lbHealthy.has(t.taskId);
    const mine = () => live.filter((t) => t.deploymentId === primary.id && !drained(t));
    const old = () => live.filter((t) => t.deploymentId !== primary.id || drained(t));

    // Circuit breaker.
    const threshold = Math.min(200, Math.max(3, Math.ceil(D / 2)));
    if (
      s.circuitBreaker.enable &&
      primary.rolloutState === 'IN_PROGRESS' &&
      primary.failedTasks >= threshold
    ) {
      primary.rolloutState = 'FAILED';
      primary.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
      primary.updatedAt = now;
      addEvent(
        s,
        `${name} (deployment ${primary.id}) deployment failed: tasks failed to start.`,
        now,
      );
      const previous = s.deployments.find((d) => d !== primary && d.rolloutState === 'COMPLETED');
      if (s.circuitBreaker.rollback && previous) {
        const rollback = newDeployment(previous.taskDefinition, now);
        primary.status = 'ACTIVE';
        s.deployments.unshift(rollback);
        s.taskDefinition = previous.taskDefinition;
        addEvent(s, `${name} rolling back to deployment ${rollback.id}.`, now);
      }
      await this.save(s);
      this.kick(key);
      return;
    }

    // Scale in the primary deployment beyond desiredCount (pending ones first).
    const excess = mine().length - D;
    if (excess > 0) {
      // Protected tasks are not scaled in (UpdateTaskProtection).
      const victims = mine()
        .filter((t) => !isProtected(t, now))
        .sort((a, b) => Number(healthy(a)) - Number(healthy(b)) || b.createdAt - a.createdAt)
        .slice(0, excess);
      for (const t of victims) {
        await stop(t, `Scaling activity initiated by (deployment ${primary.id})`);
        stoppedIds.push(t.taskId);
      }
    }

    // Start primary tasks within maximumPercent.
    const startedIds: string[] = [];
    if (primary.rolloutState !== 'FAILED') {
      const definition = await findTaskDefinition(this.opts.store, s, primary.taskDefinition);
      const wanted = Math.min(
        D - mine().length,
        Math.max(maxTotal, D - old().length) - live.length,
      );
      if (definition && wanted > 0) {
        const start = (placement: TaskPlacement | undefined) =>
          this.opts.tasks.start({
            scope: { account: s.account, region: s.region },
            cluster: s.cluster,
            definition,
            launchType: s.launchType,
            ...(s.platformVersion && { platformVersion: s.platformVersion }),
            overrides: {},
            group: `service:${s.name}`,
            startedBy: primary.id,
            tags: [],
            service: s.name,
            deploymentId: primary.id,
            hooks: this.hooks(s),
            ...(placement && { placement }),
          });
        let records: TaskRecord[] = [];
        if (s.launchType === 'FARGATE')
          for (let i = 0; i < wanted; i++) records.push(await start(undefined));
        else {
          const def = definition.definition;
          const placed = await placeAndStart(
            this.opts.store,
            this.opts.tasks.placementLock,
            s,
            s.cluster,
            needsOf(def, {}),
            `service:${s.name}`,
            {
              strategy: s.placement?.strategy.length
                ? s.placement.strategy
                : SERVICE_DEFAULT_STRATEGY,
              constraints: [
                ...(def.placementConstraints ?? []),
                ...(s.placement?.constraints ?? []),
              ],
            },
            wanted,
            start,
          );
          records = placed.started;
          const unplaced = unplacedMessage(name, placed);
          if (unplaced && s.events[0]?.message !== unplaced) addEvent(s, unplaced, now);
        }
        for (const record of records) {
          live.push(record);
          startedIds.push(record.taskId);
        }
      }
    }

    // Stop older deployments' tasks while enough healthy ones remain.
    for (const t of old().sort((a, b) => Number(healthy(a)) - Number(healthy(b)))) {
      if (isProtected(t, now)) continue;
      const healthyNow = live.filter(healthy).length;
      if (healthy(t) && healthyNow - 1 < minHealthy) break;
      await stop(t, `Scaling activity initiated by (deployment ${primary.id})`);
      stoppedIds.push(t.taskId);
    }

    if (startedIds.length)
      addEvent(
        s,
        `${name} has started ${startedIds.length} tasks: ${startedIds.map((id) => `(task ${id})`).join(' ')}.`,
        now,
      );
    if (stoppedIds.length)
      addEvent(
        s,
        `${name} has stopped ${stoppedIds.length} running tasks: ${stoppedIds.map((id) => `(task ${id})`).join(' ')}.`,
        now,
      );

    // Deployments whose tasks are all gone end; the primary completes once it is all there.
    const remaining = new Set(live.map((t) => t.deploymentId));
    const ended = s.deployments.filter((d) => d.status !== 'PRIMARY' && !remaining.has(d.id));
    s.deployments = s.deployments.filter((d) => d.status === 'PRIMARY' || remaining.has(d.id));
    if (ended.length)
      s.pastDeployments = [
        ...ended.map((d) => ({ ...d, status: 'INACTIVE' as const, finishedAt: now })),
        ...(s.pastDeployments ?? []),
      ].slice(0, MAX_PAST_DEPLOYMENTS);
    const settled =
      s.deployments.length === 1 &&
      old().length === 0 &&
      mine().length === D &&
      mine().every(healthy);
    if (settled && primary.rolloutState === 'IN_PROGRESS') {
      primary.rolloutState = 'COMPLETED';
      primary.rolloutStateReason = 'ECS deployment ecs-svc completed.';
      primary.updatedAt = now;
      addEvent(s, `${name} (deployment ${primary.id}) deployment completed.`, now);
    }
    if (settled && !s.steady) addEvent(s, `${name} has reached a steady state.`, now);
    s.steady = settled;
    await this.save(s);
  }

  /** Each target group's health reports (none without load balancers). */
  private async targetHealth(
    s: ServiceRecord,
  ): Promise<Map<string, readonly TargetHealthReport[]>> {
    const out = new Map<string, readonly TargetHealthReport[]>();
    const registry = this.opts.loadBalancing;
    if (!registry) return out;
    for (const lb of s.loadBalancers)
      out.set(lb.targetGroupArn, await registry.health(lb.targetGroupArn).catch(() => []));
    return out;
  }

  /** The task's target state in each of the service's target groups ('missing' when not registered). */
  private async targetStates(
    s: ServiceRecord,
    t: TaskRecord,
    groups: Map<string, readonly TargetHealthReport[]>,
  ): Promise<{ group: string; state: string }[]> {
    const registry = this.opts.loadBalancing;
    if (!registry) return [];
    const out: { group: string; state: string }[] = [];
    for (const lb of s.loadBalancers) {
      const target = await this.target(registry, lb, t.report);
      const report = target
        ? groups
            .get(lb.targetGroupArn)
            ?.find((h) => h.target.id === target.id && h.target.port === target.port)
        : undefined;
      out.push({ group: lb.targetGroupArn, state: report?.state ?? 'missing' });
    }
    return out;
  }

  private async save(s: ServiceRecord): Promise<void> {
    await this.opts.store.put(T.services, serviceKey(s, s.cluster, s.name), s);
  }

  /**
   * Runs an API change of a service between scheduler passes (passes read a service, act,
   * and write it back: a change in between would be lost).
   */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const result = this.running.then(fn);
    this.running = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
