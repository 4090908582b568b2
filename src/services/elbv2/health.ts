/**
 * Target health: active checks at each group's interval, AWS's states and reason codes,
 * and draining on deregistration.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
 *
 * "After your target is registered, it must pass one health check to be considered
 * healthy." A healthy target turns unhealthy after UnhealthyThresholdCount consecutive
 * failures, and back after HealthyThresholdCount consecutive successes. Groups no load
 * balancer uses are not checked (`unused`, `Target.NotInUse`). A deregistered target
 * drains: no new requests, and "if a deregistering target has no in-flight requests and
 * no active connections, Elastic Load Balancing immediately completes the deregistration
 * process, without waiting for the deregistration delay to elapse."
 */
import type { TargetHealthReasonEnum, TargetHealthStateEnum } from '../../api/elbv2/types.js';
import type { Snapshot } from './snapshot.js';
import {
  type HealthCheckSettings,
  targetKey,
  type TargetGroupRecord,
  type TargetRecord,
} from './store.js';

export interface HealthView {
  state: TargetHealthStateEnum;
  reason?: TargetHealthReasonEnum;
  description?: string;
}

export type ProbeResult =
  { ok: true } | { ok: false; reason: TargetHealthReasonEnum; description: string };

/** Runs one health check against one target (HTTP, TCP or a Lambda invoke). */
export type Probe = (tg: TargetGroupRecord, target: TargetRecord) => Promise<ProbeResult>;

const REGISTERING: HealthView = {
  state: 'initial',
  reason: 'Elb.RegistrationInProgress',
  description: 'Target registration is in progress',
};
const CHECKING: HealthView = {
  state: 'initial',
  reason: 'Elb.InitialHealthChecking',
  description: 'Initial health checks in progress',
};
const NOT_IN_USE: HealthView = {
  state: 'unused',
  reason: 'Target.NotInUse',
  description: 'Target group is not configured to receive traffic from the load balancer',
};
const DISABLED: HealthView = {
  state: 'unavailable',
  reason: 'Target.HealthCheckDisabled',
  description: 'Health checks are disabled',
};
const DRAINING: HealthView = {
  state: 'draining',
  reason: 'Target.DeregistrationInProgress',
  description: 'Target deregistration is in progress',
};
export const NOT_REGISTERED: HealthView = {
  state: 'unused',
  reason: 'Target.NotRegistered',
  description: 'Target is not registered to the target group',
};
const HEALTHY: HealthView = { state: 'healthy' };

/** Counts changes of any target's state, so routing can cache who is routable. */
interface Version {
  n: number;
}

class Tracked {
  private current: HealthView = REGISTERING;
  inFlight = 0;
  private successes = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private signature = '';
  private stopped = false;
  /** Bumped whenever checking restarts, so a check that started before is ignored. */
  private generation = 0;
  /** Set while draining: called when the last in-flight request ends. */
  onIdle: (() => void) | undefined;

  constructor(
    readonly target: TargetRecord,
    private tg: TargetGroupRecord,
    private readonly probe: Probe,
    private readonly version: Version,
  ) {}

  get view(): HealthView {
    return this.current;
  }

  set view(v: HealthView) {
    if (v === this.current) return;
    this.current = v;
    this.version.n++;
  }

  /** Applies the group's current settings; restarts checking when they changed. */
  configure(tg: TargetGroupRecord, inUse: boolean): void {
    this.tg = tg;
    const signature = JSON.stringify([inUse, tg.healthCheck, tg.port]);
    if (signature === this.signature) return;
    const wasChecking = this.timer !== undefined || this.signature.startsWith('[true');
    this.signature = signature;
    this.generation++;
    this.clear();
    if (!inUse) {
      this.view = NOT_IN_USE;
      return;
    }
    if (!tg.healthCheck.enabled) {
      this.view = DISABLED;
      return;
    }
    if (!wasChecking || this.view.state === 'unused' || this.view.state === 'unavailable') {
      this.view = REGISTERING;
      this.successes = this.failures = 0;
    }
    this.schedule(0, tg.healthCheck, this.generation);
  }

  private schedule(delayMs: number, hc: HealthCheckSettings, generation: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(hc, generation), delayMs);
    this.timer.unref();
  }

  private async check(hc: HealthCheckSettings, generation: number): Promise<void> {
    const started = Date.now();
    if (this.view === REGISTERING) this.view = CHECKING;
    const result = await this.probe(this.tg, this.target).catch((err: unknown): ProbeResult => ({
      ok: false,
      reason: 'Elb.InternalError',
      description: err instanceof Error ? err.message : String(err),
    }));
    // Settings changed or the target went while the check ran: its result is stale.
    if (this.stopped || generation !== this.generation) return;
    this.record(result, hc);
    this.schedule(Math.max(0, hc.intervalSeconds * 1000 - (Date.now() - started)), hc, generation);
  }

  private record(result: ProbeResult, hc: HealthCheckSettings): void {
    if (this.view.state === 'draining') return;
    if (result.ok) {
      this.failures = 0;
      this.successes++;
      if (this.view.state === 'initial' || this.successes >= hc.healthyThreshold)
        this.view = HEALTHY;
      return;
    }
    this.successes = 0;
    this.failures++;
    const failed: HealthView = {
      state: 'unhealthy',
      reason: result.reason,
      description: result.description,
    };
    if (this.view.state === 'unhealthy' || this.failures >= hc.unhealthyThreshold)
      this.view = failed;
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  /** Whether the data plane may send it new requests: healthy, or not checked. */
  get routable(): boolean {
    return this.view.state === 'healthy' || this.view.state === 'unavailable';
  }
}

interface Draining {
  tracked: Tracked;
  timer: NodeJS.Timeout;
  done: Promise<void>;
  finish: () => void;
}

export class HealthMonitor {
  private readonly tracked = new Map<string, Tracked>();
  private readonly draining = new Map<string, Draining>();
  private readonly version: Version = { n: 0 };
  /** Per group: the routable targets, for the snapshot's list and the state version. */
  private readonly routing = new Map<
    string,
    { of: readonly TargetRecord[]; version: number; targets: TargetRecord[] }
  >();
  /**
   * The routable targets' trackers by record, filled by `routable` and dropped at each
   * sync (trackers are replaced then): a request finds its target's without building and
   * hashing its key.
   */
  private byRecord = new WeakMap<TargetRecord, Tracked>();

  constructor(private readonly probe: Probe) {}

  /** Starts tracking newly registered targets and applies changed settings; drops the rest. */
  sync(snap: Snapshot): void {
    this.version.n++;
    this.routing.clear();
    this.byRecord = new WeakMap();
    const seen = new Set<string>();
    for (const [tgArn, list] of snap.targets) {
      const tg = snap.targetGroups.get(tgArn);
      if (!tg) continue;
      const inUse = snap.usage.has(tgArn);
      for (const target of list) {
        const key = targetKey(tgArn, target.id, target.port);
        seen.add(key);
        let t = this.tracked.get(key);
        if (!t) {
          // Registering a draining target again cancels its deregistration.
          this.finishDraining(key);
          t = new Tracked(target, tg, this.probe, this.version);
          this.tracked.set(key, t);
        }
        t.configure(tg, inUse);
      }
    }
    for (const [key, t] of this.tracked) {
      if (seen.has(key)) continue;
      this.tracked.delete(key);
      t.stop();
      const tg = snap.targetGroups.get(t.target.targetGroupArn);
      const delay = Number(tg?.attributes['deregistration_delay.timeout_seconds'] ?? 0);
      // Targets of a group no load balancer uses (or that is gone) leave at once.
      if (!tg || !snap.usage.has(tg.arn) || !(delay > 0) || t.inFlight === 0) continue;
      t.view = DRAINING;
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const timer = setTimeout(() => this.finishDraining(key), delay * 1000);
      timer.unref();
      t.onIdle = () => this.finishDraining(key);
      this.draining.set(key, { tracked: t, timer, done, finish });
    }
  }

  /** Resolves once none of these targets is draining any more. */
  settled(tgArn: string, targets: readonly { id: string; port: number }[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const target of targets) {
      const d = this.draining.get(targetKey(tgArn, target.id, target.port));
      if (d) waits.push(d.done);
    }
    return Promise.all(waits).then(() => undefined);
  }

  private finishDraining(key: string): void {
    const d = this.draining.get(key);
    if (!d) return;
    clearTimeout(d.timer);
    this.draining.delete(key);
    d.tracked.onIdle = undefined;
    d.finish();
  }

  /** A target's health as DescribeTargetHealth reports it; undefined when not known. */
  view(tgArn: string, target: { id: string; port: number }): HealthView | undefined {
    const key = targetKey(tgArn, target.id, target.port);
    return (this.tracked.get(key) ?? this.draining.get(key)?.tracked)?.view;
  }

  /** Targets still draining for a group (DescribeTargetHealth lists them). */
  drainingOf(tgArn: string): TargetRecord[] {
    const out: TargetRecord[] = [];
    for (const d of this.draining.values()) {
      if (d.tracked.target.targetGroupArn === tgArn) out.push(d.tracked.target);
    }
    return out;
  }

  /**
   * The targets that may take new requests: the healthy ones (and unchecked ones); when
   * none is, every unhealthy one ("If a target group contains only unhealthy registered
   * targets, the load balancer routes requests to all those targets").
   */
  routable(tgArn: string, targets: readonly TargetRecord[]): TargetRecord[] {
    const cached = this.routing.get(tgArn);
    if (cached && cached.of === targets && cached.version === this.version.n) return cached.targets;
    const healthy: TargetRecord[] = [];
    const unhealthy: TargetRecord[] = [];
    for (const target of targets) {
      const t = this.tracked.get(targetKey(tgArn, target.id, target.port));
      if (!t) continue;
      this.byRecord.set(target, t);
      if (t.routable) healthy.push(target);
      else if (t.view.state === 'unhealthy') unhealthy.push(target);
    }
    const out = healthy.length > 0 ? healthy : unhealthy;
    this.routing.set(tgArn, { of: targets, version: this.version.n, targets: out });
    return out;
  }

  /** Requests in flight to a target. */
  inFlight(tgArn: string, target: TargetRecord): number {
    return this.trackerOf(tgArn, target)?.inFlight ?? 0;
  }

  /** Counts a request in flight to a target; the returned function ends it. */
  begin(tgArn: string, target: TargetRecord): () => void {
    const t = this.trackerOf(tgArn, target);
    if (!t) return () => {};
    t.inFlight++;
    return () => {
      t.inFlight--;
      if (t.inFlight === 0) t.onIdle?.();
    };
  }

  private trackerOf(tgArn: string, target: TargetRecord): Tracked | undefined {
    return this.byRecord.get(target) ?? this.tracked.get(targetKey(tgArn, target.id, target.port));
  }

  stop(): void {
    for (const t of this.tracked.values()) t.stop();
    this.tracked.clear();
    for (const key of [...this.draining.keys()]) this.finishDraining(key);
  }
}
