/**
 * Progress of a build on stderr: one line when a step starts, a line every few seconds
 * while a long step moves bytes, and one when it ends with its bytes and elapsed time.
 * Lines, not a redrawn bar, so the output reads the same in CI logs as on a terminal.
 */
export type ProgressSink = (line: string) => void;

export const stderrSink: ProgressSink = (line) => process.stderr.write(`${line}\n`);

export interface Step {
  /** Adds to the step's byte count (shown by the ticker and the end line). */
  bytes(n: number): void;
  /** A line of detail under the step (e.g. mmdebstrap's own `I:` lines). */
  detail(text: string): void;
  done(summary?: string): number;
}

export interface Progress {
  step(label: string): Step;
  info(text: string): void;
}

const TICK_MS = 5000;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function createProgress(sink: ProgressSink = stderrSink): Progress {
  const started = Date.now();
  const stamp = () => `[${formatSeconds(Date.now() - started).padStart(7)}]`;
  return {
    info: (text) => sink(`${stamp()} ${text}`),
    step(label) {
      const t0 = Date.now();
      let bytes = 0;
      sink(`${stamp()} ${label} …`);
      const ticker = setInterval(() => {
        if (bytes > 0)
          sink(`${stamp()}   ${label}: ${formatBytes(bytes)} in ${formatSeconds(Date.now() - t0)}`);
      }, TICK_MS);
      ticker.unref();
      let ended = false;
      return {
        bytes: (n) => void (bytes += n),
        detail: (text) => sink(`${stamp()}   ${text}`),
        done(summary) {
          const elapsed = Date.now() - t0;
          if (ended) return elapsed;
          ended = true;
          clearInterval(ticker);
          const parts = [
            summary,
            bytes > 0 ? formatBytes(bytes) : undefined,
            formatSeconds(elapsed),
          ];
          sink(`${stamp()} ${label}: ${parts.filter(Boolean).join(', ')}`);
          return elapsed;
        },
      };
    },
  };
}

/** For library callers that want no output. */
export const silentProgress: Progress = createProgress(() => {});
