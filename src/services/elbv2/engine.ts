/**
 * The running side of ELBv2: the snapshot requests route over, the health monitor, the
 * listeners' sockets and the proxy. Every API change calls `changed()`, which re-reads
 * the store and brings all of them up to date before the operation answers (so a
 * listener answers on its port as soon as CreateListener returns).
 */
import type { Logger } from '../../shared/log.js';
import type { MetadataStore } from '../../storage/types.js';
import type { CertificateSource } from './certificates.js';
import { albAnswer, albEvent } from './dataplane/lambda-event.js';
import { httpProbe, matches } from './dataplane/probe.js';
import { type FunctionInvoke, HttpProxy } from './dataplane/proxy.js';
import { ListenerSockets } from './dataplane/sockets.js';
import { HealthMonitor, type Probe, type ProbeResult } from './health.js';
import { EMPTY_SNAPSHOT, readSnapshot, type Snapshot } from './snapshot.js';
import type { TargetGroupRecord } from './store.js';

export interface EngineDeps {
  store: MetadataStore;
  /** The host listeners bind on (the server's). */
  host: string;
  log: Logger;
  invoke?: FunctionInvoke;
  /** HTTPS listeners' certificates (IAM's server certificates). */
  certificates: CertificateSource;
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
      tg.targetType === 'lambda' ? this.lambdaProbe(tg, t.id) : httpProbe(tg, t);
    this.health = new HealthMonitor(probe);
    const snapshot = () => this.current;
    const warn = (msg: string, fields?: Record<string, unknown>) => deps.log.warn(msg, fields);
    this.proxy = new HttpProxy({ snapshot, health: this.health, invoke: deps.invoke, warn });
    this.sockets = new ListenerSockets({
      host: deps.host,
      proxy: this.proxy,
      health: this.health,
      snapshot,
      certificates: deps.certificates,
      info: (msg, fields) => deps.log.info(msg, fields),
      warn,
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
      this.sockets.retain(this.proxy.sync(snap));
      await this.sockets.sync(snap);
    });
    this.queue = run.catch((err: unknown) =>
      this.deps.log.error('load balancer data plane update failed', { error: String(err) }),
    );
    return run;
  }

  /**
   * A Lambda target's health check: the function gets a GET of the check path as an ALB
   * event (User-Agent ELB-HealthChecker/2.0) and must answer one of the matcher's codes.
   */
  private async lambdaProbe(tg: TargetGroupRecord, functionArn: string): Promise<ProbeResult> {
    const invoke = this.deps.invoke;
    if (!invoke)
      return { ok: false, reason: 'Elb.InternalError', description: 'Lambda is not running' };
    const event = albEvent({
      method: 'GET',
      path: tg.healthCheck.path ?? '/',
      rawQuery: '',
      rawHeaders: ['user-agent', 'ELB-HealthChecker/2.0'],
      body: Buffer.alloc(0),
      targetGroupArn: tg.arn,
      multiValue: tg.attributes['lambda.multi_value_headers.enabled'] === 'true',
    });
    const outcome = await invoke(functionArn, Buffer.from(JSON.stringify(event)));
    const answer = outcome.ok ? albAnswer(outcome.payload) : undefined;
    if (!answer) {
      return {
        ok: false,
        reason: 'Target.FailedHealthChecks',
        description: 'Health checks failed',
      };
    }
    return matches(tg.healthCheck.matcher ?? '200', answer.status)
      ? { ok: true }
      : {
          ok: false,
          reason: 'Target.ResponseCodeMismatch',
          description: `Health checks failed with these codes: [${answer.status}]`,
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
