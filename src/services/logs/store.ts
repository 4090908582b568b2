/**
 * CloudWatch Logs' tables in the MetadataStore and the key layout that orders them.
 *
 * Keys are `<account>:<region>:<group>[:<stream>[:<position>]]`. The separator is safe:
 * log group names match `[\.\-_/#A-Za-z0-9]+` and stream names `[^:*]*`, so neither ever
 * contains ':' and one group's (or stream's) keys never share a prefix with another's.
 * Byte order of the keys is then exactly AWS's order: groups and streams by name, events
 * by timestamp and, within a millisecond, by the per-stream sequence number the writing
 * transaction assigned.
 */
import type { LogGroupClass } from '../../api/logs/types.js';
import type { Item, ListOptions, MetadataOps } from '../../storage/types.js';

export const GROUPS = 'logs_groups';
export const STREAMS = 'logs_streams';
export const EVENTS = 'logs_events';
/** Keyed `<group key>:<filter name>`. */
export const METRIC_FILTERS = 'logs_metric_filters';
export const SUBSCRIPTION_FILTERS = 'logs_subscription_filters';
/** Keyed by group key: one policy of each kind per group. */
export const DATA_PROTECTION = 'logs_data_protection_policies';
export const INDEX_POLICIES = 'logs_index_policies';
/** Keyed `<scope>:<name>`. */
export const RESOURCE_POLICIES = 'logs_resource_policies';
export const DESTINATIONS = 'logs_destinations';
export const DELIVERY_SOURCES = 'logs_delivery_sources';
export const DELIVERY_DESTINATIONS = 'logs_delivery_destinations';
/** Keyed `<scope>:<id>`. */
export const DELIVERIES = 'logs_deliveries';
export const ANOMALY_DETECTORS = 'logs_anomaly_detectors';
/** Keyed `<scope>:<policy type>:<name>`. */
export const ACCOUNT_POLICIES = 'logs_account_policies';
/** Saved Logs Insights queries, keyed `<scope>:<queryDefinitionId>`. */
export const QUERY_DEFINITIONS = 'logs_query_definitions';

/** Tables whose rows belong to one log group (deleted with it). */
const GROUP_CHILD_TABLES = [METRIC_FILTERS, SUBSCRIPTION_FILTERS] as const;
/** A group's transformer (transformers.ts), keyed like the group. */
export const TRANSFORMERS = 'logs_transformers';
const GROUP_OWNED_TABLES = [DATA_PROTECTION, INDEX_POLICIES, TRANSFORMERS] as const;

export interface Scope {
  account: string;
  region: string;
}

export interface GroupRecord {
  name: string;
  creationTime: number;
  logGroupClass: LogGroupClass;
  retentionInDays?: number;
  kmsKeyId?: string;
  deletionProtectionEnabled?: boolean;
  /** PutBearerTokenAuthentication: the group accepts HTTP ingestion with bearer tokens. */
  bearerTokenAuthenticationEnabled?: boolean;
  tags: Record<string, string>;
  /** Handed to the next stream created: makes event ids unique within the group. */
  nextStreamId: number;
}

export interface StreamRecord {
  name: string;
  creationTime: number;
  /** Group-unique number of this stream (part of every event id). */
  id: number;
  /** Sequence number of the next event appended; also drives the upload sequence token. */
  nextSeq: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  /** Bytes ingested; AWS reports 0 for streams since 2019 but sums it for the group. */
  storedBytes: number;
}

/** One stored event; its position lives in the key. */
export interface EventRecord {
  /** timestamp */
  t: number;
  /** message */
  m: string;
  /** ingestionTime */
  i: number;
}

export interface StoredEvent {
  /** 27-digit position: 15-digit timestamp + 12-digit sequence number. */
  pos: string;
  timestamp: number;
  message: string;
  ingestionTime: number;
  seq: number;
}

/**
 * PutLogEvents' batch size "is calculated as the sum of all event messages in UTF-8, plus
 * 26 bytes for each log event"; GetLogEvents' 1 MB pages count the same way.
 */
export const EVENT_OVERHEAD_BYTES = 26;
export const MAX_BATCH_BYTES = 1_048_576;

const TS_DIGITS = 15;
const SEQ_DIGITS = 12;
export const POS_DIGITS = TS_DIGITS + SEQ_DIGITS;
const MAX_TS = 10 ** TS_DIGITS - 1;
const POS_MAX = 10n ** BigInt(POS_DIGITS) - 1n;

export const scopePrefix = (scope: Scope): string => `${scope.account}:${scope.region}:`;
export const groupKey = (scope: Scope, group: string): string => scopePrefix(scope) + group;
export const streamKey = (gKey: string, stream: string): string => `${gKey}:${stream}`;
/** Prefix of a group's streams (in STREAMS) and of all its events (in EVENTS). */
export const childPrefix = (key: string): string => key + ':';

/** Zero-padded sort position of an event. Timestamps outside 0…10^15 clamp in the key only. */
export function position(timestamp: number, seq: number): string {
  const ts = timestamp < 0 ? 0 : timestamp > MAX_TS ? MAX_TS : Math.trunc(timestamp);
  return String(ts).padStart(TS_DIGITS, '0') + String(seq).padStart(SEQ_DIGITS, '0');
}

/** Lowest position at or after a timestamp. */
export const timePosition = (timestamp: number): string => position(timestamp, 0);

function posToBig(pos: string): bigint {
  return BigInt(pos);
}
function bigToPos(n: bigint): string {
  return n.toString().padStart(POS_DIGITS, '0');
}
/** The position right after `pos` (positions are integers in 27-digit space). */
export function nextPosition(pos: string): string {
  const n = posToBig(pos);
  return n >= POS_MAX ? pos : bigToPos(n + 1n);
}
function previousPosition(pos: string): string | undefined {
  const n = posToBig(pos);
  return n === 0n ? undefined : bigToPos(n - 1n);
}
/** AWS event ids are long decimal strings; ours encode timestamp, stream and sequence. */
export function eventId(ev: StoredEvent, streamId: number): string {
  const seq = ev.pos.slice(TS_DIGITS);
  return (ev.pos.slice(0, TS_DIGITS) + String(streamId).padStart(10, '0') + seq).padStart(56, '0');
}

export interface EventRange {
  /** Inclusive lower bound. */
  from?: string;
  /** Exclusive upper bound. */
  to?: string;
  reverse?: boolean;
  limit?: number;
}

/** Lists a stream's events in position order within [from, to). */
export async function listEvents(
  ops: MetadataOps,
  sKey: string,
  range: EventRange,
): Promise<StoredEvent[]> {
  const prefix = childPrefix(sKey);
  const options: ListOptions = { prefix };
  // The store's `after` is exclusive: every key is prefix + exactly 27 digits, so
  // "> previous position" is the same as ">= from".
  const before = range.from === undefined ? undefined : previousPosition(range.from);
  if (before !== undefined) options.after = prefix + before;
  if (range.to !== undefined) options.before = prefix + range.to;
  if (range.reverse) options.reverse = true;
  if (range.limit !== undefined) options.limit = range.limit;
  const items: Item<EventRecord>[] = await ops.list<EventRecord>(EVENTS, options);
  const out: StoredEvent[] = new Array(items.length);
  const cut = prefix.length;
  for (let i = 0; i < items.length; i++) {
    const { key, value } = items[i];
    const pos = key.slice(cut);
    out[i] = {
      pos,
      timestamp: value.t,
      message: value.m,
      ingestionTime: value.i,
      seq: Number(pos.slice(TS_DIGITS)),
    };
  }
  return out;
}

/**
 * A stream's events with timestamps in [fromMs, toMs), read a page of `limit` at a time so a
 * scan of a long stream never holds it whole (Insights, field discovery, exports).
 */
export async function* eventPages(
  ops: MetadataOps,
  sKey: string,
  fromMs: number,
  toMs: number,
  limit = 1000,
): AsyncGenerator<StoredEvent[]> {
  const to = timePosition(toMs);
  let pos: string | undefined = timePosition(fromMs);
  while (pos !== undefined) {
    const page = await listEvents(ops, sKey, { from: pos, to, limit });
    if (page.length > 0) yield page;
    pos = page.length < limit ? undefined : nextPosition(page[page.length - 1].pos);
  }
}

export interface NewEvent {
  timestamp: number;
  message: string;
}

/**
 * Appends events to a stream inside the caller's transaction: assigns consecutive sequence
 * numbers (so concurrent writers to one stream never collide and keep their order) and
 * updates the stream record, which the caller must have read in the same transaction.
 */
export async function appendEvents(
  tx: MetadataOps,
  sKey: string,
  stream: StreamRecord,
  events: readonly NewEvent[],
  ingestionTime: number,
): Promise<void> {
  if (events.length === 0) return;
  const prefix = childPrefix(sKey);
  // Ingestion time never goes backwards within a stream, so FilterLogEvents' global order
  // (timestamp, ingestion time) agrees with each stream's own order.
  const ingested = Math.max(ingestionTime, stream.lastIngestionTime ?? 0);
  let seq = stream.nextSeq;
  let first = stream.firstEventTimestamp;
  let last = stream.lastEventTimestamp;
  let bytes = 0;
  for (const ev of events) {
    const record: EventRecord = { t: ev.timestamp, m: ev.message, i: ingested };
    await tx.put(EVENTS, prefix + position(ev.timestamp, seq), record);
    seq++;
    if (first === undefined || ev.timestamp < first) first = ev.timestamp;
    if (last === undefined || ev.timestamp > last) last = ev.timestamp;
    bytes += Buffer.byteLength(ev.message, 'utf8') + EVENT_OVERHEAD_BYTES;
  }
  stream.nextSeq = seq;
  stream.firstEventTimestamp = first;
  stream.lastEventTimestamp = last;
  stream.lastIngestionTime = ingested;
  stream.storedBytes += bytes;
  await tx.put(STREAMS, sKey, stream);
}

export function newGroup(name: string, now: number): GroupRecord {
  return { name, creationTime: now, logGroupClass: 'STANDARD', tags: {}, nextStreamId: 1 };
}

export function newStream(name: string, id: number, now: number): StreamRecord {
  return { name, creationTime: now, id, nextSeq: 0, storedBytes: 0 };
}

/** Deletes a group with all its streams and events. */
export async function deleteGroupTree(tx: MetadataOps, gKey: string): Promise<void> {
  await tx.delete(GROUPS, gKey);
  await tx.deletePrefix(STREAMS, childPrefix(gKey));
  await tx.deletePrefix(EVENTS, childPrefix(gKey));
  for (const table of GROUP_CHILD_TABLES) await tx.deletePrefix(table, childPrefix(gKey));
  for (const table of GROUP_OWNED_TABLES) await tx.delete(table, gKey);
}

/** Deletes a stream and its events. */
export async function deleteStreamTree(tx: MetadataOps, sKey: string): Promise<void> {
  await tx.delete(STREAMS, sKey);
  await tx.deletePrefix(EVENTS, childPrefix(sKey));
}

/** AWS's sequence tokens are 56-digit decimals; ours count the events appended. */
export function sequenceToken(s: StreamRecord): string {
  return String(s.nextSeq).padStart(56, '0');
}
