/**
 * Hashing a large payload on worker threads instead of the event loop. A PutObject hashes
 * every byte several times on its way in (MD5 for the ETag, SHA-256 for the content
 * address, often a CRC32 the client sent): done on the event loop that caps a large upload
 * below the disk's speed and stalls every other request meanwhile.
 *
 * One payload's digests are one job. Its bytes are copied once, into 1 MB shared slabs
 * that every worker of the job reads in place; MD5, the slowest, has a worker to itself,
 * the others share a second one, so the two run side by side on two cores. A slab is
 * reused once each of its workers is done with it, and a job that runs ahead of its
 * workers waits (`backlog()`), so memory stays bounded whatever the size. (A slab per
 * algorithm, transferred to its worker, cost the event loop a copy and a message per
 * algorithm: 0.3 s and more per GB; bench/README.md, "S3 benchmark".)
 */
import { Worker } from 'node:worker_threads';

/** Payloads this large are hashed off the event loop (a worker's start and message
 * hand-offs cost more than hashing a small body in place). */
export const OFF_THREAD_BYTES = 8 * 1024 * 1024;

/** What the workers compute: node's own hashes and zlib's CRC32. */
export type OffThreadAlgorithm = 'md5' | 'sha256' | 'sha1' | 'crc32';

type Group = 'md5' | 'rest';
const groupOf = (a: OffThreadAlgorithm): Group => (a === 'md5' ? 'md5' : 'rest');

/** Bytes a job may have with its workers before its writer waits. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;
const SLAB = 1024 * 1024;
/** Free slabs kept for reuse (two jobs' in-flight worth). */
const MAX_SPARE_SLABS = (2 * MAX_IN_FLIGHT) / SLAB;
const spare: SharedArrayBuffer[] = [];
/** Slabs with workers, by sequence number: how many workers still read each. */
const lent = new Map<number, { slab: SharedArrayBuffer; readers: number }>();
let nextSlab = 1;

// CRC32's running value is a number; the digest is its 4 bytes, big-endian, as S3's.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { crc32 } = require('node:zlib');
const jobs = new Map();
const start = (a) => (a === 'crc32' ? { crc: 0 } : createHash(a));
const digest = (a, h) => {
  if (a !== 'crc32') return h.digest();
  const b = Buffer.alloc(4);
  b.writeUInt32BE(h.crc >>> 0);
  return b;
};
parentPort.on('message', (m) => {
  let job = jobs.get(m.id);
  if (m.slab) {
    if (!job) jobs.set(m.id, (job = m.algorithms.map((a) => [a, start(a)])));
    const view = new Uint8Array(m.slab, 0, m.length);
    for (const [a, h] of job) {
      if (a === 'crc32') h.crc = crc32(view, h.crc);
      else h.update(view);
    }
    parentPort.postMessage({ id: m.id, done: m.length, seq: m.seq });
  } else {
    jobs.delete(m.id);
    if (!m.digest) return;
    job ??= m.algorithms.map((a) => [a, start(a)]);
    parentPort.postMessage({ id: m.id, digests: job.map(([a, h]) => [a, digest(a, h)]) });
  }
});
`;

interface Reply {
  id: number;
  done?: number;
  seq?: number;
  digests?: [OffThreadAlgorithm, Uint8Array][];
}

/** What a worker keeps of a job it serves. */
interface Share {
  /** Called with each slab the worker finished. */
  done(length: number): void;
  /** Called with the worker's digests, or when it died. */
  result(digests: [OffThreadAlgorithm, Uint8Array][] | Error): void;
}

const workers = new Map<Group, Worker>();
/** Jobs by id, per worker: a worker with jobs is ref'd (awaiting a digest never lets the
 * process exit under it). */
const shares = new Map<Worker, Map<number, Share>>();

function release(seq: number): void {
  const l = lent.get(seq);
  if (!l || --l.readers > 0) return;
  lent.delete(seq);
  if (spare.length < MAX_SPARE_SLABS) spare.push(l.slab);
}

function hashWorker(group: Group): Worker {
  const running = workers.get(group);
  if (running) return running;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  const served = new Map<number, Share>();
  shares.set(w, served);
  w.on('message', (m: Reply) => {
    if (m.seq !== undefined) release(m.seq);
    const share = served.get(m.id);
    if (!share) return;
    if (m.done !== undefined) share.done(m.done);
    else if (m.digests) share.result(m.digests);
  });
  const died = (err: Error) => {
    // Every job in it fails (its request answers an error); the next job starts a new one.
    if (workers.get(group) === w) workers.delete(group);
    for (const share of [...served.values()]) share.result(err);
    served.clear();
    w.unref();
  };
  w.on('error', died);
  w.on('exit', (code) => died(new Error(`the hash worker exited (${code})`)));
  // Keeps the process alive only while a job waits on it (see serve/leave).
  w.unref();
  workers.set(group, w);
  return w;
}

let nextId = 1;

/** The running digests of one payload, computed on the shared hash workers. */
export class OffThreadDigests {
  private readonly id = nextId++;
  private readonly algorithms = new Set<OffThreadAlgorithm>();
  /** The workers serving this job and the algorithms each computes. */
  private readonly groups = new Map<Worker, OffThreadAlgorithm[]>();
  private slab: SharedArrayBuffer | undefined;
  private filled = 0;
  private started = false;
  /** Bytes lent and not yet hashed, counted once per worker. */
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly results = new Map<OffThreadAlgorithm, Buffer>();
  private pending = 0;
  private settle: (() => void) | undefined;

  constructor(algorithms: readonly OffThreadAlgorithm[]) {
    for (const a of algorithms) this.add(a);
  }

  /** Adds an algorithm; false once bytes were fed (a digest must see every byte). */
  add(algorithm: OffThreadAlgorithm): boolean {
    if (this.started) return false;
    this.algorithms.add(algorithm);
    return true;
  }

  update(data: Uint8Array): void {
    if (!this.started) this.start();
    let offset = 0;
    while (offset < data.byteLength) {
      this.slab ??= spare.pop() ?? new SharedArrayBuffer(SLAB);
      const n = Math.min(SLAB - this.filled, data.byteLength - offset);
      new Uint8Array(this.slab, this.filled, n).set(data.subarray(offset, offset + n));
      this.filled += n;
      offset += n;
      if (this.filled === SLAB) this.send();
    }
  }

  /** Resolves once the workers have caught up enough to take more; undefined when they have. */
  backlog(): Promise<void> | undefined {
    if (this.inFlight <= MAX_IN_FLIGHT * this.groups.size || this.failure) return undefined;
    return new Promise((resolve) => (this.drained = resolve));
  }

  /** Every algorithm's digest (raw bytes), once the workers have hashed all that was fed. */
  async digests(): Promise<Map<OffThreadAlgorithm, Buffer>> {
    if (!this.started) this.start();
    this.send();
    if (this.failure) throw this.failure;
    const finished = new Promise<void>((resolve) => (this.settle = resolve));
    for (const [w, algorithms] of this.groups) {
      w.postMessage({ id: this.id, algorithms, digest: true });
    }
    await finished;
    if (this.failure) throw this.failure;
    return this.results;
  }

  /** Forgets the job (a payload that failed or was abandoned). */
  discard(): void {
    for (const [w, algorithms] of this.groups) {
      if (this.leave(w)) w.postMessage({ id: this.id, algorithms });
    }
  }

  private start(): void {
    this.started = true;
    const byGroup = new Map<Group, OffThreadAlgorithm[]>();
    for (const a of this.algorithms) {
      const g = groupOf(a);
      byGroup.set(g, [...(byGroup.get(g) ?? []), a]);
    }
    for (const [g, algorithms] of byGroup) {
      const w = hashWorker(g);
      this.groups.set(w, algorithms);
      this.serve(w);
    }
    this.pending = this.groups.size;
  }

  private serve(w: Worker): void {
    const served = shares.get(w) as Map<number, Share>;
    if (served.size === 0) w.ref();
    served.set(this.id, {
      done: (length) => {
        this.inFlight -= length;
        if (this.inFlight <= (MAX_IN_FLIGHT * this.groups.size) / 2) this.wake();
      },
      result: (digests) => {
        this.leave(w);
        if (digests instanceof Error) this.failure ??= digests;
        else for (const [a, d] of digests) this.results.set(a, Buffer.from(d));
        this.wake();
        if (--this.pending === 0 || digests instanceof Error) this.settle?.();
      },
    });
  }

  /** Stops being served by `w`; false if it was not. */
  private leave(w: Worker): boolean {
    const served = shares.get(w);
    if (!served?.delete(this.id)) return false;
    if (served.size === 0) w.unref();
    return true;
  }

  private wake(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  /** Lends the filled part of the slab to every worker of the job. */
  private send(): void {
    if (!this.slab || this.filled === 0) return;
    const slab = this.slab;
    const length = this.filled;
    this.slab = undefined;
    this.filled = 0;
    const seq = nextSlab++;
    lent.set(seq, { slab, readers: this.groups.size });
    // Counted once per worker: each reports its own progress.
    this.inFlight += length * this.groups.size;
    for (const [w, algorithms] of this.groups) {
      w.postMessage({ id: this.id, algorithms, slab, length, seq });
    }
  }
}
