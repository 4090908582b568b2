/**
 * The Batch API through the SDK v3 (process driver: no job here runs a container; the
 * environment is DISABLED, so jobs stay queued): validation of environments, queues,
 * policies and definitions as AWS refuses them, revisions, submission checks, ListJobs
 * by status, filters and pages, CancelJob and its effect on dependants, tags.
 */
import { after, before, describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchClient,
  CancelJobCommand,
  ClientException,
  CreateComputeEnvironmentCommand,
  CreateSchedulingPolicyCommand,
  DeleteComputeEnvironmentCommand,
  DeleteJobQueueCommand,
  DeregisterJobDefinitionCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeSchedulingPoliciesCommand,
  ListJobsCommand,
  ListSchedulingPoliciesCommand,
  ListTagsForResourceCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateComputeEnvironmentCommand,
  UpdateJobQueueCommand,
} from '@aws-sdk/client-batch';
import {
  createEnvironment,
  createQueue,
  describe,
  shellDefinition,
  until,
} from './helpers/batch.js';
import { python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

suite('Batch API', () => {
  let server: TestServer;
  let batch: BatchClient;
  let ce: string;
  let queue: string;
  let def: string;

  before(async () => {
    server = await startTestServer();
    batch = new BatchClient(clientConfig(server.endpoint));
    ce = await createEnvironment(batch, 'parked', 4, 'DISABLED');
    queue = await createQueue(batch, 'parked', 1, [ce]);
    def = await shellDefinition(
      batch,
      'def',
      '000000000000.dkr.ecr.us-east-1.amazonaws.com/none:1',
    );
  });

  after(async () => {
    batch?.destroy();
    await server?.stop();
  });

  const refused = async (p: Promise<unknown>, message: RegExp): Promise<void> => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof ClientException, String(err));
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.match(err.message, message);
      return true;
    });
  };

  const submit = async (
    name: string,
    extra: Partial<ConstructorParameters<typeof SubmitJobCommand>[0]> = {},
  ) =>
    (
      await batch.send(
        new SubmitJobCommand({ jobName: name, jobQueue: queue, jobDefinition: def, ...extra }),
      )
    ).jobId ?? '';

  test('compute environments: validation, duplicate names, deleting only when DISABLED and unused', async () => {
    await refused(
      batch.send(
        new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'm', type: 'MANAGED' }),
      ),
      /computeResources must be specified/,
    );
    await refused(
      batch.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: 'f',
          type: 'MANAGED',
          computeResources: { type: 'FARGATE', maxvCpus: 4, minvCpus: 1, subnets: ['s'] },
        }),
      ),
      /minvCpus is not applicable for Fargate/,
    );
    await refused(
      batch.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: 'e',
          type: 'MANAGED',
          computeResources: { type: 'EC2', maxvCpus: 4, minvCpus: 8, subnets: ['s'] },
        }),
      ),
      /minvCpus must be less than or equal to maxvCpus/,
    );
    await refused(
      batch.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: 'parked',
          type: 'MANAGED',
          computeResources: { type: 'EC2', maxvCpus: 4, subnets: ['s'] },
        }),
      ),
      /Object already exists/,
    );
    const spare = await createEnvironment(batch, 'spare', 2);
    await refused(
      batch.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: spare })),
      /not in DISABLED state/,
    );
    await refused(
      batch.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'parked' })),
      /found existing JobQueue relationship/,
    );
    await batch.send(
      new UpdateComputeEnvironmentCommand({ computeEnvironment: 'spare', state: 'DISABLED' }),
    );
    await batch.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'spare' }));
  });

  test('job queues: priority bounds, unknown environments, update and delete', async () => {
    await refused(createQueue(batch, 'bad', 1001, [ce]), /priority must be between 0 and 1000/);
    await refused(createQueue(batch, 'bad', 1, ['nope']), /computeEnvironment nope does not exist/);
    await createQueue(batch, 'temp', 5, [ce]);
    await batch.send(
      new UpdateJobQueueCommand({ jobQueue: 'temp', priority: 7, state: 'DISABLED' }),
    );
    const d = await batch.send(new DescribeJobQueuesCommand({ jobQueues: ['temp'] }));
    assert.equal(d.jobQueues?.[0]?.priority, 7);
    assert.equal(d.jobQueues?.[0]?.state, 'DISABLED');
    assert.equal(d.jobQueues?.[0]?.computeEnvironmentOrder?.[0]?.computeEnvironment, ce);
    await refused(
      batch.send(new SubmitJobCommand({ jobName: 'x', jobQueue: 'temp', jobDefinition: def })),
      /is not in ENABLED state/,
    );
    await batch.send(new DeleteJobQueueCommand({ jobQueue: 'temp' }));
    const gone = await batch.send(new DescribeJobQueuesCommand({ jobQueues: ['temp'] }));
    assert.deepEqual(gone.jobQueues, []);
  });

  test('job definitions: revisions, Fargate sizes, retry and timeout bounds, deregistering', async () => {
    const image = 'busybox';
    const register = (
      extra: Partial<ConstructorParameters<typeof RegisterJobDefinitionCommand>[0]>,
    ) =>
      batch.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'revs',
          type: 'container',
          containerProperties: { image, vcpus: 1, memory: 128 },
          ...extra,
        }),
      );
    assert.equal((await register({})).revision, 1);
    assert.equal((await register({})).revision, 2);
    await refused(
      register({ timeout: { attemptDurationSeconds: 30 } }),
      /minimum timeout is 60 seconds/,
    );
    await refused(register({ retryStrategy: { attempts: 11 } }), /between 1 and 10/);
    await refused(
      register({
        platformCapabilities: ['FARGATE'],
        containerProperties: {
          image,
          resourceRequirements: [
            { type: 'VCPU', value: '0.25' },
            { type: 'MEMORY', value: '4096' },
          ],
        },
      }),
      /VCPU=0.25 MEMORY=4096 is not a supported combination/,
    );
    await register({
      platformCapabilities: ['FARGATE'],
      containerProperties: {
        image,
        resourceRequirements: [
          { type: 'VCPU', value: '0.5' },
          { type: 'MEMORY', value: '2048' },
        ],
      },
    });
    await refused(
      register({ containerProperties: { image, vcpus: 1, memory: 128, privileged: true } }),
      /privileged/,
    );
    await batch.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'revs:1' }));
    const active = await batch.send(
      new DescribeJobDefinitionsCommand({ jobDefinitionName: 'revs', status: 'ACTIVE' }),
    );
    assert.deepEqual(
      active.jobDefinitions?.map((d) => d.revision),
      [2, 3],
    );
    // After deregistering the latest, a new revision still takes the next number.
    await batch.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'revs:3' }));
    assert.equal((await register({})).revision, 4);
  });

  test('SubmitJob: parameters and overrides, and AWS refusals', async () => {
    const id = await submit('params', {
      parameters: { script: 'echo hi' },
      containerOverrides: { environment: [{ name: 'A', value: '1' }] },
      tags: { team: 'x' },
    });
    const job = await describe(batch, id);
    assert.equal(job.status, 'RUNNABLE');
    assert.deepEqual(job.container?.command, ['echo hi']);
    assert.deepEqual(job.container?.environment, [{ name: 'A', value: '1' }]);
    assert.deepEqual(job.tags, { team: 'x' });
    await refused(submit('big', { arrayProperties: { size: 10_001 } }), /between 2 and 10000/);
    await refused(
      submit('deps', { dependsOn: Array.from({ length: 21 }, () => ({ jobId: id })) }),
      /at most 20/,
    );
    await refused(
      submit('deps', { dependsOn: [{ jobId: 'nope' }] }),
      /Dependent Job ID nope does not exist/,
    );
    await refused(submit('t', { timeout: { attemptDurationSeconds: 5 } }), /minimum timeout/);
    await refused(submit('s', { shareIdentifier: 'a' }), /scheduling policy/);
    await refused(
      submit('env', { containerOverrides: { environment: [{ name: 'AWS_BATCH_X', value: '1' }] } }),
      /reserved/,
    );
  });

  test('ListJobs: by status (RUNNING by default), filters, pages', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await submit(`page-${i}`));
    const running = await batch.send(new ListJobsCommand({ jobQueue: queue }));
    assert.deepEqual(running.jobSummaryList, []);
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await batch.send(
        new ListJobsCommand({
          jobQueue: 'parked',
          filters: [{ name: 'JOB_NAME', values: ['page-*'] }],
          maxResults: 2,
          nextToken,
        }),
      );
      assert.ok((page.jobSummaryList?.length ?? 0) <= 2);
      seen.push(...(page.jobSummaryList ?? []).map((j) => j.jobId ?? ''));
      nextToken = page.nextToken;
    } while (nextToken);
    assert.deepEqual(seen, ids);
    const byStatus = await batch.send(
      new ListJobsCommand({ jobQueue: queue, jobStatus: 'RUNNABLE' }),
    );
    assert.ok(ids.every((id) => byStatus.jobSummaryList?.some((j) => j.jobId === id)));
    const after = await batch.send(
      new ListJobsCommand({
        jobQueue: queue,
        filters: [{ name: 'AFTER_CREATED_AT', values: [String(Date.now() + 60_000)] }],
      }),
    );
    assert.deepEqual(after.jobSummaryList, []);
  });

  test('CancelJob fails a queued job with the reason, and its dependants ("Dependent Job failed")', async () => {
    const first = await submit('cancel-me');
    const second = await submit('depends', { dependsOn: [{ jobId: first }] });
    const children = await submit('array', {
      arrayProperties: { size: 3 },
      dependsOn: [{ jobId: first }],
    });
    assert.equal((await describe(batch, second)).status, 'PENDING');
    await batch.send(new CancelJobCommand({ jobId: first, reason: 'changed my mind' }));
    const cancelled = await describe(batch, first);
    assert.equal(cancelled.status, 'FAILED');
    assert.equal(cancelled.statusReason, 'changed my mind');
    assert.equal(cancelled.isCancelled, true);
    await until(async () => (await describe(batch, second)).status === 'FAILED');
    assert.equal((await describe(batch, second)).statusReason, 'Dependent Job failed');
    await until(async () => (await describe(batch, children)).status === 'FAILED');
    const parent = await describe(batch, children);
    assert.equal(parent.arrayProperties?.statusSummary?.FAILED, 3);
    assert.equal((await describe(batch, `${children}:2`)).statusReason, 'Dependent Job failed');
  });

  test('scheduling policies and fair-share queues', async () => {
    const policy = await batch.send(
      new CreateSchedulingPolicyCommand({
        name: 'fair',
        fairsharePolicy: {
          shareDecaySeconds: 3600,
          computeReservation: 10,
          shareDistribution: [
            { shareIdentifier: 'a', weightFactor: 1 },
            { shareIdentifier: 'b*', weightFactor: 0.5 },
          ],
        },
      }),
    );
    await refused(
      batch.send(
        new CreateSchedulingPolicyCommand({
          name: 'bad',
          fairsharePolicy: { computeReservation: 100 },
        }),
      ),
      /computeReservation must be between 0 and 99/,
    );
    const listed = await batch.send(new ListSchedulingPoliciesCommand({}));
    assert.deepEqual(listed.schedulingPolicies, [{ arn: policy.arn }]);
    const described = await batch.send(
      new DescribeSchedulingPoliciesCommand({ arns: [policy.arn ?? ''] }),
    );
    assert.equal(described.schedulingPolicies?.[0]?.fairsharePolicy?.shareDistribution?.length, 2);
    const fairQueue = await createQueue(batch, 'fair', 1, [ce], policy.arn);
    await refused(
      batch.send(new SubmitJobCommand({ jobName: 'x', jobQueue: fairQueue, jobDefinition: def })),
      /shareIdentifier must be specified/,
    );
    const id =
      (
        await batch.send(
          new SubmitJobCommand({
            jobName: 'x',
            jobQueue: fairQueue,
            jobDefinition: def,
            shareIdentifier: 'b1',
            schedulingPriorityOverride: 5,
          }),
        )
      ).jobId ?? '';
    const job = await describe(batch, id);
    assert.equal(job.shareIdentifier, 'b1');
    assert.equal(job.schedulingPriority, 5);
  });

  test('tags on queues, definitions and jobs', async () => {
    await batch.send(new TagResourceCommand({ resourceArn: queue, tags: { a: '1', b: '2' } }));
    await batch.send(new UntagResourceCommand({ resourceArn: queue, tagKeys: ['a'] }));
    const tags = await batch.send(new ListTagsForResourceCommand({ resourceArn: queue }));
    assert.deepEqual(tags.tags, { b: '2' });
    await batch.send(new TagResourceCommand({ resourceArn: def, tags: { d: '1' } }));
    assert.deepEqual(
      (await batch.send(new ListTagsForResourceCommand({ resourceArn: def }))).tags,
      { d: '1' },
    );
    await refused(
      batch.send(
        new ListTagsForResourceCommand({
          resourceArn: 'arn:aws:batch:us-east-1:000000000000:job-queue/none',
        }),
      ),
      /does not exist/,
    );
  });

  test('on the process driver a job fails with the reason instead of pretending', async () => {
    const running = await createEnvironment(batch, 'runs', 2);
    const q = await createQueue(batch, 'runs', 1, [running]);
    const image = await shellDefinition(batch, 'busybox', 'busybox');
    const id =
      (await batch.send(new SubmitJobCommand({ jobName: 'p', jobQueue: q, jobDefinition: image })))
        .jobId ?? '';
    await until(async () => (await describe(batch, id)).status === 'FAILED');
    assert.match(
      (await describe(batch, id)).statusReason ?? '',
      /^CannotStartContainerError: the process driver runs no images/,
    );
  });

  test('boto3: a job too big for its queue is blocked with AWS reason; time limit actions and multinode definitions are checked', async () => {
    const r = await python(
      server.endpoint,
      `
import boto3, json, os, time
b = boto3.client('batch', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
def err(fn):
    try:
        fn()
    except b.exceptions.ClientException as e:
        return e.response['Error']['Message']
b.create_compute_environment(computeEnvironmentName='one-vcpu', type='MANAGED',
    computeResources={'type': 'EC2', 'maxvCpus': 1, 'subnets': ['s']})
while b.describe_compute_environments(computeEnvironments=['one-vcpu'])['computeEnvironments'][0]['status'] != 'VALID':
    time.sleep(0.05)
action = {'reason': 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE', 'state': 'RUNNABLE',
          'maxTimeSeconds': 600, 'action': 'CANCEL'}
bad_time = err(lambda: b.create_job_queue(jobQueueName='limits-bad', priority=1,
    computeEnvironmentOrder=[{'order': 1, 'computeEnvironment': 'one-vcpu'}],
    jobStateTimeLimitActions=[dict(action, maxTimeSeconds=86401)]))
b.create_job_queue(jobQueueName='limits', priority=1,
    computeEnvironmentOrder=[{'order': 1, 'computeEnvironment': 'one-vcpu'}],
    jobStateTimeLimitActions=[action])
q = b.describe_job_queues(jobQueues=['limits'])['jobQueues'][0]
b.register_job_definition(jobDefinitionName='two-vcpus', type='container',
    containerProperties={'image': 'busybox', 'vcpus': 2, 'memory': 64})
job = b.submit_job(jobName='big', jobQueue='limits', jobDefinition='two-vcpus')['jobId']
reason = None
for _ in range(2400):
    d = b.describe_jobs(jobs=[job])['jobs'][0]
    if d.get('statusReason'):
        reason = d['statusReason']
        break
    time.sleep(0.05)
container = {'image': 'busybox', 'vcpus': 1, 'memory': 64}
bad_nodes = err(lambda: b.register_job_definition(jobDefinitionName='mnp', type='multinode',
    nodeProperties={'numNodes': 2, 'mainNode': 0, 'nodeRangeProperties': [{'targetNodes': '0', 'container': container}]}))
bad_main = err(lambda: b.register_job_definition(jobDefinitionName='mnp', type='multinode',
    nodeProperties={'numNodes': 2, 'mainNode': 2, 'nodeRangeProperties': [{'targetNodes': '0:1', 'container': container}]}))
ok = b.register_job_definition(jobDefinitionName='mnp', type='multinode',
    nodeProperties={'numNodes': 2, 'mainNode': 0, 'nodeRangeProperties': [{'targetNodes': '0:', 'container': container}]})
mnp = b.describe_job_definitions(jobDefinitions=[ok['jobDefinitionArn']])['jobDefinitions'][0]
print(json.dumps({'badTime': bad_time, 'actions': q.get('jobStateTimeLimitActions'), 'status': d['status'],
    'reason': reason, 'badNodes': bad_nodes, 'badMain': bad_main, 'type': mnp['type'],
    'numNodes': mnp['nodeProperties']['numNodes']}))
`,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.match(String(out.badTime), /maxTimeSeconds must be between 600 and 86400/);
    assert.deepEqual(out.actions, [
      {
        reason: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE',
        state: 'RUNNABLE',
        maxTimeSeconds: 600,
        action: 'CANCEL',
      },
    ]);
    assert.equal(out.status, 'RUNNABLE');
    assert.equal(
      out.reason,
      'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job.',
    );
    assert.match(String(out.badNodes), /Node 1 is not covered by any nodeRangeProperties/);
    assert.match(String(out.badMain), /mainNode must be a node index lower than numNodes/);
    assert.equal(out.type, 'multinode');
    assert.equal(out.numNodes, 2);
  });
});
