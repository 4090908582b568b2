/** What one load run measured, whichever generator produced it. */
export interface LoadResult {
  /** Completed requests per second over the measured interval. */
  rps: number;
  requests: number;
  /** Length of the measured interval. */
  seconds: number;
  p50Ms: number;
  /** Where the generator reports it (wrk --latency, the socket client). */
  p90Ms?: number;
  p99Ms: number;
  /** Answers whose status was not 2xx/3xx (must be 0 for the figures to mean anything). */
  non2xx: number;
  /** Connect/read/write errors and timeouts. */
  errors: number;
  /** CPU the server process used during the run (Linux, /proc). */
  serverCpuMs?: number;
  /** serverCpuMs ÷ requests, in µs: what one call costs the server. */
  cpuUsPerCall?: number;
  /**
   * When serverCpuMs counts the processes the server spawned too (function runtimes): the
   * server process's own share of it, and that ÷ requests in µs.
   */
  ownCpuMs?: number;
  ownCpuUsPerCall?: number;
}

export interface LoadRun {
  url: string;
  concurrency: number;
  durationS: number;
}

/** The value at quantile q (0..1) of an ascending list. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Several short runs of one target as one figure: the rate over all of them, and the
 * median of their percentiles (so one slice hit by a burst of outside load does not
 * decide the p99).
 */
export function combine(slices: readonly LoadResult[]): LoadResult {
  const requests = slices.reduce((a, r) => a + r.requests, 0);
  const seconds = slices.reduce((a, r) => a + r.seconds, 0);
  const median = (pick: (r: LoadResult) => number) =>
    quantile(
      slices.map(pick).sort((a, b) => a - b),
      0.5,
    );
  const total = (pick: (r: LoadResult) => number | undefined) =>
    slices.every((r) => pick(r) !== undefined)
      ? slices.reduce((a, r) => a + (pick(r) ?? 0), 0)
      : undefined;
  const cpu = total((r) => r.serverCpuMs);
  const p90 = slices.every((r) => r.p90Ms !== undefined) ? median((r) => r.p90Ms ?? 0) : undefined;
  const own = total((r) => r.ownCpuMs);
  return {
    rps: seconds > 0 ? requests / seconds : 0,
    requests,
    seconds,
    p50Ms: median((r) => r.p50Ms),
    ...(p90 !== undefined && { p90Ms: p90 }),
    p99Ms: median((r) => r.p99Ms),
    non2xx: slices.reduce((a, r) => a + r.non2xx, 0),
    errors: slices.reduce((a, r) => a + r.errors, 0),
    ...(cpu !== undefined && requests > 0
      ? { serverCpuMs: cpu, cpuUsPerCall: (cpu * 1000) / requests }
      : {}),
    ...(own !== undefined && requests > 0
      ? { ownCpuMs: own, ownCpuUsPerCall: (own * 1000) / requests }
      : {}),
  };
}
