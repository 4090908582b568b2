/**
 * Batch jobs as real containers (runc driver): the busybox image pushed into Stratus's ECR
 * with skopeo, jobs submitted through the SDK v3 and the AWS CLI v2, output in CloudWatch
 * Logs under /aws/batch/job, AWS's retry, timeout, termination, array and dependency
 * semantics, queue priority over a shared environment, and AWS's AWS/Batch CloudWatch
 * metrics. Skipped where runc cannot run.
 */
import { after, before, describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateSchedulingPolicyCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  UpdateComputeEnvironmentCommand,
} from '@aws-sdk/client-batch';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import {
  batchMetrics,
  createEnvironment,
  createQueue,
  describe,
  shellDefinition,
  waitForJob,
} from './helpers/batch.js';
import { pushBusybox } from './helpers/busybox-ecr.js';
import { cliEnv, clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const skip = runcSkipReason();
const run = promisify(execFile);

suite('Batch jobs on runc', { skip: skip ?? false }, () => {
  let server: TestServer;
  let batch: BatchClient;
  let logs: CloudWatchLogsClient;
  let image: string;
  let queue: string;
  let environment: string;
  let shell: string;
  let timeoutJob: string;
  const work = mkdtempSync(join(tmpdir(), 'stratus-batch-'));
  const previous = process.env.STRATUS_BATCH_VCPUS;

  before(async () => {
    process.env.STRATUS_BATCH_VCPUS = '4';
    server = await startTestServer({ driver: 'runc' });
    batch = new BatchClient(clientConfig(server.endpoint));
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    image = (await pushBusybox(server.endpoint, 'batch/busybox')).reference;
    environment = await createEnvironment(batch, 'local', 4);
    queue = await createQueue(batch, 'main', 1, [environment]);
    shell = await shellDefinition(batch, 'shell', image);
    // The timeout's minimum is 60 s: started first, checked last.
    const slow = await shellDefinition(batch, 'slow', image, {
      timeout: { attemptDurationSeconds: 60 },
      retryStrategy: { attempts: 2 },
    });
    timeoutJob =
      (
        await batch.send(
          new SubmitJobCommand({
            jobName: 'too-slow',
            jobQueue: queue,
            jobDefinition: slow,
            parameters: { script: "trap 'exit 143' TERM; sleep 600 & wait" },
          }),
        )
      ).jobId ?? '';
  });

  after(async () => {
    batch?.destroy();
    logs?.destroy();
    await server?.stop();
    if (previous === undefined) delete process.env.STRATUS_BATCH_VCPUS;
    else process.env.STRATUS_BATCH_VCPUS = previous;
    rmSync(work, { recursive: true, force: true });
  });

  const submit = async (
    name: string,
    script: string,
    extra: Partial<ConstructorParameters<typeof SubmitJobCommand>[0]> = {},
  ): Promise<string> =>
    (
      await batch.send(
        new SubmitJobCommand({
          jobName: name,
          jobQueue: queue,
          jobDefinition: shell,
          parameters: { script },
          ...extra,
        }),
      )
    ).jobId ?? '';

  test('a job runs its image, sees AWS_BATCH_* and logs to /aws/batch/job', async () => {
    const id = await submit(
      'hello',
      'echo "id=$AWS_BATCH_JOB_ID attempt=$AWS_BATCH_JOB_ATTEMPT ce=$AWS_BATCH_CE_NAME jq=$AWS_BATCH_JQ_NAME"',
    );
    const job = await waitForJob(batch, id);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.statusReason, 'Essential container in task exited');
    assert.equal(job.attempts?.length, 1);
    const attempt = job.attempts?.[0];
    assert.equal(attempt?.container?.exitCode, 0);
    assert.ok((job.startedAt ?? 0) >= (job.createdAt ?? 0));
    assert.ok((job.stoppedAt ?? 0) >= (job.startedAt ?? 0));
    const stream = job.container?.logStreamName ?? '';
    assert.match(stream, /^shell\/default\/[0-9a-f]{32}$/);
    const events = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream }),
    );
    assert.deepEqual(
      events.events?.map((e) => e.message),
      [`id=${id} attempt=1 ce=local jq=main`],
    );
  });

  test('exit 1 with evaluateOnExit RETRY on 1: three attempts, then FAILED', async () => {
    const id = await submit('retry', 'exit 1', {
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: '1', action: 'RETRY' }] },
    });
    const job = await waitForJob(batch, id);
    assert.equal(job.status, 'FAILED');
    assert.deepEqual(
      job.attempts?.map((a) => a.container?.exitCode),
      [1, 1, 1],
    );
    assert.equal(job.statusReason, 'Essential container in task exited');
  });

  test('exit 1 with evaluateOnExit EXIT on 1: FAILED after one attempt', async () => {
    const id = await submit('exit', 'exit 1', {
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: '1', action: 'EXIT' }] },
    });
    const job = await waitForJob(batch, id);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.attempts?.length, 1);
  });

  test('an array job maps inputs and a dependent job reduces them (mounted directory)', async () => {
    const data = join(work, 'data');
    mkdirSync(join(data, 'in'), { recursive: true });
    mkdirSync(join(data, 'out'), { recursive: true });
    let expected = 0;
    for (let i = 0; i < 10; i++) {
      writeFileSync(join(data, 'in', `${i}.txt`), 'word '.repeat(i + 1));
      expected += i + 1;
    }
    const volume = {
      volumes: [{ name: 'data', host: { sourcePath: data } }],
      mountPoints: [{ sourceVolume: 'data', containerPath: '/data' }],
    };
    const def = await shellDefinition(batch, 'wordcount', image, {
      containerProperties: volume,
    });
    const map = await submit(
      'map',
      'wc -w < /data/in/$AWS_BATCH_JOB_ARRAY_INDEX.txt > /data/out/$AWS_BATCH_JOB_ARRAY_INDEX',
      { jobDefinition: def, arrayProperties: { size: 10 } },
    );
    const reduce = await submit(
      'reduce',
      "cat /data/out/* | awk '{ s += $1 } END { print s }' > /data/total",
      { jobDefinition: def, dependsOn: [{ jobId: map }] },
    );
    assert.equal((await describe(batch, reduce)).status, 'PENDING');
    const done = await waitForJob(batch, reduce);
    assert.equal(done.status, 'SUCCEEDED', done.statusReason);
    assert.equal(readFileSync(join(data, 'total'), 'utf8').trim(), String(expected));
    const parent = await describe(batch, map);
    assert.equal(parent.status, 'SUCCEEDED');
    assert.equal(parent.arrayProperties?.size, 10);
    assert.equal(parent.arrayProperties?.statusSummary?.SUCCEEDED, 10);
    const children = await batch.send(
      new ListJobsCommand({ arrayJobId: map, jobStatus: 'SUCCEEDED' }),
    );
    assert.deepEqual(
      (children.jobSummaryList ?? [])
        .map((j) => j.arrayProperties?.index)
        .sort((a = 0, b = 0) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(children.jobSummaryList?.[0]?.jobId?.split(':')[0], map);
  });

  test('a failed dependency fails its dependant with AWS reason', async () => {
    const first = await submit('fails', 'exit 3');
    const second = await submit('after-fail', 'true', { dependsOn: [{ jobId: first }] });
    const job = await waitForJob(batch, second);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Dependent Job failed');
    assert.equal(job.attempts?.length, 0);
  });

  test('TerminateJob stops a running job with the given reason', async () => {
    const id = await submit('terminate-me', "trap 'exit 143' TERM; sleep 600 & wait");
    await waitForJob(batch, id, ['RUNNING']);
    await batch.send(new TerminateJobCommand({ jobId: id, reason: 'no longer needed' }));
    const job = await waitForJob(batch, id);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'no longer needed');
    assert.equal(job.isTerminated, true);
  });

  test('two queues sharing an environment: the higher priority queue starts first', async () => {
    const ce = await createEnvironment(batch, 'shared', 1, 'DISABLED');
    const low = await createQueue(batch, 'low', 1, [ce]);
    const high = await createQueue(batch, 'high', 100, [ce]);
    const ids: { id: string; q: string }[] = [];
    for (const q of [low, low, low, high, high, high]) {
      ids.push({ id: await submit(`prio-${ids.length}`, 'true', { jobQueue: q }), q });
    }
    await batch.send(
      new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'ENABLED' }),
    );
    const jobs = [];
    for (const { id, q } of ids) jobs.push({ q, job: await waitForJob(batch, id) });
    const lastHigh = Math.max(...jobs.filter((j) => j.q === high).map((j) => j.job.startedAt ?? 0));
    const firstLow = Math.min(...jobs.filter((j) => j.q === low).map((j) => j.job.startedAt ?? 0));
    assert.ok(lastHigh <= firstLow, `high ended starting at ${lastHigh}, low began at ${firstLow}`);
    for (const { job } of jobs) assert.equal(job.status, 'SUCCEEDED');
  });

  test('a fair-share policy splits capacity by weight (60 jobs, two share identifiers)', async () => {
    const ce = await createEnvironment(batch, 'fair', 3, 'DISABLED');
    const policy = await batch.send(
      new CreateSchedulingPolicyCommand({
        name: 'halves',
        fairsharePolicy: {
          shareDistribution: [
            { shareIdentifier: 'light', weightFactor: 1 },
            { shareIdentifier: 'heavy', weightFactor: 0.5 },
          ],
        },
      }),
    );
    const fair = await createQueue(batch, 'fair', 1, [ce], policy.arn);
    const ids: { id: string; share: string }[] = [];
    for (let i = 0; i < 30; i++) {
      for (const share of ['light', 'heavy']) {
        const id = await submit(`fair-${share}-${i}`, 'true', {
          jobQueue: fair,
          shareIdentifier: share,
        });
        ids.push({ id, share });
      }
    }
    await batch.send(
      new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'ENABLED' }),
    );
    const jobs: { share: string; startedAt: number }[] = [];
    for (const { id, share } of ids) {
      const job = await waitForJob(batch, id);
      assert.equal(job.status, 'SUCCEEDED', job.statusReason);
      jobs.push({ share, startedAt: job.startedAt ?? 0 });
    }
    // While both shares have jobs waiting (the first 36 starts), weight 0.5 gets twice
    // the capacity of weight 1: 24 of 36.
    const first = jobs.sort((a, b) => a.startedAt - b.startedAt).slice(0, 36);
    const heavy = first.filter((j) => j.share === 'heavy').length;
    assert.ok(heavy >= 20 && heavy <= 28, `heavy started ${heavy} of the first 36`);
  });

  test('a spot interruption ends the attempt as AWS does, and the job is retried', async () => {
    const out = await batch.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'spot',
        type: 'MANAGED',
        computeResources: { type: 'SPOT', maxvCpus: 1, subnets: ['s'], bidPercentage: 60 },
      }),
    );
    const spotCe = out.computeEnvironmentArn ?? '';
    const spot = await createQueue(batch, 'spot', 1, [spotCe]);
    const id = await submit(
      'spot-job',
      `[ "$AWS_BATCH_JOB_ATTEMPT" = 1 ] && { trap 'exit 143' TERM; sleep 600 & wait; }; true`,
      { jobQueue: spot, retryStrategy: { attempts: 2 } },
    );
    await waitForJob(batch, id, ['RUNNING']);
    const reclaim = (arn: string) =>
      fetch(`${server.endpoint}/_stratus/batch/reclaim-spot/${encodeURIComponent(arn)}`, {
        method: 'POST',
      });
    assert.equal(
      (await reclaim(queue.replace('job-queue/main', 'compute-environment/local'))).status,
      400,
    );
    const r = await reclaim(spotCe);
    assert.deepEqual(await r.json(), { interrupted: 1 });
    const job = await waitForJob(batch, id);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.attempts?.length, 2);
    assert.match(
      job.attempts?.[0]?.statusReason ?? '',
      /^Host EC2 \(instance i-[0-9a-f]+\) terminated\.$/,
    );
  });

  test('AWS/Batch metrics per JobQueueName: counts of a success, a failure and an array of 3', async () => {
    const from = new Date(Date.now() - 5 * 60_000);
    const metered = await createQueue(batch, 'metered', 1, [environment]);
    const send = (jobName: string, script: string, size?: number) =>
      batch.send(
        new SubmitJobCommand({
          jobName,
          jobQueue: metered,
          jobDefinition: shell,
          parameters: { script },
          arrayProperties: size ? { size } : undefined,
        }),
      );
    const ids = await Promise.all([
      send('ok', 'sleep 1'),
      send('bad', 'sleep 1; exit 3'),
      send('many', 'sleep 1', 3),
    ]);
    const ended = await Promise.all(ids.map((o) => waitForJob(batch, o.jobId ?? '')));
    assert.deepEqual(
      ended.map((j) => j.status),
      ['SUCCEEDED', 'FAILED', 'SUCCEEDED'],
    );

    const cw = new CloudWatchClient(clientConfig(server.endpoint));
    try {
      const dims = [{ Name: 'JobQueueName', Value: 'metered' }];
      const names = [
        'JobsSubmitted',
        'JobsMovedToRunnable',
        'JobsMovedToStarting',
        'JobsMovedToRunning',
        'JobsMovedToSucceeded',
        'JobsMovedToFailed',
        'JobSubmittedToRunnableDuration',
        'JobAttemptExecutionDuration',
        'JobAttemptDuration',
      ];
      // The sink writes about once a second: poll until the last transition is there.
      const got = await batchMetrics(
        cw,
        'metered',
        names,
        from,
        (m) => m.get('JobAttemptDuration:SampleCount') === 5,
      );
      // One JobsSubmitted point per submission, the array's worth its size.
      assert.equal(got.get('JobsSubmitted:Sum'), 5);
      assert.equal(got.get('JobsSubmitted:SampleCount'), 3);
      // Every other metric counts the array's children, never its parent.
      assert.equal(got.get('JobsMovedToRunnable:Sum'), 5);
      assert.equal(got.get('JobsMovedToStarting:Sum'), 5);
      assert.equal(got.get('JobsMovedToRunning:Sum'), 5);
      assert.equal(got.get('JobsMovedToSucceeded:Sum'), 4);
      assert.equal(got.get('JobsMovedToFailed:Sum'), 1);
      assert.equal(got.get('JobSubmittedToRunnableDuration:SampleCount'), 5);
      assert.ok((got.get('JobSubmittedToRunnableDuration:Minimum') ?? -1) >= 0);
      assert.equal(got.get('JobAttemptExecutionDuration:SampleCount'), 5);
      assert.equal(got.get('JobAttemptDuration:SampleCount'), 5);
      // Each attempt ran `sleep 1`: plausible, not timed.
      assert.ok((got.get('JobAttemptExecutionDuration:Minimum') ?? 0) > 0);
      assert.ok((got.get('JobAttemptDuration:Minimum') ?? 0) > 0);

      const listed = await cw.send(
        new ListMetricsCommand({ Namespace: 'AWS/Batch', Dimensions: dims }),
      );
      const listedNames = new Set(listed.Metrics?.map((m) => m.MetricName));
      for (const name of [...names, 'JobSubmittedToFirstStartingDuration']) {
        assert.ok(listedNames.has(name), `${name} listed`);
      }
      for (const m of listed.Metrics ?? []) assert.deepEqual(m.Dimensions, dims);
    } finally {
      cw.destroy();
    }
  });

  test('the AWS CLI v2 submits and describes jobs', async () => {
    const env = cliEnv();
    const aws = (...args: string[]) =>
      run(
        '/usr/bin/aws',
        ['--endpoint-url', server.endpoint, '--output', 'json', 'batch', ...args],
        {
          env,
        },
      );
    const submitted = JSON.parse(
      (
        await aws(
          'submit-job',
          '--job-name',
          'cli',
          '--job-queue',
          'main',
          '--job-definition',
          'shell',
          '--parameters',
          'script=echo from-cli',
        )
      ).stdout,
    ) as { jobId: string };
    await waitForJob(batch, submitted.jobId);
    const described = JSON.parse(
      (await aws('describe-jobs', '--jobs', submitted.jobId)).stdout,
    ) as {
      jobs: { status: string; container: { exitCode: number } }[];
    };
    assert.equal(described.jobs[0].status, 'SUCCEEDED');
    assert.equal(described.jobs[0].container.exitCode, 0);
  });

  test('a job past its timeout is stopped and not retried', async () => {
    const job = await waitForJob(batch, timeoutJob, ['SUCCEEDED', 'FAILED'], 150_000);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Job attempt duration exceeded timeout');
    assert.equal(job.attempts?.length, 1);
  });
});
