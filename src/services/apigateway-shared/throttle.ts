/**
 * API Gateway's throttling: a token bucket per key ("the rate is the number of requests
 * per second the bucket refills with, the burst its capacity"), the algorithm AWS names.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 * Keys are whatever the caller throttles by: `<api>/<stage>` for stage limits,
 * `<api>/<stage>/<METHOD> <path>` for method limits, `<usage plan>/<api key>` for plans.
 * A bucket starts full, so a burst of `burst` requests passes at once.
 */

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
  rate: number;
  burst: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Buckets kept before the idle ones are dropped (a full bucket equals no bucket). */
    private readonly maxKeys = 100_000,
  ) {}

  /**
   * Takes one token from `key`'s bucket: true when the request may pass. A rate of 0 with
   * a burst of 0 refuses everything (AWS: "a rate limit of 0 blocks all requests"); a
   * negative rate means no limit. A changed rate or burst applies from now on.
   */
  take(key: string, rate: number, burst: number): boolean {
    if (rate < 0) return true;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.dropFull(now);
      b = { tokens: burst, at: now, rate, burst };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * b.rate);
      b.at = now;
      b.rate = rate;
      b.burst = burst;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets every bucket (a usage plan or stage changed, or a reset). */
  clear(prefix?: string): void {
    if (prefix === undefined) return this.buckets.clear();
    for (const key of this.buckets.keys()) if (key.startsWith(prefix)) this.buckets.delete(key);
  }

  private dropFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * b.rate >= b.burst) this.buckets.delete(key);
    }
    // Still full of busy buckets: start over rather than grow without bound.
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}
