/**
 * The running side of ELBv2: the snapshot requests route over, the health monitor, the
 * listeners' sockets and the proxy. Every API change calls `changed()`, which re-reads
 * the store and brings all of them up to date before the operation answers (so a
 * listener answers on its port as soon as CreateListener returns).
 */
import type { Logger } from '../../shared/log.js';
import type { MetadataStore } from '../../storage/types.js';
import { httpProbe } from './dataplane/probe.js';
import { type FunctionInvoke, HttpProxy } from './dataplane/proxy.js';
import { ListenerSockets } from './dataplane/sockets.js';
import { HealthMonitor, type Probe } from './health.js';
import { EMPTY_SNAPSHOT, readSnapshot, type Snapshot } from './snapshot.js';

export interface EngineDeps {
  store: MetadataStore;
  /** The host listeners bind on (the server's). */
  host: string;
  log: Logger;
  invoke?: FunctionInvoke;
}

export class ElbEngine {
  private current: Snapshot = EMPTY_SNAPSHOT;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly health: HealthMonitor;
  readonly proxy: HttpProxy;
  readonly sockets: ListenerSockets;

  constructor(private readonly deps: EngineDeps) {
    const probe: Probe = (tg, t) =>
      tg.targetType === 'lambda' ? this.lambdaProbe(t.id) : httpProbe(tg, t);
    this.health = new HealthMonitor(probe);
    const snapshot = () => this.current;
    const warn = (msg: string, fields?: Record<string, unknown>) => deps.log.warn(msg, fields);
    this.proxy = new HttpProxy({ snapshot, health: this.health, invoke: deps.invoke, warn });
    this.sockets = new ListenerSockets({
      host: deps.host,
      proxy: this.proxy,
      health: this.health,
      snapshot,
      info: (msg, fields) => deps.log.info(msg, fields),
    });
  }

  snapshot(): Snapshot {
    return this.current;
  }

  /** Re-reads the store and updates routing, health checks and sockets; serialised. */
  changed(): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.stopped) return;
      const snap = await readSnapshot(this.deps.store);
      this.current = snap;
      this.health.sync(snap);
      await this.sockets.sync(snap);
    });
    this.queue = run.catch((err: unknown) =>
      this.deps.log.error('load balancer data plane update failed', { error: String(err) }),
    );
    return run;
  }

  /** A Lambda target's health check: the function answers the check event with a matching code. */
  private async lambdaProbe(functionArn: string) {
    const invoke = this.deps.invoke;
    if (!invoke) {
      return {
        ok: false as const,
        reason: 'Target.FailedHealthChecks' as const,
        description: 'Lambda is not running',
      };
    }
    const { ok } = await invoke(functionArn, Buffer.from(JSON.stringify({ healthCheck: true })));
    return ok
      ? { ok: true as const }
      : {
          ok: false as const,
          reason: 'Target.FailedHealthChecks' as const,
          description: 'Health checks failed',
        };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
    this.health.stop();
    await this.sockets.close();
    this.proxy.close();
  }

  /** After POST /_stratus/reset: the stores are empty, so is everything derived from them. */
  async reset(): Promise<void> {
    await this.changed();
  }
}
