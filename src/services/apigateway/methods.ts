/**
 * Methods, method responses, integrations and integration responses of a resource.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_PutMethod.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_PutIntegration.html
 */
import { BadRequestException, NotFoundException } from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type {
  Integration,
  IntegrationResponse,
  Method,
  MethodResponse,
  PutIntegrationRequest,
  PutMethodRequest,
} from '../../api/apigateway/types.js';
import { type ApigwDeps, clone, getApi, mutateApi, resourceOf, scopeOf } from './common.js';
import { applyPatch, type FieldKind } from './patch.js';
import type { ApiRecord, Scope } from './store.js';

type MethodOps = Pick<
  ApigatewayOperations,
  | 'PutMethod'
  | 'GetMethod'
  | 'UpdateMethod'
  | 'DeleteMethod'
  | 'PutMethodResponse'
  | 'GetMethodResponse'
  | 'UpdateMethodResponse'
  | 'DeleteMethodResponse'
  | 'PutIntegration'
  | 'GetIntegration'
  | 'UpdateIntegration'
  | 'DeleteIntegration'
  | 'PutIntegrationResponse'
  | 'GetIntegrationResponse'
  | 'UpdateIntegrationResponse'
  | 'DeleteIntegrationResponse'
>;

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY']);
const AUTH_TYPES = new Set(['NONE', 'AWS_IAM', 'CUSTOM', 'COGNITO_USER_POOLS']);

function methodOf(api: ApiRecord, scope: Scope, resourceId: string, httpMethod: string): Method {
  const m = resourceOf(api, scope, resourceId).methods[httpMethod.toUpperCase()];
  if (!m) throw new NotFoundException('Invalid Method identifier specified');
  return m;
}

function integrationOf(method: Method): Integration {
  if (!method.methodIntegration) {
    throw new NotFoundException('Invalid Integration identifier specified');
  }
  return method.methodIntegration;
}

/** The method as PutMethod (and an OpenAPI import) builds it; validated. */
export function buildMethod(
  api: ApiRecord,
  input: Omit<PutMethodRequest, 'restApiId' | 'resourceId'>,
): Method {
  const httpMethod = input.httpMethod.toUpperCase();
  if (!HTTP_METHODS.has(httpMethod)) {
    throw new BadRequestException(
      'Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY',
    );
  }
  if (!AUTH_TYPES.has(input.authorizationType)) {
    throw new BadRequestException(
      `Invalid authorization type specified. Valid options are NONE,AWS_IAM,CUSTOM,COGNITO_USER_POOLS`,
    );
  }
  if (input.authorizationType === 'CUSTOM' || input.authorizationType === 'COGNITO_USER_POOLS') {
    if (input.authorizerId === undefined || !api.authorizers[input.authorizerId]) {
      throw new BadRequestException(
        'Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.',
      );
    }
  }
  if (input.requestValidatorId !== undefined && !api.validators[input.requestValidatorId]) {
    throw new BadRequestException('Invalid Request Validator identifier specified');
  }
  for (const model of Object.values(input.requestModels ?? {})) {
    if (!api.models[model])
      throw new BadRequestException(`Invalid model identifier specified: ${model}`);
  }
  return {
    httpMethod,
    authorizationType: input.authorizationType,
    ...(input.authorizerId !== undefined && { authorizerId: input.authorizerId }),
    apiKeyRequired: input.apiKeyRequired ?? false,
    ...(input.requestValidatorId !== undefined && { requestValidatorId: input.requestValidatorId }),
    ...(input.operationName !== undefined && { operationName: input.operationName }),
    ...(input.requestParameters && { requestParameters: input.requestParameters }),
    ...(input.requestModels && { requestModels: input.requestModels }),
    ...(input.authorizationScopes && { authorizationScopes: input.authorizationScopes }),
  };
}

/** The integration as PutIntegration (and an OpenAPI import) builds it; validated. */
export function buildIntegration(
  resourceId: string,
  input: Omit<PutIntegrationRequest, 'restApiId' | 'resourceId' | 'httpMethod'>,
): Integration {
  const type = input.type;
  if (type !== 'MOCK' && !input.uri) {
    throw new BadRequestException('Invalid integration URI specified');
  }
  if (type !== 'MOCK' && !input.integrationHttpMethod) {
    throw new BadRequestException('Enumeration value for HttpMethod must be non-empty');
  }
  if ((type === 'HTTP' || type === 'HTTP_PROXY') && !/^https?:\/\//.test(input.uri ?? '')) {
    throw new BadRequestException('Invalid HTTP endpoint specified for URI');
  }
  if ((type === 'AWS' || type === 'AWS_PROXY') && !(input.uri ?? '').startsWith('arn:')) {
    throw new BadRequestException('AWS ARN for integration must contain path or action');
  }
  const timeout = input.timeoutInMillis ?? 29_000;
  if (timeout < 50 || timeout > 29_000) {
    throw new BadRequestException('Timeout should be between 50 ms and 29000 ms');
  }
  return {
    type,
    ...(input.integrationHttpMethod && { httpMethod: input.integrationHttpMethod.toUpperCase() }),
    ...(input.uri !== undefined && { uri: input.uri }),
    connectionType: input.connectionType ?? 'INTERNET',
    ...(input.connectionId !== undefined && { connectionId: input.connectionId }),
    ...(input.credentials !== undefined && { credentials: input.credentials }),
    ...(input.requestParameters && { requestParameters: input.requestParameters }),
    ...(input.requestTemplates && { requestTemplates: input.requestTemplates }),
    passthroughBehavior: input.passthroughBehavior ?? 'WHEN_NO_MATCH',
    ...(input.contentHandling && { contentHandling: input.contentHandling }),
    timeoutInMillis: timeout,
    cacheNamespace: input.cacheNamespace ?? resourceId,
    cacheKeyParameters: input.cacheKeyParameters ?? [],
  };
}

const METHOD_FIELDS: Record<string, FieldKind> = {
  authorizationType: 'string',
  authorizerId: 'string',
  apiKeyRequired: 'boolean',
  requestValidatorId: 'string',
  operationName: 'string',
  requestParameters: 'boolMap',
  requestModels: 'map',
  authorizationScopes: 'list',
};
const INTEGRATION_FIELDS: Record<string, FieldKind> = {
  uri: 'string',
  httpMethod: 'string',
  credentials: 'string',
  passthroughBehavior: 'string',
  contentHandling: 'string',
  timeoutInMillis: 'number',
  connectionType: 'string',
  connectionId: 'string',
  requestParameters: 'map',
  requestTemplates: 'map',
  cacheNamespace: 'string',
  cacheKeyParameters: 'list',
};
const RESPONSE_FIELDS: Record<string, FieldKind> = {
  selectionPattern: 'string',
  contentHandling: 'string',
  responseParameters: 'map',
  responseTemplates: 'map',
};
const METHOD_RESPONSE_FIELDS: Record<string, FieldKind> = {
  responseParameters: 'boolMap',
  responseModels: 'map',
};

export function methodOperations(deps: ApigwDeps): MethodOps {
  const { store } = deps;
  const get = async (ctx: Parameters<MethodOps['GetMethod']>[1], apiId: string) => {
    const scope = scopeOf(ctx);
    return { scope, api: await getApi(store, scope, apiId) };
  };
  return {
    async PutMethod(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const r = resourceOf(api, scope, input.resourceId);
        const m = buildMethod(api, input);
        r.methods[m.httpMethod ?? ''] = m;
        return clone(m);
      });
    },
    async GetMethod(input, ctx) {
      const { scope, api } = await get(ctx, input.restApiId);
      return clone(methodOf(api, scope, input.resourceId, input.httpMethod));
    },
    async UpdateMethod(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const m = methodOf(api, scope, input.resourceId, input.httpMethod);
        applyPatch(m as Record<string, unknown>, input.patchOperations, METHOD_FIELDS);
        return clone(m);
      });
    },
    async DeleteMethod(input, ctx) {
      const scope = scopeOf(ctx);
      await mutateApi(deps, scope, input.restApiId, (api) => {
        methodOf(api, scope, input.resourceId, input.httpMethod);
        delete resourceOf(api, scope, input.resourceId).methods[input.httpMethod.toUpperCase()];
      });
    },

    async PutMethodResponse(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const m = methodOf(api, scope, input.resourceId, input.httpMethod);
        const resp: MethodResponse = {
          statusCode: input.statusCode,
          ...(input.responseParameters && { responseParameters: input.responseParameters }),
          ...(input.responseModels && { responseModels: input.responseModels }),
        };
        m.methodResponses = { ...m.methodResponses, [input.statusCode]: resp };
        return clone(resp);
      });
    },
    async GetMethodResponse(input, ctx) {
      const { scope, api } = await get(ctx, input.restApiId);
      const m = methodOf(api, scope, input.resourceId, input.httpMethod);
      const resp = m.methodResponses?.[input.statusCode];
      if (!resp) throw new NotFoundException('Invalid Response status code specified');
      return clone(resp);
    },
    async UpdateMethodResponse(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const m = methodOf(api, scope, input.resourceId, input.httpMethod);
        const resp = m.methodResponses?.[input.statusCode];
        if (!resp) throw new NotFoundException('Invalid Response status code specified');
        applyPatch(resp as Record<string, unknown>, input.patchOperations, METHOD_RESPONSE_FIELDS);
        return clone(resp);
      });
    },
    async DeleteMethodResponse(input, ctx) {
      const scope = scopeOf(ctx);
      await mutateApi(deps, scope, input.restApiId, (api) => {
        const m = methodOf(api, scope, input.resourceId, input.httpMethod);
        if (!m.methodResponses?.[input.statusCode]) {
          throw new NotFoundException('Invalid Response status code specified');
        }
        delete m.methodResponses[input.statusCode];
      });
    },

    async PutIntegration(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const m = methodOf(api, scope, input.resourceId, input.httpMethod);
        const integration = buildIntegration(input.resourceId, input);
        // A new integration keeps no responses of the one it replaces (as AWS).
        m.methodIntegration = integration;
        return clone(integration);
      });
    },
    async GetIntegration(input, ctx) {
      const { scope, api } = await get(ctx, input.restApiId);
      return clone(integrationOf(methodOf(api, scope, input.resourceId, input.httpMethod)));
    },
    async UpdateIntegration(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const i = integrationOf(methodOf(api, scope, input.resourceId, input.httpMethod));
        applyPatch(i as Record<string, unknown>, input.patchOperations, INTEGRATION_FIELDS);
        return clone(i);
      });
    },
    async DeleteIntegration(input, ctx) {
      const scope = scopeOf(ctx);
      await mutateApi(deps, scope, input.restApiId, (api) => {
        const m = methodOf(api, scope, input.resourceId, input.httpMethod);
        integrationOf(m);
        delete m.methodIntegration;
      });
    },

    async PutIntegrationResponse(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const i = integrationOf(methodOf(api, scope, input.resourceId, input.httpMethod));
        const resp: IntegrationResponse = {
          statusCode: input.statusCode,
          ...(input.selectionPattern !== undefined && { selectionPattern: input.selectionPattern }),
          ...(input.responseParameters && { responseParameters: input.responseParameters }),
          ...(input.responseTemplates && { responseTemplates: input.responseTemplates }),
          ...(input.contentHandling && { contentHandling: input.contentHandling }),
        };
        if (resp.selectionPattern !== undefined) {
          try {
            new RegExp(resp.selectionPattern);
          } catch {
            throw new BadRequestException(
              `Invalid selection pattern specified: ${resp.selectionPattern}`,
            );
          }
        }
        i.integrationResponses = { ...i.integrationResponses, [input.statusCode]: resp };
        return clone(resp);
      });
    },
    async GetIntegrationResponse(input, ctx) {
      const { scope, api } = await get(ctx, input.restApiId);
      const i = integrationOf(methodOf(api, scope, input.resourceId, input.httpMethod));
      const resp = i.integrationResponses?.[input.statusCode];
      if (!resp) throw new NotFoundException('Invalid Response status code specified');
      return clone(resp);
    },
    async UpdateIntegrationResponse(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const i = integrationOf(methodOf(api, scope, input.resourceId, input.httpMethod));
        const resp = i.integrationResponses?.[input.statusCode];
        if (!resp) throw new NotFoundException('Invalid Response status code specified');
        applyPatch(resp as Record<string, unknown>, input.patchOperations, RESPONSE_FIELDS);
        return clone(resp);
      });
    },
    async DeleteIntegrationResponse(input, ctx) {
      const scope = scopeOf(ctx);
      await mutateApi(deps, scope, input.restApiId, (api) => {
        const i = integrationOf(methodOf(api, scope, input.resourceId, input.httpMethod));
        if (!i.integrationResponses?.[input.statusCode]) {
          throw new NotFoundException('Invalid Response status code specified');
        }
        delete i.integrationResponses[input.statusCode];
      });
    },
  };
}
