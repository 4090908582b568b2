/**
 * Runs metric data queries (GetMetricData, metric math alarms): each MetricStat query
 * folds its metric's buckets into its period, expressions are evaluated (metric-math.ts)
 * in dependency order on one grid of timestamps.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
 */
import type { MetricDataQuery } from '../../api/cloudwatch/types.js';
import { anomalyBand, TRAINING_MS, type ModelOptions } from './anomaly-model.js';
import { invalidValue } from './common.js';
import {
  evaluate,
  MathError,
  parseExpression,
  referencedIds,
  usesMetrics,
  type Expression,
  type MathContext,
  type MathValue,
  type TimeSeries,
} from './metric-math.js';
import { compileSearch } from './search.js';
import {
  retentionFor,
  type Dimension,
  type MetricStore,
  type Scope,
  type Series,
} from './series.js';
import { isKnownStat, percentileOf, statistic } from './stats.js';

export interface QueryResult {
  id: string;
  label: string;
  /** Ascending bucket starts (epoch ms) with a value. */
  timestamps: number[];
  values: number[];
  returnData: boolean;
}

/** Period boundaries are multiples of the period since the epoch. */
export function alignDown(t: number, periodSec: number): number {
  const p = periodSec * 1000;
  return Math.floor(t / p) * p;
}

/** PutMetricData takes timestamps up to two hours ahead: no period starts later holds data. */
const FUTURE_MS = 2 * 3600_000;

/**
 * The period starts of [start, end) where data of `periodSec` can exist at `now`: past its
 * retention (retentionFor) and past two hours ahead there is none, so a query over years
 * at a one-second period builds at most three hours of grid, not millions of points.
 */
export function gridOf(start: number, end: number, periodSec: number, now: number): number[] {
  const from = Math.max(start, now - retentionFor(periodSec));
  const to = Math.min(end, now + FUTURE_MS + periodSec * 1000);
  const out: number[] = [];
  for (let t = alignDown(from, periodSec); t < to; t += periodSec * 1000) out.push(t);
  return out;
}

/** One metric's statistic on a grid (NaN where the period has no data). */
export function statSeries(
  metrics: MetricStore,
  s: Series | undefined,
  grid: readonly number[],
  periodSec: number,
  stat: string,
  unit: string | undefined,
): Float64Array {
  const values = new Float64Array(grid.length).fill(NaN);
  if (!s || grid.length === 0) return values;
  const end = grid[grid.length - 1] + periodSec * 1000;
  const buckets = metrics.aggregate(
    s,
    grid[0],
    end,
    periodSec,
    unit,
    percentileOf(stat) !== undefined,
  );
  const p = periodSec * 1000;
  for (const [t, b] of buckets) {
    const v = statistic(b, stat);
    if (v !== undefined) values[Math.round((t - grid[0]) / p)] = v;
  }
  return values;
}

function labelOf(s: Series): string {
  const dims = s.dims.map((d) => d.Value).join(' ');
  return dims ? `${dims} ${s.name}` : s.name;
}

/** What ANOMALY_DETECTION_BAND learns from for a query: its detector's configuration. */
export type ModelLookup = (q: MetricDataQuery) => ModelOptions | undefined;

export interface QueryOptions {
  /** Anomaly detectors' configurations (default: none). */
  modelOf?: ModelLookup;
  /** The evaluation time (default Date.now()): what retention and the future limit count from. */
  now?: number;
}

/**
 * Evaluates every query over [start, end); results for every query (ReturnData says
 * which the caller returns; a band query gives two results, upper then lower). Bad
 * expressions are InvalidParameterValue.
 */
export async function runQueries(
  metrics: MetricStore,
  scope: Scope,
  queries: readonly MetricDataQuery[],
  start: number,
  end: number,
  options: QueryOptions = {},
): Promise<QueryResult[]> {
  const modelOf = options.modelOf ?? (() => undefined);
  const now = options.now ?? Date.now();
  const ids = new Set<string>();
  for (const q of queries) {
    if (ids.has(q.Id)) throw invalidValue(`The value ${q.Id} for parameter Id is not unique.`);
    ids.add(q.Id);
    if ((q.MetricStat === undefined) === (q.Expression === undefined)) {
      throw invalidValue(
        `Exactly one of MetricStat and Expression must be specified for query ${q.Id}.`,
      );
    }
    if (q.MetricStat && !isKnownStat(q.MetricStat.Stat)) {
      throw invalidValue(`The value ${q.MetricStat.Stat} for parameter Stat is not supported.`);
    }
  }
  const parsed = new Map<string, Expression>();
  for (const q of queries) {
    if (q.Expression === undefined) continue;
    try {
      parsed.set(q.Id, parseExpression(q.Expression));
    } catch (err) {
      throw mathError(q, err);
    }
  }
  const env: Env = { metrics, all: await metrics.all(scope), queries, parsed, modelOf, now };
  const evalQuery = engine(env, start, end);
  const results: QueryResult[] = [];
  for (const q of queries) {
    const { value, grid } = evalQuery(q);
    const returnData = q.ReturnData ?? true;
    for (const s of flatten(value, grid.length, q)) {
      const timestamps: number[] = [];
      const values: number[] = [];
      for (let i = 0; i < grid.length; i++) {
        if (Number.isFinite(s.values[i])) {
          timestamps.push(grid[i]);
          values.push(s.values[i]);
        }
      }
      results.push({ id: q.Id, label: s.label, timestamps, values, returnData });
    }
  }
  return results;
}

interface Env {
  metrics: MetricStore;
  all: Series[];
  queries: readonly MetricDataQuery[];
  parsed: Map<string, Expression>;
  modelOf: ModelLookup;
  /** Retention is counted back from here (gridOf). */
  now: number;
}

interface Evaluated {
  value: MathValue;
  grid: number[];
  period: number;
}

/** A memoizing evaluator of the queries over [start, end). */
function engine(env: Env, start: number, end: number): (q: MetricDataQuery) => Evaluated {
  const { metrics, all, queries, parsed } = env;
  const commonPeriod =
    queries.find((q) => q.MetricStat)?.MetricStat?.Period ??
    queries.find((q) => q.Period)?.Period ??
    60;
  const byId = new Map(queries.map((q) => [q.Id, q]));
  const cache = new Map<string, Evaluated>();
  const visiting = new Set<string>();
  let training: ((q: MetricDataQuery) => Evaluated) | undefined;

  const metricStatOn = (q: MetricDataQuery, grid: number[], period: number): TimeSeries => {
    const ms = q.MetricStat!;
    const s = all.find(
      (x) =>
        x.namespace === ms.Metric.Namespace &&
        x.name === ms.Metric.MetricName &&
        sameDims(x.dims, ms.Metric.Dimensions ?? []),
    );
    return {
      label: q.Label ?? ms.Metric.MetricName ?? q.Id,
      values: statSeries(metrics, s, grid, period, ms.Stat, ms.Unit),
    };
  };

  /** The band of query `id` on `grid`, trained on its two weeks before `start`. */
  const band = (id: string, stddevs: number, grid: number[]): [TimeSeries, TimeSeries] => {
    const target = byId.get(id);
    if (!target) throw new MathError(`Unknown id ${id}`);
    training ??= engine(env, start - TRAINING_MS, end);
    const r = training(target);
    if (r.value.kind !== 'series') {
      throw new MathError('ANOMALY_DETECTION_BAND takes a query that returns one time series');
    }
    const times: number[] = [];
    const values: number[] = [];
    r.grid.forEach((t, i) => {
      const v = (r.value as { s: TimeSeries }).s.values[i];
      if (Number.isFinite(v)) {
        times.push(t);
        values.push(v);
      }
    });
    const b = anomalyBand(times, values, grid, stddevs, env.modelOf(target) ?? { excluded: [] });
    return [
      { label: 'Upper', values: b.upper },
      { label: 'Lower', values: b.lower },
    ];
  };

  const evalQuery = (q: MetricDataQuery): Evaluated => {
    const hit = cache.get(q.Id);
    if (hit) return hit;
    if (visiting.has(q.Id)) {
      throw invalidValue(`Circular dependency detected in expression of query ${q.Id}.`);
    }
    visiting.add(q.Id);
    let out: Evaluated;
    if (q.MetricStat) {
      const period = q.MetricStat.Period;
      const grid = gridOf(start, end, period, env.now);
      out = { value: { kind: 'series', s: metricStatOn(q, grid, period) }, grid, period };
    } else {
      const period = q.Period ?? commonPeriod;
      const grid = gridOf(start, end, period, env.now);
      const expr = parsed.get(q.Id)!;
      for (const ref of referencedIds(expr)) {
        if (!byId.has(ref) && ref !== 'REPEAT' && ref !== 'LINEAR') {
          throw invalidValue(`Unknown id ${ref} in expression of query ${q.Id}.`);
        }
      }
      const ctx: MathContext = {
        timestamps: grid,
        periodSec: period,
        ref: (id) => {
          const r = evalQuery(byId.get(id)!);
          if (r.period === period) return r.value;
          // A query of another period is read again on this grid.
          const other = byId.get(id)!;
          if (other.MetricStat) return { kind: 'series', s: metricStatOn(other, grid, period) };
          throw new MathError(`Query ${id} has a different period`);
        },
        metrics: (filter) =>
          queries
            .filter((m) => m.MetricStat && m.Id !== q.Id)
            .map((m) => metricStatOn(m, grid, period))
            .filter((s) => filter === undefined || s.label.includes(filter)),
        search: (query, stat, searchPeriod) => {
          if (!isKnownStat(stat)) throw new MathError(`Unknown statistic ${stat}`);
          const match = compileSearch(query);
          return all
            .filter(match)
            .map((s) => ({
              label: labelOf(s),
              values: statSeries(metrics, s, grid, searchPeriod, stat, undefined),
            }))
            .filter((s) => s.values.some((v) => !Number.isNaN(v)));
        },
        band: (id, stddevs) => band(id, stddevs, grid),
      };
      if (usesMetrics(expr)) {
        for (const m of queries) if (m.MetricStat) evalQuery(m);
      }
      try {
        out = { value: evaluate(expr, ctx), grid, period };
      } catch (err) {
        throw mathError(q, err);
      }
    }
    visiting.delete(q.Id);
    cache.set(q.Id, out);
    return out;
  };
  return evalQuery;
}

function flatten(v: MathValue, n: number, q: MetricDataQuery): TimeSeries[] {
  const label = q.Label;
  switch (v.kind) {
    case 'series':
      return [{ label: label ?? v.s.label ?? q.Id, values: v.s.values }];
    case 'array':
      return v.list.map((s) => ({
        label: label ? `${label} ${s.label}` : s.label,
        values: s.values,
      }));
    case 'scalar':
      return [{ label: label ?? q.Id, values: new Float64Array(n).fill(v.v) }];
    case 'string':
      throw invalidValue(`The expression of query ${q.Id} does not return a time series.`);
  }
}

function mathError(q: MetricDataQuery, err: unknown): Error {
  if (err instanceof MathError) {
    return invalidValue(`Error in expression ${q.Id}: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Whether two dimension lists are the same set (a metric is named by all its dimensions). */
export function sameDims(have: readonly Dimension[], want: readonly Dimension[]): boolean {
  if (have.length !== want.length) return false;
  return want.every((d) => have.some((x) => x.Name === d.Name && x.Value === d.Value));
}
