/**
 * What every Lambda operation module shares: its dependencies, the lookups of functions,
 * versions and aliases inside a transaction (with AWS's not-found messages), and paging.
 */
import * as paging from '../../shared/paging.js';
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import type { IamDirectory } from '../iam/directory.js';
import type { S3ObjectSource } from '../s3/plugin.js';
import {
  LATEST,
  arnFor,
  functionArn,
  isVersionNumber,
  qualifiedArn,
  resolveFunctionRef,
  type ResolveOptions,
  type Scope,
} from './arns.js';
import type { CodeStore } from './code-store.js';
import type { FunctionImages } from './image-code.js';
import { functionNotFound, invalidParameter } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import {
  T,
  functionKey,
  qualifierKey,
  versionKey,
  type AliasRecord,
  type CodeRefRecord,
  type FunctionRecord,
  type VersionRecord,
} from './store.js';

export interface LambdaDeps {
  store: MetadataStore;
  code: CodeStore;
  iam: IamDirectory;
  /** ECR's images, for PackageType Image functions. */
  images: FunctionImages;
  lifecycle: Lifecycle;
  /** Where clients reach Stratus (code download URLs, function URLs), no trailing slash. */
  endpoint(): string;
  now(): number;
  /** Account concurrency limit per region (AWS default 1,000). */
  concurrencyLimit: number;
  /** Deployment packages from S3 (Code.S3Bucket/S3Key, layer Content.S3Bucket/S3Key). */
  s3: S3ObjectSource;
}

export const newRevisionId = (): string => randomUUID();

export const scopeOf = (ctx: Pick<RequestContext, 'account' | 'region'>): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

/** A function located by name or ARN, with the qualifier the caller gave (if any). */
export interface Located {
  scope: Scope;
  name: string;
  qualifier?: string;
  key: string;
}

export function locate(
  ctx: Pick<RequestContext, 'account' | 'region' | 'principal'>,
  functionName: string,
  qualifier: string | undefined,
  options: ResolveOptions,
): Located {
  const ref = resolveFunctionRef(ctx, functionName, qualifier, options);
  return { ...ref, key: functionKey(ref.scope, ref.name) };
}

/** The function row, or AWS's "Function not found: <arn>" (qualified when asked so). */
export async function requireFunction(
  ops: MetadataOps,
  at: Located,
  qualifierForMessage?: string,
): Promise<FunctionRecord> {
  const fn = await ops.get<FunctionRecord>(T.functions, at.key);
  if (!fn) throw functionNotFound(arnFor(at.scope, at.name, qualifierForMessage));
  return fn;
}

export const getLatest = (ops: MetadataOps, key: string): Promise<VersionRecord | undefined> =>
  ops.get<VersionRecord>(T.versions, versionKey(key, LATEST));

export async function requireLatest(ops: MetadataOps, at: Located): Promise<VersionRecord> {
  const v = await getLatest(ops, at.key);
  if (!v) throw functionNotFound(functionArn(at.scope, at.name));
  return v;
}

export interface Target {
  version: VersionRecord;
  /** Set when the qualifier named an alias. */
  alias?: AliasRecord;
}

/**
 * What a qualifier designates: `$LATEST` (or none), a published version, or an alias (and
 * through it the alias's primary version). Missing → "Function not found: <qualified arn>".
 */
export async function resolveTarget(
  ops: MetadataOps,
  at: Located,
  qualifier: string | undefined,
): Promise<Target> {
  const q = qualifier ?? LATEST;
  const missing = () => functionNotFound(arnFor(at.scope, at.name, qualifier));
  if (q === LATEST || isVersionNumber(q)) {
    const version = await ops.get<VersionRecord>(T.versions, versionKey(at.key, q));
    if (!version) throw missing();
    return { version };
  }
  const alias = await ops.get<AliasRecord>(T.aliases, qualifierKey(at.key, q));
  if (!alias) throw missing();
  const version = await ops.get<VersionRecord>(
    T.versions,
    versionKey(at.key, alias.functionVersion),
  );
  if (!version) throw missing();
  return { version, alias };
}

/** The ARN GetFunction & co. show for a target: as qualified as the caller's reference. */
export function shownArn(at: Located, qualifier: string | undefined): string {
  return qualifier === undefined
    ? functionArn(at.scope, at.name)
    : qualifiedArn(at.scope, at.name, qualifier);
}

/** Whether a qualifier names something that exists (the version, the alias). */
export async function qualifierExists(
  ops: MetadataOps,
  key: string,
  qualifier: string,
): Promise<boolean> {
  if (qualifier === LATEST || isVersionNumber(qualifier)) {
    return (await ops.get(T.versions, versionKey(key, qualifier))) !== undefined;
  }
  return (await ops.get(T.aliases, qualifierKey(key, qualifier))) !== undefined;
}

export const codeStillUsed =
  (store: MetadataStore) =>
  async (sha: string): Promise<boolean> =>
    (await store.get<CodeRefRecord>(T.codeRefs, sha)) !== undefined;

// ---------------------------------------------------------------------------------------
// Paging: Marker / NextMarker over shared/paging.ts.

export const DEFAULT_MAX_ITEMS = 50;

export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

const invalidMarker = (marker: string) => (): Error =>
  invalidParameter('Invalid marker: ' + marker);

/** Pages a store listing under `prefix`, keeping only the values `keep` accepts. */
export async function pageStore<V>(
  ops: MetadataOps,
  table: string,
  prefix: string,
  marker: string | undefined,
  maxItems: number | undefined,
  keep?: (value: V, key: string) => boolean,
): Promise<Page<{ key: string; value: V }>> {
  const page = await paging.pageStore<V>(ops, table, {
    prefix,
    marker: marker || undefined,
    max: maxItems ?? DEFAULT_MAX_ITEMS,
    keep,
    invalid: invalidMarker(marker ?? ''),
  });
  return page.next === undefined
    ? { items: page.items }
    : { items: page.items, nextMarker: page.next };
}

/** Pages an in-memory list already in its final order; the marker names the last item. */
export function pageArray<V>(
  all: readonly V[],
  keyOf: (v: V) => string,
  marker: string | undefined,
  maxItems: number | undefined,
): Page<V> {
  const page = paging.pageArray(all, keyOf, {
    marker: marker || undefined,
    max: maxItems ?? DEFAULT_MAX_ITEMS,
    resume: 'exact',
    invalid: invalidMarker(marker ?? ''),
  });
  return page.next === undefined
    ? { items: page.items }
    : { items: page.items, nextMarker: page.next };
}

/** Blob members arrive as Buffers from the codec; typed Uint8Array by the model. */
export const asBuffer = (u: Uint8Array): Buffer =>
  Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
