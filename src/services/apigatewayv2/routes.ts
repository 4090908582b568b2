/**
 * Routes and route responses.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
 */
import { ConflictException } from '../../api/apigatewayv2/errors.js';
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import type {
  CreateRouteRequest,
  Route,
  RouteResponse,
  UpdateRouteRequest,
} from '../../api/apigatewayv2/types.js';
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
  notFound,
  pageChildren,
} from './common.js';
import {
  type ApiRecord,
  AUTHORIZERS,
  type AuthorizerRecord,
  childKey,
  childPrefix,
  INTEGRATIONS,
  ROUTE_RESPONSES,
  type RouteRecord,
  type RouteResponseRecord,
  ROUTES,
} from './store.js';

type RouteOps = Pick<
  Apigatewayv2Operations,
  | 'CreateRoute'
  | 'GetRoute'
  | 'GetRoutes'
  | 'UpdateRoute'
  | 'DeleteRoute'
  | 'DeleteRouteRequestParameter'
  | 'CreateRouteResponse'
  | 'GetRouteResponse'
  | 'GetRouteResponses'
  | 'UpdateRouteResponse'
  | 'DeleteRouteResponse'
>;

const HTTP_ROUTE_KEY = /^(?:\$default|(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (\/[^\s]*))$/;

/** An HTTP API route key: `$default` or `METHOD /path`, `{proxy+}` only as the last segment. */
export function checkHttpRouteKey(key: string): void {
  const m = HTTP_ROUTE_KEY.exec(key);
  if (!m) {
    throw badRequest(
      `Invalid route key: ${key}. A route key is $default or an HTTP method ` +
        '(GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY) and a path starting with /.',
    );
  }
  const path = m[1];
  if (path === undefined) return;
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    if (segment.endsWith('+}') && i !== segments.length - 1) {
      throw badRequest(
        `Invalid route key: ${key}. A greedy path variable must be the last segment.`,
      );
    }
    if (segment.includes('{') && !/^\{[\w.-]+\+?\}$/.test(segment)) {
      throw badRequest(`Invalid route key: ${key}. A path variable must be a whole segment.`);
    }
  });
}

export function routeOut(r: RouteRecord): Route {
  return compact<Route>({
    ApiKeyRequired: r.apiKeyRequired,
    AuthorizationScopes: r.authorizationScopes,
    AuthorizationType: r.authorizationType,
    AuthorizerId: r.authorizerId,
    ModelSelectionExpression: r.modelSelectionExpression,
    OperationName: r.operationName,
    RequestModels: r.requestModels,
    RequestParameters: r.requestParameters,
    RouteId: r.routeId,
    RouteKey: r.routeKey,
    RouteResponseSelectionExpression: r.routeResponseSelectionExpression,
    Target: r.target,
  });
}

const routeResponseOut = (r: RouteResponseRecord): RouteResponse =>
  compact<RouteResponse>({
    ModelSelectionExpression: r.modelSelectionExpression,
    ResponseModels: r.responseModels,
    ResponseParameters: r.responseParameters,
    RouteResponseId: r.routeResponseId,
    RouteResponseKey: r.routeResponseKey,
  });

/** A new route record (checked against the API's kind). */
export function newRoute(api: ApiRecord, input: CreateRouteRequest): RouteRecord {
  if (api.protocolType === 'HTTP') checkHttpRouteKey(input.RouteKey);
  return {
    routeId: newId(7),
    routeKey: input.RouteKey,
    target: input.Target,
    authorizationType: input.AuthorizationType ?? 'NONE',
    authorizerId: input.AuthorizerId,
    authorizationScopes: input.AuthorizationScopes,
    apiKeyRequired: input.ApiKeyRequired ?? false,
    operationName: input.OperationName,
    modelSelectionExpression: input.ModelSelectionExpression,
    requestModels: input.RequestModels,
    requestParameters: input.RequestParameters,
    routeResponseSelectionExpression: input.RouteResponseSelectionExpression,
  };
}

/** What a route refers to must exist and fit: its integration, its authorizer. */
async function checkRefs(
  tx: MetadataOps,
  ctx: RequestContext,
  api: ApiRecord,
  route: RouteRecord,
): Promise<void> {
  if (route.target !== undefined) {
    const m = /^integrations\/(\w+)$/.exec(route.target);
    if (!m || !(await tx.get(INTEGRATIONS, childKey(api.apiId, m[1])))) {
      throw badRequest(`Invalid target: ${route.target}. Use integrations/<integration-id>.`);
    }
  }
  const type = route.authorizationType;
  if (type === 'JWT' || type === 'CUSTOM') {
    if (route.authorizerId === undefined) {
      throw badRequest(`AuthorizerId is required for authorization type ${type}.`);
    }
    const authorizer = await loadChild<AuthorizerRecord>(
      tx,
      AUTHORIZERS,
      ctx,
      api.apiId,
      route.authorizerId,
      'Authorizer',
    );
    const expected = type === 'JWT' ? 'JWT' : 'REQUEST';
    if (authorizer.authorizerType !== expected) {
      throw badRequest(
        `Authorization type ${type} requires an authorizer of type ${expected}, ` +
          `but ${route.authorizerId} is ${authorizer.authorizerType}.`,
      );
    }
  }
  if (route.authorizationScopes?.length && type !== 'JWT' && type !== 'AWS_IAM') {
    // AWS: scopes are only evaluated for JWT (and Cognito) authorizers.
    throw badRequest('AuthorizationScopes are supported only for JWT authorizers.');
  }
}

async function checkUnique(tx: MetadataOps, api: ApiRecord, route: RouteRecord): Promise<void> {
  const all = await tx.list<RouteRecord>(ROUTES, { prefix: childPrefix(api.apiId) });
  if (all.some((r) => r.value.routeKey === route.routeKey && r.value.routeId !== route.routeId)) {
    throw new ConflictException(`Route with key ${route.routeKey} already exists for this API`);
  }
}

export function routeOperations(deps: ApiGatewayV2Deps): RouteOps {
  const getRoute = (tx: MetadataOps, ctx: RequestContext, apiId: string, routeId: string) =>
    loadChild<RouteRecord>(tx, ROUTES, ctx, apiId, routeId, 'Route');
  return {
    async CreateRoute(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const route = newRoute(api, input);
        await checkRefs(tx, ctx, api, route);
        await checkUnique(tx, api, route);
        await tx.put(ROUTES, childKey(api.apiId, route.routeId), route);
        return routeOut(route);
      });
    },

    async GetRoute(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return routeOut(await getRoute(deps.store, ctx, input.ApiId, input.RouteId));
    },

    async GetRoutes(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        ROUTES,
        childPrefix(input.ApiId),
        (r) => r.routeId,
        routeOut,
        input,
      );
    },

    async UpdateRoute(input: UpdateRouteRequest, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const old = await getRoute(tx, ctx, api.apiId, input.RouteId);
        if (input.RouteKey !== undefined && api.protocolType === 'HTTP') {
          checkHttpRouteKey(input.RouteKey);
        }
        const route: RouteRecord = compact({
          ...old,
          routeKey: input.RouteKey ?? old.routeKey,
          target: input.Target ?? old.target,
          authorizationType: input.AuthorizationType ?? old.authorizationType,
          authorizerId:
            input.AuthorizationType === 'NONE'
              ? undefined
              : (input.AuthorizerId ?? old.authorizerId),
          authorizationScopes: input.AuthorizationScopes ?? old.authorizationScopes,
          apiKeyRequired: input.ApiKeyRequired ?? old.apiKeyRequired,
          operationName: input.OperationName ?? old.operationName,
          modelSelectionExpression: input.ModelSelectionExpression ?? old.modelSelectionExpression,
          requestModels: input.RequestModels ?? old.requestModels,
          requestParameters: input.RequestParameters ?? old.requestParameters,
          routeResponseSelectionExpression:
            input.RouteResponseSelectionExpression ?? old.routeResponseSelectionExpression,
        });
        await checkRefs(tx, ctx, api, route);
        await checkUnique(tx, api, route);
        await tx.put(ROUTES, childKey(api.apiId, route.routeId), route);
        return routeOut(route);
      });
    },

    async DeleteRoute(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        await getRoute(tx, ctx, api.apiId, input.RouteId);
        await tx.delete(ROUTES, childKey(api.apiId, input.RouteId));
        await tx.deletePrefix(ROUTE_RESPONSES, `${childKey(api.apiId, input.RouteId)}/`);
      });
    },

    async DeleteRouteRequestParameter(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const route = await getRoute(tx, ctx, api.apiId, input.RouteId);
        const params = { ...route.requestParameters };
        if (!(input.RequestParameterKey in params)) {
          throw badRequest(`Invalid request parameter key ${input.RequestParameterKey}`);
        }
        delete params[input.RequestParameterKey];
        await tx.put(ROUTES, childKey(api.apiId, route.routeId), {
          ...route,
          requestParameters: params,
        });
      });
    },

    async CreateRouteResponse(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        await getRoute(tx, ctx, api.apiId, input.RouteId);
        if (api.protocolType === 'HTTP') {
          throw badRequest('Route responses are supported only for WebSocket APIs.');
        }
        const rr: RouteResponseRecord = {
          routeResponseId: newId(6),
          routeResponseKey: input.RouteResponseKey,
          modelSelectionExpression: input.ModelSelectionExpression,
          responseModels: input.ResponseModels,
          responseParameters: input.ResponseParameters,
        };
        await tx.put(
          ROUTE_RESPONSES,
          `${childKey(api.apiId, input.RouteId)}/${rr.routeResponseId}`,
          rr,
        );
        return routeResponseOut(rr);
      });
    },

    async GetRouteResponse(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      const rr = await deps.store.get<RouteResponseRecord>(
        ROUTE_RESPONSES,
        `${childKey(input.ApiId, input.RouteId)}/${input.RouteResponseId}`,
      );
      if (!rr) throw notFound('RouteResponse', ctx.account, input.RouteResponseId);
      return routeResponseOut(rr);
    },

    async GetRouteResponses(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        ROUTE_RESPONSES,
        `${childKey(input.ApiId, input.RouteId)}/`,
        (r) => r.routeResponseId,
        routeResponseOut,
        input,
      );
    },

    async UpdateRouteResponse(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const key = `${childKey(api.apiId, input.RouteId)}/${input.RouteResponseId}`;
        const old = await tx.get<RouteResponseRecord>(ROUTE_RESPONSES, key);
        if (!old) throw notFound('RouteResponse', ctx.account, input.RouteResponseId);
        const rr: RouteResponseRecord = compact({
          ...old,
          routeResponseKey: input.RouteResponseKey ?? old.routeResponseKey,
          modelSelectionExpression: input.ModelSelectionExpression ?? old.modelSelectionExpression,
          responseModels: input.ResponseModels ?? old.responseModels,
          responseParameters: input.ResponseParameters ?? old.responseParameters,
        });
        await tx.put(ROUTE_RESPONSES, key, rr);
        return routeResponseOut(rr);
      });
    },

    async DeleteRouteResponse(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const key = `${childKey(api.apiId, input.RouteId)}/${input.RouteResponseId}`;
        if (!(await tx.delete(ROUTE_RESPONSES, key))) {
          throw notFound('RouteResponse', ctx.account, input.RouteResponseId);
        }
      });
    },
  };
}
