/**
 * The parts of a REST API that methods refer to: models (JSON Schema draft 4), request
 * validators, Lambda authorizers and customised gateway responses.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateModel.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateAuthorizer.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_PutGatewayResponse.html
 */
import {
  BadRequestException,
  ConflictException,
  NotFoundException,
} from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type {
  Authorizer,
  GatewayResponse,
  GatewayResponseType,
} from '../../api/apigateway/types.js';
import { randomId } from '../apigateway-shared/ids.js';
import { type ApigwDeps, clone, getApi, mutateApi, pageOf, scopeOf } from './common.js';
import { applyPatch } from './patch.js';
import { defaultGatewayResponse, GATEWAY_RESPONSE_TYPES } from './dataplane/gateway-responses.js';
import type { ApiRecord } from './store.js';

type DefinitionOps = Pick<
  ApigatewayOperations,
  | 'CreateModel'
  | 'GetModel'
  | 'GetModels'
  | 'UpdateModel'
  | 'DeleteModel'
  | 'CreateRequestValidator'
  | 'GetRequestValidator'
  | 'GetRequestValidators'
  | 'UpdateRequestValidator'
  | 'DeleteRequestValidator'
  | 'CreateAuthorizer'
  | 'GetAuthorizer'
  | 'GetAuthorizers'
  | 'UpdateAuthorizer'
  | 'DeleteAuthorizer'
  | 'PutGatewayResponse'
  | 'GetGatewayResponse'
  | 'GetGatewayResponses'
  | 'UpdateGatewayResponse'
  | 'DeleteGatewayResponse'
>;

function modelOf(api: ApiRecord, name: string) {
  const m = api.models[name];
  if (!m) throw new NotFoundException('Invalid model name specified: ' + name);
  return m;
}
function validatorOf(api: ApiRecord, id: string) {
  const v = api.validators[id];
  if (!v) throw new NotFoundException('Invalid Request Validator identifier specified');
  return v;
}
function authorizerOf(api: ApiRecord, id: string) {
  const a = api.authorizers[id];
  if (!a) throw new NotFoundException('Invalid Authorizer identifier specified');
  return a;
}

function checkSchema(schema: string | undefined): void {
  if (schema === undefined) return;
  try {
    JSON.parse(schema);
  } catch {
    throw new BadRequestException(
      'Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]',
    );
  }
}

/** The authorizer CreateAuthorizer (and an OpenAPI import) stores; validated. */
export function buildAuthorizer(input: Omit<Authorizer, 'id'> & { name: string }): Authorizer {
  const type = input.type ?? 'TOKEN';
  if ((type === 'TOKEN' || type === 'REQUEST') && !input.authorizerUri) {
    throw new BadRequestException('Authorizer URI is required for TOKEN and REQUEST authorizers');
  }
  if (type === 'TOKEN' && !input.identitySource) {
    throw new BadRequestException('Identity source is required for TOKEN authorizers');
  }
  const ttl = input.authorizerResultTtlInSeconds ?? 300;
  if (ttl < 0 || ttl > 3600) {
    throw new BadRequestException('Authorizer result TTL must be between 0 and 3600 seconds');
  }
  return {
    id: randomId(6),
    name: input.name,
    type,
    ...(input.providerARNs && { providerARNs: input.providerARNs }),
    ...(input.authType !== undefined && { authType: input.authType }),
    ...(input.authorizerUri !== undefined && { authorizerUri: input.authorizerUri }),
    ...(input.authorizerCredentials !== undefined && {
      authorizerCredentials: input.authorizerCredentials,
    }),
    ...(input.identitySource !== undefined && { identitySource: input.identitySource }),
    ...(input.identityValidationExpression !== undefined && {
      identityValidationExpression: input.identityValidationExpression,
    }),
    authorizerResultTtlInSeconds: ttl,
  };
}

function gatewayResponseOut(api: ApiRecord, type: GatewayResponseType): GatewayResponse {
  const custom = api.gatewayResponses[type];
  return custom ? { ...clone(custom), defaultResponse: false } : defaultGatewayResponse(type);
}

function checkResponseType(type: string): asserts type is GatewayResponseType {
  if (!(GATEWAY_RESPONSE_TYPES as readonly string[]).includes(type)) {
    throw new BadRequestException(`Invalid response type specified: ${type}`);
  }
}

export function definitionOperations(deps: ApigwDeps): DefinitionOps {
  const { store } = deps;
  const read = async (ctx: Parameters<DefinitionOps['GetModel']>[1], id: string) =>
    getApi(store, scopeOf(ctx), id);
  return {
    async CreateModel(input, ctx) {
      if (!/^[A-Za-z0-9]+$/.test(input.name)) {
        throw new BadRequestException('Model name must be alphanumeric');
      }
      checkSchema(input.schema);
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        if (api.models[input.name])
          throw new ConflictException('Model name already exists for this REST API');
        const m = {
          id: randomId(6),
          name: input.name,
          ...(input.description !== undefined && { description: input.description }),
          ...(input.schema !== undefined && { schema: input.schema }),
          contentType: input.contentType,
        };
        api.models[input.name] = m;
        return clone(m);
      });
    },
    async GetModel(input, ctx) {
      return clone(modelOf(await read(ctx, input.restApiId), input.modelName));
    },
    async GetModels(input, ctx) {
      const api = await read(ctx, input.restApiId);
      return pageOf(Object.values(api.models), (m) => m.name ?? '', input.position, input.limit);
    },
    async UpdateModel(input, ctx) {
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const m = modelOf(api, input.modelName);
        applyPatch(m as Record<string, unknown>, input.patchOperations, {
          schema: 'string',
          description: 'string',
        });
        checkSchema(m.schema);
        return clone(m);
      });
    },
    async DeleteModel(input, ctx) {
      await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        modelOf(api, input.modelName);
        delete api.models[input.modelName];
      });
    },

    async CreateRequestValidator(input, ctx) {
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const v = {
          id: randomId(6),
          ...(input.name !== undefined && { name: input.name }),
          validateRequestBody: input.validateRequestBody ?? false,
          validateRequestParameters: input.validateRequestParameters ?? false,
        };
        api.validators[v.id] = v;
        return clone(v);
      });
    },
    async GetRequestValidator(input, ctx) {
      return clone(validatorOf(await read(ctx, input.restApiId), input.requestValidatorId));
    },
    async GetRequestValidators(input, ctx) {
      const api = await read(ctx, input.restApiId);
      return pageOf(Object.values(api.validators), (v) => v.id ?? '', input.position, input.limit);
    },
    async UpdateRequestValidator(input, ctx) {
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const v = validatorOf(api, input.requestValidatorId);
        applyPatch(v as Record<string, unknown>, input.patchOperations, {
          name: 'string',
          validateRequestBody: 'boolean',
          validateRequestParameters: 'boolean',
        });
        return clone(v);
      });
    },
    async DeleteRequestValidator(input, ctx) {
      await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        validatorOf(api, input.requestValidatorId);
        delete api.validators[input.requestValidatorId];
      });
    },

    async CreateAuthorizer(input, ctx) {
      const { restApiId, ...rest } = input;
      return mutateApi(deps, scopeOf(ctx), restApiId, (api) => {
        const a = buildAuthorizer(rest);
        api.authorizers[a.id ?? ''] = a;
        return clone(a);
      });
    },
    async GetAuthorizer(input, ctx) {
      return clone(authorizerOf(await read(ctx, input.restApiId), input.authorizerId));
    },
    async GetAuthorizers(input, ctx) {
      const api = await read(ctx, input.restApiId);
      return pageOf(Object.values(api.authorizers), (a) => a.id ?? '', input.position, input.limit);
    },
    async UpdateAuthorizer(input, ctx) {
      const out = await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const a = authorizerOf(api, input.authorizerId);
        applyPatch(a as Record<string, unknown>, input.patchOperations, {
          name: 'string',
          type: 'string',
          authType: 'string',
          authorizerUri: 'string',
          authorizerCredentials: 'string',
          identitySource: 'string',
          identityValidationExpression: 'string',
          authorizerResultTtlInSeconds: 'number',
          providerARNs: 'list',
        });
        return clone(a);
      });
      deps.changed(input.restApiId);
      return out;
    },
    async DeleteAuthorizer(input, ctx) {
      await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        authorizerOf(api, input.authorizerId);
        const used = Object.values(api.resources).some((r) =>
          Object.values(r.methods).some((m) => m.authorizerId === input.authorizerId),
        );
        if (used) {
          throw new ConflictException('Cannot delete authorizer, is referenced in method');
        }
        delete api.authorizers[input.authorizerId];
      });
    },

    async PutGatewayResponse(input, ctx) {
      checkResponseType(input.responseType);
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const r: GatewayResponse = {
          responseType: input.responseType,
          ...(input.statusCode !== undefined && { statusCode: input.statusCode }),
          responseParameters: input.responseParameters ?? {},
          responseTemplates: input.responseTemplates ?? {},
        };
        api.gatewayResponses[input.responseType] = r;
        return { ...clone(r), defaultResponse: false };
      });
    },
    async GetGatewayResponse(input, ctx) {
      checkResponseType(input.responseType);
      return gatewayResponseOut(await read(ctx, input.restApiId), input.responseType);
    },
    async GetGatewayResponses(input, ctx) {
      const api = await read(ctx, input.restApiId);
      const all = GATEWAY_RESPONSE_TYPES.map((t) => gatewayResponseOut(api, t));
      return pageOf(all, (r) => r.responseType ?? '', input.position, input.limit ?? 500);
    },
    async UpdateGatewayResponse(input, ctx) {
      checkResponseType(input.responseType);
      const type = input.responseType;
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const r = (api.gatewayResponses[type] ??= {
          responseType: type,
          responseParameters: {},
          responseTemplates: {},
        });
        applyPatch(r as Record<string, unknown>, input.patchOperations, {
          statusCode: 'string',
          responseParameters: 'map',
          responseTemplates: 'map',
        });
        return { ...clone(r), defaultResponse: false };
      });
    },
    async DeleteGatewayResponse(input, ctx) {
      checkResponseType(input.responseType);
      await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        if (!api.gatewayResponses[input.responseType]) {
          throw new NotFoundException('Invalid response type specified');
        }
        delete api.gatewayResponses[input.responseType];
      });
    },
  };
}
