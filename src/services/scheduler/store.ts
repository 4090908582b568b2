/**
 * EventBridge Scheduler's tables: schedule groups and schedules, keyed
 * `<account>/<region>/<group>[/<schedule>]`.
 */
import type { FlexibleTimeWindow, Tag, Target } from '../../api/scheduler/types.js';

export const GROUPS_TABLE = 'scheduler:groups';
export const SCHEDULES_TABLE = 'scheduler:schedules';

export interface Scope {
  account: string;
  region: string;
}

export interface GroupRecord {
  name: string;
  arn: string;
  tags: Tag[];
  createdAt: number;
  modifiedAt: number;
}

export interface ScheduleRecord {
  name: string;
  groupName: string;
  arn: string;
  account: string;
  region: string;
  expression: string;
  timeZone?: string;
  startDate?: number;
  endDate?: number;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  flexibleTimeWindow: FlexibleTimeWindow;
  target: Target;
  actionAfterCompletion: 'NONE' | 'DELETE';
  kmsKeyArn?: string;
  createdAt: number;
  modifiedAt: number;
}

export const groupKey = (s: Scope, name: string): string => `${s.account}/${s.region}/${name}`;
export const scheduleKey = (s: Scope, group: string, name: string): string =>
  `${s.account}/${s.region}/${group}/${name}`;
export const scopePrefix = (s: Scope): string => `${s.account}/${s.region}/`;
