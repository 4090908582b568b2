/**
 * Aliases: named pointers to a version, optionally splitting traffic with one more version
 * (RoutingConfig.AdditionalVersionWeights, weight 0–1 for the additional version).
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  AliasConfiguration,
  CreateAliasRequest,
  DeleteAliasRequest,
  GetAliasRequest,
  ListAliasesRequest,
  ListAliasesResponse,
  UpdateAliasRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, qualifiedArn, type Scope } from './arns.js';
import {
  locate,
  newRevisionId,
  pageStore,
  requireFunction,
  type LambdaDeps,
  type Located,
} from './common.js';
import {
  conflict,
  functionNotFound,
  invalidParameter,
  notFound,
  revisionMismatch,
} from './errors.js';
import {
  T,
  childPrefix,
  qualifierKey,
  versionKey,
  type AliasRecord,
  type UrlConfigRecord,
} from './store.js';

type AliasOps = Pick<
  LambdaOperations,
  'CreateAlias' | 'GetAlias' | 'UpdateAlias' | 'DeleteAlias' | 'ListAliases'
>;

export function aliasView(scope: Scope, functionName: string, a: AliasRecord): AliasConfiguration {
  const out: AliasConfiguration = {
    AliasArn: qualifiedArn(scope, functionName, a.name),
    Name: a.name,
    FunctionVersion: a.functionVersion,
    Description: a.description,
  };
  if (a.weights) out.RoutingConfig = { AdditionalVersionWeights: a.weights };
  out.RevisionId = a.revisionId;
  return out;
}

/** The weights to store (undefined for none), after AWS's checks. */
function checkRouting(
  primary: string,
  weights: Record<string, number> | undefined,
): Record<string, number> | undefined {
  if (!weights) return undefined;
  const entries = Object.entries(weights);
  if (entries.length === 0) return undefined;
  if (entries.length > 1) {
    throw invalidParameter('Number of items in AdditionalVersionWeights cannot be greater than 1');
  }
  if (primary === LATEST) {
    throw invalidParameter('$LATEST is not supported for an alias pointing to more than 1 version');
  }
  const [version] = entries[0];
  if (version === primary) {
    throw invalidParameter(
      `Invalid function version ${primary}. Function version ${primary} is already included in routing configuration.`,
    );
  }
  return weights;
}

/** The alias's versions must exist ("Function not found: <arn>:<version>"). */
async function requireVersions(tx: MetadataOps, at: Located, versions: string[]): Promise<void> {
  for (const v of versions) {
    if (v === '$LATEST.PUBLISHED') {
      throw invalidParameter(
        '$LATEST.PUBLISHED applies to functions on Lambda Managed Instances, which Stratus does not support yet.',
      );
    }
    if (!(await tx.get(T.versions, versionKey(at.key, v)))) {
      throw functionNotFound(qualifiedArn(at.scope, at.name, v));
    }
  }
}

const aliasMissing = (at: Located, name: string) =>
  notFound(`Cannot find alias arn: ${qualifiedArn(at.scope, at.name, name)}`);

export function aliasOperations(deps: LambdaDeps): AliasOps {
  const { store, lifecycle } = deps;
  const where = (ctx: RequestContext, functionName: string, action: string) =>
    locate(ctx, functionName, undefined, { action, allowQualifier: false });

  return {
    async CreateAlias(input: CreateAliasRequest, ctx: RequestContext): Promise<AliasConfiguration> {
      const at = where(ctx, input.FunctionName, 'CreateAlias');
      const weights = checkRouting(
        input.FunctionVersion,
        input.RoutingConfig?.AdditionalVersionWeights,
      );
      const alias = await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        await requireVersions(tx, at, [input.FunctionVersion, ...Object.keys(weights ?? {})]);
        const key = qualifierKey(at.key, input.Name);
        const alias: AliasRecord = {
          name: input.Name,
          functionVersion: input.FunctionVersion,
          description: input.Description ?? '',
          revisionId: newRevisionId(),
        };
        if (weights) alias.weights = weights;
        if (!(await tx.insert(T.aliases, key, alias))) {
          throw conflict(`Alias already exists: ${qualifiedArn(at.scope, at.name, input.Name)}`);
        }
        return alias;
      });
      lifecycle.changed('updated', at.scope, at.name);
      return aliasView(at.scope, at.name, alias);
    },

    async GetAlias(input: GetAliasRequest, ctx: RequestContext): Promise<AliasConfiguration> {
      const at = where(ctx, input.FunctionName, 'GetAlias');
      await requireFunction(store, at);
      const alias = await store.get<AliasRecord>(T.aliases, qualifierKey(at.key, input.Name));
      if (!alias) throw aliasMissing(at, input.Name);
      return aliasView(at.scope, at.name, alias);
    },

    async UpdateAlias(input: UpdateAliasRequest, ctx: RequestContext): Promise<AliasConfiguration> {
      const at = where(ctx, input.FunctionName, 'UpdateAlias');
      const alias = await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        const key = qualifierKey(at.key, input.Name);
        const alias = await tx.get<AliasRecord>(T.aliases, key);
        if (!alias) throw aliasMissing(at, input.Name);
        if (input.RevisionId !== undefined && input.RevisionId !== alias.revisionId) {
          throw revisionMismatch();
        }
        const primary = input.FunctionVersion ?? alias.functionVersion;
        const weights = input.RoutingConfig
          ? checkRouting(primary, input.RoutingConfig.AdditionalVersionWeights)
          : checkRouting(primary, alias.weights);
        await requireVersions(tx, at, [primary, ...Object.keys(weights ?? {})]);
        alias.functionVersion = primary;
        if (weights) alias.weights = weights;
        else delete alias.weights;
        if (input.Description !== undefined) alias.description = input.Description;
        alias.revisionId = newRevisionId();
        await tx.put(T.aliases, key, alias);
        return alias;
      });
      lifecycle.changed('updated', at.scope, at.name);
      return aliasView(at.scope, at.name, alias);
    },

    /** Idempotent: a missing alias is not an error. Its policy and configs go with it. */
    async DeleteAlias(input: DeleteAliasRequest, ctx: RequestContext): Promise<void> {
      const at = where(ctx, input.FunctionName, 'DeleteAlias');
      await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        const key = qualifierKey(at.key, input.Name);
        await tx.delete(T.aliases, key);
        await tx.delete(T.policies, key);
        await tx.delete(T.eventInvoke, key);
        const url = await tx.get<UrlConfigRecord>(T.urls, key);
        if (url) {
          await tx.delete(T.urls, key);
          await tx.delete(T.urlIds, url.urlId);
        }
      });
      lifecycle.changed('updated', at.scope, at.name);
    },

    async ListAliases(
      input: ListAliasesRequest,
      ctx: RequestContext,
    ): Promise<ListAliasesResponse> {
      const at = where(ctx, input.FunctionName, 'ListAliases');
      await requireFunction(store, at);
      const page = await pageStore<AliasRecord>(
        store,
        T.aliases,
        childPrefix(at.key),
        input.Marker,
        input.MaxItems,
        input.FunctionVersion === undefined
          ? undefined
          : (a) => a.functionVersion === input.FunctionVersion,
      );
      const out: ListAliasesResponse = {
        Aliases: page.items.map(({ value }) => aliasView(at.scope, at.name, value)),
      };
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },
  };
}
