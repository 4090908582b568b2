/**
 * OpenAPI in and out: ImportRestApi / PutRestApi read an OpenAPI 3 (or Swagger 2)
 * document, JSON or YAML, with API Gateway's extensions; GetExport writes the deployed
 * stage as OpenAPI 3 (`oas30`) or Swagger 2 (`swagger`), with the extensions when asked
 * (`extensions=integrations|apigateway|authorizers`).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-export-api.html
 */
import { dump, load } from 'js-yaml';
import { BadRequestException, NotFoundException } from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type { Authorizer, IntegrationResponse, Method } from '../../api/apigateway/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { randomId } from '../apigateway-shared/ids.js';
import { type ApigwDeps, getApi, mutateApi, resourcePath, scopeOf } from './common.js';
import { buildAuthorizer } from './definitions.js';
import { buildIntegration, buildMethod } from './methods.js';
import { addResource, insertApi, newApiRecord, restApiOut } from './rest-apis.js';
import {
  type ApiDefinition,
  type ApiRecord,
  childKey,
  type DeploymentRecord,
  type StageRecord,
  T,
} from './store.js';

type OpenApiOps = Pick<ApigatewayOperations, 'ImportRestApi' | 'PutRestApi' | 'GetExport'>;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Json => (isObj(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strMap = (v: unknown): Record<string, string> | undefined =>
  isObj(v)
    ? Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]),
      )
    : undefined;

const OPERATIONS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];
const ANY = 'x-amazon-apigateway-any-method';

function parseDocument(body: Uint8Array): Json {
  const text = Buffer.from(body).toString('utf8');
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : load(text);
  } catch {
    throw new BadRequestException('Invalid OpenAPI input.');
  }
  if (!isObj(doc) || (doc.openapi === undefined && doc.swagger === undefined)) {
    throw new BadRequestException(
      'Invalid OpenAPI input. The document must be an OpenAPI 3 or Swagger 2.0 definition.',
    );
  }
  if (!isObj(doc.paths)) throw new BadRequestException('Invalid OpenAPI input: no paths');
  return doc;
}

/** Security scheme name → what it means for a method (authorizer, IAM, API key). */
type Scheme = { kind: 'authorizer'; id: string } | { kind: 'iam' } | { kind: 'apiKey' };

/** Writes the document's definition into `api` (a new API, or one PutRestApi changes). */
function applyDocument(api: ApiRecord, doc: Json, mode: 'overwrite' | 'merge'): string[] {
  const warnings: string[] = [];
  const info = obj(doc.info);
  if (mode === 'overwrite') {
    const root = api.rootResourceId;
    api.resources = { [root]: { id: root, methods: {} } };
    api.authorizers = {};
    api.validators = {};
    api.gatewayResponses = {};
  }
  if (str(info.title)) api.name = str(info.title) as string;
  if (str(info.description)) api.description = str(info.description);
  if (str(info.version)) api.version = str(info.version);
  const binary = doc['x-amazon-apigateway-binary-media-types'];
  if (Array.isArray(binary))
    api.binaryMediaTypes = binary.filter((b): b is string => typeof b === 'string');
  const keySource = str(doc['x-amazon-apigateway-api-key-source']);
  if (keySource === 'HEADER' || keySource === 'AUTHORIZER') api.apiKeySource = keySource;
  if (doc['x-amazon-apigateway-policy'] !== undefined) {
    api.policy = JSON.stringify(doc['x-amazon-apigateway-policy']);
  }

  // Models: components.schemas (OpenAPI 3) or definitions (Swagger 2).
  const components = obj(doc.components);
  const schemas = { ...obj(doc.definitions), ...obj(components.schemas) };
  for (const [name, schema] of Object.entries(schemas)) {
    const text = JSON.stringify(schema).replace(
      /"#\/(?:components\/schemas|definitions)\/([^"]+)"/g,
      `"https://apigateway.amazonaws.com/restapis/${api.id}/models/$1"`,
    );
    api.models[name] = {
      id: api.models[name]?.id ?? randomId(6),
      name,
      contentType: 'application/json',
      schema: text,
    };
  }

  // Request validators.
  const validatorIds = new Map<string, string>();
  for (const [name, v] of Object.entries(obj(doc['x-amazon-apigateway-request-validators']))) {
    const id = randomId(6);
    api.validators[id] = {
      id,
      name,
      validateRequestBody: obj(v).validateRequestBody === true,
      validateRequestParameters: obj(v).validateRequestParameters === true,
    };
    validatorIds.set(name, id);
  }
  const defaultValidator = str(doc['x-amazon-apigateway-request-validator']);

  // Security schemes: Lambda authorizers, SigV4, API keys.
  const schemes = new Map<string, Scheme>();
  const securitySchemes = { ...obj(doc.securityDefinitions), ...obj(components.securitySchemes) };
  for (const [name, raw] of Object.entries(securitySchemes)) {
    const s = obj(raw);
    const ext = obj(s['x-amazon-apigateway-authorizer']);
    const authType = str(s['x-amazon-apigateway-authtype']);
    if (Object.keys(ext).length > 0) {
      const type = (str(ext.type) ?? 'token').toUpperCase();
      const identitySource =
        str(ext.identitySource) ??
        (type === 'TOKEN' && str(s.name)
          ? `method.request.header.${str(s.name) ?? ''}`
          : undefined);
      const a: Authorizer = buildAuthorizer({
        name,
        type:
          type === 'REQUEST'
            ? 'REQUEST'
            : type === 'COGNITO_USER_POOLS'
              ? 'COGNITO_USER_POOLS'
              : 'TOKEN',
        ...(str(ext.authorizerUri) && { authorizerUri: str(ext.authorizerUri) }),
        ...(str(ext.authorizerCredentials) && {
          authorizerCredentials: str(ext.authorizerCredentials),
        }),
        ...(identitySource && { identitySource }),
        ...(str(ext.identityValidationExpression) && {
          identityValidationExpression: str(ext.identityValidationExpression),
        }),
        ...(typeof ext.authorizerResultTtlInSeconds === 'number' && {
          authorizerResultTtlInSeconds: ext.authorizerResultTtlInSeconds,
        }),
        ...(authType && { authType }),
      });
      api.authorizers[a.id ?? ''] = a;
      schemes.set(name, { kind: 'authorizer', id: a.id ?? '' });
    } else if (authType === 'awsSigv4') {
      schemes.set(name, { kind: 'iam' });
    } else if (s.type === 'apiKey') {
      schemes.set(name, { kind: 'apiKey' });
    }
  }
  const globalSecurity = Array.isArray(doc.security) ? doc.security : undefined;

  // Paths.
  for (const [path, rawItem] of Object.entries(obj(doc.paths))) {
    const item = obj(rawItem);
    const resourceId = ensureResource(api, path);
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const [verb, rawOp] of Object.entries(item)) {
      const httpMethod =
        verb === ANY ? 'ANY' : OPERATIONS.includes(verb) ? verb.toUpperCase() : undefined;
      if (!httpMethod) continue;
      const op = obj(rawOp);
      const security = Array.isArray(op.security) ? op.security : globalSecurity;
      let authorizationType = 'NONE';
      let authorizerId: string | undefined;
      let apiKeyRequired = false;
      for (const req of security ?? []) {
        for (const name of Object.keys(obj(req))) {
          const s = schemes.get(name);
          if (s?.kind === 'apiKey') apiKeyRequired = true;
          else if (s?.kind === 'iam') authorizationType = 'AWS_IAM';
          else if (s?.kind === 'authorizer') {
            authorizationType =
              api.authorizers[s.id]?.type === 'COGNITO_USER_POOLS'
                ? 'COGNITO_USER_POOLS'
                : 'CUSTOM';
            authorizerId = s.id;
          }
        }
      }
      const requestParameters: Record<string, boolean> = {};
      for (const p of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
        const param = obj(p);
        const where = str(param.in);
        const name = str(param.name);
        if (!name || !where || where === 'body') continue;
        const kind = where === 'query' ? 'querystring' : where;
        requestParameters[`method.request.${kind}.${name}`] = param.required === true;
      }
      const requestModels: Record<string, string> = {};
      for (const [type, media] of Object.entries(obj(obj(op.requestBody).content))) {
        const ref = str(obj(obj(media).schema).$ref);
        if (ref) requestModels[type] = ref.split('/').pop() ?? '';
      }
      for (const p of Array.isArray(op.parameters) ? op.parameters : []) {
        const ref = str(obj(obj(p).schema).$ref);
        if (obj(p).in === 'body' && ref)
          requestModels['application/json'] = ref.split('/').pop() ?? '';
      }
      const validatorName = str(op['x-amazon-apigateway-request-validator']) ?? defaultValidator;
      const method: Method = buildMethod(api, {
        httpMethod,
        authorizationType,
        ...(authorizerId && { authorizerId }),
        apiKeyRequired,
        ...(str(op.operationId) && { operationName: str(op.operationId) }),
        ...(Object.keys(requestParameters).length > 0 && { requestParameters }),
        ...(Object.keys(requestModels).length > 0 && { requestModels }),
        ...(validatorName &&
          validatorIds.has(validatorName) && {
            requestValidatorId: validatorIds.get(validatorName),
          }),
      });
      method.methodResponses = {};
      for (const [code, rawResp] of Object.entries(obj(op.responses))) {
        if (!/^\d{3}$/.test(code)) continue;
        const headers = Object.keys(obj(obj(rawResp).headers));
        method.methodResponses[code] = {
          statusCode: code,
          ...(headers.length > 0 && {
            responseParameters: Object.fromEntries(
              headers.map((h) => [`method.response.header.${h}`, false]),
            ),
          }),
        };
      }
      const ext = obj(op['x-amazon-apigateway-integration']);
      if (Object.keys(ext).length > 0) {
        const type = (str(ext.type) ?? '').toUpperCase();
        if (!['HTTP', 'HTTP_PROXY', 'AWS', 'AWS_PROXY', 'MOCK'].includes(type)) {
          throw new BadRequestException(
            `Invalid integration type ${str(ext.type) ?? ''} on ${httpMethod} ${path}`,
          );
        }
        const integration = buildIntegration(resourceId, {
          type: type as 'HTTP',
          ...(str(ext.httpMethod) && { integrationHttpMethod: str(ext.httpMethod) }),
          ...(str(ext.uri) && { uri: str(ext.uri) }),
          ...(strMap(ext.requestParameters) && {
            requestParameters: strMap(ext.requestParameters),
          }),
          ...(strMap(ext.requestTemplates) && { requestTemplates: strMap(ext.requestTemplates) }),
          ...(str(ext.passthroughBehavior) && {
            passthroughBehavior: str(ext.passthroughBehavior)?.toUpperCase(),
          }),
          ...(typeof ext.timeoutInMillis === 'number' && { timeoutInMillis: ext.timeoutInMillis }),
          ...(str(ext.contentHandling) && {
            contentHandling: str(ext.contentHandling) as 'CONVERT_TO_TEXT',
          }),
          ...(str(ext.credentials) && { credentials: str(ext.credentials) }),
          ...(Array.isArray(ext.cacheKeyParameters) && {
            cacheKeyParameters: ext.cacheKeyParameters as string[],
          }),
        });
        const responses: Record<string, IntegrationResponse> = {};
        for (const [pattern, rawResp] of Object.entries(obj(ext.responses))) {
          const r = obj(rawResp);
          const statusCode = String(r.statusCode ?? '200');
          responses[statusCode] = {
            statusCode,
            ...(pattern !== 'default' && { selectionPattern: pattern }),
            ...(strMap(r.responseParameters) && {
              responseParameters: strMap(r.responseParameters),
            }),
            ...(strMap(r.responseTemplates) && { responseTemplates: strMap(r.responseTemplates) }),
          };
        }
        if (Object.keys(responses).length > 0) integration.integrationResponses = responses;
        method.methodIntegration = integration;
      } else {
        warnings.push(`No integration defined for method ${httpMethod} ${path}`);
      }
      const r = api.resources[resourceId];
      if (r) r.methods[httpMethod] = method;
    }
  }

  // Gateway responses.
  for (const [type, raw] of Object.entries(obj(doc['x-amazon-apigateway-gateway-responses']))) {
    const r = obj(raw);
    api.gatewayResponses[type] = {
      responseType: type as 'DEFAULT_4XX',
      ...(r.statusCode !== undefined && { statusCode: String(r.statusCode) }),
      responseParameters: strMap(r.responseParameters) ?? {},
      responseTemplates: strMap(r.responseTemplates) ?? {},
    };
  }
  return warnings;
}

/** The resource of `path`, created (with its ancestors) when missing. */
function ensureResource(api: ApiRecord, path: string): string {
  let id = api.rootResourceId;
  for (const part of path.split('/').filter((p) => p !== '')) {
    const child = Object.values(api.resources).find(
      (r) => r.parentId === id && r.pathPart === part,
    );
    id = child ? child.id : addResource(api, id, part).id;
  }
  return id;
}

/** The deployed definition as OpenAPI 3 or Swagger 2. */
export function exportDocument(
  api: ApiRecord,
  def: ApiDefinition,
  stage: string,
  endpoint: string,
  kind: 'oas30' | 'swagger',
  extensions: boolean,
): Json {
  const oas = kind === 'oas30';
  const paths: Json = {};
  const usedSchemes = new Map<string, Json>();
  for (const r of Object.values(def.resources)) {
    if (Object.keys(r.methods).length === 0) continue;
    const item: Json = {};
    for (const [verb, m] of Object.entries(r.methods)) {
      const op: Json = {};
      if (m.operationName) op.operationId = m.operationName;
      const parameters = Object.entries(m.requestParameters ?? {}).map(([name, required]) => {
        const [, , where = '', ...rest] = name.split('.');
        return {
          name: rest.join('.'),
          in: where === 'querystring' ? 'query' : where,
          required: where === 'path' ? true : required,
          ...(oas ? { schema: { type: 'string' } } : { type: 'string' }),
        };
      });
      if (parameters.length > 0) op.parameters = parameters;
      const models = Object.entries(m.requestModels ?? {});
      if (models.length > 0 && oas) {
        op.requestBody = {
          content: Object.fromEntries(
            models.map(([t, name]) => [t, { schema: { $ref: `#/components/schemas/${name}` } }]),
          ),
          required: true,
        };
      }
      const responses: Json = {};
      for (const [code, mr] of Object.entries(m.methodResponses ?? {})) {
        const headers = Object.keys(mr.responseParameters ?? {}).map((h) =>
          h.replace('method.response.header.', ''),
        );
        responses[code] = {
          description: `${code} response`,
          ...(headers.length > 0 && {
            headers: Object.fromEntries(
              headers.map((h) => [h, oas ? { schema: { type: 'string' } } : { type: 'string' }]),
            ),
          }),
        };
      }
      op.responses = Object.keys(responses).length > 0 ? responses : {};
      const security: Json[] = [];
      if (m.authorizationType === 'CUSTOM' && m.authorizerId && def.authorizers[m.authorizerId]) {
        const a = def.authorizers[m.authorizerId] as Authorizer;
        const name = a.name ?? a.id ?? 'authorizer';
        security.push({ [name]: [] });
        usedSchemes.set(name, authorizerScheme(a, extensions));
      }
      if (m.authorizationType === 'AWS_IAM') {
        security.push({ sigv4: [] });
        usedSchemes.set('sigv4', {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        });
      }
      if (m.apiKeyRequired) {
        security.push({ api_key: [] });
        usedSchemes.set('api_key', { type: 'apiKey', name: 'x-api-key', in: 'header' });
      }
      if (security.length > 0) op.security = security;
      const i = m.methodIntegration;
      if (extensions && i) {
        const ext: Json = { type: i.type?.toLowerCase() };
        if (i.httpMethod) ext.httpMethod = i.httpMethod;
        if (i.uri) ext.uri = i.uri;
        if (i.requestParameters) ext.requestParameters = i.requestParameters;
        if (i.requestTemplates) ext.requestTemplates = i.requestTemplates;
        if (i.passthroughBehavior) ext.passthroughBehavior = i.passthroughBehavior.toLowerCase();
        if (i.timeoutInMillis !== undefined) ext.timeoutInMillis = i.timeoutInMillis;
        if (i.contentHandling) ext.contentHandling = i.contentHandling;
        const rs = Object.values(i.integrationResponses ?? {});
        if (rs.length > 0) {
          ext.responses = Object.fromEntries(
            rs.map((x) => [
              x.selectionPattern || 'default',
              {
                statusCode: x.statusCode,
                ...(x.responseParameters && { responseParameters: x.responseParameters }),
                ...(x.responseTemplates && { responseTemplates: x.responseTemplates }),
              },
            ]),
          );
        }
        op['x-amazon-apigateway-integration'] = ext;
      }
      item[verb === 'ANY' ? ANY : verb.toLowerCase()] = op;
    }
    paths[resourcePath(def.resources, r.id)] = item;
  }
  const schemas = Object.fromEntries(
    Object.values(def.models).map((m) => {
      let schema: unknown = {};
      try {
        schema = JSON.parse(
          (m.schema ?? '{}').replace(
            /"https:\/\/apigateway\.amazonaws\.com\/restapis\/[^/]+\/models\/([^"]+)"/g,
            oas ? '"#/components/schemas/$1"' : '"#/definitions/$1"',
          ),
        );
      } catch {
        schema = {};
      }
      return [m.name ?? '', schema];
    }),
  );
  const info = {
    title: api.name,
    ...(api.description !== undefined && { description: api.description }),
    version: api.version ?? new Date(api.createdDate).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const url = new URL(endpoint);
  const doc: Json = oas
    ? {
        openapi: '3.0.1',
        info,
        servers: [{ url: `${endpoint}/{basePath}`, variables: { basePath: { default: stage } } }],
        paths,
        components: {
          schemas,
          ...(usedSchemes.size > 0 && { securitySchemes: Object.fromEntries(usedSchemes) }),
        },
      }
    : {
        swagger: '2.0',
        info,
        host: url.host,
        basePath: `/${stage}`,
        schemes: [url.protocol.replace(':', '')],
        paths,
        definitions: schemas,
        ...(usedSchemes.size > 0 && { securityDefinitions: Object.fromEntries(usedSchemes) }),
      };
  if (extensions) {
    if (def.binaryMediaTypes.length > 0)
      doc['x-amazon-apigateway-binary-media-types'] = def.binaryMediaTypes;
    if (def.apiKeySource !== 'HEADER') doc['x-amazon-apigateway-api-key-source'] = def.apiKeySource;
    const validators = Object.values(def.validators);
    if (validators.length > 0) {
      doc['x-amazon-apigateway-request-validators'] = Object.fromEntries(
        validators.map((v) => [
          v.name ?? v.id ?? '',
          {
            validateRequestBody: v.validateRequestBody ?? false,
            validateRequestParameters: v.validateRequestParameters ?? false,
          },
        ]),
      );
    }
    const responses = Object.values(def.gatewayResponses);
    if (responses.length > 0) {
      doc['x-amazon-apigateway-gateway-responses'] = Object.fromEntries(
        responses.map((r) => [
          r.responseType ?? '',
          {
            ...(r.statusCode !== undefined && { statusCode: r.statusCode }),
            responseParameters: r.responseParameters ?? {},
            responseTemplates: r.responseTemplates ?? {},
          },
        ]),
      );
    }
  }
  return doc;
}

function authorizerScheme(a: Authorizer, extensions: boolean): Json {
  const header = /^method\.request\.header\.(.+)$/.exec(a.identitySource ?? '')?.[1];
  return {
    type: 'apiKey',
    name: header ?? 'Unused',
    in: 'header',
    'x-amazon-apigateway-authtype': a.authType ?? 'custom',
    ...(extensions && {
      'x-amazon-apigateway-authorizer': {
        type: (a.type ?? 'TOKEN').toLowerCase(),
        ...(a.authorizerUri && { authorizerUri: a.authorizerUri }),
        ...(a.identitySource && { identitySource: a.identitySource }),
        ...(a.identityValidationExpression && {
          identityValidationExpression: a.identityValidationExpression,
        }),
        authorizerResultTtlInSeconds: a.authorizerResultTtlInSeconds ?? 300,
      },
    }),
  };
}

export function openApiOperations(deps: ApigwDeps): OpenApiOps {
  const { store } = deps;
  return {
    async ImportRestApi(input, ctx) {
      const doc = parseDocument(input.body);
      const endpointTypes = input.parameters?.endpointConfigurationTypes;
      const api = newApiRecord(
        {
          name: str(obj(doc.info).title) ?? 'imported',
          ...(endpointTypes && { endpointConfiguration: { types: [endpointTypes as 'REGIONAL'] } }),
        },
        deps.now(),
      );
      const warnings = applyDocument(api, doc, 'overwrite');
      if (warnings.length > 0 && input.failOnWarnings) {
        throw new BadRequestException(`Warnings found during import:\n\t${warnings.join('\n\t')}`);
      }
      await insertApi(deps, scopeOf(ctx), api);
      return { ...restApiOut(api), ...(warnings.length > 0 && { warnings }) };
    },

    async PutRestApi(input, ctx) {
      const doc = parseDocument(input.body);
      const out = await mutateApi(deps, scopeOf(ctx), input.restApiId, (api) => {
        const warnings = applyDocument(
          api,
          doc,
          input.mode === 'overwrite' ? 'overwrite' : 'merge',
        );
        if (warnings.length > 0 && input.failOnWarnings) {
          throw new BadRequestException(
            `Warnings found during import:\n\t${warnings.join('\n\t')}`,
          );
        }
        return { ...restApiOut(api), ...(warnings.length > 0 && { warnings }) };
      });
      deps.changed(input.restApiId);
      return out;
    },

    async GetExport(input, ctx) {
      const scope = scopeOf(ctx);
      const kind = input.exportType;
      if (kind !== 'oas30' && kind !== 'swagger') {
        throw new BadRequestException(`No export type available for ${kind}`);
      }
      const api = await getApi(store, scope, input.restApiId);
      const def = await deployedDefinition(store, scope, api.id, input.stageName);
      const ext = input.parameters?.extensions ?? '';
      const withExtensions = /integrations|apigateway|authorizers/.test(ext);
      // The host form of the invoke URL, as AWS exports `https://<id>.execute-api.<region>.amazonaws.com`.
      const local = new URL(deps.endpoint());
      const endpoint = `${local.protocol}//${api.id}.execute-api.localhost${local.port ? `:${local.port}` : ''}`;
      const doc = exportDocument(api, def, input.stageName, endpoint, kind, withExtensions);
      const yaml = (input.accepts ?? '').includes('yaml');
      const body = yaml ? dump(doc) : JSON.stringify(doc, null, 2);
      return {
        contentType: yaml ? 'application/yaml' : 'application/json',
        contentDisposition: `attachment; filename="${kind}_${new Date().toISOString().slice(0, 10)}.${yaml ? 'yaml' : 'json'}"`,
        body: Buffer.from(body, 'utf8'),
      };
    },
  };
}

async function deployedDefinition(
  ops: MetadataOps,
  scope: { account: string; region: string },
  apiId: string,
  stageName: string,
): Promise<ApiDefinition> {
  const stage = await ops.get<StageRecord>(T.stages, childKey(scope, apiId, stageName));
  if (!stage) throw new NotFoundException('Invalid stage identifier specified');
  const d = await ops.get<DeploymentRecord>(
    T.deployments,
    childKey(scope, apiId, stage.deploymentId),
  );
  if (!d) throw new NotFoundException('Invalid Deployment identifier specified');
  return d.definition;
}
