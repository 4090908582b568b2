/**
 * What the REST API operation modules share: the deps, the API document's read and
 * read-modify-write, and AWS's exact "not found" messages.
 */
import { BadRequestException, NotFoundException } from '../../api/apigateway/errors.js';
import { pageArray } from '../../shared/paging.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import { type ApiRecord, apiKey, type ResourceRecord, type Scope, T } from './store.js';

export interface ApigwDeps {
  store: MetadataStore;
  now: () => number;
  /** The URL clients reach Stratus at (invoke URLs in exports). */
  endpoint(): string;
  /** Something a deployed API serves changed (stage, deployment, key, plan): drop caches. */
  changed(apiId?: string): void;
}

export const scopeOf = (ctx: RequestContext): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

/** AWS's messages name the account with the id: "Invalid API identifier specified 123456789012:abc". */
export const notFound = (what: string, scope: Scope, id: string): NotFoundException =>
  new NotFoundException(`Invalid ${what} identifier specified ${scope.account}:${id}`);

export async function getApi(ops: MetadataOps, scope: Scope, apiId: string): Promise<ApiRecord> {
  const api = await ops.get<ApiRecord>(T.apis, apiKey(scope, apiId));
  if (!api) throw notFound('API', scope, apiId);
  return api;
}

/** Reads the API, lets `fn` change it, writes it back: one transaction. */
export async function mutateApi<R>(
  deps: ApigwDeps,
  scope: Scope,
  apiId: string,
  fn: (api: ApiRecord, tx: MetadataOps) => R | Promise<R>,
): Promise<R> {
  return deps.store.transaction(async (tx) => {
    const api = await getApi(tx, scope, apiId);
    const out = await fn(api, tx);
    await tx.put(T.apis, apiKey(scope, apiId), api);
    return out;
  });
}

export function resourceOf(api: ApiRecord, scope: Scope, resourceId: string): ResourceRecord {
  const r = api.resources[resourceId];
  if (!r) throw new NotFoundException('Invalid Resource identifier specified');
  return r;
}

/** `/items/{id}`: the resource's full path from its ancestors' path parts. */
export function resourcePath(resources: Record<string, ResourceRecord>, id: string): string {
  const parts: string[] = [];
  let r: ResourceRecord | undefined = resources[id];
  while (r?.pathPart !== undefined) {
    parts.unshift(r.pathPart);
    r = r.parentId === undefined ? undefined : resources[r.parentId];
  }
  return `/${parts.join('/')}`;
}

export const toDate = (ms: number | undefined): Date | undefined =>
  ms === undefined ? undefined : new Date(ms);

/** Copies a JSON value (records go into deployments and out to callers unshared). */
export const clone = <V>(v: V): V => structuredClone(v);

/** AWS's page size for API Gateway listings is 25 by default, 500 at most. */
export function pageOf<V>(
  all: readonly V[],
  keyOf: (v: V) => string,
  position: string | undefined,
  limit: number | undefined,
): { items: V[]; position?: string } {
  const page = pageArray(all, keyOf, {
    marker: position,
    max: Math.min(Math.max(limit ?? 25, 1), 500),
    resume: 'after',
    invalid: () => new BadRequestException('Invalid position parameter'),
  });
  return { items: page.items, ...(page.next !== undefined && { position: page.next }) };
}
