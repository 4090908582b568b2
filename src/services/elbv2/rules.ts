/**
 * Listener rules: conditions (path-pattern, host-header, http-header, http-request-method,
 * query-string, source-ip), actions, priorities, and the default rule every listener has
 * (its default actions, `Priority: "default"`, listed last).
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html
 */
import { isIP } from 'node:net';
import {
  OperationNotPermittedException,
  PriorityInUseException,
  TooManyRulesException,
} from '../../api/elbv2/errors.js';
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { Rule, RuleCondition } from '../../api/elbv2/types.js';
import { pageArray } from '../../shared/paging.js';
import type { MetadataOps } from '../../storage/types.js';
import { checkActions } from './actions.js';
import {
  badMarker,
  type Elbv2Deps,
  ownedBy,
  pageSize,
  parentListenerArn,
  parseElbArn,
  resourceId,
  ruleArn,
  ruleNotFound,
  scopeOf,
  validation,
} from './common.js';
import { listenerOf } from './listeners.js';
import { loadBalancerOf } from './load-balancers.js';
import {
  childKey,
  childPrefix,
  type ListenerRecord,
  type RuleRecord,
  type Scope,
  T,
} from './store.js';

type RuleOps = Pick<
  Elbv2Operations,
  'CreateRule' | 'DescribeRules' | 'ModifyRule' | 'DeleteRule' | 'SetRulePriorities'
>;

const MAX_RULES = 100;
const FIELDS = new Set([
  'path-pattern',
  'host-header',
  'http-header',
  'http-request-method',
  'query-string',
  'source-ip',
]);

/** A condition checked as AWS does, in the shape DescribeRules gives back. */
export function checkCondition(c: RuleCondition): RuleCondition {
  const field = c.Field;
  if (field === undefined || !FIELDS.has(field)) {
    throw validation(
      `Condition field '${field ?? ''}' must be one of '[${[...FIELDS].join(', ')}]'`,
    );
  }
  const configs = [
    c.HostHeaderConfig,
    c.PathPatternConfig,
    c.HttpHeaderConfig,
    c.QueryStringConfig,
    c.HttpRequestMethodConfig,
    c.SourceIpConfig,
  ].filter((x) => x !== undefined);
  if (c.Values !== undefined && configs.length > 0) {
    throw validation(
      `You cannot specify both 'Values' and a configuration for condition field '${field}'`,
    );
  }
  const need = (values: readonly string[] | undefined, regex?: readonly string[]): string[] => {
    if (
      (values === undefined || values.length === 0) &&
      (regex === undefined || regex.length === 0)
    ) {
      throw validation(`A condition value must be specified for field '${field}'`);
    }
    return [...(values ?? [])];
  };
  switch (field) {
    case 'path-pattern': {
      const values = need(
        c.PathPatternConfig?.Values ?? c.Values,
        c.PathPatternConfig?.RegexValues ?? c.RegexValues,
      );
      for (const v of values) {
        if (v.length > 128)
          throw validation(`Path pattern '${v}' cannot be longer than 128 characters`);
      }
      const regex = c.PathPatternConfig?.RegexValues ?? c.RegexValues;
      return {
        Field: field,
        ...(values.length > 0 ? { Values: values } : {}),
        PathPatternConfig: {
          ...(values.length > 0 ? { Values: values } : {}),
          ...(regex ? { RegexValues: [...regex] } : {}),
        },
      };
    }
    case 'host-header': {
      const values = need(
        c.HostHeaderConfig?.Values ?? c.Values,
        c.HostHeaderConfig?.RegexValues ?? c.RegexValues,
      );
      const regex = c.HostHeaderConfig?.RegexValues ?? c.RegexValues;
      return {
        Field: field,
        ...(values.length > 0 ? { Values: values } : {}),
        HostHeaderConfig: {
          ...(values.length > 0 ? { Values: values } : {}),
          ...(regex ? { RegexValues: [...regex] } : {}),
        },
      };
    }
    case 'http-header': {
      const cfg = c.HttpHeaderConfig;
      if (!cfg?.HttpHeaderName)
        throw validation("An HTTP header name must be specified for field 'http-header'");
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(cfg.HttpHeaderName)) {
        throw validation(`HTTP header name '${cfg.HttpHeaderName}' is not valid`);
      }
      need(cfg.Values, cfg.RegexValues);
      return { Field: field, HttpHeaderConfig: { ...cfg } };
    }
    case 'http-request-method': {
      const values = need(c.HttpRequestMethodConfig?.Values ?? c.Values);
      for (const v of values) {
        if (!/^[A-Z_-]+$/.test(v)) throw validation(`HTTP request method '${v}' is not valid`);
      }
      return { Field: field, HttpRequestMethodConfig: { Values: values } };
    }
    case 'query-string': {
      const values = c.QueryStringConfig?.Values ?? [];
      if (values.length === 0)
        throw validation("A condition value must be specified for field 'query-string'");
      for (const kv of values) {
        if (kv.Value === undefined)
          throw validation('A query string condition must specify a value');
      }
      return { Field: field, QueryStringConfig: { Values: values.map((kv) => ({ ...kv })) } };
    }
    case 'source-ip': {
      const values = need(c.SourceIpConfig?.Values ?? c.Values);
      for (const v of values) {
        const [net, bits] = v.split('/');
        const family = isIP(net);
        const n = Number(bits);
        if (
          family === 0 ||
          bits === undefined ||
          !Number.isInteger(n) ||
          n < 0 ||
          n > (family === 4 ? 32 : 128)
        ) {
          throw validation(`The source IP '${v}' is not a valid CIDR block`);
        }
      }
      return { Field: field, SourceIpConfig: { Values: values } };
    }
    default:
      throw validation(`Condition field '${field}' is not valid`);
  }
}

export function describeRule(r: RuleRecord): Rule {
  return {
    RuleArn: r.arn,
    Priority: String(r.priority),
    Conditions: r.conditions,
    Actions: r.actions,
    IsDefault: false,
  };
}

const defaultRule = (l: ListenerRecord): Rule => ({
  RuleArn: ruleArn(l.arn, l.defaultRuleId),
  Priority: 'default',
  Conditions: [],
  Actions: l.defaultActions,
  IsDefault: true,
});

interface Located {
  listener: ListenerRecord;
  /** Undefined for the listener's default rule. */
  rule?: RuleRecord;
}

async function locate(ops: MetadataOps, arn: string, s: Scope): Promise<Located> {
  const p = parseElbArn(arn);
  const lsArn = parentListenerArn(arn);
  if (!p || p.kind !== 'listener-rule' || lsArn === undefined) {
    throw validation(`'${arn}' is not a valid rule ARN`);
  }
  if (!ownedBy(arn, s)) throw ruleNotFound();
  let listener: ListenerRecord;
  try {
    listener = await listenerOf(ops, lsArn, s);
  } catch {
    throw ruleNotFound();
  }
  const id = p.parts[4];
  if (id === listener.defaultRuleId) return { listener };
  const rule = await ops.get<RuleRecord>(T.rules, childKey(listener.arn, id));
  if (!rule) throw ruleNotFound();
  return { listener, rule };
}

const priorityInUse = (p: number) =>
  new PriorityInUseException(`Priority '${p}' is currently in use`);

export function ruleOperations(deps: Elbv2Deps): RuleOps {
  const { store } = deps;

  return {
    async CreateRule(input, ctx) {
      const s = scopeOf(ctx);
      const rule = await store.transaction(async (tx) => {
        const listener = await listenerOf(tx, input.ListenerArn, s);
        const lb = await loadBalancerOf(tx, listener.loadBalancerArn, s);
        if (listener.protocol === 'TCP') {
          throw validation('Rules are not supported for listeners of Network Load Balancers');
        }
        if (input.Priority < 1 || input.Priority > 50000) {
          throw validation(`Priority '${input.Priority}' must be between 1 and 50000`);
        }
        const conditions = input.Conditions.map(checkCondition);
        if (conditions.length === 0) throw validation('At least one condition must be specified');
        const actions = await checkActions(tx, s, lb, input.Actions, listener.protocol);
        const siblings = await tx.list<RuleRecord>(T.rules, { prefix: childPrefix(listener.arn) });
        if (siblings.some((r) => r.value.priority === input.Priority))
          throw priorityInUse(input.Priority);
        if (siblings.length >= MAX_RULES) {
          throw new TooManyRulesException(
            'You have reached the maximum number of rules per load balancer',
          );
        }
        const id = resourceId();
        const record: RuleRecord = {
          arn: ruleArn(listener.arn, id),
          listenerArn: listener.arn,
          id,
          priority: input.Priority,
          conditions,
          actions,
          tags: (input.Tags ?? []).map((t) => ({ ...t })),
        };
        await tx.insert(T.rules, childKey(listener.arn, id), record);
        return record;
      });
      await deps.changed();
      return { Rules: [describeRule(rule)] };
    },

    async DescribeRules(input, ctx) {
      const s = scopeOf(ctx);
      let all: Rule[];
      if (input.RuleArns !== undefined) {
        if (input.ListenerArn !== undefined) {
          throw validation('Rule ARNs and a listener ARN cannot be specified at the same time');
        }
        all = [];
        for (const arn of input.RuleArns) {
          const { listener, rule } = await locate(store, arn, s);
          all.push(rule ? describeRule(rule) : defaultRule(listener));
        }
      } else {
        if (input.ListenerArn === undefined) {
          throw validation('You must specify either rule ARNs or a listener ARN');
        }
        const listener = await listenerOf(store, input.ListenerArn, s);
        const rules = await store.list<RuleRecord>(T.rules, { prefix: childPrefix(listener.arn) });
        all = [
          ...rules
            .map((r) => r.value)
            .sort((a, b) => a.priority - b.priority)
            .map(describeRule),
          defaultRule(listener),
        ];
      }
      const page = pageArray(all, (r) => r.RuleArn ?? '', {
        marker: input.Marker,
        max: pageSize(input.PageSize),
        resume: 'exact',
        invalid: badMarker,
      });
      return { Rules: page.items, ...(page.next ? { NextMarker: page.next } : {}) };
    },

    async ModifyRule(input, ctx) {
      const s = scopeOf(ctx);
      const rule = await store.transaction(async (tx) => {
        const { listener, rule } = await locate(tx, input.RuleArn, s);
        if (!rule) {
          throw new OperationNotPermittedException(
            `Default rule '${input.RuleArn}' cannot be modified; use ModifyListener to change its actions`,
          );
        }
        const lb = await loadBalancerOf(tx, listener.loadBalancerArn, s);
        if (input.Conditions !== undefined) rule.conditions = input.Conditions.map(checkCondition);
        if (input.Actions !== undefined) {
          rule.actions = await checkActions(tx, s, lb, input.Actions, listener.protocol);
        }
        await tx.put(T.rules, childKey(listener.arn, rule.id), rule);
        return rule;
      });
      await deps.changed();
      return { Rules: [describeRule(rule)] };
    },

    async DeleteRule(input, ctx) {
      const s = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const { listener, rule } = await locate(tx, input.RuleArn, s);
        if (!rule)
          throw new OperationNotPermittedException(
            `Default rule '${input.RuleArn}' cannot be deleted`,
          );
        await tx.delete(T.rules, childKey(listener.arn, rule.id));
      });
      await deps.changed();
      return {};
    },

    async SetRulePriorities(input, ctx) {
      const s = scopeOf(ctx);
      const changed = await store.transaction(async (tx) => {
        const byListener = new Map<string, Map<string, RuleRecord>>();
        const updated: RuleRecord[] = [];
        for (const pair of input.RulePriorities) {
          const { listener, rule } = await locate(tx, pair.RuleArn ?? '', s);
          if (!rule) {
            throw new OperationNotPermittedException(
              `Default rule '${pair.RuleArn ?? ''}' priority cannot be set`,
            );
          }
          const p = pair.Priority ?? rule.priority;
          if (p < 1 || p > 50000) throw validation(`Priority '${p}' must be between 1 and 50000`);
          let rules = byListener.get(listener.arn);
          if (!rules) {
            rules = new Map(
              (await tx.list<RuleRecord>(T.rules, { prefix: childPrefix(listener.arn) })).map(
                (r) => [r.value.id, r.value],
              ),
            );
            byListener.set(listener.arn, rules);
          }
          const r = rules.get(rule.id)!;
          r.priority = p;
          updated.push(r);
        }
        for (const [lsArn, rules] of byListener) {
          const seen = new Set<number>();
          for (const r of rules.values()) {
            if (seen.has(r.priority)) throw priorityInUse(r.priority);
            seen.add(r.priority);
          }
          for (const r of updated)
            if (r.listenerArn === lsArn) await tx.put(T.rules, childKey(lsArn, r.id), r);
        }
        return updated;
      });
      await deps.changed();
      return { Rules: changed.map(describeRule) };
    },
  };
}
