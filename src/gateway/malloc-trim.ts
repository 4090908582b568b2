/**
 * Gives the memory native code freed back to the system once the server goes quiet.
 *
 * glibc's malloc keeps what HTTP parsing, SQLite, OpenSSL, zlib and V8's compiler threads
 * free()d, so after a burst of requests the server's RSS stays near its high-water mark
 * though nothing is live. Two things hold it (fuzz bench, 110,000 requests, seed 20261207,
 * bench/README.md "Fuzz (long run)"):
 *  - free chunks inside the main arena (brk heap): `malloc_trim(0)` gives their pages back
 *    (84.6 → 10.3 MB of heap resident);
 *  - the free top chunk of each thread arena (V8's worker threads and libuv's pool, 5–7 MB
 *    each): `malloc_trim` does not touch it, glibc shrinks a thread heap only in free(),
 *    when its top passes the trim threshold; and glibc raises that threshold (and the mmap
 *    threshold) up to 64 MB after the first large mmapped block is freed, which megabyte
 *    request bodies do at once. `mallopt` fixes both thresholds at glibc's defaults
 *    (128 KiB) at start, which also turns that adjustment off: large buffers are mmapped
 *    and unmapped when freed, thread heaps shrink as they free.
 * Together: RSS +65% → +8.6% after that run. A threshold the user set
 * (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`) is left alone.
 *
 * Node has no binding for either, so they are called through koffi (a maintained FFI, MIT,
 * prebuilt per platform in npm packages: no compiler). Where glibc or koffi is missing
 * (musl, macOS, Windows) there is nothing to do and nothing is done.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../shared/log.js';

/** How often the server checks whether it was idle: a trim runs after a quiet period. */
const CHECK_MS = 10_000;

/** mallopt parameters (glibc's malloc.h) and the value both get: glibc's default. */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const THRESHOLD = 128 * 1024;

/** What a trim did: `released` when malloc gave memory back, `none` when it had none. */
export type TrimOutcome = 'released' | 'none' | 'unavailable';

/** malloc_trim(0): true when memory was given back. */
type Trim = () => boolean;

/** Whether the user chose a malloc threshold for this process (then it stays theirs). */
function thresholdsSetByUser(env: NodeJS.ProcessEnv): boolean {
  return (
    env.MALLOC_MMAP_THRESHOLD_ !== undefined ||
    env.MALLOC_TRIM_THRESHOLD_ !== undefined ||
    /glibc\.malloc\.(mmap|trim)_threshold/.test(env.GLIBC_TUNABLES ?? '')
  );
}

/**
 * glibc's malloc_trim(0), or undefined where it cannot be called. On the way, fixes
 * malloc's mmap and trim thresholds (see above) unless the user set them.
 */
export function loadMallocTrim(log: Logger, env = process.env): Trim | undefined {
  if (process.platform !== 'linux') return undefined;
  // glibcVersionRuntime is absent on musl: its malloc has no malloc_trim.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
    ?.header;
  if (!header?.glibcVersionRuntime) return undefined;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    const trim = libc.func('int malloc_trim(size_t pad)');
    if (!thresholdsSetByUser(env)) {
      const mallopt = libc.func('int mallopt(int param, int value)');
      // mallopt answers 1 on success.
      const set = [M_MMAP_THRESHOLD, M_TRIM_THRESHOLD].every((p) => mallopt(p, THRESHOLD) === 1);
      if (!set) log.debug('mallopt refused the malloc thresholds');
    }
    return () => trim(0) === 1;
  } catch (err) {
    log.debug('malloc_trim is not available', { error: String(err) });
    return undefined;
  }
}

/**
 * Counts requests; every CHECK_MS, when requests came since the last trim and none in the
 * last period, trims once. The counter is the only cost on the request path.
 */
export class IdleTrimmer {
  private served = 0;
  private seenAtCheck = 0;
  private dirty = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly trim: Trim | undefined) {
    if (trim) this.timer = setInterval(() => this.check(), CHECK_MS).unref();
  }

  request(): void {
    this.served++;
  }

  /** Trims now (after a forced garbage collection, POST /_stratus/gc). */
  now(): TrimOutcome {
    if (!this.trim) return 'unavailable';
    this.dirty = false;
    return this.trim() ? 'released' : 'none';
  }

  private check(): void {
    if (this.served !== this.seenAtCheck) {
      this.seenAtCheck = this.served;
      this.dirty = true;
    } else if (this.dirty) {
      this.now();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
