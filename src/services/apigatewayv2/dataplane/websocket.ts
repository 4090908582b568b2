/**
 * The invoke path of WebSocket APIs: the handshake runs `$connect`, each message goes to
 * the route its route selection expression picks (`$default` otherwise), closing runs
 * `$disconnect`; functions answer through the `@connections` API (connections.ts).
 * AWS's limits: 128 KB messages, 10-minute idle and 2-hour connections.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-overview.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-execution-service-websocket-limits-table
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { refuseUpgrade, type ExecuteApiTarget } from '../../../gateway/execute-api.js';
import { buildArn } from '../../../shared/arn.js';
import type { Logger } from '../../../shared/log.js';
import { percentDecode } from '../../../shared/percent.js';
import { clfTime } from '../../apigateway-shared/context-vars.js';
import type { ApiLambdaInvoker, ApiLambdaOutcome } from '../../apigateway-shared/lambda.js';
import type { ApiRecord, IntegrationRecord, RouteRecord } from '../store.js';
import type { Connection, Connections } from './connections.js';
import type { WebSocketMetrics } from './ws-metrics.js';
import type { LiveApi, LiveStage } from './deployed.js';
import { type ApiRequest, awsRequestId, readHeaders, readQuery } from './request.js';

/** "Message payload size: 128 KB" (frames are at most 32 KB; ws reassembles them). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

export interface WebSocketLimits {
  /** "Idle Connection Timeout for WebSocket APIs: 10 minutes". */
  idleMs: number;
  /** "Connection duration for WebSocket API: 2 hours". */
  maxMs: number;
}

export const AWS_LIMITS: WebSocketLimits = { idleMs: 10 * 60_000, maxMs: 2 * 3_600_000 };

/**
 * Authorizes a handshake whose `$connect` route has an authorization type (CUSTOM, AWS_IAM);
 * the context is the event's `requestContext.authorizer` for the connection's life.
 */
export type ConnectAuthorizer = (
  api: ApiRecord,
  stage: LiveStage,
  route: RouteRecord,
  request: ApiRequest,
) => Promise<{ ok: true; context?: Record<string, unknown> } | { ok: false; status: number }>;

/** `L0SM9cOFvHcCIhw=`: AWS's connection ids are 16 characters of base64. */
const connectionId = (): string => randomBytes(11).toString('base64').replace(/\//g, '_');

export class WebSocketInvoke {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  /** Set at shutdown: connections end without `$disconnect`. */
  private closing = false;

  constructor(
    private readonly lambda: ApiLambdaInvoker,
    private readonly connections: Connections,
    private readonly log: Logger,
    private readonly authorize: ConnectAuthorizer,
    private readonly limits: WebSocketLimits = AWS_LIMITS,
    /** CloudWatch's WebSocket metrics and the bill's messages and minutes. */
    private readonly metrics?: WebSocketMetrics,
  ) {}

  upgrade(
    live: LiveApi,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: ExecuteApiTarget,
  ) {
    const slash = target.path.indexOf('/', 1);
    const stageName = percentDecode(slash < 0 ? target.path.slice(1) : target.path.slice(1, slash));
    const stage = live.stages.get(stageName);
    if (!stage || live.api.disableExecuteApiEndpoint || this.closing) {
      return refuseUpgrade(socket, 403);
    }
    const { headers, multiHeaders, cookies } = readHeaders(req);
    const query = readQuery(target.query);
    const now = Date.now();
    const conn: Connection = {
      id: connectionId(),
      account: live.api.account,
      region: live.api.region,
      apiId: live.api.apiId,
      stage: stageName,
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: req.socket.remoteAddress ?? '',
      userAgent: headers['user-agent'] ?? '',
      domainName: headers.host ?? '',
    };
    const route = stage.byKey.get('$connect');
    const request: ApiRequest = {
      method: 'GET',
      rawPath: (req.url ?? '/').split('?')[0] ?? '/',
      routePath: '/',
      rawQuery: target.query,
      headers,
      multiHeaders,
      cookies,
      body: Buffer.alloc(0),
      sourceIp: conn.sourceIp,
      requestId: awsRequestId(),
      now,
      domainName: conn.domainName,
    };
    const connecting = (async (): Promise<RouteOutcome> => {
      if (!route) return { status: 200 };
      if (route.authorizationType !== 'NONE') {
        const verdict = await this.authorize(live.api, stage, route, request);
        if (!verdict.ok) {
          this.metrics?.call(conn, true, verdict.status < 500 ? 'client-error' : 'execution-error');
          return { status: verdict.status };
        }
        conn.authorizer = verdict.context;
      }
      const connectEvent = {
        headers,
        multiValueHeaders: multiHeaders,
        ...(query.single && {
          queryStringParameters: query.single,
          multiValueQueryStringParameters: query.multi,
        }),
        requestContext: this.context(conn, '$connect', 'CONNECT'),
        isBase64Encoded: false,
      };
      return this.run(live.api, stage, route, conn, connectEvent);
    })();
    connecting.then(
      (outcome) => {
        if (outcome.status < 200 || outcome.status > 299) {
          return refuseUpgrade(socket, outcome.status);
        }
        this.wss.handleUpgrade(req, socket, head, (ws) =>
          this.open(live.api, stage, conn, ws, { headers, multiValueHeaders: multiHeaders }),
        );
      },
      (err: unknown) => {
        this.log.error('WebSocket $connect failed', { error: String(err) });
        refuseUpgrade(socket, 500);
      },
    );
  }

  /** Closes every connection (server shutdown), without running `$disconnect`. */
  close(): void {
    this.closing = true;
    for (const ws of this.wss.clients) ws.close(1001, 'Going away');
    this.wss.close();
  }

  private open(
    api: ApiRecord,
    stage: LiveStage,
    conn: Connection,
    ws: WebSocket,
    connectHeaders: {
      headers: Record<string, string>;
      multiValueHeaders: Record<string, string[]>;
    },
  ): void {
    let idle: NodeJS.Timeout;
    const touch = () => {
      conn.lastActiveAt = Date.now();
      clearTimeout(idle);
      idle = setTimeout(() => ws.close(1001, 'Going away'), this.limits.idleMs);
    };
    touch();
    const lifetime = setTimeout(() => ws.close(1001, 'Going away'), this.limits.maxMs);
    this.connections.add(conn, {
      send: (data) =>
        new Promise<void>((resolve, reject) => {
          touch();
          this.metrics?.message(conn, data.length);
          ws.send(data, { binary: !isUtf8(data) }, (err) => (err ? reject(err) : resolve()));
        }),
      close: () => ws.close(1000, 'Connection closed by API'),
    });
    // Messages of one connection reach their routes in order.
    let chain: Promise<unknown> = Promise.resolve();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      touch();
      const body = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      this.metrics?.message(conn, body.length);
      chain = chain.then(() => this.message(api, stage, conn, ws, body, isBinary));
    });
    ws.on('error', (err) => this.log.debug('WebSocket error', { error: err.message }));
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      this.connections.remove(conn.id);
      this.metrics?.closed(conn, Date.now() - conn.connectedAt);
      const route = stage.byKey.get('$disconnect');
      if (!route || this.closing) return;
      const event = {
        ...connectHeaders,
        requestContext: {
          ...this.context(conn, '$disconnect', 'DISCONNECT'),
          disconnectStatusCode: code,
          disconnectReason: reason.toString('utf8'),
        },
        isBase64Encoded: false,
      };
      chain = chain.then(() => this.run(api, stage, route, conn, event)).catch(() => undefined);
    });
  }

  private async message(
    api: ApiRecord,
    stage: LiveStage,
    conn: Connection,
    ws: WebSocket,
    body: Buffer,
    isBinary: boolean,
  ): Promise<void> {
    const requestId = awsRequestId();
    const routeKey = selectRoute(stage.snapshot.routeSelectionExpression, body, isBinary);
    const route =
      (routeKey !== undefined && stage.byKey.get(routeKey)) || stage.byKey.get('$default');
    const reply = (text: string) => {
      if (ws.readyState !== ws.OPEN) return;
      this.metrics?.message(conn, Buffer.byteLength(text));
      ws.send(text);
    };
    if (!route || route.routeKey === '$connect' || route.routeKey === '$disconnect') {
      this.metrics?.call(conn, false, 'client-error');
      reply(JSON.stringify({ message: 'Forbidden', connectionId: conn.id, requestId }));
      return;
    }
    const event = {
      requestContext: {
        ...this.context(conn, route.routeKey, 'MESSAGE', requestId),
        messageId: awsRequestId(),
      },
      body: isBinary ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: isBinary,
    };
    const outcome = await this.run(api, stage, route, conn, event);
    if (outcome.status >= 500) {
      reply(JSON.stringify({ message: 'Internal server error', connectionId: conn.id, requestId }));
      return;
    }
    // Two-way routes (a route response `$default`) send the integration's answer back.
    const twoWay = (stage.snapshot.routeResponses[route.routeId] ?? []).some(
      (r) => r.routeResponseKey === '$default',
    );
    if (twoWay && outcome.body !== undefined) reply(outcome.body);
  }

  /** Runs a route's integration; the status and body the integration answered. */
  private async run(
    api: ApiRecord,
    stage: LiveStage,
    route: RouteRecord,
    conn: Connection,
    event: object,
  ): Promise<RouteOutcome> {
    const id = route.target?.startsWith('integrations/') ? route.target.slice(13) : undefined;
    const integration: IntegrationRecord | undefined =
      id === undefined ? undefined : stage.snapshot.integrations[id];
    const connect = route.routeKey === '$connect';
    if (integration?.integrationType === 'MOCK') {
      this.metrics?.call(conn, connect, 'ok');
      return { status: 200 };
    }
    if (
      !integration ||
      (integration.integrationType !== 'AWS_PROXY' && integration.integrationType !== 'AWS')
    ) {
      this.metrics?.call(conn, connect, 'execution-error');
      return { status: 500 };
    }
    const calledAt = performance.now();
    const outcome = await this.lambda.invoke({
      account: api.account,
      region: api.region,
      uri: integration.integrationUri ?? '',
      sourceArn: buildArn(
        'execute-api',
        api.region,
        api.account,
        `${api.apiId}/${stage.stage.stageName}/${route.routeKey}`,
      ),
      payload: Buffer.from(JSON.stringify(event)),
      timeoutMs: integration.timeoutInMillis,
    });
    const answer = proxyOutcome(outcome);
    this.metrics?.call(
      conn,
      connect,
      outcome.kind !== 'ok' ? 'execution-error' : answer.status >= 400 ? 'integration-error' : 'ok',
      performance.now() - calledAt,
    );
    return answer;
  }

  private context(
    conn: Connection,
    routeKey: string,
    eventType: string,
    requestId = awsRequestId(),
  ) {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: clfTime(now),
      messageDirection: 'IN',
      stage: conn.stage,
      connectedAt: conn.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
      requestId,
      domainName: conn.domainName,
      connectionId: conn.id,
      apiId: conn.apiId,
      ...(conn.authorizer && { authorizer: conn.authorizer }),
    };
  }
}

interface RouteOutcome {
  status: number;
  body?: string;
}

/** A Lambda answer as a route outcome: `{statusCode, body}` or any JSON (its text). */
function proxyOutcome(outcome: ApiLambdaOutcome): RouteOutcome {
  if (outcome.kind !== 'ok') return { status: 500 };
  const text = outcome.payload.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: 500 };
  }
  if (typeof parsed === 'object' && parsed !== null && 'statusCode' in parsed) {
    const r = parsed as { statusCode: unknown; body?: unknown };
    const status = Number(r.statusCode);
    const body =
      r.body === undefined || r.body === null
        ? undefined
        : typeof r.body === 'string'
          ? r.body
          : JSON.stringify(r.body);
    return { status: Number.isInteger(status) ? status : 500, body };
  }
  return { status: 200, body: text };
}

/**
 * The route key a message selects: `$request.body.<path>` reads the JSON body; anything
 * the expression cannot read selects nothing (the `$default` route then).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
 */
export function selectRoute(
  expression: string,
  body: Buffer,
  isBinary: boolean,
): string | undefined {
  const m = /^\$\{?request\.body\.([^}]+)\}?$/.exec(expression.trim());
  if (!m || isBinary) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  for (const part of m[1].split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function isUtf8(data: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}
