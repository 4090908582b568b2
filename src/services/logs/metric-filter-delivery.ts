/**
 * Metric filters turned into CloudWatch metrics: after events are appended to a group,
 * each of its metric filters publishes, for every event its pattern matches, the
 * transformation's `metricValue` (a number, or `$.field` of a JSON event) with its
 * dimensions (`$.field` values), and `defaultValue` for the events it does not match.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringPolicyExamples.html
 *
 * A group's filters are cached (Lambda appends on every invocation): PutMetricFilter and
 * DeleteMetricFilter clear the cache, and entries expire after a few seconds so a deleted
 * group's filters do not linger.
 */
import type { MetricDimension, MetricSink } from '../../events/metrics.js';
import type { MetadataStore } from '../../storage/types.js';
import { compileFilterPattern, type Matcher } from './filter-pattern.js';
import type { MetricFilterRecord } from './filters.js';
import { METRIC_FILTERS, childPrefix, groupKey, type Scope } from './store.js';
import type { AppendedEvent } from './subscription-delivery.js';

const CACHE_MS = 2000;

interface Compiled {
  record: MetricFilterRecord;
  matches: Matcher;
}

/** `$.a.b` of a JSON message; undefined when the message is not JSON or lacks it. */
function jsonField(message: string, path: string, parsed: { doc?: unknown; tried?: boolean }) {
  if (!parsed.tried) {
    parsed.tried = true;
    try {
      parsed.doc = JSON.parse(message) as unknown;
    } catch {
      parsed.doc = undefined;
    }
  }
  let v: unknown = parsed.doc;
  for (const part of path.slice(2).split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export class MetricFilterPublisher {
  private readonly cache = new Map<string, { at: number; filters: Compiled[] }>();

  constructor(
    private readonly store: MetadataStore,
    private readonly metrics: MetricSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** A filter changed: read the groups' filters again. */
  changed(): void {
    this.cache.clear();
  }

  private async filtersOf(scope: Scope, group: string): Promise<Compiled[]> {
    const gKey = groupKey(scope, group);
    const hit = this.cache.get(gKey);
    if (hit && this.now() - hit.at < CACHE_MS) return hit.filters;
    const rows = await this.store.list<MetricFilterRecord>(METRIC_FILTERS, {
      prefix: childPrefix(gKey),
    });
    const filters = rows.map(({ value }) => ({
      record: value,
      matches: compileFilterPattern(value.filterPattern),
    }));
    this.cache.set(gKey, { at: this.now(), filters });
    return filters;
  }

  async appended(scope: Scope, group: string, events: readonly AppendedEvent[]): Promise<void> {
    if (!this.metrics.enabled || events.length === 0) return;
    const filters = await this.filtersOf(scope, group);
    for (const { record, matches } of filters) {
      for (const e of events) {
        const matched = matches(e.message);
        const parsed = {};
        for (const t of record.metricTransformations ?? []) {
          let value: number | undefined;
          if (matched) {
            const raw = t.metricValue.startsWith('$.')
              ? jsonField(e.message, t.metricValue, parsed)
              : t.metricValue;
            value = typeof raw === 'number' ? raw : Number(raw);
          } else value = t.defaultValue;
          if (value === undefined || !Number.isFinite(value)) continue;
          const dims: MetricDimension[] = [];
          for (const [name, selector] of Object.entries(t.dimensions ?? {})) {
            const v = selector.startsWith('$.') ? jsonField(e.message, selector, parsed) : selector;
            if (v !== undefined && v !== null) dims.push({ Name: name, Value: String(v) });
          }
          this.metrics.put(
            scope,
            t.metricNamespace,
            t.metricName,
            dims,
            value,
            t.unit ?? 'None',
            e.timestamp,
          );
        }
      }
    }
  }
}
