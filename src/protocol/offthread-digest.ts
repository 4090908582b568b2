/**
 * Hashing a large payload on a worker thread instead of the event loop. A PutObject hashes
 * every byte twice on its way in (MD5 for the ETag, SHA-256 for the content address) and
 * MD5 is the slow one (about 260 MB/s on a loaded core, where a disk takes 200+ MB/s):
 * done on the event loop it caps a large upload below the disk's speed and stalls every
 * other request meanwhile. Each algorithm has its own shared worker (MD5 and SHA-256 then
 * run side by side on two cores), which keeps a hash per job. Bytes are copied into
 * 1 MB slabs that go to the worker and come back (transferred both ways, never cloned: a
 * message per socket chunk cost more than the hashing it saved), and a job that runs ahead
 * of the worker waits (`backlog()`), so memory stays bounded whatever the size.
 */
import { Worker } from 'node:worker_threads';

/** Payloads this large are hashed off the event loop (a worker's start and message
 * hand-offs cost more than hashing a small body in place). */
export const OFF_THREAD_BYTES = 8 * 1024 * 1024;

export type OffThreadAlgorithm = 'md5' | 'sha256';

/** Bytes a job may have in the worker's queue before its writer waits. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;
const SLAB = 1024 * 1024;
/** Slabs back from the workers, reused (at most two jobs' in-flight worth are kept). */
const slabs: ArrayBuffer[] = [];
const MAX_SPARE_SLABS = (2 * MAX_IN_FLIGHT) / SLAB;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.chunk) {
    let hash = jobs.get(m.id);
    if (!hash) jobs.set(m.id, (hash = createHash(m.algorithm)));
    hash.update(new Uint8Array(m.chunk, 0, m.length));
    parentPort.postMessage({ id: m.id, done: m.length, chunk: m.chunk }, [m.chunk]);
  } else {
    const hash = jobs.get(m.id) ?? createHash(m.algorithm);
    jobs.delete(m.id);
    if (m.digest) parentPort.postMessage({ id: m.id, digest: hash.digest() });
  }
});
`;

interface Reply {
  id: number;
  done?: number;
  chunk?: ArrayBuffer;
  digest?: Uint8Array;
}

interface Job {
  /** The worker hashing it (its jobs fail with it). */
  worker: Worker;
  inFlight: number;
  drained?: () => void;
  result?: (digest: Buffer) => void;
  fail?: (err: Error) => void;
}

const workers = new Map<OffThreadAlgorithm, Worker>();
const jobs = new Map<number, Job>();
let nextId = 1;
/** Jobs per worker: a worker with jobs is ref'd, so awaiting a digest never ends the process. */
const busy = new Map<Worker, number>();

function track(id: number, job: Job): void {
  jobs.set(id, job);
  const n = busy.get(job.worker) ?? 0;
  if (n === 0) job.worker.ref();
  busy.set(job.worker, n + 1);
}

function forget(id: number): void {
  const job = jobs.get(id);
  if (!job) return;
  jobs.delete(id);
  const n = (busy.get(job.worker) ?? 1) - 1;
  if (n > 0) return void busy.set(job.worker, n);
  busy.delete(job.worker);
  job.worker.unref();
}

function hashWorker(algorithm: OffThreadAlgorithm): Worker {
  const running = workers.get(algorithm);
  if (running) return running;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.on('message', (m: Reply) => {
    if (m.chunk && slabs.length < MAX_SPARE_SLABS) slabs.push(m.chunk);
    const job = jobs.get(m.id);
    if (!job) return;
    if (m.done !== undefined) {
      job.inFlight -= m.done;
      if (job.inFlight <= MAX_IN_FLIGHT / 2 && job.drained) {
        const drained = job.drained;
        job.drained = undefined;
        drained();
      }
    } else if (m.digest) {
      forget(m.id);
      job.result?.(Buffer.from(m.digest));
    }
  });
  const died = (err: Error) => {
    // Every job in it fails (its request answers an error); the next job starts a new one.
    if (workers.get(algorithm) === w) workers.delete(algorithm);
    for (const [id, job] of jobs) {
      if (job.worker !== w) continue;
      forget(id);
      job.drained?.();
      job.fail?.(err);
    }
  };
  w.on('error', died);
  w.on('exit', (code) => died(new Error(`the hash worker exited (${code})`)));
  // Keeps the process alive only while a job waits on it (see track/forget).
  w.unref();
  workers.set(algorithm, w);
  return w;
}

/** A running digest computed on its algorithm's shared hash worker. */
export class OffThreadDigest {
  private readonly id = nextId++;
  private readonly job: Job;
  private readonly worker: Worker;
  private slab: Uint8Array | undefined;
  private filled = 0;

  constructor(private readonly algorithm: OffThreadAlgorithm) {
    this.worker = hashWorker(algorithm);
    this.job = { worker: this.worker, inFlight: 0 };
    track(this.id, this.job);
  }

  update(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.byteLength) {
      this.slab ??= new Uint8Array(slabs.pop() ?? new ArrayBuffer(SLAB));
      const n = Math.min(SLAB - this.filled, data.byteLength - offset);
      this.slab.set(data.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === SLAB) this.send();
    }
  }

  /** Hands the filled part of the slab to the worker. */
  private send(): void {
    if (!this.slab || this.filled === 0) return;
    const chunk = this.slab.buffer as ArrayBuffer;
    const length = this.filled;
    this.slab = undefined;
    this.filled = 0;
    this.job.inFlight += length;
    this.worker.postMessage({ id: this.id, algorithm: this.algorithm, chunk, length }, [chunk]);
  }

  /** Resolves once the worker has caught up enough to take more; undefined when it has. */
  backlog(): Promise<void> | undefined {
    if (this.job.inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise((resolve) => (this.job.drained = resolve));
  }

  digest(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (!jobs.has(this.id)) return reject(new Error('the hash worker exited'));
      this.job.result = resolve;
      this.job.fail = reject;
      this.send();
      this.worker.postMessage({ id: this.id, algorithm: this.algorithm, digest: true });
    });
  }

  /** Forgets the job (a payload that failed or was abandoned). */
  discard(): void {
    forget(this.id);
    this.worker.postMessage({ id: this.id, algorithm: this.algorithm });
  }
}
