/**
 * CloudWatch's tables in the MetadataStore. Keys start `<account>/<region>/`; account ids
 * and region names never contain '/', so one scope's keys never share a prefix with
 * another's. Dashboards are global (their ARN has no region) and keyed `<account>/<name>`.
 */
import type { AlarmHistoryItem, CompositeAlarm, MetricAlarm } from '../../api/cloudwatch/types.js';

/** Metrics: `<scope>/<series id>` → namespace, name, dimensions. */
export const SERIES = 'cloudwatch_series';
/** Data: `<scope>/<series id>/<resolution>/<unit>/<bucket start>` → one bucket. */
export const BUCKETS = 'cloudwatch_buckets';
/** `<scope>/<alarm name>` → AlarmRecord. */
export const ALARMS = 'cloudwatch_alarms';
/** `<scope>/<alarm name>/<timestamp, 15 digits>/<seq>` → AlarmHistoryItem. */
export const HISTORY = 'cloudwatch_alarm_history';
/** `<account>/<name>` → DashboardRecord. */
export const DASHBOARDS = 'cloudwatch_dashboards';
/** `<resource ARN>` → tags. */
export const TAGS = 'cloudwatch_tags';

export interface ScopeKey {
  account: string;
  region: string;
}

export const scopePrefix = (s: ScopeKey): string => `${s.account}/${s.region}/`;

export const seriesKey = (s: ScopeKey, id: string): string => `${scopePrefix(s)}${id}`;

export const bucketKey = (s: ScopeKey, id: string, res: number, unit: string, t: number): string =>
  `${scopePrefix(s)}${id}/${res}/${unit}/${String(t).padStart(15, '0')}`;

export const alarmKey = (s: ScopeKey, name: string): string => `${scopePrefix(s)}${name}`;

export const historyPrefix = (s: ScopeKey, name: string): string =>
  `${scopePrefix(s)}${name}\u0000`;

export type AlarmRecord =
  | ({ kind: 'MetricAlarm' } & MetricAlarm & { AlarmName: string; AlarmArn: string })
  | ({ kind: 'CompositeAlarm' } & CompositeAlarm & { AlarmName: string; AlarmArn: string });

export type HistoryRecord = AlarmHistoryItem;

export interface DashboardRecord {
  name: string;
  body: string;
  lastModified: number;
}

/** `<scope>/<S|M><identity JSON>` → DetectorRecord (anomaly-api.ts). */
export const ANOMALY_DETECTORS = 'cloudwatch_anomaly_detectors';

/** `<scope>/<name>` → MuteRuleRecord (mute-rules.ts). */
export const MUTE_RULES = 'cloudwatch_alarm_mute_rules';

/** `<scope>/<rule name>` → InsightRuleRecord (insights-api.ts). */
export const INSIGHT_RULES = 'cloudwatch_insight_rules';
