/**
 * WebSocket APIs' CloudWatch metrics and bill, folded in memory per stage and minute and
 * handed over about once a second, like the HTTP and REST figures (stage-metrics.ts).
 *
 * CloudWatch, `AWS/ApiGateway` by `ApiId` and by `ApiId, Stage`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-logging.html):
 * `ConnectCount` "The number of messages sent to the $connect route integration",
 * `MessageCount` "The number of messages sent to the WebSocket API, either from or to the
 * client", `IntegrationError` (the integration answered 4XX/5XX), `ClientError` (a 4XX
 * "returned by API Gateway before the integration is invoked"), `ExecutionError` ("Errors
 * that occurred when calling the integration") and `IntegrationLatency` ("Suppressed for
 * callbacks and mock integrations"). Error metrics carry 1 per failing route call and 0
 * per other one, so their Average is a rate.
 *
 * The bill (https://aws.amazon.com/api-gateway/pricing/): messages "metered in 32 KB
 * increments" (`ApiGatewayMessage`), and connection minutes (`ApiGatewayMinute`), counted
 * when a connection ends, rounded up to the minute.
 */
import type { Meter } from '../../../billing/meter.js';
import type { MetricSink } from '../../../events/metrics.js';
import { NAMESPACE, roundMs } from '../../apigateway-shared/stage-metrics.js';

const FLUSH_MS = 1000;
const MESSAGE_INCREMENT = 32 * 1024;

/** Where a connection belongs. */
export interface WsStage {
  account: string;
  region: string;
  apiId: string;
  stage: string;
}

interface WsMinute extends WsStage {
  minute: number;
  connects: number;
  messages: number;
  billedMessages: number;
  connectionMinutes: number;
  calls: number;
  clientErrors: number;
  integrationErrors: number;
  executionErrors: number;
  latencies: Map<number, number>;
}

/** How a route call ended, for the error metrics. */
export type WsCallOutcome = 'ok' | 'client-error' | 'integration-error' | 'execution-error';

export class WebSocketMetrics {
  private minutes = new Map<string, WsMinute>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sink: MetricSink | undefined,
    private readonly meter: Meter | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private bucket(s: WsStage): WsMinute {
    const minute = Math.floor(this.now() / 60_000) * 60_000;
    const key = `${s.account}/${s.region}/${s.apiId}/${s.stage}/${minute}`;
    let m = this.minutes.get(key);
    if (!m) {
      m = {
        account: s.account,
        region: s.region,
        apiId: s.apiId,
        stage: s.stage,
        minute,
        connects: 0,
        messages: 0,
        billedMessages: 0,
        connectionMinutes: 0,
        calls: 0,
        clientErrors: 0,
        integrationErrors: 0,
        executionErrors: 0,
        latencies: new Map(),
      };
      this.minutes.set(key, m);
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    return m;
  }

  /** A message from or to the client, of `bytes`. */
  message(s: WsStage, bytes: number): void {
    const m = this.bucket(s);
    m.messages++;
    m.billedMessages += Math.max(1, Math.ceil(bytes / MESSAGE_INCREMENT));
  }

  /** A route call (`$connect` included) and how it ended; `latencyMs` when an integration ran. */
  call(s: WsStage, connect: boolean, outcome: WsCallOutcome, latencyMs?: number): void {
    const m = this.bucket(s);
    m.calls++;
    if (connect) m.connects++;
    if (outcome === 'client-error') m.clientErrors++;
    else if (outcome === 'integration-error') m.integrationErrors++;
    else if (outcome === 'execution-error') m.executionErrors++;
    if (latencyMs !== undefined) {
      const l = roundMs(latencyMs);
      m.latencies.set(l, (m.latencies.get(l) ?? 0) + 1);
    }
  }

  /** A connection ended after `ms` open: its connection minutes. */
  closed(s: WsStage, ms: number): void {
    this.bucket(s).connectionMinutes += Math.max(1, Math.ceil(ms / 60_000));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const minutes = this.minutes;
    this.minutes = new Map();
    const sink = this.sink?.enabled ? this.sink : undefined;
    const meter = this.meter?.enabled ? this.meter : undefined;
    for (const m of minutes.values()) {
      const scope = { account: m.account, region: m.region };
      if (meter) {
        const resource = `arn:aws:apigateway:${m.region}::/apis/${m.apiId}/stages/${m.stage}`;
        const base = { ...scope, service: 'AmazonApiGateway' as const, resource, at: m.minute };
        meter.count({ ...base, usageType: 'ApiGatewayMessage', quantity: m.billedMessages });
        meter.count({ ...base, usageType: 'ApiGatewayMinute', quantity: m.connectionMinutes });
      }
      if (!sink) continue;
      const api = [{ Name: 'ApiId', Value: m.apiId }];
      for (const dims of [api, [...api, { Name: 'Stage', Value: m.stage }]]) {
        const put = (name: string, value: number, count: number, unit = 'Count') => {
          if (count > 0) sink.put(scope, NAMESPACE, name, dims, value, unit, m.minute, count);
        };
        put('ConnectCount', 1, m.connects);
        put('MessageCount', 1, m.messages);
        for (const [name, n] of [
          ['ClientError', m.clientErrors],
          ['IntegrationError', m.integrationErrors],
          ['ExecutionError', m.executionErrors],
        ] as const) {
          put(name, 1, n);
          put(name, 0, m.calls - n);
        }
        for (const [ms, n] of m.latencies) put('IntegrationLatency', ms, n, 'Milliseconds');
      }
    }
  }

  /** Forgets what was not handed over (a reset). */
  clear(): void {
    this.minutes = new Map();
  }
}
