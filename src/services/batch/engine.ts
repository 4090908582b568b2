/**
 * Batch's job state machine, persisted: SUBMITTED → PENDING (while dependencies run) →
 * RUNNABLE → STARTING → RUNNING → SUCCEEDED | FAILED
 * (https://docs.aws.amazon.com/batch/latest/userguide/job_states.html).
 *
 * Every transition is one store transaction that also moves the job in its list index and
 * updates its array parent's status summary (store.ts), so a crash at any moment leaves a
 * consistent state. The engine is event-driven: a submission, an exit, a cancel or a change
 * of queue or environment schedules one dispatch round (scheduler.ts) on the next turn of
 * the event loop; nothing polls the jobs.
 *
 * At start the open jobs (and only those) are reloaded: RUNNABLE ones are queued again,
 * PENDING ones wait for their dependencies again, and an attempt that was STARTING or
 * RUNNING when Stratus died is lost with its container (the driver reaps it at start), so
 * it ends as AWS ends an attempt whose instance went away, "Host EC2 (instance …)
 * terminated.", and is retried as the job's retry strategy says.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AttemptDetail, JobStatus } from '../../api/batch/types.js';
import { buildArn } from '../../shared/arn.js';
import type { Logger } from '../../shared/log.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import type { AttemptEvents, AttemptSpec, JobExecutor, RunningAttempt } from './executor.js';
import { isNode, isNodeParent, launchNodeGroup, nodeJobId } from './multi-node.js';
import { shouldRetry, type AttemptOutcome } from './retry.js';
import { BLOCKED, TimeLimits, actionReason } from './time-limits.js';
import { Scheduler, type Capacity, type Placement, type QueuedJob } from './scheduler.js';
import {
  T,
  TERMINAL,
  listKey,
  listScope,
  nameKey,
  type EnvironmentRecord,
  type JobRecord,
  type PolicyRecord,
  type QueueRecord,
} from './store.js';

export const REASON = {
  exited: 'Essential container in task exited',
  timeout: 'Job attempt duration exceeded timeout',
  dependency: 'Dependent Job failed',
  arrayChild: 'Array Child Job failed',
  hostLost: (instanceId: string) => `Host EC2 (instance ${instanceId}) terminated.`,
} as const;

export interface EngineOptions {
  store: MetadataStore;
  executor: JobExecutor;
  /** The share of this machine the compute environments draw from. */
  machine: Capacity;
  now(): number;
  log: Logger;
  /** Told of every job whose status changed, once it is stored (state change events). */
  onStatusChange?(job: JobRecord, before: JobStatus | undefined): void;
}

interface Attempt {
  job: JobRecord;
  handle?: RunningAttempt;
  startedAt?: number;
  timer?: NodeJS.Timeout;
  timedOut?: boolean;
  /** TerminateJob's reason. */
  terminated?: string;
  /** The SPOT capacity under it was reclaimed (reclaim()). */
  reclaimed?: boolean;
  /** Keeps this attempt's transitions in the order they happened. */
  chain: Promise<unknown>;
}

/** A changed job and the status it had before (undefined: it is new). */
interface Change {
  job: JobRecord;
  before: JobStatus | undefined;
}

const nameOf = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

export class JobEngine {
  readonly scheduler: Scheduler;
  /** Job id → the ids of the jobs waiting for it. */
  private readonly dependants = new Map<string, Set<string>>();
  private readonly attempts = new Map<string, Attempt>();
  private lastSeq = 0;
  private kickScheduled = false;
  private dispatching = false;
  private again = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly timeLimits: TimeLimits;
  /** SubmitJob calls waiting for the next group commit (flushSubmissions). */
  private submissions: { jobs: JobRecord[]; resolve(): void; reject(err: unknown): void }[] = [];

  constructor(private readonly opts: EngineOptions) {
    this.scheduler = new Scheduler(opts.machine, opts.now);
    this.timeLimits = new TimeLimits({
      now: opts.now,
      act: (jobId, action) => {
        this.idle = this.idle
          .then(async () => {
            if (this.stopped || !this.scheduler.isBlocked(jobId)) return;
            const job = await this.opts.store.get<JobRecord>(T.jobs, jobId);
            if (!job) return;
            const reason = actionReason(action);
            if (action.action === 'CANCEL') await this.cancel(job, reason);
            else await this.terminate(job, reason);
          })
          .catch(this.logError);
      },
    });
  }

  /** A submission order number: unique, increasing, and after every job already stored. */
  nextSeq(): number {
    this.lastSeq = Math.max(this.lastSeq + 1, this.opts.now() * 1000);
    return this.lastSeq;
  }

  /** Loads environments, queues and open jobs; recovers attempts a crash interrupted. */
  async start(): Promise<void> {
    const { store } = this.opts;
    for (const { value } of await store.list<EnvironmentRecord>(T.environments)) {
      this.applyEnvironment(value);
    }
    const policies = new Map(
      (await store.list<PolicyRecord>(T.policies)).map((p) => [p.value.arn, p.value]),
    );
    for (const { value } of await store.list<QueueRecord>(T.queues)) {
      this.applyQueue(
        value,
        value.schedulingPolicyArn ? policies.get(value.schedulingPolicyArn) : undefined,
      );
    }
    const lost: string[] = [];
    const lostNodes: string[] = [];
    const waiting: JobRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.list<string>(T.open, { after, limit: 1000 });
      for (const { key } of page) {
        const job = await store.get<JobRecord>(T.jobs, key);
        if (!job) continue;
        this.lastSeq = Math.max(this.lastSeq, job.seq);
        // An array parent's status follows its children; it never runs itself.
        if (job.array !== undefined && job.array.parentId === undefined) continue;
        // A multi-node job's nodes follow it: the job is what is queued and recovered.
        if (isNode(job)) {
          if (job.status === 'STARTING' || job.status === 'RUNNING') lostNodes.push(job.jobId);
          continue;
        }
        if (job.status === 'RUNNABLE') this.scheduler.enqueue(queued(job));
        else if (job.status === 'STARTING' || job.status === 'RUNNING') lost.push(job.jobId);
        else if (job.status === 'PENDING' && job.waitingOn.length > 0) waiting.push(job);
      }
      if (page.length < 1000) break;
      after = page[page.length - 1].key;
    }
    for (const job of waiting) for (const dep of job.waitingOn) this.wait(dep, job.jobId);
    if (lost.length > 0) {
      const now = this.opts.now();
      await this.update(lost, (job) => {
        const instanceId = job.current?.instanceId ?? 'i-00000000000000000';
        this.endAttempt(job, { statusReason: REASON.hostLost(instanceId) }, now, undefined);
      });
    }
    if (lostNodes.length > 0) {
      const now = this.opts.now();
      await this.update(lostNodes, (node) => {
        const instanceId = node.current?.instanceId ?? 'i-00000000000000000';
        this.endNode(node, { statusReason: REASON.hostLost(instanceId) }, now);
      });
    }
    // A dependency may have ended between its commit and its dependants' update.
    const done: JobRecord[] = [];
    for (const dep of [...this.dependants.keys()]) {
      const job = await store.get<JobRecord>(T.jobs, dep);
      if (job && TERMINAL.has(job.status)) done.push(job);
    }
    await this.settle(done);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timeLimits.clear();
    for (const a of this.attempts.values()) clearTimeout(a.timer);
    await this.idle;
    await this.opts.executor.close();
  }

  /** Forgets everything in memory (POST /_stratus/reset wiped the store). */
  reset(): void {
    for (const a of this.attempts.values()) {
      clearTimeout(a.timer);
      void a.handle?.stop();
    }
    this.attempts.clear();
    this.dependants.clear();
    this.timeLimits.clear();
    Object.assign(this, { scheduler: new Scheduler(this.opts.machine, this.opts.now) });
  }

  /** An environment was created, updated or deleted (undefined). */
  environmentChanged(arn: string, env: EnvironmentRecord | undefined): void {
    if (env) this.applyEnvironment(env);
    else this.scheduler.removeEnvironment(arn);
    this.kick();
  }

  /** A queue was created, updated or deleted (undefined); its jobs stay where they are. */
  queueChanged(
    arn: string,
    queue: QueueRecord | undefined,
    policy: PolicyRecord | undefined,
  ): void {
    if (queue) this.applyQueue(queue, policy);
    else this.scheduler.removeQueue(arn);
    this.kick();
  }

  /**
   * Stores new jobs (array children with their parent) in one transaction and queues the
   * RUNNABLE ones. Dependencies that already ended are resolved here.
   */
  submit(jobs: JobRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.submissions.push({ jobs, resolve, reject });
      if (this.submissions.length === 1) setImmediate(() => void this.flushSubmissions());
    });
  }

  /**
   * Group commit: the submissions that arrived during one turn of the event loop (16
   * clients' requests parsed together) are stored in one transaction, so the cost of a
   * commit is shared; each caller hears back once its jobs are durable.
   */
  private async flushSubmissions(): Promise<void> {
    const batch = this.submissions;
    this.submissions = [];
    const changes: Change[] = [];
    try {
      await this.opts.store.transaction(async (tx) => {
        for (const { jobs } of batch) {
          for (const job of jobs) await this.save(tx, job, undefined, changes);
        }
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    this.afterChanges(changes);
    for (const b of batch) {
      await this.afterSubmit(b.jobs).then(b.resolve, b.reject);
    }
  }

  /** Waits on the dependencies of newly stored jobs; those already ended are settled. */
  private async afterSubmit(jobs: JobRecord[]): Promise<void> {
    const done: JobRecord[] = [];
    const known = new Set(jobs.map((j) => j.jobId));
    for (const job of jobs) {
      for (const dep of job.waitingOn) {
        this.wait(dep, job.jobId);
        if (!known.has(dep)) {
          const d = await this.opts.store.get<JobRecord>(T.jobs, dep);
          if (d && TERMINAL.has(d.status)) done.push(d);
        }
      }
    }
    await this.settle(done);
  }

  /**
   * CancelJob: jobs not yet STARTING fail with the reason; "Jobs that progressed to the
   * STARTING or RUNNING state aren't canceled." An array parent cancels its children.
   */
  async cancel(job: JobRecord, reason: string): Promise<void> {
    const ids = await this.withChildren(job);
    const changes = await this.update(ids, (j) => {
      if (j.status !== 'SUBMITTED' && j.status !== 'PENDING' && j.status !== 'RUNNABLE') {
        return false;
      }
      if (j.array?.parentId === undefined && j.array !== undefined) return false;
      this.scheduler.remove(j.jobId);
      j.status = 'FAILED';
      j.statusReason = reason;
      j.isCancelled = true;
      j.stoppedAt = this.opts.now();
      return true;
    });
    await this.settle(changes.filter((c) => TERMINAL.has(c.job.status)).map((c) => c.job));
  }

  /** TerminateJob: cancels what has not started, stops what runs; the reason is kept. */
  async terminate(job: JobRecord, reason: string): Promise<void> {
    const ids = await this.withChildren(job);
    for (const id of ids) {
      const a = this.attempts.get(id);
      if (a) {
        a.terminated = reason;
        await a.handle?.stop();
      }
    }
    const changes = await this.update(ids, (j) => {
      if (j.status !== 'SUBMITTED' && j.status !== 'PENDING' && j.status !== 'RUNNABLE') {
        return false;
      }
      if (j.array?.parentId === undefined && j.array !== undefined) return false;
      this.scheduler.remove(j.jobId);
      j.status = 'FAILED';
      j.statusReason = reason;
      j.isTerminated = true;
      j.stoppedAt = this.opts.now();
      return true;
    });
    await this.settle(changes.filter((c) => TERMINAL.has(c.job.status)).map((c) => c.job));
  }

  /**
   * A spot interruption: every attempt running in the environment loses its instance. The
   * containers are stopped and the attempts end as AWS ends them, "Host EC2 (instance …)
   * terminated.", then are retried as their retry strategy says. Resolves how many.
   */
  async reclaim(environmentArn: string): Promise<number> {
    const hit = [...this.attempts.values()].filter(
      (a) => a.job.computeEnvironment === environmentArn,
    );
    for (const a of hit) a.reclaimed = true;
    await Promise.all(hit.map((a) => a.handle?.stop()));
    return hit.length;
  }

  private async withChildren(job: JobRecord): Promise<string[]> {
    if (isNodeParent(job) && job.node) {
      return [
        job.jobId,
        ...Array.from({ length: job.node.numNodes }, (_, i) => nodeJobId(job.jobId, i)),
      ];
    }
    if (job.array === undefined || job.array.parentId !== undefined) return [job.jobId];
    const ids = [job.jobId];
    for (let i = 0; i < job.array.size; i++) ids.push(`${job.jobId}:${i}`);
    return ids;
  }

  private applyEnvironment(env: EnvironmentRecord): void {
    const vcpus =
      env.type === 'UNMANAGED'
        ? env.unmanagedvCpus || Infinity
        : (env.computeResources?.maxvCpus ?? 0);
    this.scheduler.setEnvironment(
      env.computeEnvironmentArn,
      vcpus * 1000,
      env.state === 'ENABLED' && env.status === 'VALID',
    );
  }

  private applyQueue(queue: QueueRecord, policy: PolicyRecord | undefined): void {
    this.timeLimits.setQueue(queue.jobQueueArn, queue.jobStateTimeLimitActions);
    const fair = policy?.fairsharePolicy;
    this.scheduler.setQueue(queue.jobQueueArn, {
      priority: queue.priority,
      enabled: queue.state === 'ENABLED' && queue.status === 'VALID',
      environments: [...queue.computeEnvironmentOrder]
        .sort((a, b) => a.order - b.order)
        .map((o) => o.computeEnvironment),
      fairShare: policy
        ? {
            shares: fair?.shareDistribution ?? [],
            computeReservation: fair?.computeReservation,
            shareDecaySeconds: fair?.shareDecaySeconds,
          }
        : undefined,
    });
  }

  private wait(dep: string, dependant: string): void {
    let set = this.dependants.get(dep);
    if (!set) this.dependants.set(dep, (set = new Set()));
    set.add(dependant);
  }

  /** Schedules one dispatch round on the next turn (many submissions, one round). */
  private kick(): void {
    if (this.kickScheduled || this.stopped) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.idle = this.idle
        .then(() => this.dispatch())
        .catch((err: unknown) =>
          this.opts.log.error('batch dispatch failed', { error: String(err) }),
        );
    });
  }

  private async dispatch(): Promise<void> {
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.again = false;
        const placed = this.scheduler.dispatch();
        if (placed.length > 0) await this.startAttempts(placed);
        const blocked = this.scheduler.takeBlocked();
        if (blocked.length > 0) await this.block(blocked.map((j) => j.jobId));
      } while (this.again && !this.stopped);
    } finally {
      this.dispatching = false;
    }
  }

  /** RUNNABLE → STARTING for the placed jobs, then one attempt each. */
  private async startAttempts(placed: Placement[]): Promise<void> {
    const where = new Map(placed.map((p) => [p.job.jobId, p.environment]));
    const changes = await this.update([...where.keys()], (job) => {
      if (job.status !== 'RUNNABLE') return false;
      this.toStarting(job, where.get(job.jobId) ?? '');
      return true;
    });
    const started = new Set(changes.map((c) => c.job.jobId));
    for (const id of where.keys()) if (!started.has(id)) this.scheduler.release(id);
    // A multi-node job's nodes start with it (each its own task and instance).
    const nodeIds: string[] = [];
    for (const { job } of changes) {
      if (isNodeParent(job)) nodeIds.push(...(await this.withChildren(job)).slice(1));
    }
    const nodes = new Map<string, JobRecord[]>();
    if (nodeIds.length > 0) {
      const moved = await this.update(nodeIds, (node) => {
        const parent = node.node?.parentId ?? '';
        this.toStarting(
          node,
          changes.find((c) => c.job.jobId === parent)?.job.computeEnvironment ?? '',
        );
        return true;
      });
      for (const { job } of moved) {
        const parent = job.node?.parentId ?? '';
        nodes.set(parent, [...(nodes.get(parent) ?? []), job]);
      }
    }
    for (const { job } of changes) this.launch(job, nodes.get(job.jobId));
  }

  /** Jobs too big for their queue's environments: AWS's blocked reason, and its action. */
  private async block(ids: string[]): Promise<void> {
    const now = this.opts.now();
    const jobs: JobRecord[] = [];
    await this.opts.store.transaction(async (tx) => {
      for (const id of ids) {
        const job = await tx.get<JobRecord>(T.jobs, id);
        if (job?.status !== 'RUNNABLE') continue;
        jobs.push(job);
        if (job.blockedAt !== undefined) continue;
        job.blockedAt = now;
        job.statusReason = BLOCKED.statusReason;
        await tx.put(T.jobs, id, job);
      }
    });
    for (const job of jobs) this.timeLimits.blocked(job.jobId, job.jobQueue, job.blockedAt ?? now);
  }

  /** → STARTING in `environment`, with the ECS task and instance of a new attempt. */
  private toStarting(job: JobRecord, environment: string): void {
    const taskId = randomBytes(16).toString('hex');
    const cluster = `AWSBatch-${nameOf(environment)}-${randomUUID()}`;
    job.status = 'STARTING';
    job.computeEnvironment = environment;
    if (job.blockedAt !== undefined) {
      job.blockedAt = undefined;
      job.statusReason = undefined;
    }
    job.current = {
      taskArn: buildArn('ecs', job.region, job.account, `task/${cluster}/${taskId}`),
      logStreamName: `${job.definitionName}/default/${taskId}`,
      instanceId: `i-${randomBytes(8).toString('hex').slice(0, 17)}`,
    };
  }

  private launch(job: JobRecord, nodes?: JobRecord[]): void {
    const a: Attempt = { job, chain: Promise.resolve() };
    this.attempts.set(job.jobId, a);
    const serial = (fn: () => Promise<unknown>): void => {
      a.chain = a.chain.then(fn).catch(this.logError);
    };
    const events: AttemptEvents = {
      running: () => serial(() => this.running(a)),
      exited: (outcome) => serial(() => this.exited(a, outcome)),
    };
    const attempt = job.attempts.length + 1;
    const spec = (j: JobRecord, mainNodeAddress?: string): AttemptSpec => ({
      job: j,
      attempt,
      environmentName: nameOf(j.computeEnvironment ?? ''),
      queueName: nameOf(j.jobQueue),
      taskId: j.current?.taskArn.slice(j.current.taskArn.lastIndexOf('/') + 1) ?? '',
      logStreamName: j.current?.logStreamName ?? '',
      mainNodeAddress,
    });
    if (!isNodeParent(job)) {
      a.handle = this.opts.executor.launch(spec(job), events);
      return;
    }
    a.handle = launchNodeGroup(this.opts.executor, nodes ?? [], spec, events, {
      nodeRunning: (node) => serial(() => this.nodeRunning(node.jobId)),
      nodeExited: (node, outcome) =>
        serial(() =>
          this.update([node.jobId], (n) => {
            if (n.status !== 'STARTING' && n.status !== 'RUNNING') return false;
            this.endNode(n, outcome, this.opts.now());
          }),
        ),
    });
  }

  private async nodeRunning(id: string): Promise<void> {
    const now = this.opts.now();
    await this.update([id], (node) => {
      if (node.status !== 'STARTING') return false;
      node.status = 'RUNNING';
      node.startedAt = now;
    });
  }

  /** A node's container ended: it SUCCEEDED or FAILED by its exit (the job decides retries). */
  private endNode(
    node: JobRecord,
    outcome: AttemptOutcome & { statusReason: string },
    now: number,
  ): void {
    this.recordAttempt(node, outcome, now, node.startedAt ?? now);
    node.status = outcome.exitCode === 0 ? 'SUCCEEDED' : 'FAILED';
    node.stoppedAt = now;
  }

  private readonly logError = (err: unknown): void =>
    this.opts.log.error('batch job transition failed', { error: String(err) });

  private async running(a: Attempt): Promise<void> {
    const now = this.opts.now();
    a.startedAt = now;
    await this.update([a.job.jobId], (job) => {
      if (job.status !== 'STARTING') return false;
      job.status = 'RUNNING';
      job.startedAt = now;
      return true;
    });
    const seconds = a.job.timeout?.attemptDurationSeconds;
    if (seconds !== undefined && !this.stopped) {
      a.timer = setTimeout(() => {
        a.timedOut = true;
        void a.handle?.stop();
      }, seconds * 1000);
    }
  }

  private async exited(
    a: Attempt,
    outcome: AttemptOutcome & { statusReason: string },
  ): Promise<void> {
    clearTimeout(a.timer);
    this.attempts.delete(a.job.jobId);
    this.scheduler.release(a.job.jobId);
    if (this.stopped) return;
    const now = this.opts.now();
    const changes = await this.update([a.job.jobId], (job) => {
      if (job.status !== 'STARTING' && job.status !== 'RUNNING') return false;
      const lost = a.reclaimed && a.terminated === undefined && !a.timedOut;
      const instanceId = job.current?.instanceId ?? '';
      this.endAttempt(job, lost ? { statusReason: REASON.hostLost(instanceId) } : outcome, now, a);
      return true;
    });
    if (isNodeParent(a.job)) {
      // Nodes that never started (the main node did not) end with the job's attempt.
      const ids = (await this.withChildren(a.job)).slice(1);
      await this.update(ids, (node) => {
        if (node.status !== 'STARTING' && node.status !== 'RUNNING') return false;
        this.endNode(node, { statusReason: outcome.statusReason }, now);
      });
    }
    await this.settle(changes.filter((c) => TERMINAL.has(c.job.status)).map((c) => c.job));
    this.kick();
  }

  /** Appends the attempt in progress (its container's exit) and ends it. */
  private recordAttempt(
    job: JobRecord,
    outcome: AttemptOutcome & { statusReason: string },
    now: number,
    startedAt: number,
  ): void {
    const attempt: AttemptDetail = {
      container: {
        exitCode: outcome.exitCode,
        reason: outcome.reason,
        logStreamName: job.current?.logStreamName,
        taskArn: job.current?.taskArn,
        containerInstanceArn: job.current
          ? buildArn('ecs', job.region, job.account, `container-instance/${job.current.instanceId}`)
          : undefined,
      },
      startedAt,
      stoppedAt: now,
      statusReason: outcome.statusReason,
    };
    job.attempts.push(attempt);
    job.container = {
      ...job.container,
      exitCode: outcome.exitCode,
      reason: outcome.reason,
      logStreamName: job.current?.logStreamName,
      taskArn: job.current?.taskArn,
      containerInstanceArn: attempt.container?.containerInstanceArn,
    };
    job.current = undefined;
    job.statusReason = outcome.statusReason;
  }

  /** Records the attempt and decides: SUCCEEDED, another attempt (RUNNABLE), or FAILED. */
  private endAttempt(
    job: JobRecord,
    outcome: AttemptOutcome & { statusReason: string },
    now: number,
    a: Attempt | undefined,
  ): void {
    this.recordAttempt(job, outcome, now, a?.startedAt ?? job.startedAt ?? now);
    if (a?.terminated !== undefined) {
      job.status = 'FAILED';
      job.statusReason = a.terminated;
      job.isTerminated = true;
    } else if (a?.timedOut) {
      job.status = 'FAILED';
      job.statusReason = REASON.timeout;
    } else if (outcome.exitCode === 0) {
      job.status = 'SUCCEEDED';
    } else if (shouldRetry(job.retryStrategy, job.attempts.length, outcome)) {
      job.status = 'RUNNABLE';
    } else {
      job.status = 'FAILED';
    }
    if (TERMINAL.has(job.status)) job.stoppedAt = now;
  }

  /**
   * Dependants of jobs that ended: a success takes it off their wait list (RUNNABLE once it
   * is empty), a failure fails them ("Dependent Job failed"), and so on down the graph.
   */
  private async settle(done: JobRecord[]): Promise<void> {
    let work = done;
    while (work.length > 0) {
      const next: JobRecord[] = [];
      const edges = new Map<string, JobRecord>();
      for (const dep of work) {
        const set = this.dependants.get(dep.jobId);
        this.dependants.delete(dep.jobId);
        for (const id of set ?? []) {
          const prev = edges.get(id);
          // A failed dependency wins over a successful one.
          if (!prev || dep.status === 'FAILED') edges.set(id, dep);
        }
      }
      if (edges.size === 0) break;
      const now = this.opts.now();
      const doneIds = new Set(work.map((w) => w.jobId));
      const failed = new Set(work.filter((w) => w.status === 'FAILED').map((w) => w.jobId));
      const changes = await this.update([...edges.keys()], (job) => {
        if (job.status !== 'PENDING') return false;
        const before = job.waitingOn.length;
        if (job.waitingOn.some((d) => failed.has(d))) {
          job.waitingOn = [];
          job.status = 'FAILED';
          job.statusReason = REASON.dependency;
          job.stoppedAt = now;
          return true;
        }
        job.waitingOn = job.waitingOn.filter((d) => !doneIds.has(d));
        if (job.waitingOn.length === 0) job.status = 'RUNNABLE';
        return job.waitingOn.length !== before;
      });
      for (const c of changes) if (TERMINAL.has(c.job.status)) next.push(c.job);
      work = next;
    }
  }

  /**
   * Applies `fn` to each job in one transaction (skipping jobs it returns false for) and
   * reacts to the status changes once they are committed.
   */
  private async update(ids: string[], fn: (job: JobRecord) => boolean | void): Promise<Change[]> {
    const changes: Change[] = [];
    await this.opts.store.transaction(async (tx) => {
      for (const id of ids) {
        const job = await tx.get<JobRecord>(T.jobs, id);
        if (!job) continue;
        const before = job.status;
        if (fn(job) === false) continue;
        await this.save(tx, job, before, changes);
      }
    });
    this.afterChanges(changes);
    // Array parents that ended are jobs others may wait for.
    const parents = new Map<string, JobRecord>();
    for (const c of changes) {
      const { job } = c;
      const isParent = job.array !== undefined && job.array.parentId === undefined;
      if (isParent && TERMINAL.has(job.status) && c.before !== job.status) {
        parents.set(job.jobId, job);
      }
    }
    if (parents.size > 0) await this.settle([...parents.values()]);
    const wanted = new Set(ids);
    return changes.filter((c) => wanted.has(c.job.jobId));
  }

  /** Writes a job, its list index entries, its open marker and its parent's summary. */
  private async save(
    tx: MetadataOps,
    job: JobRecord,
    before: JobStatus | undefined,
    changes: Change[],
  ): Promise<void> {
    if (job.status !== before) {
      if (job.status === 'RUNNABLE') job.runnableAt = this.opts.now();
      else if (job.status === 'STARTING') job.startingAt = this.opts.now();
    }
    await tx.put(T.jobs, job.jobId, job);
    changes.push({ job, before });
    if (before === job.status) return;
    const scope = listScope(job);
    if (before !== undefined) await tx.delete(T.list, listKey(scope, before, job.seq));
    await tx.put(T.list, listKey(scope, job.status, job.seq), job.jobId);
    if (before === undefined && job.array?.parentId === undefined && !isNode(job)) {
      await tx.put(T.names, nameKey(job.jobQueue, job.jobName, job.seq), job.jobId);
    }
    if (TERMINAL.has(job.status)) await tx.delete(T.open, job.jobId);
    else if (before === undefined || TERMINAL.has(before)) await tx.put(T.open, job.jobId, '');
    const parentId = job.array?.parentId;
    if (parentId === undefined) return;
    const parent =
      changes.find((c) => c.job.jobId === parentId)?.job ??
      (await tx.get<JobRecord>(T.jobs, parentId));
    if (!parent?.array) return;
    const summary = (parent.array.summary ??= {});
    if (before !== undefined) summary[before] = (summary[before] ?? 1) - 1;
    summary[job.status] = (summary[job.status] ?? 0) + 1;
    const parentBefore = parent.status;
    const ended = (summary.SUCCEEDED ?? 0) + (summary.FAILED ?? 0);
    if (ended === parent.array.size && !TERMINAL.has(parent.status)) {
      parent.status = (summary.FAILED ?? 0) > 0 ? 'FAILED' : 'SUCCEEDED';
      parent.statusReason =
        parent.status === 'FAILED' ? REASON.arrayChild : 'Array Child Job succeeded';
      parent.stoppedAt = this.opts.now();
    } else if (parent.status === 'PENDING' && job.status === 'RUNNING') {
      parent.status = 'RUNNING';
      parent.startedAt ??= this.opts.now();
    }
    await this.save(tx, parent, parentBefore, changes);
  }

  /** Committed changes: queue what became RUNNABLE, and dispatch. */
  private afterChanges(changes: Change[]): void {
    for (const { job, before } of changes) {
      if (job.status === 'RUNNABLE' && before !== 'RUNNABLE' && !isNode(job)) {
        this.scheduler.enqueue(queued(job));
      }
      if (job.status !== before) this.opts.onStatusChange?.(job, before);
    }
    this.kick();
  }
}

/** What the scheduler keeps of a RUNNABLE job. */
export function queued(job: JobRecord): QueuedJob {
  return {
    jobId: job.jobId,
    queue: job.jobQueue,
    seq: job.seq,
    priority: job.schedulingPriority ?? 0,
    milliVcpus: job.milliVcpus,
    memoryMib: job.memoryMib,
    shareIdentifier: job.shareIdentifier,
  };
}
