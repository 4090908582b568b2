import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestContext } from '../../shared/context.js';
import { createLogger } from '../../shared/log.js';
import { SqliteMetadataStore } from '../../storage/sqlite-store.js';
import { JobEngine } from './engine.js';
import type { AttemptEvents, JobExecutor } from './executor.js';
import { batchOperations } from './provider.js';
import { T, type JobRecord } from './store.js';
import { BLOCKED } from './time-limits.js';
import { instantExecutor as instant } from '../../../test/helpers/batch-executors.js';

const ctx = { account: '000000000000', region: 'us-east-1' } as RequestContext;
const tick = () => new Promise((r) => setTimeout(r, 20));

/** Containers that start and then run until told otherwise. */
function holdingExecutor(): JobExecutor & { held: AttemptEvents[] } {
  const held: AttemptEvents[] = [];
  return {
    held,
    launch(_spec, events) {
      setImmediate(() => events.running());
      held.push(events);
      return { stop: async () => undefined };
    },
    close: async () => undefined,
  };
}

test('a restart retries lost attempts, requeues the rest, and array parents follow their children', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-engine-'));
  const store = new SqliteMetadataStore(join(dir, 'db'));
  const make = (executor: JobExecutor) => {
    const engine = new JobEngine({
      store,
      executor,
      machine: { milliVcpus: 2000, memoryMib: 4096 },
      now: Date.now,
      log: createLogger('error'),
    });
    return { engine, ops: batchOperations({ store, engine, now: Date.now }) };
  };
  try {
    const holding = holdingExecutor();
    const first = make(holding);
    await first.engine.start();
    await first.ops.CreateComputeEnvironment?.(
      {
        computeEnvironmentName: 'ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 2, subnets: ['s'] },
      },
      ctx,
    );
    await tick();
    await first.ops.CreateJobQueue?.(
      {
        jobQueueName: 'q',
        priority: 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }],
      },
      ctx,
    );
    await first.ops.RegisterJobDefinition?.(
      {
        jobDefinitionName: 'd',
        type: 'container',
        retryStrategy: { attempts: 2 },
        containerProperties: { image: 'x', vcpus: 1, memory: 64 },
      },
      ctx,
    );
    await tick();
    const array = await first.ops.SubmitJob?.(
      { jobName: 'a', jobQueue: 'q', jobDefinition: 'd', arrayProperties: { size: 3 } },
      ctx,
    );
    const single = await first.ops.SubmitJob?.(
      { jobName: 's', jobQueue: 'q', jobDefinition: 'd' },
      ctx,
    );
    for (const until = Date.now() + 30_000; holding.held.length < 2 && Date.now() < until;)
      await tick();
    await tick();
    assert.equal(holding.held.length, 2, 'two slots, two attempts running');
    const parentBefore = await store.get<JobRecord>(T.jobs, array?.jobId ?? '');
    assert.equal(parentBefore?.status, 'RUNNING');

    // "Crash": the first engine is dropped as it is; a new one starts on the same store.
    const second = make(instant);
    await second.engine.start();
    for (const until = Date.now() + 30_000; (await store.count(T.open)) > 0 && Date.now() < until;)
      await tick();
    assert.equal(await store.count(T.open), 0);
    const parent = await store.get<JobRecord>(T.jobs, array?.jobId ?? '');
    assert.equal(parent?.status, 'SUCCEEDED');
    assert.equal(parent?.array?.summary?.SUCCEEDED, 3);
    assert.equal(parent?.attempts.length, 0);
    const jobs = [single?.jobId ?? '', ...[0, 1, 2].map((i) => `${array?.jobId}:${i}`)];
    let retried = 0;
    for (const id of jobs) {
      const job = await store.get<JobRecord>(T.jobs, id);
      assert.equal(job?.status, 'SUCCEEDED', id);
      assert.equal(job?.attempts.filter((a) => a.container?.exitCode === 0).length, 1);
      if (job?.attempts.length === 2) {
        retried++;
        assert.match(
          job.attempts[0].statusReason ?? '',
          /^Host EC2 \(instance i-[0-9a-f]+\) terminated\.$/,
        );
      }
    }
    assert.equal(retried, 2);
    await second.engine.stop();
    await first.engine.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('jobStateTimeLimitActions cancels a job too big for the queue after maxTimeSeconds', async () => {
  // Only setTimeout is faked: the engine's round trips (setImmediate) run for real.
  mock.timers.enable({ apis: ['setTimeout'] });
  const store = new SqliteMetadataStore(':memory:');
  const engine = new JobEngine({
    store,
    executor: instant,
    machine: { milliVcpus: 4000, memoryMib: 4096 },
    now: Date.now,
    log: createLogger('error'),
  });
  const ops = batchOperations({ store, engine, now: Date.now });
  const settle = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 5000 && !(await check()); i++) {
      await new Promise((r) => setImmediate(r));
    }
  };
  try {
    await engine.start();
    await ops.CreateComputeEnvironment?.(
      {
        computeEnvironmentName: 'small',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 1, subnets: ['s'] },
      },
      ctx,
    );
    const action = {
      reason: BLOCKED.reason,
      state: 'RUNNABLE' as const,
      maxTimeSeconds: 600,
      action: 'CANCEL' as const,
    };
    await assert.rejects(
      ops.CreateJobQueue?.(
        {
          jobQueueName: 'bad',
          priority: 1,
          computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'small' }],
          jobStateTimeLimitActions: [{ ...action, maxTimeSeconds: 599 }],
        },
        ctx,
      ) ?? Promise.resolve(),
      /maxTimeSeconds must be between 600 and 86400/,
    );
    await ops.CreateJobQueue?.(
      {
        jobQueueName: 'q',
        priority: 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'small' }],
        jobStateTimeLimitActions: [action],
      },
      ctx,
    );
    for (const [name, vcpus] of [
      ['big', 2],
      ['fits', 1],
    ] as const) {
      await ops.RegisterJobDefinition?.(
        {
          jobDefinitionName: name,
          type: 'container',
          containerProperties: { image: 'x', vcpus, memory: 64 },
        },
        ctx,
      );
    }
    await settle(
      async () =>
        (await ops.DescribeJobQueues?.({ jobQueues: ['q'] }, ctx))?.jobQueues?.[0]?.status ===
        'VALID',
    );
    const big =
      (await ops.SubmitJob?.({ jobName: 'big', jobQueue: 'q', jobDefinition: 'big' }, ctx))
        ?.jobId ?? '';
    const fits =
      (await ops.SubmitJob?.({ jobName: 'f', jobQueue: 'q', jobDefinition: 'fits' }, ctx))?.jobId ??
      '';
    const job = async (id: string) => (await ops.DescribeJobs?.({ jobs: [id] }, ctx))?.jobs?.[0];
    // The big job is parked with AWS's reason; the one behind it runs.
    await settle(async () => (await job(fits))?.status === 'SUCCEEDED');
    await settle(async () => (await job(big))?.statusReason === BLOCKED.statusReason);
    assert.equal((await job(fits))?.status, 'SUCCEEDED');
    assert.equal((await job(big))?.status, 'RUNNABLE');
    assert.equal((await job(big))?.statusReason, BLOCKED.statusReason);

    mock.timers.tick(599_000);
    await settle(async () => false);
    assert.equal((await job(big))?.status, 'RUNNABLE');
    mock.timers.tick(1_000);
    await settle(async () => (await job(big))?.status === 'FAILED');
    const ended = await job(big);
    assert.equal(ended?.status, 'FAILED');
    assert.equal(ended?.isCancelled, true);
    assert.equal(
      ended?.statusReason,
      'Canceled by JobStateTimeLimit action due to reason: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE',
    );
    await engine.stop();
  } finally {
    mock.timers.reset();
    await store.close();
  }
});

test('a multi-node job lost in a crash is retried whole: every node runs again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-engine-mnp-'));
  const store = new SqliteMetadataStore(join(dir, 'db'));
  const make = (executor: JobExecutor) => {
    const engine = new JobEngine({
      store,
      executor,
      machine: { milliVcpus: 4000, memoryMib: 4096 },
      now: Date.now,
      log: createLogger('error'),
    });
    return { engine, ops: batchOperations({ store, engine, now: Date.now }) };
  };
  const settle = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 5000 && !(await check()); i++) {
      await new Promise((r) => setImmediate(r));
    }
  };
  try {
    const holding = holdingExecutor();
    const first = make(holding);
    await first.engine.start();
    await first.ops.CreateComputeEnvironment?.(
      {
        computeEnvironmentName: 'ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 4, subnets: ['s'] },
      },
      ctx,
    );
    await tick();
    await first.ops.CreateJobQueue?.(
      {
        jobQueueName: 'q',
        priority: 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }],
      },
      ctx,
    );
    await first.ops.RegisterJobDefinition?.(
      {
        jobDefinitionName: 'mnp',
        type: 'multinode',
        retryStrategy: { attempts: 2 },
        nodeProperties: {
          numNodes: 3,
          mainNode: 2,
          nodeRangeProperties: [
            { targetNodes: '0:', container: { image: 'x', vcpus: 1, memory: 64 } },
          ],
        },
      },
      ctx,
    );
    await tick();
    const id =
      (await first.ops.SubmitJob?.({ jobName: 'm', jobQueue: 'q', jobDefinition: 'mnp' }, ctx))
        ?.jobId ?? '';
    // The main node runs first; the other two follow once it runs.
    await settle(async () => holding.held.length === 3);
    assert.equal(holding.held.length, 3);
    await settle(async () => (await store.get<JobRecord>(T.jobs, `${id}#0`))?.status === 'RUNNING');
    assert.equal((await store.get<JobRecord>(T.jobs, id))?.status, 'RUNNING');

    // "Crash": a new engine on the same store.
    const second = make(instant);
    await second.engine.start();
    await settle(async () => (await store.count(T.open)) === 0);
    const job = await store.get<JobRecord>(T.jobs, id);
    assert.equal(job?.status, 'SUCCEEDED');
    assert.equal(job?.attempts.length, 2);
    assert.match(
      job?.attempts[0].statusReason ?? '',
      /^Host EC2 \(instance i-[0-9a-f]+\) terminated\.$/,
    );
    for (let i = 0; i < 3; i++) {
      const node = await store.get<JobRecord>(T.jobs, `${id}#${i}`);
      assert.equal(node?.status, 'SUCCEEDED', `node ${i}`);
      assert.equal(node?.attempts.length, 2, `node ${i}`);
      assert.equal(node?.attempts[1].container?.exitCode, 0);
    }
    await second.engine.stop();
    await first.engine.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
