/**
 * DescribeFieldIndexes: the fields a group's index policy (PutIndexPolicy, `{"Fields": […]}`)
 * names, each with the first and last time an event of the group carried it, found by a
 * scan of the group's events with Insights' field discovery.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeFieldIndexes.html
 * Also ListAggregateLogGroupSummaries, which groups log groups by their data source: groups
 * get a data source from AWS-vended delivery, which Stratus has none of, so no group has one.
 */
import type { LogsOperations } from '../../api/logs/operations.js';
import type { FieldIndex } from '../../api/logs/types.js';
import {
  groupArn,
  groupNotFound,
  type LogsDeps,
  resolveGroupName,
  scopeOf,
  validationError,
} from './common.js';
import { recordOf } from './insights/record.js';
import {
  childPrefix,
  eventPages,
  groupKey,
  GROUPS,
  INDEX_POLICIES,
  streamKey,
  type StreamRecord,
  STREAMS,
} from './store.js';

type Ops = Pick<LogsOperations, 'DescribeFieldIndexes' | 'ListAggregateLogGroupSummaries'>;

/** "logGroupIdentifiers: … You can specify up to 100 log groups." (the model's limit) */
const MAX_GROUPS = 100;

/** The `Fields` an index policy document lists (PutIndexPolicy only checks it is JSON). */
function indexedFields(doc: string): string[] {
  try {
    const v = JSON.parse(doc) as { Fields?: unknown };
    return Array.isArray(v.Fields)
      ? v.Fields.filter((f): f is string => typeof f === 'string')
      : [];
  } catch {
    return [];
  }
}

export function fieldIndexOperations(deps: LogsDeps): Ops {
  const { store } = deps;
  return {
    async DescribeFieldIndexes(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.logGroupIdentifiers.length > MAX_GROUPS) {
        throw validationError(
          'logGroupIdentifiers',
          `[${input.logGroupIdentifiers.length} items]`,
          `Member must have length less than or equal to ${MAX_GROUPS}`,
        );
      }
      const out: FieldIndex[] = [];
      const scanTime = deps.now();
      for (const id of input.logGroupIdentifiers) {
        const name = resolveGroupName({ logGroupIdentifier: id }, scope);
        const gKey = groupKey(scope, name);
        if (!(await store.get(GROUPS, gKey))) throw groupNotFound();
        const policy = await store.get<{ policyDocument: string }>(INDEX_POLICIES, gKey);
        const fields = policy ? indexedFields(policy.policyDocument) : [];
        if (fields.length === 0) continue;
        const seen = new Map<string, { first: number; last: number }>();
        const streams = await store.list<StreamRecord>(STREAMS, { prefix: childPrefix(gKey) });
        for (const { value: s } of streams) {
          for await (const page of eventPages(store, streamKey(gKey, s.name), 0, 1e15)) {
            for (const ev of page) {
              const record = recordOf({
                account: scope.account,
                group: name,
                stream: s.name,
                timestamp: ev.timestamp,
                ingestionTime: ev.ingestionTime,
                message: ev.message,
                ptr: '',
              });
              for (const f of fields) {
                if (!record.has(f)) continue;
                const span = seen.get(f);
                if (!span) seen.set(f, { first: ev.timestamp, last: ev.timestamp });
                else {
                  span.first = Math.min(span.first, ev.timestamp);
                  span.last = Math.max(span.last, ev.timestamp);
                }
              }
            }
          }
        }
        for (const f of fields) {
          const index: FieldIndex = {
            logGroupIdentifier: groupArn(scope, name),
            fieldIndexName: f,
            lastScanTime: scanTime,
            type: 'FIELD_INDEX',
          };
          const span = seen.get(f);
          if (span) {
            index.firstEventTime = span.first;
            index.lastEventTime = span.last;
          }
          out.push(index);
        }
      }
      return { fieldIndexes: out };
    },

    async ListAggregateLogGroupSummaries(input) {
      if (
        input.groupBy !== 'DATA_SOURCE_NAME_AND_TYPE' &&
        input.groupBy !== 'DATA_SOURCE_NAME_TYPE_AND_FORMAT'
      ) {
        throw validationError(
          'groupBy',
          input.groupBy,
          'Member must satisfy enum value set: [DATA_SOURCE_NAME_TYPE_AND_FORMAT, DATA_SOURCE_NAME_AND_TYPE]',
        );
      }
      return { aggregateLogGroupSummaries: [] };
    },
  };
}
