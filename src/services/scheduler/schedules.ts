/**
 * Schedules: at(), rate() and cron() expressions in a time zone, between optional start
 * and end dates, within a flexible time window, invoking one target.
 * https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
 */
import type { SchedulerOperations } from '../../api/scheduler/operations.js';
import { ConflictException, ValidationException } from '../../api/scheduler/errors.js';
import type { CreateScheduleInput, GetScheduleOutput } from '../../api/scheduler/types.js';
import {
  isTimeZone,
  parseScheduleExpression,
  ScheduleExpressionError,
} from '../../events/schedule-expression.js';
import { pageArray } from '../../shared/paging.js';
import {
  DEFAULT_GROUP,
  invalidToken,
  requireGroup,
  scheduleArn,
  scheduleNotFound,
  scopeOf,
  type SchedulerDeps,
} from './common.js';
import {
  SCHEDULES_TABLE,
  scheduleKey,
  scopePrefix,
  type ScheduleRecord,
  type Scope,
} from './store.js';

type ScheduleOps = Pick<
  SchedulerOperations,
  'CreateSchedule' | 'UpdateSchedule' | 'DeleteSchedule' | 'GetSchedule' | 'ListSchedules'
>;

export const scheduleView = (s: ScheduleRecord): GetScheduleOutput => ({
  ActionAfterCompletion: s.actionAfterCompletion,
  Arn: s.arn,
  CreationDate: new Date(s.createdAt),
  ...(s.description !== undefined && { Description: s.description }),
  ...(s.endDate !== undefined && { EndDate: new Date(s.endDate) }),
  FlexibleTimeWindow: s.flexibleTimeWindow,
  GroupName: s.groupName,
  ...(s.kmsKeyArn !== undefined && { KmsKeyArn: s.kmsKeyArn }),
  LastModificationDate: new Date(s.modifiedAt),
  Name: s.name,
  ScheduleExpression: s.expression,
  ...(s.timeZone !== undefined && { ScheduleExpressionTimezone: s.timeZone }),
  ...(s.startDate !== undefined && { StartDate: new Date(s.startDate) }),
  State: s.state,
  Target: s.target,
});

/** Checks a schedule's settings as AWS does; throws its ValidationException. */
function check(input: CreateScheduleInput): void {
  const tz = input.ScheduleExpressionTimezone;
  if (tz !== undefined && !isTimeZone(tz)) {
    throw new ValidationException(`Invalid ScheduleExpressionTimezone ${tz}.`);
  }
  try {
    parseScheduleExpression(input.ScheduleExpression, { allowAt: true, timeZone: tz });
  } catch (err) {
    if (err instanceof ScheduleExpressionError) {
      throw new ValidationException(`Invalid Schedule Expression ${input.ScheduleExpression}.`);
    }
    throw err;
  }
  const w = input.FlexibleTimeWindow;
  if (w.Mode === 'FLEXIBLE' && w.MaximumWindowInMinutes === undefined) {
    throw new ValidationException('MaximumWindowInMinutes is required when the Mode is FLEXIBLE.');
  }
  if (w.Mode === 'OFF' && w.MaximumWindowInMinutes !== undefined) {
    throw new ValidationException('MaximumWindowInMinutes must not be set when the Mode is OFF.');
  }
  if (input.StartDate && input.EndDate && new Date(input.EndDate) <= new Date(input.StartDate)) {
    throw new ValidationException('The EndDate must be after the StartDate.');
  }
  if (input.Target.Input !== undefined && input.Target.Input.length === 0) {
    throw new ValidationException('Target Input must not be empty.');
  }
}

function record(
  input: CreateScheduleInput,
  scope: Scope,
  group: string,
  created: number,
  now: number,
): ScheduleRecord {
  return {
    name: input.Name,
    groupName: group,
    arn: scheduleArn(scope, group, input.Name),
    account: scope.account,
    region: scope.region,
    expression: input.ScheduleExpression,
    state: input.State ?? 'ENABLED',
    flexibleTimeWindow: input.FlexibleTimeWindow,
    target: input.Target,
    actionAfterCompletion: input.ActionAfterCompletion ?? 'NONE',
    createdAt: created,
    modifiedAt: now,
    ...(input.ScheduleExpressionTimezone !== undefined && {
      timeZone: input.ScheduleExpressionTimezone,
    }),
    ...(input.StartDate !== undefined && { startDate: new Date(input.StartDate).getTime() }),
    ...(input.EndDate !== undefined && { endDate: new Date(input.EndDate).getTime() }),
    ...(input.Description !== undefined && { description: input.Description }),
    ...(input.KmsKeyArn !== undefined && { kmsKeyArn: input.KmsKeyArn }),
  };
}

export function scheduleOperations(deps: SchedulerDeps): ScheduleOps {
  return {
    async CreateSchedule(input, ctx) {
      const scope = scopeOf(ctx);
      const group = input.GroupName ?? DEFAULT_GROUP;
      await requireGroup(deps.store, scope, group);
      check(input);
      const now = deps.clock.now();
      const schedule = record(input, scope, group, now, now);
      if (
        !(await deps.store.insert(SCHEDULES_TABLE, scheduleKey(scope, group, input.Name), schedule))
      ) {
        throw new ConflictException(`Schedule ${input.Name} already exists.`);
      }
      deps.schedulesChanged(schedule, schedule.arn);
      return { ScheduleArn: schedule.arn };
    },
    async UpdateSchedule(input, ctx) {
      const scope = scopeOf(ctx);
      const group = input.GroupName ?? DEFAULT_GROUP;
      await requireGroup(deps.store, scope, group);
      check(input);
      const key = scheduleKey(scope, group, input.Name);
      const schedule = await deps.store.transaction(async (tx) => {
        const old = await tx.get<ScheduleRecord>(SCHEDULES_TABLE, key);
        if (!old) throw scheduleNotFound(input.Name);
        // "Before calling this operation, we recommend that you call the GetSchedule API
        // operation": every setting not given returns to its default.
        const next = record(input, scope, group, old.createdAt, deps.clock.now());
        await tx.put(SCHEDULES_TABLE, key, next);
        return next;
      });
      deps.schedulesChanged(schedule, schedule.arn);
      return { ScheduleArn: schedule.arn };
    },
    async DeleteSchedule(input, ctx) {
      const scope = scopeOf(ctx);
      const group = input.GroupName ?? DEFAULT_GROUP;
      await requireGroup(deps.store, scope, group);
      const key = scheduleKey(scope, group, input.Name);
      const old = await deps.store.get<ScheduleRecord>(SCHEDULES_TABLE, key);
      if (!old || !(await deps.store.delete(SCHEDULES_TABLE, key)))
        throw scheduleNotFound(input.Name);
      deps.schedulesChanged(undefined, old.arn);
      return {};
    },
    async GetSchedule(input, ctx) {
      const scope = scopeOf(ctx);
      const group = input.GroupName ?? DEFAULT_GROUP;
      await requireGroup(deps.store, scope, group);
      const s = await deps.store.get<ScheduleRecord>(
        SCHEDULES_TABLE,
        scheduleKey(scope, group, input.Name),
      );
      if (!s) throw scheduleNotFound(input.Name);
      return scheduleView(s);
    },
    async ListSchedules(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.GroupName !== undefined) await requireGroup(deps.store, scope, input.GroupName);
      const prefix =
        input.GroupName !== undefined
          ? scheduleKey(scope, input.GroupName, '')
          : scopePrefix(scope);
      const rows = await deps.store.list<ScheduleRecord>(SCHEDULES_TABLE, { prefix });
      const matching = rows
        .filter(
          (r) =>
            (!input.NamePrefix || r.value.name.startsWith(input.NamePrefix)) &&
            (!input.State || r.value.state === input.State),
        )
        .map((r) => ({ key: r.key, s: r.value }));
      const page = pageArray(matching, (x) => x.key, {
        marker: input.NextToken,
        max: input.MaxResults ?? 100,
        resume: 'after',
        invalid: invalidToken,
      });
      return {
        Schedules: page.items.map(({ s }) => ({
          Arn: s.arn,
          CreationDate: new Date(s.createdAt),
          GroupName: s.groupName,
          LastModificationDate: new Date(s.modifiedAt),
          Name: s.name,
          State: s.state,
          Target: { Arn: s.target.Arn },
        })),
        ...(page.next && { NextToken: page.next }),
      };
    },
  };
}
