/**
 * Gives the memory native code freed back to the system when the server goes quiet.
 *
 * glibc's malloc keeps what HTTP parsing, SQLite, OpenSSL and zlib free()d in its arenas
 * and returns only the top of the main heap, so after a burst of requests the server's RSS
 * stays near its high-water mark even though nothing is live. Measured with the fuzz bench
 * (`node dist/bench/fuzz.js --requests 10000 --seed 7 --concurrency 64`): RSS 132 MB at the
 * start, 192 MB settled after 100,000 requests, of which malloc's heap held 63 MB;
 * `malloc_trim(0)` brought the heap to 9 MB and RSS to 135 MB. Node has no binding for it,
 * so it is called through koffi (a maintained FFI with prebuilt binaries from npm); where
 * that or glibc is missing (musl, macOS) there is nothing to trim and nothing is done.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../shared/log.js';

/** How often the server checks whether it was idle: a trim runs after a quiet period. */
const CHECK_MS = 10_000;

type Trim = () => void;

/** malloc_trim(0) from glibc, or undefined where it cannot be called. */
export function loadMallocTrim(log: Logger): Trim | undefined {
  if (process.platform !== 'linux') return undefined;
  // glibcVersionRuntime is absent on musl: its malloc has no malloc_trim.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
    ?.header;
  if (!header?.glibcVersionRuntime) return undefined;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
    return () => void trim(0);
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
  now(): void {
    this.trim?.();
    this.dirty = false;
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
