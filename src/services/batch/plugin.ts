/**
 * AWS Batch: compute environments, job queues, fair-share policies, job definitions and
 * jobs, scheduled onto a share of this machine (scheduler.ts) and run as one-container tasks
 * on the task runner with images from ECR (task-executor.ts), logs in CloudWatch Logs,
 * AWS's `AWS/Batch` metrics in CloudWatch (metrics.ts).
 *
 * Settings (environment): STRATUS_BATCH_VCPUS and STRATUS_BATCH_MEMORY_MIB, the share of
 * this machine every compute environment draws from (default: all its CPUs, and 80% of its
 * memory).
 */
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BatchOperations } from '../../api/batch/operations.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin, type PluginDeps, type ServiceInstance } from '../plugin.js';
import { adminPlane } from './admin-plane.js';
import type { BatchDeps } from './common.js';
import { JobEngine } from './engine.js';
import { batchOperations } from './provider.js';
import { batchEventTarget, jobChangePublisher } from './events.js';
import { jobMetrics } from './metrics.js';
import { TaskExecutor } from './task-executor.js';
import type { Capacity } from './scheduler.js';

const NEEDS = [
  'logs',
  'containers',
  'images',
  'signatures',
  'bus',
  'eventTargets',
  'meter',
  'metrics',
] as const;

export interface BatchServiceInstance extends ServiceInstance {
  engine: JobEngine;
}

/** The share of this machine Batch schedules into. */
export function machineShare(env: NodeJS.ProcessEnv): Capacity {
  const vcpus = Number(env.STRATUS_BATCH_VCPUS);
  const memory = Number(env.STRATUS_BATCH_MEMORY_MIB);
  return {
    milliVcpus: Math.round((vcpus > 0 ? vcpus : availableParallelism()) * 1000),
    memoryMib: memory > 0 ? memory : Math.floor((totalmem() / 1024 / 1024) * 0.8),
  };
}

export function createBatch(
  deps: PluginDeps<(typeof NEEDS)[number]>,
  env: NodeJS.ProcessEnv = process.env,
): BatchServiceInstance {
  const log = createLogger(deps.config.logLevel, deps.config.logFormat);
  const published = jobChangePublisher(deps.links.bus, (m) => log.warn(m));
  const measured = jobMetrics(deps.links.metrics, Date.now);
  const engine = new JobEngine({
    store: deps.store,
    executor: new TaskExecutor(
      deps.links.containers,
      deps.links.images,
      deps.links.logs,
      // Scratch volumes of running jobs (removed as each task stops).
      deps.config.ephemeral
        ? join(tmpdir(), `stratus-batch-${process.pid}`)
        : join(deps.config.stateDir, 'batch-tasks'),
      log,
      deps.links.meter,
    ),
    machine: machineShare(env),
    now: Date.now,
    log,
    onStatusChange: (job, before) => {
      published(job);
      measured(job, before);
    },
  });
  const batchDeps: BatchDeps = { store: deps.store, engine, now: Date.now };
  const operations = batchOperations(batchDeps);
  deps.links.eventTargets.register('batch', batchEventTarget(operations));
  return {
    dispatch: bindProvider<BatchOperations>(operations),
    engine,
    dataPlanes: [
      adminPlane({
        config: deps.config,
        store: deps.store,
        engine,
        signatures: deps.links.signatures,
      }),
    ],
    start: () => engine.start(),
    stop: () => engine.stop(),
    async reset() {
      engine.reset();
    },
  };
}

export const batchPlugin = definePlugin({
  name: 'batch',
  needs: NEEDS,
  model: async () => (await import('../../api/batch/model.js')).model,
  create: (deps) => createBatch(deps),
});
