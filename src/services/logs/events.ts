/**
 * Log events: PutLogEvents, GetLogEvents and FilterLogEvents.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
 */
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  FilteredLogEvent,
  FilterLogEventsRequest,
  FilterLogEventsResponse,
  GetLogEventsRequest,
  GetLogEventsResponse,
  OutputLogEvent,
  PutLogEventsRequest,
  PutLogEventsResponse,
  RejectedLogEventsInfo,
} from '../../api/logs/types.js';
import { encodeToken } from '../../shared/paging.js';
import type { MetadataStore } from '../../storage/types.js';
import {
  decodeToken,
  groupNotFound,
  invalid,
  invalidToken,
  isString,
  type LogsDeps,
  pageLimit,
  resolveGroupName,
  scopeOf,
  streamNotFound,
  validationError,
} from './common.js';
import { compileFilterPattern, FilterPatternError, type Matcher } from './filter-pattern.js';
import { MinHeap } from '../../shared/min-heap.js';
import type { SubscriptionDelivery } from './subscription-delivery.js';
import { ingestEvents } from './ingest.js';
import {
  childPrefix,
  EVENT_OVERHEAD_BYTES,
  GROUPS,
  type GroupRecord,
  groupKey,
  listEvents,
  MAX_BATCH_BYTES,
  type NewEvent,
  nextPosition,
  POS_DIGITS,
  type Scope,
  sequenceToken,
  type StoredEvent,
  STREAMS,
  type StreamRecord,
  streamKey,
  timePosition,
  eventId,
} from './store.js';

const MAX_EVENTS = 10_000;
const DAY_MS = 86_400_000;
/** "Events older than 14 days or preceding the log group's retention period are rejected". */
const TOO_OLD_MS = 14 * DAY_MS;
/** "Events more than 2 hours in the future are rejected". */
const TOO_NEW_MS = 2 * 3_600_000;
/** "the time span in a single batch cannot exceed 24 hours". */
const MAX_SPAN_MS = DAY_MS;

const ZERO_POSITION = '0'.repeat(POS_DIGITS);
/** GetLogEvents tokens look like AWS's: `f/` or `b/` and 56 digits. */
const GET_TOKEN = /^([fb])\/(\d{56})$/;
const TOKEN_PAD = 56 - POS_DIGITS;

interface FilterToken {
  /** timestamp, ingestion time, stream name and sequence of the last event returned */
  t: number;
  i: number;
  s: string;
  q: number;
}
const isFilterToken = (v: unknown): v is FilterToken => {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as FilterToken;
  return (
    typeof t.t === 'number' && typeof t.i === 'number' && isString(t.s) && typeof t.q === 'number'
  );
};

interface Candidate {
  ev: StoredEvent;
  cursor: StreamCursor;
}

/** (timestamp, ingestion time, stream, sequence): AWS sorts "by event timestamp, the
 * timestamp when the event was ingested by CloudWatch Logs, and the ID of the PutLogEvents
 * request"; within a stream the sequence number keeps write order. */
function before(
  a: { timestamp: number; ingestionTime: number; seq: number },
  aStream: string,
  b: { timestamp: number; ingestionTime: number; seq: number },
  bStream: string,
): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  if (a.ingestionTime !== b.ingestionTime) return a.ingestionTime < b.ingestionTime;
  if (aStream !== bStream) return aStream < bStream;
  return a.seq < b.seq;
}

type EventOps = Pick<LogsOperations, 'PutLogEvents' | 'GetLogEvents' | 'FilterLogEvents'>;

export function eventOperations(deps: LogsDeps): EventOps {
  const events = new LogEvents(deps.store, () => deps.now(), deps.subscriptions);
  return {
    PutLogEvents: (input, ctx) => events.put(input, scopeOf(ctx)),
    GetLogEvents: (input, ctx) => events.get(input, scopeOf(ctx)),
    FilterLogEvents: (input, ctx) => events.filter(input, scopeOf(ctx)),
  };
}

/** The event operations' work, scoped to one account and region. */
class LogEvents {
  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number,
    private readonly subscriptions?: SubscriptionDelivery,
  ) {}

  async put(input: PutLogEventsRequest, scope: Scope): Promise<PutLogEventsResponse> {
    const events = input.logEvents;
    if (events.length > MAX_EVENTS) {
      throw validationError(
        'logEvents',
        `[${events.length} events]`,
        `Member must have length less than or equal to ${MAX_EVENTS}`,
      );
    }
    let size = 0;
    for (let i = 0; i < events.length; i++) {
      if (i > 0 && events[i].timestamp < events[i - 1].timestamp) {
        throw invalid(
          'Log events in a single PutLogEvents request must be in chronological order.',
        );
      }
      size += Buffer.byteLength(events[i].message, 'utf8') + EVENT_OVERHEAD_BYTES;
    }
    if (size > MAX_BATCH_BYTES) {
      throw invalid(`Upload too large: ${size} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
    }

    const now = this.now();
    const oldest = now - TOO_OLD_MS;
    const newest = now + TOO_NEW_MS;
    // The batch is chronological, so too-old events form a prefix and too-new ones a suffix.
    let lo = 0;
    while (lo < events.length && events[lo].timestamp < oldest) lo++;
    let hi = events.length;
    while (hi > lo && events[hi - 1].timestamp > newest) hi--;

    const gKey = groupKey(scope, input.logGroupName);
    const sKey = streamKey(gKey, input.logStreamName);
    let appended: readonly NewEvent[] = [];
    const answer = await this.store.transaction(async (tx) => {
      const group = await tx.get<GroupRecord>(GROUPS, gKey);
      if (!group) throw groupNotFound();
      const stream = await tx.get<StreamRecord>(STREAMS, sKey);
      if (!stream) throw streamNotFound();
      const info: RejectedLogEventsInfo = {};
      // The index fields follow AWS: the last too-old / expired index, the first too-new one.
      if (lo > 0) info.tooOldLogEventEndIndex = lo - 1;
      let first = lo;
      if (group.retentionInDays !== undefined) {
        const cutoff = now - group.retentionInDays * DAY_MS;
        while (first < hi && events[first].timestamp < cutoff) first++;
        if (first > lo) info.expiredLogEventEndIndex = first - 1;
      }
      if (hi < events.length) info.tooNewLogEventStartIndex = hi;
      if (hi > first && events[hi - 1].timestamp - events[first].timestamp > MAX_SPAN_MS) {
        throw invalid(
          'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
        );
      }
      const accepted: readonly NewEvent[] =
        first === 0 && hi === events.length ? events : events.slice(first, hi);
      appended = await ingestEvents(
        tx,
        scope,
        input.logGroupName,
        input.logStreamName,
        stream,
        accepted,
        now,
      );
      const out: PutLogEventsResponse = { nextSequenceToken: sequenceToken(stream) };
      if (first > 0 || hi < events.length) out.rejectedLogEventsInfo = info;
      return out;
    });
    await this.subscriptions?.appended(scope, input.logGroupName, input.logStreamName, appended);
    return answer;
  }

  async get(input: GetLogEventsRequest, scope: Scope): Promise<GetLogEventsResponse> {
    const group = resolveGroupName(input, scope);
    const limit = pageLimit(input.limit, MAX_EVENTS);
    let token: { forward: boolean; pos: string } | undefined;
    if (input.nextToken !== undefined) {
      const m = GET_TOKEN.exec(input.nextToken);
      if (!m || !/^0+$/.test(m[2].slice(0, TOKEN_PAD))) throw invalidToken();
      token = { forward: m[1] === 'f', pos: m[2].slice(TOKEN_PAD) };
    }
    const gKey = groupKey(scope, group);
    const sKey = streamKey(gKey, input.logStreamName);
    const g = await this.store.get<GroupRecord>(GROUPS, gKey);
    if (!g) throw groupNotFound();
    if (!(await this.store.get<StreamRecord>(STREAMS, sKey))) throw streamNotFound();

    // startTime is inclusive; "Events with a timestamp equal to or later than [endTime] are
    // not included."
    let lower = this.retentionFloor(g);
    if (input.startTime !== undefined) lower = maxPos(lower, timePosition(input.startTime));
    const upper = input.endTime === undefined ? undefined : timePosition(input.endTime);

    // A token decides the direction; without one, startFromHead does (default: the tail).
    const forward = token ? token.forward : input.startFromHead === true;
    let page: StoredEvent[];
    if (forward) {
      const from = token ? maxPos(lower, token.pos) : lower;
      page = await listEvents(this.store, sKey, { from, to: upper, limit });
      page = page.slice(0, fitBytes(page));
    } else {
      const to = token ? minPos(upper, token.pos) : upper;
      page = await listEvents(this.store, sKey, { from: lower, to, reverse: true, limit });
      page = page.slice(0, fitBytes(page)).reverse();
    }

    // Tokens are half-open boundaries: f/P reads events at or after P, b/P those before P.
    // At the end of the stream the caller's own token comes back, which is what stops
    // the SDKs' and the CLI's paginators.
    let fwd: string;
    let back: string;
    if (page.length > 0) {
      fwd = nextPosition(page[page.length - 1].pos);
      back = page[0].pos;
    } else {
      fwd = back = token ? token.pos : (lower ?? ZERO_POSITION);
    }
    const events: OutputLogEvent[] = new Array(page.length);
    for (let i = 0; i < page.length; i++) {
      const e = page[i];
      events[i] = { timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime };
    }
    return {
      events,
      nextForwardToken: getToken('f', fwd),
      nextBackwardToken: getToken('b', back),
    };
  }

  async filter(input: FilterLogEventsRequest, scope: Scope): Promise<FilterLogEventsResponse> {
    const group = resolveGroupName(input, scope);
    if (input.logStreamNames !== undefined && input.logStreamNamePrefix !== undefined) {
      throw invalid('logStreamNames and logStreamNamePrefix are mutually exclusive parameters.');
    }
    let matches: Matcher;
    try {
      matches = compileFilterPattern(input.filterPattern);
    } catch (err) {
      if (err instanceof FilterPatternError) throw invalid('Invalid filter pattern');
      throw err;
    }
    const limit = pageLimit(input.limit, MAX_EVENTS);
    const token = input.nextToken ? decodeToken(input.nextToken, isFilterToken) : undefined;

    const gKey = groupKey(scope, group);
    const g = await this.store.get<GroupRecord>(GROUPS, gKey);
    if (!g) throw groupNotFound();
    let streams: StreamRecord[];
    if (input.logStreamNames !== undefined) {
      streams = [];
      for (const name of new Set(input.logStreamNames)) {
        const s = await this.store.get<StreamRecord>(STREAMS, streamKey(gKey, name));
        if (s) streams.push(s);
      }
    } else {
      const items = await this.store.list<StreamRecord>(STREAMS, {
        prefix: childPrefix(gKey) + (input.logStreamNamePrefix ?? ''),
      });
      streams = items.map((i) => i.value);
    }

    // Both ends are inclusive here ("Events with a timestamp later than this time are not
    // returned"), unlike GetLogEvents.
    let lower = this.retentionFloor(g);
    if (input.startTime !== undefined) lower = maxPos(lower, timePosition(input.startTime));
    if (token) lower = maxPos(lower, timePosition(token.t));
    const upper = input.endTime === undefined ? undefined : timePosition(input.endTime + 1);

    const chunk = Math.min(Math.max(limit + 1, 100), 1000);
    const heap = new MinHeap<Candidate>((a, b) => before(a.ev, a.cursor.name, b.ev, b.cursor.name));
    // Resuming: skip what the previous page already returned (everything up to its last event).
    let skip: ((ev: StoredEvent, stream: string) => boolean) | undefined;
    if (token) {
      const mark = { timestamp: token.t, ingestionTime: token.i, seq: token.q };
      skip = (ev, stream) => !before(mark, token.s, ev, stream);
    }
    for (const s of streams) {
      if (s.nextSeq === 0) continue;
      const cursor = new StreamCursor(
        this.store,
        streamKey(gKey, s.name),
        s,
        lower,
        upper,
        chunk,
        matches,
        skip,
      );
      const ev = await cursor.next();
      if (ev) heap.push({ ev, cursor });
    }

    const events: FilteredLogEvent[] = [];
    let bytes = 0;
    let last: Candidate | undefined;
    while (events.length < limit && heap.size > 0) {
      const top = heap.peek() as Candidate;
      const size = Buffer.byteLength(top.ev.message, 'utf8') + EVENT_OVERHEAD_BYTES;
      if (events.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      heap.pop();
      bytes += size;
      const { ev, cursor } = top;
      events.push({
        logStreamName: cursor.name,
        timestamp: ev.timestamp,
        message: ev.message,
        ingestionTime: ev.ingestionTime,
        eventId: eventId(ev, cursor.id),
      });
      last = top;
      const next = await cursor.next();
      if (next) heap.push({ ev: next, cursor });
    }

    // "As of May 15, 2020, this parameter is no longer supported. This parameter returns an
    // empty list."
    const out: FilterLogEventsResponse = { events, searchedLogStreams: [] };
    if (heap.size > 0 && last) {
      const t: FilterToken = {
        t: last.ev.timestamp,
        i: last.ev.ingestionTime,
        s: last.cursor.name,
        q: last.ev.seq,
      };
      out.nextToken = encodeToken(t);
    }
    return out;
  }

  /** Events older than the group's retention are gone, as AWS deletes them. */
  private retentionFloor(g: GroupRecord): string | undefined {
    if (g.retentionInDays === undefined) return undefined;
    return timePosition(this.now() - g.retentionInDays * DAY_MS);
  }
}

/** Reads one stream's matching events in order, a chunk at a time. */
class StreamCursor {
  readonly name: string;
  readonly id: number;
  private buffer: StoredEvent[] = [];
  private index = 0;
  private from: string | undefined;
  private exhausted = false;

  constructor(
    private readonly store: MetadataStore,
    private readonly key: string,
    stream: StreamRecord,
    lower: string | undefined,
    private readonly upper: string | undefined,
    private readonly chunk: number,
    private readonly matches: Matcher,
    private readonly skip: ((ev: StoredEvent, stream: string) => boolean) | undefined,
  ) {
    this.name = stream.name;
    this.id = stream.id;
    this.from = lower;
  }

  async next(): Promise<StoredEvent | undefined> {
    for (;;) {
      while (this.index < this.buffer.length) {
        const ev = this.buffer[this.index++];
        if (this.skip && this.skip(ev, this.name)) continue;
        if (this.matches(ev.message)) return ev;
      }
      if (this.exhausted) return undefined;
      this.buffer = await listEvents(this.store, this.key, {
        from: this.from,
        to: this.upper,
        limit: this.chunk,
      });
      this.index = 0;
      if (this.buffer.length < this.chunk) this.exhausted = true;
      if (this.buffer.length > 0) this.from = nextPosition(this.buffer[this.buffer.length - 1].pos);
    }
  }
}

/** How many of `page` fit in AWS's 1 MB response (always at least one event). */
function fitBytes(page: readonly StoredEvent[]): number {
  let bytes = 0;
  for (let i = 0; i < page.length; i++) {
    bytes += Buffer.byteLength(page[i].message, 'utf8') + EVENT_OVERHEAD_BYTES;
    if (bytes > MAX_BATCH_BYTES && i > 0) return i;
  }
  return page.length;
}

function getToken(dir: 'f' | 'b', pos: string): string {
  return `${dir}/${pos.padStart(56, '0')}`;
}

function maxPos(a: string | undefined, b: string): string {
  return a === undefined || b > a ? b : a;
}

function minPos(a: string | undefined, b: string): string {
  return a === undefined || b < a ? b : a;
}
