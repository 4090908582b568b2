/**
 * The anomaly detection model behind `ANOMALY_DETECTION_BAND(m, k)` and anomaly detection
 * alarms. AWS does not publish its algorithm ("CloudWatch applies statistical and machine
 * learning algorithms", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Anomaly_Detection.html);
 * Stratus uses a documented, deterministic one:
 *
 * - The training data of a period starting at t are the metric's values in the two weeks
 *   before t ("up to two weeks of metric data"), minus the detector's excluded time ranges.
 * - Seasonal: once the training data reach back at least one week, the expected value is
 *   the mean of the training values in the same hour of the week (day of week and hour of
 *   day in the detector's MetricTimezone, UTC by default), if there are at least two of
 *   them (one per week, for an hourly metric).
 * - Otherwise a rolling window: the mean of the training values of the last 24 hours.
 * - The band is mean ± k × standard deviation (population), the deviation floored at 1 %
 *   of |mean| (and 1e-9) so that a flat metric still gets a band of some width.
 * - Fewer than MIN_POINTS training values: no band for that period (an alarm sees missing
 *   data, the detector reports TRAINED_INSUFFICIENT_DATA; none at all: PENDING_TRAINING).
 */
import type { AnomalyDetectorStateValue } from '../../api/cloudwatch/types.js';

export const TRAINING_MS = 14 * 86400_000;
const WEEK_MS = 7 * 86400_000;
const ROLLING_MS = 86400_000;
export const MIN_POINTS = 5;
const MIN_SEASONAL = 2;
/** The default number of standard deviations: `ANOMALY_DETECTION_BAND(m1)` is `(m1, 2)`. */
export const DEFAULT_STDDEVS = 2;

export interface ModelOptions {
  /** Epoch-ms ranges whose data do not train the model. */
  excluded: readonly { start: number; end: number }[];
  /** IANA time zone of the metric's seasonality (UTC when absent). */
  timezone?: string;
}

export interface Band {
  upper: Float64Array;
  lower: Float64Array;
}

/** Whether `tz` is a time zone name Intl knows (AWS: "a tz database time zone name"). */
export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const DAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Hour of the week (0–167) of an instant in a time zone; memoized per quarter hour. */
function hourOfWeek(timezone: string | undefined): (t: number) => number {
  if (timezone === undefined || timezone === 'UTC') {
    return (t) => {
      const d = new Date(t);
      return d.getUTCDay() * 24 + d.getUTCHours();
    };
  }
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    weekday: 'short',
    hour: 'numeric',
    hourCycle: 'h23',
  });
  const memo = new Map<number, number>();
  return (t) => {
    const q = Math.floor(t / 900_000);
    let slot = memo.get(q);
    if (slot === undefined) {
      const parts = format.formatToParts(new Date(q * 900_000));
      const day = DAYS[parts.find((p) => p.type === 'weekday')?.value ?? 'Sun'] ?? 0;
      const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0) % 24;
      slot = day * 24 + hour;
      memo.set(q, slot);
    }
    return slot;
  };
}

/** Mean and floored standard deviation. */
function meanStd(values: readonly number[]): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  const std = Math.sqrt(sq / values.length);
  return { mean, std: Math.max(std, Math.abs(mean) * 0.01, 1e-9) };
}

/**
 * The band at each grid timestamp. `times`/`values` are the metric's history at the
 * grid's period, ascending, finite values only; it should reach TRAINING_MS before grid[0].
 */
export function anomalyBand(
  times: readonly number[],
  values: readonly number[],
  grid: readonly number[],
  stddevs: number,
  options: ModelOptions,
): Band {
  const kept: number[] = [];
  for (let i = 0; i < times.length; i++) {
    if (!options.excluded.some((r) => times[i] >= r.start && times[i] < r.end)) kept.push(i);
  }
  const slotOf = hourOfWeek(options.timezone);
  const slots = new Map<number, number[]>();
  for (const i of kept) {
    const s = slotOf(times[i]);
    const list = slots.get(s);
    if (list) list.push(i);
    else slots.set(s, [i]);
  }
  const upper = new Float64Array(grid.length).fill(NaN);
  const lower = new Float64Array(grid.length).fill(NaN);
  let lo = 0;
  let hi = 0;
  for (let g = 0; g < grid.length; g++) {
    const t = grid[g];
    // kept[lo, hi) are the training points: [t - two weeks, t).
    while (lo < kept.length && times[kept[lo]] < t - TRAINING_MS) lo++;
    while (hi < kept.length && times[kept[hi]] < t) hi++;
    if (hi - lo < MIN_POINTS) continue;
    let sample: number[] = [];
    if (times[kept[lo]] <= t - WEEK_MS) {
      sample = (slots.get(slotOf(t)) ?? [])
        .filter((i) => times[i] >= t - TRAINING_MS && times[i] < t)
        .map((i) => values[i]);
    }
    if (sample.length < MIN_SEASONAL) {
      sample = [];
      for (let j = hi - 1; j >= lo && times[kept[j]] >= t - ROLLING_MS; j--) {
        sample.push(values[kept[j]]);
      }
      if (sample.length < MIN_POINTS) continue;
    }
    const { mean, std } = meanStd(sample);
    upper[g] = mean + stddevs * std;
    lower[g] = mean - stddevs * std;
  }
  return { upper, lower };
}

/** The state DescribeAnomalyDetectors reports for a metric with `count` training values. */
export function trainingState(count: number): AnomalyDetectorStateValue {
  if (count === 0) return 'PENDING_TRAINING';
  return count < MIN_POINTS ? 'TRAINED_INSUFFICIENT_DATA' : 'TRAINED';
}
