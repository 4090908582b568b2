/**
 * The in-memory half of Batch's scheduler: which RUNNABLE job starts next, and in which
 * compute environment. It holds no job records, only what a decision needs, and is rebuilt
 * from the store at start (engine.ts persists every transition).
 *
 * Cost per decision is O(log n) in queued jobs: each queue keeps a binary heap (FIFO, or
 * one heap per share identifier in a fair-share queue), removals are lazy (an entry counts
 * only while `waiting` maps its job id to it), and a dispatch round walks the queues in
 * priority order, taking heads while they fit. Nothing scans the queued jobs.
 *
 * AWS's rules, as documented:
 *  - "Job queues with a higher priority are evaluated first when associated with the same
 *    compute environment." Lower-priority queues still fill what capacity is left.
 *  - A job goes to the first compute environment in its queue's order that is ENABLED and
 *    VALID and has room ("the scheduler attempts to place jobs in the compute environment
 *    with the lowest order").
 *  - FIFO queues run jobs in submission order; fair-share queues pick the share identifier
 *    with the lowest usage × weight ("a share identifier with a weight factor of 0.5 is
 *    given twice the compute resources of one with a weight factor of 1"), and within a
 *    share the highest schedulingPriority, then the oldest. Usage is what a share's jobs
 *    hold now plus what its ended jobs used, decayed over shareDecaySeconds.
 *    https://docs.aws.amazon.com/batch/latest/userguide/job_scheduling.html
 *
 * Capacity: a compute environment offers min(maxvCpus, this machine's vCPUs) and this
 * machine's memory, and every environment draws from the machine's pool, so jobs never
 * oversubscribe the host. A job asking for more than the machine has is reserved as the
 * whole machine (it runs alone rather than never); a job no usable environment could ever
 * hold (more than its maxvCpus) waits RUNNABLE, as on AWS, without blocking the jobs
 * behind it.
 */
import type { ShareAttributes } from '../../api/batch/types.js';
import { MinHeap } from '../../shared/min-heap.js';

export interface Capacity {
  /** Thousandths of a vCPU (Fargate jobs ask for 0.25). */
  milliVcpus: number;
  memoryMib: number;
}

export interface QueuedJob {
  jobId: string;
  /** The queue's ARN. */
  queue: string;
  /** Submission order. */
  seq: number;
  /** schedulingPriority (fair-share queues only; higher first). */
  priority: number;
  milliVcpus: number;
  memoryMib: number;
  shareIdentifier?: string;
}

export interface Placement {
  job: QueuedJob;
  /** The compute environment's ARN. */
  environment: string;
}

export interface FairShareSettings {
  shares: readonly ShareAttributes[];
  /** Percent of the capacity held back for share identifiers with no running job. */
  computeReservation?: number;
  /** The time window of past usage (0 or absent: AWS's minimum, 600 s). */
  shareDecaySeconds?: number;
}

/** "A value of zero (0) indicates the default minimum time window (600 seconds)." */
export const MIN_SHARE_DECAY_SECONDS = 600;

interface EnvironmentState {
  arn: string;
  capacity: Capacity;
  used: Capacity;
  /** ENABLED and VALID. */
  usable: boolean;
}

interface ShareState {
  heap: MinHeap<QueuedJob>;
  weight: number;
  /** vCPUs (thousandths) its running jobs hold. */
  running: number;
  /** Usage of its ended jobs (thousandths of a vCPU × seconds), decayed to `decayedAt`. */
  used: number;
  decayedAt: number;
}

interface QueueState {
  arn: string;
  priority: number;
  enabled: boolean;
  environments: string[];
  fairShare?: FairShareSettings;
  fifo: MinHeap<QueuedJob>;
  shares: Map<string, ShareState>;
  /** Jobs no usable environment of the queue could ever hold; retried when those change. */
  oversized: QueuedJob[];
}

interface RunningJob {
  startedAt: number;
  environment: string;
  queue: string;
  share?: string;
  milliVcpus: number;
  memoryMib: number;
}

const fifoLess = (a: QueuedJob, b: QueuedJob): boolean => a.seq < b.seq;
const priorityLess = (a: QueuedJob, b: QueuedJob): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;

/** The share identifier a fair-share queue files a job under ('' when it has none). */
const shareOf = (job: QueuedJob): string => job.shareIdentifier ?? '';

export class Scheduler {
  private readonly environments = new Map<string, EnvironmentState>();
  private readonly queues = new Map<string, QueueState>();
  /** Queues by priority, highest first (rebuilt when a queue changes; there are few). */
  private order: QueueState[] = [];
  /** Queued jobs by id: an entry in a heap is live only while this maps its id to it. */
  private readonly waiting = new Map<string, QueuedJob>();
  private readonly running = new Map<string, RunningJob>();
  private readonly used: Capacity = { milliVcpus: 0, memoryMib: 0 };
  /** Jobs parked since the last takeBlocked() because no usable environment is big enough. */
  private blocked: QueuedJob[] = [];

  constructor(
    readonly machine: Capacity,
    private readonly now: () => number = Date.now,
  ) {}

  get queuedCount(): number {
    return this.waiting.size;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Adds or updates an environment; `maxMilliVcpus` is its maxvCpus (or unmanagedvCpus). */
  setEnvironment(arn: string, maxMilliVcpus: number, usable: boolean): void {
    const capacity: Capacity = {
      milliVcpus: Math.min(maxMilliVcpus, this.machine.milliVcpus),
      memoryMib: this.machine.memoryMib,
    };
    const env = this.environments.get(arn);
    if (env) {
      env.capacity = capacity;
      env.usable = usable;
    } else {
      this.environments.set(arn, {
        arn,
        capacity,
        usable,
        used: { milliVcpus: 0, memoryMib: 0 },
      });
    }
    this.retryOversized();
  }

  removeEnvironment(arn: string): void {
    this.environments.delete(arn);
  }

  setQueue(
    arn: string,
    settings: {
      priority: number;
      enabled: boolean;
      environments: string[];
      fairShare?: FairShareSettings;
    },
  ): void {
    let q = this.queues.get(arn);
    if (!q) {
      q = {
        arn,
        ...settings,
        fifo: new MinHeap(fifoLess),
        shares: new Map(),
        oversized: [],
      };
      this.queues.set(arn, q);
    } else {
      const wasFair = q.fairShare !== undefined;
      Object.assign(q, settings);
      if (wasFair !== (settings.fairShare !== undefined)) this.refile(q);
      for (const [id, share] of q.shares) share.weight = this.weightOf(q, id);
    }
    this.order = [...this.queues.values()].sort((a, b) => b.priority - a.priority);
    this.retryOversized();
  }

  /** Drops a queue; resolves the ids of the jobs it still held. */
  removeQueue(arn: string): string[] {
    const q = this.queues.get(arn);
    if (!q) return [];
    const ids = [...this.waiting.values()].filter((j) => j.queue === arn).map((j) => j.jobId);
    for (const id of ids) this.waiting.delete(id);
    this.queues.delete(arn);
    this.order = this.order.filter((o) => o !== q);
    return ids;
  }

  /** Queues a RUNNABLE job. */
  enqueue(job: QueuedJob): void {
    const q = this.queues.get(job.queue);
    if (!q) return;
    this.waiting.set(job.jobId, job);
    this.file(q, job);
  }

  /** Takes a queued job out (cancelled); false when it was not queued. */
  remove(jobId: string): boolean {
    return this.waiting.delete(jobId);
  }

  isQueued(jobId: string): boolean {
    return this.waiting.has(jobId);
  }

  /** Frees what a started job held (it ended, or never really started). */
  release(jobId: string): void {
    const r = this.running.get(jobId);
    if (!r) return;
    this.running.delete(jobId);
    const env = this.environments.get(r.environment);
    if (env) {
      env.used.milliVcpus -= r.milliVcpus;
      env.used.memoryMib -= r.memoryMib;
    }
    this.used.milliVcpus -= r.milliVcpus;
    this.used.memoryMib -= r.memoryMib;
    const q = this.queues.get(r.queue);
    const share = r.share !== undefined ? q?.shares.get(r.share) : undefined;
    if (q && share) {
      share.running -= r.milliVcpus;
      const now = this.now();
      share.used = this.decayed(q, share, now) + (r.milliVcpus * (now - r.startedAt)) / 1000;
    }
  }

  /**
   * One dispatch round: starts every job that fits, in AWS's order, and returns the
   * placements (their capacity is held until release).
   */
  dispatch(limit = Infinity): Placement[] {
    const placed: Placement[] = [];
    for (const q of this.order) {
      if (!q.enabled) continue;
      while (placed.length < limit) {
        const head = this.head(q);
        if (!head) break;
        const { job, heap } = head;
        const env = this.fit(q, job);
        if (!env) {
          if (this.couldEverFit(q, job)) break;
          heap.pop();
          q.oversized.push(job);
          if (this.hasUsable(q)) this.blocked.push(job);
          continue;
        }
        heap.pop();
        this.waiting.delete(job.jobId);
        this.hold(q, env, job);
        placed.push({ job, environment: env.arn });
      }
    }
    return placed;
  }

  /**
   * The jobs that reached the head of their queue and were parked since the last call
   * because the queue has usable environments but none with enough vCPUs (AWS:
   * "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE").
   */
  takeBlocked(): QueuedJob[] {
    const out = this.blocked;
    this.blocked = [];
    return out;
  }

  /** Whether the job is still parked as too big for its queue's environments. */
  isBlocked(jobId: string): boolean {
    const job = this.waiting.get(jobId);
    return job !== undefined && this.queues.get(job.queue)?.oversized.includes(job) === true;
  }

  private hasUsable(q: QueueState): boolean {
    return q.environments.some((arn) => this.environments.get(arn)?.usable === true);
  }

  /** A job's reservation: at most the whole machine. */
  private need(job: QueuedJob): Capacity {
    return {
      milliVcpus: Math.min(job.milliVcpus, this.machine.milliVcpus),
      memoryMib: Math.min(job.memoryMib, this.machine.memoryMib),
    };
  }

  private hold(q: QueueState, env: EnvironmentState, job: QueuedJob): void {
    const need = this.need(job);
    env.used.milliVcpus += need.milliVcpus;
    env.used.memoryMib += need.memoryMib;
    this.used.milliVcpus += need.milliVcpus;
    this.used.memoryMib += need.memoryMib;
    let share: string | undefined;
    if (q.fairShare) {
      share = shareOf(job);
      const s = q.shares.get(share);
      if (s) s.running += need.milliVcpus;
    }
    this.running.set(job.jobId, {
      startedAt: this.now(),
      environment: env.arn,
      queue: q.arn,
      share,
      ...need,
    });
  }

  /** The first environment in the queue's order with room for the job. */
  private fit(q: QueueState, job: QueuedJob): EnvironmentState | undefined {
    const need = this.need(job);
    if (this.used.milliVcpus + need.milliVcpus > this.machine.milliVcpus) return undefined;
    if (this.used.memoryMib + need.memoryMib > this.machine.memoryMib) return undefined;
    for (const arn of q.environments) {
      const env = this.environments.get(arn);
      if (!env?.usable) continue;
      let limit = env.capacity.milliVcpus;
      if (q.fairShare?.computeReservation) limit -= this.reserved(q, env, job);
      if (env.used.milliVcpus + need.milliVcpus > limit) continue;
      if (env.used.memoryMib + need.memoryMib > env.capacity.memoryMib) continue;
      return env;
    }
    return undefined;
  }

  /**
   * Fair share's compute reservation: "the ratio of reserved compute is
   * (computeReservation/100)^ActiveFairShares", held back for share identifiers that are
   * not active yet; a share already running jobs cannot use it.
   */
  private reserved(q: QueueState, env: EnvironmentState, job: QueuedJob): number {
    const reservation = (q.fairShare?.computeReservation ?? 0) / 100;
    let active = 0;
    for (const s of q.shares.values()) if (s.running > 0) active++;
    const mine = q.shares.get(shareOf(job));
    if (active === 0 || !mine || mine.running === 0) return 0;
    return Math.floor(env.capacity.milliVcpus * Math.pow(reservation, active));
  }

  private couldEverFit(q: QueueState, job: QueuedJob): boolean {
    const need = this.need(job);
    return q.environments.some((arn) => {
      const env = this.environments.get(arn);
      return env?.usable === true && env.capacity.milliVcpus >= need.milliVcpus;
    });
  }

  private retryOversized(): void {
    for (const q of this.queues.values()) {
      if (q.oversized.length === 0) continue;
      const again = q.oversized;
      q.oversized = [];
      for (const job of again) if (this.waiting.get(job.jobId) === job) this.file(q, job);
    }
  }

  /** The queue's next job and the heap it heads; stale (removed) entries are dropped. */
  private head(q: QueueState): { job: QueuedJob; heap: MinHeap<QueuedJob> } | undefined {
    if (!q.fairShare) {
      const job = this.live(q.fifo);
      return job && { job, heap: q.fifo };
    }
    let best: { job: QueuedJob; heap: MinHeap<QueuedJob>; usage: number } | undefined;
    const now = this.now();
    const window = (q.fairShare?.shareDecaySeconds || MIN_SHARE_DECAY_SECONDS) * 1000;
    for (const [id, share] of q.shares) {
      const past = this.decayed(q, share, now);
      const job = this.live(share.heap);
      if (!job) {
        // Forgotten once idle and its past usage has decayed away.
        if (share.running === 0 && past < 1) q.shares.delete(id);
        continue;
      }
      // Usage: what runs now plus the decayed past as an average over the window (whole
      // thousandths of a vCPU: a past decayed below that is forgotten).
      const usage = (share.running + Math.floor((past * 1000) / window) + 1) * share.weight;
      if (!best || usage < best.usage || (usage === best.usage && job.seq < best.job.seq)) {
        best = { job, heap: share.heap, usage };
      }
    }
    return best && { job: best.job, heap: best.heap };
  }

  /**
   * A share's past usage now. AWS: "The amount of time (in seconds) to use to calculate a
   * fair-share percentage for each share identifier in use … The decay allows for more
   * recently run jobs to have more weight than jobs that ran earlier." Stratus decays it
   * exponentially with shareDecaySeconds as the time constant.
   */
  private decayed(q: QueueState, share: ShareState, now: number): number {
    const window = (q.fairShare?.shareDecaySeconds || MIN_SHARE_DECAY_SECONDS) * 1000;
    if (now > share.decayedAt) {
      share.used *= Math.exp(-(now - share.decayedAt) / window);
      share.decayedAt = now;
    }
    return share.used;
  }

  private live(heap: MinHeap<QueuedJob>): QueuedJob | undefined {
    for (;;) {
      const job = heap.peek();
      if (!job || this.waiting.get(job.jobId) === job) return job;
      heap.pop();
    }
  }

  private file(q: QueueState, job: QueuedJob): void {
    if (!q.fairShare) {
      q.fifo.push(job);
      return;
    }
    const id = shareOf(job);
    let share = q.shares.get(id);
    if (!share) {
      share = {
        heap: new MinHeap(priorityLess),
        weight: this.weightOf(q, id),
        running: 0,
        used: 0,
        decayedAt: this.now(),
      };
      q.shares.set(id, share);
    }
    share.heap.push(job);
  }

  /** Re-files a queue's jobs after it switched between FIFO and fair share. */
  private refile(q: QueueState): void {
    const jobs = [...this.waiting.values()].filter((j) => j.queue === q.arn);
    q.fifo = new MinHeap(fifoLess);
    const before = q.shares;
    q.shares = new Map();
    for (const job of jobs) this.file(q, job);
    for (const [id, old] of before) {
      const s = q.shares.get(id);
      if (s) Object.assign(s, { running: old.running, used: old.used, decayedAt: old.decayedAt });
    }
  }

  /**
   * A share identifier's weight factor: an exact entry, else the longest matching prefix
   * entry ("ABC*"), else 1. "The default value is 1."
   */
  private weightOf(q: QueueState, id: string): number {
    let best: ShareAttributes | undefined;
    for (const s of q.fairShare?.shares ?? []) {
      if (s.shareIdentifier === id) return s.weightFactor ?? 1;
      if (s.shareIdentifier.endsWith('*') && id.startsWith(s.shareIdentifier.slice(0, -1))) {
        if (!best || s.shareIdentifier.length > best.shareIdentifier.length) best = s;
      }
    }
    return best?.weightFactor ?? 1;
  }
}
