/**
 * GetCostAndUsage and GetCostForecast over the bill.
 * https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html
 * Every cost metric is the same figure here (no blended rates, credits or commitments on
 * one machine); UsageQuantity sums the usage, free tier included, in the usage type's unit
 * ("N/A" where a group mixes units, as Cost Explorer does).
 */
import type { CeOperations } from '../../api/ce/operations.js';
import type {
  Dimension,
  ForecastResult,
  Granularity,
  Group,
  GroupDefinition,
  Metrics,
  ResultByTime,
} from '../../api/ce/types.js';
import type { LineItem } from '../../billing/bill.js';
import { rateOf } from '../../billing/pricing.js';
import {
  amount,
  buckets,
  dimensionValue,
  filterLines,
  formatTime,
  linesFor,
  periodOf,
  TagLookup,
  validation,
  type CeDeps,
} from './common.js';

type CostOps = Pick<CeOperations, 'GetCostAndUsage' | 'GetCostForecast'>;

const METRICS = new Map(
  [
    'AmortizedCost',
    'BlendedCost',
    'NetAmortizedCost',
    'NetUnblendedCost',
    'NormalizedUsageAmount',
    'UnblendedCost',
    'UsageQuantity',
  ].map((m) => [m.toLowerCase(), m]),
);

const GROUP_DIMENSIONS = new Set<string>([
  'AZ',
  'INSTANCE_TYPE',
  'LEGAL_ENTITY_NAME',
  'INVOICING_ENTITY',
  'LINKED_ACCOUNT',
  'OPERATION',
  'PLATFORM',
  'PURCHASE_TYPE',
  'SERVICE',
  'SERVICE_CODE',
  'TENANCY',
  'RECORD_TYPE',
  'USAGE_TYPE',
  'REGION',
  'DATABASE_ENGINE',
  'INSTANCE_TYPE_FAMILY',
  'RESOURCE_ID',
]);

/** Cost Explorer's value for a dimension a line has nothing in: `NoOperation`, `NoAZ`. */
function noValue(d: string): string {
  if (d === 'AZ') return 'NoAZ';
  return 'No' + d.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
}

function unitOf(l: LineItem): string {
  return rateOf(l.region, l.service, l.usageType)?.usageType.unit ?? 'N/A';
}

function metricsOf(lines: readonly LineItem[], names: readonly string[]): Metrics {
  const cost = lines.reduce((s, l) => s + l.cost, 0);
  const quantity = lines.reduce((s, l) => s + l.quantity, 0);
  const units = new Set(lines.map(unitOf));
  const out: Metrics = {};
  for (const name of names) {
    const canonical = METRICS.get(name.toLowerCase());
    if (canonical === 'UsageQuantity') {
      out[name] = { Amount: amount(quantity), Unit: units.size === 1 ? [...units][0] : 'N/A' };
    } else if (canonical === 'NormalizedUsageAmount') {
      out[name] = { Amount: '0', Unit: 'N/A' };
    } else {
      out[name] = { Amount: amount(cost), Unit: 'USD' };
    }
  }
  return out;
}

function checkGroups(groups: readonly GroupDefinition[]): void {
  if (groups.length > 2)
    throw validation(
      'GroupBy can have at most 2 elements: you can group by up to two dimensions or tags',
    );
  for (const g of groups) {
    if (g.Type === 'DIMENSION') {
      if (!g.Key || !GROUP_DIMENSIONS.has(g.Key))
        throw validation(
          `Group Definition dimension is invalid. Valid values are ${[...GROUP_DIMENSIONS].join(', ')}`,
        );
    } else if (g.Type === 'TAG' || g.Type === 'COST_CATEGORY') {
      if (!g.Key) throw validation(`Group Definition key is required for ${g.Type}`);
    } else {
      throw validation('Group Definition type is required: DIMENSION, TAG or COST_CATEGORY');
    }
  }
}

async function groupKey(g: GroupDefinition, l: LineItem, tags: TagLookup): Promise<string> {
  if (g.Type === 'TAG') return `${g.Key}$${(await tags.of(l.resource))[g.Key!] ?? ''}`;
  if (g.Type === 'COST_CATEGORY') return `${g.Key}$`;
  return dimensionValue(l, g.Key as Dimension) ?? noValue(g.Key!);
}

const DAY_MS = 86_400_000;
/** How far back GetCostForecast looks for the trend. */
const LOOKBACK_DAYS = 30;
/** z for the prediction interval levels AWS accepts (51–99). */
const z = (level: number) => {
  // The normal quantile by Abramowitz & Stegun 26.2.23 (error < 4.5e-4).
  const p = 0.5 + level / 200;
  const t = Math.sqrt(-2 * Math.log(1 - p));
  return (
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t * t) /
      (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t ** 3)
  );
};

export function costOperations(deps: CeDeps): CostOps {
  return {
    async GetCostAndUsage(input, ctx) {
      const [start, end] = periodOf(input.TimePeriod, input.Granularity);
      if (!input.Metrics?.length) throw validation('Metrics are required');
      for (const m of input.Metrics) {
        if (!METRICS.has(m.toLowerCase()))
          throw validation(
            `Metrics values are invalid: ${m}. Valid values are AmortizedCost, BlendedCost, NetAmortizedCost, NetUnblendedCost, NormalizedUsageAmount, UnblendedCost, UsageQuantity`,
          );
      }
      const groups = input.GroupBy ?? [];
      checkGroups(groups);
      const tags = new TagLookup(deps.resources);
      const lines = await filterLines(
        await linesFor(deps, ctx.account, start, end),
        input.Filter,
        tags,
      );
      const results: ResultByTime[] = [];
      const estimated = deps.now() < end + DAY_MS;
      for (const [from, to] of buckets(start, end, input.Granularity)) {
        const inside = lines.filter((l) => l.hour >= from && l.hour < to);
        const TimePeriod = {
          Start: formatTime(from, input.Granularity),
          End: formatTime(to, input.Granularity),
        };
        if (groups.length === 0) {
          results.push({
            TimePeriod,
            Total: metricsOf(inside, input.Metrics),
            Groups: [],
            Estimated: estimated,
          });
          continue;
        }
        const byKey = new Map<string, { keys: string[]; lines: LineItem[] }>();
        for (const l of inside) {
          const keys: string[] = [];
          for (const g of groups) keys.push(await groupKey(g, l, tags));
          const k = keys.join('\0');
          const held = byKey.get(k);
          if (held) held.lines.push(l);
          else byKey.set(k, { keys, lines: [l] });
        }
        const Groups: Group[] = [...byKey.values()]
          .sort((a, b) => (a.keys.join('\0') < b.keys.join('\0') ? -1 : 1))
          .map((g) => ({ Keys: g.keys, Metrics: metricsOf(g.lines, input.Metrics) }));
        results.push({ TimePeriod, Total: {}, Groups, Estimated: estimated });
      }
      return {
        ...(groups.length > 0 && { GroupDefinitions: groups }),
        ResultsByTime: results,
        DimensionValueAttributes: [],
      };
    },

    /**
     * The recorded trend: the mean daily cost of the last 30 days (from the first day with
     * usage), carried forward; the interval widens with the days' spread.
     */
    async GetCostForecast(input, ctx) {
      const [start, end] = periodOf(input.TimePeriod, input.Granularity);
      const now = deps.now();
      const today = now - (now % DAY_MS);
      if (start < today)
        throw validation(
          'Start date must be equal to or no later than the current date to avoid a mismatch between actual and forecasted costs',
        );
      const metric = input.Metric;
      if (metric === 'NORMALIZED_USAGE_AMOUNT' || metric === 'USAGE_QUANTITY')
        throw validation(
          `Metric ${metric} is not supported by GetCostForecast; use GetUsageForecast`,
        );
      const granularity: Granularity = input.Granularity;
      if (granularity === 'HOURLY')
        throw validation('Hourly granularity is not supported for GetCostForecast');
      const level = input.PredictionIntervalLevel ?? 80;
      if (level < 51 || level > 99)
        throw validation('PredictionIntervalLevel must be between 51 and 99');
      const from = today - LOOKBACK_DAYS * DAY_MS;
      const tags = new TagLookup(deps.resources);
      const lines = await filterLines(
        await linesFor(deps, ctx.account, from, now),
        input.Filter,
        tags,
      );
      const daily = new Map<number, number>();
      for (const l of lines) {
        const day = l.hour - (l.hour % DAY_MS);
        daily.set(day, (daily.get(day) ?? 0) + l.cost);
      }
      const firstDay = Math.min(...daily.keys(), today);
      const days: number[] = [];
      for (let d = firstDay; d <= today; d += DAY_MS) days.push(daily.get(d) ?? 0);
      // Today is not over: scale it to a whole day.
      const todaySoFar = (now - today) / DAY_MS;
      if (todaySoFar > 0.01) days[days.length - 1] /= todaySoFar;
      const mean = days.reduce((s, v) => s + v, 0) / days.length;
      const sd = Math.sqrt(
        days.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, days.length - 1),
      );
      const results: ForecastResult[] = [];
      let total = 0;
      for (const [a, b] of buckets(start, end, granularity)) {
        const n = (b - a) / DAY_MS;
        const value = mean * n;
        const spread = z(level) * sd * Math.sqrt(n);
        total += value;
        results.push({
          TimePeriod: { Start: formatTime(a, granularity), End: formatTime(b, granularity) },
          MeanValue: amount(value),
          PredictionIntervalLowerBound: amount(Math.max(0, value - spread)),
          PredictionIntervalUpperBound: amount(value + spread),
        });
      }
      return { Total: { Amount: amount(total), Unit: 'USD' }, ForecastResultsByTime: results };
    },
  };
}
