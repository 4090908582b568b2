/**
 * Tasks: RunTask, StopTask, DescribeTasks, ListTasks. Tasks run as real containers
 * through the task core (task-manager.ts); these operations read and write its records.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
 */
import { ClientException, InvalidParameterException } from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { Failure, Task, TaskOverride } from '../../api/ecs/types.js';
import {
  clusterArn,
  containerArn,
  containerInstanceArn,
  findCluster,
  findTaskDefinition,
  nameOf,
  scopeOf,
  taskArn,
  toDate,
  type EcsDeps,
} from './common.js';
import { checkFargateSize } from './fargate.js';
import {
  checkPlacement,
  loadInstances,
  needsOf,
  placeAndStart,
  placeTask,
  placementOf,
} from './placement.js';
import { pageOf } from './task-definitions.js';
import {
  T,
  clusterKey,
  instanceKey,
  taskKey,
  type ClusterRecord,
  type TaskDefinitionRecord,
  type TaskRecord,
} from './store.js';

type TaskOps = Pick<
  EcsOperations,
  'RunTask' | 'StartTask' | 'StopTask' | 'DescribeTasks' | 'ListTasks'
>;

export function toTask(r: TaskRecord): Task {
  const arn = taskArn(r, r.cluster, r.taskId);
  const report = r.report;
  const t = report.times;
  const awsvpc = report.privateIp !== undefined || r.launchType === 'FARGATE';
  const attachmentId = r.containerIds[Object.keys(r.containerIds)[0] ?? ''] ?? r.taskId;
  return {
    attachments: awsvpc
      ? [
          {
            id: attachmentId,
            type: 'ElasticNetworkInterface',
            status:
              report.lastStatus === 'STOPPED'
                ? 'DELETED'
                : report.privateIp
                  ? 'ATTACHED'
                  : 'PRECREATED',
            details: report.privateIp
              ? [{ name: 'privateIPv4Address', value: report.privateIp }]
              : [],
          },
        ]
      : [],
    availabilityZone: r.placement?.availabilityZone ?? `${r.region}a`,
    ...(r.capacityProviderName && { capacityProviderName: r.capacityProviderName }),
    clusterArn: clusterArn(r, r.cluster),
    ...(r.placement && {
      containerInstanceArn: containerInstanceArn(r, r.cluster, r.placement.instanceId),
    }),
    ...(t.connectivityAt !== undefined && {
      connectivity: 'CONNECTED' as const,
      connectivityAt: toDate(t.connectivityAt),
    }),
    containers: report.containers.map((c) => ({
      containerArn: containerArn(r, r.cluster, r.taskId, r.containerIds[c.name] ?? ''),
      taskArn: arn,
      name: c.name,
      image: r.images[c.name],
      ...(c.imageDigest && { imageDigest: c.imageDigest }),
      ...(c.runtimeId && { runtimeId: c.runtimeId }),
      lastStatus: c.lastStatus,
      ...(c.exitCode !== undefined && { exitCode: c.exitCode }),
      ...(c.reason && { reason: c.reason }),
      networkBindings: c.networkBindings,
      networkInterfaces:
        awsvpc && report.privateIp ? [{ attachmentId, privateIpv4Address: report.privateIp }] : [],
      healthStatus: c.healthStatus,
    })),
    ...(r.cpu && { cpu: r.cpu }),
    ...(r.memory && { memory: r.memory }),
    createdAt: toDate(r.createdAt),
    desiredStatus: r.desiredStatus,
    enableExecuteCommand: false,
    ...(r.group && { group: r.group }),
    healthStatus: report.healthStatus,
    lastStatus: report.lastStatus,
    launchType: r.launchType,
    overrides: { containerOverrides: [], ...r.overrides },
    ...(r.platformVersion && { platformVersion: r.platformVersion, platformFamily: 'Linux' }),
    ...(t.pullStartedAt !== undefined && { pullStartedAt: toDate(t.pullStartedAt) }),
    ...(t.pullStoppedAt !== undefined && { pullStoppedAt: toDate(t.pullStoppedAt) }),
    ...(t.startedAt !== undefined && { startedAt: toDate(t.startedAt) }),
    ...(r.startedBy && { startedBy: r.startedBy }),
    ...(report.stopCode && { stopCode: report.stopCode }),
    ...(t.stoppedAt !== undefined && { stoppedAt: toDate(t.stoppedAt) }),
    ...(report.stoppedReason && { stoppedReason: report.stoppedReason }),
    ...(t.stoppingAt !== undefined && { stoppingAt: toDate(t.stoppingAt) }),
    ...(t.executionStoppedAt !== undefined && {
      executionStoppedAt: toDate(t.executionStoppedAt),
    }),
    tags: r.tags,
    taskArn: arn,
    taskDefinitionArn: r.taskDefinitionArn,
    version: r.version,
  };
}

/** Launch type from RunTask's launchType, capacity provider strategy, or the cluster's default. */
export function launchTypeOf(
  cluster: ClusterRecord,
  launchType: string | undefined,
  strategy: { capacityProvider?: string }[] | undefined,
): { launchType: 'FARGATE' | 'EC2'; capacityProviderName?: string } {
  if (launchType && strategy?.length)
    throw new InvalidParameterException(
      'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
    );
  if (launchType === 'FARGATE' || launchType === 'EC2') return { launchType };
  if (launchType)
    throw new InvalidParameterException(`Launch type ${launchType} is not supported by Stratus.`);
  const provider =
    strategy?.[0]?.capacityProvider ?? cluster.defaultCapacityProviderStrategy[0]?.capacityProvider;
  if (provider === 'FARGATE' || provider === 'FARGATE_SPOT')
    return { launchType: 'FARGATE', capacityProviderName: provider };
  if (provider)
    throw new InvalidParameterException(
      `The specified capacity provider ${provider} was not found.`,
    );
  return { launchType: 'EC2' };
}

function checkOverrides(definition: TaskDefinitionRecord, overrides: TaskOverride): void {
  for (const o of overrides.containerOverrides ?? [])
    if (!definition.definition.containerDefinitions?.some((c) => c.name === o.name))
      throw new InvalidParameterException(
        `Override for container named ${o.name} is not a container in the TaskDefinition.`,
      );
}

export function taskOperations(deps: EcsDeps): TaskOps {
  return {
    async RunTask(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const definition = await findTaskDefinition(deps.store, scope, input.taskDefinition);
      if (!definition) throw new InvalidParameterException('TaskDefinition not found.');
      const count = input.count ?? 1;
      if (count < 1 || count > 10)
        throw new InvalidParameterException('count must be between 1 and 10.');
      const { launchType, capacityProviderName } = launchTypeOf(
        cluster,
        input.launchType,
        input.capacityProviderStrategy,
      );
      const def = definition.definition;
      const overrides = input.overrides ?? {};
      if (launchType === 'FARGATE') {
        if (!def.compatibilities?.includes('FARGATE'))
          throw new InvalidParameterException(
            'Task definition does not support launch_type FARGATE.',
          );
        checkFargateSize(overrides.cpu ?? def.cpu, overrides.memory ?? def.memory);
      }
      const awsvpc = launchType === 'FARGATE' || def.networkMode === 'awsvpc';
      if (awsvpc && !input.networkConfiguration?.awsvpcConfiguration)
        throw new InvalidParameterException(
          "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        );
      checkOverrides(definition, overrides);
      const group = input.group ?? `family:${def.family}`;
      const start = (placement: TaskRecord['placement']) =>
        deps.tasks.start({
          scope,
          cluster: cluster.name,
          definition,
          launchType,
          ...(capacityProviderName && { capacityProviderName }),
          ...(input.platformVersion && { platformVersion: input.platformVersion }),
          overrides,
          group,
          ...(input.startedBy && { startedBy: input.startedBy }),
          tags: input.tags ?? [],
          ...(placement && { placement }),
        });
      const settings = checkPlacement(
        input.placementStrategy,
        [...(def.placementConstraints ?? []), ...(input.placementConstraints ?? [])],
        launchType,
      );
      if (launchType === 'FARGATE') {
        const tasks: Task[] = [];
        for (let i = 0; i < count; i++) tasks.push(toTask(await start(undefined)));
        return { tasks, failures: [] };
      }
      const placed = await placeAndStart(
        deps.store,
        deps.tasks.placementLock,
        scope,
        cluster.name,
        needsOf(def, overrides),
        group,
        settings,
        count,
        start,
      );
      if (placed.noActiveInstance)
        throw new InvalidParameterException('No Container Instances were found in your cluster.');
      return {
        tasks: placed.started.map(toTask),
        failures: placed.failures.map((f) => ({
          arn: containerInstanceArn(f.instance, f.instance.cluster, f.instance.id),
          reason: f.reason,
        })),
      };
    },

    /**
     * StartTask: one task on each named container instance, no strategy; the instance must
     * still have what the task needs.
     * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StartTask.html
     */
    async StartTask(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const definition = await findTaskDefinition(deps.store, scope, input.taskDefinition);
      if (!definition) throw new InvalidParameterException('TaskDefinition not found.');
      if (input.containerInstances.length < 1 || input.containerInstances.length > 10)
        throw new InvalidParameterException(
          'containerInstances must contain between 1 and 10 container instances.',
        );
      const def = definition.definition;
      const overrides = input.overrides ?? {};
      checkOverrides(definition, overrides);
      if (def.networkMode === 'awsvpc' && !input.networkConfiguration?.awsvpcConfiguration)
        throw new InvalidParameterException(
          "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        );
      const needs = needsOf(def, overrides);
      const group = input.group ?? `family:${def.family}`;
      return deps.tasks.placementLock.run(async () => {
        const instances = await loadInstances(deps.store, scope, cluster.name);
        const tasks: Task[] = [];
        const failures: Failure[] = [];
        for (const ref of input.containerInstances) {
          const id = nameOf(ref, 'container-instance');
          const arn = containerInstanceArn(scope, cluster.name, id);
          const state = instances.find((i) => i.record.id === id);
          if (!state) {
            failures.push({ arn, reason: 'MISSING' });
            continue;
          }
          if (state.record.status !== 'ACTIVE') {
            failures.push({ arn, reason: state.record.status });
            continue;
          }
          const result = placeTask([state], needs, group, { strategy: [], constraints: [] });
          if ('failures' in result) {
            failures.push(...result.failures.map((f) => ({ arn, reason: f.reason })));
            continue;
          }
          const placement = placementOf(state, needs);
          const record = await deps.tasks.start({
            scope,
            cluster: cluster.name,
            definition,
            launchType: 'EC2',
            overrides,
            group,
            ...(input.startedBy && { startedBy: input.startedBy }),
            tags: input.tags ?? [],
            placement,
          });
          state.tasks.push({ group, placement, lastStatus: 'PROVISIONING' });
          tasks.push(toTask(record));
        }
        return { tasks, failures };
      });
    },

    async StopTask(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const id = nameOf(input.task, 'task');
      const record = await deps.tasks.stop(
        scope,
        cluster.name,
        id,
        'UserInitiated',
        input.reason ?? 'Task stopped by user',
      );
      if (!record) throw new InvalidParameterException('The referenced task was not found.');
      return { task: toTask(record) };
    },

    async DescribeTasks(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.tasks.length > 100)
        throw new InvalidParameterException('Tasks cannot have more than 100 elements');
      const tasks: Task[] = [];
      const failures: Failure[] = [];
      for (const ref of input.tasks) {
        const id = nameOf(ref, 'task');
        const record = await deps.store.get<TaskRecord>(T.tasks, taskKey(scope, cluster.name, id));
        if (!record) {
          failures.push({
            arn: ref.startsWith('arn:') ? ref : taskArn(scope, cluster.name, id),
            reason: 'MISSING',
          });
          continue;
        }
        const task = toTask(record);
        if (!input.include?.includes('TAGS')) delete task.tags;
        tasks.push(task);
      }
      return { tasks, failures };
    },

    async ListTasks(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.serviceName && input.family)
        throw new InvalidParameterException(
          'Family and serviceName filters may not be specified together.',
        );
      const desired = input.desiredStatus ?? 'RUNNING';
      const service = input.serviceName ? nameOf(input.serviceName, 'service') : undefined;
      const instance = input.containerInstance
        ? nameOf(input.containerInstance, 'container-instance')
        : undefined;
      if (
        instance &&
        !(await deps.store.get(T.containerInstances, instanceKey(scope, cluster.name, instance)))
      )
        throw new ClientException('The referenced container instance was not found.');
      const rows = await deps.store.list<TaskRecord>(T.tasks, {
        prefix: `${clusterKey(scope, cluster.name)}:`,
      });
      const arns = rows
        .map((r) => r.value)
        .filter((t) => t.desiredStatus === desired)
        .filter((t) => !service || t.service === service)
        .filter(
          (t) =>
            !input.family ||
            nameOf(t.taskDefinitionArn, 'task-definition').split(':')[0] === input.family,
        )
        .filter((t) => !input.startedBy || t.startedBy === input.startedBy)
        .filter((t) => !input.launchType || t.launchType === input.launchType)
        .filter((t) => !instance || t.placement?.instanceId === instance)
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((t) => taskArn(t, t.cluster, t.taskId));
      const page = pageOf(arns, input.nextToken, input.maxResults);
      return { taskArns: page.items, ...(page.next && { nextToken: page.next }) };
    },
  };
}
