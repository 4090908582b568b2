/**
 * Amazon ECS and Fargate (json 1.1, `AmazonEC2ContainerServiceV20141113`): clusters, task
 * definitions, tasks that run as real containers (the task runner, src/runtime/tasks/, on
 * the server's container driver, images from ECR, awslogs into CloudWatch Logs), and
 * services kept at their desired count and rolled by deployments, behind ALB target
 * groups through the `loadBalancing` link.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EcsOperations } from '../../api/ecs/operations.js';
import { TaskRunner } from '../../runtime/tasks/runner.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin, type PluginDeps, type ServiceInstance } from '../plugin.js';
import { ecsOperations } from './provider.js';
import { ServiceScheduler } from './scheduler.js';
import { EcsTasks } from './task-manager.js';
import { ecsEventTarget, publishTaskChanges } from './events.js';

const NEEDS = [
  'containers',
  'images',
  'logs',
  'loadBalancing',
  'bus',
  'eventTargets',
  'meter',
] as const;

export interface EcsServiceInstance extends ServiceInstance {
  tasks: EcsTasks;
  scheduler: ServiceScheduler;
}

export async function createEcs(
  deps: PluginDeps<(typeof NEEDS)[number]>,
): Promise<EcsServiceInstance> {
  const log = createLogger(deps.config.logLevel, deps.config.logFormat);
  const driver = deps.links.containers;
  const workDir = deps.config.ephemeral
    ? await mkdtemp(join(tmpdir(), 'stratus-ecs-'))
    : join(deps.config.stateDir, 'ecs-tasks');
  const runner = driver.capabilities.images
    ? new TaskRunner({
        containers: driver,
        images: deps.links.images,
        logs: deps.links.logs,
        workDir,
        log: (m) => log.warn(m),
      })
    : undefined;
  const now = Date.now;
  const tasks = new EcsTasks({
    store: deps.store,
    runner,
    noRunnerReason: `the ${driver.name} container driver cannot run images (start Stratus with --driver runc or docker)`,
    now,
    log: (m) => log.warn(m),
    meter: deps.links.meter,
  });
  const scheduler = new ServiceScheduler({
    store: deps.store,
    tasks,
    loadBalancing: deps.links.loadBalancing,
    now,
    log: (m) => log.warn(m),
  });
  const operations = ecsOperations({
    store: deps.store,
    tasks,
    scheduler,
    now,
    loadBalancing: deps.links.loadBalancing,
  });
  publishTaskChanges(tasks, deps.links.bus, (m) => log.warn(m));
  deps.links.eventTargets.register('ecs', ecsEventTarget(operations));
  return {
    dispatch: bindProvider<EcsOperations>(operations),
    tasks,
    scheduler,
    /** Tasks the last run left are STOPPED (their containers were reaped); services replace them. */
    async start() {
      const n = await tasks.recover();
      if (n) log.info(`ecs: ${n} task(s) of a previous run written down as stopped`);
      scheduler.start();
    },
    async stop() {
      scheduler.stop();
      tasks.close();
      await runner?.flush();
      if (deps.config.ephemeral) await rm(workDir, { recursive: true, force: true });
    },
  };
}

export const ecsPlugin = definePlugin({
  name: 'ecs',
  needs: NEEDS,
  model: async () => (await import('../../api/ecs/model.js')).model,
  create: (deps) => createEcs(deps),
});
