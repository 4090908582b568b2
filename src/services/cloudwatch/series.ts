/**
 * Where metric data lives: every metric (namespace, name, dimensions) of an account and
 * region as a series of buckets in memory, each bucket persisted as one store row so a
 * restart (or a kill -9 after PutMetricData answered) keeps the data.
 *
 * Retention and roll-up as AWS describes them
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention):
 * "Data points with a period of less than 60 seconds are available for 3 hours. …
 * Data points with a period of 60 seconds (1 minute) are available for 15 days. Data points
 * with a period of 300 seconds (5 minutes) are available for 63 days. Data points with a
 * period of 3600 seconds (1 hour) are available for 455 days (15 months)." Older buckets
 * are folded into the next resolution by sweep().
 */
import { createHash } from 'node:crypto';
import type { MetadataStore } from '../../storage/types.js';
import { addSet, addValue, emptyBucket, mergeBucket, mergeTotals, type Bucket } from './stats.js';
import { BUCKETS, SERIES, bucketKey, seriesKey } from './store.js';

export interface Dimension {
  Name: string;
  Value: string;
}

export interface Scope {
  account: string;
  region: string;
}

/** One bucket row: a bucket of one resolution (seconds) and one unit. */
export interface StoredBucket extends Bucket {
  r: number;
  u: string;
}

export interface SeriesRecord {
  namespace: string;
  name: string;
  /** Sorted by name. */
  dims: Dimension[];
  /** Epoch ms of the latest data point received (ListMetrics' RecentlyActive). */
  lastPut: number;
}

export interface Series extends SeriesRecord {
  id: string;
  buckets: Map<string, StoredBucket>;
}

/** One data point (or statistic set, or values with counts) as PutMetricData carries it. */
export interface Point {
  namespace: string;
  name: string;
  dims: Dimension[];
  /** Epoch ms. */
  time: number;
  unit: string;
  /** 1 (high resolution) or 60. */
  resolution: number;
  value?: number;
  values?: number[];
  counts?: number[];
  set?: { n: number; sum: number; min: number; max: number };
}

/** [resolution s, kept for ms, rolled into resolution s] */
const TIERS: readonly [number, number, number | undefined][] = [
  [1, 3 * 3600_000, 60],
  [60, 15 * 86400_000, 300],
  [300, 63 * 86400_000, 3600],
  [3600, 455 * 86400_000, undefined],
];

/**
 * How far back a query of `periodSec` can find data: the retention of the longest-kept tier
 * it may read. AWS: a StartTime more than 3 hours ago needs a multiple of 60 s, more than
 * 15 days ago a multiple of 300 s, more than 63 days ago of 3600 s, "or no data points in
 * that time range is returned"; nothing is kept past 455 days.
 */
export function retentionFor(periodSec: number): number {
  let keep = TIERS[0][1];
  for (const [res, kept] of TIERS) if (res <= periodSec) keep = kept;
  return keep;
}

export function identityOf(namespace: string, name: string, dims: readonly Dimension[]): string {
  let key = `${namespace}\u0000${name}`;
  for (const d of dims) key += `\u0000${d.Name}\u0001${d.Value}`;
  return key;
}

export function sortDims(dims: readonly Dimension[]): Dimension[] {
  return [...dims].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

const scopeKeyOf = (s: Scope): string => `${s.account}/${s.region}`;

export class MetricStore {
  private readonly scopes = new Map<string, Map<string, Series>>();
  private loaded: Promise<void> | undefined;

  constructor(private readonly store: MetadataStore) {}

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      const byId = new Map<string, Series>();
      for (const { key, value } of await this.store.list<SeriesRecord>(SERIES)) {
        const [account, region, id] = key.split('/');
        const s: Series = { ...value, id, buckets: new Map() };
        byId.set(key, s);
        this.scopeOf({ account, region }).set(identityOf(s.namespace, s.name, s.dims), s);
      }
      for (const { key, value } of await this.store.list<StoredBucket>(BUCKETS)) {
        const parts = key.split('/');
        const s = byId.get(parts.slice(0, 3).join('/'));
        s?.buckets.set(memKey(value.r, value.u, value.t), value);
      }
    })();
    return this.loaded;
  }

  private scopeOf(scope: Scope): Map<string, Series> {
    const k = scopeKeyOf(scope);
    let m = this.scopes.get(k);
    if (!m) {
      m = new Map();
      this.scopes.set(k, m);
    }
    return m;
  }

  /** Adds the points and persists every bucket they touched in one transaction. */
  async put(scope: Scope, points: readonly Point[]): Promise<void> {
    await this.load();
    const series = this.scopeOf(scope);
    const dirtySeries = new Set<Series>();
    const dirty = new Map<string, [Series, StoredBucket]>();
    for (const p of points) {
      const dims = sortDims(p.dims);
      const identity = identityOf(p.namespace, p.name, dims);
      let s = series.get(identity);
      if (!s) {
        s = {
          id: createHash('sha1').update(identity).digest('base64url').slice(0, 20),
          namespace: p.namespace,
          name: p.name,
          dims,
          lastPut: 0,
          buckets: new Map(),
        };
        series.set(identity, s);
      }
      if (p.time > s.lastPut) {
        s.lastPut = p.time;
        dirtySeries.add(s);
      }
      const res = p.resolution < 60 ? 1 : 60;
      const t = Math.floor(p.time / (res * 1000)) * res * 1000;
      const mk = memKey(res, p.unit, t);
      let b = s.buckets.get(mk);
      if (!b) {
        b = { ...emptyBucket(t), r: res, u: p.unit };
        s.buckets.set(mk, b);
      }
      if (p.set) addSet(b, p.set.n, p.set.sum, p.set.min, p.set.max);
      if (p.value !== undefined) addValue(b, p.value);
      if (p.values) {
        for (let i = 0; i < p.values.length; i++) addValue(b, p.values[i], p.counts?.[i] ?? 1);
      }
      dirty.set(bucketKey(scope, s.id, res, p.unit, t), [s, b]);
    }
    await this.store.transaction(async (tx) => {
      for (const s of dirtySeries) await tx.put(SERIES, seriesKey(scope, s.id), recordOf(s));
      for (const [key, [, b]] of dirty) await tx.put(BUCKETS, key, b);
    });
  }

  /** The metrics of a scope (ListMetrics, SEARCH). */
  async all(scope: Scope): Promise<Series[]> {
    await this.load();
    // Reads create no scope: any account and region can be asked about.
    return [...(this.scopes.get(scopeKeyOf(scope))?.values() ?? [])];
  }

  async find(
    scope: Scope,
    namespace: string,
    name: string,
    dims: readonly Dimension[],
  ): Promise<Series | undefined> {
    await this.load();
    return this.scopes.get(scopeKeyOf(scope))?.get(identityOf(namespace, name, sortDims(dims)));
  }

  /**
   * The series' data in [start, end) folded into buckets of `period` seconds aligned on
   * `start`, by bucket start; `unit` keeps only data sent with that unit. Without
   * `withValues` (no percentile asked) merged buckets carry only count, sum, min and max.
   * A period made of one stored bucket is that bucket itself: callers must not change it.
   */
  aggregate(
    s: Series,
    start: number,
    end: number,
    periodSec: number,
    unit?: string,
    withValues = true,
  ): Map<number, Bucket & { u: string }> {
    const period = periodSec * 1000;
    const groups = new Map<number, StoredBucket[]>();
    for (const b of s.buckets.values()) {
      if (b.t < start || b.t >= end || (unit !== undefined && b.u !== unit)) continue;
      // A bucket coarser than the period lands whole in the period its start falls in.
      const t = start + Math.floor((b.t - start) / period) * period;
      const g = groups.get(t);
      if (g) g.push(b);
      else groups.set(t, [b]);
    }
    const out = new Map<number, Bucket & { u: string }>();
    for (const [t, list] of groups) {
      if (list.length === 1 && list[0].t === t) {
        out.set(t, list[0]);
        continue;
      }
      const into: Bucket & { u: string } = { ...emptyBucket(t), u: list[0].u };
      for (const b of list) {
        if (withValues) mergeBucket(into, b);
        else mergeTotals(into, b);
      }
      out.set(t, into);
    }
    return out;
  }

  /** Rolls buckets past their tier's retention into the next tier; drops the oldest. */
  async sweep(now: number): Promise<void> {
    await this.load();
    const puts: [string, StoredBucket][] = [];
    const deletes: string[] = [];
    for (const [sk, series] of this.scopes) {
      const [account, region] = sk.split('/');
      const scope = { account, region };
      for (const s of series.values()) {
        for (const [res, keep, next] of TIERS) {
          for (const [mk, b] of s.buckets) {
            if (b.r !== res || b.t >= now - keep) continue;
            s.buckets.delete(mk);
            deletes.push(bucketKey(scope, s.id, res, b.u, b.t));
            if (next === undefined) continue;
            const t = Math.floor(b.t / (next * 1000)) * next * 1000;
            const nk = memKey(next, b.u, t);
            let into = s.buckets.get(nk);
            if (!into) {
              into = { ...emptyBucket(t), r: next, u: b.u };
              s.buckets.set(nk, into);
            }
            mergeBucket(into, b);
            puts.push([bucketKey(scope, s.id, next, b.u, t), into]);
          }
        }
      }
    }
    if (puts.length === 0 && deletes.length === 0) return;
    await this.store.transaction(async (tx) => {
      for (const k of deletes) await tx.delete(BUCKETS, k);
      for (const [k, b] of puts) await tx.put(BUCKETS, k, b);
    });
  }

  /** Forgets what is in memory (the store was wiped). */
  reset(): void {
    this.scopes.clear();
    this.loaded = undefined;
  }
}

const memKey = (res: number, unit: string, t: number): string => `${res}:${unit}:${t}`;

function recordOf(s: Series): SeriesRecord {
  return { namespace: s.namespace, name: s.name, dims: s.dims, lastPut: s.lastPut };
}
