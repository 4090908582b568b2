/**
 * EventBridge's tables: event buses and rules (a rule's targets and tags live in its
 * record, so PutTargets is one write). Keys are `<account>/<region>/…`, so one prefix
 * lists an account's buses or one bus's rules in name order.
 */
import type { Tag, Target } from '../../api/events/types.js';

export const BUSES_TABLE = 'events:buses';
export const RULES_TABLE = 'events:rules';

export interface Scope {
  account: string;
  region: string;
}

export interface BusRecord {
  name: string;
  arn: string;
  description?: string;
  policy?: string;
  tags: Tag[];
  createdAt: number;
  modifiedAt: number;
}

export interface RuleRecord {
  name: string;
  arn: string;
  account: string;
  region: string;
  eventBusName: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state: 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
  description?: string;
  roleArn?: string;
  managedBy?: string;
  /** The account that created it (AWS's CreatedBy). */
  createdBy: string;
  targets: Target[];
  tags: Tag[];
  /** When rate() schedules count from. */
  createdAt: number;
}

export const busKey = (s: Scope, name: string): string => `${s.account}/${s.region}/${name}`;
export const busPrefix = (s: Scope): string => `${s.account}/${s.region}/`;
export const ruleKey = (s: Scope, bus: string, name: string): string =>
  `${s.account}/${s.region}/${bus}/${name}`;
export const rulePrefix = (s: Scope, bus: string): string => `${s.account}/${s.region}/${bus}/`;
