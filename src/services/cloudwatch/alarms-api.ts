/**
 * Metric alarms, composite alarms, their history and actions switches.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
 */
import {
  InvalidFormatFault,
  InvalidNextToken,
  ResourceNotFound,
} from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type {
  AlarmHistoryItem,
  CompositeAlarm,
  MetricAlarm,
  MetricDataQuery,
} from '../../api/cloudwatch/types.js';
import { parseArn } from '../../shared/arn.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import { BAND_OPERATORS } from './alarm-engine.js';
import { parseRule, ruleAlarms, RuleError } from './alarm-rule.js';
import {
  alarmArn,
  invalidCombination,
  invalidValue,
  missing,
  scopeOf,
  validPeriod,
  type CloudwatchDeps,
} from './common.js';
import { sameDims } from './queries.js';
import type { Scope } from './series.js';
import { isKnownStat, percentileOf } from './stats.js';
import { ALARMS, HISTORY, TAGS, alarmKey, scopePrefix, type AlarmRecord } from './store.js';

type AlarmOps = Pick<
  CloudwatchOperations,
  | 'PutMetricAlarm'
  | 'PutCompositeAlarm'
  | 'DescribeAlarms'
  | 'DescribeAlarmsForMetric'
  | 'DeleteAlarms'
  | 'SetAlarmState'
  | 'DescribeAlarmHistory'
  | 'EnableAlarmActions'
  | 'DisableAlarmActions'
>;

const TREAT_MISSING = ['breaching', 'notBreaching', 'ignore', 'missing'];
const PAGE = 50;

function checkActions(actions: readonly string[] | undefined, member: string): void {
  for (const a of actions ?? []) {
    if (!parseArn(a)) throw invalidValue(`Invalid arn syntax: ${a}`);
  }
  if ((actions?.length ?? 0) > 5) {
    throw invalidValue(`The collection ${member} must not have a size greater than 5.`);
  }
}

/**
 * An anomaly detection alarm: ThresholdMetricId names an ANOMALY_DETECTION_BAND query, and
 * both it and the metric it compares return data.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html
 */
function checkBandAlarm(
  metrics: readonly MetricDataQuery[],
  band: string,
  returning: number,
): void {
  const q = metrics.find((m) => m.Id === band);
  if (!q) throw invalidValue(`The ThresholdMetricId ${band} does not match any metric Id.`);
  if (!/^\s*ANOMALY_DETECTION_BAND\s*\(/.test(q.Expression ?? '')) {
    throw invalidValue(
      `The ThresholdMetricId ${band} must refer to an ANOMALY_DETECTION_BAND expression.`,
    );
  }
  if (returning !== 2 || !(q.ReturnData ?? true)) {
    throw invalidValue(
      'Exactly two elements of the metrics list should return data: the metric and its anomaly detection band.',
    );
  }
}

type MetricAlarmRecord = Extract<AlarmRecord, { kind: 'MetricAlarm' }>;

function view(a: AlarmRecord): MetricAlarm | CompositeAlarm {
  const { kind: _kind, ...rest } = a;
  return rest;
}

export function alarmOperations(deps: CloudwatchDeps): AlarmOps {
  const { store } = deps;

  async function listScope(scope: Scope): Promise<AlarmRecord[]> {
    return (await store.list<AlarmRecord>(ALARMS, { prefix: scopePrefix(scope) })).map(
      (i) => i.value,
    );
  }

  /** Stores a new or updated alarm (its state kept), with a ConfigurationUpdate item. */
  async function save(scope: Scope, rec: AlarmRecord, tags: { Key: string; Value: string }[]) {
    const now = deps.now();
    const created = await store.transaction(async (tx) => {
      const key = alarmKey(scope, rec.AlarmName);
      const old = await tx.get<AlarmRecord>(ALARMS, key);
      if (old && old.kind !== rec.kind) {
        throw invalidValue(
          `The alarm ${rec.AlarmName} is a ${old.kind === 'MetricAlarm' ? 'metric' : 'composite'} alarm.`,
        );
      }
      const stored: AlarmRecord = {
        ...rec,
        AlarmConfigurationUpdatedTimestamp: new Date(now),
        StateValue: old?.StateValue ?? 'INSUFFICIENT_DATA',
        StateReason: old?.StateReason ?? 'Unchecked: Initial alarm creation',
        StateUpdatedTimestamp: old?.StateUpdatedTimestamp ?? new Date(now),
        StateTransitionedTimestamp: old?.StateTransitionedTimestamp ?? new Date(now),
        ...(old?.StateReasonData !== undefined && { StateReasonData: old.StateReasonData }),
      } as AlarmRecord;
      await tx.put(ALARMS, key, stored);
      if (tags.length) {
        const existing = (await tx.get<Record<string, string>>(TAGS, rec.AlarmArn)) ?? {};
        for (const t of tags) existing[t.Key] = t.Value;
        await tx.put(TAGS, rec.AlarmArn, existing);
      }
      await tx.put(HISTORY, deps.alarms.historyKey(scope, rec.AlarmName, now), {
        AlarmName: rec.AlarmName,
        AlarmType: rec.kind,
        Timestamp: new Date(now),
        HistoryItemType: 'ConfigurationUpdate',
        HistorySummary: `Alarm "${rec.AlarmName}" ${old ? 'updated' : 'created'}`,
        HistoryData: JSON.stringify({
          version: '1.0',
          type: old ? 'Update' : 'Create',
          updatedAlarm: view(stored),
        }),
      } satisfies AlarmHistoryItem);
      return !old;
    });
    // A new alarm is evaluated at once rather than at the next tick.
    if (created) void deps.alarms.evaluateAll();
  }

  return {
    async PutMetricAlarm(input, ctx) {
      const scope = scopeOf(ctx);
      const single = input.MetricName !== undefined || input.Namespace !== undefined;
      const math = input.Metrics !== undefined && input.Metrics.length > 0;
      if (single && math) {
        throw invalidCombination(
          'The parameters MetricName and Metrics are mutually exclusive and you have specified both.',
        );
      }
      if (!single && !math) throw missing('MetricName');
      if (input.EvaluationPeriods === undefined) throw missing('EvaluationPeriods');
      if (input.ComparisonOperator === undefined) throw missing('ComparisonOperator');
      if (input.Threshold === undefined && input.ThresholdMetricId === undefined) {
        throw missing('Threshold');
      }
      if (input.Threshold !== undefined && input.ThresholdMetricId !== undefined) {
        throw invalidCombination(
          'The parameters Threshold and ThresholdMetricId are mutually exclusive and you have specified both.',
        );
      }
      const bandOperator = BAND_OPERATORS.includes(input.ComparisonOperator);
      if (bandOperator !== (input.ThresholdMetricId !== undefined)) {
        throw invalidValue(
          bandOperator
            ? `ComparisonOperator ${input.ComparisonOperator} is only supported for alarms with a ThresholdMetricId.`
            : `ComparisonOperator ${input.ComparisonOperator} is not supported for alarms with a ThresholdMetricId.`,
        );
      }
      if (single && input.ThresholdMetricId !== undefined) {
        throw invalidCombination(
          'The parameter ThresholdMetricId can only be used with the Metrics parameter.',
        );
      }
      if (single) {
        if (input.Namespace === undefined) throw missing('Namespace');
        if (input.Period === undefined) throw missing('Period');
        if (!validPeriod(input.Period)) {
          throw invalidValue('Period must be 10, 20, 30 or a multiple of 60.');
        }
        if ((input.Statistic === undefined) === (input.ExtendedStatistic === undefined)) {
          throw invalidCombination(
            'Exactly one of Statistic and ExtendedStatistic must be specified.',
          );
        }
        if (
          input.ExtendedStatistic !== undefined &&
          percentileOf(input.ExtendedStatistic) === undefined
        ) {
          throw invalidValue(
            `The value ${input.ExtendedStatistic} for parameter ExtendedStatistic is not supported.`,
          );
        }
      } else {
        const returning = input.Metrics!.filter((q) => q.ReturnData ?? true);
        const band = input.ThresholdMetricId;
        if (band === undefined && returning.length !== 1) {
          throw invalidValue('Exactly one element of the metrics list should return data.');
        }
        if (band !== undefined) checkBandAlarm(input.Metrics!, band, returning.length);
        for (const q of input.Metrics!) {
          if (q.MetricStat && !isKnownStat(q.MetricStat.Stat)) {
            throw invalidValue(
              `The value ${q.MetricStat.Stat} for parameter Stat is not supported.`,
            );
          }
        }
      }
      const dta = input.DatapointsToAlarm ?? input.EvaluationPeriods;
      if (dta > input.EvaluationPeriods) {
        throw invalidValue('DatapointsToAlarm must be less than or equal to EvaluationPeriods.');
      }
      if (input.TreatMissingData !== undefined && !TREAT_MISSING.includes(input.TreatMissingData)) {
        throw invalidValue(
          `The value ${input.TreatMissingData} for parameter TreatMissingData is invalid. Valid values are: ${TREAT_MISSING.join(', ')}.`,
        );
      }
      checkActions(input.AlarmActions, 'AlarmActions');
      checkActions(input.OKActions, 'OKActions');
      checkActions(input.InsufficientDataActions, 'InsufficientDataActions');
      const { Tags, EvaluationCriteria: _c, EvaluationInterval: _i, ...config } = input;
      const rec: MetricAlarmRecord = {
        kind: 'MetricAlarm',
        ...config,
        AlarmArn: alarmArn(scope, input.AlarmName),
        ActionsEnabled: input.ActionsEnabled ?? true,
        OKActions: input.OKActions ?? [],
        AlarmActions: input.AlarmActions ?? [],
        InsufficientDataActions: input.InsufficientDataActions ?? [],
        Dimensions: input.Dimensions ?? (single ? [] : undefined),
      };
      await save(scope, rec, Tags ?? []);
    },

    async PutCompositeAlarm(input, ctx) {
      const scope = scopeOf(ctx);
      try {
        parseRule(input.AlarmRule);
      } catch (err) {
        if (err instanceof RuleError) {
          throw invalidValue(`Error in alarm rule: ${err.message}`);
        }
        throw err;
      }
      checkActions(input.AlarmActions, 'AlarmActions');
      checkActions(input.OKActions, 'OKActions');
      checkActions(input.InsufficientDataActions, 'InsufficientDataActions');
      const { Tags, ...config } = input;
      await save(
        scope,
        {
          kind: 'CompositeAlarm',
          ...config,
          AlarmArn: alarmArn(scope, input.AlarmName),
          ActionsEnabled: input.ActionsEnabled ?? true,
          OKActions: input.OKActions ?? [],
          AlarmActions: input.AlarmActions ?? [],
          InsufficientDataActions: input.InsufficientDataActions ?? [],
        },
        Tags ?? [],
      );
    },

    async DescribeAlarms(input, ctx) {
      const types = input.AlarmTypes ?? ['MetricAlarm'];
      let all = (await listScope(scopeOf(ctx))).filter((a) => types.includes(a.kind));
      if (input.AlarmNames && input.AlarmNamePrefix !== undefined) {
        throw invalidCombination(
          'The parameters AlarmNames and AlarmNamePrefix are mutually exclusive and you have specified both.',
        );
      }
      if (input.AlarmNames) all = all.filter((a) => input.AlarmNames!.includes(a.AlarmName));
      if (input.AlarmNamePrefix !== undefined) {
        all = all.filter((a) => a.AlarmName.startsWith(input.AlarmNamePrefix!));
      }
      if (input.StateValue) all = all.filter((a) => a.StateValue === input.StateValue);
      if (input.ActionPrefix !== undefined) {
        const p = input.ActionPrefix;
        all = all.filter((a) =>
          [
            ...(a.AlarmActions ?? []),
            ...(a.OKActions ?? []),
            ...(a.InsufficientDataActions ?? []),
          ].some((x) => x.startsWith(p)),
        );
      }
      if (input.ChildrenOfAlarmName !== undefined || input.ParentsOfAlarmName !== undefined) {
        all = await relatives(input.ChildrenOfAlarmName, input.ParentsOfAlarmName, all, ctx);
      }
      let from = 0;
      if (input.NextToken !== undefined) {
        const t = decodeToken(input.NextToken);
        if (typeof t !== 'string')
          throw new InvalidNextToken('The service cannot find the NextToken.');
        from = all.findIndex((a) => a.AlarmName > t);
        if (from < 0) from = all.length;
      }
      const max = input.MaxRecords ?? PAGE;
      const page = all.slice(from, from + max);
      const next = from + max < all.length ? page[page.length - 1].AlarmName : undefined;
      return {
        MetricAlarms: page.filter((a) => a.kind === 'MetricAlarm').map(view),
        CompositeAlarms: page.filter((a) => a.kind === 'CompositeAlarm').map(view),
        ...(next !== undefined && { NextToken: encodeToken(next) }),
      };
    },

    async DescribeAlarmsForMetric(input, ctx) {
      const all = await listScope(scopeOf(ctx));
      const dims = input.Dimensions ?? [];
      const matching = all.filter(
        (a): a is MetricAlarmRecord =>
          a.kind === 'MetricAlarm' &&
          a.Namespace === input.Namespace &&
          a.MetricName === input.MetricName &&
          sameDims(a.Dimensions ?? [], dims) &&
          (input.Statistic === undefined || a.Statistic === input.Statistic) &&
          (input.ExtendedStatistic === undefined ||
            a.ExtendedStatistic === input.ExtendedStatistic) &&
          (input.Period === undefined || a.Period === input.Period) &&
          (input.Unit === undefined || a.Unit === input.Unit),
      );
      return { MetricAlarms: matching.map(view) };
    },

    async DeleteAlarms(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const missingNames: string[] = [];
        for (const name of input.AlarmNames) {
          if (!(await tx.get(ALARMS, alarmKey(scope, name)))) missingNames.push(name);
        }
        if (missingNames.length) {
          throw new ResourceNotFound(
            `1 validation error detected: alarms [${missingNames.join(', ')}] not found`,
          );
        }
        for (const name of input.AlarmNames) {
          const key = alarmKey(scope, name);
          await tx.delete(ALARMS, key);
          await tx.delete(TAGS, alarmArn(scope, name));
        }
      });
    },

    async SetAlarmState(input, ctx) {
      if (input.StateReasonData !== undefined) {
        try {
          JSON.parse(input.StateReasonData);
        } catch {
          throw new InvalidFormatFault('The StateReasonData must be valid JSON.');
        }
      }
      const ok = await deps.alarms.transition(
        scopeOf(ctx),
        input.AlarmName,
        { state: input.StateValue, reason: input.StateReason, reasonData: input.StateReasonData },
        true,
      );
      if (!ok) throw new ResourceNotFound(`Alarm ${input.AlarmName} not found`);
    },

    async DescribeAlarmHistory(input, ctx) {
      const scope = scopeOf(ctx);
      const prefix =
        input.AlarmName !== undefined
          ? `${scopePrefix(scope)}${input.AlarmName}\u0000`
          : scopePrefix(scope);
      const start = input.StartDate?.getTime() ?? -Infinity;
      const end = input.EndDate?.getTime() ?? Infinity;
      const items = (await store.list<AlarmHistoryItem>(HISTORY, { prefix }))
        .map((i) => i.value)
        .filter((h) => {
          const t = h.Timestamp ? new Date(h.Timestamp).getTime() : 0;
          return (
            t >= start &&
            t <= end &&
            (input.HistoryItemType === undefined || h.HistoryItemType === input.HistoryItemType) &&
            (input.AlarmTypes === undefined || input.AlarmTypes.includes(h.AlarmType!))
          );
        })
        .map((h, i) => ({ h, i }))
        .sort((a, b) => {
          const d = new Date(a.h.Timestamp!).getTime() - new Date(b.h.Timestamp!).getTime();
          return d !== 0 ? d : a.i - b.i;
        })
        .map(({ h }) => h);
      if ((input.ScanBy ?? 'TimestampDescending') === 'TimestampDescending') items.reverse();
      let from = 0;
      if (input.NextToken !== undefined) {
        const t = decodeToken(input.NextToken);
        if (typeof t !== 'number')
          throw new InvalidNextToken('The service cannot find the NextToken.');
        from = t;
      }
      const max = input.MaxRecords ?? 100;
      const page = items.slice(from, from + max);
      return {
        AlarmHistoryItems: page,
        ...(from + max < items.length && { NextToken: encodeToken(from + max) }),
      };
    },

    async EnableAlarmActions(input, ctx) {
      await setActions(scopeOf(ctx), input.AlarmNames, true);
    },

    async DisableAlarmActions(input, ctx) {
      await setActions(scopeOf(ctx), input.AlarmNames, false);
    },
  };

  async function setActions(scope: Scope, names: readonly string[], enabled: boolean) {
    await store.transaction(async (tx) => {
      for (const name of names) {
        const key = alarmKey(scope, name);
        const a = await tx.get<AlarmRecord>(ALARMS, key);
        if (a) await tx.put(ALARMS, key, { ...a, ActionsEnabled: enabled });
      }
    });
  }

  /** ChildrenOfAlarmName: the alarms a composite's rule names; ParentsOfAlarmName: the reverse. */
  async function relatives(
    childrenOf: string | undefined,
    parentsOf: string | undefined,
    all: AlarmRecord[],
    ctx: Parameters<AlarmOps['DescribeAlarms']>[1],
  ): Promise<AlarmRecord[]> {
    const everything = await listScope(scopeOf(ctx));
    const named = (rule: string | undefined): string[] => {
      try {
        return rule ? ruleAlarms(parseRule(rule)) : [];
      } catch {
        return [];
      }
    };
    if (childrenOf !== undefined) {
      const parent = everything.find((a) => a.AlarmName === childrenOf);
      const names = parent?.kind === 'CompositeAlarm' ? named(parent.AlarmRule) : [];
      return everything.filter((a) => names.includes(a.AlarmName) || names.includes(a.AlarmArn));
    }
    const child = everything.find((a) => a.AlarmName === parentsOf);
    if (!child) return [];
    return all.filter(
      (a) =>
        a.kind === 'CompositeAlarm' &&
        named(a.AlarmRule).some((n) => n === child.AlarmName || n === child.AlarmArn),
    );
  }
}
