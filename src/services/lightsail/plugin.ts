/**
 * Amazon Lightsail (json 1.1, `Lightsail_20161128`): instances from blueprints as
 * long-lived system containers with their own address, sshd and the bundle's limits
 * (machines.ts), key pairs, public ports, static IPs, snapshots, disks, metrics and alarms.
 * Instances need the runc driver (an address of their own on Stratus's bridge) or the
 * Docker driver (ports published on 127.0.0.1); with the process driver CreateInstances
 * says so.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin, type PluginDeps, type ServiceInstance } from '../plugin.js';
import { BlueprintImages } from './blueprint-images.js';
import type { LightsailDeps } from './common.js';
import { InstanceFleet } from './fleet.js';
import { Machines } from './machines.js';
import { Monitor } from './monitor.js';
import { lightsailOperations } from './provider.js';
import { meteredUsage } from './usage.js';

const NEEDS = ['containers', 'images', 'meter'] as const;

export interface LightsailServiceInstance extends ServiceInstance {
  fleet: InstanceFleet;
  monitor: Monitor;
}

/** Seconds between metric samples (and alarm evaluations); AWS's period is 300. */
function metricSeconds(): number {
  const n = Number(process.env.STRATUS_LIGHTSAIL_METRIC_SECONDS);
  return Number.isFinite(n) && n > 0 ? n : 60;
}

export async function createLightsail(
  deps: PluginDeps<(typeof NEEDS)[number]>,
): Promise<LightsailServiceInstance> {
  const log = createLogger(deps.config.logLevel, deps.config.logFormat);
  const warn = (m: string) => log.warn(m);
  // Made on first use (an ephemeral server that runs no instance leaves nothing behind).
  const dir = deps.config.ephemeral
    ? join(tmpdir(), `stratus-lightsail-${randomBytes(6).toString('hex')}`)
    : join(deps.config.stateDir, 'lightsail');
  let endpoint = '';
  const images = new BlueprintImages({
    images: deps.links.images,
    config: deps.config,
    endpoint: () => endpoint,
    info: (m) => log.info(m),
  });
  const crashed = { handler: (_id: string, _reason: string): void => undefined };
  const machines = new Machines(
    { driver: deps.links.containers, images, blobs: deps.blobs, dir, log: warn },
    (id, reason) => crashed.handler(id, reason),
  );
  const fleet = new InstanceFleet(deps.store, machines, meteredUsage(deps.links.meter), warn);
  crashed.handler = (id, reason) => fleet.crashed(id, reason);
  const monitor = new Monitor(deps.store, machines, metricSeconds() * 1000);
  const lightsailDeps: LightsailDeps = { store: deps.store, fleet, monitor, now: Date.now };
  return {
    dispatch: bindProvider<LightsailOperations>(lightsailOperations(lightsailDeps, warn)),
    fleet,
    monitor,
    /** Instances that were running before a restart (clean or kill -9) boot again. */
    async start(server) {
      endpoint = server.endpoint;
      if (!machines.unavailable()) {
        const n = await fleet.recover();
        if (n) log.info(`lightsail: ${n} instance(s) of a previous run booting again`);
      }
      monitor.start();
    },
    async stop() {
      await monitor.stop();
      await fleet.idle();
      await machines.close();
      if (deps.config.ephemeral) {
        await fleet.releaseAll();
        await rm(dir, { recursive: true, force: true });
      }
    },
    async reset() {
      images.clear();
    },
  };
}

export const lightsailPlugin = definePlugin({
  name: 'lightsail',
  needs: NEEDS,
  model: async () => (await import('../../api/lightsail/model.js')).model,
  create: (deps) => createLightsail(deps),
});
