/**
 * kill -9 of Stratus while an ECS service runs (runc driver, state on disk): the next
 * start reaps the old containers, writes their tasks down as STOPPED and the service is
 * back at its desired count with new tasks, no orphaned container left. Stratus runs as a
 * separate process (bin/stratus.js); clients are @aws-sdk/client-ecs. Skipped where runc
 * or the image tools are missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { RESTART_REASON } from '../src/services/ecs/task-manager.js';
import { pushBusybox } from './helpers/busybox-ecr.js';
import { imageToolsMissing } from './helpers/oci-image.js';
import { spawnServer } from './helpers/process.js';
import { clientConfig } from './helpers/server.js';

const skip = runcSkipReason() ?? imageToolsMissing();

async function runningTasks(ecs: ECSClient, n: number): Promise<Task[]> {
  for (;;) {
    const arns = (await ecs.send(new ListTasksCommand({ serviceName: 'web' }))).taskArns ?? [];
    const tasks = arns.length
      ? ((await ecs.send(new DescribeTasksCommand({ tasks: arns }))).tasks ?? [])
      : [];
    const running = tasks.filter((t) => t.lastStatus === 'RUNNING');
    const service = (await ecs.send(new DescribeServicesCommand({ services: ['web'] })))
      .services![0]!;
    if (running.length === n && service.runningCount === n) return running;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(
  'kill -9 of Stratus while a service runs: after restart it is back at its desired count, no orphans',
  { skip: skip ?? false },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'stratus-ecs-restart-'));
    const state = join(work, 'state');
    const runcRoot = join(state, 'containers', 'runc-driver', 'runc');
    const runcIds = () =>
      (
        (JSON.parse(
          execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], {
            encoding: 'utf8',
          }) || 'null',
        ) as { id: string; status: string }[] | null) ?? []
      )
        .filter((c) => c.status !== 'stopped')
        .map((c) => c.id)
        .sort();
    const args = ['--state-dir', state, '--driver', 'runc'];
    try {
      const first = await spawnServer(args);
      let before: Task[];
      try {
        const ecs = new ECSClient(clientConfig(first.endpoint));
        const image = await pushBusybox(first.endpoint, 'ecs/restart');
        await ecs.send(new CreateClusterCommand({}));
        const td = await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: 'web',
            requiresCompatibilities: ['FARGATE'],
            networkMode: 'awsvpc',
            cpu: '256',
            memory: '512',
            containerDefinitions: [{ name: 'app', image: image.reference, command: ['sleep 600'] }],
          }),
        );
        await ecs.send(
          new CreateServiceCommand({
            serviceName: 'web',
            taskDefinition: td.taskDefinition!.taskDefinitionArn,
            desiredCount: 2,
            launchType: 'FARGATE',
            networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-12345678'] } },
          }),
        );
        before = await runningTasks(ecs, 2);
        ecs.destroy();
      } finally {
        first.child.kill('SIGKILL');
        await first.exited;
      }
      const oldIds = before.map((t) => t.containers![0]!.runtimeId!).sort();
      assert.deepEqual(runcIds(), oldIds, 'the killed server left its containers running');

      const second = await spawnServer(args);
      try {
        const ecs = new ECSClient(clientConfig(second.endpoint));
        const after = await runningTasks(ecs, 2);
        const afterArns = after.map((t) => t.taskArn);
        for (const t of before)
          assert.ok(!afterArns.includes(t.taskArn), 'new tasks replaced the old');
        const old = (
          await ecs.send(new DescribeTasksCommand({ tasks: before.map((t) => t.taskArn!) }))
        ).tasks!;
        for (const t of old) {
          assert.equal(t.lastStatus, 'STOPPED');
          assert.equal(t.stoppedReason, RESTART_REASON);
        }
        const newIds = after.map((t) => t.containers![0]!.runtimeId!).sort();
        assert.deepEqual(runcIds(), newIds, 'only the new tasks run: no orphan');
        for (const id of oldIds)
          assert.ok(!existsSync(join(state, 'containers', 'runc-driver', id)), `${id} removed`);
        ecs.destroy();
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      assert.deepEqual(runcIds(), [], 'a clean stop leaves nothing running');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
