/**
 * Function URL configurations. AWS serves them at https://<url-id>.lambda-url.<region>.on.aws/.
 * Stratus reports `<endpoint>/_stratus/lambda-url/<url-id>/` on its own port, a URL curl,
 * Node's fetch, Python and browsers all reach on 127.0.0.1 with no DNS set-up, and serves the
 * host form `http://<url-id>.lambda-url.<region>.localhost:<port>/` too (`*.localhost` names
 * resolve in curl and browsers but not through getaddrinfo, so not in Node or Python).
 * The URL is built from the current endpoint on every answer, so it follows a port change.
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html
 */
import { randomInt } from 'node:crypto';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  CreateFunctionUrlConfigRequest,
  CreateFunctionUrlConfigResponse,
  DeleteFunctionUrlConfigRequest,
  FunctionUrlConfig,
  GetFunctionUrlConfigRequest,
  ListFunctionUrlConfigsRequest,
  ListFunctionUrlConfigsResponse,
  UpdateFunctionUrlConfigRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, arnFor, isVersionNumber, type Scope } from './arns.js';
import { locate, pageStore, type LambdaDeps, type Located } from './common.js';
import { urlDate } from './dates.js';
import { conflict, notFound, resourceMissing, validationException } from './errors.js';
import { T, childPrefix, qualifierKey, type UrlConfigRecord, type UrlIdRecord } from './store.js';

export const FUNCTION_URL_PREFIX = '/_stratus/lambda-url/';

/** The host forms of a function URL: curl and browsers resolve `*.localhost` themselves. */
export const FUNCTION_URL_HOSTS = [
  '{url-id}.lambda-url.{region}.localhost',
  '{url-id}.lambda-url.{region}.on.aws',
] as const;

type UrlOps = Pick<
  LambdaOperations,
  | 'CreateFunctionUrlConfig'
  | 'GetFunctionUrlConfig'
  | 'UpdateFunctionUrlConfig'
  | 'DeleteFunctionUrlConfig'
  | 'ListFunctionUrlConfigs'
>;

const URL_ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** 32 characters of [a-z0-9], like AWS's url ids. */
export function newUrlId(): string {
  let id = '';
  for (let i = 0; i < 32; i++) id += URL_ID_CHARS[randomInt(URL_ID_CHARS.length)];
  return id;
}

export const functionUrl = (endpoint: string, urlId: string): string =>
  `${endpoint}${FUNCTION_URL_PREFIX}${urlId}/`;

export function urlConfigView(
  endpoint: string,
  scope: Scope,
  functionName: string,
  rec: UrlConfigRecord,
): FunctionUrlConfig {
  const out: FunctionUrlConfig = {
    FunctionUrl: functionUrl(endpoint, rec.urlId),
    FunctionArn: arnFor(scope, functionName, rec.qualifier === LATEST ? undefined : rec.qualifier),
    AuthType: rec.authType,
    CreationTime: rec.creationTime,
    LastModifiedTime: rec.lastModifiedTime,
    InvokeMode: rec.invokeMode,
  };
  if (rec.cors) out.Cors = rec.cors;
  return out;
}

/** URLs belong to $LATEST or an alias, never to a version number. */
function checkQualifier(qualifier: string | undefined): void {
  if (qualifier !== undefined && (qualifier === LATEST || isVersionNumber(qualifier))) {
    throw validationException([
      `Value '${qualifier}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)`,
    ]);
  }
}

export function urlOperations(deps: LambdaDeps): UrlOps {
  const { store, lifecycle } = deps;

  function where(
    ctx: RequestContext,
    functionName: string,
    qualifier: string | undefined,
    action: string,
  ) {
    const at = locate(ctx, functionName, qualifier, { action });
    checkQualifier(at.qualifier);
    return at;
  }

  /** The function (and alias) must exist: "Function does not exist". */
  async function requireTarget(tx: MetadataOps, at: Located): Promise<void> {
    const missing =
      !(await tx.get(T.functions, at.key)) ||
      (at.qualifier !== undefined &&
        !(await tx.get(T.aliases, qualifierKey(at.key, at.qualifier))));
    if (missing) throw notFound('Function does not exist');
  }

  const keyOf = (at: Located) => qualifierKey(at.key, at.qualifier ?? LATEST);

  return {
    async CreateFunctionUrlConfig(
      input: CreateFunctionUrlConfigRequest,
      ctx: RequestContext,
    ): Promise<CreateFunctionUrlConfigResponse> {
      const at = where(ctx, input.FunctionName, input.Qualifier, 'CreateFunctionUrlConfig');
      const now = urlDate(deps.now());
      const rec = await store.transaction(async (tx) => {
        await requireTarget(tx, at);
        const rec: UrlConfigRecord = {
          qualifier: at.qualifier ?? LATEST,
          urlId: newUrlId(),
          authType: input.AuthType,
          invokeMode: input.InvokeMode ?? 'BUFFERED',
          creationTime: now,
          lastModifiedTime: now,
        };
        if (input.Cors) rec.cors = input.Cors;
        if (!(await tx.insert(T.urls, keyOf(at), rec))) {
          throw conflict(
            `Failed to create function url config for [functionArn = ${arnFor(at.scope, at.name, at.qualifier)}]. Error message:  FunctionUrlConfig exists for this Lambda function`,
          );
        }
        const owner: UrlIdRecord = {
          account: at.scope.account,
          region: at.scope.region,
          functionName: at.name,
          qualifier: rec.qualifier,
        };
        await tx.put(T.urlIds, rec.urlId, owner);
        return rec;
      });
      lifecycle.changed('updated', at.scope, at.name);
      const view = urlConfigView(deps.endpoint(), at.scope, at.name, rec);
      const out: CreateFunctionUrlConfigResponse = {
        FunctionUrl: view.FunctionUrl,
        FunctionArn: view.FunctionArn,
        AuthType: view.AuthType,
        CreationTime: view.CreationTime,
        InvokeMode: view.InvokeMode,
      };
      if (view.Cors) out.Cors = view.Cors;
      return out;
    },

    async GetFunctionUrlConfig(input: GetFunctionUrlConfigRequest, ctx: RequestContext) {
      const at = where(ctx, input.FunctionName, input.Qualifier, 'GetFunctionUrlConfig');
      const rec = await store.get<UrlConfigRecord>(T.urls, keyOf(at));
      if (!rec) throw resourceMissing();
      return urlConfigView(deps.endpoint(), at.scope, at.name, rec);
    },

    async UpdateFunctionUrlConfig(input: UpdateFunctionUrlConfigRequest, ctx: RequestContext) {
      const at = where(ctx, input.FunctionName, input.Qualifier, 'UpdateFunctionUrlConfig');
      const rec = await store.transaction(async (tx) => {
        await requireTarget(tx, at);
        const rec = await tx.get<UrlConfigRecord>(T.urls, keyOf(at));
        if (!rec) throw resourceMissing();
        if (input.AuthType) rec.authType = input.AuthType;
        if (input.Cors) rec.cors = input.Cors;
        if (input.InvokeMode) rec.invokeMode = input.InvokeMode;
        rec.lastModifiedTime = urlDate(deps.now());
        await tx.put(T.urls, keyOf(at), rec);
        return rec;
      });
      lifecycle.changed('updated', at.scope, at.name);
      return urlConfigView(deps.endpoint(), at.scope, at.name, rec);
    },

    async DeleteFunctionUrlConfig(
      input: DeleteFunctionUrlConfigRequest,
      ctx: RequestContext,
    ): Promise<void> {
      const at = where(ctx, input.FunctionName, input.Qualifier, 'DeleteFunctionUrlConfig');
      await store.transaction(async (tx) => {
        const rec = await tx.get<UrlConfigRecord>(T.urls, keyOf(at));
        if (!rec) throw resourceMissing();
        await tx.delete(T.urls, keyOf(at));
        await tx.delete(T.urlIds, rec.urlId);
      });
      lifecycle.changed('updated', at.scope, at.name);
    },

    async ListFunctionUrlConfigs(
      input: ListFunctionUrlConfigsRequest,
      ctx: RequestContext,
    ): Promise<ListFunctionUrlConfigsResponse> {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'ListFunctionUrlConfigs',
        allowQualifier: false,
      });
      if (!(await store.get(T.functions, at.key))) throw notFound('Function does not exist');
      const page = await pageStore<UrlConfigRecord>(
        store,
        T.urls,
        childPrefix(at.key),
        input.Marker,
        input.MaxItems,
      );
      const out: ListFunctionUrlConfigsResponse = {
        FunctionUrlConfigs: page.items.map(({ value }) =>
          urlConfigView(deps.endpoint(), at.scope, at.name, value),
        ),
      };
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },
  };
}
