/**
 * Services: create, describe, list, update (desired count, task definition, deployment
 * configuration: a new task definition or forceNewDeployment starts a deployment), delete
 * (scaled to 0 first, or `force`). The scheduler (scheduler.ts) does the running.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
 */
import {
  InvalidParameterException,
  ServiceNotActiveException,
  ServiceNotFoundException,
} from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { Failure, Service } from '../../api/ecs/types.js';
import type { TargetRegistry } from '../elbv2/targets.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  clusterArn,
  findCluster,
  findTaskDefinition,
  nameOf,
  scopeOf,
  serviceArn,
  toDate,
  type EcsDeps,
} from './common.js';
import { checkFargateSize } from './fargate.js';
import { checkPlacement } from './placement.js';
import { addEvent, newDeployment } from './scheduler.js';
import { pageOf } from './task-definitions.js';
import { launchTypeOf } from './tasks.js';
import {
  T,
  clusterKey,
  serviceKey,
  type LoadBalancerRecord,
  type Scope,
  type ServiceRecord,
  type TaskDefinitionRecord,
  type TaskRecord,
} from './store.js';

type ServiceOps = Pick<
  EcsOperations,
  'CreateService' | 'DescribeServices' | 'ListServices' | 'UpdateService' | 'DeleteService'
>;

const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;

export interface ServiceDeps extends EcsDeps {
  loadBalancing: TargetRegistry | undefined;
}

async function toService(ops: MetadataOps, s: ServiceRecord): Promise<Service> {
  const rows = await ops.list<TaskRecord>(T.tasks, { prefix: `${clusterKey(s, s.cluster)}:` });
  const tasks = rows
    .map((r) => r.value)
    .filter((t) => t.service === s.name && t.report.lastStatus !== 'STOPPED');
  const running = (ts: TaskRecord[]) => ts.filter((t) => t.report.lastStatus === 'RUNNING').length;
  const pending = (ts: TaskRecord[]) =>
    ts.filter((t) => ['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(t.report.lastStatus))
      .length;
  const td = (arn: string) => arn;
  return {
    serviceArn: serviceArn(s, s.cluster, s.name),
    serviceName: s.name,
    clusterArn: clusterArn(s, s.cluster),
    loadBalancers: s.loadBalancers,
    serviceRegistries: [],
    status: s.status,
    desiredCount: s.desiredCount,
    runningCount: running(tasks),
    pendingCount: pending(tasks),
    launchType: s.launchType,
    ...(s.platformVersion && { platformVersion: s.platformVersion, platformFamily: 'Linux' }),
    taskDefinition: td(s.taskDefinition),
    deploymentConfiguration: {
      deploymentCircuitBreaker: s.circuitBreaker,
      maximumPercent: s.maximumPercent,
      minimumHealthyPercent: s.minimumHealthyPercent,
    },
    deployments: s.deployments.map((d) => {
      const mine = tasks.filter((t) => t.deploymentId === d.id);
      return {
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition,
        desiredCount: d.status === 'PRIMARY' ? s.desiredCount : 0,
        pendingCount: pending(mine),
        runningCount: running(mine),
        failedTasks: d.failedTasks,
        createdAt: toDate(d.createdAt),
        updatedAt: toDate(d.updatedAt),
        launchType: s.launchType,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
      };
    }),
    events: s.events.map((e) => ({ id: e.id, createdAt: toDate(e.createdAt), message: e.message })),
    createdAt: toDate(s.createdAt),
    placementConstraints: s.placement?.constraints ?? [],
    placementStrategy: s.placement?.strategy ?? [],
    healthCheckGracePeriodSeconds: s.healthCheckGracePeriodSeconds,
    schedulingStrategy: 'REPLICA',
    deploymentController: { type: 'ECS' },
    createdBy: `arn:aws:iam::${s.account}:root`,
    enableECSManagedTags: false,
    propagateTags: 'NONE',
    enableExecuteCommand: false,
  };
}

async function checkLoadBalancers(
  deps: ServiceDeps,
  lbs: LoadBalancerRecord[],
  definition: TaskDefinitionRecord,
  launchType: string,
): Promise<void> {
  if (lbs.length === 0) return;
  const registry = deps.loadBalancing;
  const def = definition.definition;
  const awsvpc = launchType === 'FARGATE' || def.networkMode === 'awsvpc';
  for (const lb of lbs) {
    const group = await registry?.targetGroup(lb.targetGroupArn);
    if (!group)
      throw new InvalidParameterException(
        'Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.',
      );
    if (group.loadBalancerArns.length === 0)
      throw new InvalidParameterException(
        `The target group with targetGroupArn ${lb.targetGroupArn} does not have an associated load balancer.`,
      );
    if (awsvpc && group.targetType !== 'ip')
      throw new InvalidParameterException(
        `The provided target group ${lb.targetGroupArn} has target type ${group.targetType}, which is incompatible with the awsvpc network mode specified in the task definition.`,
      );
    const container = def.containerDefinitions?.find((c) => c.name === lb.containerName);
    if (!container)
      throw new InvalidParameterException(
        `The container ${lb.containerName} does not exist in the task definition.`,
      );
    if (!container.portMappings?.some((p) => p.containerPort === lb.containerPort))
      throw new InvalidParameterException(
        `The container ${lb.containerName} did not have a container port ${lb.containerPort} defined.`,
      );
  }
}

async function findService(
  ops: MetadataOps,
  scope: Scope,
  cluster: string,
  ref: string,
): Promise<ServiceRecord> {
  const s = await ops.get<ServiceRecord>(
    T.services,
    serviceKey(scope, cluster, nameOf(ref, 'service')),
  );
  if (!s) throw new ServiceNotFoundException('Service not found.');
  return s;
}

export function serviceOperations(deps: ServiceDeps): ServiceOps {
  const save = (s: ServiceRecord) =>
    deps.store.put(T.services, serviceKey(s, s.cluster, s.name), s);

  return {
    async CreateService(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (!NAME_RE.test(input.serviceName))
        throw new InvalidParameterException(
          'Service name can contain up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.',
        );
      if (!input.taskDefinition)
        throw new InvalidParameterException('TaskDefinition must be specified.');
      const definition = await findTaskDefinition(deps.store, scope, input.taskDefinition);
      if (!definition) throw new InvalidParameterException('TaskDefinition not found.');
      const { launchType } = launchTypeOf(
        cluster,
        input.launchType,
        input.capacityProviderStrategy,
      );
      const def = definition.definition;
      if (launchType === 'FARGATE') {
        if (!def.compatibilities?.includes('FARGATE'))
          throw new InvalidParameterException(
            'Task definition does not support launch_type FARGATE.',
          );
        checkFargateSize(def.cpu, def.memory);
      }
      if (
        (launchType === 'FARGATE' || def.networkMode === 'awsvpc') &&
        !input.networkConfiguration?.awsvpcConfiguration
      )
        throw new InvalidParameterException(
          "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        );
      const lbs: LoadBalancerRecord[] = (input.loadBalancers ?? []).map((lb) => ({
        targetGroupArn: lb.targetGroupArn ?? '',
        containerName: lb.containerName ?? '',
        containerPort: lb.containerPort ?? 0,
      }));
      await checkLoadBalancers(deps, lbs, definition, launchType);
      const placement = checkPlacement(
        input.placementStrategy,
        input.placementConstraints,
        launchType,
      );
      const dc = input.deploymentConfiguration ?? {};
      const now = deps.now();
      const desiredCount = input.desiredCount ?? 0;
      const record = await deps.scheduler.exclusive(() =>
        deps.store.transaction(async (tx) => {
          const key = serviceKey(scope, cluster.name, input.serviceName);
          const existing = await tx.get<ServiceRecord>(T.services, key);
          if (existing && existing.status !== 'INACTIVE')
            throw new InvalidParameterException('Creation of service was not idempotent.');
          const s: ServiceRecord = {
            ...scope,
            name: input.serviceName,
            cluster: cluster.name,
            status: 'ACTIVE',
            taskDefinition: def.taskDefinitionArn!,
            desiredCount,
            launchType,
            ...(input.platformVersion && { platformVersion: input.platformVersion }),
            ...(launchType === 'FARGATE' && { platformVersion: input.platformVersion ?? 'LATEST' }),
            minimumHealthyPercent: dc.minimumHealthyPercent ?? 100,
            maximumPercent: dc.maximumPercent ?? 200,
            circuitBreaker: dc.deploymentCircuitBreaker ?? { enable: false, rollback: false },
            loadBalancers: lbs,
            ...(input.networkConfiguration && { networkConfiguration: input.networkConfiguration }),
            healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds ?? 0,
            deployments: [newDeployment(def.taskDefinitionArn!, now)],
            events: [],
            tags: input.tags ?? [],
            createdAt: now,
            steady: false,
            ...((placement.strategy.length || placement.constraints.length) && { placement }),
          };
          await tx.put(T.services, key, s);
          return s;
        }),
      );
      deps.scheduler.kick(serviceKey(scope, cluster.name, record.name));
      return { service: await toService(deps.store, record) };
    },

    async DescribeServices(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.services.length > 10)
        throw new InvalidParameterException('services cannot have more than 10 elements');
      const services: Service[] = [];
      const failures: Failure[] = [];
      for (const ref of input.services) {
        const name = nameOf(ref, 'service');
        const s = await deps.store.get<ServiceRecord>(
          T.services,
          serviceKey(scope, cluster.name, name),
        );
        if (!s) failures.push({ arn: serviceArn(scope, cluster.name, name), reason: 'MISSING' });
        else {
          const out = await toService(deps.store, s);
          if (input.include?.includes('TAGS')) out.tags = s.tags;
          services.push(out);
        }
      }
      return { services, failures };
    },

    async ListServices(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const rows = await deps.store.list<ServiceRecord>(T.services, {
        prefix: `${clusterKey(scope, cluster.name)}:`,
      });
      const arns = rows
        .map((r) => r.value)
        .filter((s) => s.status !== 'INACTIVE')
        .filter((s) => !input.launchType || s.launchType === input.launchType)
        .map((s) => serviceArn(s, s.cluster, s.name));
      const page = pageOf(arns, input.nextToken, input.maxResults);
      return { serviceArns: page.items, ...(page.next && { nextToken: page.next }) };
    },

    async UpdateService(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      let definition: TaskDefinitionRecord | undefined;
      if (input.taskDefinition) {
        definition = await findTaskDefinition(deps.store, scope, input.taskDefinition);
        if (!definition) throw new InvalidParameterException('TaskDefinition not found.');
      }
      const record = await deps.scheduler.exclusive(async () => {
        const s = await findService(deps.store, scope, cluster.name, input.service);
        if (s.status !== 'ACTIVE') throw new ServiceNotActiveException('Service was not ACTIVE.');
        const now = deps.now();
        if (input.desiredCount !== undefined) s.desiredCount = input.desiredCount;
        const dc = input.deploymentConfiguration;
        if (dc?.minimumHealthyPercent !== undefined)
          s.minimumHealthyPercent = dc.minimumHealthyPercent;
        if (dc?.maximumPercent !== undefined) s.maximumPercent = dc.maximumPercent;
        if (dc?.deploymentCircuitBreaker) s.circuitBreaker = dc.deploymentCircuitBreaker;
        if (input.healthCheckGracePeriodSeconds !== undefined)
          s.healthCheckGracePeriodSeconds = input.healthCheckGracePeriodSeconds;
        if (input.placementStrategy || input.placementConstraints) {
          const placement = checkPlacement(
            input.placementStrategy ?? s.placement?.strategy,
            input.placementConstraints ?? s.placement?.constraints,
            s.launchType,
          );
          s.placement = placement;
        }
        if (input.loadBalancers) {
          const lbs = input.loadBalancers.map((lb) => ({
            targetGroupArn: lb.targetGroupArn ?? '',
            containerName: lb.containerName ?? '',
            containerPort: lb.containerPort ?? 0,
          }));
          const td = definition ?? (await findTaskDefinition(deps.store, scope, s.taskDefinition));
          if (td) await checkLoadBalancers(deps, lbs, td, s.launchType);
          s.loadBalancers = lbs;
        }
        const newDefinition =
          definition && definition.definition.taskDefinitionArn !== s.taskDefinition;
        if (newDefinition || input.forceNewDeployment || input.loadBalancers) {
          if (definition) {
            const def = definition.definition;
            if (s.launchType === 'FARGATE') checkFargateSize(def.cpu, def.memory);
            s.taskDefinition = def.taskDefinitionArn!;
          }
          for (const d of s.deployments) if (d.status === 'PRIMARY') d.status = 'ACTIVE';
          s.deployments.unshift(newDeployment(s.taskDefinition, now));
          s.steady = false;
        }
        await save(s);
        return s;
      });
      deps.scheduler.kick(serviceKey(scope, cluster.name, record.name));
      return { service: await toService(deps.store, record) };
    },

    async DeleteService(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const record = await deps.scheduler.exclusive(async () => {
        const s = await findService(deps.store, scope, cluster.name, input.service);
        if (s.status !== 'ACTIVE') throw new ServiceNotActiveException('Service was not ACTIVE.');
        if (s.desiredCount > 0 && !input.force)
          throw new InvalidParameterException(
            'The service cannot be stopped while it is scaled above 0.',
          );
        s.status = 'DRAINING';
        s.desiredCount = 0;
        addEvent(s, `(service ${s.name}) has begun draining.`, deps.now());
        await save(s);
        return s;
      });
      deps.scheduler.kick(serviceKey(scope, cluster.name, record.name));
      return { service: await toService(deps.store, record) };
    },
  };
}
