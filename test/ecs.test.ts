/**
 * ECS and Fargate through @aws-sdk/client-ecs and the AWS CLI v2, on the runc driver: a
 * busybox image pushed to the server's ECR really runs, its awslogs output is read back
 * through CloudWatch Logs, Fargate sizes are enforced (the task definition refused with
 * AWS's message, a task over its memory stopped with the OOM reason), and a service is
 * kept at its desired count (a container killed with SIGKILL is replaced) and rolled to a
 * new task definition, its CPU and memory utilisation in CloudWatch. Skipped where runc or
 * the image tools are missing.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteClusterCommand,
  DeleteServiceCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  ListTagsForResourceCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
  type ContainerDefinition,
  type Task,
} from '@aws-sdk/client-ecs';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { pushBusybox, type PushedBusybox } from './helpers/busybox-ecr.js';
import { awsCli } from './helpers/clients.js';
import { imageToolsMissing } from './helpers/oci-image.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const skip = runcSkipReason() ?? imageToolsMissing();
const NETWORK = { awsvpcConfiguration: { subnets: ['subnet-12345678'] } };

describe('ECS on runc', { skip }, () => {
  let server: TestServer;
  let ecs: ECSClient;
  let logs: CloudWatchLogsClient;
  let image: PushedBusybox;

  before(async () => {
    server = await startTestServer({ driver: 'runc' });
    ecs = new ECSClient(clientConfig(server.endpoint));
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    image = await pushBusybox(server.endpoint, 'ecs/busybox');
    await ecs.send(new CreateClusterCommand({ clusterName: 'default' }));
  });

  after(async () => {
    ecs?.destroy();
    logs?.destroy();
    await server?.stop();
  });

  const container = (c: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
    name: 'app',
    image: image.reference,
    essential: true,
    ...c,
  });

  async function fargateDefinition(
    family: string,
    c: Partial<ContainerDefinition>,
    size = { cpu: '256', memory: '512' },
  ) {
    const out = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        ...size,
        containerDefinitions: [container(c)],
      }),
    );
    return out.taskDefinition!.taskDefinitionArn!;
  }

  async function describe1(arn: string): Promise<Task> {
    // The cluster is the ARN's (`task/<cluster>/<id>`): DescribeTasks looks in one cluster.
    const cluster = arn.split('/').at(-2);
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [arn] }));
    return out.tasks![0]!;
  }

  const until = (arn: string, status: string): Promise<Task> =>
    eventually(
      `task ${status}`,
      async () => {
        const t = await describe1(arn);
        return t.lastStatus === status || t.lastStatus === 'STOPPED' ? t : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    );

  async function runFargate(taskDefinition: string, extra: Record<string, unknown> = {}) {
    const out = await ecs.send(
      new RunTaskCommand({
        taskDefinition,
        launchType: 'FARGATE',
        networkConfiguration: NETWORK,
        ...extra,
      }),
    );
    return out.tasks![0]!;
  }

  test('task definitions: revisions, describe, list with paging, families, deregister, delete', async () => {
    const first = await fargateDefinition('web', { command: ['echo one'] });
    const second = await fargateDefinition('web', { command: ['echo two'] });
    assert.match(first, /:task-definition\/web:1$/);
    assert.match(second, /:task-definition\/web:2$/);
    const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }));
    assert.equal(latest.taskDefinition!.revision, 2);
    assert.deepEqual(latest.taskDefinition!.compatibilities, ['EC2', 'FARGATE']);
    assert.equal(latest.taskDefinition!.containerDefinitions![0]!.essential, true);
    const page1 = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: 'web', maxResults: 1 }),
    );
    assert.deepEqual(page1.taskDefinitionArns, [first]);
    const page2 = await ecs.send(
      new ListTaskDefinitionsCommand({
        familyPrefix: 'web',
        maxResults: 1,
        nextToken: page1.nextToken,
      }),
    );
    assert.deepEqual(page2.taskDefinitionArns, [second]);
    assert.equal(page2.nextToken, undefined);
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'web:1' }));
    const inactive = await ecs.send(new ListTaskDefinitionsCommand({ status: 'INACTIVE' }));
    assert.deepEqual(inactive.taskDefinitionArns, [first]);
    const families = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: 'we' }));
    assert.deepEqual(families.families, ['web']);
    const del = await ecs.send(
      new DeleteTaskDefinitionsCommand({ taskDefinitions: ['web:1', 'web:2'] }),
    );
    assert.equal(del.taskDefinitions![0]!.status, 'DELETE_IN_PROGRESS');
    assert.match(del.failures![0]!.reason!, /still in ACTIVE status/);
  });

  test('Fargate refuses a cpu/memory combination it does not offer (AWS CLI v2)', async () => {
    const r = await awsCli(server.endpoint, [
      'ecs',
      'register-task-definition',
      '--family',
      'toobig',
      '--requires-compatibilities',
      'FARGATE',
      '--network-mode',
      'awsvpc',
      '--cpu',
      '256',
      '--memory',
      '4096',
      '--container-definitions',
      JSON.stringify([{ name: 'app', image: image.reference }]),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ClientException.*Invalid 'cpu' setting for task/);
  });

  test('RunTask on Fargate: the container runs, exits, and its awslogs output is in CloudWatch Logs', async () => {
    const td = await fargateDefinition('hello', {
      command: ['echo "hello from $AWS_EXECUTION_ENV"; echo second line; exit 0'],
      logConfiguration: {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': '/ecs/hello',
          'awslogs-region': 'us-east-1',
          'awslogs-stream-prefix': 'ecs',
        },
      },
    });
    const started = await runFargate(td, { startedBy: 'test', tags: [{ key: 'k', value: 'v' }] });
    assert.equal(started.lastStatus, 'PROVISIONING');
    assert.equal(started.desiredStatus, 'RUNNING');
    const done = await until(started.taskArn!, 'STOPPED');
    assert.equal(done.lastStatus, 'STOPPED');
    assert.equal(done.stopCode, 'EssentialContainerExited');
    assert.equal(done.stoppedReason, 'Essential container in task exited');
    assert.equal(done.containers![0]!.exitCode, 0);
    assert.match(done.containers![0]!.imageDigest ?? '', /^sha256:/);
    assert.equal(done.attachments![0]!.type, 'ElasticNetworkInterface');
    for (const k of [
      'pullStartedAt',
      'pullStoppedAt',
      'startedAt',
      'stoppingAt',
      'stoppedAt',
    ] as const)
      assert.ok(done[k] instanceof Date, k);
    const taskId = started.taskArn!.split('/').at(-1)!;
    const events = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/ecs/hello', logStreamName: `ecs/app/${taskId}` }),
    );
    assert.deepEqual(
      events.events!.map((e) => e.message),
      ['hello from AWS_ECS_FARGATE', 'second line'],
    );
    const tags = await ecs.send(new ListTagsForResourceCommand({ resourceArn: started.taskArn! }));
    assert.deepEqual(tags.tags, [{ key: 'k', value: 'v' }]);
    const listed = await ecs.send(
      new ListTasksCommand({ desiredStatus: 'STOPPED', startedBy: 'test' }),
    );
    assert.ok(listed.taskArns!.includes(started.taskArn!));
  });

  test('StopTask: UserInitiated with the given reason', async () => {
    const td = await fargateDefinition('sleeper', { command: ['sleep 600'], stopTimeout: 2 });
    const task = await runFargate(td);
    const running = await until(task.taskArn!, 'RUNNING');
    assert.equal(running.lastStatus, 'RUNNING');
    assert.match(running.attachments![0]!.details![0]!.value!, /^10\.213\./);
    const listed = await ecs.send(new ListTasksCommand({ family: 'sleeper' }));
    assert.deepEqual(listed.taskArns, [task.taskArn]);
    const stopping = await ecs.send(new StopTaskCommand({ task: task.taskArn!, reason: 'enough' }));
    assert.equal(stopping.task!.desiredStatus, 'STOPPED');
    const stopped = await until(task.taskArn!, 'STOPPED');
    assert.equal(stopped.stopCode, 'UserInitiated');
    assert.equal(stopped.stoppedReason, 'enough');
  });

  test('a Fargate task of 256 cpu / 512 MiB that allocates 1 GB stops with the OOM reason', async () => {
    const td = await fargateDefinition('hog', { command: ['a=x; while true; do a="$a$a"; done'] });
    const task = await runFargate(td);
    const stopped = await until(task.taskArn!, 'STOPPED');
    assert.equal(stopped.stopCode, 'EssentialContainerExited');
    assert.equal(
      stopped.containers![0]!.reason,
      'OutOfMemoryError: Container killed due to memory usage',
    );
    assert.equal(stopped.containers![0]!.exitCode, 137);
  });

  test('a service keeps its desired count, replaces a killed container and rolls a new definition', async () => {
    const v1 = await fargateDefinition('svc', {
      command: ['echo v1 > /v; sleep 600'],
      stopTimeout: 1,
    });
    await ecs.send(
      new CreateServiceCommand({
        serviceName: 'web',
        taskDefinition: v1,
        desiredCount: 2,
        launchType: 'FARGATE',
        networkConfiguration: NETWORK,
        deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
      }),
    );
    const service = () =>
      ecs.send(new DescribeServicesCommand({ services: ['web'] })).then((o) => o.services![0]!);
    const steady = async (taskDefinition: string) => {
      for (;;) {
        const s = await service();
        const done =
          s.runningCount === s.desiredCount &&
          s.deployments!.length === 1 &&
          s.deployments![0]!.taskDefinition === taskDefinition &&
          s.deployments![0]!.rolloutState === 'COMPLETED';
        if (done) return s;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    let s = await steady(v1);
    assert.equal(s.runningCount, 2);
    assert.ok(s.events!.some((e) => e.message === '(service web) has reached a steady state.'));
    const tasks = await ecs.send(new ListTasksCommand({ serviceName: 'web' }));
    assert.equal(tasks.taskArns!.length, 2);

    // kill -9 of one task's container: the task stops and the service starts another.
    const victim = await describe1(tasks.taskArns![0]!);
    const runtimeId = victim.containers![0]!.runtimeId!;
    process.kill(containerPid(runtimeId), 'SIGKILL');
    const killed = await until(victim.taskArn!, 'STOPPED');
    assert.equal(killed.stopCode, 'EssentialContainerExited');
    assert.equal(killed.containers![0]!.exitCode, 137);
    for (;;) {
      const now = await ecs.send(new ListTasksCommand({ serviceName: 'web' }));
      const alive = now.taskArns!.filter((a) => a !== victim.taskArn);
      const described = alive.length
        ? (await ecs.send(new DescribeTasksCommand({ tasks: alive }))).tasks!
        : [];
      if (described.filter((t) => t.lastStatus === 'RUNNING').length === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    // A new definition rolls: every task ends up on v2.
    const v2 = await fargateDefinition('svc', {
      command: ['echo v2 > /v; sleep 600'],
      stopTimeout: 1,
    });
    const updated = await ecs.send(
      new UpdateServiceCommand({ service: 'web', taskDefinition: v2 }),
    );
    assert.equal(updated.service!.deployments!.length, 2);
    assert.equal(updated.service!.deployments![0]!.status, 'PRIMARY');
    s = await steady(v2);
    const after = await ecs.send(new ListTasksCommand({ serviceName: 'web' }));
    const described = (await ecs.send(new DescribeTasksCommand({ tasks: after.taskArns! }))).tasks!;
    assert.deepEqual(
      described.map((t) => t.taskDefinitionArn),
      [v2, v2],
    );
    assert.ok(s.events!.some((e) => /deployment completed/.test(e.message ?? '')));

    // CloudWatch has the service's CPU and memory utilisation, read from the tasks' cgroups
    // (sampled every 10 s; CPU needs two samples of a task).
    const cw = new CloudWatchClient(clientConfig(server.endpoint));
    try {
      const utilisation = async (MetricName: string) => {
        const out = await cw.send(
          new GetMetricStatisticsCommand({
            Namespace: 'AWS/ECS',
            MetricName,
            Dimensions: [
              { Name: 'ClusterName', Value: 'default' },
              { Name: 'ServiceName', Value: 'web' },
            ],
            StartTime: new Date(Date.now() - 10 * 60_000),
            EndTime: new Date(Date.now() + 60_000),
            Period: 60,
            Statistics: ['Average', 'SampleCount'],
          }),
        );
        return out.Datapoints ?? [];
      };
      const deadline = Date.now() + 90_000;
      let cpu = await utilisation('CPUUtilization');
      let memory = await utilisation('MemoryUtilization');
      while ((cpu.length === 0 || memory.length === 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        cpu = await utilisation('CPUUtilization');
        memory = await utilisation('MemoryUtilization');
      }
      assert.ok(cpu.length > 0 && memory.length > 0, 'CPU and memory utilisation published');
      for (const d of [...cpu, ...memory]) {
        assert.equal(d.Unit, 'Percent');
        assert.ok(d.Average! >= 0 && d.Average! < 100, `utilisation ${d.Average}`);
      }
      // busybox sleeping uses some memory of its reservation, never none.
      assert.ok(memory.some((d) => d.Average! > 0));
    } finally {
      cw.destroy();
    }

    // Delete needs a scale to 0 (or force); then the cluster can go once all is stopped.
    await assert.rejects(ecs.send(new DeleteServiceCommand({ service: 'web' })), /scaled above 0/);
    const deleting = await ecs.send(new DeleteServiceCommand({ service: 'web', force: true }));
    assert.equal(deleting.service!.status, 'DRAINING');
    for (;;) {
      const d = await service();
      if (d.status === 'INACTIVE') break;
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  test('clusters: counts, and delete refused while tasks run', async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: 'other' }));
    const td = await fargateDefinition('other', { command: ['sleep 600'], stopTimeout: 1 });
    const task = await runFargate(td, { cluster: 'other' });
    await until(task.taskArn!, 'RUNNING');
    const arn = (await ecs.send(new DescribeClustersCommand({ clusters: ['other'] }))).clusters![0]!
      .clusterArn!;
    await ecs.send(
      new TagResourceCommand({
        resourceArn: arn,
        tags: [
          { key: 'team', value: 'a' },
          { key: 'env', value: 'test' },
        ],
      }),
    );
    await ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['env'] }));
    const c = await ecs.send(
      new DescribeClustersCommand({ clusters: ['other', 'nope'], include: ['TAGS'] }),
    );
    assert.deepEqual(c.clusters![0]!.tags, [{ key: 'team', value: 'a' }]);
    assert.equal(c.clusters![0]!.runningTasksCount, 1);
    assert.equal(c.failures![0]!.reason, 'MISSING');
    await assert.rejects(
      ecs.send(new DeleteClusterCommand({ cluster: 'other' })),
      /The Cluster cannot be deleted while Tasks are active/,
    );
    await ecs.send(new StopTaskCommand({ cluster: 'other', task: task.taskArn! }));
    await until(task.taskArn!, 'STOPPED');
    const deleted = await ecs.send(new DeleteClusterCommand({ cluster: 'other' }));
    assert.equal(deleted.cluster!.status, 'INACTIVE');
  });
});

/** The pid of a runc container of this process's (ephemeral) test server. */
function containerPid(id: string): number {
  const prefix = `stratus-containers-${process.pid}-`;
  for (const dir of readdirSync(tmpdir()).filter((d) => d.startsWith(prefix))) {
    try {
      return Number(readFileSync(join(tmpdir(), dir, 'runc-driver', id, 'pid'), 'utf8'));
    } catch {
      // another server's directory
    }
  }
  throw new Error(`no pid file for ${id}`);
}
