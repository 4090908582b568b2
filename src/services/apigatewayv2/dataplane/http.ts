/**
 * The invoke path of HTTP APIs: stage, CORS preflight, route, throttling, authorization
 * (JWT, Lambda, IAM), then the integration (Lambda proxy 2.0/1.0, HTTP proxy), with AWS's
 * error bodies (`{"message":"Not Found"}`) and the `apigw-requestid` header.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api.html
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecuteApiTarget } from '../../../gateway/execute-api.js';
import { buildArn } from '../../../shared/arn.js';
import { percentDecode } from '../../../shared/percent.js';
import type { AccessLogWriter, ApiContext } from '../../apigateway-shared/context-vars.js';
import { clfTime, formatAccessLog } from '../../apigateway-shared/context-vars.js';
import type { ApiLambdaInvoker } from '../../apigateway-shared/lambda.js';
import type { StageMetrics } from '../../apigateway-shared/stage-metrics.js';
import type { TokenBuckets } from '../../apigateway-shared/throttle.js';
import type { RequestAuthenticator } from '../../plugin.js';
import type { ApiRecord, IntegrationRecord, RouteRecord } from '../store.js';
import { applyCors, isPreflight, preflightHeaders } from './cors.js';
import type { LiveApi, LiveStage } from './deployed.js';
import { proxyHttp } from './http-proxy.js';
import type { JwtAuthorizers } from './jwt.js';
import type { LambdaAuthorizers } from './lambda-authorizer.js';
import {
  event10,
  event20,
  type EventContext,
  type HttpAnswer,
  response10,
  response20,
} from './payloads.js';
import { type ApiRequest, awsRequestId, readBody, readHeaders } from './request.js';

/** "Payload size: 10 MB" for HTTP APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface HttpInvokeDeps {
  lambda: ApiLambdaInvoker;
  jwt: JwtAuthorizers;
  lambdaAuthorizers: LambdaAuthorizers;
  throttles: TokenBuckets;
  signatures: RequestAuthenticator;
  accessLogs: AccessLogWriter;
  metrics: StageMetrics;
}

/** What one request came to, for the access log and metrics. */
interface Outcome {
  status: number;
  routeKey?: string;
  integrationLatency?: number;
  integrationStatus?: number;
  error?: string;
  authorizerError?: string;
  /** Request and response body bytes (DataProcessed, 512 KB metering). */
  bytes?: number;
}

const message = (status: number, text: string): HttpAnswer => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ message: text })),
});

const NOT_FOUND = () => message(404, 'Not Found');
const INTERNAL = () => message(500, 'Internal Server Error');

/**
 * The stage a path names: a named stage's first segment, else the `$default` stage with
 * the whole path ("If no stage fully matches the request, API Gateway sends the request
 * to the $default stage").
 */
export function selectStage(
  live: LiveApi,
  path: string,
): { stage: LiveStage; routePath: string } | undefined {
  const slash = path.indexOf('/', 1);
  const first = percentDecode(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const rest = slash < 0 ? '/' : path.slice(slash);
  if (first !== '$default') {
    const named = live.stages.get(first);
    if (named) return { stage: named, routePath: rest };
  } else {
    const d = live.stages.get('$default');
    if (d) return { stage: d, routePath: rest };
  }
  const fallback = live.stages.get('$default');
  return fallback ? { stage: fallback, routePath: path } : undefined;
}

export class HttpInvoke {
  constructor(private readonly deps: HttpInvokeDeps) {}

  async handle(
    live: LiveApi,
    req: IncomingMessage,
    res: ServerResponse,
    target: ExecuteApiTarget,
  ): Promise<void> {
    const started = performance.now();
    const now = Date.now();
    const requestId = awsRequestId();
    const { api } = live;
    const selected = selectStage(live, target.path);
    if (api.disableExecuteApiEndpoint || !selected) {
      req.resume();
      return send(res, requestId, selected ? message(403, 'Forbidden') : NOT_FOUND());
    }
    const { stage, routePath } = selected;
    const { headers, multiHeaders, cookies } = readHeaders(req);
    const method = req.method ?? 'GET';
    const cors = stage.snapshot.cors;
    const ctx: ApiContext = {
      accountId: api.account,
      apiId: api.apiId,
      domainName: headers.host ?? '',
      domainPrefix: (headers.host ?? '').split('.')[0] ?? '',
      extendedRequestId: requestId,
      httpMethod: method,
      path: target.path,
      protocol: `HTTP/${req.httpVersion}`,
      requestId,
      requestTime: clfTime(now),
      requestTimeEpoch: now,
      stage: stage.stage.stageName,
      identity: {
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
    };
    let requestBytes = 0;
    const finish = (answer: HttpAnswer, outcome: Omit<Outcome, 'status'>, preflight = false) => {
      if (cors && !preflight) applyCors(cors, headers.origin, answer.headers);
      send(res, requestId, answer);
      const bytes = requestBytes + answer.body.length;
      this.record(api, stage, ctx, { ...outcome, status: answer.status, bytes }, started);
    };

    if (cors && isPreflight(method, headers)) {
      req.resume();
      const answer = { status: 204, headers: preflightHeaders(cors, headers), body: EMPTY };
      return finish(answer, {}, true);
    }
    const match = stage.router.match(method, routePath);
    if (!match) {
      req.resume();
      return finish(NOT_FOUND(), { error: 'Not Found' });
    }
    const route = match.route;
    ctx.routeKey = route.routeKey;
    if (!this.admit(api, stage, route.routeKey)) {
      req.resume();
      return finish(message(429, 'Too Many Requests'), {
        routeKey: route.routeKey,
        error: 'Too Many Requests',
      });
    }
    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === 'too-large') {
      return finish(message(413, 'Request Entity Too Large'), { routeKey: route.routeKey });
    }
    requestBytes = body.length;
    const request: ApiRequest = {
      method,
      rawPath: target.path.startsWith('/$default/') ? routePath : target.path,
      routePath,
      rawQuery: target.query,
      headers,
      multiHeaders,
      cookies,
      body,
      sourceIp: req.socket.remoteAddress ?? '',
      requestId,
      now,
      domainName: headers.host ?? '',
    };
    const eventCtx: EventContext = {
      account: api.account,
      apiId: api.apiId,
      stage: stage.stage.stageName,
      routeKey: match.routeKey,
      resource: match.routeKey === '$default' ? '$default' : match.routeKey.split(' ')[1],
      pathParameters: match.pathParameters,
      stageVariables: stage.stage.stageVariables,
    };

    const denied = await this.authorize(live, stage, route, request, eventCtx, body);
    if (denied) return finish(denied, { routeKey: route.routeKey, authorizerError: 'denied' });

    const integration = integrationOf(stage, route);
    if (!integration) return finish(INTERNAL(), { routeKey: route.routeKey });
    const calledAt = performance.now();
    const { answer, integrationStatus, error } = await this.integrate(
      api,
      stage,
      integration,
      request,
      eventCtx,
    );
    return finish(answer, {
      routeKey: route.routeKey,
      integrationLatency: performance.now() - calledAt,
      integrationStatus,
      error,
    });
  }

  /** Route throttling: the route's settings, else the stage's defaults. */
  private admit(api: ApiRecord, stage: LiveStage, routeKey: string): boolean {
    const own = stage.stage.routeSettings[routeKey];
    const dflt = stage.stage.defaultRouteSettings;
    const rate = own?.ThrottlingRateLimit ?? dflt.ThrottlingRateLimit;
    const burst = own?.ThrottlingBurstLimit ?? dflt.ThrottlingBurstLimit;
    if (rate === undefined && burst === undefined) return true;
    return this.deps.throttles.take(
      `${api.apiId}/${stage.stage.stageName}/${routeKey}`,
      rate ?? Number.MAX_SAFE_INTEGER,
      burst ?? Number.MAX_SAFE_INTEGER,
    );
  }

  /** Undefined when the route lets the request through (the event's authorizer set). */
  private async authorize(
    live: LiveApi,
    stage: LiveStage,
    route: RouteRecord,
    req: ApiRequest,
    ctx: EventContext,
    body: Buffer,
  ): Promise<HttpAnswer | undefined> {
    const { api } = live;
    switch (route.authorizationType) {
      case 'NONE':
        return undefined;
      case 'JWT': {
        const authorizer = stage.snapshot.authorizers[route.authorizerId ?? ''];
        if (!authorizer) return INTERNAL();
        const source = authorizer.identitySource[0] ?? '$request.header.Authorization';
        const header = source.startsWith('$request.header.')
          ? req.headers[source.slice('$request.header.'.length).toLowerCase()]
          : undefined;
        const verdict = await this.deps.jwt.verify(authorizer, header, route.authorizationScopes);
        if (!verdict.ok) {
          const answer = message(
            verdict.status,
            verdict.status === 401 ? 'Unauthorized' : 'Forbidden',
          );
          answer.headers['www-authenticate'] = verdict.wwwAuthenticate;
          return answer;
        }
        ctx.authorizer = { jwt: { claims: verdict.claims, scopes: verdict.scopes } };
        return undefined;
      }
      case 'CUSTOM': {
        const authorizer = stage.snapshot.authorizers[route.authorizerId ?? ''];
        if (!authorizer) return INTERNAL();
        const verdict = await this.deps.lambdaAuthorizers.authorize(
          api,
          authorizer,
          req,
          ctx,
          routeArn(api, ctx.stage, req.method, req.routePath),
        );
        if (!verdict.ok) {
          return verdict.status === 401
            ? message(401, 'Unauthorized')
            : verdict.status === 403
              ? message(403, 'Forbidden')
              : INTERNAL();
        }
        ctx.authorizer = { lambda: verdict.context };
        return undefined;
      }
      case 'AWS_IAM': {
        const caller = await this.deps.signatures.authenticate(
          { method: req.method, path: req.rawPath, rawQuery: req.rawQuery, headers: req.headers },
          body,
          'execute-api',
        );
        if (caller === undefined || 'code' in caller) return message(403, 'Forbidden');
        const refused = await this.deps.signatures.authorize(
          {
            principal: caller.principal,
            account: caller.account,
            region: api.region,
            action: 'execute-api:Invoke',
            resource: routeArn(api, ctx.stage, req.method, req.routePath),
            sourceIp: req.sourceIp,
          },
          'rest-json',
        );
        if (refused) return message(403, 'Forbidden');
        ctx.authorizer = {
          iam: {
            accessKey: caller.accessKeyId,
            accountId: caller.account,
            callerId: caller.principal.userId,
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: caller.principal.arn,
            userId: caller.principal.userId,
          },
        };
        return undefined;
      }
      default:
        return INTERNAL();
    }
  }

  private async integrate(
    api: ApiRecord,
    stage: LiveStage,
    integration: IntegrationRecord,
    req: ApiRequest,
    ctx: EventContext,
  ): Promise<{ answer: HttpAnswer; integrationStatus?: number; error?: string }> {
    if (integration.integrationType === 'HTTP_PROXY') {
      const out = await proxyHttp(integration, req, ctx.pathParameters ?? {});
      if (out.kind === 'ok') return { answer: out.answer, integrationStatus: out.answer.status };
      if (out.kind === 'timeout') {
        return { answer: message(503, 'Service Unavailable'), error: 'integration timeout' };
      }
      return { answer: INTERNAL(), error: out.reason };
    }
    if (integration.integrationType !== 'AWS_PROXY') return { answer: INTERNAL() };
    const v2 = integration.payloadFormatVersion === '2.0';
    const event = v2 ? event20(req, ctx) : event10(req, ctx);
    const outcome = await this.deps.lambda.invoke({
      account: api.account,
      region: api.region,
      uri: integration.integrationUri ?? '',
      sourceArn: routeArn(api, stage.stage.stageName, req.method, req.routePath),
      payload: Buffer.from(JSON.stringify(event)),
      timeoutMs: integration.timeoutInMillis,
    });
    switch (outcome.kind) {
      case 'ok': {
        const answer = v2 ? response20(outcome.payload) : response10(outcome.payload);
        return answer
          ? { answer, integrationStatus: 200 }
          : {
              answer: INTERNAL(),
              integrationStatus: 200,
              error: 'malformed Lambda proxy response',
            };
      }
      case 'function-error':
        return { answer: INTERNAL(), integrationStatus: 200, error: 'Lambda function error' };
      case 'timeout':
        return { answer: message(503, 'Service Unavailable'), error: outcome.log };
      case 'failed':
        return { answer: INTERNAL(), error: outcome.log };
      default:
        return outcome satisfies never;
    }
  }

  private record(
    api: ApiRecord,
    stage: LiveStage,
    ctx: ApiContext,
    outcome: Outcome,
    started: number,
  ): void {
    const latency = performance.now() - started;
    const stageName = stage.stage.stageName;
    const route = outcome.routeKey;
    const detailed =
      route !== undefined &&
      (stage.stage.routeSettings[route]?.DetailedMetricsEnabled ??
        stage.stage.defaultRouteSettings.DetailedMetricsEnabled) === true;
    this.deps.metrics.record({
      account: api.account,
      region: api.region,
      dimensions: { ApiId: api.apiId, Stage: stageName },
      ...(detailed && { detail: { Route: route } }),
      status: outcome.status,
      latencyMs: latency,
      integrationLatencyMs: outcome.integrationLatency,
      bytes: outcome.bytes,
      resource: `arn:aws:apigateway:${api.region}::/apis/${api.apiId}/stages/${stageName}`,
    });
    const settings = stage.stage.accessLogSettings;
    if (!settings?.DestinationArn || !settings.Format) return;
    ctx.status = outcome.status;
    ctx.responseLatency = Math.round(latency);
    ctx.integrationLatency =
      outcome.integrationLatency === undefined ? undefined : Math.round(outcome.integrationLatency);
    ctx.integrationStatus = outcome.integrationStatus;
    ctx.integrationErrorMessage = outcome.error;
    ctx.error = { message: outcome.error, messageString: outcome.error && `"${outcome.error}"` };
    this.deps.accessLogs.write(
      settings.DestinationArn,
      api.apiId,
      stage.stage.stageName,
      formatAccessLog(settings.Format, ctx),
    );
  }
}

const EMPTY = Buffer.alloc(0);

function integrationOf(stage: LiveStage, route: RouteRecord): IntegrationRecord | undefined {
  const id = route.target?.startsWith('integrations/') ? route.target.slice(13) : undefined;
  return id === undefined ? undefined : stage.snapshot.integrations[id];
}

/** `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`. */
function routeArn(api: ApiRecord, stage: string, method: string, path: string): string {
  return buildArn('execute-api', api.region, api.account, `${api.apiId}/${stage}/${method}${path}`);
}

function send(res: ServerResponse, requestId: string, answer: HttpAnswer): void {
  const headers: Record<string, string | string[]> = {
    ...answer.headers,
    'apigw-requestid': requestId,
    'content-length': String(answer.body.length),
  };
  // Date is node:http's own (res.sendDate, cached per second), also over a function's.
  delete headers.date;
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}
