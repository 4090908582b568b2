/**
 * One aggregation bucket of a metric (a second, a minute, five minutes or an hour of one
 * unit) and the statistics CloudWatch computes from buckets: SampleCount, Sum, Average,
 * Minimum, Maximum and percentiles (`p90`, `p99.9`).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
 *
 * Percentiles need the values: a bucket keeps them exactly up to EXACT_VALUES, then folds
 * them into a log-scale histogram (1% relative error) so a bucket's size stays bounded
 * whatever the rate. Statistic sets carry no values: a period with one has no percentiles.
 */

export interface Bucket {
  /** Bucket start, epoch ms. */
  t: number;
  n: number;
  s: number;
  mn: number;
  mx: number;
  /** Exact values (with `c` counts when not all 1), while few. */
  v?: number[];
  c?: number[];
  /** Histogram bin → count, once values outgrew `v`. */
  h?: Record<string, number>;
  /** Samples that came as statistic sets (no values behind them). */
  sets?: number;
}

const EXACT_VALUES = 512;
const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);

export function emptyBucket(t: number): Bucket {
  return { t, n: 0, s: 0, mn: Infinity, mx: -Infinity };
}

/** Adds `count` samples of `value`. */
export function addValue(b: Bucket, value: number, count = 1): void {
  b.n += count;
  b.s += value * count;
  if (value < b.mn) b.mn = value;
  if (value > b.mx) b.mx = value;
  if (b.h !== undefined) {
    addToHistogram(b.h, value, count);
    return;
  }
  b.v ??= [];
  if (count !== 1 || b.c !== undefined) {
    b.c ??= b.v.map(() => 1);
    b.c.push(count);
  }
  b.v.push(value);
  if (b.v.length > EXACT_VALUES) toHistogram(b);
}

/**
 * Adds a statistic set. AWS computes percentiles from one only when it is really n equal
 * values: "The Min and Max are equal, and Sum is equal to Min multiplied by SampleCount"
 * (a SampleCount of 1 being the simplest case); other sets have no values behind them.
 */
export function addSet(b: Bucket, n: number, sum: number, min: number, max: number): void {
  if (min === max && Math.abs(sum - min * n) <= 1e-9 * Math.abs(sum) && n > 0) {
    addValue(b, min, n);
    return;
  }
  b.n += n;
  b.s += sum;
  if (min < b.mn) b.mn = min;
  if (max > b.mx) b.mx = max;
  b.sets = (b.sets ?? 0) + n;
}

/** Folds `from`'s count, sum, min and max into `into` (statistics without percentiles). */
export function mergeTotals(into: Bucket, from: Bucket): void {
  into.n += from.n;
  into.s += from.s;
  if (from.mn < into.mn) into.mn = from.mn;
  if (from.mx > into.mx) into.mx = from.mx;
  if (from.sets) into.sets = (into.sets ?? 0) + from.sets;
}

/** Folds `from` into `into` (roll-up to a coarser resolution, or a query period). */
export function mergeBucket(into: Bucket, from: Bucket): void {
  into.n += from.n;
  into.s += from.s;
  if (from.mn < into.mn) into.mn = from.mn;
  if (from.mx > into.mx) into.mx = from.mx;
  if (from.sets) into.sets = (into.sets ?? 0) + from.sets;
  if (from.h !== undefined) {
    if (into.h === undefined) toHistogram(into);
    for (const [k, c] of Object.entries(from.h)) into.h![k] = (into.h![k] ?? 0) + c;
  } else if (from.v !== undefined) {
    for (let i = 0; i < from.v.length; i++) {
      const count = from.c?.[i] ?? 1;
      if (into.h !== undefined) addToHistogram(into.h, from.v[i], count);
      else {
        into.v ??= [];
        if (count !== 1 || into.c !== undefined) {
          into.c ??= into.v.map(() => 1);
          into.c.push(count);
        }
        into.v.push(from.v[i]);
      }
    }
    if (into.v !== undefined && into.v.length > EXACT_VALUES) toHistogram(into);
  }
}

function binOf(value: number): string {
  if (value === 0) return 'z';
  const i = Math.ceil(Math.log(Math.abs(value)) / LOG_GAMMA);
  return value > 0 ? `p${i}` : `n${i}`;
}

function valueOfBin(bin: string): number {
  if (bin === 'z') return 0;
  const i = Number(bin.slice(1));
  // The bin (γ^(i-1), γ^i]: its midpoint in log scale.
  const v = (2 * GAMMA ** i) / (GAMMA + 1);
  return bin[0] === 'p' ? v : -v;
}

function addToHistogram(h: Record<string, number>, value: number, count: number): void {
  const k = binOf(value);
  h[k] = (h[k] ?? 0) + count;
}

function toHistogram(b: Bucket): void {
  const h: Record<string, number> = {};
  const v = b.v ?? [];
  for (let i = 0; i < v.length; i++) addToHistogram(h, v[i], b.c?.[i] ?? 1);
  b.h = h;
  delete b.v;
  delete b.c;
}

/** The standard statistics AWS names (GetMetricStatistics' `Statistics`). */
export type StandardStat = 'SampleCount' | 'Sum' | 'Average' | 'Minimum' | 'Maximum';

export function standardStat(b: Bucket, stat: StandardStat): number {
  switch (stat) {
    case 'SampleCount':
      return b.n;
    case 'Sum':
      return b.s;
    case 'Average':
      return b.s / b.n;
    case 'Minimum':
      return b.mn;
    case 'Maximum':
      return b.mx;
  }
}

const PERCENTILE = /^p(\d{1,2}(?:\.\d{1,10})?|100)$/;

/** The percentile a `pNN` / `pNN.NN` statistic names, undefined when it is not one. */
export function percentileOf(stat: string): number | undefined {
  const m = PERCENTILE.exec(stat);
  if (!m) return undefined;
  const p = Number(m[1]);
  return p >= 0 && p <= 100 ? p : undefined;
}

/**
 * The `p`th percentile (nearest rank) of the bucket's values; undefined when the values
 * are unknown (statistic sets) or the bucket is empty.
 */
export function percentile(b: Bucket, p: number): number | undefined {
  if (b.n === 0 || (b.sets ?? 0) > 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * b.n));
  if (b.v !== undefined) {
    const order = b.v.map((v, i) => [v, b.c?.[i] ?? 1] as const).sort((a, z) => a[0] - z[0]);
    let seen = 0;
    for (const [v, c] of order) {
      seen += c;
      if (seen >= rank) return v;
    }
    return order[order.length - 1]?.[0];
  }
  if (b.h === undefined) return undefined;
  const bins = Object.entries(b.h)
    .map(([k, c]) => [valueOfBin(k), c] as const)
    .sort((a, z) => a[0] - z[0]);
  let seen = 0;
  for (const [v, c] of bins) {
    seen += c;
    if (seen >= rank) return Math.min(b.mx, Math.max(b.mn, v));
  }
  return b.mx;
}

/** Any statistic GetMetricData and alarms accept (standard or percentile). */
export function statistic(b: Bucket, stat: string): number | undefined {
  if (b.n === 0) return undefined;
  switch (stat) {
    case 'SampleCount':
    case 'Sum':
    case 'Average':
    case 'Minimum':
    case 'Maximum':
      return standardStat(b, stat);
  }
  const p = percentileOf(stat);
  return p === undefined ? undefined : percentile(b, p);
}

export function isKnownStat(stat: string): boolean {
  return (
    stat === 'SampleCount' ||
    stat === 'Sum' ||
    stat === 'Average' ||
    stat === 'Minimum' ||
    stat === 'Maximum' ||
    percentileOf(stat) !== undefined
  );
}
