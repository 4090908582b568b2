/**
 * Integrations and integration responses.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations.html
 */
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import type {
  CreateIntegrationRequest,
  Integration,
  IntegrationResponse,
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
  childKey,
  childPrefix,
  INTEGRATION_RESPONSES,
  type IntegrationRecord,
  type IntegrationResponseRecord,
  INTEGRATIONS,
  ROUTES,
  type RouteRecord,
} from './store.js';

type IntegrationOps = Pick<
  Apigatewayv2Operations,
  | 'CreateIntegration'
  | 'GetIntegration'
  | 'GetIntegrations'
  | 'UpdateIntegration'
  | 'DeleteIntegration'
  | 'CreateIntegrationResponse'
  | 'GetIntegrationResponse'
  | 'GetIntegrationResponses'
  | 'UpdateIntegrationResponse'
  | 'DeleteIntegrationResponse'
>;

/** HTTP APIs wait up to 30 s for an integration, WebSocket APIs 29 s. */
const MAX_TIMEOUT = { HTTP: 30_000, WEBSOCKET: 29_000 } as const;

export function integrationOut(i: IntegrationRecord): Integration {
  return compact<Integration>({
    ConnectionId: i.connectionId,
    ConnectionType: i.connectionType,
    ContentHandlingStrategy: i.contentHandlingStrategy,
    CredentialsArn: i.credentialsArn,
    Description: i.description,
    IntegrationId: i.integrationId,
    IntegrationMethod: i.integrationMethod,
    IntegrationSubtype: i.integrationSubtype,
    IntegrationType: i.integrationType,
    IntegrationUri: i.integrationUri,
    PassthroughBehavior: i.passthroughBehavior,
    PayloadFormatVersion: i.payloadFormatVersion,
    RequestParameters: i.requestParameters,
    RequestTemplates: i.requestTemplates,
    ResponseParameters: i.responseParameters,
    TemplateSelectionExpression: i.templateSelectionExpression,
    TimeoutInMillis: i.timeoutInMillis,
    TlsConfig: i.tlsConfig,
  });
}

function check(api: ApiRecord, i: IntegrationRecord): void {
  const http = api.protocolType === 'HTTP';
  if (http && i.integrationType !== 'AWS_PROXY' && i.integrationType !== 'HTTP_PROXY') {
    throw badRequest(
      'Currently, an API with a protocol type of HTTP may only be associated with proxy ' +
        'integrations (AWS_PROXY, HTTP_PROXY)',
    );
  }
  if (i.integrationType !== 'MOCK' && !i.integrationUri && !i.integrationSubtype) {
    throw badRequest(`IntegrationUri is required for integration type ${i.integrationType}.`);
  }
  if (i.payloadFormatVersion !== '1.0' && i.payloadFormatVersion !== '2.0') {
    throw badRequest(`Unsupported payload format version ${i.payloadFormatVersion}.`);
  }
  if (i.payloadFormatVersion === '2.0' && (!http || i.integrationType !== 'AWS_PROXY')) {
    throw badRequest(
      'Payload format version 2.0 is supported only for Lambda proxy integrations of HTTP APIs.',
    );
  }
  if (http && i.integrationType === 'HTTP_PROXY') {
    if (i.integrationMethod === undefined) {
      throw badRequest('IntegrationMethod is required for HTTP_PROXY integrations.');
    }
    if (i.connectionType === 'INTERNET' && !/^https?:\/\//i.test(i.integrationUri ?? '')) {
      throw badRequest(`Invalid HTTP endpoint specified for URI: ${i.integrationUri}`);
    }
  }
  const max = MAX_TIMEOUT[api.protocolType];
  if (i.timeoutInMillis < 50 || i.timeoutInMillis > max) {
    throw badRequest(`TimeoutInMillis must be between 50 and ${max}.`);
  }
}

/** A new integration record, checked against the API's kind. */
export function newIntegration(api: ApiRecord, input: CreateIntegrationRequest): IntegrationRecord {
  if (
    api.protocolType === 'HTTP' &&
    input.IntegrationType === 'AWS_PROXY' &&
    input.PayloadFormatVersion === undefined
  ) {
    throw badRequest('PayloadFormatVersion is required for HTTP APIs.');
  }
  const record: IntegrationRecord = compact({
    integrationId: newId(7),
    integrationType: input.IntegrationType,
    integrationUri: input.IntegrationUri,
    integrationMethod: input.IntegrationMethod,
    integrationSubtype: input.IntegrationSubtype,
    payloadFormatVersion: input.PayloadFormatVersion ?? '1.0',
    timeoutInMillis: input.TimeoutInMillis ?? MAX_TIMEOUT[api.protocolType],
    connectionType: input.ConnectionType ?? 'INTERNET',
    connectionId: input.ConnectionId,
    contentHandlingStrategy: input.ContentHandlingStrategy,
    credentialsArn: input.CredentialsArn,
    description: input.Description,
    passthroughBehavior:
      input.PassthroughBehavior ?? (api.protocolType === 'WEBSOCKET' ? 'WHEN_NO_MATCH' : undefined),
    requestParameters: input.RequestParameters,
    requestTemplates: input.RequestTemplates,
    responseParameters: input.ResponseParameters,
    templateSelectionExpression: input.TemplateSelectionExpression,
    tlsConfig: input.TlsConfig,
  });
  check(api, record);
  return record;
}

const responseOut = (r: IntegrationResponseRecord): IntegrationResponse =>
  compact<IntegrationResponse>({
    ContentHandlingStrategy: r.contentHandlingStrategy,
    IntegrationResponseId: r.integrationResponseId,
    IntegrationResponseKey: r.integrationResponseKey,
    ResponseParameters: r.responseParameters,
    ResponseTemplates: r.responseTemplates,
    TemplateSelectionExpression: r.templateSelectionExpression,
  });

export function integrationOperations(deps: ApiGatewayV2Deps): IntegrationOps {
  const get = (tx: MetadataOps, ctx: RequestContext, apiId: string, id: string) =>
    loadChild<IntegrationRecord>(tx, INTEGRATIONS, ctx, apiId, id, 'Integration');
  const responseKey = (apiId: string, integrationId: string, id: string) =>
    `${childKey(apiId, integrationId)}/${id}`;
  const getResponse = async (
    tx: MetadataOps,
    ctx: RequestContext,
    key: string,
    id: string,
  ): Promise<IntegrationResponseRecord> => {
    const row = await tx.get<IntegrationResponseRecord>(INTEGRATION_RESPONSES, key);
    if (!row) throw notFound('IntegrationResponse', ctx.account, id);
    return row;
  };
  return {
    async CreateIntegration(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const record = newIntegration(api, input);
        await tx.put(INTEGRATIONS, childKey(api.apiId, record.integrationId), record);
        return integrationOut(record);
      });
    },

    async GetIntegration(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return integrationOut(await get(deps.store, ctx, input.ApiId, input.IntegrationId));
    },

    async GetIntegrations(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        INTEGRATIONS,
        childPrefix(input.ApiId),
        (i) => i.integrationId,
        integrationOut,
        input,
      );
    },

    async UpdateIntegration(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const old = await get(tx, ctx, api.apiId, input.IntegrationId);
        const record: IntegrationRecord = compact({
          ...old,
          integrationType: input.IntegrationType ?? old.integrationType,
          integrationUri: input.IntegrationUri ?? old.integrationUri,
          integrationMethod: input.IntegrationMethod ?? old.integrationMethod,
          integrationSubtype: input.IntegrationSubtype ?? old.integrationSubtype,
          payloadFormatVersion: input.PayloadFormatVersion ?? old.payloadFormatVersion,
          timeoutInMillis: input.TimeoutInMillis ?? old.timeoutInMillis,
          connectionType: input.ConnectionType ?? old.connectionType,
          connectionId: input.ConnectionId ?? old.connectionId,
          contentHandlingStrategy: input.ContentHandlingStrategy ?? old.contentHandlingStrategy,
          credentialsArn: input.CredentialsArn ?? old.credentialsArn,
          description: input.Description ?? old.description,
          passthroughBehavior: input.PassthroughBehavior ?? old.passthroughBehavior,
          requestParameters: input.RequestParameters ?? old.requestParameters,
          requestTemplates: input.RequestTemplates ?? old.requestTemplates,
          responseParameters: input.ResponseParameters ?? old.responseParameters,
          templateSelectionExpression:
            input.TemplateSelectionExpression ?? old.templateSelectionExpression,
          tlsConfig: input.TlsConfig ?? old.tlsConfig,
        });
        check(api, record);
        await tx.put(INTEGRATIONS, childKey(api.apiId, record.integrationId), record);
        return integrationOut(record);
      });
    },

    async DeleteIntegration(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        await get(tx, ctx, api.apiId, input.IntegrationId);
        const target = `integrations/${input.IntegrationId}`;
        const routes = await tx.list<RouteRecord>(ROUTES, { prefix: childPrefix(api.apiId) });
        const user = routes.find((r) => r.value.target === target);
        if (user) {
          throw badRequest(
            `Integration ${input.IntegrationId} is the target of route ${user.value.routeId}; ` +
              'remove the route target first.',
          );
        }
        await tx.delete(INTEGRATIONS, childKey(api.apiId, input.IntegrationId));
        await tx.deletePrefix(
          INTEGRATION_RESPONSES,
          `${childKey(api.apiId, input.IntegrationId)}/`,
        );
      });
    },

    async CreateIntegrationResponse(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        await get(tx, ctx, api.apiId, input.IntegrationId);
        if (api.protocolType === 'HTTP') {
          throw badRequest('Integration responses are supported only for WebSocket APIs.');
        }
        const r: IntegrationResponseRecord = compact({
          integrationResponseId: newId(6),
          integrationResponseKey: input.IntegrationResponseKey,
          contentHandlingStrategy: input.ContentHandlingStrategy,
          responseParameters: input.ResponseParameters,
          responseTemplates: input.ResponseTemplates,
          templateSelectionExpression: input.TemplateSelectionExpression,
        });
        await tx.put(
          INTEGRATION_RESPONSES,
          responseKey(api.apiId, input.IntegrationId, r.integrationResponseId),
          r,
        );
        return responseOut(r);
      });
    },

    async GetIntegrationResponse(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      const key = responseKey(input.ApiId, input.IntegrationId, input.IntegrationResponseId);
      return responseOut(await getResponse(deps.store, ctx, key, input.IntegrationResponseId));
    },

    async GetIntegrationResponses(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        INTEGRATION_RESPONSES,
        `${childKey(input.ApiId, input.IntegrationId)}/`,
        (r) => r.integrationResponseId,
        responseOut,
        input,
      );
    },

    async UpdateIntegrationResponse(input, ctx) {
      return mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const key = responseKey(api.apiId, input.IntegrationId, input.IntegrationResponseId);
        const old = await getResponse(tx, ctx, key, input.IntegrationResponseId);
        const r: IntegrationResponseRecord = compact({
          ...old,
          integrationResponseKey: input.IntegrationResponseKey ?? old.integrationResponseKey,
          contentHandlingStrategy: input.ContentHandlingStrategy ?? old.contentHandlingStrategy,
          responseParameters: input.ResponseParameters ?? old.responseParameters,
          responseTemplates: input.ResponseTemplates ?? old.responseTemplates,
          templateSelectionExpression:
            input.TemplateSelectionExpression ?? old.templateSelectionExpression,
        });
        await tx.put(INTEGRATION_RESPONSES, key, r);
        return responseOut(r);
      });
    },

    async DeleteIntegrationResponse(input, ctx) {
      await mutateApi(deps, ctx, input.ApiId, async (tx, api) => {
        const key = responseKey(api.apiId, input.IntegrationId, input.IntegrationResponseId);
        if (!(await tx.delete(INTEGRATION_RESPONSES, key))) {
          throw notFound('IntegrationResponse', ctx.account, input.IntegrationResponseId);
        }
      });
    },
  };
}
