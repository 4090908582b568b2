/**
 * Field discovery: GetLogGroupFields (the fields Logs Insights finds in a group's recent
 * events, with the share of events that carry each) and GetLogFields (fields of a data
 * source; Stratus has no data sources).
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogGroupFields.html
 */
import { ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  GetLogFieldsRequest,
  GetLogFieldsResponse,
  GetLogGroupFieldsRequest,
  GetLogGroupFieldsResponse,
  LogGroupField,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import { groupNotFound, type LogsDeps, resolveGroupName, scopeOf } from './common.js';
import { recordOf } from './insights/record.js';
import {
  childPrefix,
  eventPages,
  groupKey,
  type GroupRecord,
  GROUPS,
  streamKey,
  type StreamRecord,
  STREAMS,
} from './store.js';

type FieldOps = Pick<LogsOperations, 'GetLogGroupFields' | 'GetLogFields'>;

const MINUTE_MS = 60_000;
/** `@ptr` is a query handle, not a field of the event. */
const HIDDEN = new Set(['@ptr']);

export function fieldOperations(deps: LogsDeps): FieldOps {
  const { store } = deps;
  return {
    async GetLogGroupFields(
      input: GetLogGroupFieldsRequest,
      ctx: RequestContext,
    ): Promise<GetLogGroupFieldsResponse> {
      const scope = scopeOf(ctx);
      const name = resolveGroupName(input, scope);
      const gKey = groupKey(scope, name);
      if (!(await store.get<GroupRecord>(GROUPS, gKey))) throw groupNotFound();
      // "If you specify time, the 8 minutes before and 8 minutes after this time are
      // searched. If you omit time, the most recent 15 minutes up to the current time are
      // searched." (time is in seconds since the epoch)
      const [fromMs, toMs] =
        input.time === undefined
          ? [deps.now() - 15 * MINUTE_MS, deps.now() + 1]
          : [input.time * 1000 - 8 * MINUTE_MS, input.time * 1000 + 8 * MINUTE_MS + 1];
      const counts = new Map<string, number>();
      let total = 0;
      const streams = await store.list<StreamRecord>(STREAMS, { prefix: childPrefix(gKey) });
      for (const { value: s } of streams) {
        if (s.nextSeq === 0) continue;
        const sKey = streamKey(gKey, s.name);
        for await (const page of eventPages(store, sKey, Math.max(0, fromMs), toMs)) {
          for (const ev of page) {
            total++;
            const fields = recordOf({
              account: scope.account,
              group: name,
              stream: s.name,
              timestamp: ev.timestamp,
              ingestionTime: ev.ingestionTime,
              message: ev.message,
              ptr: '',
            });
            for (const field of fields.keys()) {
              if (!HIDDEN.has(field)) counts.set(field, (counts.get(field) ?? 0) + 1);
            }
          }
        }
      }
      // "The response results are sorted by the frequency percentage, starting with the
      // highest percentage."
      const logGroupFields: LogGroupField[] = [...counts]
        .map(([field, n]) => ({ name: field, percent: Math.round((n * 100) / total) }))
        .sort((a, b) => b.percent - a.percent || a.name.localeCompare(b.name));
      return { logGroupFields };
    },

    /**
     * Data sources are what CloudWatch pipelines and vended logs register; Stratus has
     * none, so every name is unknown.
     */
    GetLogFields(input: GetLogFieldsRequest): Promise<GetLogFieldsResponse> {
      return Promise.reject(
        new ResourceNotFoundException(
          `The specified data source ${input.dataSourceName} of type ${input.dataSourceType} does not exist.`,
        ),
      );
    },
  };
}
