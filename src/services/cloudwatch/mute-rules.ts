/**
 * Alarm mute rules (PutAlarmMuteRule, GetAlarmMuteRule, ListAlarmMuteRules,
 * DeleteAlarmMuteRule) and the check the alarm engine makes before running actions:
 * "When a mute rule is active, targeted alarms continue to evaluate metrics and transition
 * between states, but their configured actions … are muted."
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutAlarmMuteRule.html
 *
 * A schedule is `cron(Minutes Hours Day-of-month Month Day-of-week)` (recurring) or
 * `at(yyyy-MM-ddTHH:mm)` (one time), in its Timezone (UTC by default); each occurrence mutes
 * for Duration (ISO 8601, PT1M to P15D), within StartDate and ExpireDate.
 */
import { Cron } from 'croner';
import {
  InvalidNextToken,
  LimitExceededFault,
  ResourceNotFoundException,
} from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type {
  AlarmMuteRuleStatus,
  AlarmMuteRuleSummary,
  GetAlarmMuteRuleOutput,
  Rule,
} from '../../api/cloudwatch/types.js';
import { buildArn } from '../../shared/arn.js';
import { pageArray } from '../../shared/paging.js';
import type { MetadataStore } from '../../storage/types.js';
import { validTimezone } from './anomaly-model.js';
import { invalidValue, scopeOf, type CloudwatchDeps } from './common.js';
import type { Scope } from './series.js';
import { MUTE_RULES, TAGS, scopePrefix } from './store.js';

type MuteOps = Pick<
  CloudwatchOperations,
  'PutAlarmMuteRule' | 'GetAlarmMuteRule' | 'ListAlarmMuteRules' | 'DeleteAlarmMuteRule'
>;

export interface MuteRuleRecord {
  name: string;
  arn: string;
  description?: string;
  rule: Rule;
  alarms: string[];
  /** Epoch ms. */
  start?: number;
  expire?: number;
  updated: number;
}

const MAX_TARGETS = 100;
const MIN_DURATION = 60_000;
const MAX_DURATION = 15 * 86400_000;
const LIST_MAX = 100;

/** `arn:aws:cloudwatch:<region>:<account>:alarm-mute-rule:<name>` */
const muteRuleArn = (scope: Scope, name: string): string =>
  buildArn('cloudwatch', scope.region, scope.account, `alarm-mute-rule:${name}`);

const muteKey = (scope: Scope, name: string): string => `${scopePrefix(scope)}${name}`;

/** ISO 8601 duration (days, hours, minutes, seconds) in ms; undefined when not one. */
function durationMs(text: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0));
  return (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
}

interface Schedule {
  kind: 'RECURRING' | 'ONE_TIME';
  /** The first occurrence at or after `t` (epoch ms), if any. */
  next(t: number): number | undefined;
  duration: number;
}

function scheduleOf(rule: Rule): Schedule {
  const { Expression, Duration, Timezone } = rule.Schedule;
  const duration = durationMs(Duration);
  if (duration === undefined || duration < MIN_DURATION || duration > MAX_DURATION) {
    throw invalidValue(
      `Invalid Duration ${Duration}: it must be an ISO 8601 duration between PT1M and P15D.`,
    );
  }
  const timezone = Timezone ?? 'UTC';
  if (!validTimezone(timezone)) throw invalidValue(`Invalid Timezone ${timezone}.`);
  const cron = /^cron\((.*)\)$/.exec(Expression.trim());
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2})\)$/.exec(Expression.trim());
  const bad = () => invalidValue(`Invalid schedule expression: ${Expression}`);
  let pattern: string;
  if (cron) {
    if (cron[1].trim().split(/\s+/).length !== 5) throw bad();
    pattern = cron[1].trim();
  } else if (at) {
    pattern = `${at[1]}:00`;
  } else {
    throw bad();
  }
  let job: Cron;
  try {
    job = new Cron(pattern, { timezone, paused: true });
  } catch {
    throw bad();
  }
  return {
    kind: cron ? 'RECURRING' : 'ONE_TIME',
    duration,
    next: (t) => job.nextRun(new Date(t - 1))?.getTime(),
  };
}

/** Whether a rule mutes now, will, or never will again. */
export function muteStatus(r: MuteRuleRecord, now: number): AlarmMuteRuleStatus {
  if (r.expire !== undefined && now >= r.expire) return 'EXPIRED';
  const s = scheduleOf(r.rule);
  const occurrence = s.next(Math.max(now - s.duration, r.start ?? -Infinity));
  if (occurrence !== undefined && occurrence <= now && occurrence + s.duration > now) {
    return 'ACTIVE';
  }
  if (s.kind === 'ONE_TIME' && (occurrence === undefined || occurrence + s.duration <= now)) {
    return 'EXPIRED';
  }
  return 'SCHEDULED';
}

/** The active mute rule (its name) that targets an alarm, if one does. */
export async function mutedBy(
  store: MetadataStore,
  scope: Scope,
  alarm: string,
  now: number,
): Promise<string | undefined> {
  const rows = await store.list<MuteRuleRecord>(MUTE_RULES, { prefix: scopePrefix(scope) });
  return rows.find(
    ({ value }) => value.alarms.includes(alarm) && muteStatus(value, now) === 'ACTIVE',
  )?.value.name;
}

export function muteRuleOperations(deps: CloudwatchDeps): MuteOps {
  const { store } = deps;

  const summary = (r: MuteRuleRecord, now: number): AlarmMuteRuleSummary => ({
    AlarmMuteRuleArn: r.arn,
    ...(r.expire !== undefined && { ExpireDate: new Date(r.expire) }),
    Status: muteStatus(r, now),
    MuteType: scheduleOf(r.rule).kind,
    LastUpdatedTimestamp: new Date(r.updated),
  });

  return {
    async PutAlarmMuteRule(input, ctx) {
      const scope = scopeOf(ctx);
      scheduleOf(input.Rule);
      const alarms = input.MuteTargets?.AlarmNames ?? [];
      if (alarms.length > MAX_TARGETS) {
        throw new LimitExceededFault(
          `A mute rule can target at most ${MAX_TARGETS} alarms; ${alarms.length} were given.`,
        );
      }
      const start = input.StartDate?.getTime();
      const expire = input.ExpireDate?.getTime();
      if (start !== undefined && expire !== undefined && expire <= start) {
        throw invalidValue('The ExpireDate must be after the StartDate.');
      }
      const arn = muteRuleArn(scope, input.Name);
      const record: MuteRuleRecord = {
        name: input.Name,
        arn,
        ...(input.Description !== undefined && { description: input.Description }),
        rule: input.Rule,
        alarms: [...alarms],
        ...(start !== undefined && { start }),
        ...(expire !== undefined && { expire }),
        updated: deps.now(),
      };
      await store.transaction(async (tx) => {
        await tx.put(MUTE_RULES, muteKey(scope, input.Name), record);
        if (input.Tags?.length) {
          const existing = (await tx.get<Record<string, string>>(TAGS, arn)) ?? {};
          for (const t of input.Tags) existing[t.Key] = t.Value;
          await tx.put(TAGS, arn, existing);
        }
      });
    },

    async GetAlarmMuteRule(input, ctx) {
      const r = await store.get<MuteRuleRecord>(
        MUTE_RULES,
        muteKey(scopeOf(ctx), input.AlarmMuteRuleName),
      );
      if (!r) {
        throw new ResourceNotFoundException(
          `Alarm mute rule ${input.AlarmMuteRuleName} does not exist.`,
        );
      }
      const now = deps.now();
      const out: GetAlarmMuteRuleOutput = {
        Name: r.name,
        AlarmMuteRuleArn: r.arn,
        ...(r.description !== undefined && { Description: r.description }),
        Rule: r.rule,
        MuteTargets: { AlarmNames: r.alarms },
        ...(r.start !== undefined && { StartDate: new Date(r.start) }),
        ...(r.expire !== undefined && { ExpireDate: new Date(r.expire) }),
        Status: muteStatus(r, now),
        LastUpdatedTimestamp: new Date(r.updated),
        MuteType: scheduleOf(r.rule).kind,
      };
      return out;
    },

    async ListAlarmMuteRules(input, ctx) {
      const now = deps.now();
      const max = input.MaxRecords ?? LIST_MAX;
      const rows = await store.list<MuteRuleRecord>(MUTE_RULES, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const kept = rows.filter(
        ({ value }) =>
          (input.AlarmName === undefined || value.alarms.includes(input.AlarmName)) &&
          (!input.Statuses?.length || input.Statuses.includes(muteStatus(value, now))),
      );
      const page = pageArray(kept, (r) => r.key, {
        marker: input.NextToken,
        max,
        resume: 'after',
        invalid: () => new InvalidNextToken('The service cannot find the NextToken.'),
      });
      return {
        AlarmMuteRuleSummaries: page.items.map((r) => summary(r.value, now)),
        ...(page.next !== undefined && { NextToken: page.next }),
      };
    },

    async DeleteAlarmMuteRule(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        await tx.delete(MUTE_RULES, muteKey(scope, input.AlarmMuteRuleName));
        await tx.delete(TAGS, muteRuleArn(scope, input.AlarmMuteRuleName));
      });
    },
  };
}
