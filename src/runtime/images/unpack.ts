/**
 * Unpacks one compressed layer stream into an empty directory: in a worker thread for
 * large layers (the extraction's synchronous file system calls must not stall the
 * server), inline for small ones. Workers are kept (at most POOL of them; idle ones are
 * unreferenced so they never hold the process open) and take one layer at a time, so their code is warm
 * after the first layer.
 */
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { decompressed } from './decompress.js';
import { extractLayer, LayerRefusedError, type LayerMeta } from './extract.js';

/** Layers smaller than this (compressed) are unpacked on the calling thread. */
export const INLINE_MAX_BYTES = 1024 * 1024;
/** Chunks sent to the worker and not yet acknowledged. */
const IN_FLIGHT = 16;
/** Workers kept; more layers at once wait for one. */
const POOL = 2;

export type ToWorker =
  | { kind: 'start'; dir: string; chown: boolean }
  | { kind: 'chunk'; bytes: Uint8Array }
  | { kind: 'end' }
  | { kind: 'abort'; message: string };

export type FromWorker =
  | { kind: 'ack' }
  | { kind: 'done'; meta: LayerMeta }
  | { kind: 'refused'; path: string; reason: string }
  | { kind: 'failed'; message: string };

export interface UnpackOptions {
  chown: boolean;
  /** The layer's compressed size, when known (decides inline or worker). */
  size?: number;
}

export async function unpackLayer(
  source: Readable,
  dir: string,
  opts: UnpackOptions,
): Promise<LayerMeta> {
  if (opts.size !== undefined && opts.size < INLINE_MAX_BYTES) {
    return extractLayer(await decompressed(source), dir, { chown: opts.chown });
  }
  const worker = await pool.take();
  let healthy = false;
  try {
    const meta = await inWorker(worker, source, dir, opts.chown);
    healthy = true;
    return meta;
  } catch (err) {
    // A refusal leaves the worker idle and fine; anything else may not have.
    healthy = err instanceof LayerRefusedError;
    throw err;
  } finally {
    pool.give(worker, healthy);
  }
}

class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private count = 0;

  async take(): Promise<Worker> {
    const idle = this.idle.pop();
    if (idle) {
      idle.ref();
      return idle;
    }
    if (this.count < POOL) {
      this.count++;
      const worker = new Worker(new URL('./unpack-worker.js', import.meta.url));
      worker.once('exit', () => this.forget(worker));
      return worker;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(worker: Worker, healthy: boolean): void {
    if (!healthy) {
      this.forget(worker);
      void worker.terminate();
      const next = this.waiting.shift();
      if (next) void this.take().then(next);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(worker);
    else {
      // Idle workers never keep the process alive.
      worker.unref();
      this.idle.push(worker);
    }
  }

  private forget(worker: Worker): void {
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    if ((worker as Worker & { forgotten?: boolean }).forgotten) return;
    (worker as Worker & { forgotten?: boolean }).forgotten = true;
    this.count--;
  }
}

const pool = new WorkerPool();

function inWorker(
  worker: Worker,
  source: Readable,
  dir: string,
  chown: boolean,
): Promise<LayerMeta> {
  return new Promise<LayerMeta>((resolve, reject) => {
    let settled = false;
    let inFlight = 0;
    const onMessage = (message: FromWorker) => {
      switch (message.kind) {
        case 'ack':
          inFlight--;
          if (inFlight < IN_FLIGHT && source.isPaused()) source.resume();
          break;
        case 'done':
          settle(() => resolve(message.meta));
          break;
        case 'refused':
          settle(() => reject(new LayerRefusedError(message.path, message.reason)));
          break;
        case 'failed':
          settle(() => reject(new Error(message.message)));
          break;
      }
    };
    const onError = (err: Error) => settle(() => reject(err));
    const onExit = (code: number) =>
      settle(() => reject(new Error(`layer unpack worker exited (${code}) before finishing`)));
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      source.off('data', onData);
      source.destroy();
      fn();
    };
    const post = (message: ToWorker, transfer: ArrayBuffer[] = []) => {
      if (!settled) worker.postMessage(message, transfer);
    };
    const onData = (chunk: Buffer) => {
      // A copy the worker owns (stream chunks may share a pooled buffer).
      const bytes = new Uint8Array(chunk);
      post({ kind: 'chunk', bytes }, [bytes.buffer]);
      if (++inFlight >= IN_FLIGHT) source.pause();
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    post({ kind: 'start', dir, chown });
    source.on('data', onData);
    source.once('end', () => post({ kind: 'end' }));
    source.once('error', (err) => post({ kind: 'abort', message: err.message }));
  });
}
