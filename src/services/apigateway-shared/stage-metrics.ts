/**
 * What API Gateway's invoke path tells CloudWatch and the bill, folded in memory per stage
 * and minute and handed over about once a second (a request only bumps counters: no store
 * write, no await on the hot path).
 *
 * CloudWatch, namespace `AWS/ApiGateway`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html):
 *  - REST APIs: `Count`, `4XXError`, `5XXError`, `Latency`, `IntegrationLatency` by
 *    `ApiName`, by `ApiName, Stage` and, when the stage enables detailed metrics
 *    (methodSettings `metrics/enabled`), by `ApiName, Method, Resource, Stage`. (No
 *    CacheHitCount/CacheMissCount: Stratus has no API cache.)
 *  - HTTP APIs: `Count`, `4xx`, `5xx`, `Latency`, `IntegrationLatency`, `DataProcessed` by
 *    `ApiId`, by `ApiId, Stage` and, with `DetailedMetricsEnabled`, by `ApiId, Stage, Route`.
 * Error metrics carry a 1 per failing request and a 0 per other one, so that, as AWS says,
 * "The Average statistic represents the 4XXError error rate".
 *
 * The bill (https://aws.amazon.com/api-gateway/pricing/): REST requests count one each;
 * "HTTP API requests are metered in 512 KB increments" (a request and its answer of 1.2 MB
 * together count as three).
 */
import type { Meter } from '../../billing/meter.js';
import type { MetricDimension, MetricSink } from '../../events/metrics.js';

export interface StageRequest {
  account: string;
  region: string;
  /** The stage's dimensions: `ApiName` (REST) or `ApiId` (HTTP), and `Stage`. */
  dimensions: Readonly<Record<string, string>>;
  /** Detailed metrics: the dimensions added to the stage's (`Method`/`Resource`, `Route`). */
  detail?: Readonly<Record<string, string>>;
  status: number;
  /** Milliseconds from receipt to the last byte of the response. */
  latencyMs: number;
  /** Milliseconds spent waiting for the integration (absent when none was called). */
  integrationLatencyMs?: number;
  /** Request and response bytes (HTTP APIs' DataProcessed and 512 KB metering). */
  bytes?: number;
  /** What the bill charges the request to (the stage's ARN); absent: not billed. */
  resource?: string;
}

export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

/** One minute of one stage (or of one method or route of it, with detailed metrics). */
export interface StageMinute {
  account: string;
  region: string;
  dimensions: Readonly<Record<string, string>>;
  detail?: Readonly<Record<string, string>>;
  resource?: string;
  /** Start of the minute (ms since the epoch). */
  minute: number;
  count: number;
  errors4xx: number;
  errors5xx: number;
  latency: StatisticSet;
  integrationLatency?: StatisticSet;
  /** Latencies (rounded, see roundMs) → how many requests took that long. */
  latencies: Map<number, number>;
  integrationLatencies: Map<number, number>;
  bytes: number;
  /** Requests as the bill counts them. */
  billed: number;
}

/** The API kind a StageMetrics publishes for: its metric names and billed usage type. */
export type ApiKind = 'REST' | 'HTTP';

const NAMES: Record<ApiKind, { e4: string; e5: string; usageType: string }> = {
  REST: { e4: '4XXError', e5: '5XXError', usageType: 'ApiGatewayRequest' },
  HTTP: { e4: '4xx', e5: '5xx', usageType: 'ApiGatewayHttpRequest' },
};

export const NAMESPACE = 'AWS/ApiGateway';
const FLUSH_MS = 1000;
const HTTP_INCREMENT = 512 * 1024;

export interface StagePublishing {
  kind: ApiKind;
  /** CloudWatch (absent or disabled: no metrics). */
  sink?: MetricSink;
  /** The bill (absent or disabled: nothing billed). */
  meter?: Meter;
}

export class StageMetrics {
  private minutes = new Map<string, StageMinute>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly publishing?: StagePublishing,
    /** Minutes kept undrained before the oldest are dropped. */
    private readonly maxMinutes = 100_000,
  ) {}

  record(r: StageRequest): void {
    const minute = Math.floor(this.now() / 60_000) * 60_000;
    const units =
      r.resource === undefined
        ? 0
        : this.publishing?.kind === 'HTTP'
          ? Math.max(1, Math.ceil((r.bytes ?? 0) / HTTP_INCREMENT))
          : 1;
    add(this.bucket(r, minute, undefined), r, units);
    if (r.detail) add(this.bucket(r, minute, r.detail), r, 0);
    if (this.publishing && this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  private bucket(
    r: StageRequest,
    minute: number,
    detail: Readonly<Record<string, string>> | undefined,
  ): StageMinute {
    let key = `${r.account}/${r.region}/${minute}`;
    for (const k in r.dimensions) key += `/${k}=${r.dimensions[k]}`;
    if (detail) for (const k in detail) key += `/+${k}=${detail[k]}`;
    let m = this.minutes.get(key);
    if (!m) {
      if (this.minutes.size >= this.maxMinutes) {
        const oldest = this.minutes.keys().next();
        if (!oldest.done) this.minutes.delete(oldest.value);
      }
      m = {
        account: r.account,
        region: r.region,
        dimensions: r.dimensions,
        ...(detail && { detail }),
        ...(r.resource !== undefined && !detail && { resource: r.resource }),
        minute,
        count: 0,
        errors4xx: 0,
        errors5xx: 0,
        latency: emptySet(),
        latencies: new Map(),
        integrationLatencies: new Map(),
        bytes: 0,
        billed: 0,
      };
      this.minutes.set(key, m);
    }
    return m;
  }

  /** Everything recorded so far (oldest first); forgets it. */
  drain(): StageMinute[] {
    const out = [...this.minutes.values()];
    this.minutes = new Map();
    return out;
  }

  /** What is recorded so far, without forgetting it. */
  peek(): readonly StageMinute[] {
    return [...this.minutes.values()];
  }

  /** Hands what was recorded to CloudWatch and the meter (tests and shutdown call it too). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.publishing;
    if (!p) return;
    const minutes = this.drain();
    const sink = p.sink?.enabled ? p.sink : undefined;
    const meter = p.meter?.enabled ? p.meter : undefined;
    for (const m of minutes) {
      if (meter && m.resource !== undefined && m.billed > 0) {
        meter.count({
          account: m.account,
          region: m.region,
          service: 'AmazonApiGateway',
          usageType: NAMES[p.kind].usageType,
          resource: m.resource,
          quantity: m.billed,
          at: m.minute,
        });
      }
      if (sink) publish(sink, p.kind, m);
    }
  }
}

/** The dimension sets one bucket is published under. */
function dimensionSets(m: StageMinute): MetricDimension[][] {
  const stage = Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value }));
  if (m.detail) {
    return [[...stage, ...Object.entries(m.detail).map(([Name, Value]) => ({ Name, Value }))]];
  }
  return [stage.filter((d) => d.Name !== 'Stage'), stage];
}

function publish(sink: MetricSink, kind: ApiKind, m: StageMinute): void {
  const scope = { account: m.account, region: m.region };
  const t = m.minute;
  const names = NAMES[kind];
  for (const dims of dimensionSets(m)) {
    const put = (name: string, value: number, count: number, unit: string) => {
      if (count > 0) sink.put(scope, NAMESPACE, name, dims, value, unit, t, count);
    };
    put('Count', 1, m.count, 'Count');
    put(names.e4, 1, m.errors4xx, 'Count');
    put(names.e4, 0, m.count - m.errors4xx, 'Count');
    put(names.e5, 1, m.errors5xx, 'Count');
    put(names.e5, 0, m.count - m.errors5xx, 'Count');
    for (const [ms, n] of m.latencies) put('Latency', ms, n, 'Milliseconds');
    for (const [ms, n] of m.integrationLatencies) put('IntegrationLatency', ms, n, 'Milliseconds');
    if (kind === 'HTTP') put('DataProcessed', m.bytes, 1, 'Bytes');
  }
}

/**
 * Latencies kept to 0.1 ms under 100 ms and to the millisecond above, so a minute of
 * thousands of requests holds a few hundred distinct values (CloudWatch's percentiles
 * are within 1% anyway).
 */
export function roundMs(ms: number): number {
  return ms < 100 ? Math.round(ms * 10) / 10 : Math.round(ms);
}

function add(m: StageMinute, r: StageRequest, units: number): void {
  m.count++;
  if (r.status >= 400 && r.status < 500) m.errors4xx++;
  if (r.status >= 500) m.errors5xx++;
  addStat(m.latency, r.latencyMs);
  const l = roundMs(r.latencyMs);
  m.latencies.set(l, (m.latencies.get(l) ?? 0) + 1);
  if (r.integrationLatencyMs !== undefined) {
    m.integrationLatency ??= emptySet();
    addStat(m.integrationLatency, r.integrationLatencyMs);
    const il = roundMs(r.integrationLatencyMs);
    m.integrationLatencies.set(il, (m.integrationLatencies.get(il) ?? 0) + 1);
  }
  m.bytes += r.bytes ?? 0;
  m.billed += units;
}

const emptySet = (): StatisticSet => ({
  sampleCount: 0,
  sum: 0,
  minimum: Number.POSITIVE_INFINITY,
  maximum: Number.NEGATIVE_INFINITY,
});

function addStat(s: StatisticSet, v: number): void {
  s.sampleCount++;
  s.sum += v;
  if (v < s.minimum) s.minimum = v;
  if (v > s.maximum) s.maximum = v;
}
