/**
 * Events of Stratus's own services on EventBridge, in AWS's shapes: S3 `Object Created` /
 * `Object Deleted` (a bucket with EventBridge enabled), ECS `ECS Task State Change` and
 * Batch `Batch Job State Change`; and ECS RunTask and Batch SubmitJob as rule targets.
 * With the process driver, tasks and jobs cannot run images: they stop (TaskFailedToStart)
 * or fail, which are state changes all the same.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { BatchClient } from '@aws-sdk/client-batch';
import { clients, createRole, destroy, eventually, type Clients } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { createRecorder, recorded, recordedAtLeast } from './helpers/events.js';
import { createEnvironment, createQueue, shellDefinition } from './helpers/batch.js';

let server: TestServer;
let c: Clients;
let eb: EventBridgeClient;
let role: string;

type Event = {
  source: string;
  'detail-type': string;
  resources: string[];
  detail: Record<string, unknown>;
};

async function route(rule: string, pattern: object, recorder: string): Promise<void> {
  const fn = await createRecorder(c, role, recorder);
  await eb.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(pattern) }));
  await eb.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'fn', Arn: fn }] }));
}

describe("AWS services' events on EventBridge", () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    eb = new EventBridgeClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
    role = await createRole(c.iam, 'services-fn');
  });
  after(async () => {
    destroy(c);
    eb.destroy();
    await server.stop();
  });

  test('S3 sends Object Created and Object Deleted when the bucket enables EventBridge', async () => {
    const s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    try {
      await route(
        's3-objects',
        { source: ['aws.s3'], detail: { bucket: { name: ['watched'] } } },
        's3-rec',
      );
      await s3.send(new CreateBucketCommand({ Bucket: 'watched' }));
      await s3.send(new CreateBucketCommand({ Bucket: 'quiet' }));
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: 'watched',
          NotificationConfiguration: { EventBridgeConfiguration: {} },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: 'quiet', Key: 'a.txt', Body: 'nope' }));
      await s3.send(new PutObjectCommand({ Bucket: 'watched', Key: 'dir/a b.txt', Body: 'hello' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'watched', Key: 'dir/a b.txt' }));
      const events = (await recordedAtLeast(c, 's3-rec', 2)) as Event[];
      const created = events.find((e) => e['detail-type'] === 'Object Created');
      const deleted = events.find((e) => e['detail-type'] === 'Object Deleted');
      assert.deepEqual(created?.resources, ['arn:aws:s3:::watched']);
      assert.equal(created?.source, 'aws.s3');
      assert.deepEqual(created?.detail.bucket, { name: 'watched' });
      const object = created?.detail.object as Record<string, unknown>;
      assert.equal(object.key, 'dir/a b.txt');
      assert.equal(object.size, 5);
      assert.equal(object.etag, '5d41402abc4b2a76b9719d911017c592');
      assert.equal(created?.detail.reason, 'PutObject');
      assert.equal(deleted?.detail.reason, 'DeleteObject');
      assert.equal(deleted?.detail['deletion-type'], 'Permanently Deleted');
      assert.equal(events.length, 2);
    } finally {
      s3.destroy();
    }
  });

  test('an ECS RunTask target starts a task; its state change comes back as an event', async () => {
    const ecs = new ECSClient(clientConfig(server.endpoint));
    try {
      await route(
        'ecs-changes',
        { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] },
        'ecs-rec',
      );
      const cluster = (await ecs.send(new CreateClusterCommand({ clusterName: 'jobs' }))).cluster
        ?.clusterArn;
      const def = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'nightly',
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 64, essential: true }],
        }),
      );
      await eb.send(new PutRuleCommand({ Name: 'run-task', EventPattern: '{"source":["kick"]}' }));
      await eb.send(
        new PutTargetsCommand({
          Rule: 'run-task',
          Targets: [
            {
              Id: 'task',
              Arn: cluster,
              RoleArn: role,
              EcsParameters: {
                TaskDefinitionArn: def.taskDefinition?.taskDefinitionArn,
                TaskCount: 1,
                LaunchType: 'EC2',
              },
            },
          ],
        }),
      );
      await eb.send(
        new PutEventsCommand({ Entries: [{ Source: 'kick', DetailType: 'go', Detail: '{}' }] }),
      );
      const events = (await recordedAtLeast(c, 'ecs-rec', 1)) as Event[];
      const stopped = await eventually('the STOPPED event', async () =>
        ((await recorded(c, 'ecs-rec')) as Event[]).find((e) => e.detail.lastStatus === 'STOPPED'),
      );
      assert.equal(events[0].source, 'aws.ecs');
      assert.equal(stopped.detail.clusterArn, cluster);
      assert.equal(stopped.detail.startedBy, 'events-rule');
      assert.equal(stopped.detail.taskDefinitionArn, def.taskDefinition?.taskDefinitionArn);
      assert.deepEqual(stopped.resources, [stopped.detail.taskArn]);
    } finally {
      ecs.destroy();
    }
  });

  test('a Batch SubmitJob target submits a job; its state changes come back as events', async () => {
    const batch = new BatchClient(clientConfig(server.endpoint));
    try {
      await route(
        'batch-changes',
        { source: ['aws.batch'], 'detail-type': ['Batch Job State Change'] },
        'batch-rec',
      );
      const env = await createEnvironment(batch, 'ev', 2);
      const queue = await createQueue(batch, 'ev', 1, [env]);
      const definition = await shellDefinition(batch, 'ev', 'busybox');
      await eb.send(
        new PutRuleCommand({ Name: 'submit', EventPattern: '{"source":["batch-kick"]}' }),
      );
      await eb.send(
        new PutTargetsCommand({
          Rule: 'submit',
          Targets: [
            {
              Id: 'job',
              Arn: queue,
              RoleArn: role,
              BatchParameters: { JobDefinition: definition, JobName: 'from-rule' },
            },
          ],
        }),
      );
      await eb.send(
        new PutEventsCommand({
          Entries: [{ Source: 'batch-kick', DetailType: 'go', Detail: '{}' }],
        }),
      );
      const failed = await eventually(
        'the FAILED event',
        async () =>
          ((await recorded(c, 'batch-rec')) as Event[]).find((e) => e.detail.status === 'FAILED'),
        60_000,
      );
      assert.equal(failed.detail.jobName, 'from-rule');
      assert.equal(failed.detail.jobQueue, queue);
      assert.deepEqual(failed.resources, [failed.detail.jobArn]);
      const statuses = ((await recorded(c, 'batch-rec')) as Event[]).map((e) => e.detail.status);
      assert.ok(statuses.includes('RUNNABLE'), statuses.join());
    } finally {
      batch.destroy();
    }
  });
});
