/**
 * Multi-node parallel jobs on runc (the busybox image's entrypoint is `sh -c`): three nodes, each a busybox container with its own
 * address; the child nodes reach the main node at AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS
 * and the job ends with the main node. Definitions and jobs through the SDK v3, the nodes
 * (`<job id>#<index>`) described and listed through boto3. Skipped where runc cannot run.
 */
import { after, before, describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchClient,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
} from '@aws-sdk/client-batch';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import {
  batchMetrics,
  createEnvironment,
  createQueue,
  describe,
  waitForJob,
} from './helpers/batch.js';
import { pushBusybox } from './helpers/busybox-ecr.js';
import { python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const skip = runcSkipReason();

/**
 * The main node takes one line from each child node, prints them, and exits 0 if all came.
 * Each connection runs /tmp/ack (nc -e), which records the line and only then answers "ok":
 * a child retries until it reads that answer, since its nc exits 0 even when the connection
 * was reset (one queued behind another when the main node's nc took the first and closed).
 */
const MAIN = [
  'mkdir -p /tmp; : > /tmp/got',
  `printf '#!/bin/sh\\nread line; echo "$line" >> /tmp/got; echo ok\\n' > /tmp/ack; chmod +x /tmp/ack`,
  'i=1; while [ $i -lt $AWS_BATCH_JOB_NUM_NODES ]; do nc -l -p 7000 -e /tmp/ack; i=$((i+1)); done',
  'got=$(tr "\\n" "|" < /tmp/got)',
  'echo "main $AWS_BATCH_JOB_NODE_INDEX/$AWS_BATCH_JOB_NUM_NODES main=$AWS_BATCH_JOB_MAIN_NODE_INDEX ip=${AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS:-unset} got $got"',
].join('\n');

/** A child node sends its index to the main node until the main node answers "ok". */
const CHILD = [
  'n=0',
  'until [ "$(echo "node $AWS_BATCH_JOB_NODE_INDEX of $AWS_BATCH_JOB_ID" | nc -w 5 $AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS 7000)" = ok ]; do',
  '  n=$((n+1)); [ $n -gt 600 ] && exit 3; sleep 0.2',
  'done',
].join('\n');

suite('Batch multi-node parallel jobs on runc', { skip: skip ?? false }, () => {
  let server: TestServer;
  let batch: BatchClient;
  let logs: CloudWatchLogsClient;
  let queue: string;
  let definition: string;
  let base: { image: string; resourceRequirements: { type: 'VCPU' | 'MEMORY'; value: string }[] };
  const previous = process.env.STRATUS_BATCH_VCPUS;
  const began = new Date(Date.now() - 5 * 60_000);

  before(async () => {
    process.env.STRATUS_BATCH_VCPUS = '4';
    server = await startTestServer({ driver: 'runc' });
    batch = new BatchClient(clientConfig(server.endpoint));
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    const image = (await pushBusybox(server.endpoint, 'batch/mnp')).reference;
    queue = await createQueue(batch, 'mnp', 1, [await createEnvironment(batch, 'mnp', 4)]);
    base = {
      image,
      resourceRequirements: [
        { type: 'VCPU', value: '1' },
        { type: 'MEMORY', value: '64' },
      ],
    };
    const container = (script: string) => ({ ...base, command: [script] });
    definition =
      (
        await batch.send(
          new RegisterJobDefinitionCommand({
            jobDefinitionName: 'mnp',
            type: 'multinode',
            nodeProperties: {
              numNodes: 3,
              mainNode: 0,
              nodeRangeProperties: [
                { targetNodes: '0:', container: container(CHILD) },
                { targetNodes: '0', container: container(MAIN) },
              ],
            },
          }),
        )
      ).jobDefinitionArn ?? '';
  });

  after(async () => {
    batch?.destroy();
    logs?.destroy();
    await server?.stop();
    if (previous === undefined) delete process.env.STRATUS_BATCH_VCPUS;
    else process.env.STRATUS_BATCH_VCPUS = previous;
  });

  test('nodes start on one network, reach the main node, and the job ends with it', async () => {
    const jobId =
      (
        await batch.send(
          new SubmitJobCommand({ jobName: 'mnp', jobQueue: queue, jobDefinition: definition }),
        )
      ).jobId ?? '';
    const job = await waitForJob(batch, jobId);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.nodeProperties?.numNodes, 3);
    assert.equal(job.nodeProperties?.mainNode, 0);
    assert.equal(job.container, undefined);

    const main = await describe(batch, `${jobId}#0`);
    assert.equal(main.status, 'SUCCEEDED', main.statusReason);
    assert.deepEqual(main.nodeDetails, { nodeIndex: 0, isMainNode: true });
    assert.equal(main.attempts?.[0]?.container?.exitCode, 0);
    const events = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/aws/batch/job',
        logStreamName: main.container?.logStreamName ?? '',
      }),
    );
    const line = events.events?.map((e) => e.message).join('\n') ?? '';
    // The main node has no AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS; each child sent its line.
    assert.match(line, /^main 0\/3 main=0 ip=unset got /);
    assert.ok(line.includes(`node 1 of ${jobId}#1`), line);
    assert.ok(line.includes(`node 2 of ${jobId}#2`), line);

    // The nodes through boto3: DescribeJobs of `<id>#<n>` and ListJobs by multiNodeJobId.
    const r = await python(
      server.endpoint,
      `
import boto3, json, os, sys
b = boto3.client('batch', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
job_id = sys.argv[1] if len(sys.argv) > 1 else os.environ['JOB_ID']
nodes = b.describe_jobs(jobs=[job_id + '#1', job_id + '#2'])['jobs']
listed = b.list_jobs(multiNodeJobId=job_id, jobStatus='SUCCEEDED')['jobSummaryList']
print(json.dumps({
  'nodes': [{'id': n['jobId'], 'status': n['status'], 'details': n['nodeDetails']} for n in nodes],
  'listed': sorted((s['jobId'], s['nodeProperties']['nodeIndex'], s['nodeProperties']['isMainNode']) for s in listed),
}))
`,
      { JOB_ID: jobId },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      nodes: { id: string; status: string; details: unknown }[];
      listed: [string, number, boolean][];
    };
    assert.deepEqual(out.nodes, [
      { id: `${jobId}#1`, status: 'SUCCEEDED', details: { nodeIndex: 1, isMainNode: false } },
      { id: `${jobId}#2`, status: 'SUCCEEDED', details: { nodeIndex: 2, isMainNode: false } },
    ]);
    assert.deepEqual(out.listed, [
      [`${jobId}#0`, 0, true],
      [`${jobId}#1`, 1, false],
      [`${jobId}#2`, 2, false],
    ]);
  });

  test('the job ends with its main node: the other nodes are stopped', async () => {
    const failing =
      (
        await batch.send(
          new RegisterJobDefinitionCommand({
            jobDefinitionName: 'mnp-main-fails',
            type: 'multinode',
            retryStrategy: { attempts: 1 },
            nodeProperties: {
              numNodes: 3,
              mainNode: 1,
              nodeRangeProperties: [
                // The child nodes trap TERM (a PID 1 without a handler ignores it until the
                // 30 s stop timeout); the main node gives them time to set the trap.
                {
                  targetNodes: '0:',
                  container: { ...base, command: ["trap 'exit 143' TERM; sleep 600 & wait"] },
                },
                { targetNodes: '1:1', container: { ...base, command: ['sleep 2; exit 4'] } },
              ],
            },
          }),
        )
      ).jobDefinitionArn ?? '';
    const jobId =
      (
        await batch.send(
          new SubmitJobCommand({ jobName: 'mnp-fail', jobQueue: queue, jobDefinition: failing }),
        )
      ).jobId ?? '';
    const job = await waitForJob(batch, jobId);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.attempts?.length, 1);
    assert.equal(job.attempts?.[0]?.container?.exitCode, 4);
    const main = await describe(batch, `${jobId}#1`);
    assert.equal(main.status, 'FAILED');
    assert.deepEqual(main.nodeDetails, { nodeIndex: 1, isMainNode: true });
    for (const i of [0, 2]) {
      const node = await describe(batch, `${jobId}#${i}`);
      assert.equal(node.status, 'FAILED', `node ${i}`);
      assert.notEqual(node.attempts?.[0]?.container?.exitCode, 0, `node ${i}`);
    }
    const running = await batch.send(
      new ListJobsCommand({ multiNodeJobId: jobId, jobStatus: 'RUNNING' }),
    );
    assert.deepEqual(running.jobSummaryList, []);
  });

  test('AWS/Batch metrics count each multi-node job once, from its parent, not per node', async () => {
    const cw = new CloudWatchClient(clientConfig(server.endpoint));
    try {
      // The two jobs above: one succeeded, one failed, three nodes each.
      const got = await batchMetrics(
        cw,
        'mnp',
        ['JobsSubmitted', 'JobsMovedToStarting', 'JobsMovedToSucceeded', 'JobsMovedToFailed'],
        began,
        (m) => m.get('JobsMovedToFailed:Sum') === 1,
      );
      assert.equal(got.get('JobsSubmitted:Sum'), 2);
      assert.equal(got.get('JobsMovedToStarting:Sum'), 2);
      assert.equal(got.get('JobsMovedToSucceeded:Sum'), 1);
      assert.equal(got.get('JobsMovedToFailed:Sum'), 1);
    } finally {
      cw.destroy();
    }
  });
});
