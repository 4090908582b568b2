/**
 * The task runner (src/runtime/tasks/) on the runc driver with a busybox image pushed to a
 * test server's ECR and resolved through ECR's ImageSource; awslogs output goes through the
 * logs plugin's own LogSink into its store, read back by stream name. What a container
 * sees is checked from inside it (busybox: nc, ulimit), what the host sees through a TCP
 * connection to the published port. Skipped where runc or the image tools are missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LayerCache } from '../src/runtime/images/layer-cache.js';
import { RuncDriver } from '../src/runtime/runc/driver.js';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import {
  ESSENTIAL_EXITED,
  OOM_REASON,
  TaskRunner,
  type RunningTask,
} from '../src/runtime/tasks/runner.js';
import type {
  TaskContainerSpec,
  TaskReport,
  TaskSpec,
  TaskStatus,
} from '../src/runtime/tasks/spec.js';
import { LogsSink } from '../src/services/logs/sink.js';
import { groupKey, listEvents, streamKey } from '../src/services/logs/store.js';
import { openStorage, type Storage } from '../src/storage/index.js';
import { ACCOUNT, REGION, busyboxImage, type BusyboxImage } from './helpers/busybox-ecr.js';
import { imageToolsMissing } from './helpers/oci-image.js';

const skip = runcSkipReason() ?? imageToolsMissing();

describe('task runner on runc', { skip }, () => {
  let busybox: BusyboxImage;
  let work: string;
  let storage: Storage;
  let driver: RuncDriver;
  let runner: TaskRunner;
  const owner = `task-runner-test-${process.pid}`;
  let n = 0;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'task-runner-'));
    busybox = await busyboxImage('tasks/busybox');
    storage = await openStorage({ ephemeral: true, stateDir: work });
    const layers = new LayerCache(join(work, 'layers'));
    driver = new RuncDriver({
      stateDir: join(work, 'runc'),
      owner,
      prepareRootfs: (image, dir) => layers.prepareRootfs(image, dir),
      overlayLayers: (image, dir) => layers.overlayLayers(image, dir),
    });
    runner = new TaskRunner({
      containers: driver,
      images: busybox.source.imageSource,
      logs: new LogsSink(storage.store),
      workDir: join(work, 'tasks'),
    });
  });

  after(async () => {
    await runner?.reap({ owner });
    await storage?.close();
    await busybox?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const container = (c: Partial<TaskContainerSpec> & { name: string }): TaskContainerSpec => ({
    image: busybox.pushed.reference,
    essential: true,
    environment: {},
    stopTimeout: 2,
    ...c,
  });

  /** Runs a task, recording every status it reports. */
  function start(spec: Partial<TaskSpec> & Pick<TaskSpec, 'containers'>) {
    const statuses: TaskStatus[] = [];
    const changes: TaskReport[] = [];
    const task: RunningTask = runner.run(
      {
        taskId: `task${++n}${process.pid}`,
        account: ACCOUNT,
        region: REGION,
        networkMode: 'awsvpc',
        labels: { owner },
        ...spec,
      },
      {
        onChange(report) {
          if (statuses.at(-1) !== report.lastStatus) statuses.push(report.lastStatus);
          changes.push(structuredClone(report));
        },
      },
    );
    const reached = async (status: TaskStatus) => {
      while (!statuses.includes(status) && !statuses.includes('STOPPED'))
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(statuses.includes(status), `never ${status}: ${statuses.join(' → ')}`);
    };
    return { task, statuses, changes, reached };
  }

  async function logLines(group: string, stream: string): Promise<string[]> {
    await runner.flush();
    const key = streamKey(groupKey({ account: ACCOUNT, region: REGION }, group), stream);
    return (await listEvents(storage.store, key, {})).map((e) => e.message);
  }

  test('awsvpc: containers share one address and localhost; awslogs streams; a user stop', async () => {
    const logging = { logGroup: '/ecs/runner', region: REGION, streamPrefix: 'web' };
    const { task, statuses, reached } = start({
      containers: [
        container({
          name: 'server',
          command: ['while true; do echo "pong from $(hostname)" | nc -l -p 8080; done'],
          portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
        }),
        container({
          name: 'client',
          essential: false,
          dependsOn: [{ containerName: 'server', condition: 'START' }],
          command: ['sleep 0.3; nc 127.0.0.1 8080 </dev/null; echo "nofile $(ulimit -n)"'],
          ulimits: [{ name: 'nofile', soft: 1000, hard: 1000 }],
          logging,
        }),
      ],
    });
    await reached('RUNNING');
    const ip = task.report.privateIp;
    assert.match(ip ?? '', /^10\.213\./);
    for (const c of task.report.containers) assert.equal(c.privateIp, ip);
    // The host reaches the task at its address.
    const fromHost = await tcpRead(ip!, 8080);
    assert.match(fromHost, /^pong from /);
    while (task.report.containers[1]!.lastStatus !== 'STOPPED')
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(task.report.containers[1]!.exitCode, 0);
    assert.equal(task.report.lastStatus, 'RUNNING', 'a non-essential exit leaves the task running');
    const stream = `web/client/${task.report.taskId}`;
    const lines = await logLines('/ecs/runner', stream);
    assert.match(lines[0] ?? '', /^pong from /);
    assert.equal(lines[1], 'nofile 1000');

    task.stop('UserInitiated', 'Task stopped by user');
    const final = await task.done;
    assert.deepEqual(statuses, [
      'PROVISIONING',
      'PENDING',
      'RUNNING',
      'STOPPING',
      'DEPROVISIONING',
      'STOPPED',
    ]);
    assert.equal(final.stopCode, 'UserInitiated');
    assert.equal(final.stoppedReason, 'Task stopped by user');
    const t = final.times;
    for (const k of [
      'pullStartedAt',
      'pullStoppedAt',
      'connectivityAt',
      'startedAt',
      'stoppingAt',
      'executionStoppedAt',
      'stoppedAt',
    ] as const)
      assert.ok(t[k], `${k} set`);
    assert.ok(t.pullStartedAt! <= t.startedAt! && t.startedAt! <= t.stoppedAt!);
    assert.equal(final.containers[0]!.lastStatus, 'STOPPED');
    assert.deepEqual(await driver.list({ owner }), [], 'containers removed');
  });

  test('dependsOn HEALTHY: the app starts only after the health check passes', async () => {
    const { task, changes } = start({
      containers: [
        container({
          name: 'db',
          command: ['sleep 1; echo ok > /ready; sleep 60'],
          healthCheck: {
            command: ['CMD-SHELL', '[ -f /ready ]'],
            intervalSeconds: 0.25,
            timeoutSeconds: 2,
            retries: 3,
            startPeriodSeconds: 0,
          },
        }),
        container({
          name: 'app',
          dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }],
          command: ['exit 3'],
        }),
      ],
    });
    const final = await task.done;
    const healthyAt = changes.findIndex((r) => r.containers[0]!.healthStatus === 'HEALTHY');
    const appRunningAt = changes.findIndex((r) => r.containers[1]!.lastStatus !== 'PENDING');
    assert.ok(healthyAt >= 0, 'db became HEALTHY');
    assert.ok(appRunningAt > healthyAt, 'app started after db was HEALTHY');
    assert.equal(final.containers[1]!.exitCode, 3);
    assert.equal(final.stopCode, 'EssentialContainerExited');
    assert.equal(final.stoppedReason, ESSENTIAL_EXITED);
  });

  test('a container over its memory limit stops with the OOM reason', async () => {
    const { task } = start({
      cpu: 256,
      memory: 32,
      containers: [container({ name: 'hog', command: ['a=x; while true; do a="$a$a"; done'] })],
    });
    const final = await task.done;
    assert.equal(final.stopCode, 'EssentialContainerExited');
    assert.equal(final.containers[0]!.reason, OOM_REASON);
    assert.equal(final.containers[0]!.exitCode, 137);
  });

  test('bridge: a dynamic host port reaches the container', async () => {
    const { task, reached } = start({
      networkMode: 'bridge',
      containers: [
        container({
          name: 'web',
          command: ['while true; do echo pong | nc -l -p 80; done'],
          portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }],
        }),
      ],
    });
    await reached('RUNNING');
    const [binding] = task.report.containers[0]!.networkBindings;
    assert.ok(binding && binding.hostPort > 0 && binding.containerPort === 80);
    assert.equal((await tcpRead('127.0.0.1', binding.hostPort)).trim(), 'pong');
    task.stop('UserInitiated', 'Task stopped by user');
    await task.done;
  });

  test('an image that does not resolve: TaskFailedToStart, CannotPullContainerError', async () => {
    const missing = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/tasks/nothing:latest`;
    const { task, statuses } = start({ containers: [container({ name: 'x', image: missing })] });
    const final = await task.done;
    assert.equal(final.stopCode, 'TaskFailedToStart');
    assert.match(final.stoppedReason ?? '', /^CannotPullContainerError: .*tasks\/nothing/);
    assert.deepEqual(statuses, [
      'PROVISIONING',
      'PENDING',
      'STOPPING',
      'DEPROVISIONING',
      'STOPPED',
    ]);
  });
});

/** What a TCP server sends before closing (retried while the listener comes up). */
async function tcpRead(host: string, port: number): Promise<string> {
  // A container's listener comes up in its own time on a loaded machine: a deadline, not
  // a count of tries.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = connect({ host, port });
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (text) resolve(text);
          else reject(new Error('empty'));
        });
        s.on('error', reject);
        s.end();
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
