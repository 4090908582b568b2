/**
 * Metric filters and subscription filters on log groups.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Subscriptions.html
 * A group has at most 100 metric filters and 2 subscription filters ("Resource limit
 * exceeded."); Put with an existing name replaces the filter. Subscription filters that
 * name a Lambda function deliver matching events to it (see subscription-delivery.ts).
 */
import { LimitExceededException, ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  MetricFilter,
  MetricFilterMatchRecord,
  SubscriptionFilter,
} from '../../api/logs/types.js';
import { parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { groupNotFound, invalid, pageList, scopeOf, type LogsDeps } from './common.js';
import { compileFilterPattern, FilterPatternError, type Matcher } from './filter-pattern.js';
import {
  GROUPS,
  METRIC_FILTERS,
  SUBSCRIPTION_FILTERS,
  childPrefix,
  groupKey,
  scopePrefix,
} from './store.js';

type FilterOps = Pick<
  LogsOperations,
  | 'PutMetricFilter'
  | 'DescribeMetricFilters'
  | 'DeleteMetricFilter'
  | 'TestMetricFilter'
  | 'PutSubscriptionFilter'
  | 'DescribeSubscriptionFilters'
  | 'DeleteSubscriptionFilter'
>;

export type MetricFilterRecord = Required<Pick<MetricFilter, 'filterName' | 'filterPattern'>> &
  MetricFilter & { logGroupName: string; creationTime: number };

export type SubscriptionFilterRecord = Required<
  Pick<SubscriptionFilter, 'filterName' | 'filterPattern' | 'destinationArn'>
> &
  SubscriptionFilter & { logGroupName: string; creationTime: number };

const MAX_METRIC_FILTERS = 100;
const MAX_SUBSCRIPTION_FILTERS = 2;
const PAGE = 50;

export function compilePattern(pattern: string): Matcher {
  try {
    return compileFilterPattern(pattern);
  } catch (err) {
    if (err instanceof FilterPatternError) throw invalid('Invalid filter pattern');
    throw err;
  }
}

/** Destinations AWS accepts: Kinesis, Firehose, Lambda, a Logs destination. */
function checkDestination(arn: string): void {
  const p = parseArn(arn);
  const ok =
    p !== undefined &&
    (p.service === 'lambda' ||
      p.service === 'kinesis' ||
      p.service === 'firehose' ||
      (p.service === 'logs' && p.resource.startsWith('destination:')));
  if (!ok) throw invalid(`Invalid destination ARN: ${arn}`);
}

async function requireGroup(ops: MetadataOps, gKey: string): Promise<void> {
  if (!(await ops.get(GROUPS, gKey))) throw groupNotFound();
}

export function filterOperations(deps: LogsDeps): FilterOps {
  const { store } = deps;

  /** Every filter of a table in the caller's scope, or in one group, in name order. */
  async function filtersOf<R extends { filterName: string; logGroupName: string }>(
    ctx: RequestContext,
    table: string,
    group: string | undefined,
  ): Promise<R[]> {
    const scope = scopeOf(ctx);
    const prefix = group === undefined ? scopePrefix(scope) : childPrefix(groupKey(scope, group));
    const rows = await store.list<R>(table, { prefix });
    return rows.map((r) => r.value);
  }

  async function put<R extends { creationTime: number }>(
    ctx: RequestContext,
    table: string,
    group: string,
    name: string,
    max: number,
    rec: R,
  ): Promise<void> {
    const gKey = groupKey(scopeOf(ctx), group);
    await store.transaction(async (tx) => {
      await requireGroup(tx, gKey);
      const key = `${gKey}:${name}`;
      const old = await tx.get<R>(table, key);
      if (!old) {
        const count = (await tx.list(table, { prefix: childPrefix(gKey) })).length;
        if (count >= max) throw new LimitExceededException('Resource limit exceeded.');
      } else {
        rec.creationTime = old.creationTime;
      }
      await tx.put(table, key, rec);
    });
  }

  async function remove(ctx: RequestContext, table: string, group: string, name: string) {
    const gKey = groupKey(scopeOf(ctx), group);
    await store.transaction(async (tx) => {
      await requireGroup(tx, gKey);
      if (!(await tx.get(table, `${gKey}:${name}`))) {
        throw new ResourceNotFoundException('The specified resource does not exist.');
      }
      await tx.delete(table, `${gKey}:${name}`);
    });
  }

  return {
    async PutMetricFilter(input, ctx) {
      compilePattern(input.filterPattern);
      const rec: MetricFilterRecord = {
        filterName: input.filterName,
        filterPattern: input.filterPattern,
        metricTransformations: input.metricTransformations,
        logGroupName: input.logGroupName,
        creationTime: deps.now(),
      };
      if (input.applyOnTransformedLogs !== undefined)
        rec.applyOnTransformedLogs = input.applyOnTransformedLogs;
      if (input.fieldSelectionCriteria !== undefined)
        rec.fieldSelectionCriteria = input.fieldSelectionCriteria;
      if (input.emitSystemFieldDimensions !== undefined)
        rec.emitSystemFieldDimensions = input.emitSystemFieldDimensions;
      await put(ctx, METRIC_FILTERS, input.logGroupName, input.filterName, MAX_METRIC_FILTERS, rec);
      deps.subscriptions?.metricFilters?.changed();
    },

    async DescribeMetricFilters(input, ctx) {
      if (input.filterNamePrefix !== undefined && input.logGroupName === undefined) {
        throw invalid('If you specify filterNamePrefix, you must also specify logGroupName.');
      }
      if ((input.metricName === undefined) !== (input.metricNamespace === undefined)) {
        throw invalid('If you specify metricName, you must also specify metricNamespace.');
      }
      if (input.logGroupName !== undefined) {
        await requireGroup(store, groupKey(scopeOf(ctx), input.logGroupName));
      }
      const all = (await filtersOf<MetricFilterRecord>(ctx, METRIC_FILTERS, input.logGroupName))
        .filter((f) => !input.filterNamePrefix || f.filterName.startsWith(input.filterNamePrefix))
        .filter(
          (f) =>
            input.metricName === undefined ||
            (f.metricTransformations ?? []).some(
              (t) =>
                t.metricName === input.metricName && t.metricNamespace === input.metricNamespace,
            ),
        );
      const page = pageList(
        all,
        (f) => `${f.logGroupName}:${f.filterName}`,
        input.nextToken,
        input.limit,
        PAGE,
      );
      return page.nextToken === undefined
        ? { metricFilters: page.items }
        : { metricFilters: page.items, nextToken: page.nextToken };
    },

    async DeleteMetricFilter(input, ctx) {
      await remove(ctx, METRIC_FILTERS, input.logGroupName, input.filterName);
      deps.subscriptions?.metricFilters?.changed();
    },

    async TestMetricFilter(input) {
      const matches = compilePattern(input.filterPattern);
      const out: MetricFilterMatchRecord[] = [];
      input.logEventMessages.forEach((message, i) => {
        if (matches(message))
          out.push({ eventNumber: i + 1, eventMessage: message, extractedValues: {} });
      });
      return { matches: out };
    },

    async PutSubscriptionFilter(input, ctx) {
      compilePattern(input.filterPattern);
      checkDestination(input.destinationArn);
      const rec: SubscriptionFilterRecord = {
        filterName: input.filterName,
        filterPattern: input.filterPattern,
        destinationArn: input.destinationArn,
        logGroupName: input.logGroupName,
        distribution: input.distribution ?? 'ByLogStream',
        creationTime: deps.now(),
      };
      if (input.roleArn !== undefined) rec.roleArn = input.roleArn;
      if (input.applyOnTransformedLogs !== undefined)
        rec.applyOnTransformedLogs = input.applyOnTransformedLogs;
      if (input.fieldSelectionCriteria !== undefined)
        rec.fieldSelectionCriteria = input.fieldSelectionCriteria;
      if (input.emitSystemFields !== undefined) rec.emitSystemFields = input.emitSystemFields;
      await put(
        ctx,
        SUBSCRIPTION_FILTERS,
        input.logGroupName,
        input.filterName,
        MAX_SUBSCRIPTION_FILTERS,
        rec,
      );
    },

    async DescribeSubscriptionFilters(input, ctx) {
      await requireGroup(store, groupKey(scopeOf(ctx), input.logGroupName));
      const all = (
        await filtersOf<SubscriptionFilterRecord>(ctx, SUBSCRIPTION_FILTERS, input.logGroupName)
      ).filter((f) => !input.filterNamePrefix || f.filterName.startsWith(input.filterNamePrefix));
      const page = pageList(all, (f) => f.filterName, input.nextToken, input.limit, PAGE);
      return page.nextToken === undefined
        ? { subscriptionFilters: page.items }
        : { subscriptionFilters: page.items, nextToken: page.nextToken };
    },

    async DeleteSubscriptionFilter(input, ctx) {
      await remove(ctx, SUBSCRIPTION_FILTERS, input.logGroupName, input.filterName);
    },
  };
}
