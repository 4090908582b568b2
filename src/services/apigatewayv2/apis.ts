/**
 * APIs: CreateApi (quick create included), GetApi(s), UpdateApi, DeleteApi and the CORS
 * configuration. https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis.html
 */
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import type { Api, CreateApiRequest } from '../../api/apigatewayv2/types.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  afterChange,
  apiEndpoint,
  type ApiGatewayV2Deps,
  badRequest,
  compact,
  loadApi,
  mutateApi,
  page,
} from './common.js';
import { apiId as newApiId } from '../apigateway-shared/ids.js';
import { newIntegration } from './integrations.js';
import { newRoute } from './routes.js';
import { newStage } from './stages.js';
import {
  API_CHILD_TABLES,
  APIS,
  type ApiRecord,
  childKey,
  childPrefix,
  INTEGRATIONS,
  ROUTES,
  STAGES,
} from './store.js';

type ApiOps = Pick<
  Apigatewayv2Operations,
  'CreateApi' | 'GetApi' | 'GetApis' | 'UpdateApi' | 'DeleteApi' | 'DeleteCorsConfiguration'
>;

/** HTTP APIs route on method and path unless told otherwise. */
const HTTP_ROUTE_SELECTION = '$request.method $request.path';
const HTTP_ROUTE_SELECTION_ALTERNATIVES = new Set([
  HTTP_ROUTE_SELECTION,
  '${request.method} ${request.path}',
]);

export function apiOut(deps: ApiGatewayV2Deps, api: ApiRecord): Api {
  return compact<Api>({
    ApiEndpoint: apiEndpoint(deps, api),
    ApiId: api.apiId,
    ApiKeySelectionExpression: api.apiKeySelectionExpression,
    CorsConfiguration: api.cors,
    CreatedDate: new Date(api.createdDate),
    Description: api.description,
    DisableSchemaValidation: api.disableSchemaValidation,
    DisableExecuteApiEndpoint: api.disableExecuteApiEndpoint,
    IpAddressType: api.ipAddressType,
    Name: api.name,
    ProtocolType: api.protocolType,
    RouteSelectionExpression: api.routeSelectionExpression,
    Tags: api.tags,
    Version: api.version,
  });
}

function checkRouteSelection(protocol: string, expression: string | undefined): void {
  if (protocol === 'HTTP' && expression !== undefined) {
    if (!HTTP_ROUTE_SELECTION_ALTERNATIVES.has(expression)) {
      throw badRequest(
        `Unsupported route selection expression for HTTP API: ${expression}. ` +
          `Supported expression: ${HTTP_ROUTE_SELECTION}`,
      );
    }
  }
}

export function apiOperations(deps: ApiGatewayV2Deps): ApiOps {
  return {
    async CreateApi(input, ctx) {
      const isHttp = input.ProtocolType === 'HTTP';
      if (!isHttp && input.RouteSelectionExpression === undefined) {
        throw badRequest('RouteSelectionExpression is required for WEBSOCKET APIs.');
      }
      checkRouteSelection(input.ProtocolType, input.RouteSelectionExpression);
      if (!isHttp && (input.Target !== undefined || input.CorsConfiguration !== undefined)) {
        throw badRequest(
          input.Target !== undefined
            ? 'Target is only supported for HTTP APIs.'
            : 'CORS configuration is supported only for HTTP APIs.',
        );
      }
      if (input.Target === undefined && input.RouteKey !== undefined) {
        throw badRequest('RouteKey is only supported with Target (quick create).');
      }
      const api: ApiRecord = {
        apiId: newApiId(),
        account: ctx.account,
        region: ctx.region,
        name: input.Name,
        protocolType: input.ProtocolType,
        routeSelectionExpression: isHttp
          ? HTTP_ROUTE_SELECTION
          : (input.RouteSelectionExpression as string),
        apiKeySelectionExpression: input.ApiKeySelectionExpression ?? '$request.header.x-api-key',
        description: input.Description,
        version: input.Version,
        cors: input.CorsConfiguration,
        disableExecuteApiEndpoint: input.DisableExecuteApiEndpoint ?? false,
        disableSchemaValidation: input.DisableSchemaValidation,
        ipAddressType: input.IpAddressType ?? 'ipv4',
        createdDate: deps.now(),
        tags: input.Tags ?? {},
      };
      await deps.store.transaction(async (tx) => {
        await tx.put(APIS, api.apiId, api);
        if (input.Target !== undefined) await quickCreate(deps, tx, api, input);
      });
      return apiOut(deps, api);
    },

    async GetApi(input, ctx) {
      return apiOut(deps, await loadApi(deps.store, ctx, input.ApiId));
    },

    async GetApis(input, ctx) {
      const rows = await deps.store.list<ApiRecord>(APIS);
      const mine = rows
        .map((r) => r.value)
        .filter((a) => a.account === ctx.account && a.region === ctx.region);
      const got = page(mine, (a) => a.apiId, input);
      return { ...got, Items: got.Items.map((a) => apiOut(deps, a)) };
    },

    async UpdateApi(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        checkRouteSelection(api.protocolType, input.RouteSelectionExpression);
        if (api.protocolType !== 'HTTP' && input.CorsConfiguration !== undefined) {
          throw badRequest('CORS configuration is supported only for HTTP APIs.');
        }
        const next: ApiRecord = {
          ...api,
          name: input.Name ?? api.name,
          description: input.Description ?? api.description,
          version: input.Version ?? api.version,
          cors: input.CorsConfiguration ?? api.cors,
          routeSelectionExpression:
            api.protocolType === 'HTTP'
              ? api.routeSelectionExpression
              : (input.RouteSelectionExpression ?? api.routeSelectionExpression),
          apiKeySelectionExpression:
            input.ApiKeySelectionExpression ?? api.apiKeySelectionExpression,
          disableExecuteApiEndpoint:
            input.DisableExecuteApiEndpoint ?? api.disableExecuteApiEndpoint,
          disableSchemaValidation: input.DisableSchemaValidation ?? api.disableSchemaValidation,
          ipAddressType: input.IpAddressType ?? api.ipAddressType,
        };
        await tx.put(APIS, api.apiId, next);
        return apiOut(deps, next);
      });
    },

    async DeleteApi(input, ctx) {
      await deps.store.transaction(async (tx) => {
        const api = await loadApi(tx, ctx, input.ApiId);
        await tx.delete(APIS, api.apiId);
        for (const table of API_CHILD_TABLES) await tx.deletePrefix(table, childPrefix(api.apiId));
      });
      deps.changed(input.ApiId);
    },

    async DeleteCorsConfiguration(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const next = { ...api };
        delete next.cors;
        await tx.put(APIS, api.apiId, next);
      });
    },
  };
}

/**
 * "Quick create produces an API with an integration, a default catch-all route, and a
 * default stage which is configured to automatically deploy changes."
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-basic-concept.html
 */
async function quickCreate(
  deps: ApiGatewayV2Deps,
  tx: MetadataOps,
  api: ApiRecord,
  input: CreateApiRequest,
): Promise<void> {
  const target = input.Target as string;
  const lambda = target.startsWith('arn:');
  const integration = newIntegration(api, {
    ApiId: api.apiId,
    IntegrationType: lambda ? 'AWS_PROXY' : 'HTTP_PROXY',
    IntegrationUri: target,
    IntegrationMethod: lambda ? undefined : 'ANY',
    PayloadFormatVersion: lambda ? '2.0' : '1.0',
    CredentialsArn: input.CredentialsArn,
  });
  await tx.put(INTEGRATIONS, childKey(api.apiId, integration.integrationId), integration);
  const route = newRoute(api, {
    ApiId: api.apiId,
    RouteKey: input.RouteKey ?? '$default',
    Target: `integrations/${integration.integrationId}`,
  });
  await tx.put(ROUTES, childKey(api.apiId, route.routeId), route);
  const stage = newStage(deps.now(), { ApiId: api.apiId, StageName: '$default', AutoDeploy: true });
  await tx.put(STAGES, childKey(api.apiId, stage.stageName), stage);
  await afterChange(deps, tx, api);
}
