/**
 * The `metrics` link (events/metrics.ts): services' data points folded in memory per
 * metric, unit and minute, written to the MetricStore about once a second in one
 * transaction. A crash loses at most that second of service-published points (the API's
 * PutMetricData is written before it answers).
 */
import type {
  AlarmActionDeliverer,
  LogEventReader,
  MetricDimension,
  MetricSink,
} from '../../events/metrics.js';
import type { AlarmEngine } from './alarm-engine.js';
import { identityOf, type MetricStore, type Point } from './series.js';

const FLUSH_MS = 1000;

interface Pending {
  account: string;
  region: string;
  point: Point & { values: number[]; counts: number[] };
}

interface Recent {
  p: Pending;
  generation: number;
  minute: number;
  unit: string;
  namespace: string;
}

export class CloudwatchSink implements MetricSink {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Frozen dimension lists' last aggregates (aggregate()); `generation` moves on each flush. */
  private recent = new WeakMap<readonly MetricDimension[], Map<string, Recent>>();
  private generation = 0;

  constructor(
    private readonly metrics: MetricStore,
    private readonly alarms: AlarmEngine,
    private readonly onError: (err: unknown) => void,
    readonly enabled = true,
    private readonly now: () => number = Date.now,
  ) {}

  put(
    scope: { account: string; region: string },
    namespace: string,
    name: string,
    dimensions: readonly MetricDimension[],
    value: number,
    unit: string,
    time?: number,
    count = 1,
  ): void {
    if (!this.enabled || !Number.isFinite(value) || !(count > 0)) return;
    const t = time ?? this.now();
    const minute = Math.floor(t / 60_000);
    const p = this.aggregate(scope, namespace, name, dimensions, unit, t, minute);
    // Repeated values (Invocations' 1, Errors' 0) are one value with a count. Only the last
    // few are looked at: Lambda's Duration puts thousands of distinct values a second, and a
    // scan of the whole list per put (lastIndexOf) cost that path O(n²).
    const values = p.point.values;
    let i = values.length - 1;
    const stop = Math.max(0, values.length - 8);
    while (i >= stop && values[i] !== value) i--;
    if (i >= stop) p.point.counts[i] += count;
    else {
      values.push(value);
      p.point.counts.push(count);
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_MS);
    this.timer.unref?.();
  }

  /**
   * The pending aggregate of a metric, unit and minute. A caller that passes the same frozen
   * dimension list every time (Batch: one per queue) skips building the key string while
   * the minute and scope hold: its last aggregate per metric name is remembered.
   */
  private aggregate(
    scope: { account: string; region: string },
    namespace: string,
    name: string,
    dimensions: readonly MetricDimension[],
    unit: string,
    t: number,
    minute: number,
  ): Pending {
    const frozen = Object.isFrozen(dimensions);
    const last = frozen ? this.recent.get(dimensions)?.get(name) : undefined;
    if (
      last !== undefined &&
      last.generation === this.generation &&
      last.minute === minute &&
      last.unit === unit &&
      last.namespace === namespace &&
      last.p.account === scope.account &&
      last.p.region === scope.region
    ) {
      return last.p;
    }
    const key = `${scope.account}/${scope.region}\u0000${minute}\u0000${unit}\u0000${identityOf(namespace, name, dimensions)}`;
    let p = this.pending.get(key);
    if (!p) {
      p = {
        account: scope.account,
        region: scope.region,
        point: {
          namespace,
          name,
          dims: [...dimensions],
          time: t,
          unit,
          resolution: 60,
          values: [],
          counts: [],
        },
      };
      this.pending.set(key, p);
    }
    if (frozen) {
      let byName = this.recent.get(dimensions);
      if (!byName) this.recent.set(dimensions, (byName = new Map()));
      byName.set(name, { p, generation: this.generation, minute, unit, namespace });
    }
    return p;
  }

  registerAlarmTarget(service: string, deliver: AlarmActionDeliverer): void {
    this.alarms.registerTarget(service, deliver);
  }

  /** Where Contributor Insights rules read log events (set by the logs plugin). */
  logReader: LogEventReader | undefined;

  registerLogReader(reader: LogEventReader): void {
    this.logReader = reader;
  }

  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.generation++;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (batch.size === 0) return this.writing;
    const byScope = new Map<string, Pending[]>();
    for (const p of batch.values()) {
      const k = `${p.account}/${p.region}`;
      const list = byScope.get(k);
      if (list) list.push(p);
      else byScope.set(k, [p]);
    }
    this.writing = this.writing.then(async () => {
      for (const list of byScope.values()) {
        const scope = { account: list[0].account, region: list[0].region };
        await this.metrics
          .put(
            scope,
            list.map((p) => p.point),
          )
          .catch(this.onError);
      }
    });
    return this.writing;
  }

  /** Drops what is buffered (the store was wiped). */
  clear(): void {
    this.pending.clear();
    this.generation++;
  }
}
