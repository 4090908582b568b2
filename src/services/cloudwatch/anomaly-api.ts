/**
 * Anomaly detectors: PutAnomalyDetector, DescribeAnomalyDetectors, DeleteAnomalyDetector.
 * A detector names a metric and statistic (or a metric math expression) and carries the
 * model's configuration (excluded time ranges, time zone); the model itself is computed on
 * demand from the stored data (anomaly-model.ts).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutAnomalyDetector.html
 */
import { InvalidNextToken, ResourceNotFoundException } from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type {
  AnomalyDetector,
  AnomalyDetectorConfiguration,
  Dimension,
  MetricDataQuery,
  MetricMathAnomalyDetector,
  SingleMetricAnomalyDetector,
} from '../../api/cloudwatch/types.js';
import type { MetadataStore } from '../../storage/types.js';
import { pageArray } from '../../shared/paging.js';
import { TRAINING_MS, trainingState, validTimezone, type ModelOptions } from './anomaly-model.js';
import {
  invalidCombination,
  invalidValue,
  missing,
  scopeOf,
  type CloudwatchDeps,
} from './common.js';
import { runQueries, sameDims, type ModelLookup } from './queries.js';
import type { Scope } from './series.js';
import { isKnownStat } from './stats.js';
import { ANOMALY_DETECTORS, scopePrefix } from './store.js';

type AnomalyOps = Pick<
  CloudwatchOperations,
  'PutAnomalyDetector' | 'DescribeAnomalyDetectors' | 'DeleteAnomalyDetector'
>;

/** What a detector row holds: one of the two kinds, and its configuration. */
export interface DetectorRecord {
  single?: Required<Pick<SingleMetricAnomalyDetector, 'Namespace' | 'MetricName' | 'Stat'>> & {
    Dimensions: Dimension[];
  };
  math?: MetricDataQuery[];
  /** Epoch ms. */
  excluded: { start: number; end: number }[];
  timezone?: string;
  periodicSpikes?: boolean;
}

/** Identity fields of Put/Delete: the deprecated top-level ones or one of the two kinds. */
interface IdentityInput {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
  Stat?: string;
  SingleMetricAnomalyDetector?: SingleMetricAnomalyDetector;
  MetricMathAnomalyDetector?: MetricMathAnomalyDetector;
}

const DESCRIBE_MAX = 100;
/** The period the training data are counted at for DescribeAnomalyDetectors' StateValue. */
const STATE_PERIOD = 300;

const sortDims = (dims: readonly Dimension[]): Dimension[] =>
  [...dims].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));

/** The detector a request names, checked as AWS checks it. */
function identityOf(input: IdentityInput): Pick<DetectorRecord, 'single' | 'math'> {
  const legacy =
    input.Namespace !== undefined ||
    input.MetricName !== undefined ||
    input.Dimensions !== undefined ||
    input.Stat !== undefined;
  const kinds = [
    legacy,
    input.SingleMetricAnomalyDetector !== undefined,
    input.MetricMathAnomalyDetector !== undefined,
  ].filter(Boolean).length;
  if (kinds > 1) {
    throw invalidCombination(
      'The parameters SingleMetricAnomalyDetector, MetricMathAnomalyDetector and Namespace, MetricName, Dimensions, Stat are mutually exclusive and you have specified more than one.',
    );
  }
  if (input.MetricMathAnomalyDetector) {
    const queries = input.MetricMathAnomalyDetector.MetricDataQueries ?? [];
    if (queries.length === 0) throw missing('MetricMathAnomalyDetector.MetricDataQueries');
    const returning = queries.filter((q) => q.ReturnData ?? true);
    if (returning.length !== 1) {
      throw invalidValue(
        'Exactly one element of MetricMathAnomalyDetector.MetricDataQueries should return data.',
      );
    }
    for (const q of queries) {
      if ((q.MetricStat === undefined) === (q.Expression === undefined)) {
        throw invalidValue(
          `Exactly one of MetricStat and Expression must be specified for query ${q.Id}.`,
        );
      }
    }
    return { math: queries };
  }
  const s: SingleMetricAnomalyDetector = input.SingleMetricAnomalyDetector ?? input;
  if (s.Namespace === undefined) throw missing('Namespace');
  if (s.MetricName === undefined) throw missing('MetricName');
  if (s.Stat === undefined) throw missing('Stat');
  if (!isKnownStat(s.Stat)) {
    throw invalidValue(`The value ${s.Stat} for parameter Stat is not supported.`);
  }
  return {
    single: {
      Namespace: s.Namespace,
      MetricName: s.MetricName,
      Stat: s.Stat,
      Dimensions: sortDims(s.Dimensions ?? []),
    },
  };
}

/** The row key: scope, then the identity (deterministic JSON). */
function detectorKey(scope: Scope, id: Pick<DetectorRecord, 'single' | 'math'>): string {
  return `${scopePrefix(scope)}${id.single ? 'S' : 'M'}${JSON.stringify(id.single ?? id.math)}`;
}

function configurationOf(c: AnomalyDetectorConfiguration | undefined): {
  excluded: DetectorRecord['excluded'];
  timezone?: string;
} {
  const excluded = (c?.ExcludedTimeRanges ?? []).map((r, i) => {
    const start = r.StartTime.getTime();
    const end = r.EndTime.getTime();
    if (end <= start) {
      throw invalidValue(
        `The value of Configuration.ExcludedTimeRanges.member.${i + 1}.EndTime must be after its StartTime.`,
      );
    }
    return { start, end };
  });
  const tz = c?.MetricTimezone;
  if (tz !== undefined && !validTimezone(tz)) {
    throw invalidValue(`The value ${tz} for parameter Configuration.MetricTimezone is invalid.`);
  }
  return { excluded, ...(tz !== undefined && { timezone: tz }) };
}

/** The detectors of a scope as a lookup for runQueries (ANOMALY_DETECTION_BAND). */
export async function detectorLookup(store: MetadataStore, scope: Scope): Promise<ModelLookup> {
  const rows = await store.list<DetectorRecord>(ANOMALY_DETECTORS, {
    prefix: scopePrefix(scope),
  });
  if (rows.length === 0) return () => undefined;
  return (q): ModelOptions | undefined => {
    const found = rows.find(({ value: d }) => {
      if (q.MetricStat && d.single) {
        const m = q.MetricStat.Metric;
        return (
          d.single.Namespace === m.Namespace &&
          d.single.MetricName === m.MetricName &&
          d.single.Stat === q.MetricStat.Stat &&
          sameDims(d.single.Dimensions, m.Dimensions ?? [])
        );
      }
      if (q.Expression !== undefined && d.math) {
        return d.math.find((x) => x.ReturnData ?? true)?.Expression === q.Expression;
      }
      return false;
    })?.value;
    return found && { excluded: found.excluded, timezone: found.timezone };
  };
}

export function anomalyOperations(deps: CloudwatchDeps): AnomalyOps {
  const { store } = deps;

  /** TRAINED, TRAINED_INSUFFICIENT_DATA or PENDING_TRAINING from the last two weeks' data. */
  async function stateOf(scope: Scope, d: DetectorRecord): Promise<AnomalyDetector['StateValue']> {
    const now = deps.now();
    const queries: MetricDataQuery[] = d.math
      ? d.math.map((q) => (q.MetricStat ? q : { ...q, Period: q.Period ?? STATE_PERIOD }))
      : [
          {
            Id: 'm',
            MetricStat: {
              Metric: {
                Namespace: d.single!.Namespace,
                MetricName: d.single!.MetricName,
                Dimensions: d.single!.Dimensions,
              },
              Period: STATE_PERIOD,
              Stat: d.single!.Stat,
            },
          },
        ];
    try {
      const results = await runQueries(deps.metrics, scope, queries, now - TRAINING_MS, now, {
        now,
      });
      const main = results.find((r) => r.returnData);
      return trainingState(main?.values.length ?? 0);
    } catch {
      return 'PENDING_TRAINING';
    }
  }

  async function view(scope: Scope, d: DetectorRecord): Promise<AnomalyDetector> {
    const configuration: AnomalyDetectorConfiguration = {
      ExcludedTimeRanges: d.excluded.map((r) => ({
        StartTime: new Date(r.start),
        EndTime: new Date(r.end),
      })),
      ...(d.timezone !== undefined && { MetricTimezone: d.timezone }),
    };
    const common = {
      Configuration: configuration,
      StateValue: await stateOf(scope, d),
      MetricCharacteristics: { PeriodicSpikes: d.periodicSpikes ?? false },
    };
    if (d.math) return { ...common, MetricMathAnomalyDetector: { MetricDataQueries: d.math } };
    // AWS still fills the deprecated top-level fields of a single-metric detector.
    const s = d.single!;
    return {
      Namespace: s.Namespace,
      MetricName: s.MetricName,
      Dimensions: s.Dimensions,
      Stat: s.Stat,
      ...common,
      SingleMetricAnomalyDetector: { ...s },
    };
  }

  return {
    async PutAnomalyDetector(input, ctx) {
      const scope = scopeOf(ctx);
      const id = identityOf(input);
      const record: DetectorRecord = {
        ...id,
        ...configurationOf(input.Configuration),
        ...(input.MetricCharacteristics?.PeriodicSpikes !== undefined && {
          periodicSpikes: input.MetricCharacteristics.PeriodicSpikes,
        }),
      };
      await store.put(ANOMALY_DETECTORS, detectorKey(scope, id), record);
      return {};
    },

    async DescribeAnomalyDetectors(input, ctx) {
      const scope = scopeOf(ctx);
      const max = input.MaxResults ?? DESCRIBE_MAX;
      if (max < 1 || max > DESCRIBE_MAX) {
        throw invalidValue(
          `The value ${max} for parameter MaxResults is invalid: it must be between 1 and ${DESCRIBE_MAX}.`,
        );
      }
      const types = input.AnomalyDetectorTypes ?? [];
      const filters = input.Dimensions ?? [];
      const rows = await store.list<DetectorRecord>(ANOMALY_DETECTORS, {
        prefix: scopePrefix(scope),
      });
      const kept = rows.filter(({ value: d }) => {
        if (types.length && !types.includes(d.math ? 'METRIC_MATH' : 'SINGLE_METRIC')) {
          return false;
        }
        const filtered =
          input.Namespace !== undefined || input.MetricName !== undefined || filters.length > 0;
        // Namespace, MetricName and Dimensions filter single-metric detectors.
        if (!filtered) return true;
        const s = d.single;
        if (!s) return false;
        return (
          (input.Namespace === undefined || s.Namespace === input.Namespace) &&
          (input.MetricName === undefined || s.MetricName === input.MetricName) &&
          filters.every((f) => s.Dimensions.some((x) => x.Name === f.Name && x.Value === f.Value))
        );
      });
      const page = pageArray(kept, (r) => r.key, {
        marker: input.NextToken,
        max,
        resume: 'after',
        invalid: () => new InvalidNextToken('The service cannot find the NextToken.'),
      });
      return {
        AnomalyDetectors: await Promise.all(page.items.map((r) => view(scope, r.value))),
        ...(page.next !== undefined && { NextToken: page.next }),
      };
    },

    async DeleteAnomalyDetector(input, ctx) {
      const scope = scopeOf(ctx);
      const key = detectorKey(scope, identityOf(input));
      if (!(await store.delete(ANOMALY_DETECTORS, key))) {
        throw new ResourceNotFoundException('No anomaly detection model found for given metric.');
      }
      return {};
    },
  };
}
