/**
 * REST APIs and their resources.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateRestApi.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateResource.html
 */
import { BadRequestException, ConflictException } from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type { Resource, RestApi } from '../../api/apigateway/types.js';
import { apiId as newApiId, randomId } from '../apigateway-shared/ids.js';
import {
  type ApigwDeps,
  clone,
  getApi,
  mutateApi,
  notFound,
  pageOf,
  resourceOf,
  resourcePath,
  scopeOf,
  toDate,
} from './common.js';
import { applyPatch } from './patch.js';
import { type ApiRecord, apiKey, scopeKey, T, type ResourceRecord } from './store.js';

type RestApiOps = Pick<
  ApigatewayOperations,
  | 'CreateRestApi'
  | 'GetRestApi'
  | 'GetRestApis'
  | 'UpdateRestApi'
  | 'DeleteRestApi'
  | 'CreateResource'
  | 'GetResource'
  | 'GetResources'
  | 'UpdateResource'
  | 'DeleteResource'
>;

export function restApiOut(api: ApiRecord): RestApi {
  return {
    id: api.id,
    name: api.name,
    ...(api.description !== undefined && { description: api.description }),
    ...(api.version !== undefined && { version: api.version }),
    createdDate: toDate(api.createdDate),
    ...(api.binaryMediaTypes.length > 0 && { binaryMediaTypes: api.binaryMediaTypes }),
    ...(api.minimumCompressionSize !== undefined && {
      minimumCompressionSize: api.minimumCompressionSize,
    }),
    apiKeySource: api.apiKeySource,
    endpointConfiguration: api.endpointConfiguration,
    ...(api.policy !== undefined && { policy: api.policy }),
    ...(Object.keys(api.tags).length > 0 && { tags: api.tags }),
    disableExecuteApiEndpoint: api.disableExecuteApiEndpoint,
    rootResourceId: api.rootResourceId,
  };
}

export function resourceOut(api: ApiRecord, r: ResourceRecord, embedMethods: boolean): Resource {
  const methods = Object.keys(r.methods);
  return {
    id: r.id,
    ...(r.parentId !== undefined && { parentId: r.parentId }),
    ...(r.pathPart !== undefined && { pathPart: r.pathPart }),
    path: resourcePath(api.resources, r.id),
    ...(methods.length > 0 && {
      resourceMethods: Object.fromEntries(
        methods.map((m) => [m, embedMethods ? clone(r.methods[m]) : {}]),
      ),
    }),
  };
}

/** A new, empty API document (what CreateRestApi and an OpenAPI import start from). */
export function newApiRecord(
  input: { name: string } & Partial<Omit<ApiRecord, 'id' | 'name'>>,
  now: number,
): ApiRecord {
  const rootResourceId = randomId(10);
  return {
    id: newApiId(),
    name: input.name,
    ...(input.description !== undefined && { description: input.description }),
    ...(input.version !== undefined && { version: input.version }),
    createdDate: now,
    binaryMediaTypes: input.binaryMediaTypes ?? [],
    ...(input.minimumCompressionSize !== undefined && {
      minimumCompressionSize: input.minimumCompressionSize,
    }),
    apiKeySource: input.apiKeySource ?? 'HEADER',
    endpointConfiguration: input.endpointConfiguration ?? { types: ['EDGE'] },
    ...(input.policy !== undefined && { policy: input.policy }),
    tags: input.tags ?? {},
    disableExecuteApiEndpoint: input.disableExecuteApiEndpoint ?? false,
    rootResourceId,
    resources: { [rootResourceId]: { id: rootResourceId, methods: {} } },
    models: defaultModels(),
    validators: {},
    authorizers: {},
    gatewayResponses: {},
  };
}

/** Every new REST API has the models `Empty` and `Error`, as on AWS. */
function defaultModels(): ApiRecord['models'] {
  return {
    Empty: {
      id: randomId(6),
      name: 'Empty',
      description: 'This is a default empty schema model',
      contentType: 'application/json',
      schema:
        '{\n  "$schema": "http://json-schema.org/draft-04/schema#",\n  "title" : "Empty Schema",\n  "type" : "object"\n}',
    },
    Error: {
      id: randomId(6),
      name: 'Error',
      description: 'This is a default error schema model',
      contentType: 'application/json',
      schema:
        '{\n  "$schema" : "http://json-schema.org/draft-04/schema#",\n  "title" : "Error Schema",\n  "type" : "object",\n  "properties" : {\n    "message" : { "type" : "string" }\n  }\n}',
    },
  };
}

/** Stores a new API (and its id in the id index, which the invoke URLs resolve). */
export async function insertApi(
  deps: ApigwDeps,
  scope: { account: string; region: string },
  api: ApiRecord,
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.put(T.apis, apiKey(scope, api.id), api);
    await tx.put(T.apiIds, api.id, scope);
  });
}

/** The path part rules: `{name}`, `{name+}` (greedy, last), or literal characters. */
function checkPathPart(part: string): void {
  if (!/^(\{[A-Za-z0-9._-]+\+?\}|[A-Za-z0-9._~:@!$&'()*,;=-]+)$/.test(part)) {
    throw new BadRequestException(
      "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.",
    );
  }
}

export function addResource(api: ApiRecord, parentId: string, pathPart: string): ResourceRecord {
  checkPathPart(pathPart);
  const parent = api.resources[parentId];
  if (!parent) throw new BadRequestException('Invalid Resource identifier specified');
  if (parent.pathPart?.endsWith('+}')) {
    throw new BadRequestException(
      'Cannot create a child of a resource with a greedy path variable',
    );
  }
  for (const r of Object.values(api.resources)) {
    if (r.parentId !== parentId) continue;
    const bothVars = r.pathPart?.startsWith('{') && pathPart.startsWith('{');
    if (r.pathPart === pathPart || bothVars) {
      throw new ConflictException(
        r.pathPart === pathPart
          ? `Another resource with the same parent already has this name: ${pathPart}`
          : `A sibling (${r.pathPart ?? ''}) of this resource already has a variable path part -- only one is allowed`,
      );
    }
  }
  const r: ResourceRecord = { id: randomId(6), parentId, pathPart, methods: {} };
  api.resources[r.id] = r;
  return r;
}

export function restApiOperations(deps: ApigwDeps): RestApiOps {
  const { store } = deps;
  return {
    async CreateRestApi(input, ctx) {
      const scope = scopeOf(ctx);
      const api = newApiRecord(
        {
          name: input.name,
          description: input.description,
          version: input.version,
          binaryMediaTypes: input.binaryMediaTypes,
          minimumCompressionSize: input.minimumCompressionSize,
          apiKeySource: input.apiKeySource,
          endpointConfiguration: input.endpointConfiguration,
          policy: input.policy,
          tags: input.tags,
          disableExecuteApiEndpoint: input.disableExecuteApiEndpoint,
        },
        deps.now(),
      );
      if (input.cloneFrom !== undefined) {
        const source = await getApi(store, scope, input.cloneFrom);
        api.rootResourceId = source.rootResourceId;
        api.resources = clone(source.resources);
        api.models = clone(source.models);
        api.validators = clone(source.validators);
        api.authorizers = clone(source.authorizers);
        api.gatewayResponses = clone(source.gatewayResponses);
      }
      await insertApi(deps, scope, api);
      return restApiOut(api);
    },

    async GetRestApi(input, ctx) {
      return restApiOut(await getApi(store, scopeOf(ctx), input.restApiId));
    },

    async GetRestApis(input, ctx) {
      const rows = await store.list<ApiRecord>(T.apis, { prefix: `${scopeKey(scopeOf(ctx))}:` });
      const page = pageOf(
        rows.map((r) => r.value),
        (a) => a.id,
        input.position,
        input.limit,
      );
      return {
        items: page.items.map(restApiOut),
        ...(page.position && { position: page.position }),
      };
    },

    async UpdateRestApi(input, ctx) {
      const out = await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        applyPatch(api as unknown as Record<string, unknown>, input.patchOperations, {
          name: 'string',
          description: 'string',
          version: 'string',
          policy: 'string',
          apiKeySource: 'string',
          minimumCompressionSize: 'number',
          disableExecuteApiEndpoint: 'boolean',
          binaryMediaTypes: 'list',
        });
        return restApiOut(api);
      });
      deps.changed(input.restApiId);
      return out;
    },

    async DeleteRestApi(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const key = apiKey(scope, input.restApiId);
        if (!(await tx.delete(T.apis, key))) throw notFound('API', scope, input.restApiId);
        await tx.delete(T.apiIds, input.restApiId);
        await tx.deletePrefix(T.deployments, `${key}:`);
        await tx.deletePrefix(T.stages, `${key}:`);
      });
      deps.changed(input.restApiId);
    },

    async CreateResource(input, ctx) {
      return mutateApi(deps, scopeOf(ctx), input.restApiId, (api) =>
        resourceOut(api, addResource(api, input.parentId, input.pathPart), false),
      );
    },

    async GetResource(input, ctx) {
      const scope = scopeOf(ctx);
      const api = await getApi(store, scope, input.restApiId);
      const embed = input.embed?.includes('methods') ?? false;
      return resourceOut(api, resourceOf(api, scope, input.resourceId), embed);
    },

    async GetResources(input, ctx) {
      const api = await getApi(store, scopeOf(ctx), input.restApiId);
      const embed = input.embed?.includes('methods') ?? false;
      const all = Object.values(api.resources).map((r) => resourceOut(api, r, embed));
      all.sort((a, b) => ((a.path ?? '') < (b.path ?? '') ? -1 : 1));
      const page = pageOf(all, (r) => r.path ?? '', input.position, input.limit ?? 500);
      return { items: page.items, ...(page.position && { position: page.position }) };
    },

    async UpdateResource(input, ctx) {
      const scope = scopeOf(ctx);
      return mutateApi(deps, scope, input.restApiId, (api) => {
        const r = resourceOf(api, scope, input.resourceId);
        for (const op of input.patchOperations ?? []) {
          if (op.path === '/pathPart' && op.value !== undefined) {
            checkPathPart(op.value);
            r.pathPart = op.value;
          } else if (op.path === '/parentId' && op.value !== undefined) {
            resourceOf(api, scope, op.value);
            r.parentId = op.value;
          } else {
            throw new BadRequestException(`Invalid patch path '${op.path ?? ''}'`);
          }
        }
        return resourceOut(api, r, false);
      });
    },

    async DeleteResource(input, ctx) {
      const scope = scopeOf(ctx);
      await mutateApi(deps, scope, input.restApiId, (api) => {
        resourceOf(api, scope, input.resourceId);
        if (input.resourceId === api.rootResourceId) {
          throw new BadRequestException('Cannot delete the root resource');
        }
        // A resource goes with its descendants.
        const doomed = new Set([input.resourceId]);
        for (let grew = true; grew;) {
          grew = false;
          for (const r of Object.values(api.resources)) {
            if (r.parentId !== undefined && doomed.has(r.parentId) && !doomed.has(r.id)) {
              doomed.add(r.id);
              grew = true;
            }
          }
        }
        for (const id of doomed) delete api.resources[id];
      });
    },
  };
}
