/**
 * The in-process parts of the Batch benchmark (bench/batch.ts, which documents them):
 * 1. scheduling decisions against a scanning baseline, and 3. the persisted engine with
 * and without the AWS/Batch metrics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../src/storage/sqlite-store.js';
import { batchOperations } from '../src/services/batch/provider.js';
import { JobEngine } from '../src/services/batch/engine.js';
import { jobMetrics } from '../src/services/batch/metrics.js';
import { AlarmEngine } from '../src/services/cloudwatch/alarm-engine.js';
import { MetricStore } from '../src/services/cloudwatch/series.js';
import { CloudwatchSink } from '../src/services/cloudwatch/sink.js';
import { Scheduler, type QueuedJob } from '../src/services/batch/scheduler.js';
import { T } from '../src/services/batch/store.js';
import { createLogger } from '../src/shared/log.js';
import type { RequestContext } from '../src/shared/context.js';
import { instantExecutor } from '../test/helpers/batch-executors.js';

export interface InProcessOptions {
  /** Jobs queued (--jobs). */
  jobs: number;
  /** Decisions the scanning baseline is timed over (--scan-decisions). */
  scanDecisions: number;
  /** Engine runs with and without metrics, alternated (--engine-rounds). */
  engineRounds: number;
  say: (msg: string) => void;
}

/** Two decimals, for the report. */
export function round(x: number): number {
  return Math.round(x * 100) / 100;
}

// ---- 1. scheduling decisions ------------------------------------------------------------

const QUEUES = ['q-high', 'q-low', 'q-fair'];
const SHARES = ['a', 'b', 'c', 'd'];

function makeJobs(n: number): QueuedJob[] {
  const jobs: QueuedJob[] = [];
  for (let i = 0; i < n; i++) {
    const queue = QUEUES[i % 3];
    jobs.push({
      jobId: `job-${i}`,
      queue,
      seq: i,
      priority: i % 7,
      milliVcpus: 1000,
      memoryMib: 64,
      shareIdentifier: queue === 'q-fair' ? SHARES[i % 4] : undefined,
    });
  }
  return jobs;
}

function heapScheduler(): Scheduler {
  const s = new Scheduler({ milliVcpus: 64_000, memoryMib: 1 << 30 });
  s.setEnvironment('ce', 64_000, true);
  s.setQueue('q-high', { priority: 10, enabled: true, environments: ['ce'] });
  s.setQueue('q-low', { priority: 1, enabled: true, environments: ['ce'] });
  s.setQueue('q-fair', {
    priority: 5,
    enabled: true,
    environments: ['ce'],
    fairShare: { shares: SHARES.map((id, i) => ({ shareIdentifier: id, weightFactor: i + 1 })) },
  });
  return s;
}

/** µs per decision dispatching `limit` jobs (all when undefined) into 64 recycled slots. */
function timeHeap(jobs: QueuedJob[], limit = jobs.length): number {
  const s = heapScheduler();
  for (const j of jobs) s.enqueue(j);
  const start = process.hrtime.bigint();
  let done = 0;
  while (done < limit) {
    const placed = s.dispatch(limit - done);
    if (placed.length === 0) break;
    for (const p of placed) s.release(p.job.jobId);
    done += placed.length;
  }
  return Number(process.hrtime.bigint() - start) / 1000 / done;
}

/** The baseline: each decision scans every queued job for the best one. */
function timeScan(jobs: QueuedJob[], limit: number): number {
  const priority = new Map([
    ['q-high', 10],
    ['q-fair', 5],
    ['q-low', 1],
  ]);
  const queued = jobs.slice();
  const running = new Map<string, number>();
  const start = process.hrtime.bigint();
  for (let d = 0; d < limit; d++) {
    let best = -1;
    for (let i = 0; i < queued.length; i++) {
      const j = queued[i];
      if (best < 0) {
        best = i;
        continue;
      }
      const b = queued[best];
      const pj = priority.get(j.queue) ?? 0;
      const pb = priority.get(b.queue) ?? 0;
      if (pj > pb || (pj === pb && j.seq < b.seq)) best = i;
    }
    const [job] = queued.splice(best, 1);
    running.set(job.jobId, job.milliVcpus);
    running.delete(job.jobId);
  }
  return Number(process.hrtime.bigint() - start) / 1000 / limit;
}

export function decisions(o: InProcessOptions): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const n of [1_000, 10_000, o.jobs]) {
    const jobs = makeJobs(n);
    const scanLimit = Math.min(o.scanDecisions, n);
    const heapFirst = timeHeap(jobs, scanLimit);
    const heapAll = timeHeap(jobs);
    const scan = timeScan(jobs, scanLimit);
    rows.push({
      queued: n,
      heapUsPerDecisionAll: round(heapAll),
      heapUsPerDecisionFirst: round(heapFirst),
      scanUsPerDecisionFirst: round(scan),
      speedup: round(scan / heapFirst),
    });
    o.say(
      `decisions n=${n}: heap ${round(heapAll)} µs (all), scan ${round(scan)} µs (first ${scanLimit})`,
    );
  }
  return rows;
}

// ---- 2. the engine, persisted -----------------------------------------------------------

/**
 * Part 3 as the server runs it (the AWS/Batch metrics into a CloudWatch sink on the same
 * store) and, alternated in the same run, without metrics: the baseline of their cost.
 */
export async function engines(o: InProcessOptions): Promise<Record<string, unknown>> {
  const rounds = Math.max(1, o.engineRounds);
  const withMetrics: number[] = [];
  const without: number[] = [];
  let report: Record<string, unknown> = {};
  // Which goes first alternates too (the second run of a pair inherits the first's garbage).
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) without.push((await engine(o, false, false)).dispatchedPerSec as number);
    report = await engine(o, true, r === 0);
    withMetrics.push(report.dispatchedPerSec as number);
    if (r % 2 === 1) without.push((await engine(o, false, false)).dispatchedPerSec as number);
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return {
    ...report,
    dispatchedPerSec: withMetrics,
    dispatchedPerSecWithoutMetrics: without,
    metricsRatio: round(sum(withMetrics) / sum(without)),
  };
}

async function engine(
  o: InProcessOptions,
  metrics: boolean,
  queries: boolean,
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-batch-'));
  const store = new SqliteMetadataStore(join(dir, 'state.db'));
  try {
    const log = createLogger('warn');
    const series = new MetricStore(store);
    const sink = new CloudwatchSink(
      series,
      new AlarmEngine({ store, metrics: series, now: Date.now, warn: () => undefined }),
      (err) => o.say(`metrics not recorded: ${String(err)}`),
    );
    const measure = metrics ? jobMetrics(sink, Date.now) : undefined;
    let succeeded = 0;
    let allDone = (): void => undefined;
    const done = new Promise<void>((r) => (allDone = r));
    const eng = new JobEngine({
      store,
      executor: instantExecutor,
      machine: { milliVcpus: 64_000, memoryMib: 1 << 30 },
      now: Date.now,
      log,
      onStatusChange: (job, before) => {
        // The end of the run, exactly (the same in both modes).
        if (job.status === 'SUCCEEDED' && ++succeeded === o.jobs) allDone();
        measure?.(job, before);
      },
    });
    const ops = batchOperations({ store, engine: eng, now: Date.now });
    const ctx = { account: '000000000000', region: 'us-east-1' } as RequestContext;
    await eng.start();
    await ops.CreateComputeEnvironment?.(
      {
        computeEnvironmentName: 'ce',
        type: 'MANAGED',
        state: 'DISABLED',
        computeResources: { type: 'EC2', maxvCpus: 64, subnets: ['s'] },
      },
      ctx,
    );
    await new Promise((r) => setTimeout(r, 20));
    await ops.CreateJobQueue?.(
      {
        jobQueueName: 'q',
        priority: 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }],
      },
      ctx,
    );
    await ops.RegisterJobDefinition?.(
      {
        jobDefinitionName: 'd',
        type: 'container',
        containerProperties: { image: 'busybox', vcpus: 1, memory: 64, command: ['true'] },
      },
      ctx,
    );
    await new Promise((r) => setTimeout(r, 20));
    const heapBefore = process.memoryUsage().heapUsed;
    let start = performance.now();
    for (let i = 0; i < o.jobs; i++) {
      await ops.SubmitJob?.({ jobName: `j${i}`, jobQueue: 'q', jobDefinition: 'd' }, ctx);
    }
    const submitPerSec = o.jobs / ((performance.now() - start) / 1000);
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    const label = metrics ? 'engine' : 'engine without metrics';
    o.say(`${label}: ${o.jobs} submitted at ${Math.round(submitPerSec)}/s`);
    const costs = queries ? await queryCosts(ops, ctx) : undefined;
    if (costs) o.say(`engine: queries at ${o.jobs} queued: ${JSON.stringify(costs)}`);
    start = performance.now();
    await ops.UpdateComputeEnvironment?.({ computeEnvironment: 'ce', state: 'ENABLED' }, ctx);
    await done;
    const startedPerSec = o.jobs / ((performance.now() - start) / 1000);
    if ((await store.count(T.open)) !== 0) throw new Error('jobs left open');
    o.say(`${label}: ${o.jobs} dispatched and run at ${Math.round(startedPerSec)}/s`);
    await eng.stop();
    await sink.flush();
    if (metrics) {
      const all = await series.all({ account: ctx.account, region: ctx.region });
      o.say(`engine: ${all.filter((m) => m.namespace === 'AWS/Batch').length} AWS/Batch metrics`);
    }
    return {
      jobs: o.jobs,
      submitPerSecInProcess: Math.round(submitPerSec),
      heapMbWhileQueued: round(heapMb),
      queriesAtNQueued: costs,
      dispatchedPerSec: Math.round(startedPerSec),
      kubeSchedulerReferencePerSec: 800,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * DescribeJobs and ListJobs against n queued jobs, in-process: wall time and CPU time
 * (process.cpuUsage) per call, p50 and p99. On a loaded machine the wall p99 is mostly the
 * OS running other processes; the CPU p99 is what the call itself costs.
 */
async function queryCosts(
  ops: ReturnType<typeof batchOperations>,
  ctx: RequestContext,
): Promise<Record<string, unknown>> {
  const first = await ops.ListJobs?.(
    { jobQueue: 'q', jobStatus: 'RUNNABLE', maxResults: 1000 },
    ctx,
  );
  const ids = (first?.jobSummaryList ?? []).map((j) => j.jobId);
  const pick = (i: number) => ids[(i * 7919) % ids.length];
  const measure = async (k: number, fn: (i: number) => Promise<unknown>) => {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < k; i++) {
      const t = performance.now();
      const c = process.cpuUsage();
      await fn(i);
      const d = process.cpuUsage(c);
      cpu.push((d.user + d.system) / 1000);
      wall.push(performance.now() - t);
    }
    const q = (xs: number[], p: number) => round(xs.sort((a, b) => a - b)[Math.floor(k * p)]);
    return {
      wallP50: q(wall, 0.5),
      wallP99: q(wall, 0.99),
      cpuP50: q(cpu, 0.5),
      cpuP99: q(cpu, 0.99),
    };
  };
  return {
    describeJobs1Ms: await measure(
      1000,
      (i) => ops.DescribeJobs?.({ jobs: [pick(i)] }, ctx) ?? Promise.resolve(),
    ),
    describeJobs100Ms: await measure(
      300,
      (i) =>
        ops.DescribeJobs?.({ jobs: Array.from({ length: 100 }, (_, j) => pick(i + j)) }, ctx) ??
        Promise.resolve(),
    ),
    listJobsRunnable100Ms: await measure(
      300,
      () =>
        ops.ListJobs?.({ jobQueue: 'q', jobStatus: 'RUNNABLE', maxResults: 100 }, ctx) ??
        Promise.resolve(),
    ),
    listJobsPage50Of100Ms: await measure(100, async () => {
      let nextToken: string | undefined;
      for (let p = 0; p < 50; p++) {
        nextToken = (
          await ops.ListJobs?.(
            { jobQueue: 'q', jobStatus: 'RUNNABLE', maxResults: 100, nextToken },
            ctx,
          )
        )?.nextToken;
      }
    }),
    listJobsByNameMs: await measure(
      300,
      () =>
        ops.ListJobs?.(
          { jobQueue: 'q', filters: [{ name: 'JOB_NAME', values: ['j1234*'] }], maxResults: 100 },
          ctx,
        ) ?? Promise.resolve(),
    ),
  };
}
