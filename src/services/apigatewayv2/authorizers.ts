/**
 * Authorizers: JWT (issuer, audiences) and Lambda REQUEST authorizers.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html
 */
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import type { Authorizer, CreateAuthorizerRequest } from '../../api/apigatewayv2/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  type ApiGatewayV2Deps,
  badRequest,
  compact,
  loadApi,
  loadChild,
  mutateApi,
  newId,
  pageChildren,
} from './common.js';
import {
  type ApiRecord,
  AUTHORIZERS,
  type AuthorizerRecord,
  childKey,
  childPrefix,
  ROUTES,
  type RouteRecord,
} from './store.js';

type AuthorizerOps = Pick<
  Apigatewayv2Operations,
  | 'CreateAuthorizer'
  | 'GetAuthorizer'
  | 'GetAuthorizers'
  | 'UpdateAuthorizer'
  | 'DeleteAuthorizer'
  | 'ResetAuthorizersCache'
>;

const authorizerOut = (a: AuthorizerRecord): Authorizer =>
  compact<Authorizer>({
    AuthorizerCredentialsArn: a.authorizerCredentialsArn,
    AuthorizerId: a.authorizerId,
    AuthorizerPayloadFormatVersion: a.authorizerPayloadFormatVersion,
    AuthorizerResultTtlInSeconds: a.authorizerResultTtlInSeconds,
    AuthorizerType: a.authorizerType,
    AuthorizerUri: a.authorizerUri,
    EnableSimpleResponses: a.enableSimpleResponses,
    IdentitySource: a.identitySource,
    IdentityValidationExpression: a.identityValidationExpression,
    JwtConfiguration: a.jwtConfiguration,
    Name: a.name,
  });

function check(api: ApiRecord, a: AuthorizerRecord): void {
  const http = api.protocolType === 'HTTP';
  if (a.authorizerType === 'JWT') {
    if (!http) throw badRequest('JWT authorizers are supported only for HTTP APIs.');
    if (!a.jwtConfiguration?.Issuer) {
      throw badRequest('JwtConfiguration.Issuer is required for JWT authorizers.');
    }
    if (a.identitySource.length !== 1) {
      throw badRequest('A JWT authorizer takes exactly one identity source.');
    }
  } else {
    if (!a.authorizerUri) throw badRequest('AuthorizerUri is required for REQUEST authorizers.');
    if (http) {
      const v = a.authorizerPayloadFormatVersion;
      if (v !== '1.0' && v !== '2.0') {
        throw badRequest(
          'AuthorizerPayloadFormatVersion is required for HTTP API REQUEST authorizers (1.0 or 2.0).',
        );
      }
      if (a.enableSimpleResponses && v !== '2.0') {
        throw badRequest('Simple responses are supported only with payload format version 2.0.');
      }
    }
  }
  for (const source of a.identitySource) {
    if (
      !/^(\$request\.(header|querystring)\.|\$context\.|\$stageVariables\.|route\.request\.)/.test(
        source,
      )
    ) {
      throw badRequest(`Invalid identity source: ${source}`);
    }
  }
  if (a.authorizerResultTtlInSeconds < 0 || a.authorizerResultTtlInSeconds > 3600) {
    throw badRequest('AuthorizerResultTtlInSeconds must be between 0 and 3600.');
  }
}

function newAuthorizer(api: ApiRecord, input: CreateAuthorizerRequest): AuthorizerRecord {
  const record: AuthorizerRecord = compact({
    authorizerId: newId(6),
    name: input.Name,
    authorizerType: input.AuthorizerType,
    identitySource: input.IdentitySource,
    authorizerUri: input.AuthorizerUri,
    authorizerCredentialsArn: input.AuthorizerCredentialsArn,
    authorizerPayloadFormatVersion: input.AuthorizerPayloadFormatVersion,
    authorizerResultTtlInSeconds: input.AuthorizerResultTtlInSeconds ?? 0,
    enableSimpleResponses: input.EnableSimpleResponses,
    identityValidationExpression: input.IdentityValidationExpression,
    jwtConfiguration: input.JwtConfiguration,
  });
  check(api, record);
  return record;
}

export function authorizerOperations(
  deps: ApiGatewayV2Deps,
  resetCache: (apiId: string, stage: string) => void,
): AuthorizerOps {
  const get = (tx: MetadataOps, ctx: RequestContext, apiId: string, id: string) =>
    loadChild<AuthorizerRecord>(tx, AUTHORIZERS, ctx, apiId, id, 'Authorizer');
  return {
    async CreateAuthorizer(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const record = newAuthorizer(api, input);
        await tx.put(AUTHORIZERS, childKey(api.apiId, record.authorizerId), record);
        return authorizerOut(record);
      });
    },

    async GetAuthorizer(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return authorizerOut(await get(deps.store, ctx, input.ApiId, input.AuthorizerId));
    },

    async GetAuthorizers(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        AUTHORIZERS,
        childPrefix(input.ApiId),
        (a) => a.authorizerId,
        authorizerOut,
        input,
      );
    },

    async UpdateAuthorizer(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const old = await get(tx, ctx, api.apiId, input.AuthorizerId);
        const record: AuthorizerRecord = compact({
          ...old,
          name: input.Name ?? old.name,
          authorizerType: input.AuthorizerType ?? old.authorizerType,
          identitySource: input.IdentitySource ?? old.identitySource,
          authorizerUri: input.AuthorizerUri ?? old.authorizerUri,
          authorizerCredentialsArn: input.AuthorizerCredentialsArn ?? old.authorizerCredentialsArn,
          authorizerPayloadFormatVersion:
            input.AuthorizerPayloadFormatVersion ?? old.authorizerPayloadFormatVersion,
          authorizerResultTtlInSeconds:
            input.AuthorizerResultTtlInSeconds ?? old.authorizerResultTtlInSeconds,
          enableSimpleResponses: input.EnableSimpleResponses ?? old.enableSimpleResponses,
          identityValidationExpression:
            input.IdentityValidationExpression ?? old.identityValidationExpression,
          jwtConfiguration: input.JwtConfiguration ?? old.jwtConfiguration,
        });
        check(api, record);
        await tx.put(AUTHORIZERS, childKey(api.apiId, record.authorizerId), record);
        return authorizerOut(record);
      });
    },

    async DeleteAuthorizer(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        await get(tx, ctx, api.apiId, input.AuthorizerId);
        const routes = await tx.list<RouteRecord>(ROUTES, { prefix: childPrefix(api.apiId) });
        const user = routes.find((r) => r.value.authorizerId === input.AuthorizerId);
        if (user) {
          throw badRequest(
            `Cannot delete authorizer ${input.AuthorizerId}: route ${user.value.routeId} uses it.`,
          );
        }
        await tx.delete(AUTHORIZERS, childKey(api.apiId, input.AuthorizerId));
      });
    },

    async ResetAuthorizersCache(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      resetCache(input.ApiId, input.StageName);
    },
  };
}
