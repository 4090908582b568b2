/**
 * CloudWatch Logs (json 1.1, `Logs_20140328`): log groups, streams, retention and tags here;
 * event ingestion and reads in events.ts.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/Welcome.html
 */
import { TooManyTagsException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  CreateLogGroupRequest,
  CreateLogStreamRequest,
  DeleteLogGroupRequest,
  DeleteLogStreamRequest,
  DeleteRetentionPolicyRequest,
  DescribeLogGroupsRequest,
  DescribeLogGroupsResponse,
  DescribeLogStreamsRequest,
  DescribeLogStreamsResponse,
  FilterLogEventsRequest,
  FilterLogEventsResponse,
  GetLogEventsRequest,
  GetLogEventsResponse,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  ListTagsLogGroupRequest,
  ListTagsLogGroupResponse,
  LogGroup,
  LogStream,
  PutLogEventsRequest,
  PutLogEventsResponse,
  PutRetentionPolicyRequest,
  TagLogGroupRequest,
  TagResourceRequest,
  UntagLogGroupRequest,
  UntagResourceRequest,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import { compareKeys } from '../../storage/key-order.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import {
  decodeToken,
  encodeToken,
  groupArn,
  groupExists,
  groupNotFound,
  invalid,
  isString,
  type LogsOptions,
  pageLimit,
  parseGroupArn,
  resolveGroupName,
  scopeOf,
  streamArn,
  streamExists,
  streamNotFound,
  validationError,
} from './common.js';
import { LogEvents } from './events.js';
import {
  childPrefix,
  deleteGroupTree,
  deleteStreamTree,
  GROUPS,
  type GroupRecord,
  groupKey,
  newGroup,
  newStream,
  type Scope,
  scopePrefix,
  sequenceToken,
  STREAMS,
  type StreamRecord,
  streamKey,
} from './store.js';

/** The operations Stratus implements; the gateway answers NotImplemented for the rest. */
export type LogsProviderOps = Pick<
  LogsOperations,
  | 'CreateLogGroup'
  | 'DescribeLogGroups'
  | 'DeleteLogGroup'
  | 'PutRetentionPolicy'
  | 'DeleteRetentionPolicy'
  | 'CreateLogStream'
  | 'DescribeLogStreams'
  | 'DeleteLogStream'
  | 'PutLogEvents'
  | 'GetLogEvents'
  | 'FilterLogEvents'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource'
  | 'TagLogGroup'
  | 'UntagLogGroup'
  | 'ListTagsLogGroup'
>;

/** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;
const RETENTION_SET: ReadonlySet<number> = new Set(RETENTION_DAYS);

const MAX_TAGS = 50;
const DESCRIBE_MAX = 50;

interface GroupPageToken {
  /** Last group name returned. */
  n: string;
}
const isGroupToken = (v: unknown): v is GroupPageToken =>
  typeof v === 'object' && v !== null && isString((v as GroupPageToken).n);

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

export class LogsProvider implements LogsProviderOps {
  private readonly now: () => number;
  private readonly events: LogEvents;

  constructor(
    private readonly store: MetadataStore,
    options: LogsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.events = new LogEvents(store, this.now);
  }

  // -------------------------------------------------------------------------------------
  // Log groups

  async CreateLogGroup(input: CreateLogGroupRequest, ctx: RequestContext): Promise<void> {
    const name = input.logGroupName;
    // "Log group names can't start with the string aws/" (CreateLogGroup guidelines).
    if (name.startsWith('aws/')) {
      throw invalid("Log group names can't start with the string aws/");
    }
    const record = newGroup(name, this.now());
    if (input.logGroupClass !== undefined) record.logGroupClass = input.logGroupClass;
    if (input.tags !== undefined) record.tags = { ...input.tags };
    if (input.kmsKeyId !== undefined) record.kmsKeyId = input.kmsKeyId;
    if (input.deletionProtectionEnabled) record.deletionProtectionEnabled = true;
    const created = await this.store.insert(GROUPS, groupKey(scopeOf(ctx), name), record);
    if (!created) throw groupExists();
  }

  async DescribeLogGroups(
    input: DescribeLogGroupsRequest,
    ctx: RequestContext,
  ): Promise<DescribeLogGroupsResponse> {
    const scope = scopeOf(ctx);
    const limit = pageLimit(input.limit, DESCRIBE_MAX);
    const { logGroupNamePrefix: prefix, logGroupNamePattern: pattern } = input;
    if (prefix !== undefined && pattern !== undefined) {
      throw invalid(
        'LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.',
      );
    }
    if (input.logGroupIdentifiers !== undefined) {
      return { logGroups: await this.describeIdentified(scope, input.logGroupIdentifiers) };
    }
    const after = input.nextToken ? decodeToken(input.nextToken, isGroupToken).n : undefined;
    const wanted = (g: GroupRecord): boolean =>
      (pattern === undefined || g.name.includes(pattern)) &&
      (input.logGroupClass === undefined || g.logGroupClass === input.logGroupClass);
    const base = scopePrefix(scope);
    const page: GroupRecord[] = [];
    let cursor = after === undefined ? undefined : base + after;
    let more = false;
    // Filters (pattern, class) may skip stored groups, so read in chunks until the page is full.
    for (;;) {
      const chunk = await this.store.list<GroupRecord>(GROUPS, {
        prefix: base + (prefix ?? ''),
        after: cursor,
        limit: limit + 1,
      });
      for (const item of chunk) {
        if (!wanted(item.value)) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push(item.value);
      }
      if (more || chunk.length <= limit) break;
      cursor = chunk[chunk.length - 1].key;
    }
    const logGroups: LogGroup[] = [];
    for (const g of page) {
      // "If you specify logGroupNamePattern in your request, then only arn, creationTime,
      // and logGroupName are included in the response."
      if (pattern !== undefined) {
        logGroups.push({
          logGroupName: g.name,
          creationTime: g.creationTime,
          arn: `${groupArn(scope, g.name)}:*`,
        });
      } else {
        logGroups.push(await this.describeGroup(this.store, scope, g));
      }
    }
    const out: DescribeLogGroupsResponse = { logGroups };
    if (more) out.nextToken = encodeToken({ n: page[page.length - 1].name });
    return out;
  }

  private async describeIdentified(scope: Scope, identifiers: string[]): Promise<LogGroup[]> {
    const names = new Set<string>();
    for (const id of identifiers) {
      const arn = id.startsWith('arn:') ? parseGroupArn(id) : undefined;
      if (arn && (arn.account !== scope.account || arn.region !== scope.region)) continue;
      names.add(arn ? arn.name : id);
    }
    const out: LogGroup[] = [];
    for (const name of [...names].sort()) {
      const g = await this.store.get<GroupRecord>(GROUPS, groupKey(scope, name));
      if (g) out.push(await this.describeGroup(this.store, scope, g));
    }
    return out;
  }

  private async describeGroup(ops: MetadataOps, scope: Scope, g: GroupRecord): Promise<LogGroup> {
    // The group's storedBytes is the sum of its streams' (which AWS itself reports as 0).
    let storedBytes = 0;
    const streams = await ops.list<StreamRecord>(STREAMS, {
      prefix: childPrefix(groupKey(scope, g.name)),
    });
    for (const s of streams) storedBytes += s.value.storedBytes;
    const arn = groupArn(scope, g.name);
    const out: LogGroup = {
      logGroupName: g.name,
      creationTime: g.creationTime,
      metricFilterCount: 0,
      arn: `${arn}:*`,
      storedBytes,
      logGroupClass: g.logGroupClass,
      logGroupArn: arn,
    };
    if (g.retentionInDays !== undefined) out.retentionInDays = g.retentionInDays;
    if (g.kmsKeyId !== undefined) out.kmsKeyId = g.kmsKeyId;
    if (g.deletionProtectionEnabled) out.deletionProtectionEnabled = true;
    return out;
  }

  async DeleteLogGroup(input: DeleteLogGroupRequest, ctx: RequestContext): Promise<void> {
    const key = groupKey(scopeOf(ctx), input.logGroupName);
    await this.store.transaction(async (tx) => {
      if (!(await tx.get<GroupRecord>(GROUPS, key))) throw groupNotFound();
      await deleteGroupTree(tx, key);
    });
  }

  async PutRetentionPolicy(input: PutRetentionPolicyRequest, ctx: RequestContext): Promise<void> {
    const days = input.retentionInDays;
    if (!RETENTION_SET.has(days)) {
      throw validationError(
        'retentionInDays',
        days,
        `Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
      );
    }
    await this.updateGroup(scopeOf(ctx), input.logGroupName, (g) => {
      g.retentionInDays = days;
    });
  }

  async DeleteRetentionPolicy(
    input: DeleteRetentionPolicyRequest,
    ctx: RequestContext,
  ): Promise<void> {
    await this.updateGroup(scopeOf(ctx), input.logGroupName, (g) => {
      delete g.retentionInDays;
    });
  }

  /** Read-modify-write of one group record in one transaction. */
  private async updateGroup(
    scope: Scope,
    name: string,
    change: (g: GroupRecord) => void,
  ): Promise<GroupRecord> {
    const key = groupKey(scope, name);
    return this.store.transaction(async (tx) => {
      const g = await tx.get<GroupRecord>(GROUPS, key);
      if (!g) throw groupNotFound();
      change(g);
      await tx.put(GROUPS, key, g);
      return g;
    });
  }

  // -------------------------------------------------------------------------------------
  // Log streams

  async CreateLogStream(input: CreateLogStreamRequest, ctx: RequestContext): Promise<void> {
    const gKey = groupKey(scopeOf(ctx), input.logGroupName);
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const g = await tx.get<GroupRecord>(GROUPS, gKey);
      if (!g) throw groupNotFound();
      const stream = newStream(input.logStreamName, g.nextStreamId, now);
      if (!(await tx.insert(STREAMS, streamKey(gKey, input.logStreamName), stream))) {
        throw streamExists();
      }
      g.nextStreamId++;
      await tx.put(GROUPS, gKey, g);
    });
  }

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
    if (!(await this.store.get<GroupRecord>(GROUPS, gKey))) throw groupNotFound();
    const base = childPrefix(gKey);
    const descending = input.descending === true;

    let page: StreamRecord[];
    let more: boolean;
    if (byTime) {
      // No index on last event time: sort the group's streams (name breaks ties).
      const all = (await this.store.list<StreamRecord>(STREAMS, { prefix: base })).map(
        (i) => i.value,
      );
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
      const items = await this.store.list<StreamRecord>(STREAMS, {
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
  }

  async DeleteLogStream(input: DeleteLogStreamRequest, ctx: RequestContext): Promise<void> {
    const gKey = groupKey(scopeOf(ctx), input.logGroupName);
    const sKey = streamKey(gKey, input.logStreamName);
    await this.store.transaction(async (tx) => {
      if (!(await tx.get<GroupRecord>(GROUPS, gKey))) throw groupNotFound();
      if (!(await tx.get<StreamRecord>(STREAMS, sKey))) throw streamNotFound();
      await deleteStreamTree(tx, sKey);
    });
  }

  // -------------------------------------------------------------------------------------
  // Events (events.ts)

  PutLogEvents(input: PutLogEventsRequest, ctx: RequestContext): Promise<PutLogEventsResponse> {
    return this.events.put(input, scopeOf(ctx));
  }

  GetLogEvents(input: GetLogEventsRequest, ctx: RequestContext): Promise<GetLogEventsResponse> {
    return this.events.get(input, scopeOf(ctx));
  }

  FilterLogEvents(
    input: FilterLogEventsRequest,
    ctx: RequestContext,
  ): Promise<FilterLogEventsResponse> {
    return this.events.filter(input, scopeOf(ctx));
  }

  // -------------------------------------------------------------------------------------
  // Tags: TagResource & co. take the log group ARN (without `:*`); the legacy
  // TagLogGroup & co. take its name.

  async TagResource(input: TagResourceRequest, ctx: RequestContext): Promise<void> {
    await this.tag(scopeOf(ctx), this.taggedGroup(input.resourceArn, ctx), input.tags);
  }

  async UntagResource(input: UntagResourceRequest, ctx: RequestContext): Promise<void> {
    await this.untag(scopeOf(ctx), this.taggedGroup(input.resourceArn, ctx), input.tagKeys);
  }

  async ListTagsForResource(
    input: ListTagsForResourceRequest,
    ctx: RequestContext,
  ): Promise<ListTagsForResourceResponse> {
    return { tags: await this.tags(scopeOf(ctx), this.taggedGroup(input.resourceArn, ctx)) };
  }

  async TagLogGroup(input: TagLogGroupRequest, ctx: RequestContext): Promise<void> {
    await this.tag(scopeOf(ctx), input.logGroupName, input.tags);
  }

  async UntagLogGroup(input: UntagLogGroupRequest, ctx: RequestContext): Promise<void> {
    await this.untag(scopeOf(ctx), input.logGroupName, input.tags);
  }

  async ListTagsLogGroup(
    input: ListTagsLogGroupRequest,
    ctx: RequestContext,
  ): Promise<ListTagsLogGroupResponse> {
    return { tags: await this.tags(scopeOf(ctx), input.logGroupName) };
  }

  private taggedGroup(resourceArn: string, ctx: RequestContext): string {
    const arn = parseGroupArn(resourceArn);
    if (!arn) {
      // Destinations are the only other taggable resource; Stratus has none.
      if (/^arn:aws[\w-]*:logs:[\w-]+:\d{12}:destination:/.test(resourceArn)) {
        throw groupNotFound();
      }
      throw invalid(`Invalid resource ARN: ${resourceArn}`);
    }
    if (arn.account !== ctx.account || arn.region !== ctx.region) throw groupNotFound();
    return arn.name;
  }

  private async tag(scope: Scope, group: string, tags: Record<string, string>): Promise<void> {
    await this.updateGroup(scope, group, (g) => {
      const merged = { ...g.tags, ...tags };
      if (Object.keys(merged).length > MAX_TAGS) {
        throw new TooManyTagsException('A resource can have no more than 50 tags.', {
          resourceName: groupArn(scope, group),
        });
      }
      g.tags = merged;
    });
  }

  private async untag(scope: Scope, group: string, keys: string[]): Promise<void> {
    await this.updateGroup(scope, group, (g) => {
      for (const k of keys) delete g.tags[k];
    });
  }

  private async tags(scope: Scope, group: string): Promise<Record<string, string>> {
    const g = await this.store.get<GroupRecord>(GROUPS, groupKey(scope, group));
    if (!g) throw groupNotFound();
    return g.tags;
  }
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
