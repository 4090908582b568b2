/**
 * ECS's CloudWatch metrics from the tasks' cgroups
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html):
 * `CPUUtilization` and `MemoryUtilization` in `AWS/ECS`, by `ClusterName` and by
 * `ClusterName` + `ServiceName`: "the total CPU units used by the tasks … divided by the
 * total CPU units reserved for the tasks", likewise memory, in percent. Sampled every
 * 10 seconds (CPU from the change in CPU time since the last sample); tasks without a
 * task-level reservation are left out of that metric.
 */
import type { MetricDimension, MetricSink } from '../../events/metrics.js';
import type { EcsTasks, LiveTask } from './task-manager.js';

const SAMPLE_MS = 10_000;
const NS = 'AWS/ECS';

interface Totals {
  scope: LiveTask['scope'];
  dims: MetricDimension[];
  cpuUsedMs: number;
  cpuReservedMs: number;
  memoryUsedMb: number;
  memoryReservedMb: number;
}

export class EcsMetrics {
  private timer: NodeJS.Timeout | undefined;
  /** CPU time (ms) of each task at the last sample. */
  private lastCpu = new WeakMap<LiveTask['task'], { at: number; cpuMs: number }>();
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly tasks: EcsTasks,
    private readonly sink: MetricSink,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (!this.sink.enabled || this.timer) return;
    this.timer = setInterval(() => {
      this.sampling ??= this.sample().finally(() => (this.sampling = undefined));
    }, SAMPLE_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  async sample(): Promise<void> {
    const groups = new Map<string, Totals>();
    const add = (t: LiveTask, dims: MetricDimension[], f: (x: Totals) => void) => {
      const key = `${t.scope.account}/${t.scope.region}\u0000${JSON.stringify(dims)}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          scope: t.scope,
          dims,
          cpuUsedMs: 0,
          cpuReservedMs: 0,
          memoryUsedMb: 0,
          memoryReservedMb: 0,
        };
        groups.set(key, g);
      }
      f(g);
    };
    const now = this.now();
    for (const t of this.tasks.running()) {
      const stats = await t.task.stats();
      if (stats.length === 0) continue;
      const cpuMs = stats.reduce((a, s) => a + s.cpuTimeMs, 0);
      const memoryMb = stats.reduce((a, s) => a + (s.memoryMb ?? 0), 0);
      const hasMemory = stats.some((s) => s.memoryMb !== undefined);
      const previous = this.lastCpu.get(t.task);
      this.lastCpu.set(t.task, { at: now, cpuMs });
      const sets: MetricDimension[][] = [[{ Name: 'ClusterName', Value: t.cluster }]];
      if (t.service) {
        sets.push([
          { Name: 'ClusterName', Value: t.cluster },
          { Name: 'ServiceName', Value: t.service },
        ]);
      }
      for (const dims of sets) {
        add(t, dims, (g) => {
          if (previous && t.cpuUnits && now > previous.at) {
            g.cpuUsedMs += Math.max(0, cpuMs - previous.cpuMs);
            g.cpuReservedMs += (now - previous.at) * (t.cpuUnits / 1024);
          }
          if (hasMemory && t.memoryMib) {
            g.memoryUsedMb += memoryMb;
            g.memoryReservedMb += t.memoryMib;
          }
        });
      }
    }
    for (const g of groups.values()) {
      if (g.cpuReservedMs > 0) {
        const pct = (100 * g.cpuUsedMs) / g.cpuReservedMs;
        this.sink.put(g.scope, NS, 'CPUUtilization', g.dims, pct, 'Percent', now);
      }
      if (g.memoryReservedMb > 0) {
        const pct = (100 * g.memoryUsedMb) / g.memoryReservedMb;
        this.sink.put(g.scope, NS, 'MemoryUtilization', g.dims, pct, 'Percent', now);
      }
    }
  }
}
