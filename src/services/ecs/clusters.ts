/**
 * Clusters (create, describe with counts, list, settings, capacity providers, delete) and
 * the two capacity providers every account has, FARGATE and FARGATE_SPOT.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html
 */
import {
  ClusterContainsContainerInstancesException,
  ClusterContainsServicesException,
  ClusterContainsTasksException,
  ClusterNotFoundException,
  InvalidParameterException,
} from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { CapacityProvider, Cluster, ClusterSetting, Failure } from '../../api/ecs/types.js';
import { buildArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { clusterArn, findCluster, nameOf, scopeOf, type EcsDeps } from './common.js';
import { pageOf } from './task-definitions.js';
import {
  T,
  clusterKey,
  scopePrefix,
  type ClusterRecord,
  type ContainerInstanceRecord,
  type Scope,
  type ServiceRecord,
  type TaskRecord,
} from './store.js';

type ClusterOps = Pick<
  EcsOperations,
  | 'CreateCluster'
  | 'DescribeClusters'
  | 'ListClusters'
  | 'DeleteCluster'
  | 'UpdateCluster'
  | 'UpdateClusterSettings'
  | 'PutClusterCapacityProviders'
  | 'DescribeCapacityProviders'
>;

const BUILT_IN_PROVIDERS = ['FARGATE', 'FARGATE_SPOT'];
const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;

async function counts(ops: MetadataOps, c: ClusterRecord) {
  const prefix = `${clusterKey(c, c.name)}:`;
  const tasks = await ops.list<TaskRecord>(T.tasks, { prefix });
  const services = await ops.list<ServiceRecord>(T.services, { prefix });
  const instances = await ops.list<ContainerInstanceRecord>(T.containerInstances, { prefix });
  const status = (t: TaskRecord) => t.report.lastStatus;
  return {
    runningTasksCount: tasks.filter((t) => status(t.value) === 'RUNNING').length,
    pendingTasksCount: tasks.filter((t) =>
      ['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(status(t.value)),
    ).length,
    activeTasks: tasks.filter((t) => status(t.value) !== 'STOPPED').length,
    activeServicesCount: services.filter((s) => s.value.status === 'ACTIVE').length,
    registeredContainerInstancesCount: instances.filter((i) => i.value.status !== 'INACTIVE')
      .length,
  };
}

async function toCluster(ops: MetadataOps, c: ClusterRecord, include: string[]): Promise<Cluster> {
  const n = c.status === 'ACTIVE' ? await counts(ops, c) : undefined;
  return {
    clusterArn: clusterArn(c, c.name),
    clusterName: c.name,
    status: c.status,
    registeredContainerInstancesCount: n?.registeredContainerInstancesCount ?? 0,
    runningTasksCount: n?.runningTasksCount ?? 0,
    pendingTasksCount: n?.pendingTasksCount ?? 0,
    activeServicesCount: n?.activeServicesCount ?? 0,
    statistics: [],
    tags: include.includes('TAGS') ? c.tags : [],
    settings: include.includes('SETTINGS') ? (c.settings as ClusterSetting[]) : [],
    capacityProviders: c.capacityProviders,
    defaultCapacityProviderStrategy: c.defaultCapacityProviderStrategy,
  };
}

function checkProviders(providers: string[]): void {
  for (const p of providers)
    if (!BUILT_IN_PROVIDERS.includes(p))
      throw new InvalidParameterException(
        `The specified capacity provider '${p}' is not in an ACTIVE state. Specify a valid capacity provider and try again.`,
      );
}

export function clusterOperations(deps: EcsDeps): ClusterOps {
  const get = async (scope: Scope, ref: string | undefined) => findCluster(deps.store, scope, ref);
  const put = (c: ClusterRecord) => deps.store.put(T.clusters, clusterKey(c, c.name), c);

  return {
    async CreateCluster(input, ctx) {
      const scope = scopeOf(ctx);
      const name = input.clusterName ?? 'default';
      if (!NAME_RE.test(name))
        throw new InvalidParameterException(
          'Cluster name can contain up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.',
        );
      const providers = input.capacityProviders ?? [];
      checkProviders(providers);
      const strategy = (input.defaultCapacityProviderStrategy ?? []).map((s) => ({
        capacityProvider: s.capacityProvider,
        weight: s.weight ?? 0,
        base: s.base ?? 0,
      }));
      for (const s of strategy)
        if (!providers.includes(s.capacityProvider))
          throw new InvalidParameterException(
            `The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.`,
          );
      const record = await deps.store.transaction(async (tx) => {
        const existing = await tx.get<ClusterRecord>(T.clusters, clusterKey(scope, name));
        // CreateCluster of an existing ACTIVE cluster returns it (idempotent, as on AWS).
        if (existing?.status === 'ACTIVE') return existing;
        const c: ClusterRecord = {
          ...scope,
          name,
          status: 'ACTIVE',
          createdAt: deps.now(),
          tags: input.tags ?? [],
          settings: (input.settings ?? []).map((s) => ({
            name: s.name ?? '',
            value: s.value ?? '',
          })),
          capacityProviders: providers,
          defaultCapacityProviderStrategy: strategy,
        };
        await tx.put(T.clusters, clusterKey(scope, name), c);
        return c;
      });
      return { cluster: await toCluster(deps.store, record, ['TAGS', 'SETTINGS']) };
    },

    async DescribeClusters(input, ctx) {
      const scope = scopeOf(ctx);
      const refs = input.clusters?.length ? input.clusters : ['default'];
      const clusters: Cluster[] = [];
      const failures: Failure[] = [];
      for (const ref of refs) {
        const name = nameOf(ref, 'cluster');
        const c = await deps.store.get<ClusterRecord>(T.clusters, clusterKey(scope, name));
        if (!c) failures.push({ arn: clusterArn(scope, name), reason: 'MISSING' });
        else clusters.push(await toCluster(deps.store, c, input.include ?? []));
      }
      return { clusters, failures };
    },

    async ListClusters(input, ctx) {
      const scope = scopeOf(ctx);
      const rows = await deps.store.list<ClusterRecord>(T.clusters, { prefix: scopePrefix(scope) });
      const arns = rows
        .filter((r) => r.value.status === 'ACTIVE')
        .map((r) => clusterArn(scope, r.value.name));
      const page = pageOf(arns, input.nextToken, input.maxResults);
      return { clusterArns: page.items, ...(page.next && { nextToken: page.next }) };
    },

    async DeleteCluster(input, ctx) {
      const scope = scopeOf(ctx);
      const record = await deps.store.transaction(async (tx) => {
        const c = await findCluster(tx, scope, input.cluster);
        const n = await counts(tx, c);
        if (n.activeServicesCount > 0)
          throw new ClusterContainsServicesException(
            'The Cluster cannot be deleted while Services are active.',
          );
        if (n.registeredContainerInstancesCount > 0)
          throw new ClusterContainsContainerInstancesException(
            'The Cluster cannot be deleted while Container Instances are active or draining.',
          );
        if (n.activeTasks > 0)
          throw new ClusterContainsTasksException(
            'The Cluster cannot be deleted while Tasks are active.',
          );
        c.status = 'INACTIVE';
        await tx.put(T.clusters, clusterKey(scope, c.name), c);
        return c;
      });
      return { cluster: await toCluster(deps.store, record, []) };
    },

    async UpdateCluster(input, ctx) {
      const c = await get(scopeOf(ctx), input.cluster);
      if (input.settings)
        c.settings = input.settings.map((s) => ({ name: s.name ?? '', value: s.value ?? '' }));
      await put(c);
      return { cluster: await toCluster(deps.store, c, ['SETTINGS']) };
    },

    async UpdateClusterSettings(input, ctx) {
      const c = await get(scopeOf(ctx), input.cluster);
      const settings = new Map(c.settings.map((s) => [s.name, s.value]));
      for (const s of input.settings) settings.set(s.name ?? '', s.value ?? '');
      c.settings = [...settings].map(([name, value]) => ({ name, value }));
      await put(c);
      return { cluster: await toCluster(deps.store, c, ['SETTINGS']) };
    },

    async PutClusterCapacityProviders(input, ctx) {
      const c = await get(scopeOf(ctx), input.cluster);
      checkProviders(input.capacityProviders);
      c.capacityProviders = input.capacityProviders;
      c.defaultCapacityProviderStrategy = input.defaultCapacityProviderStrategy.map((s) => ({
        capacityProvider: s.capacityProvider,
        weight: s.weight ?? 0,
        base: s.base ?? 0,
      }));
      await put(c);
      return { cluster: await toCluster(deps.store, c, []) };
    },

    async DescribeCapacityProviders(input, ctx) {
      const scope = scopeOf(ctx);
      const wanted = input.capacityProviders?.length ? input.capacityProviders : BUILT_IN_PROVIDERS;
      const capacityProviders: CapacityProvider[] = [];
      const failures: Failure[] = [];
      for (const ref of wanted) {
        const name = nameOf(ref, 'capacity-provider');
        if (!BUILT_IN_PROVIDERS.includes(name)) {
          failures.push({
            arn: buildArn('ecs', scope.region, scope.account, `capacity-provider/${name}`),
            reason: 'MISSING',
          });
          continue;
        }
        capacityProviders.push({
          capacityProviderArn: buildArn(
            'ecs',
            scope.region,
            scope.account,
            `capacity-provider/${name}`,
          ),
          name,
          status: 'ACTIVE',
          tags: [],
        });
      }
      return { capacityProviders, failures };
    },
  };
}

/** Thrown where a cluster must exist and be ACTIVE (kept for modules that check by name). */
export function clusterNotFound(): ClusterNotFoundException {
  return new ClusterNotFoundException('Cluster not found.');
}
