/**
 * Contributor Insights: rules (Put/Describe/Delete/Enable/DisableInsightRules) and
 * GetInsightRuleReport, computed from the log events CloudWatch Logs stores for the
 * rule's log groups in the report's time range (read through the logs plugin's
 * LogEventReader). Managed rules: AWS's templates are for resources Stratus does not have
 * (DynamoDB tables, ...), so none apply.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetInsightRuleReport.html
 */
import { InvalidNextToken, ResourceNotFoundException } from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type {
  GetInsightRuleReportOutput,
  InsightRule,
  InsightRuleContributor,
  InsightRuleMetricDatapoint,
  PartialFailure,
} from '../../api/cloudwatch/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import { pageArray } from '../../shared/paging.js';
import type { RequestContext } from '../../shared/context.js';
import { invalidValue, scopeOf, type CloudwatchDeps } from './common.js';
import { contributionOf, parseInsightRule } from './insight-rule.js';
import { alignDown } from './queries.js';
import type { Scope } from './series.js';
import { INSIGHT_RULES, TAGS, scopePrefix } from './store.js';

type InsightOps = Pick<
  CloudwatchOperations,
  | 'PutInsightRule'
  | 'DescribeInsightRules'
  | 'DeleteInsightRules'
  | 'EnableInsightRules'
  | 'DisableInsightRules'
  | 'GetInsightRuleReport'
  | 'PutManagedInsightRules'
  | 'ListManagedInsightRules'
>;

interface InsightRuleRecord {
  name: string;
  state: 'ENABLED' | 'DISABLED';
  definition: string;
  applyOnTransformedLogs: boolean;
}

const SCHEMA = 'CloudWatchLogRule/1';
const DEFAULT_CONTRIBUTORS = 10;
const MAX_CONTRIBUTORS = 100;
const REPORT_METRICS = [
  'UniqueContributors',
  'MaxContributorValue',
  'SampleCount',
  'Sum',
  'Minimum',
  'Maximum',
  'Average',
] as const;
type ReportMetric = (typeof REPORT_METRICS)[number];

const ruleKey = (scope: Scope, name: string): string => `${scopePrefix(scope)}${name}`;

/** `arn:aws:cloudwatch:<region>:<account>:insight-rule/<name>` */
const ruleArn = (scope: Scope, name: string): string =>
  buildArn('cloudwatch', scope.region, scope.account, `insight-rule/${name}`);

const notFound = (name: string): PartialFailure => ({
  FailureResource: name,
  ExceptionType: 'ResourceNotFoundException',
  FailureCode: '404',
  FailureDescription: `Rule ${name} does not exist.`,
});

interface Bucket {
  samples: number;
  sum: number;
  min: number;
  max: number;
  byContributor: Map<string, number>;
}

export function insightOperations(deps: CloudwatchDeps): InsightOps {
  const { store } = deps;

  /** Runs `change` on each named rule; the missing ones are failures. */
  async function eachRule(
    ctx: RequestContext,
    names: readonly string[],
    change: (key: string, r: InsightRuleRecord) => Promise<void>,
  ): Promise<{ Failures: PartialFailure[] }> {
    const scope = scopeOf(ctx);
    const failures: PartialFailure[] = [];
    for (const name of names) {
      const key = ruleKey(scope, name);
      const r = await store.get<InsightRuleRecord>(INSIGHT_RULES, key);
      if (r) await change(key, r);
      else failures.push(notFound(name));
    }
    return { Failures: failures };
  }

  const setState = (state: InsightRuleRecord['state']) => (key: string, r: InsightRuleRecord) =>
    store.put(INSIGHT_RULES, key, { ...r, state });

  return {
    async PutInsightRule(input, ctx) {
      const scope = scopeOf(ctx);
      parseInsightRule(input.RuleDefinition);
      const state = input.RuleState ?? 'ENABLED';
      if (state !== 'ENABLED' && state !== 'DISABLED') {
        throw invalidValue(`The value ${state} for parameter RuleState is invalid.`);
      }
      const arn = ruleArn(scope, input.RuleName);
      await store.transaction(async (tx) => {
        await tx.put(INSIGHT_RULES, ruleKey(scope, input.RuleName), {
          name: input.RuleName,
          state,
          definition: input.RuleDefinition,
          applyOnTransformedLogs: input.ApplyOnTransformedLogs ?? false,
        } satisfies InsightRuleRecord);
        if (input.Tags?.length) {
          const existing = (await tx.get<Record<string, string>>(TAGS, arn)) ?? {};
          for (const t of input.Tags) existing[t.Key] = t.Value;
          await tx.put(TAGS, arn, existing);
        }
      });
      return {};
    },

    async DescribeInsightRules(input, ctx) {
      const rows = await store.list<InsightRuleRecord>(INSIGHT_RULES, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const page = pageArray(rows, (r) => r.key, {
        marker: input.NextToken,
        max: input.MaxResults ?? 100,
        resume: 'after',
        invalid: () => new InvalidNextToken('The service cannot find the NextToken.'),
      });
      return {
        InsightRules: page.items.map(({ value: r }): InsightRule => ({
          Name: r.name,
          State: r.state,
          Schema: SCHEMA,
          Definition: r.definition,
          ManagedRule: false,
          ApplyOnTransformedLogs: r.applyOnTransformedLogs,
        })),
        ...(page.next !== undefined && { NextToken: page.next }),
      };
    },

    async DeleteInsightRules(input, ctx) {
      const scope = scopeOf(ctx);
      return eachRule(ctx, input.RuleNames, async (key, r) => {
        await store.delete(INSIGHT_RULES, key);
        await store.delete(TAGS, ruleArn(scope, r.name));
      });
    },

    EnableInsightRules: (input, ctx) => eachRule(ctx, input.RuleNames, setState('ENABLED')),

    DisableInsightRules: (input, ctx) => eachRule(ctx, input.RuleNames, setState('DISABLED')),

    async GetInsightRuleReport(input, ctx) {
      const scope = scopeOf(ctx);
      const r = await store.get<InsightRuleRecord>(INSIGHT_RULES, ruleKey(scope, input.RuleName));
      if (!r) throw new ResourceNotFoundException(`Rule ${input.RuleName} does not exist.`);
      const start = input.StartTime.getTime();
      const end = input.EndTime.getTime();
      if (end <= start) {
        throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
      }
      if (!(input.Period > 0) || input.Period % 60 !== 0) {
        throw invalidValue('The parameter Period must be a multiple of 60.');
      }
      const max = input.MaxContributorCount ?? DEFAULT_CONTRIBUTORS;
      if (max < 1 || max > MAX_CONTRIBUTORS) {
        throw invalidValue(
          `The value ${max} for parameter MaxContributorCount must be between 1 and ${MAX_CONTRIBUTORS}.`,
        );
      }
      const metrics = input.Metrics ?? [];
      for (const m of metrics) {
        if (!REPORT_METRICS.includes(m as ReportMetric)) {
          throw invalidValue(`The value ${m} for parameter Metrics is not supported.`);
        }
      }
      const orderBy = input.OrderBy ?? 'Sum';
      if (orderBy !== 'Sum' && orderBy !== 'Maximum') {
        throw invalidValue(`The value ${orderBy} for parameter OrderBy must be Sum or Maximum.`);
      }
      const def = parseInsightRule(r.definition);
      const buckets = new Map<number, Bucket>();
      const contributors = new Map<string, { keys: string[]; total: number; peak: number }>();
      const reader = deps.logs?.();
      // A disabled rule does not look at log events.
      if (reader && r.state === 'ENABLED') {
        const groups = new Set<string>();
        for (const pattern of def.logGroupNames) {
          for (const g of await reader.groups(scope, pattern)) groups.add(g);
        }
        for (const group of groups) {
          for await (const page of reader.events(scope, group, start, end)) {
            for (const e of page) {
              const c = contributionOf(def, e.message);
              if (!c) continue;
              const t = alignDown(e.timestamp, input.Period);
              let b = buckets.get(t);
              if (!b) {
                b = { samples: 0, sum: 0, min: Infinity, max: -Infinity, byContributor: new Map() };
                buckets.set(t, b);
              }
              const id = JSON.stringify(c.keys);
              b.samples++;
              b.sum += c.value;
              b.min = Math.min(b.min, c.value);
              b.max = Math.max(b.max, c.value);
              b.byContributor.set(id, (b.byContributor.get(id) ?? 0) + c.value);
              const whole = contributors.get(id) ?? { keys: c.keys, total: 0, peak: 0 };
              whole.total += c.value;
              contributors.set(id, whole);
            }
          }
        }
      }
      const times = [...buckets.keys()].sort((a, b) => a - b);
      for (const [id, c] of contributors) {
        c.peak = Math.max(...times.map((t) => buckets.get(t)!.byContributor.get(id) ?? -Infinity));
      }
      const top = [...contributors.entries()]
        .sort(([, a], [, b]) => (orderBy === 'Sum' ? b.total - a.total : b.peak - a.peak))
        .slice(0, max);
      const out: GetInsightRuleReportOutput = {
        KeyLabels: def.keys,
        AggregationStatistic: def.aggregateOn,
        AggregateValue: [...contributors.values()].reduce((s, c) => s + c.total, 0),
        ApproximateUniqueCount: contributors.size,
        Contributors: top.map(([id, c]): InsightRuleContributor => ({
          Keys: c.keys,
          ApproximateAggregateValue: c.total,
          Datapoints: times
            .filter((t) => buckets.get(t)!.byContributor.has(id))
            .map((t) => ({
              Timestamp: new Date(t),
              ApproximateValue: buckets.get(t)!.byContributor.get(id)!,
            })),
        })),
      };
      if (metrics.length) {
        out.MetricDatapoints = times.map((t) => {
          const b = buckets.get(t)!;
          const all: Record<ReportMetric, number> = {
            UniqueContributors: b.byContributor.size,
            MaxContributorValue: Math.max(...b.byContributor.values()),
            SampleCount: b.samples,
            Sum: b.sum,
            Minimum: b.min,
            Maximum: b.max,
            Average: b.sum / b.samples,
          };
          const dp: InsightRuleMetricDatapoint = { Timestamp: new Date(t) };
          for (const m of metrics) dp[m as ReportMetric] = all[m as ReportMetric];
          return dp;
        });
      }
      return out;
    },

    async PutManagedInsightRules(input) {
      // AWS's rule templates are for resources Stratus does not host: none applies.
      return {
        Failures: input.ManagedRules.map((m) => ({
          FailureResource: m.ResourceARN,
          ExceptionType: 'InvalidParameterValueException',
          FailureCode: '400',
          FailureDescription: `No managed rule template ${m.TemplateName} exists for resource ${m.ResourceARN}.`,
        })),
      };
    },

    async ListManagedInsightRules(input) {
      if (!parseArn(input.ResourceARN)) {
        throw invalidValue(`Invalid ResourceARN: ${input.ResourceARN}`);
      }
      return { ManagedRules: [] };
    },
  };
}
