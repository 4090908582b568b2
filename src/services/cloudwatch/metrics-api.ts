/**
 * PutMetricData, GetMetricStatistics, GetMetricData and ListMetrics.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
 */
import { InvalidNextToken } from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type {
  Datapoint,
  Metric,
  MetricDataResult,
  MetricDatum,
} from '../../api/cloudwatch/types.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import {
  invalidCombination,
  invalidValue,
  missing,
  scopeOf,
  validPeriod,
  type CloudwatchDeps,
} from './common.js';
import { detectorLookup } from './anomaly-api.js';
import { alignDown, runQueries } from './queries.js';
import type { Point } from './series.js';
import { percentileOf, percentile, standardStat, type StandardStat } from './stats.js';

type MetricOps = Pick<
  CloudwatchOperations,
  'PutMetricData' | 'GetMetricStatistics' | 'GetMetricData' | 'ListMetrics'
>;

const TWO_WEEKS = 14 * 86400_000;
const TWO_HOURS = 2 * 3600_000;
const MAX_DATAPOINTS = 1440;
const LIST_PAGE = 500;
/** "RecentlyActive … PT3H is the only valid value": metrics with data in the past 3 hours. */
const RECENT = 3 * 3600_000;

/** The data points of one MetricDatum, checked as AWS checks them. */
function pointsOf(namespace: string, d: MetricDatum, i: number, now: number): Point[] {
  const at = `MetricData.member.${i + 1}`;
  const time = d.Timestamp?.getTime() ?? now;
  if (time > now + TWO_HOURS) {
    throw invalidValue(
      `The parameter ${at}.Timestamp must specify a time no more than two hours in the future.`,
    );
  }
  if (time < now - TWO_WEEKS) {
    throw invalidValue(
      `The parameter ${at}.Timestamp must specify a time within the past two weeks.`,
    );
  }
  const given = [d.Value !== undefined, d.StatisticValues !== undefined, d.Values !== undefined];
  if (given.filter(Boolean).length > 1) {
    throw invalidCombination(
      `The parameters ${at}.Value, ${at}.StatisticValues and ${at}.Values are mutually exclusive and you have specified more than one.`,
    );
  }
  const finite = (v: number, what: string): number => {
    if (!Number.isFinite(v))
      throw invalidValue(`The value ${v} for parameter ${at}.${what} is invalid.`);
    return v;
  };
  const res = d.StorageResolution ?? 60;
  if (res !== 1 && res !== 60) {
    throw invalidValue(`The value ${res} for parameter ${at}.StorageResolution is invalid.`);
  }
  const base = {
    namespace,
    name: d.MetricName,
    dims: d.Dimensions ?? [],
    time,
    unit: d.Unit ?? 'None',
    resolution: res,
  };
  if (d.StatisticValues) {
    const s = d.StatisticValues;
    return [
      {
        ...base,
        set: {
          n: finite(s.SampleCount, 'StatisticValues.SampleCount'),
          sum: finite(s.Sum, 'StatisticValues.Sum'),
          min: finite(s.Minimum, 'StatisticValues.Minimum'),
          max: finite(s.Maximum, 'StatisticValues.Maximum'),
        },
      },
    ];
  }
  if (d.Values) {
    if (d.Counts && d.Counts.length !== d.Values.length) {
      throw invalidCombination(
        `The parameters ${at}.Values and ${at}.Counts must be of the same size.`,
      );
    }
    d.Values.forEach((v, j) => finite(v, `Values.member.${j + 1}`));
    return [{ ...base, values: d.Values, counts: d.Counts }];
  }
  // A datum carries one of Value, Values or StatisticValues.
  if (d.Value === undefined) throw missing(`${at}.Value`);
  return [{ ...base, value: finite(d.Value, 'Value') }];
}

function checkDimensions(dims: readonly { Name: string; Value: string }[], at: string): void {
  const seen = new Set<string>();
  for (const d of dims) {
    if (seen.has(d.Name)) {
      throw invalidValue(`The dimension ${d.Name} for parameter ${at}.Dimensions is duplicated.`);
    }
    seen.add(d.Name);
  }
}

export function metricOperations(deps: CloudwatchDeps): MetricOps {
  const { metrics } = deps;
  return {
    async PutMetricData(input, ctx) {
      const now = deps.now();
      if (input.Namespace.startsWith('AWS/')) {
        throw invalidValue(
          `The value AWS/ for parameter Namespace is invalid. Namespaces that start with "AWS/" are reserved for use by Amazon Web Services products.`,
        );
      }
      const data = [
        ...(input.MetricData ?? []),
        ...(input.EntityMetricData ?? []).flatMap((e) => e.MetricData ?? []),
      ];
      if (data.length === 0) throw missing('MetricData');
      const points: Point[] = [];
      data.forEach((d, i) => {
        checkDimensions(d.Dimensions ?? [], `MetricData.member.${i + 1}`);
        points.push(...pointsOf(input.Namespace, d, i, now));
      });
      await metrics.put(scopeOf(ctx), points);
    },

    async GetMetricStatistics(input, ctx) {
      const stats = input.Statistics ?? [];
      const extended = input.ExtendedStatistics ?? [];
      if (stats.length === 0 && extended.length === 0) {
        throw missing('Statistics or ExtendedStatistics');
      }
      if (stats.length > 0 && extended.length > 0) {
        throw invalidCombination(
          'The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.',
        );
      }
      for (const e of extended) {
        if (percentileOf(e) === undefined) {
          throw invalidValue(`The value ${e} for parameter ExtendedStatistics is not supported.`);
        }
      }
      const start = input.StartTime.getTime();
      const end = input.EndTime.getTime();
      if (end <= start) {
        throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
      }
      if (!validPeriod(input.Period)) {
        throw invalidValue(
          'The parameter Period must be 1, 5, 10, 20, 30, 60, or any multiple of 60.',
        );
      }
      const from = alignDown(start, input.Period);
      const requested = Math.ceil((end - from) / (input.Period * 1000));
      if (requested > MAX_DATAPOINTS) {
        throw invalidCombination(
          `You have requested up to ${requested.toLocaleString('en-US')} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
        );
      }
      const series = await metrics.find(
        scopeOf(ctx),
        input.Namespace,
        input.MetricName,
        input.Dimensions ?? [],
      );
      const datapoints: Datapoint[] = [];
      if (series) {
        const buckets = metrics.aggregate(
          series,
          from,
          end,
          input.Period,
          input.Unit,
          extended.length > 0,
        );
        for (const b of [...buckets.values()].sort((a, z) => a.t - z.t)) {
          const dp: Datapoint = { Timestamp: new Date(b.t), Unit: b.u as Datapoint['Unit'] };
          for (const s of stats) dp[s as StandardStat] = standardStat(b, s as StandardStat);
          if (extended.length) {
            const ext: Record<string, number> = {};
            for (const e of extended) {
              const v = percentile(b, percentileOf(e)!);
              if (v !== undefined) ext[e] = v;
            }
            dp.ExtendedStatistics = ext;
          }
          datapoints.push(dp);
        }
      }
      return { Label: input.MetricName, Datapoints: datapoints };
    },

    async GetMetricData(input, ctx) {
      const start = input.StartTime.getTime();
      const end = input.EndTime.getTime();
      if (end <= start) {
        throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
      }
      for (const q of input.MetricDataQueries) {
        const p = q.MetricStat?.Period ?? q.Period;
        if (p !== undefined && !validPeriod(p)) {
          throw invalidValue(
            `The value ${p} for parameter MetricDataQueries.Period is invalid: it must be 1, 5, 10, 20, 30, 60, or any multiple of 60.`,
          );
        }
      }
      const returned = input.MetricDataQueries.filter((q) => q.ReturnData ?? true);
      if (returned.length === 0) {
        throw invalidValue('At least one query must have ReturnData set to true.');
      }
      const results = (
        await runQueries(metrics, scopeOf(ctx), input.MetricDataQueries, start, end, {
          modelOf: await detectorLookup(deps.store, scopeOf(ctx)),
        })
      ).filter((r) => r.returnData);
      const descending = (input.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
      // Paging: the token says how many points of the flattened results were returned.
      let offset = 0;
      if (input.NextToken !== undefined) {
        const t = decodeToken(input.NextToken);
        if (typeof t !== 'object' || t === null || typeof (t as { o?: unknown }).o !== 'number') {
          throw new InvalidNextToken('The service cannot find the NextToken.');
        }
        offset = (t as { o: number }).o;
      }
      let budget = input.MaxDatapoints ?? 100_800;
      let skip = offset;
      let more = false;
      const out: MetricDataResult[] = [];
      for (const r of results) {
        let ts = r.timestamps;
        let vs = r.values;
        if (descending) {
          ts = [...ts].reverse();
          vs = [...vs].reverse();
        }
        const from = Math.min(skip, ts.length);
        skip -= from;
        const take = Math.min(budget, ts.length - from);
        budget -= take;
        const partial = from + take < ts.length;
        if (partial) more = true;
        out.push({
          Id: r.id,
          Label: r.label,
          Timestamps: ts.slice(from, from + take).map((t) => new Date(t)),
          Values: vs.slice(from, from + take),
          StatusCode: partial ? 'PartialData' : 'Complete',
          Messages: [],
        });
        offset += take;
      }
      return {
        MetricDataResults: out,
        Messages: [],
        ...(more && { NextToken: encodeToken({ o: offset }) }),
      };
    },

    async ListMetrics(input, ctx) {
      const now = deps.now();
      const all = await metrics.all(scopeOf(ctx));
      const filters = input.Dimensions ?? [];
      const matching = all
        .filter(
          (s) =>
            (input.Namespace === undefined || s.namespace === input.Namespace) &&
            (input.MetricName === undefined || s.name === input.MetricName) &&
            (input.RecentlyActive === undefined || s.lastPut >= now - RECENT) &&
            filters.every((f) =>
              s.dims.some(
                (d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value),
              ),
            ),
        )
        .map((s): Metric & { key: string } => ({
          key: `${s.namespace}\u0000${s.name}\u0000${s.id}`,
          Namespace: s.namespace,
          MetricName: s.name,
          Dimensions: s.dims,
        }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      let from = 0;
      if (input.NextToken !== undefined) {
        const t = decodeToken(input.NextToken);
        if (typeof t !== 'string')
          throw new InvalidNextToken('The service cannot find the NextToken.');
        from = matching.findIndex((m) => m.key > t);
        if (from < 0) from = matching.length;
      }
      const page = matching.slice(from, from + LIST_PAGE);
      const next = from + LIST_PAGE < matching.length ? page[page.length - 1].key : undefined;
      return {
        Metrics: page.map(({ key: _key, ...m }) => m),
        ...(next !== undefined && { NextToken: encodeToken(next) }),
      };
    },
  };
}
