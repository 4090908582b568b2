/**
 * Rules: an event pattern or a schedule expression on a bus, enabled or not.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
 */
import type { EventsOperations } from '../../api/events/operations.js';
import { InvalidEventPatternException } from '../../api/events/errors.js';
import type { Rule } from '../../api/events/types.js';
import { compilePattern, PatternError, type Json } from '../../events/pattern.js';
import {
  parseScheduleExpression,
  ScheduleExpressionError,
} from '../../events/schedule-expression.js';
import { pageArray } from '../../shared/paging.js';
import {
  DEFAULT_BUS,
  invalidToken,
  requireBus,
  requireRule,
  ruleArn,
  scopeOf,
  validation,
  type EventsDeps,
} from './common.js';
import { RULES_TABLE, ruleKey, rulePrefix, type RuleRecord } from './store.js';

type RuleOps = Pick<
  EventsOperations,
  | 'PutRule'
  | 'DeleteRule'
  | 'DescribeRule'
  | 'ListRules'
  | 'EnableRule'
  | 'DisableRule'
  | 'TestEventPattern'
>;

/** Compiles a pattern or throws AWS's InvalidEventPatternException. */
export function checkPattern(text: string) {
  try {
    return compilePattern(text);
  } catch (err) {
    if (err instanceof PatternError) {
      throw new InvalidEventPatternException(`Event pattern is not valid. Reason: ${err.message}`);
    }
    throw err;
  }
}

export const ruleView = (r: RuleRecord): Rule & { CreatedBy?: string } => ({
  Name: r.name,
  Arn: r.arn,
  ...(r.eventPattern !== undefined && { EventPattern: r.eventPattern }),
  ...(r.scheduleExpression !== undefined && { ScheduleExpression: r.scheduleExpression }),
  State: r.state,
  ...(r.description !== undefined && { Description: r.description }),
  ...(r.roleArn !== undefined && { RoleArn: r.roleArn }),
  ...(r.managedBy !== undefined && { ManagedBy: r.managedBy }),
  EventBusName: r.eventBusName,
});

/** The fields TestEventPattern requires of its event ("the following fields are mandatory"). */
const EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'];

export function ruleOperations(deps: EventsDeps): RuleOps {
  const setState = async (
    input: { Name: string; EventBusName?: string },
    ctx: { account: string; region: string },
    state: RuleRecord['state'],
  ) => {
    const rule = await requireRule(deps, scopeOf(ctx), input.Name, input.EventBusName);
    rule.state = state;
    await deps.store.put(RULES_TABLE, ruleKey(rule, rule.eventBusName, rule.name), rule);
    deps.rulesChanged(rule, rule.arn);
  };
  return {
    async PutRule(input, ctx) {
      const scope = scopeOf(ctx);
      const bus = await requireBus(deps, scope, input.EventBusName);
      if (input.EventPattern === undefined && input.ScheduleExpression === undefined) {
        throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
      }
      if (input.EventPattern !== undefined) checkPattern(input.EventPattern);
      if (input.ScheduleExpression !== undefined) {
        if (bus.name !== DEFAULT_BUS) {
          throw validation('ScheduleExpression is supported only on the default event bus.');
        }
        try {
          parseScheduleExpression(input.ScheduleExpression);
        } catch (err) {
          if (err instanceof ScheduleExpressionError) throw validation(err.message);
          throw err;
        }
      }
      const key = ruleKey(scope, bus.name, input.Name);
      const rule = await deps.store.transaction(async (tx) => {
        const old = await tx.get<RuleRecord>(RULES_TABLE, key);
        const record: RuleRecord = {
          name: input.Name,
          arn: ruleArn(scope, bus.name, input.Name),
          account: scope.account,
          region: scope.region,
          eventBusName: bus.name,
          state: input.State ?? 'ENABLED',
          createdBy: ctx.account,
          targets: old?.targets ?? [],
          tags: old?.tags ?? input.Tags ?? [],
          createdAt:
            old?.scheduleExpression === input.ScheduleExpression && old
              ? old.createdAt
              : deps.now(),
          ...(input.EventPattern !== undefined && { eventPattern: input.EventPattern }),
          ...(input.ScheduleExpression !== undefined && {
            scheduleExpression: input.ScheduleExpression,
          }),
          ...(input.Description !== undefined && { description: input.Description }),
          ...(input.RoleArn !== undefined && { roleArn: input.RoleArn }),
        };
        await tx.put(RULES_TABLE, key, record);
        return record;
      });
      deps.rulesChanged(rule, rule.arn);
      return { RuleArn: rule.arn };
    },
    async DeleteRule(input, ctx) {
      const scope = scopeOf(ctx);
      const bus = await requireBus(deps, scope, input.EventBusName);
      const key = ruleKey(scope, bus.name, input.Name);
      const rule = await deps.store.get<RuleRecord>(RULES_TABLE, key);
      // "If you call delete rule multiple times for the same rule, all calls will succeed."
      if (!rule) return;
      if (rule.targets.length) throw validation("Rule can't be deleted since it has targets.");
      await deps.store.delete(RULES_TABLE, key);
      deps.rulesChanged(undefined, rule.arn);
    },
    async DescribeRule(input, ctx) {
      const rule = await requireRule(deps, scopeOf(ctx), input.Name, input.EventBusName);
      return { ...ruleView(rule), CreatedBy: rule.createdBy };
    },
    async ListRules(input, ctx) {
      const scope = scopeOf(ctx);
      const bus = await requireBus(deps, scope, input.EventBusName);
      const rows = await deps.store.list<RuleRecord>(RULES_TABLE, {
        prefix: rulePrefix(scope, bus.name),
      });
      const matching = rows
        .map((r) => r.value)
        .filter((r) => !input.NamePrefix || r.name.startsWith(input.NamePrefix));
      const page = pageArray(matching, (r) => r.name, {
        marker: input.NextToken,
        max: input.Limit ?? 100,
        resume: 'after',
        invalid: invalidToken,
      });
      return { Rules: page.items.map(ruleView), ...(page.next && { NextToken: page.next }) };
    },
    async EnableRule(input, ctx) {
      await setState(input, ctx, 'ENABLED');
    },
    async DisableRule(input, ctx) {
      await setState(input, ctx, 'DISABLED');
    },
    async TestEventPattern(input) {
      const pattern = checkPattern(input.EventPattern);
      let event: unknown;
      try {
        event = JSON.parse(input.Event);
      } catch {
        throw validation('Parameter Event is not valid.');
      }
      if (event === null || typeof event !== 'object' || Array.isArray(event)) {
        throw validation('Parameter Event is not valid.');
      }
      const missing = EVENT_FIELDS.filter((f) => !(f in event));
      if (missing.length) {
        throw validation(
          `Parameter Event is not valid. Reason: ${missing.join(', ')} is required.`,
        );
      }
      return { Result: pattern.matches(event as Json) };
    },
  };
}
