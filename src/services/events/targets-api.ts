/**
 * A rule's targets (at most five): PutTargets adds or replaces by Id, each failure
 * reported per entry as AWS does.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
 */
import type { EventsOperations } from '../../api/events/operations.js';
import { LimitExceededException } from '../../api/events/errors.js';
import type {
  PutTargetsResultEntry,
  RemoveTargetsResultEntry,
  Target,
} from '../../api/events/types.js';
import { InputError, validateInput } from '../../events/input.js';
import { pageArray } from '../../shared/paging.js';
import { invalidToken, requireBus, requireRule, scopeOf, type EventsDeps } from './common.js';
import { RULES_TABLE, ruleKey, type RuleRecord } from './store.js';

type TargetOps = Pick<
  EventsOperations,
  'PutTargets' | 'RemoveTargets' | 'ListTargetsByRule' | 'ListRuleNamesByTarget'
>;

/** "Each rule can have up to five (5) targets associated with it at one time." */
const MAX_TARGETS = 5;

function targetProblem(t: Target): string | undefined {
  try {
    validateInput(t);
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
  const service = t.Arn.split(':')[2];
  if ((service === 'ecs' || service === 'batch') && t.RoleArn === undefined) {
    return `RoleArn is required for target ${t.Id}.`;
  }
  if (service === 'ecs' && t.EcsParameters === undefined) {
    return `EcsParameters is required for target ${t.Id}.`;
  }
  if (service === 'batch' && t.BatchParameters === undefined) {
    return `BatchParameters is required for target ${t.Id}.`;
  }
  return undefined;
}

export function targetOperations(deps: EventsDeps): TargetOps {
  return {
    async PutTargets(input, ctx) {
      const scope = scopeOf(ctx);
      const found = await requireRule(deps, scope, input.Rule, input.EventBusName);
      const key = ruleKey(scope, found.eventBusName, found.name);
      const failed: PutTargetsResultEntry[] = [];
      const rule = await deps.store.transaction(async (tx) => {
        const current = (await tx.get<RuleRecord>(RULES_TABLE, key)) ?? found;
        const targets = [...current.targets];
        for (const t of input.Targets) {
          const problem = targetProblem(t);
          if (problem) {
            failed.push({
              TargetId: t.Id,
              ErrorCode: 'ValidationException',
              ErrorMessage: problem,
            });
            continue;
          }
          const at = targets.findIndex((x) => x.Id === t.Id);
          if (at >= 0) targets[at] = t;
          else targets.push(t);
        }
        if (targets.length > MAX_TARGETS) {
          throw new LimitExceededException(
            'The requested resource exceeds the maximum number allowed.',
          );
        }
        const next = { ...current, targets };
        await tx.put(RULES_TABLE, key, next);
        return next;
      });
      deps.rulesChanged(rule, rule.arn);
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    async RemoveTargets(input, ctx) {
      const scope = scopeOf(ctx);
      const found = await requireRule(deps, scope, input.Rule, input.EventBusName);
      const key = ruleKey(scope, found.eventBusName, found.name);
      const failed: RemoveTargetsResultEntry[] = [];
      const rule = await deps.store.transaction(async (tx) => {
        const current = (await tx.get<RuleRecord>(RULES_TABLE, key)) ?? found;
        const ids = new Set(input.Ids);
        const next = { ...current, targets: current.targets.filter((t) => !ids.has(t.Id)) };
        await tx.put(RULES_TABLE, key, next);
        return next;
      });
      deps.rulesChanged(rule, rule.arn);
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    async ListTargetsByRule(input, ctx) {
      const rule = await requireRule(deps, scopeOf(ctx), input.Rule, input.EventBusName);
      const page = pageArray(rule.targets, (t) => t.Id, {
        marker: input.NextToken,
        max: input.Limit ?? 100,
        resume: 'exact',
        invalid: invalidToken,
      });
      return { Targets: page.items, ...(page.next && { NextToken: page.next }) };
    },
    async ListRuleNamesByTarget(input, ctx) {
      const scope = scopeOf(ctx);
      const bus = await requireBus(deps, scope, input.EventBusName);
      const rows = await deps.store.list<RuleRecord>(RULES_TABLE, {
        prefix: ruleKey(scope, bus.name, ''),
      });
      const names = rows
        .map((r) => r.value)
        .filter((r) => r.targets.some((t) => t.Arn === input.TargetArn))
        .map((r) => r.name);
      const page = pageArray(names, (n) => n, {
        marker: input.NextToken,
        max: input.Limit ?? 100,
        resume: 'after',
        invalid: invalidToken,
      });
      return { RuleNames: page.items, ...(page.next && { NextToken: page.next }) };
    },
  };
}
