/**
 * ECS's EC2 launch type on registered container instances, through @aws-sdk/client-ecs and
 * the AWS CLI v2, on the runc driver: three instances registered as shares of this machine
 * (1024, 2048 and 3072 MiB; one in us-east-1a, two in us-east-1b), then the placements the
 * ECS developer guide describes — binpack on memory fills the instance with the least
 * memory left first, spread over ecs.availability-zone then instanceId balances zones then
 * instances, distinctInstance puts each task of a group on its own instance, memberOf
 * follows a cluster query language expression, a task that fits nowhere gets
 * RESOURCE:MEMORY, StartTask runs on the named instance, a DRAINING instance's service
 * tasks move elsewhere. A second server on a state directory keeps its instances across a
 * restart. Skipped where runc or the image tools are missing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteAttributesCommand,
  DeleteClusterCommand,
  DeleteServiceCommand,
  DeregisterContainerInstanceCommand,
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListAttributesCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StartTaskCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
  UpdateTaskProtectionCommand,
  GetTaskProtectionCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  type ContainerInstance,
  type RunTaskCommandInput,
  type Task,
} from '@aws-sdk/client-ecs';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { pushBusybox } from './helpers/busybox-ecr.js';
import { awsCli } from './helpers/clients.js';
import { imageToolsMissing } from './helpers/oci-image.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const skip = runcSkipReason() ?? imageToolsMissing();
const CLUSTER = 'placement';

/** Polls `fn` until it returns a value (generous deadline: the machine may be loaded). */
const until = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> =>
  eventually(what, fn, { timeoutMs: 120_000, intervalMs: 250 });

const memoryOf = (ci: ContainerInstance, which: 'remainingResources' | 'registeredResources') =>
  ci[which]!.find((r) => r.name === 'MEMORY')!.integerValue;

describe('ECS placement on registered container instances (runc)', { skip }, () => {
  let server: TestServer;
  let ecs: ECSClient;
  let definition: string;
  /** name (small, medium, large) ↔ container instance ARN */
  const arns = new Map<string, string>();
  const nameOfArn = (arn: string | undefined) =>
    [...arns].find(([, a]) => a === arn)?.[0] ?? `unknown ${arn}`;

  before(async () => {
    server = await startTestServer({ driver: 'runc' });
    ecs = new ECSClient(clientConfig(server.endpoint));
    const image = await pushBusybox(server.endpoint, 'placement/busybox');
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const td = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'sleeper',
        networkMode: 'none',
        containerDefinitions: [
          {
            name: 'app',
            image: image.reference,
            cpu: 128,
            memory: 512,
            command: ['exec sleep 600'],
            stopTimeout: 1,
          },
        ],
      }),
    );
    definition = td.taskDefinition!.taskDefinitionArn!;

    // small: through the SDK with an instance identity document (its zone and type).
    const small = await ecs.send(
      new RegisterContainerInstanceCommand({
        cluster: CLUSTER,
        instanceIdentityDocument: JSON.stringify({
          instanceId: 'i-0aaaaaaaaaaaaaaa1',
          availabilityZone: 'us-east-1a',
          instanceType: 't3.small',
          region: 'us-east-1',
        }),
        totalResources: [
          { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
          { name: 'MEMORY', type: 'INTEGER', integerValue: 1024 },
        ],
        attributes: [{ name: 'stack', value: 'prod' }],
      }),
    );
    arns.set('small', small.containerInstance!.containerInstanceArn!);
    // medium and large: through the AWS CLI v2, --total-resources and --attributes.
    for (const [name, memory] of [
      ['medium', 2048],
      ['large', 3072],
    ] as const) {
      const r = await awsCli(server.endpoint, [
        'ecs',
        'register-container-instance',
        '--cluster',
        CLUSTER,
        '--total-resources',
        'name=CPU,type=INTEGER,integerValue=2048',
        `name=MEMORY,type=INTEGER,integerValue=${memory}`,
        '--attributes',
        'name=ecs.availability-zone,value=us-east-1b',
        `name=size,value=${name}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { containerInstance: ContainerInstance };
      arns.set(name, out.containerInstance.containerInstanceArn!);
    }
  });

  // Each placement test starts from empty instances.
  afterEach(() => stopAll());

  after(async () => {
    ecs?.destroy();
    await server?.stop();
  });

  async function describeInstances(): Promise<Map<string, ContainerInstance>> {
    const out = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: CLUSTER,
        containerInstances: [...arns.values()],
      }),
    );
    return new Map(out.containerInstances!.map((ci) => [nameOfArn(ci.containerInstanceArn), ci]));
  }

  async function run(input: Partial<RunTaskCommandInput>) {
    return ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: definition, ...input }));
  }

  /** Where each task went, in the order RunTask returned them. */
  const placements = (tasks: Task[] | undefined) =>
    (tasks ?? []).map((t) => nameOfArn(t.containerInstanceArn));

  /** Stops every task of the cluster and waits for them to be STOPPED (instances freed). */
  async function stopAll(): Promise<void> {
    const arnsNow = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER }))).taskArns ?? [];
    for (const task of arnsNow) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task }));
    if (arnsNow.length === 0) return;
    await until('tasks to stop', async () => {
      const out = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arnsNow }));
      return out.tasks!.every((t) => t.lastStatus === 'STOPPED') ? true : undefined;
    });
  }

  test('registered instances: resources, agent attributes, cluster count, query-language filters (SDK and CLI v2)', async () => {
    const all = await describeInstances();
    assert.equal(memoryOf(all.get('small')!, 'registeredResources'), 1024);
    assert.equal(memoryOf(all.get('large')!, 'remainingResources'), 3072);
    const small = all.get('small')!;
    assert.equal(small.ec2InstanceId, 'i-0aaaaaaaaaaaaaaa1');
    assert.equal(small.status, 'ACTIVE');
    assert.equal(small.agentConnected, true);
    const attr = (ci: ContainerInstance, name: string) =>
      ci.attributes!.find((a) => a.name === name)?.value;
    assert.equal(attr(small, 'ecs.availability-zone'), 'us-east-1a');
    assert.equal(attr(small, 'ecs.instance-type'), 't3.small');
    assert.equal(attr(all.get('medium')!, 'ecs.availability-zone'), 'us-east-1b');
    assert.deepEqual(small.registeredResources!.find((r) => r.name === 'PORTS')!.stringSetValue, [
      '22',
      '2375',
      '2376',
      '51678',
      '51679',
    ]);
    const cluster = await ecs.send(new DescribeClustersCommand({ clusters: [CLUSTER] }));
    assert.equal(cluster.clusters![0]!.registeredContainerInstancesCount, 3);

    const list = async (filter: string) =>
      (
        (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER, filter })))
          .containerInstanceArns ?? []
      )
        .map(nameOfArn)
        .sort();
    assert.deepEqual(await list('attribute:ecs.availability-zone == us-east-1b'), [
      'large',
      'medium',
    ]);
    assert.deepEqual(await list('attribute:size in [small, large] or attribute:stack exists'), [
      'large',
      'small',
    ]);
    assert.deepEqual(await list('not(attribute:ecs.instance-type =~ t3.*)'), ['large', 'medium']);
    assert.deepEqual(
      await list('runningTasksCount == 0 and ec2InstanceId != i-0aaaaaaaaaaaaaaa1'),
      ['large', 'medium'],
    );
    const cli = await awsCli(server.endpoint, [
      'ecs',
      'list-container-instances',
      '--cluster',
      CLUSTER,
      '--filter',
      'attribute:size == medium',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(
      (JSON.parse(cli.stdout) as { containerInstanceArns: string[] }).containerInstanceArns,
      [arns.get('medium')],
    );
    await assert.rejects(
      ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER, filter: 'attribute:x ~~ y' })),
      { name: 'InvalidParameterException' },
    );
    await assert.rejects(ecs.send(new DeleteClusterCommand({ cluster: CLUSTER })), {
      name: 'ClusterContainsContainerInstancesException',
    });
  });

  test('PutAttributes, ListAttributes, DeleteAttributes on a container instance', async () => {
    const target = arns.get('large')!;
    await ecs.send(
      new PutAttributesCommand({
        cluster: CLUSTER,
        attributes: [{ name: 'team', value: 'blue', targetId: target }],
      }),
    );
    const listed = await ecs.send(
      new ListAttributesCommand({
        cluster: CLUSTER,
        targetType: 'container-instance',
        attributeName: 'team',
      }),
    );
    assert.deepEqual(listed.attributes, [
      { name: 'team', value: 'blue', targetType: 'container-instance', targetId: target },
    ]);
    await ecs.send(
      new DeleteAttributesCommand({
        cluster: CLUSTER,
        attributes: [{ name: 'team', targetId: target }],
      }),
    );
    const after = await ecs.send(
      new ListAttributesCommand({
        cluster: CLUSTER,
        targetType: 'container-instance',
        attributeName: 'team',
      }),
    );
    assert.deepEqual(after.attributes, []);
    await assert.rejects(
      ecs.send(
        new PutAttributesCommand({
          cluster: CLUSTER,
          attributes: [
            { name: 'team', value: 'red', targetId: 'ffffffffffffffffffffffffffffffff' },
          ],
        }),
      ),
      { name: 'TargetNotFoundException' },
    );
  });

  test('binpack on memory: the instance with the least memory left is filled first', async () => {
    const out = await run({ count: 3, placementStrategy: [{ type: 'binpack', field: 'memory' }] });
    assert.deepEqual(out.failures, []);
    // small has 1024 MiB: two 512 MiB tasks fill it; the third goes to medium (2048 < 3072).
    assert.deepEqual(placements(out.tasks), ['small', 'small', 'medium']);
    const all = await describeInstances();
    assert.equal(memoryOf(all.get('small')!, 'remainingResources'), 0);
    assert.equal(memoryOf(all.get('medium')!, 'remainingResources'), 1536);
    assert.equal(memoryOf(all.get('large')!, 'remainingResources'), 3072);
    await until('the tasks to run', async () => {
      const ci = (await describeInstances()).get('small')!;
      return ci.runningTasksCount === 2 && ci.pendingTasksCount === 0 ? true : undefined;
    });
    const onSmall = await ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, containerInstance: arns.get('small') }),
    );
    assert.equal(onSmall.taskArns!.length, 2);
    await stopAll();
    assert.equal(memoryOf((await describeInstances()).get('small')!, 'remainingResources'), 1024);
  });

  test('spread on ecs.availability-zone then instanceId: zones balanced, then instances', async () => {
    const out = await run({
      count: 4,
      group: 'az-balanced',
      placementStrategy: [
        { type: 'spread', field: 'attribute:ecs.availability-zone' },
        { type: 'spread', field: 'instanceId' },
      ],
    });
    assert.deepEqual(out.failures, []);
    // a, b; then both zones hold one, so spread on instanceId picks the instance without
    // one (large, in b); then a has fewer.
    assert.deepEqual(placements(out.tasks), ['small', 'medium', 'large', 'small']);
    assert.deepEqual(
      out.tasks!.map((t) => t.availabilityZone),
      ['us-east-1a', 'us-east-1b', 'us-east-1b', 'us-east-1a'],
    );
  });

  test("spread on the zone then binpack on memory (the guide's example)", async () => {
    const out = await run({
      count: 2,
      group: 'az-binpack',
      placementStrategy: [
        { type: 'spread', field: 'attribute:ecs.availability-zone' },
        { type: 'binpack', field: 'memory' },
      ],
    });
    assert.deepEqual(placements(out.tasks), ['small', 'medium']);
  });

  test('distinctInstance: one task of the group per instance; the fourth fits nowhere', async () => {
    const out = await run({
      count: 4,
      group: 'distinct',
      placementConstraints: [{ type: 'distinctInstance' }],
      placementStrategy: [{ type: 'spread', field: 'instanceId' }],
    });
    assert.deepEqual(placements(out.tasks).sort(), ['large', 'medium', 'small']);
    assert.deepEqual(out.failures!.map((f) => [nameOfArn(f.arn), f.reason]).sort(), [
      ['large', 'DistinctInstance placement constraint unsatisfied'],
      ['medium', 'DistinctInstance placement constraint unsatisfied'],
      ['small', 'DistinctInstance placement constraint unsatisfied'],
    ]);
  });

  test('memberOf: a query language expression chooses the instances', async () => {
    const out = await run({
      count: 2,
      placementConstraints: [
        {
          type: 'memberOf',
          expression:
            'attribute:ecs.availability-zone == us-east-1b and not(attribute:size == medium)',
        },
      ],
    });
    assert.deepEqual(placements(out.tasks), ['large', 'large']);
    const none = await run({
      placementConstraints: [{ type: 'memberOf', expression: 'attribute:stack in [test, dev]' }],
    });
    assert.deepEqual(none.tasks, []);
    assert.deepEqual(
      none.failures!.map((f) => f.reason),
      Array(3).fill('MemberOf placement constraint unsatisfied'),
    );
    await assert.rejects(
      run({ placementConstraints: [{ type: 'memberOf', expression: 'attribute:stack ==' }] }),
      { name: 'InvalidParameterException' },
    );
  });

  test('a task that fits nowhere gets RESOURCE:MEMORY from every instance (AWS CLI v2)', async () => {
    const r = await awsCli(server.endpoint, [
      'ecs',
      'run-task',
      '--cluster',
      CLUSTER,
      '--task-definition',
      definition,
      '--overrides',
      JSON.stringify({ memory: '4096' }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      tasks: Task[];
      failures: { arn: string; reason: string }[];
    };
    assert.deepEqual(out.tasks, []);
    assert.deepEqual(out.failures.map((f) => [nameOfArn(f.arn), f.reason]).sort(), [
      ['large', 'RESOURCE:MEMORY'],
      ['medium', 'RESOURCE:MEMORY'],
      ['small', 'RESOURCE:MEMORY'],
    ]);
  });

  test('StartTask runs the task on the named instance', async () => {
    const out = await ecs.send(
      new StartTaskCommand({
        cluster: CLUSTER,
        taskDefinition: definition,
        containerInstances: [arns.get('large')!, 'ffffffffffffffffffffffffffffffff'],
      }),
    );
    assert.deepEqual(placements(out.tasks), ['large']);
    assert.equal(out.failures![0]!.reason, 'MISSING');
    const task = await until('the started task to run', async () => {
      const t = (
        await ecs.send(
          new DescribeTasksCommand({ cluster: CLUSTER, tasks: [out.tasks![0]!.taskArn!] }),
        )
      ).tasks![0]!;
      return t.lastStatus === 'RUNNING' ? t : undefined;
    });
    assert.equal(task.launchType, 'EC2');
    assert.equal(task.containerInstanceArn, arns.get('large'));
  });

  test('DRAINING: the service tasks on the instance are replaced on the others', async () => {
    await ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'drain',
        taskDefinition: definition,
        desiredCount: 2,
        placementStrategy: [{ type: 'binpack', field: 'memory' }],
      }),
    );
    const service = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['drain'] }),
    );
    assert.deepEqual(service.services![0]!.placementStrategy, [
      { type: 'binpack', field: 'memory' },
    ]);
    const serviceTasks = async () => {
      const list = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'drain' }));
      if (!list.taskArns?.length) return [];
      return (
        (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: list.taskArns })))
          .tasks ?? []
      );
    };
    // binpack on memory: both on small.
    const first = await until('two running service tasks', async () => {
      const ts = await serviceTasks();
      return ts.length === 2 && ts.every((t) => t.lastStatus === 'RUNNING') ? ts : undefined;
    });
    assert.deepEqual(placements(first), ['small', 'small']);
    const drained = await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: CLUSTER,
        containerInstances: [arns.get('small')!],
        status: 'DRAINING',
      }),
    );
    assert.equal(drained.containerInstances![0]!.status, 'DRAINING');
    const moved = await until('the tasks to move off the draining instance', async () => {
      const ts = (await serviceTasks()).filter((t) => t.desiredStatus === 'RUNNING');
      return ts.length === 2 &&
        ts.every((t) => t.lastStatus === 'RUNNING' && nameOfArn(t.containerInstanceArn) !== 'small')
        ? ts
        : undefined;
    });
    assert.deepEqual(placements(moved), ['medium', 'medium']);
    const small = await until('the draining instance to be empty', async () => {
      const ci = (await describeInstances()).get('small')!;
      return ci.runningTasksCount === 0 && ci.pendingTasksCount === 0 ? ci : undefined;
    });
    assert.equal(small.status, 'DRAINING');
    // A draining instance takes no new task.
    const out = await run({
      placementConstraints: [{ type: 'memberOf', expression: 'attribute:stack == prod' }],
    });
    assert.deepEqual(out.tasks, []);
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'drain', force: true }));
    await until('the service tasks to stop', async () =>
      (await serviceTasks()).every((t) => t.lastStatus === 'STOPPED') ? true : undefined,
    );
    await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: CLUSTER,
        containerInstances: [arns.get('small')!],
        status: 'ACTIVE',
      }),
    );
  });

  test('a protected service task is not scaled in until its protection is removed', async () => {
    await ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'guarded',
        taskDefinition: definition,
        desiredCount: 2,
        placementStrategy: [{ type: 'spread', field: 'instanceId' }],
      }),
    );
    const serviceTasks = async () => {
      const list = await ecs.send(
        new ListTasksCommand({
          cluster: CLUSTER,
          serviceName: 'guarded',
          desiredStatus: 'RUNNING',
        }),
      );
      if (!list.taskArns?.length) return [];
      return (
        (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: list.taskArns })))
          .tasks ?? []
      );
    };
    const [guarded, other] = await until('two running service tasks', async () => {
      const ts = await serviceTasks();
      return ts.length === 2 && ts.every((t) => t.lastStatus === 'RUNNING') ? ts : undefined;
    });
    assert.notEqual(guarded!.containerInstanceArn, other!.containerInstanceArn);
    const before = Date.now();
    const protectedOut = await ecs.send(
      new UpdateTaskProtectionCommand({
        cluster: CLUSTER,
        tasks: [guarded!.taskArn!],
        protectionEnabled: true,
        expiresInMinutes: 60,
      }),
    );
    assert.equal(protectedOut.protectedTasks![0]!.protectionEnabled, true);
    assert.ok(protectedOut.protectedTasks![0]!.expirationDate!.getTime() > before + 50 * 60_000);
    // Standalone tasks cannot be protected.
    const standalone = await run({});
    const refused = await ecs.send(
      new UpdateTaskProtectionCommand({
        cluster: CLUSTER,
        tasks: [standalone.tasks![0]!.taskArn!],
        protectionEnabled: true,
      }),
    );
    assert.equal(refused.failures![0]!.reason, 'TASK_NOT_VALID');

    await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'guarded', desiredCount: 0 }),
    );
    await until('the unprotected task to stop', async () => {
      const t = (
        await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [other!.taskArn!] }))
      ).tasks![0]!;
      return t.lastStatus === 'STOPPED' ? t : undefined;
    });
    const still = (
      await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [guarded!.taskArn!] }))
    ).tasks![0]!;
    assert.equal(still.desiredStatus, 'RUNNING');
    const got = await ecs.send(
      new GetTaskProtectionCommand({ cluster: CLUSTER, tasks: [guarded!.taskArn!] }),
    );
    assert.equal(got.protectedTasks![0]!.protectionEnabled, true);

    await ecs.send(
      new UpdateTaskProtectionCommand({
        cluster: CLUSTER,
        tasks: [guarded!.taskArn!],
        protectionEnabled: false,
      }),
    );
    await until('the formerly protected task to stop', async () => {
      const t = (
        await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [guarded!.taskArn!] }))
      ).tasks![0]!;
      return t.lastStatus === 'STOPPED' ? t : undefined;
    });
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'guarded' }));
  });

  test('a service rolled twice lists both deployments and their revisions', async () => {
    await ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'rolled',
        taskDefinition: definition,
        desiredCount: 1,
      }),
    );
    const completedDeployments = async (n: number) =>
      until(`${n} completed deployment(s)`, async () => {
        const out = await ecs.send(
          new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'rolled' }),
        );
        const all = out.serviceDeployments ?? [];
        return all.length === n && all.every((d) => d.status === 'SUCCESSFUL') ? all : undefined;
      });
    const [first] = await completedDeployments(1);
    await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'rolled', forceNewDeployment: true }),
    );
    const [second, older] = await completedDeployments(2);
    assert.equal(older!.serviceDeploymentArn, first!.serviceDeploymentArn);
    assert.match(second!.serviceDeploymentArn!, /:service-deployment\/placement\/rolled\/\d+$/);
    assert.ok(second!.finishedAt);
    const described = await ecs.send(
      new DescribeServiceDeploymentsCommand({
        serviceDeploymentArns: [second!.serviceDeploymentArn!, `${first!.serviceDeploymentArn!}9`],
      }),
    );
    const d = described.serviceDeployments![0]!;
    assert.equal(d.targetServiceRevision!.arn, second!.targetServiceRevisionArn);
    assert.equal(d.targetServiceRevision!.requestedTaskCount, 1);
    assert.deepEqual(
      d.sourceServiceRevisions!.map((r) => r.arn),
      [first!.targetServiceRevisionArn],
    );
    assert.equal(described.failures![0]!.reason, 'MISSING');
    const revisions = await ecs.send(
      new DescribeServiceRevisionsCommand({
        serviceRevisionArns: [second!.targetServiceRevisionArn!],
      }),
    );
    assert.equal(revisions.serviceRevisions![0]!.taskDefinition, definition);
    assert.equal(revisions.serviceRevisions![0]!.launchType, 'EC2');
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'rolled', force: true }));
  });
});

test('registered instances survive a restart of Stratus', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-ecs-instances-'));
  try {
    const opts = { ephemeral: false, stateDir: dir };
    const first = await startTestServer(opts);
    let arn: string;
    try {
      const ecs = new ECSClient(clientConfig(first.endpoint));
      await ecs.send(new CreateClusterCommand({ clusterName: 'keep' }));
      const out = await ecs.send(
        new RegisterContainerInstanceCommand({
          cluster: 'keep',
          totalResources: [
            { name: 'CPU', type: 'INTEGER', integerValue: 1024 },
            { name: 'MEMORY', type: 'INTEGER', integerValue: 768 },
          ],
        }),
      );
      arn = out.containerInstance!.containerInstanceArn!;
      await ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster: 'keep',
          containerInstances: [arn],
          status: 'DRAINING',
        }),
      );
      ecs.destroy();
    } finally {
      await first.stop();
    }
    const second = await startTestServer(opts);
    try {
      const ecs = new ECSClient(clientConfig(second.endpoint));
      const out = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster: 'keep', containerInstances: [arn] }),
      );
      const ci = out.containerInstances![0]!;
      assert.equal(ci.status, 'DRAINING');
      assert.equal(memoryOf(ci, 'registeredResources'), 768);
      const listed = await ecs.send(new ListContainerInstancesCommand({ cluster: 'keep' }));
      assert.deepEqual(listed.containerInstanceArns, [arn]);
      await ecs.send(
        new DeregisterContainerInstanceCommand({ cluster: 'keep', containerInstance: arn }),
      );
      const gone = await ecs.send(new ListContainerInstancesCommand({ cluster: 'keep' }));
      assert.deepEqual(gone.containerInstanceArns, []);
      ecs.destroy();
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
