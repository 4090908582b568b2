/**
 * The invoke path of REST APIs (the `executeApis` backend): a request to
 * `<api-id>.execute-api.localhost/<stage>/<path>` (or the path form) goes through the
 * steps a deployed REST API takes, in AWS's order:
 *   stage → 10 MB limit → resource and method → stage/method throttling → authorization
 *   (NONE, AWS_IAM, CUSTOM) → API key and usage plan → request validation → integration
 *   → response; then the access log line and the stage's metrics.
 * Anything refused on the way is a gateway response (gateway-responses.ts).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecuteApiBackend, ExecuteApiTarget } from '../../../gateway/execute-api.js';
import { readBody } from '../../../gateway/body.js';
import type { Logger } from '../../../shared/log.js';
import { AwsError } from '../../../shared/errors.js';
import type { MetadataStore } from '../../../storage/types.js';
import type { RequestAuthenticator } from '../../plugin.js';
import {
  type AccessLogWriter,
  type ApiContext,
  clfTime,
  formatAccessLog,
} from '../../apigateway-shared/context-vars.js';
import { executeApiArn, type ApiLambdaInvoker } from '../../apigateway-shared/lambda.js';
import type { StageMetrics } from '../../apigateway-shared/stage-metrics.js';
import type { TokenBuckets } from '../../apigateway-shared/throttle.js';
import type { ApiDefinition, ApiRecord, DeploymentRecord, Scope, StageRecord } from '../store.js';
import { apiKey, childKey, T } from '../store.js';
import { Authorizers } from './authorizers.js';
import { gatewayReply, type GatewayErrorInput } from './gateway-responses.js';
import { header, Integrations, type IntegrationResult } from './integrations.js';
import { ApiKeyGate } from './keys.js';
import type { IncomingRequest } from './proxy-event.js';
import { Router } from './router.js';
import type { TemplateParams } from './vtl.js';
import type { UsageMeter } from '../usage.js';
import { validateRequest as validateRequestFor } from './validation.js';
import { logGroupOf } from '../../apigateway-shared/context-vars.js';
import { BoundedMap } from '../../../shared/bounded-map.js';

/** "API Gateway has a 10 MB payload limit." */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** AWS's account-level default throttle (requests per second, burst). */
const ACCOUNT_RATE = 10_000;
const ACCOUNT_BURST = 5_000;

export interface RestDataPlaneDeps {
  store: MetadataStore;
  lambda: ApiLambdaInvoker;
  signatures: RequestAuthenticator;
  accessLogs: AccessLogWriter;
  metrics: StageMetrics;
  usage: UsageMeter;
  buckets: TokenBuckets;
  log: Logger;
}

interface DeployedStage {
  scope: Scope;
  apiName: string;
  /** disableExecuteApiEndpoint: the default endpoint answers 403 Forbidden. */
  disabled: boolean;
  stage: StageRecord;
  definition: ApiDefinition;
  router: Router;
}

export class RestApiBackend implements ExecuteApiBackend {
  private readonly scopes = new BoundedMap<string, Scope | null>(10_000);
  private readonly stages = new Map<string, Promise<DeployedStage | undefined>>();
  private readonly integrations: Integrations;
  readonly authorizers: Authorizers;
  private readonly keys: ApiKeyGate;

  constructor(private readonly deps: RestDataPlaneDeps) {
    this.integrations = new Integrations(deps.lambda);
    this.authorizers = new Authorizers(deps.lambda);
    this.keys = new ApiKeyGate(deps.store, deps.buckets, deps.usage);
  }

  /** Something deployed changed: forget what was cached (of one API, or all). */
  changed(apiId?: string): void {
    if (apiId === undefined) {
      this.stages.clear();
      this.scopes.clear();
      this.authorizers.cache.clear();
    } else {
      for (const k of this.stages.keys()) if (k.startsWith(`${apiId}/`)) this.stages.delete(k);
      this.scopes.delete(apiId);
      this.authorizers.cache.clear(`${apiId}/`);
    }
    this.keys.clear();
  }

  async owns(apiId: string): Promise<boolean> {
    return (await this.scopeOf(apiId)) !== undefined;
  }

  private async scopeOf(apiId: string): Promise<Scope | undefined> {
    let s = this.scopes.get(apiId);
    if (s === undefined) {
      s = (await this.deps.store.get<Scope>(T.apiIds, apiId)) ?? null;
      // Unknown ids are remembered too (invoke URLs are public): the map is bounded.
      this.scopes.set(apiId, s);
    }
    return s ?? undefined;
  }

  private deployed(
    scope: Scope,
    apiId: string,
    stageName: string,
  ): Promise<DeployedStage | undefined> {
    const memo = `${apiId}/${stageName}`;
    let p = this.stages.get(memo);
    if (!p) {
      p = (async () => {
        const { store } = this.deps;
        const stage = await store.get<StageRecord>(T.stages, childKey(scope, apiId, stageName));
        if (!stage) return undefined;
        const d = await store.get<DeploymentRecord>(
          T.deployments,
          childKey(scope, apiId, stage.deploymentId),
        );
        const api = await store.get<ApiRecord>(T.apis, apiKey(scope, apiId));
        if (!d || !api) return undefined;
        return {
          scope,
          apiName: api.name,
          disabled: api.disableExecuteApiEndpoint,
          stage,
          definition: d.definition,
          router: new Router(d.definition),
        };
      })();
      // A stage that is not there is not remembered: any name can be asked for.
      p.then(
        (deployed) => {
          if (deployed === undefined && this.stages.get(memo) === p) this.stages.delete(memo);
        },
        () => this.stages.delete(memo),
      );
      this.stages.set(memo, p);
    }
    return p;
  }

  async handle(req: IncomingMessage, res: ServerResponse, target: ExecuteApiTarget): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    const scope = await this.scopeOf(target.apiId);
    const segments = target.path.split('/').slice(1);
    const stageName = decodeURIComponent(segments[0] ?? '');
    const deployed =
      scope && stageName !== '' ? await this.deployed(scope, target.apiId, stageName) : undefined;
    const rest = segments.slice(1);
    const path = `/${rest.map(safeDecode).join('/')}`;
    const host = req.headers.host ?? `${target.apiId}.execute-api.localhost`;
    const context: ApiContext = {
      accountId: scope?.account ?? '',
      apiId: target.apiId,
      domainName: host.replace(/:\d+$/, ''),
      domainPrefix: target.apiId,
      extendedRequestId: randomUUID().replace(/-/g, '').slice(0, 16) + '=',
      httpMethod: req.method ?? 'GET',
      path: `/${stageName}${path}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId,
      requestTime: clfTime(started),
      requestTimeEpoch: started,
      stage: stageName,
      identity: {
        sourceIp: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
        userAgent: req.headers['user-agent'] ?? null,
        caller: null,
        user: null,
        userArn: null,
        accountId: null,
        accessKey: null,
      },
    };
    const headers = headerList(req);
    const query = queryList(target.query);
    const params: TemplateParams = {
      path: {},
      querystring: Object.fromEntries(query.map(([k, vs]) => [k, vs[vs.length - 1] ?? ''])),
      header: Object.fromEntries(headers.map(([k, vs]) => [k, vs.join(',')])),
    };
    const stageVariables = deployed?.stage.variables ?? {};
    const timing: { integration?: number } = {};

    const send = (status: number, outHeaders: [string, string][], body: Buffer | string) => {
      const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const h: Record<string, string | string[]> = {};
      for (const [k, v] of outHeaders) {
        const lower = k.toLowerCase();
        if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection')
          continue;
        const prev = h[k];
        h[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      h['x-amzn-RequestId'] = requestId;
      h['x-amz-apigw-id'] = String(context.extendedRequestId);
      h['Content-Length'] = String(buf.length);
      if (!res.headersSent) res.writeHead(status, h);
      res.end(req.method === 'HEAD' ? undefined : buf);
      this.record(deployed, target.apiId, context, status, buf.length, started, timing.integration);
    };
    const fail = (e: Omit<GatewayErrorInput, 'context' | 'params' | 'stageVariables'>) => {
      const r = gatewayReply(deployed?.definition, { ...e, context, params, stageVariables });
      send(r.status, Object.entries(r.headers), r.body);
    };

    if (!deployed) {
      req.resume();
      return fail({
        type: 'MISSING_AUTHENTICATION_TOKEN',
        message: 'Missing Authentication Token',
      });
    }
    if (deployed.disabled) {
      req.resume();
      return fail({ type: 'DEFAULT_4XX', status: 403, message: 'Forbidden' });
    }
    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === 'too-large') {
      return fail({ type: 'REQUEST_TOO_LARGE', message: 'Request Too Long' });
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const { route } = deployed.router.match(rest.map(safeDecode), method);
    if (!route) {
      return fail({
        type: 'MISSING_AUTHENTICATION_TOKEN',
        message: 'Missing Authentication Token',
      });
    }
    params.path = route.pathParameters;
    context.resourceId = route.resource.id;
    context.resourcePath = route.resourcePath;
    const def = deployed.definition;
    const contentType = header({ headers }, 'content-type');
    const request: IncomingRequest = {
      method,
      path,
      headers,
      query,
      body,
      binary: isBinary(def.binaryMediaTypes, contentType),
    };
    const methodArn = executeApiArn(
      deployed.scope.region,
      deployed.scope.account,
      target.apiId,
      stageName,
      method,
      path,
    );
    const methodKey = `${route.resourcePath}/${method}`;

    // Stage and method throttling (methodSettings: `~1items/GET`, `*/*`).
    const settings = deployed.stage.methodSettings;
    const ms = settings[`${route.resourcePath.replace(/\//g, '~1')}/${method}`] ?? settings['*/*'];
    const rate = Math.min(ms?.throttlingRateLimit ?? ACCOUNT_RATE, ACCOUNT_RATE);
    const burst = Math.min(ms?.throttlingBurstLimit ?? ACCOUNT_BURST, ACCOUNT_BURST);
    if (!this.deps.buckets.take(`stage/${target.apiId}/${stageName}/${methodKey}`, rate, burst)) {
      return fail({ type: 'THROTTLED', message: 'Too Many Requests' });
    }

    // Authorization.
    let authorizerContext: Record<string, string | number | boolean> | undefined;
    let usageKey: string | undefined;
    const auth = route.method.authorizationType ?? 'NONE';
    if (auth === 'AWS_IAM') {
      const q = (req.url ?? '').indexOf('?');
      const who = await this.deps.signatures.authenticate(
        {
          method,
          path: q < 0 ? (req.url ?? '/') : (req.url ?? '').slice(0, q),
          rawQuery: target.query,
          headers: req.headers as Record<string, string>,
        },
        body,
        // The service whose signing name is `execute-api` (the gateway looks services up by name).
        'apigatewaymanagementapi',
      );
      if (who === undefined)
        return fail({
          type: 'MISSING_AUTHENTICATION_TOKEN',
          message: 'Missing Authentication Token',
        });
      if (who instanceof AwsError) return fail({ type: 'INVALID_SIGNATURE', message: who.message });
      const refused = await this.deps.signatures.authorize(
        {
          principal: who.principal,
          account: who.account,
          region: deployed.scope.region,
          action: 'execute-api:Invoke',
          resource: methodArn,
          sourceIp: String(context.identity.sourceIp),
        },
        'rest-json',
      );
      if (refused)
        return fail({ type: 'ACCESS_DENIED', message: refused.message, messageKey: 'Message' });
      Object.assign(context.identity, {
        caller: who.principal.userId,
        user: who.principal.userId,
        userArn: who.principal.arn,
        accountId: who.account,
        accessKey: who.accessKeyId,
      });
    } else if (auth === 'CUSTOM') {
      const authorizer = def.authorizers[route.method.authorizerId ?? ''];
      if (!authorizer) return fail({ type: 'AUTHORIZER_CONFIGURATION_ERROR', message: null });
      const result = await this.authorizers.authorize({
        authorizer,
        apiId: target.apiId,
        account: deployed.scope.account,
        region: deployed.scope.region,
        methodArn,
        request,
        pathParameters: route.pathParameters,
        stageVariables,
        context,
        requestEvent: () =>
          requestEventOf(
            request,
            route.resourcePath,
            route.pathParameters,
            stageVariables,
            context,
          ),
        log: (line) => this.executionLog(deployed, target.apiId, line),
      });
      if (result.kind === 'refuse') return fail(result);
      authorizerContext = result.context;
      context.authorizer = { ...result.context };
      usageKey = result.usageIdentifierKey;
    } else if (auth !== 'NONE') {
      // COGNITO_USER_POOLS: no user pools here; refusing beats letting everyone in.
      this.executionLog(deployed, target.apiId, `Authorization type ${auth} is not supported`);
      return fail({ type: 'AUTHORIZER_CONFIGURATION_ERROR', message: null });
    }

    // API key and usage plan.
    if (route.method.apiKeyRequired) {
      const value = def.apiKeySource === 'AUTHORIZER' ? usageKey : header(request, 'x-api-key');
      const checked = await this.keys.check(
        deployed.scope,
        target.apiId,
        stageName,
        value,
        methodKey,
      );
      if (checked.kind === 'refuse') return fail(checked);
      context.identity.apiKey = checked.key.value;
      context.identity.apiKeyId = checked.key.id;
    }

    // Request validation.
    const invalid = validateRequestFor(def, route.method, request, route.pathParameters);
    if (invalid) return fail({ type: invalid.type, message: invalid.message });

    const integration = route.method.methodIntegration;
    if (!integration)
      return fail({
        type: 'API_CONFIGURATION_ERROR',
        status: 500,
        message: 'Internal server error',
      });
    const t0 = Date.now();
    let result: IntegrationResult;
    try {
      result = await this.integrations.call({
        integration,
        request,
        resourcePath: route.resourcePath,
        resourceId: route.resource.id,
        pathParameters: route.pathParameters,
        stageVariables,
        context,
        params,
        ...(authorizerContext && { authorizer: authorizerContext }),
        account: deployed.scope.account,
        region: deployed.scope.region,
        sourceArn: methodArn,
        isBinary: (t) => isBinary(def.binaryMediaTypes, t),
        log: (line) => this.executionLog(deployed, target.apiId, line),
      });
    } catch (err) {
      this.deps.log.warn('apigateway: integration failed', { error: String(err) });
      result = {
        kind: 'error',
        type: 'API_CONFIGURATION_ERROR',
        status: 500,
        message: 'Internal server error',
      };
    }
    timing.integration = Date.now() - t0;
    context.integrationLatency = timing.integration;
    if (result.kind === 'error') {
      return fail({ type: result.type, status: result.status, message: result.message });
    }
    context.integrationStatus = result.status;
    send(result.status, result.headers, result.body);
  }

  /** The access log line and the stage's metrics, once the answer is out. */
  private record(
    deployed: DeployedStage | undefined,
    apiId: string,
    context: ApiContext,
    status: number,
    length: number,
    started: number,
    integrationLatency: number | undefined,
  ): void {
    if (!deployed) return;
    const latency = Date.now() - started;
    context.status = status;
    context.responseLength = length;
    context.responseLatency = latency;
    const logs = deployed.stage.accessLogSettings;
    if (logs?.destinationArn && logs.format) {
      this.deps.accessLogs.write(
        logs.destinationArn,
        apiId,
        deployed.stage.stageName,
        formatAccessLog(logs.format, context),
      );
    }
    const { region, account } = deployed.scope;
    const stageName = deployed.stage.stageName;
    const path = context.resourcePath;
    const settings = deployed.stage.methodSettings;
    const method =
      typeof path === 'string'
        ? `${path.replace(/\//g, '~1')}/${context.httpMethod.toUpperCase()}`
        : '';
    const detailed = (settings[method] ?? settings['*/*'])?.metricsEnabled === true;
    this.deps.metrics.record({
      account,
      region,
      // "API Gateway removes non-ASCII characters from the ApiName dimension".
      dimensions: { ApiName: asciiOnly(deployed.apiName), Stage: stageName },
      ...(detailed &&
        typeof path === 'string' && {
          detail: { Method: context.httpMethod.toUpperCase(), Resource: path },
        }),
      status,
      latencyMs: latency,
      ...(integrationLatency !== undefined && { integrationLatencyMs: integrationLatency }),
      resource: `arn:aws:apigateway:${region}::/restapis/${apiId}/stages/${stageName}`,
    });
  }

  /**
   * Execution log lines go to `API-Gateway-Execution-Logs_<api-id>/<stage>` when the
   * stage's logging level (methodSettings `*\/*`) is INFO or ERROR.
   */
  private executionLog(deployed: DeployedStage, apiId: string, line: string): void {
    this.deps.log.debug(`apigateway ${apiId}/${deployed.stage.stageName}: ${line}`);
    const level = deployed.stage.methodSettings['*/*']?.loggingLevel;
    if (level !== 'INFO' && level !== 'ERROR') return;
    const group = `arn:aws:logs:${deployed.scope.region}:${deployed.scope.account}:log-group:API-Gateway-Execution-Logs_${apiId}/${deployed.stage.stageName}`;
    if (logGroupOf(group)) this.deps.accessLogs.write(group, apiId, deployed.stage.stageName, line);
  }
}

function asciiOnly(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Headers with the client's spelling and every value (rawHeaders keeps both). */
function headerList(req: IncomingMessage): [string, string[]][] {
  const out = new Map<string, [string, string[]]>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    const entry = out.get(lower);
    if (entry) entry[1].push(raw[i + 1] as string);
    else out.set(lower, [name, [raw[i + 1] as string]]);
  }
  return [...out.values()];
}

function queryList(query: string): [string, string[]][] {
  const out = new Map<string, string[]>();
  if (query === '') return [];
  for (const [k, v] of new URLSearchParams(query)) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return [...out.entries()];
}

/** Whether a content type is one of the API's binary media types (`image/*` wildcards). */
export function isBinary(types: readonly string[], contentType: string | undefined): boolean {
  if (!contentType || types.length === 0) return false;
  const t = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return types.some((b) => {
    const p = b.toLowerCase();
    if (p === '*/*') return true;
    if (p.endsWith('/*')) return t.startsWith(p.slice(0, -1));
    return p === t;
  });
}

/** The REQUEST authorizer's event: the proxy event's fields without a body. */
function requestEventOf(
  r: IncomingRequest,
  resourcePath: string,
  pathParameters: Record<string, string>,
  stageVariables: Record<string, string>,
  c: ApiContext,
): Record<string, unknown> {
  const last = (vs: string[]) => vs[vs.length - 1] ?? '';
  return {
    resource: resourcePath,
    path: r.path,
    httpMethod: r.method,
    headers: Object.fromEntries(r.headers.map(([k, vs]) => [k, last(vs)])),
    multiValueHeaders: Object.fromEntries(r.headers),
    queryStringParameters: Object.fromEntries(r.query.map(([k, vs]) => [k, last(vs)])),
    multiValueQueryStringParameters: Object.fromEntries(r.query),
    pathParameters,
    stageVariables,
    requestContext: {
      resourcePath,
      httpMethod: r.method,
      path: c.path,
      accountId: c.accountId,
      stage: c.stage,
      requestId: c.requestId,
      apiId: c.apiId,
      identity: c.identity,
    },
  };
}
