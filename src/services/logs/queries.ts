/**
 * Logs Insights: StartQuery, GetQueryResults, StopQuery, DescribeQueries and GetLogRecord.
 * A query runs in the background over the stored events of its log groups (insights/ holds
 * the language); its state and results live in memory, as AWS keeps results for a while
 * and not for ever.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html
 */
import { randomUUID } from 'node:crypto';
import type { LogsOperations } from '../../api/logs/operations.js';
import {
  LimitExceededException,
  MalformedQueryException,
  ResourceNotFoundException,
} from '../../api/logs/errors.js';
import type {
  GetQueryResultsResponse,
  QueryInfo,
  QueryStatistics,
  QueryStatus,
  ResultField,
  StartQueryRequest,
} from '../../api/logs/types.js';
import type { MetadataStore } from '../../storage/types.js';
import { encodeToken } from '../../shared/paging.js';
import {
  decodeToken,
  groupArn,
  invalid,
  invalidToken,
  type LogsDeps,
  pageList,
  parseGroupArn,
  scopeOf,
} from './common.js';
import { QueryExecution } from './insights/engine.js';
import { QuerySyntaxError } from './insights/lexer.js';
import { MAX_LIMIT, parseQuery, type Query } from './insights/parser.js';
import { recordOf } from './insights/record.js';
import {
  childPrefix,
  eventPages,
  groupKey,
  type GroupRecord,
  GROUPS,
  listEvents,
  nextPosition,
  type Scope,
  streamKey,
  type StreamRecord,
  STREAMS,
} from './store.js';

/** "You can have up to 100 concurrent CloudWatch Logs insights queries" (the model's text). */
export const MAX_CONCURRENT_QUERIES = 100;
/** "Queries time out after 60 minutes of runtime." */
export const QUERY_TIMEOUT_MS = 60 * 60_000;
/** "logGroupNames: … You can include up to 50 log groups." */
const MAX_GROUPS = 50;
/** Finished queries kept per account and region for GetQueryResults and DescribeQueries. */
const KEPT_QUERIES = 1000;
const DAY_MS = 86_400_000;

interface RunningQuery {
  id: string;
  scope: Scope;
  queryString: string;
  groups: string[];
  status: QueryStatus;
  createTime: number;
  endedAt?: number;
  rows: ResultField[][];
  statistics: Required<
    Pick<QueryStatistics, 'recordsMatched' | 'recordsScanned' | 'bytesScanned'>
  > &
    QueryStatistics;
  cancelled: boolean;
}

type QueryOps = Pick<
  LogsOperations,
  | 'StartQuery'
  | 'GetQueryResults'
  | 'StopQuery'
  | 'DescribeQueries'
  | 'GetLogRecord'
  | 'ListLogGroupsForQuery'
  | 'GetLogObject'
>;

/** Where one event of a result lives; @ptr is this, encoded. */
interface Pointer {
  g: string;
  s: string;
  p: string;
}

const encodePtr = (p: Pointer): string =>
  Buffer.from(JSON.stringify([p.g, p.s, p.p])).toString('base64url');

function decodePtr(ptr: string): Pointer | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(ptr, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) {
      const [g, s, p] = v as string[];
      if (/^\d{27}$/.test(p)) return { g, s, p };
    }
  } catch {
    // not ours
  }
  return undefined;
}

interface ResultsToken {
  q: string;
  o: number;
}
const isResultsToken = (v: unknown): v is ResultsToken =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ResultsToken).q === 'string' &&
  Number.isInteger((v as ResultsToken).o) &&
  (v as ResultsToken).o >= 0;

/** How queries run; tests shorten the limits and decide when scheduled queries start. */
export interface QueryLimits {
  timeoutMs: number;
  maxConcurrent: number;
  /** Starts a scheduled query's scan (default: on the next turn of the event loop). */
  schedule(job: () => void): void;
}

const DEFAULT_LIMITS: QueryLimits = {
  timeoutMs: QUERY_TIMEOUT_MS,
  maxConcurrent: MAX_CONCURRENT_QUERIES,
  schedule: (job) => setImmediate(job),
};

export function queryOperations(deps: LogsDeps, limits: QueryLimits = DEFAULT_LIMITS): QueryOps {
  const queries = new Map<string, RunningQuery>();
  const now = () => deps.now();

  const find = (id: string, scope: Scope): RunningQuery => {
    const q = queries.get(id);
    if (!q || q.scope.account !== scope.account || q.scope.region !== scope.region) {
      throw new ResourceNotFoundException('The specified query does not exist.');
    }
    return q;
  };

  const forget = (scope: Scope): void => {
    const finished = [...queries.values()].filter(
      (q) => sameScope(q.scope, scope) && q.endedAt !== undefined,
    );
    for (const q of finished.slice(0, Math.max(0, finished.length - KEPT_QUERIES))) {
      queries.delete(q.id);
    }
  };

  return {
    async StartQuery(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.queryLanguage !== undefined && input.queryLanguage !== 'CWLI') {
        throw invalid(
          `Query language ${input.queryLanguage} is not supported by Stratus; use CWLI.`,
        );
      }
      const groups = await resolveGroups(deps.store, input, scope);
      if (input.endTime < input.startTime) {
        throw invalid('End time must be greater than or equal to start time');
      }
      const query = compile(input.queryString);
      if (input.limit !== undefined && (input.limit < 1 || input.limit > MAX_LIMIT)) {
        throw invalid(`limit must be between 1 and ${MAX_LIMIT}`);
      }
      const active = [...queries.values()].filter(
        (q) => sameScope(q.scope, scope) && (q.status === 'Scheduled' || q.status === 'Running'),
      ).length;
      if (active >= limits.maxConcurrent) {
        throw new LimitExceededException(
          `Account maximum query concurrency limit of [${limits.maxConcurrent}] reached.`,
        );
      }
      forget(scope);
      const q: RunningQuery = {
        id: randomUUID(),
        scope,
        queryString: input.queryString,
        groups,
        status: 'Scheduled',
        createTime: now(),
        rows: [],
        statistics: { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 },
        cancelled: false,
      };
      queries.set(q.id, q);
      limits.schedule(() => {
        void run(deps.store, q, query, input, limits.timeoutMs, now);
      });
      return { queryId: q.id };
    },

    async GetQueryResults(input, ctx) {
      const q = find(input.queryId, scopeOf(ctx));
      const all = q.status === 'Complete' ? q.rows : [];
      // "You can retrieve up to 100,000 log event results from a query by paginating with
      // the nextToken" (maxItems: "The maximum is 10,000 log events per request").
      let offset = 0;
      if (input.nextToken !== undefined) {
        const token = decodeToken(input.nextToken, isResultsToken);
        if (token.q !== q.id) throw invalidToken();
        offset = token.o;
      }
      const size = input.maxItems || MAX_LIMIT;
      const out: GetQueryResultsResponse = {
        queryLanguage: 'CWLI',
        results: all.slice(offset, offset + size),
        statistics: { ...q.statistics, logGroupsScanned: q.groups.length },
        status: q.status,
      };
      if (offset + size < all.length) out.nextToken = encodeToken({ q: q.id, o: offset + size });
      return out;
    },

    async StopQuery(input, ctx) {
      const q = find(input.queryId, scopeOf(ctx));
      if (q.status !== 'Scheduled' && q.status !== 'Running') {
        throw invalid(`Query ${q.id} is not running (status: ${q.status}).`);
      }
      q.cancelled = true;
      q.status = 'Cancelled';
      q.endedAt = now();
      return { success: true };
    },

    async DescribeQueries(input, ctx) {
      const scope = scopeOf(ctx);
      const all = [...queries.values()]
        .filter(
          (q) =>
            sameScope(q.scope, scope) &&
            (input.status === undefined || q.status === input.status) &&
            (input.logGroupName === undefined || q.groups.includes(input.logGroupName)),
        )
        .sort((a, b) => b.createTime - a.createTime || (a.id < b.id ? -1 : 1));
      const page = pageList(all, (q) => q.id, input.nextToken, input.maxResults, 1000);
      const infos: QueryInfo[] = page.items.map((q) => ({
        queryLanguage: 'CWLI',
        queryId: q.id,
        queryString: q.queryString,
        status: q.status,
        createTime: q.createTime,
        logGroupName: q.groups[0],
        queryDuration: (q.endedAt ?? now()) - q.createTime,
        bytesScanned: q.statistics.bytesScanned,
      }));
      return page.nextToken === undefined
        ? { queries: infos }
        : { queries: infos, nextToken: page.nextToken };
    },

    async ListLogGroupsForQuery(input, ctx) {
      const scope = scopeOf(ctx);
      const q = find(input.queryId, scope);
      // "An array of the names and ARNs of the log groups that were processed in the query."
      const page = pageList(
        q.groups.map((g) => groupArn(scope, g)),
        (arn) => arn,
        input.nextToken,
        input.maxResults,
        500,
      );
      return page.nextToken === undefined
        ? { logGroupIdentifiers: page.items }
        : { logGroupIdentifiers: page.items, nextToken: page.nextToken };
    },

    /**
     * Log objects are the large values AWS stores outside an event and points to from query
     * results; Stratus keeps every value in its event and hands out no such pointer.
     * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogObject.html
     */
    async GetLogObject() {
      throw new ResourceNotFoundException('The specified log object does not exist.');
    },

    async GetLogRecord(input, ctx) {
      const scope = scopeOf(ctx);
      const ptr = decodePtr(input.logRecordPointer);
      if (!ptr) throw invalid('The specified log record pointer is not valid.');
      const gKey = groupKey(scope, ptr.g);
      const sKey = streamKey(gKey, ptr.s);
      const [ev] = await listEvents(deps.store, sKey, { from: ptr.p, to: nextPosition(ptr.p) });
      if (!ev) throw new ResourceNotFoundException('The specified log record does not exist.');
      const record = recordOf({
        account: scope.account,
        group: ptr.g,
        stream: ptr.s,
        timestamp: ev.timestamp,
        ingestionTime: ev.ingestionTime,
        message: ev.message,
        ptr: input.logRecordPointer,
      });
      const logRecord: Record<string, string> = {};
      for (const [k, v] of record) {
        if (k === '@ptr' || v === null) continue;
        logRecord[k] =
          k === '@timestamp' || k === '@ingestionTime' ? String(toMillis(v)) : String(v);
      }
      return { logRecord };
    },
  };
}

const toMillis = (v: unknown): number =>
  typeof v === 'object' && v !== null && 'ms' in v ? (v as { ms: number }).ms : Number(v);

const sameScope = (a: Scope, b: Scope): boolean => a.account === b.account && a.region === b.region;

/** The query, or AWS's MalformedQueryException pointing at the offending characters. */
export function compile(queryString: string): Query {
  try {
    return parseQuery(queryString);
  } catch (err) {
    if (!(err instanceof QuerySyntaxError)) throw err;
    const message = `Query syntax error at position ${err.start}: ${err.message}`;
    throw new MalformedQueryException(message, {
      queryCompileError: {
        location: { startCharOffset: err.start, endCharOffset: Math.max(err.start, err.end - 1) },
        message: err.message,
      },
    });
  }
}

/** "A StartQuery operation must include exactly one of … logGroupName, logGroupNames or logGroupIdentifiers." */
export async function resolveGroups(
  store: MetadataStore,
  input: StartQueryRequest,
  scope: Scope,
): Promise<string[]> {
  const given = [input.logGroupName, input.logGroupNames, input.logGroupIdentifiers].filter(
    (v) => v !== undefined,
  ).length;
  if (given !== 1) {
    throw invalid(
      'Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified.',
    );
  }
  const names: string[] = [];
  if (input.logGroupName !== undefined) names.push(input.logGroupName);
  for (const n of input.logGroupNames ?? []) names.push(n);
  for (const id of input.logGroupIdentifiers ?? []) {
    if (!id.startsWith('arn:')) {
      names.push(id);
      continue;
    }
    const arn = parseGroupArn(id);
    if (!arn) throw invalid(`Invalid ARN: ${id}`);
    if (arn.account !== scope.account || arn.region !== scope.region) {
      throw new ResourceNotFoundException(
        `Log group '${arn.name}' does not exist for account ID '${arn.account}'`,
      );
    }
    names.push(arn.name);
  }
  const unique = [...new Set(names)];
  if (unique.length > MAX_GROUPS) {
    throw invalid(`A query can include up to ${MAX_GROUPS} log groups.`);
  }
  for (const name of unique) {
    const g = await store.get<GroupRecord>(GROUPS, groupKey(scope, name));
    if (!g) {
      throw new ResourceNotFoundException(
        `Log group '${name}' does not exist for account ID '${scope.account}'`,
      );
    }
    // "[The Delivery] log class doesn't offer rich CloudWatch Logs capabilities such as
    // CloudWatch Logs Insights queries."
    if (g.logGroupClass === 'DELIVERY') {
      throw invalid(
        `Log group '${name}' is in the DELIVERY log class, which does not support Logs Insights queries.`,
      );
    }
  }
  return unique;
}

/**
 * Runs a query to the end outside the StartQuery bookkeeping (scheduled queries): the
 * groups are resolved as StartQuery does; times are epoch seconds, inclusive.
 */
export async function runQueryOnce(
  store: MetadataStore,
  scope: Scope,
  groupIdentifiers: string[],
  queryString: string,
  startTime: number,
  endTime: number,
  now: () => number,
): Promise<{ id: string; status: QueryStatus; rows: ResultField[][] }> {
  const input: StartQueryRequest = {
    logGroupIdentifiers: groupIdentifiers,
    queryString,
    startTime,
    endTime,
  };
  const groups = await resolveGroups(store, input, scope);
  const query = compile(queryString);
  const q: RunningQuery = {
    id: randomUUID(),
    scope,
    queryString,
    groups,
    status: 'Scheduled',
    createTime: now(),
    rows: [],
    statistics: { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 },
    cancelled: false,
  };
  await run(store, q, query, input, QUERY_TIMEOUT_MS, now);
  return { id: q.id, status: q.status, rows: q.rows };
}

/** Scans the groups' events in the time range and feeds them to the query. */
async function run(
  store: MetadataStore,
  q: RunningQuery,
  query: Query,
  input: StartQueryRequest,
  timeoutMs: number,
  now: () => number,
): Promise<void> {
  if (q.cancelled) return;
  q.status = 'Running';
  const deadline = now() + timeoutMs;
  const exec = new QueryExecution(query, input.limit ?? MAX_LIMIT);
  // Seconds; "The range is inclusive, so the specified end time is included in the query."
  const startMs = input.startTime * 1000;
  const endMs = input.endTime * 1000 + 999;
  try {
    for (const group of q.groups) {
      const gKey = groupKey(q.scope, group);
      const g = await store.get<GroupRecord>(GROUPS, gKey);
      if (!g) continue;
      let from = startMs;
      if (g.retentionInDays !== undefined)
        from = Math.max(from, now() - g.retentionInDays * DAY_MS);
      const streams = await store.list<StreamRecord>(STREAMS, { prefix: childPrefix(gKey) });
      for (const { value: s } of streams) {
        if (s.nextSeq === 0) continue;
        const sKey = streamKey(gKey, s.name);
        for await (const page of eventPages(store, sKey, from, endMs + 1)) {
          if (q.cancelled) return;
          if (now() > deadline) {
            q.status = 'Timeout';
            q.endedAt = now();
            return;
          }
          for (const ev of page) {
            q.statistics.recordsScanned++;
            q.statistics.bytesScanned += Buffer.byteLength(ev.message, 'utf8');
            exec.add(
              recordOf({
                account: q.scope.account,
                group,
                stream: s.name,
                timestamp: ev.timestamp,
                ingestionTime: ev.ingestionTime,
                message: ev.message,
                ptr: encodePtr({ g: group, s: s.name, p: ev.pos }),
              }),
            );
          }
          q.statistics.recordsMatched = exec.matched;
        }
      }
    }
    if (q.cancelled) return;
    q.rows = exec.finish().rows;
    q.statistics.recordsMatched = exec.matched;
    q.status = 'Complete';
  } catch {
    if (!q.cancelled) q.status = 'Failed';
  } finally {
    q.endedAt ??= now();
  }
}
