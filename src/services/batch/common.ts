/**
 * What Batch's operation modules share: their dependencies, ARNs, AWS's error shape
 * (every Batch client error is a ClientException with a message), resource lookups by name
 * or ARN, and paging tokens.
 */
import { ClientException } from '../../api/batch/errors.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import type { JobEngine } from './engine.js';
import {
  T,
  definitionKey,
  resourceKey,
  scopePrefix,
  type DefinitionRecord,
  type EnvironmentRecord,
  type PolicyRecord,
  type QueueRecord,
  type Scope,
} from './store.js';

export interface BatchDeps {
  store: MetadataStore;
  engine: JobEngine;
  now(): number;
}

export const scopeOf = (ctx: Pick<RequestContext, 'account' | 'region'>): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

export const clientError = (message: string): ClientException => new ClientException(message);

export type ResourceKind =
  'compute-environment' | 'job-queue' | 'scheduling-policy' | 'job-definition' | 'job';

export const arnOf = (scope: Scope, kind: ResourceKind, name: string): string =>
  buildArn('batch', scope.region, scope.account, `${kind}/${name}`);

/** Letters, digits, hyphens and underscores, 1 to 128, starting with a letter or digit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function checkName(what: string, name: string): void {
  if (!NAME.test(name)) {
    throw clientError(
      `${what} name should not be empty, should be at most 128 characters and contain only letters, numbers, hyphens and underscores`,
    );
  }
}

/** The name a `name or ARN` parameter of `kind` means in this scope; undefined: another scope. */
export function nameFrom(scope: Scope, kind: ResourceKind, ref: string): string | undefined {
  if (!ref.startsWith('arn:')) return ref;
  const arn = parseArn(ref);
  if (arn?.service !== 'batch' || !arn.resource.startsWith(`${kind}/`)) return undefined;
  if (arn.account !== scope.account || arn.region !== scope.region) return undefined;
  return arn.resource.slice(kind.length + 1);
}

export async function findEnvironment(
  ops: MetadataOps,
  scope: Scope,
  ref: string,
): Promise<EnvironmentRecord | undefined> {
  const name = nameFrom(scope, 'compute-environment', ref);
  return name === undefined
    ? undefined
    : ops.get<EnvironmentRecord>(T.environments, resourceKey(scope, name));
}

export async function findQueue(
  ops: MetadataOps,
  scope: Scope,
  ref: string,
): Promise<QueueRecord | undefined> {
  const name = nameFrom(scope, 'job-queue', ref);
  return name === undefined ? undefined : ops.get<QueueRecord>(T.queues, resourceKey(scope, name));
}

export async function findPolicy(
  ops: MetadataOps,
  scope: Scope,
  ref: string,
): Promise<PolicyRecord | undefined> {
  const name = nameFrom(scope, 'scheduling-policy', ref);
  return name === undefined
    ? undefined
    : ops.get<PolicyRecord>(T.policies, resourceKey(scope, name));
}

/**
 * A job definition by `name` (its latest ACTIVE revision), `name:revision` or ARN
 * (`…:job-definition/name:revision`).
 */
export async function findDefinition(
  ops: MetadataOps,
  scope: Scope,
  ref: string,
): Promise<DefinitionRecord | undefined> {
  const spec = nameFrom(scope, 'job-definition', ref);
  if (spec === undefined) return undefined;
  const colon = spec.lastIndexOf(':');
  if (colon < 0) {
    const revisions = await ops.list<DefinitionRecord>(T.definitions, {
      prefix: `${resourceKey(scope, spec)}/`,
      reverse: true,
    });
    return revisions.find((r) => r.value.status === 'ACTIVE')?.value;
  }
  const revision = Number(spec.slice(colon + 1));
  if (!Number.isInteger(revision) || revision < 1) return undefined;
  return ops.get<DefinitionRecord>(
    T.definitions,
    definitionKey(scope, spec.slice(0, colon), revision),
  );
}

/** Page size: Batch's maxResults is 1 to 100 (1,000 for ListJobs), default 100. */
export function pageSize(maxResults: number | undefined, max = 100): number {
  if (maxResults === undefined || maxResults <= 0) return max;
  return Math.min(maxResults, max);
}

export const invalidToken = (): ClientException => clientError('Invalid nextToken');

/** A JSON paging token (shared/paging.ts), refused with Batch's error when not ours. */
export function readToken<V>(
  token: string | undefined,
  valid: (v: unknown) => v is V,
): V | undefined {
  if (token === undefined) return undefined;
  const value = decodeToken(token);
  if (!valid(value)) throw invalidToken();
  return value;
}

/**
 * Describe* of compute environments and job queues: the named ones when names or ARNs are
 * given (unknown ones left out, as AWS does), else every resource of the scope in name
 * order, paged.
 */
export async function describeResources<R, D>(
  store: MetadataStore,
  table: string,
  scope: Scope,
  input: { maxResults?: number; nextToken?: string },
  view: (r: R) => D,
  named: {
    refs: readonly string[] | undefined;
    find: (ops: MetadataOps, scope: Scope, ref: string) => Promise<R | undefined>;
  },
): Promise<{ items: D[]; nextToken?: string }> {
  if (named.refs && named.refs.length > 0) {
    const items: D[] = [];
    for (const ref of named.refs) {
      const found = await named.find(store, scope, ref);
      if (found) items.push(view(found));
    }
    return { items };
  }
  return pageResources(store, table, scope, input, view);
}

/** Every resource of the scope, in name order, paged. */
async function pageResources<R, D>(
  store: MetadataStore,
  table: string,
  scope: Scope,
  input: { maxResults?: number; nextToken?: string },
  view: (r: R) => D,
): Promise<{ items: D[]; nextToken?: string }> {
  const after = readToken(input.nextToken, (v): v is string => typeof v === 'string');
  const prefix = scopePrefix(scope);
  if (after !== undefined && !after.startsWith(prefix)) throw clientError('Invalid nextToken');
  const max = pageSize(input.maxResults);
  const rows = await store.list<R>(table, { prefix, after, limit: max + 1 });
  const page = rows.slice(0, max);
  return {
    items: page.map((r) => view(r.value)),
    nextToken: rows.length > max ? encodeToken(page[page.length - 1].key) : undefined,
  };
}

export { encodeToken };
