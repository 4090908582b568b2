/**
 * Instance metrics and alarms. Every `intervalMs` (STRATUS_LIGHTSAIL_METRIC_SECONDS,
 * default 60) each running instance's cgroup and network counters are sampled; a
 * datapoint is the change between two samples: CPUUtilization is CPU time over wall time
 * times the bundle's vCPUs (percent), NetworkIn/Out the bytes through its interface,
 * StatusCheckFailed 0 while its container runs. Samples are kept in memory for a day.
 *
 * Alarms are evaluated like CloudWatch's at every sample: the last `evaluationPeriods`
 * datapoints, ALARM when at least `datapointsToAlarm` breach, missing data treated as the
 * alarm says. Each state change that is one of the alarm's notificationTriggers is
 * recorded as a notification to its contact methods (nothing leaves this machine).
 * Stratus's evaluation period is its sample interval; AWS's is five minutes.
 * https://docs.aws.amazon.com/lightsail/latest/userguide/lightsail-alarms.html
 */
import type { ComparisonOperator, MetricDatapoint } from '../../api/lightsail/types.js';
import type { MetadataStore } from '../../storage/types.js';
import { bundleOf } from './catalog.js';
import type { Machines } from './machines.js';
import {
  T,
  keyOf,
  type AlarmRecord,
  type ContactMethodRecord,
  type InstanceRecord,
  type MetricSample,
  type NotificationRecord,
} from './store.js';

const KEEP_MS = 24 * 3600 * 1000;

export type InstanceMetric = 'CPUUtilization' | 'NetworkIn' | 'NetworkOut' | 'StatusCheckFailed';

export interface Datapoint {
  at: number;
  value: number;
}

export class Monitor {
  private readonly samples = new Map<string, MetricSample[]>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly machines: Machines,
    readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** Samples every instance and evaluates every alarm once. */
  async tick(): Promise<void> {
    const at = this.now();
    for (const { value: rec } of await this.store.list<InstanceRecord>(T.instances)) {
      const stats = rec.state === 'running' ? await this.machines.stats(rec.id) : undefined;
      const list = this.samples.get(rec.id) ?? [];
      list.push({
        at,
        cpuTimeMs: stats?.cpuTimeMs ?? 0,
        rxBytes: stats?.network?.rxBytes ?? 0,
        txBytes: stats?.network?.txBytes ?? 0,
        running: stats !== undefined,
      });
      while (list.length && list[0].at < at - KEEP_MS) list.shift();
      this.samples.set(rec.id, list);
    }
    for (const { value: alarm } of await this.store.list<AlarmRecord>(T.alarms)) {
      const rec = await this.store.get<InstanceRecord>(
        T.instances,
        keyOf(alarm, alarm.monitoredResourceName),
      );
      const points = rec ? this.datapoints(rec, alarm.metricName as InstanceMetric) : [];
      const state = evaluate(alarm, points.slice(-alarm.evaluationPeriods));
      if (state !== alarm.state) await this.changeState(alarm, state, false);
    }
  }

  /** Datapoints (one per sample interval) of an instance's metric, oldest first. */
  datapoints(rec: InstanceRecord, metric: InstanceMetric): Datapoint[] {
    const list = this.samples.get(rec.id) ?? [];
    const cpus = bundleOf(rec.bundleId)?.cpuCount ?? 1;
    const out: Datapoint[] = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1];
      const b = list[i];
      if (metric === 'StatusCheckFailed') {
        out.push({ at: b.at, value: b.running ? 0 : 1 });
        continue;
      }
      if (!a.running || !b.running) continue;
      // A counter that went down: the container was replaced in between.
      const d = (x: number, y: number) => (y >= x ? y - x : y);
      if (metric === 'CPUUtilization') {
        const pct = (100 * d(a.cpuTimeMs, b.cpuTimeMs)) / ((b.at - a.at) * cpus);
        out.push({ at: b.at, value: Math.min(100, Math.max(0, pct)) });
      } else if (metric === 'NetworkIn') out.push({ at: b.at, value: d(a.rxBytes, b.rxBytes) });
      else out.push({ at: b.at, value: d(a.txBytes, b.txBytes) });
    }
    return out;
  }

  /** GetInstanceMetricData: datapoints aggregated per `periodS` within [start, end). */
  aggregate(points: Datapoint[], periodS: number, start: number, end: number): MetricDatapoint[] {
    const buckets = new Map<number, number[]>();
    const ms = periodS * 1000;
    for (const p of points) {
      if (p.at < start || p.at >= end) continue;
      const t = start + Math.floor((p.at - start) / ms) * ms;
      const b = buckets.get(t) ?? [];
      b.push(p.value);
      buckets.set(t, b);
    }
    return [...buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([t, values]) => {
        const sum = values.reduce((s, v) => s + v, 0);
        return {
          timestamp: new Date(t),
          average: sum / values.length,
          maximum: Math.max(...values),
          minimum: Math.min(...values),
          sampleCount: values.length,
          sum,
        };
      });
  }

  /** Sets the alarm's state, recording a notification when its triggers include it. */
  async changeState(alarm: AlarmRecord, state: AlarmRecord['state'], test: boolean) {
    const key = keyOf(alarm, alarm.name);
    const methods = await this.store.list<ContactMethodRecord>(T.contactMethods, {
      prefix: keyOf(alarm, ''),
    });
    await this.store.transaction(async (tx) => {
      const cur = await tx.get<AlarmRecord>(T.alarms, key);
      if (!cur || cur.createdAt !== alarm.createdAt) return;
      if (!test) {
        cur.state = state;
        await tx.put(T.alarms, key, cur);
      }
      if ((cur.notificationEnabled && cur.notificationTriggers.includes(state)) || test) {
        const protocols = cur.contactProtocols;
        const n: NotificationRecord = {
          alarmName: cur.name,
          state,
          protocols,
          endpoints: methods
            .filter((m) => protocols.includes(m.value.protocol))
            .map((m) => m.value.contactEndpoint),
          at: this.now(),
          test,
        };
        await tx.put(T.notifications, `${key}/${String(n.at).padStart(15, '0')}`, n);
      }
    });
  }

  forget(id: string): void {
    this.samples.delete(id);
  }
}

const breaches = (op: ComparisonOperator, v: number, threshold: number): boolean => {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return v >= threshold;
    case 'GreaterThanThreshold':
      return v > threshold;
    case 'LessThanThreshold':
      return v < threshold;
    case 'LessThanOrEqualToThreshold':
      return v <= threshold;
    default: {
      const never: never = op;
      throw new Error(`unknown operator ${String(never)}`);
    }
  }
};

/** CloudWatch's M-out-of-N evaluation over the last datapoints, with missing-data treatment. */
export function evaluate(alarm: AlarmRecord, points: Datapoint[]): AlarmRecord['state'] {
  const missing = alarm.evaluationPeriods - points.length;
  let bad = points.filter((p) =>
    breaches(alarm.comparisonOperator, p.value, alarm.threshold),
  ).length;
  if (points.length === 0) {
    switch (alarm.treatMissingData) {
      case 'breaching':
        return 'ALARM';
      case 'notBreaching':
        return 'OK';
      case 'ignore':
        return alarm.state;
      default:
        return 'INSUFFICIENT_DATA';
    }
  }
  if (alarm.treatMissingData === 'breaching') bad += missing;
  return bad >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
}
