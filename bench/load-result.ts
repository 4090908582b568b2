/** What one load run measured, whichever generator produced it. */
export interface LoadResult {
  /** Completed requests per second over the measured interval. */
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers whose status was not 2xx/3xx (must be 0 for the figures to mean anything). */
  non2xx: number;
  /** Connect/read/write errors and timeouts. */
  errors: number;
}

export interface LoadRun {
  url: string;
  concurrency: number;
  durationS: number;
}
