/**
 * The ECS benchmark (issue 10, "Speed"), side by side in one run:
 * 1. RunTask to RUNNING of a one-container task (busybox image from ECR, already in the
 *    layer cache; network mode none; `sleep`), polled with DescribeTasks every 2 ms,
 *    against raw `runc run` of a busybox bundle until its pid file appears (when runc's
 *    container process runs, which is what the driver waits for), alternating.
 *    Target: ≤ 1.5×.
 * 2. 100 tasks started at once (10 RunTask calls of count 10, concurrently): time until all
 *    are RUNNING, and the server's RSS (in this process) before and at that point.
 *
 *   npm run bench:ecs [-- --runs 20 --tasks 100]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { RuncDriver } from '../src/runtime/runc/driver.js';
import { busyboxRootfs, runcSkipReason } from '../src/runtime/runc/test-support.js';
import { pushBusybox } from '../test/helpers/busybox-ecr.js';
import { clientConfig, startTestServer } from '../test/helpers/server.js';
import { makeTempDir, removeTempDir } from './children.js';

const TARGET_RATIO = 1.5;
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, tasks: { type: 'string', default: '100' } },
});
const runs = Number(values.runs);
const taskCount = Number(values.tasks);

const say = (m: string) => process.stderr.write(`[ecs-bench] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

/** Raw `runc run` of a bundle: ms until the pid file appears; then the container is killed. */
async function rawRuncToRunning(driver: RuncDriver, bundle: string, id: string): Promise<number> {
  const pidFile = join(bundle, `pid-${id}`);
  const [bin, ...root] = driver.runcArgv;
  const t0 = performance.now();
  const child = spawn(bin!, [...root, 'run', '--bundle', bundle, '--pid-file', pidFile, id], {
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline) throw new Error(`raw runc run of ${bundle} did not start`);
    await sleep(1);
  }
  const ms = performance.now() - t0;
  await driver.runc(['kill', id, 'KILL']).catch(() => undefined);
  await exited;
  await driver.runc(['delete', '--force', id]).catch(() => undefined);
  return ms;
}

async function main(): Promise<void> {
  const skip = runcSkipReason();
  if (skip) {
    say(`skipped: ${skip}`);
    return;
  }
  const work = makeTempDir('stratus-ecs-bench-');
  const server = await startTestServer({ driver: 'runc', logLevel: 'error' });
  const ecs = new ECSClient(clientConfig(server.endpoint));
  try {
    const image = await pushBusybox(server.endpoint, 'bench/busybox');
    await ecs.send(new CreateClusterCommand({}));
    const td = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'bench',
        networkMode: 'none',
        containerDefinitions: [
          {
            name: 'app',
            image: image.reference,
            memory: 64,
            command: ['exec sleep 600'],
            stopTimeout: 1,
          },
        ],
      }),
    );
    const arn = td.taskDefinition!.taskDefinitionArn!;
    const describe = async (arns: string[]) =>
      (await ecs.send(new DescribeTasksCommand({ tasks: arns }))).tasks ?? [];
    const runOne = async (): Promise<number> => {
      const t0 = performance.now();
      const out = await ecs.send(new RunTaskCommand({ taskDefinition: arn }));
      const taskArn = out.tasks![0]!.taskArn!;
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`task ${taskArn} did not reach RUNNING`);
        const [t] = await describe([taskArn]);
        if (t?.lastStatus === 'RUNNING') break;
        if (t?.lastStatus === 'STOPPED') throw new Error(`task stopped: ${t.stoppedReason}`);
        await sleep(2);
      }
      const ms = performance.now() - t0;
      if (process.env.ECS_BENCH_DEBUG) {
        const [t] = await describe([taskArn]);
        const at = (d: Date | undefined) => (d ? d.getTime() - t!.createdAt!.getTime() : -1);
        say(
          `created→pullStarted ${at(t!.pullStartedAt)} pullStopped ${at(t!.pullStoppedAt)} connectivity ${at(t!.connectivityAt)} started ${at(t!.startedAt)}`,
        );
      }
      await ecs.send(new StopTaskCommand({ task: taskArn }));
      for (let i = 0; ; i++) {
        const [t] = await describe([taskArn]);
        if (t?.lastStatus === 'STOPPED') break;
        if (process.env.ECS_BENCH_DEBUG && i % 100 === 99) say(`still ${t?.lastStatus}`);
        await sleep(20);
      }
      return ms;
    };

    const driver = new RuncDriver({ stateDir: join(work, 'runc') });
    const held = await driver.create(
      {
        name: 'bench-raw',
        root: { kind: 'rootfs', path: busyboxRootfs(join(work, 'busybox')) },
        command: ['/bin/sleep', '600'],
        env: {},
        network: { mode: 'none' },
        resources: { memoryMb: 64 },
        labels: {},
      },
      { onStdout: () => {}, onStderr: () => {} },
    );
    const bundle = join(driver.stateDir, held.id);

    say('warming up (first task unpacks the image into the layer cache)');
    for (let i = 0; i < 2; i++) {
      say(`RunTask ${await runOne()} ms`);
      say(`raw ${await rawRuncToRunning(driver, bundle, `${held.id}-warm${i}`)} ms`);
    }
    const viaEcs: number[] = [];
    const viaRunc: number[] = [];
    for (let i = 0; i < runs; i++) {
      viaEcs.push(await runOne());
      viaRunc.push(await rawRuncToRunning(driver, bundle, `${held.id}-r${i}`));
    }
    await held.remove();
    const ratio = p50(viaEcs) / p50(viaRunc);
    console.log(`\nTo RUNNING, one container, cached image (${runs} runs each, alternating; ms)`);
    console.log('                          p50    mean');
    console.log(
      `RunTask → RUNNING     ${p50(viaEcs).toFixed(1).padStart(7)} ${mean(viaEcs).toFixed(1).padStart(7)}`,
    );
    console.log(
      `raw runc run → pid    ${p50(viaRunc).toFixed(1).padStart(7)} ${mean(viaRunc).toFixed(1).padStart(7)}`,
    );
    console.log(
      `ratio (p50)           ${ratio.toFixed(2)}×  target ≤ ${TARGET_RATIO}×  ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}`,
    );

    // Many at once.
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const batches = await Promise.all(
      Array.from({ length: Math.ceil(taskCount / 10) }, () =>
        ecs.send(new RunTaskCommand({ taskDefinition: arn, count: 10 })),
      ),
    );
    const arns = batches.flatMap((b) => b.tasks!.map((t) => t.taskArn!)).slice(0, taskCount);
    let rssPeak = process.memoryUsage().rss;
    for (;;) {
      let running = 0;
      for (let i = 0; i < arns.length; i += 100)
        running += (await describe(arns.slice(i, i + 100))).filter(
          (t) => t.lastStatus === 'RUNNING',
        ).length;
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (running === arns.length) break;
      await sleep(50);
    }
    const allMs = performance.now() - t0;
    console.log(`\n${arns.length} tasks started at once (10 RunTask calls of 10, concurrently)`);
    console.log(`all RUNNING after     ${(allMs / 1000).toFixed(2)} s`);
    console.log(
      `server RSS            ${mb(rssBefore)} before, ${mb(rssPeak)} peak (in-process server and client)`,
    );
    await Promise.all(arns.map((a) => ecs.send(new StopTaskCommand({ task: a }))));
    for (;;) {
      const stopped = (await describe(arns.slice(0, 100))).every((t) => t.lastStatus === 'STOPPED');
      if (stopped) break;
      await sleep(200);
    }
  } finally {
    ecs.destroy();
    await server.stop();
    removeTempDir(work);
  }
}

await main();
