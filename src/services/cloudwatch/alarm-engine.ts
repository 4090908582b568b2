/**
 * Alarm evaluation, state changes, history and actions.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 *
 * A metric alarm looks at its last EvaluationPeriods periods (the current period counts
 * once it has data, as AWS's evaluation runs a little behind the clock) and goes to ALARM
 * when DatapointsToAlarm of them breach. TreatMissingData decides what a period without
 * data is: `missing` (default; all missing → INSUFFICIENT_DATA), `notBreaching`,
 * `breaching`, or `ignore` (the state stays as it is). Composite alarms follow their rule
 * over the other alarms' states. Every change is a history item, and the new state's
 * actions run (unless an active alarm mute rule targets the alarm): Lambda functions are
 * invoked (asynchronously, with AWS's alarm event); other targets (SNS, Auto Scaling, EC2,
 * Systems Manager) are recorded as not delivered until Stratus has those services. An
 * anomaly detection alarm (ThresholdMetricId) compares each point with its band's upper
 * and lower values at that time.
 */
import type { MetricDataQuery, StateValue } from '../../api/cloudwatch/types.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataStore } from '../../storage/types.js';
import { evaluateRule, parseRule } from './alarm-rule.js';
import { alignDown, runQueries, type ModelLookup } from './queries.js';
import type { MetricStore, Scope } from './series.js';
import {
  ALARMS,
  HISTORY,
  alarmKey,
  historyPrefix,
  scopePrefix,
  type AlarmRecord,
} from './store.js';

/** Delivers an alarm event (JSON) to a target ARN of one service. */
export type AlarmTarget = (arn: string, payload: Buffer) => Promise<void>;

export interface AlarmEngineDeps {
  store: MetadataStore;
  metrics: MetricStore;
  now(): number;
  warn(message: string, err?: unknown): void;
  /** How often alarms are evaluated (AWS: every minute; here sooner, it costs little). */
  intervalMs?: number;
  /** The anomaly detectors' configurations of a scope (ANOMALY_DETECTION_BAND). */
  models?(scope: Scope): Promise<ModelLookup>;
  /** The active alarm mute rule targeting an alarm, if any (mute-rules.ts). */
  mutedBy?(scope: Scope, alarm: string, now: number): Promise<string | undefined>;
}

interface Verdict {
  state: StateValue;
  reason: string;
  reasonData?: string;
}

const OPERATOR_WORDS: Record<string, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** The comparison operators of anomaly detection alarms (ThresholdMetricId names a band). */
export const BAND_OPERATORS = [
  'LessThanLowerOrGreaterThanUpperThreshold',
  'LessThanLowerThreshold',
  'GreaterThanUpperThreshold',
];

/** Whether a value is outside a band in the way the operator looks for. */
export function outsideBand(op: string, value: number, lower: number, upper: number): boolean {
  switch (op) {
    case 'LessThanLowerOrGreaterThanUpperThreshold':
      return value < lower || value > upper;
    case 'LessThanLowerThreshold':
      return value < lower;
    case 'GreaterThanUpperThreshold':
      return value > upper;
    default:
      return false;
  }
}

/** AWS's words for the band thresholds in a state reason. */
function bandWords(op: string, lower: number[], upper: number[]): string {
  const l = `less than the lower thresholds [${lower.map(fmt).join(', ')}]`;
  const u = `greater than the upper thresholds [${upper.map(fmt).join(', ')}]`;
  if (op === 'LessThanLowerThreshold') return l;
  if (op === 'GreaterThanUpperThreshold') return u;
  return `${l} or ${u}`;
}

export function breaches(op: string, value: number, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      return false;
  }
}

const fmt = (v: number): string => (Number.isInteger(v) ? v.toFixed(1) : String(v));

/** `03/12/26 20:41:00`, as AWS writes data point times in state reasons. */
function reasonTime(t: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** `2023-08-04T12:36:15.490+0000`, the timestamp form of AWS's alarm events. */
function eventTime(t: number): string {
  return new Date(t).toISOString().replace('Z', '+0000');
}

export class AlarmEngine {
  private readonly targets = new Map<string, AlarmTarget>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private seq = 0;

  constructor(private readonly deps: AlarmEngineDeps) {}

  /** Alarm actions whose ARN is of `service` (e.g. `lambda`) go through `deliver`. */
  registerTarget(service: string, deliver: AlarmTarget): void {
    this.targets.set(service, deliver);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.evaluateAll(), this.deps.intervalMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Evaluates every alarm once (one run at a time). */
  evaluateAll(): Promise<void> {
    this.running ??= this.runAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runAll(): Promise<void> {
    try {
      const all = await this.deps.store.list<AlarmRecord>(ALARMS);
      const byScope = new Map<string, AlarmRecord[]>();
      for (const { key, value } of all) {
        const [account, region] = key.split('/');
        const k = `${account}/${region}`;
        byScope.set(k, [...(byScope.get(k) ?? []), value]);
      }
      for (const [k, alarms] of byScope) {
        const [account, region] = k.split('/');
        const scope = { account, region };
        for (const a of alarms) {
          if (a.kind !== 'MetricAlarm') continue;
          const v = await this.evaluateMetricAlarm(scope, a).catch((err: unknown) => {
            this.deps.warn(`could not evaluate alarm ${a.AlarmName}`, err);
            return undefined;
          });
          if (v && v.state !== a.StateValue) await this.transition(scope, a.AlarmName, v, false);
        }
        // Composite alarms see the metric alarms' new states.
        const states = new Map<string, StateValue>();
        for (const { value } of await this.deps.store.list<AlarmRecord>(ALARMS, {
          prefix: scopePrefix(scope),
        })) {
          states.set(value.AlarmName, value.StateValue ?? 'INSUFFICIENT_DATA');
          states.set(value.AlarmArn, value.StateValue ?? 'INSUFFICIENT_DATA');
        }
        for (const a of alarms) {
          if (a.kind !== 'CompositeAlarm') continue;
          const v = this.evaluateComposite(a, states);
          if (v && v.state !== states.get(a.AlarmName)) {
            await this.transition(scope, a.AlarmName, v, false);
            states.set(a.AlarmName, v.state);
            states.set(a.AlarmArn, v.state);
          }
        }
      }
    } catch (err) {
      this.deps.warn('alarm evaluation failed', err);
    }
  }

  private evaluateComposite(
    a: Extract<AlarmRecord, { kind: 'CompositeAlarm' }>,
    states: Map<string, StateValue>,
  ): Verdict | undefined {
    try {
      const rule = parseRule(a.AlarmRule ?? 'FALSE');
      const on = evaluateRule(rule, (name) => states.get(name));
      return on
        ? { state: 'ALARM', reason: `The alarm rule ${a.AlarmRule} evaluated to TRUE.` }
        : { state: 'OK', reason: `The alarm rule ${a.AlarmRule} evaluated to FALSE.` };
    } catch {
      return undefined;
    }
  }

  /** The queries a metric alarm evaluates and the id of the one it compares. */
  private queriesOf(a: Extract<AlarmRecord, { kind: 'MetricAlarm' }>): {
    queries: MetricDataQuery[];
    id: string;
    period: number;
  } {
    if (a.Metrics && a.Metrics.length > 0) {
      const main =
        a.Metrics.find((q) => (q.ReturnData ?? true) && q.Id !== a.ThresholdMetricId) ??
        a.Metrics[0];
      const period =
        main.MetricStat?.Period ??
        main.Period ??
        a.Metrics.find((q) => q.MetricStat)?.MetricStat?.Period ??
        60;
      return { queries: a.Metrics, id: main.Id, period };
    }
    const period = a.Period ?? 60;
    return {
      queries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: a.Namespace,
              MetricName: a.MetricName,
              Dimensions: a.Dimensions ?? [],
            },
            Period: period,
            Stat: a.Statistic ?? a.ExtendedStatistic ?? 'Average',
            Unit: a.Unit,
          },
        },
      ],
      id: 'm',
      period,
    };
  }

  async evaluateMetricAlarm(
    scope: Scope,
    a: Extract<AlarmRecord, { kind: 'MetricAlarm' }>,
  ): Promise<Verdict | undefined> {
    const { queries, id, period } = this.queriesOf(a);
    const n = a.EvaluationPeriods ?? 1;
    const m = a.DatapointsToAlarm ?? n;
    const p = period * 1000;
    const now = this.deps.now();
    const current = alignDown(now, period);
    const results = await runQueries(
      this.deps.metrics,
      scope,
      queries,
      current - n * p,
      current + p,
      { ...(this.deps.models && { modelOf: await this.deps.models(scope) }), now },
    );
    const main = results.find((r) => r.id === id);
    const byTime = new Map<number, number>();
    main?.timestamps.forEach((t, i) => byTime.set(t, main.values[i]));
    // An anomaly detection alarm compares with its band query's two series, upper then lower.
    const bandId = a.ThresholdMetricId;
    const [upperR, lowerR] = bandId ? results.filter((r) => r.id === bandId) : [];
    const at = (r: (typeof results)[number] | undefined, t: number): number | undefined => {
      const i = r ? r.timestamps.indexOf(t) : -1;
      return i < 0 ? undefined : r!.values[i];
    };
    const last = byTime.has(current) ? current : current - p;
    const window: { t: number; v: number | undefined; upper?: number; lower?: number }[] = [];
    for (let i = 0; i < n; i++) {
      const t = last - i * p;
      let v = byTime.get(t);
      const upper = at(upperR, t);
      const lower = at(lowerR, t);
      // No band yet (the model is still training): the point cannot be judged.
      if (bandId && (upper === undefined || lower === undefined)) v = undefined;
      window.push({ t, v, upper, lower });
    }
    const mode = a.TreatMissingData ?? 'missing';
    const op = a.ComparisonOperator ?? 'GreaterThanOrEqualToThreshold';
    const threshold = a.Threshold ?? 0;
    const presentPoints = window.filter((w) => w.v !== undefined) as {
      t: number;
      v: number;
      upper?: number;
      lower?: number;
    }[];
    const breached = (w: (typeof presentPoints)[number]): boolean =>
      bandId ? outsideBand(op, w.v, w.lower ?? NaN, w.upper ?? NaN) : breaches(op, w.v, threshold);
    let breaching = presentPoints.filter(breached).length;
    const missingCount = n - presentPoints.length;
    if (mode === 'breaching') breaching += missingCount;
    const counted = mode === 'breaching' || mode === 'notBreaching' ? n : presentPoints.length;
    const listed = presentPoints.map((w) => `${fmt(w.v)} (${reasonTime(w.t)})`).join(', ');
    const reasonData = JSON.stringify({
      version: '1.0',
      queryDate: eventTime(now),
      startDate: eventTime(window[window.length - 1].t),
      ...(a.Statistic && { statistic: a.Statistic }),
      period,
      recentDatapoints: presentPoints.map((w) => w.v).reverse(),
      ...(bandId
        ? {
            recentLowerThresholds: presentPoints.map((w) => w.lower).reverse(),
            recentUpperThresholds: presentPoints.map((w) => w.upper).reverse(),
          }
        : { threshold }),
      evaluatedDatapoints: presentPoints.map((w) => ({ timestamp: eventTime(w.t), value: w.v })),
    });
    if (counted === 0) {
      if (mode === 'ignore') return undefined;
      return {
        state: 'INSUFFICIENT_DATA',
        reason: `Insufficient Data: ${n} datapoint${n === 1 ? ' was' : 's were'} unknown.`,
        reasonData,
      };
    }
    const words = bandId
      ? bandWords(
          op,
          presentPoints.map((w) => w.lower ?? NaN),
          presentPoints.map((w) => w.upper ?? NaN),
        )
      : `${OPERATOR_WORDS[op] ?? op} the threshold (${fmt(threshold)})`;
    const crossed = bandId ? 'Thresholds Crossed' : 'Threshold Crossed';
    if (breaching >= m) {
      return {
        state: 'ALARM',
        reason: `${crossed}: ${breaching} out of the last ${n} datapoints [${listed}] ${breaching === 1 ? 'was' : 'were'} ${words} (minimum ${m} datapoint${m === 1 ? '' : 's'} for OK -> ALARM transition).`,
        reasonData,
      };
    }
    return {
      state: 'OK',
      reason: `${crossed}: ${presentPoints.length} datapoint${presentPoints.length === 1 ? '' : 's'} [${listed}] ${presentPoints.length === 1 ? 'was' : 'were'} not ${words}.`,
      reasonData,
    };
  }

  /**
   * Moves an alarm to a new state (evaluation or SetAlarmState), records the history item
   * and runs the new state's actions. Resolves false when the alarm no longer exists.
   */
  async transition(scope: Scope, name: string, v: Verdict, manual: boolean): Promise<boolean> {
    const now = this.deps.now();
    const changed = await this.deps.store.transaction(async (tx) => {
      const key = alarmKey(scope, name);
      const a = await tx.get<AlarmRecord>(ALARMS, key);
      if (!a) return undefined;
      const previous = {
        value: a.StateValue ?? 'INSUFFICIENT_DATA',
        reason: a.StateReason ?? '',
        reasonData: a.StateReasonData,
        timestamp: a.StateUpdatedTimestamp ? new Date(a.StateUpdatedTimestamp).getTime() : now,
      };
      const next: AlarmRecord = {
        ...a,
        StateValue: v.state,
        StateReason: v.reason,
        ...(v.reasonData !== undefined ? { StateReasonData: v.reasonData } : {}),
        StateUpdatedTimestamp: new Date(now),
        ...(v.state !== previous.value && { StateTransitionedTimestamp: new Date(now) }),
      };
      if (v.reasonData === undefined) delete next.StateReasonData;
      await tx.put(ALARMS, key, next);
      await tx.put(HISTORY, this.historyKey(scope, name, now), {
        AlarmName: name,
        AlarmType: a.kind,
        Timestamp: new Date(now),
        HistoryItemType: 'StateUpdate',
        HistorySummary: `Alarm updated from ${previous.value} to ${v.state}`,
        HistoryData: JSON.stringify({
          version: '1.0',
          oldState: { stateValue: previous.value, stateReason: previous.reason },
          newState: {
            stateValue: v.state,
            stateReason: v.reason,
            ...(v.reasonData !== undefined && { stateReasonData: v.reasonData }),
          },
        }),
      });
      return { alarm: next, previous };
    });
    if (!changed) return false;
    if (
      changed.alarm.ActionsEnabled !== false &&
      (manual || changed.previous.value !== v.state) &&
      // An active mute rule silences the actions; the state still changes.
      (await this.deps.mutedBy?.(scope, name, now)) === undefined
    ) {
      await this.runActions(scope, changed.alarm, changed.previous, now);
    }
    return true;
  }

  historyKey(scope: Scope, name: string, t: number): string {
    return `${historyPrefix(scope, name)}${String(t).padStart(15, '0')}/${String(this.seq++).padStart(9, '0')}`;
  }

  private async runActions(
    scope: Scope,
    a: AlarmRecord,
    previous: { value: string; reason: string; reasonData?: string; timestamp: number },
    now: number,
  ): Promise<void> {
    const actions =
      a.StateValue === 'ALARM'
        ? a.AlarmActions
        : a.StateValue === 'OK'
          ? a.OKActions
          : a.InsufficientDataActions;
    for (const arn of actions ?? []) {
      const service = parseArn(arn)?.service ?? '';
      const deliver = this.targets.get(service);
      let summary: string;
      if (!deliver) {
        summary = `Failed to execute action ${arn}. Stratus stores ${service || 'this'} actions but has no ${service || 'such'} service to deliver them to.`;
      } else {
        try {
          await deliver(arn, Buffer.from(JSON.stringify(this.event(scope, a, previous, now))));
          summary = `Successfully executed action ${arn}`;
        } catch (err) {
          summary = `Failed to execute action ${arn}. Received error: "${err instanceof Error ? err.message : String(err)}"`;
        }
      }
      await this.deps.store.put(HISTORY, this.historyKey(scope, a.AlarmName, this.deps.now()), {
        AlarmName: a.AlarmName,
        AlarmType: a.kind,
        Timestamp: new Date(this.deps.now()),
        HistoryItemType: 'Action',
        HistorySummary: summary,
        HistoryData: JSON.stringify({
          actionState: summary.startsWith('Successfully') ? 'Succeeded' : 'Failed',
          actionArn: arn,
        }),
      });
    }
  }

  /**
   * The event a Lambda alarm action receives.
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-actions-Lambda
   */
  private event(
    scope: Scope,
    a: AlarmRecord,
    previous: { value: string; reason: string; reasonData?: string; timestamp: number },
    now: number,
  ): unknown {
    const configuration =
      a.kind === 'CompositeAlarm'
        ? { alarmRule: a.AlarmRule, description: a.AlarmDescription }
        : {
            description: a.AlarmDescription,
            metrics: this.queriesOf(a).queries.map((q) => ({
              id: q.Id,
              ...(q.MetricStat && {
                metricStat: {
                  metric: {
                    namespace: q.MetricStat.Metric.Namespace,
                    name: q.MetricStat.Metric.MetricName,
                    dimensions: Object.fromEntries(
                      (q.MetricStat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]),
                    ),
                  },
                  period: q.MetricStat.Period,
                  stat: q.MetricStat.Stat,
                  ...(q.MetricStat.Unit && { unit: q.MetricStat.Unit }),
                },
              }),
              ...(q.Expression && { expression: q.Expression }),
              returnData: q.ReturnData ?? true,
            })),
          };
    return {
      source: 'aws.cloudwatch',
      alarmArn: a.AlarmArn,
      accountId: scope.account,
      time: eventTime(now),
      region: scope.region,
      alarmData: {
        alarmName: a.AlarmName,
        state: {
          value: a.StateValue,
          reason: a.StateReason,
          ...(a.StateReasonData && { reasonData: a.StateReasonData }),
          timestamp: eventTime(now),
        },
        previousState: {
          value: previous.value,
          reason: previous.reason,
          ...(previous.reasonData && { reasonData: previous.reasonData }),
          timestamp: eventTime(previous.timestamp),
        },
        configuration,
      },
    };
  }
}
