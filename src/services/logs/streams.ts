/**
 * Log streams.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html
 */
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  CreateLogStreamRequest,
  DeleteLogStreamRequest,
  DescribeLogStreamsRequest,
  DescribeLogStreamsResponse,
  LogStream,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import { encodeToken } from '../../shared/paging.js';
import { compareKeys } from '../../storage/key-order.js';
import {
  decodeToken,
  groupNotFound,
  invalid,
  isString,
  type LogsDeps,
  pageLimit,
  resolveGroupName,
  scopeOf,
  streamArn,
  streamExists,
  streamNotFound,
} from './common.js';
import {
  childPrefix,
  deleteStreamTree,
  GROUPS,
  type GroupRecord,
  groupKey,
  newStream,
  type Scope,
  sequenceToken,
  STREAMS,
  type StreamRecord,
  streamKey,
} from './store.js';

type StreamOps = Pick<LogsOperations, 'CreateLogStream' | 'DescribeLogStreams' | 'DeleteLogStream'>;

const DESCRIBE_MAX = 50;

interface StreamPageToken {
  /** Last stream name returned. */
  n: string;
  /** Its last event timestamp (-1 for none) when ordered by LastEventTime. */
  t?: number;
}
const isStreamToken = (v: unknown): v is StreamPageToken =>
  typeof v === 'object' &&
  v !== null &&
  isString((v as StreamPageToken).n) &&
  ((v as StreamPageToken).t === undefined || typeof (v as StreamPageToken).t === 'number');

export function streamOperations(deps: LogsDeps): StreamOps {
  const { store } = deps;
  const now = (): number => deps.now();
  return {
    async CreateLogStream(input: CreateLogStreamRequest, ctx: RequestContext): Promise<void> {
      const gKey = groupKey(scopeOf(ctx), input.logGroupName);
      const at = now();
      await store.transaction(async (tx) => {
        const g = await tx.get<GroupRecord>(GROUPS, gKey);
        if (!g) throw groupNotFound();
        const stream = newStream(input.logStreamName, g.nextStreamId, at);
        if (!(await tx.insert(STREAMS, streamKey(gKey, input.logStreamName), stream))) {
          throw streamExists();
        }
        g.nextStreamId++;
        await tx.put(GROUPS, gKey, g);
      });
    },

    async DescribeLogStreams(
      input: DescribeLogStreamsRequest,
      ctx: RequestContext,
    ): Promise<DescribeLogStreamsResponse> {
      const scope = scopeOf(ctx);
      const group = resolveGroupName(input, scope);
      const limit = pageLimit(input.limit, DESCRIBE_MAX);
      const byTime = input.orderBy === 'LastEventTime';
      const prefix = input.logStreamNamePrefix;
      if (byTime && prefix !== undefined) {
        throw invalid('Cannot order by LastEventTime with a logStreamNamePrefix.');
      }
      const token = input.nextToken ? decodeToken(input.nextToken, isStreamToken) : undefined;
      const gKey = groupKey(scope, group);
      if (!(await store.get<GroupRecord>(GROUPS, gKey))) throw groupNotFound();
      const base = childPrefix(gKey);
      const descending = input.descending === true;

      let page: StreamRecord[];
      let more: boolean;
      if (byTime) {
        // No index on last event time: sort the group's streams (name breaks ties).
        const all = (await store.list<StreamRecord>(STREAMS, { prefix: base })).map((i) => i.value);
        const t = (s: StreamRecord): number => s.lastEventTimestamp ?? -1;
        const cmp = (a: StreamRecord, b: StreamRecord): number =>
          t(a) - t(b) || compareKeys(a.name, b.name);
        all.sort(descending ? (a, b) => cmp(b, a) : cmp);
        let start = 0;
        if (token) {
          const mark: StreamRecord = { ...newStream(token.n, 0, 0), lastEventTimestamp: token.t };
          if (token.t === -1) delete mark.lastEventTimestamp;
          const dir = descending ? -1 : 1;
          while (start < all.length && dir * cmp(all[start], mark) <= 0) start++;
        }
        page = all.slice(start, start + limit);
        more = start + limit < all.length;
      } else {
        const items = await store.list<StreamRecord>(STREAMS, {
          prefix: base + (prefix ?? ''),
          ...(token ? (descending ? { before: base + token.n } : { after: base + token.n }) : {}),
          reverse: descending,
          limit: limit + 1,
        });
        more = items.length > limit;
        page = items.slice(0, limit).map((i) => i.value);
      }

      const out: DescribeLogStreamsResponse = {
        logStreams: page.map((s) => describeStream(scope, group, s)),
      };
      if (more) {
        const last = page[page.length - 1];
        out.nextToken = encodeToken(
          byTime ? { n: last.name, t: last.lastEventTimestamp ?? -1 } : { n: last.name },
        );
      }
      return out;
    },

    async DeleteLogStream(input: DeleteLogStreamRequest, ctx: RequestContext): Promise<void> {
      const gKey = groupKey(scopeOf(ctx), input.logGroupName);
      const sKey = streamKey(gKey, input.logStreamName);
      await store.transaction(async (tx) => {
        if (!(await tx.get<GroupRecord>(GROUPS, gKey))) throw groupNotFound();
        if (!(await tx.get<StreamRecord>(STREAMS, sKey))) throw streamNotFound();
        await deleteStreamTree(tx, sKey);
      });
    },

    // -------------------------------------------------------------------------------------
  };
}

function describeStream(scope: Scope, group: string, s: StreamRecord): LogStream {
  const out: LogStream = {
    logStreamName: s.name,
    creationTime: s.creationTime,
    arn: streamArn(scope, group, s.name),
    // "As of June 17, 2019, this parameter is no longer supported for log streams, and is
    // always reported as zero."
    storedBytes: 0,
  };
  if (s.nextSeq > 0) {
    out.firstEventTimestamp = s.firstEventTimestamp;
    out.lastEventTimestamp = s.lastEventTimestamp;
    out.lastIngestionTime = s.lastIngestionTime;
    out.uploadSequenceToken = sequenceToken(s);
  }
  return out;
}
