/**
 * Published versions: immutable snapshots of $LATEST's code and configuration, numbered
 * from 1. PublishVersion when nothing changed since the last version returns that version
 * instead of a new one, as AWS does.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  FunctionConfiguration,
  ListVersionsByFunctionRequest,
  ListVersionsByFunctionResponse,
  PublishVersionRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, qualifiedArn } from './arns.js';
import {
  locate,
  newRevisionId,
  pageStore,
  requireFunction,
  requireLatest,
  type LambdaDeps,
  type Located,
} from './common.js';
import { configurationOf, LISTED, versionCodeSha256 } from './config-view.js';
import { lambdaDate } from './dates.js';
import { invalidParameter, revisionMismatch } from './errors.js';
import {
  T,
  childPrefix,
  retainVersionCode,
  versionKey,
  type FunctionRecord,
  type VersionRecord,
} from './store.js';

export const CREATING = {
  reason: 'The function is being created.',
  code: 'Creating',
} as const;

/** The highest published version that still exists. */
async function lastPublished(ops: MetadataOps, key: string): Promise<VersionRecord | undefined> {
  const rows = await ops.list<VersionRecord>(T.versions, {
    prefix: childPrefix(key),
    reverse: true,
    limit: 1,
  });
  const v = rows[0]?.value;
  return v && v.version !== LATEST ? v : undefined;
}

/**
 * Publishes $LATEST inside the caller's transaction (writes the version, the function's
 * next number and $LATEST's new revision). Returns the last version instead when $LATEST
 * has not changed since it was published.
 */
export async function publishInTx(
  tx: MetadataOps,
  at: Located,
  fn: FunctionRecord,
  latest: VersionRecord,
  now: number,
  description?: string,
): Promise<VersionRecord> {
  const last = await lastPublished(tx, at.key);
  if (last && last.contentId === latest.contentId) return last;
  const version: VersionRecord = {
    ...structuredClone(latest),
    version: String(fn.nextVersion),
    description: description ?? latest.description,
    lastModified: lambdaDate(now),
    revisionId: newRevisionId(),
    state: 'Pending',
    stateReason: CREATING.reason,
    stateReasonCode: CREATING.code,
  };
  // Published versions carry no update status; only $LATEST is ever updated.
  delete version.lastUpdateStatus;
  delete version.lastUpdateStatusReason;
  delete version.lastUpdateStatusReasonCode;
  fn.nextVersion++;
  latest.revisionId = newRevisionId();
  await tx.put(T.versions, versionKey(at.key, version.version), version);
  await tx.put(T.versions, versionKey(at.key, LATEST), latest);
  await tx.put(T.functions, at.key, fn);
  await retainVersionCode(tx, version);
  return version;
}

type VersionOps = Pick<LambdaOperations, 'PublishVersion' | 'ListVersionsByFunction'>;

export function versionOperations(deps: LambdaDeps): VersionOps {
  const { store } = deps;
  return {
    async PublishVersion(
      input: PublishVersionRequest,
      ctx: RequestContext,
    ): Promise<FunctionConfiguration> {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'PublishVersion',
        allowQualifier: false,
      });
      const version = await store.transaction(async (tx) => {
        const fn = await requireFunction(tx, at);
        const latest = await requireLatest(tx, at);
        if (input.RevisionId !== undefined && input.RevisionId !== latest.revisionId) {
          throw revisionMismatch();
        }
        const current = versionCodeSha256(latest);
        if (input.CodeSha256 !== undefined && input.CodeSha256 !== current) {
          throw invalidParameter(
            `CodeSHA256 (${input.CodeSha256}) is different from current CodeSHA256 in $LATEST (${current}). Please try again with the CodeSHA256 in $LATEST.`,
          );
        }
        return publishInTx(tx, at, fn, latest, deps.now(), input.Description);
      });
      deps.lifecycle.settle(at.scope, at.name);
      deps.lifecycle.changed('updated', at.scope, at.name);
      return configurationOf(
        at.scope,
        at.name,
        version,
        qualifiedArn(at.scope, at.name, version.version),
        {
          state: true,
          updateStatus: false,
        },
      );
    },

    async ListVersionsByFunction(
      input: ListVersionsByFunctionRequest,
      ctx: RequestContext,
    ): Promise<ListVersionsByFunctionResponse> {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'ListVersionsByFunction',
        allowQualifier: false,
      });
      await requireFunction(store, at);
      const page = await pageStore<VersionRecord>(
        store,
        T.versions,
        childPrefix(at.key),
        input.Marker,
        input.MaxItems,
      );
      const out: ListVersionsByFunctionResponse = {
        Versions: page.items.map(({ value }) =>
          configurationOf(
            at.scope,
            at.name,
            value,
            qualifiedArn(at.scope, at.name, value.version),
            LISTED,
          ),
        ),
      };
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },
  };
}
