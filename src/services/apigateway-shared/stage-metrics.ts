/**
 * The per-stage figures API Gateway publishes to CloudWatch (namespace AWS/ApiGateway):
 * Count, 4XXError, 5XXError, Latency and IntegrationLatency, by ApiName (REST) or ApiId
 * (HTTP/WebSocket) and Stage.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
 * Kept here, one minute bucket per stage, until a CloudWatch metrics link exists to hand
 * them to: `drain()` gives a publisher everything recorded so far.
 */

export interface StageRequest {
  account: string;
  region: string;
  /** The dimensions: `ApiName` for REST APIs, `ApiId` for HTTP and WebSocket APIs. */
  dimensions: Readonly<Record<string, string>>;
  status: number;
  /** Milliseconds from receipt to the last byte of the response. */
  latencyMs: number;
  /** Milliseconds spent waiting for the integration (absent when none was called). */
  integrationLatencyMs?: number;
}

export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

/** One minute of one stage. */
export interface StageMinute {
  account: string;
  region: string;
  dimensions: Readonly<Record<string, string>>;
  /** Start of the minute (ms since the epoch). */
  minute: number;
  count: number;
  errors4xx: number;
  errors5xx: number;
  latency: StatisticSet;
  integrationLatency?: StatisticSet;
}

export class StageMetrics {
  private readonly minutes = new Map<string, StageMinute>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Minutes kept undrained before the oldest are dropped. */
    private readonly maxMinutes = 100_000,
  ) {}

  record(r: StageRequest): void {
    const minute = Math.floor(this.now() / 60_000) * 60_000;
    const dims = this.dimensionsKey(r.dimensions);
    const key = `${r.account}/${r.region}/${dims}/${minute}`;
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
        minute,
        count: 0,
        errors4xx: 0,
        errors5xx: 0,
        latency: emptySet(),
      };
      this.minutes.set(key, m);
    }
    m.count++;
    if (r.status >= 400 && r.status < 500) m.errors4xx++;
    if (r.status >= 500) m.errors5xx++;
    add(m.latency, r.latencyMs);
    if (r.integrationLatencyMs !== undefined) {
      m.integrationLatency ??= emptySet();
      add(m.integrationLatency, r.integrationLatencyMs);
    }
  }

  /** Callers that pass the same dimensions object each time (one per stage) build its key once. */
  private readonly dimensionKeys = new WeakMap<object, string>();

  private dimensionsKey(dimensions: Readonly<Record<string, string>>): string {
    let key = this.dimensionKeys.get(dimensions);
    if (key === undefined) {
      key = Object.entries(dimensions)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      this.dimensionKeys.set(dimensions, key);
    }
    return key;
  }

  /** Everything recorded so far (oldest first); forgets it. */
  drain(): StageMinute[] {
    const out = [...this.minutes.values()];
    this.minutes.clear();
    return out;
  }

  /** What is recorded so far, without forgetting it. */
  peek(): readonly StageMinute[] {
    return [...this.minutes.values()];
  }
}

const emptySet = (): StatisticSet => ({
  sampleCount: 0,
  sum: 0,
  minimum: Number.POSITIVE_INFINITY,
  maximum: Number.NEGATIVE_INFINITY,
});

function add(s: StatisticSet, v: number): void {
  s.sampleCount++;
  s.sum += v;
  if (v < s.minimum) s.minimum = v;
  if (v > s.maximum) s.maximum = v;
}
