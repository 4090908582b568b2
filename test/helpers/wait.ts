/**
 * The one way tests wait for something: poll a probe until it returns a value. Deadlines are
 * generous (a cold start, a queue or a delivery on a loaded CI machine); a pass returns at
 * once, so a long deadline costs nothing when things work.
 */
export interface PollOptions {
  /** How long before giving up (default 60 s). */
  timeoutMs?: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
  /** Treat a probe that throws as "not yet" (the last error is in the timeout's message). */
  retryOnError?: boolean;
}

/** Polls `probe` until it returns something other than undefined. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: number | PollOptions = {},
): Promise<T> {
  const {
    timeoutMs = 60_000,
    intervalMs = 100,
    retryOnError = false,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const got = await probe();
      if (got !== undefined) return got;
    } catch (err) {
      if (!retryOnError) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
