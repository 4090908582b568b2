/**
 * A service's deployment history: ListServiceDeployments, DescribeServiceDeployments and
 * DescribeServiceRevisions, read from the deployments the scheduler records (the live ones
 * in `deployments`, those that ended in `pastDeployments`). Each deployment has one target
 * revision; the revision's number is the deployment id's.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html
 *
 * The revision carries the service's launch type, load balancers and network
 * configuration as they are now (Stratus keeps only the task definition per deployment).
 */
import { InvalidParameterException, ServiceNotFoundException } from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type {
  Failure,
  ServiceDeployment,
  ServiceDeploymentBrief,
  ServiceDeploymentStatus,
  ServiceRevision,
} from '../../api/ecs/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import {
  clusterArn,
  findCluster,
  nameOf,
  scopeOf,
  serviceArn,
  toDate,
  type EcsDeps,
} from './common.js';
import { pageOf } from './task-definitions.js';
import {
  T,
  clusterKey,
  serviceKey,
  type DeploymentRecord,
  type Scope,
  type ServiceRecord,
  type TaskRecord,
} from './store.js';

type DeploymentOps = Pick<
  EcsOperations,
  'ListServiceDeployments' | 'DescribeServiceDeployments' | 'DescribeServiceRevisions'
>;

/** `ecs-svc/1234…` → `1234…` */
const numberOf = (d: DeploymentRecord): string => d.id.split('/').at(-1) ?? d.id;

const deploymentArn = (s: ServiceRecord, d: DeploymentRecord): string =>
  buildArn('ecs', s.region, s.account, `service-deployment/${s.cluster}/${s.name}/${numberOf(d)}`);
const revisionArn = (s: ServiceRecord, d: DeploymentRecord): string =>
  buildArn('ecs', s.region, s.account, `service-revision/${s.cluster}/${s.name}/${numberOf(d)}`);

/** Every deployment of the service, newest first, and whether it still has tasks. */
function history(s: ServiceRecord): { d: DeploymentRecord; live: boolean }[] {
  return [
    ...s.deployments.map((d) => ({ d, live: true })),
    ...(s.pastDeployments ?? []).map((d) => ({ d, live: false })),
  ].sort((a, b) => b.d.createdAt - a.d.createdAt);
}

function statusOf(s: ServiceRecord, d: DeploymentRecord, live: boolean): ServiceDeploymentStatus {
  if (d.rolloutState === 'COMPLETED') return 'SUCCESSFUL';
  if (d.rolloutState === 'FAILED') {
    if (!s.circuitBreaker.rollback) return 'STOPPED';
    return live ? 'ROLLBACK_IN_PROGRESS' : 'ROLLBACK_SUCCESSFUL';
  }
  // In progress while it is the service's primary; replaced before it completed otherwise.
  return d.status === 'PRIMARY' ? 'IN_PROGRESS' : 'STOPPED';
}

function brief(s: ServiceRecord, d: DeploymentRecord, live: boolean): ServiceDeploymentBrief {
  const status = statusOf(s, d, live);
  const finished = status !== 'IN_PROGRESS' && status !== 'ROLLBACK_IN_PROGRESS';
  return {
    serviceDeploymentArn: deploymentArn(s, d),
    serviceArn: serviceArn(s, s.cluster, s.name),
    clusterArn: clusterArn(s, s.cluster),
    createdAt: toDate(d.createdAt),
    startedAt: toDate(d.createdAt),
    ...(finished && {
      finishedAt: toDate(
        d.rolloutState === 'IN_PROGRESS' ? (d.finishedAt ?? d.updatedAt) : d.updatedAt,
      ),
    }),
    targetServiceRevisionArn: revisionArn(s, d),
    status,
    statusReason: d.rolloutStateReason,
  };
}

/** The service, deployment number and kind an ARN `<kind>/<cluster>/<service>/<n>` names. */
async function resolve(
  deps: EcsDeps,
  scope: Scope,
  arn: string,
  kind: string,
): Promise<{ s: ServiceRecord; d: DeploymentRecord; live: boolean } | undefined> {
  const parsed = parseArn(arn);
  const [k, cluster, service, n] = parsed?.resource.split('/') ?? [];
  if (k !== kind || !cluster || !service || !n) return undefined;
  const s = await deps.store.get<ServiceRecord>(T.services, serviceKey(scope, cluster, service));
  const found = s && history(s).find((h) => numberOf(h.d) === n);
  return s && found ? { s, ...found } : undefined;
}

export function serviceDeploymentOperations(deps: EcsDeps): DeploymentOps {
  return {
    async ListServiceDeployments(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const s = await deps.store.get<ServiceRecord>(
        T.services,
        serviceKey(scope, cluster.name, nameOf(input.service, 'service')),
      );
      if (!s) throw new ServiceNotFoundException('Service not found.');
      const after = input.createdAt?.after?.getTime();
      const before = input.createdAt?.before?.getTime();
      const items = history(s)
        .map((h) => brief(s, h.d, h.live))
        .filter((b) => !input.status?.length || input.status.includes(b.status!))
        .filter((b) => after === undefined || b.createdAt!.getTime() >= after)
        .filter((b) => before === undefined || b.createdAt!.getTime() <= before);
      const page = pageOf(items, input.nextToken, input.maxResults);
      return { serviceDeployments: page.items, ...(page.next && { nextToken: page.next }) };
    },

    async DescribeServiceDeployments(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.serviceDeploymentArns.length > 20)
        throw new InvalidParameterException(
          'serviceDeploymentArns cannot have more than 20 elements',
        );
      const serviceDeployments: ServiceDeployment[] = [];
      const failures: Failure[] = [];
      for (const arn of input.serviceDeploymentArns) {
        const found = await resolve(deps, scope, arn, 'service-deployment');
        if (!found) {
          failures.push({ arn, reason: 'MISSING' });
          continue;
        }
        const { s, d, live } = found;
        const b = brief(s, d, live);
        const tasks = (
          await deps.store.list<TaskRecord>(T.tasks, { prefix: `${clusterKey(s, s.cluster)}:` })
        )
          .map((r) => r.value)
          .filter((t) => t.service === s.name && t.report.lastStatus !== 'STOPPED');
        const summary = (x: DeploymentRecord, requested: number) => {
          const mine = tasks.filter((t) => t.deploymentId === x.id);
          return {
            arn: revisionArn(s, x),
            requestedTaskCount: requested,
            runningTaskCount: mine.filter((t) => t.report.lastStatus === 'RUNNING').length,
            pendingTaskCount: mine.filter((t) => t.report.lastStatus !== 'RUNNING').length,
          };
        };
        const all = history(s);
        const previous = all[all.findIndex((h) => h.d.id === d.id) + 1];
        const threshold = Math.min(200, Math.max(3, Math.ceil(s.desiredCount / 2)));
        serviceDeployments.push({
          ...b,
          updatedAt: toDate(d.updatedAt),
          sourceServiceRevisions: previous ? [summary(previous.d, 0)] : [],
          targetServiceRevision: summary(d, d.status === 'PRIMARY' ? s.desiredCount : 0),
          deploymentConfiguration: {
            deploymentCircuitBreaker: s.circuitBreaker,
            maximumPercent: s.maximumPercent,
            minimumHealthyPercent: s.minimumHealthyPercent,
          },
          deploymentCircuitBreaker: s.circuitBreaker.enable
            ? {
                status:
                  d.rolloutState === 'FAILED'
                    ? 'TRIGGERED'
                    : live
                      ? 'MONITORING'
                      : 'MONITORING_COMPLETE',
                failureCount: d.failedTasks,
                threshold,
              }
            : { status: 'DISABLED', failureCount: d.failedTasks, threshold },
        });
      }
      return { serviceDeployments, failures };
    },

    async DescribeServiceRevisions(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.serviceRevisionArns.length > 20)
        throw new InvalidParameterException(
          'serviceRevisionArns cannot have more than 20 elements',
        );
      const serviceRevisions: ServiceRevision[] = [];
      const failures: Failure[] = [];
      for (const arn of input.serviceRevisionArns) {
        const found = await resolve(deps, scope, arn, 'service-revision');
        if (!found) {
          failures.push({ arn, reason: 'MISSING' });
          continue;
        }
        const { s, d } = found;
        serviceRevisions.push({
          serviceRevisionArn: revisionArn(s, d),
          serviceArn: serviceArn(s, s.cluster, s.name),
          clusterArn: clusterArn(s, s.cluster),
          taskDefinition: d.taskDefinition,
          launchType: s.launchType,
          ...(s.platformVersion && { platformVersion: s.platformVersion, platformFamily: 'Linux' }),
          loadBalancers: s.loadBalancers,
          serviceRegistries: [],
          ...(s.networkConfiguration !== undefined && {
            networkConfiguration: s.networkConfiguration as ServiceRevision['networkConfiguration'],
          }),
          containerImages: [],
          guardDutyEnabled: false,
          createdAt: toDate(d.createdAt),
        });
      }
      return { serviceRevisions, failures };
    },
  };
}
