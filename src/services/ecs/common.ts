/**
 * What every ECS API module shares: its dependencies, ARNs, and the lookups of clusters
 * and task definitions by the names, family:revision forms and ARNs ECS accepts.
 */
import { ClientException, ClusterNotFoundException } from '../../api/ecs/errors.js';
import type { Tag } from '../../api/ecs/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import type { EcsTasks } from './task-manager.js';
import type { ServiceScheduler } from './scheduler.js';
import {
  T,
  clusterKey,
  familyPrefix,
  revisionKey,
  type ClusterRecord,
  type Scope,
  type TaskDefinitionRecord,
} from './store.js';

export interface EcsDeps {
  store: MetadataStore;
  tasks: EcsTasks;
  scheduler: ServiceScheduler;
  now(): number;
}

export const scopeOf = (ctx: RequestContext): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

export const clusterArn = (s: Scope, name: string): string =>
  buildArn('ecs', s.region, s.account, `cluster/${name}`);
export const taskArn = (s: Scope, cluster: string, id: string): string =>
  buildArn('ecs', s.region, s.account, `task/${cluster}/${id}`);
export const serviceArn = (s: Scope, cluster: string, name: string): string =>
  buildArn('ecs', s.region, s.account, `service/${cluster}/${name}`);
export const taskDefinitionArn = (s: Scope, family: string, revision: number): string =>
  buildArn('ecs', s.region, s.account, `task-definition/${family}:${revision}`);
export const containerInstanceArn = (s: Scope, cluster: string, id: string): string =>
  buildArn('ecs', s.region, s.account, `container-instance/${cluster}/${id}`);
export const containerArn = (s: Scope, cluster: string, taskId: string, id: string): string =>
  buildArn('ecs', s.region, s.account, `container/${cluster}/${taskId}/${id}`);

/** The last part of a `<kind>/…/<name>` ARN, or the name itself. */
export function nameOf(nameOrArn: string, kind: string): string {
  const arn = parseArn(nameOrArn);
  if (!arn) return nameOrArn;
  const [k, ...rest] = arn.resource.split('/');
  return k === kind ? (rest.at(-1) ?? '') : nameOrArn;
}

/** The cluster a request names (default `default`), ACTIVE, or ClusterNotFoundException. */
export async function findCluster(
  ops: MetadataOps,
  scope: Scope,
  cluster: string | undefined,
): Promise<ClusterRecord> {
  const name = nameOf(cluster ?? 'default', 'cluster');
  const record = await ops.get<ClusterRecord>(T.clusters, clusterKey(scope, name));
  if (!record || record.status !== 'ACTIVE')
    throw new ClusterNotFoundException('Cluster not found.');
  return record;
}

/**
 * A task definition by `family` (its latest ACTIVE revision), `family:revision` or ARN.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html
 */
export async function findTaskDefinition(
  ops: MetadataOps,
  scope: Scope,
  ref: string,
): Promise<TaskDefinitionRecord | undefined> {
  let text = ref;
  const arn = parseArn(ref);
  if (arn) {
    if (!arn.resource.startsWith('task-definition/')) return undefined;
    text = arn.resource.slice('task-definition/'.length);
  }
  const [family, rev] = text.split(':');
  if (!family) return undefined;
  if (rev !== undefined) {
    const n = Number(rev);
    if (!Number.isInteger(n) || n < 1) return undefined;
    return ops.get<TaskDefinitionRecord>(T.taskDefinitions, revisionKey(scope, family, n));
  }
  const all = await ops.list<TaskDefinitionRecord>(T.taskDefinitions, {
    prefix: familyPrefix(scope, family),
    reverse: true,
  });
  return all.find((i) => i.value.definition.status === 'ACTIVE')?.value;
}

/** ECS's refusal of a task definition reference that names nothing. */
export function taskDefinitionNotFound(): ClientException {
  return new ClientException('Unable to describe task definition.');
}

export function mergeTags(current: Tag[], added: Tag[]): Tag[] {
  const out = new Map(current.map((t) => [t.key ?? '', t]));
  for (const t of added) out.set(t.key ?? '', t);
  return [...out.values()];
}

export const toDate = (ms: number | undefined): Date | undefined =>
  ms === undefined ? undefined : new Date(ms);
