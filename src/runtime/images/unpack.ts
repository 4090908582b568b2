/**
 * Unpacks one compressed layer stream into an empty directory: in a worker thread for
 * large layers (the extraction's synchronous file system calls must not stall the
 * server), inline for small ones (a worker costs ~30 ms to start).
 */
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { decompressed } from './decompress.js';
import { extractLayer, LayerRefusedError, type LayerMeta } from './extract.js';

/** Layers smaller than this (compressed) are unpacked on the calling thread. */
export const INLINE_MAX_BYTES = 1024 * 1024;
/** Chunks sent to the worker and not yet acknowledged. */
const IN_FLIGHT = 16;

export type ToWorker =
  { kind: 'chunk'; bytes: Uint8Array } | { kind: 'end' } | { kind: 'abort'; message: string };

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
  return inWorker(source, dir, opts.chown);
}

function inWorker(source: Readable, dir: string, chown: boolean): Promise<LayerMeta> {
  const worker = new Worker(new URL('./unpack-worker.js', import.meta.url), {
    workerData: { dir, chown },
  });
  return new Promise<LayerMeta>((resolve, reject) => {
    let settled = false;
    let inFlight = 0;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      source.destroy();
      fn();
      void worker.terminate();
    };
    const post = (message: ToWorker, transfer: ArrayBuffer[] = []) => {
      if (!settled) worker.postMessage(message, transfer);
    };
    worker.on('message', (message: FromWorker) => {
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
    });
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`layer unpack worker exited (${code}) before finishing`))),
    );
    source.on('data', (chunk: Buffer) => {
      // A copy the worker owns (stream chunks may share a pooled buffer).
      const bytes = new Uint8Array(chunk);
      post({ kind: 'chunk', bytes }, [bytes.buffer]);
      if (++inFlight >= IN_FLIGHT) source.pause();
    });
    source.once('end', () => post({ kind: 'end' }));
    source.once('error', (err) => post({ kind: 'abort', message: err.message }));
  });
}
