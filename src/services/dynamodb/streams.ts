/**
 * DynamoDB Streams' storage: each write to a table whose stream is enabled appends a
 * record in the same transaction as the write (so a committed write always has its record
 * and a rolled-back one never does), numbered by a per-table sequence. The Streams API
 * (src/services/dynamodbstreams) and Lambda's event source mappings read them through the
 * `dynamodbStreams` link, never this service's tables.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html
 *
 *   dynamodb_streams          `<account>/<region>/<table>/<label>` → StreamInfo
 *   dynamodb_stream_records   `<table id>/<label>/<sequence number>` → StreamRecord
 *
 * One shard per stream: a table here is one partition. Records are kept while the
 * table exists (AWS trims them after 24 hours).
 */
import { randomBytes } from 'node:crypto';
import type { KeySchemaElement, StreamViewType } from '../../api/dynamodb/types.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import { type Item, itemSize, valuesEqual } from './values.js';

export const STREAMS = 'dynamodb_streams';
export const STREAM_RECORDS = 'dynamodb_stream_records';

export interface StreamInfo {
  arn: string;
  label: string;
  tableId: string;
  tableName: string;
  account: string;
  region: string;
  viewType: StreamViewType;
  keySchema: KeySchemaElement[];
  createdAt: number;
  shardId: string;
  /** Set when the stream was disabled (its shard is then closed). */
  disabledAt?: number;
}

/** A record as DynamoDB Streams' GetRecords returns it (and Lambda's event carries it). */
export interface StoredStreamRecord {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion: '1.1';
  eventSource: 'aws:dynamodb';
  awsRegion: string;
  /** Set on deletions made by Time to Live. */
  userIdentity?: { type: 'Service'; principalId: 'dynamodb.amazonaws.com' };
  dynamodb: {
    /** Epoch seconds. */
    ApproximateCreationDateTime: number;
    Keys: Item;
    NewImage?: Item;
    OldImage?: Item;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: StreamViewType;
  };
}

/** What other services read streams through. */
export interface DynamoStreamSource {
  /** The streams of a scope (every table's, or one table's), in ARN order. */
  list(account: string, region: string, tableName?: string): Promise<StreamInfo[]>;
  /** A stream by its ARN; undefined when there is none. */
  get(arn: string): Promise<StreamInfo | undefined>;
  /** Records after a sequence number ('' = from the start), oldest first. */
  read(stream: StreamInfo, after: string, limit: number): Promise<StoredStreamRecord[]>;
  /** The last sequence number written to the stream ('' when none). */
  latest(stream: StreamInfo): Promise<string>;
}

/** Sequence numbers are 21 digits, so text order is numeric order. */
export const sequenceNumber = (n: number): string => (10n ** 20n + BigInt(n)).toString();

export const streamKey = (s: {
  account: string;
  region: string;
  tableName: string;
  label: string;
}) => `${s.account}/${s.region}/${s.tableName}/${s.label}`;

function parseStreamArn(
  arn: string,
): { account: string; region: string; table: string; label: string } | undefined {
  const m =
    /^arn:aws[\w-]*:dynamodb:([\w-]+):(\d{12}):table\/([a-zA-Z0-9_.-]+)\/stream\/(.+)$/.exec(arn);
  return m ? { region: m[1], account: m[2], table: m[3], label: m[4] } : undefined;
}

/** The record one write produces, or undefined when the write changed nothing. */
export function streamRecord(
  stream: { viewType: StreamViewType },
  region: string,
  keys: Item,
  old: Item | undefined,
  next: Item | undefined,
  seq: string,
  now: number,
  byTtl = false,
): StoredStreamRecord | undefined {
  if (old && next && valuesEqual({ M: old }, { M: next })) return undefined;
  const view = stream.viewType;
  const record: StoredStreamRecord = {
    eventID: randomBytes(16).toString('hex'),
    eventName: !old ? 'INSERT' : !next ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(now / 1000),
      Keys: keys,
      SequenceNumber: seq,
      SizeBytes: itemSize(keys),
      StreamViewType: view,
    },
  };
  if (byTtl) record.userIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
  if (next && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) {
    record.dynamodb.NewImage = next;
    record.dynamodb.SizeBytes += itemSize(next);
  }
  if (old && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) {
    record.dynamodb.OldImage = old;
    record.dynamodb.SizeBytes += itemSize(old);
  }
  return record;
}

export async function appendRecord(
  tx: MetadataOps,
  tableId: string,
  label: string,
  record: StoredStreamRecord,
): Promise<void> {
  await tx.put(STREAM_RECORDS, `${tableId}/${label}/${record.dynamodb.SequenceNumber}`, record);
}

export class StoredStreams implements DynamoStreamSource {
  constructor(private readonly store: MetadataStore) {}

  async list(account: string, region: string, tableName?: string): Promise<StreamInfo[]> {
    const prefix = `${account}/${region}/${tableName === undefined ? '' : `${tableName}/`}`;
    const rows = await this.store.list<StreamInfo>(STREAMS, { prefix });
    return rows.map((r) => r.value).sort((a, b) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
  }

  async get(arn: string): Promise<StreamInfo | undefined> {
    const p = parseStreamArn(arn);
    if (!p) return undefined;
    return this.store.get<StreamInfo>(
      STREAMS,
      streamKey({ account: p.account, region: p.region, tableName: p.table, label: p.label }),
    );
  }

  async read(stream: StreamInfo, after: string, limit: number): Promise<StoredStreamRecord[]> {
    const prefix = `${stream.tableId}/${stream.label}/`;
    const rows = await this.store.list<StoredStreamRecord>(STREAM_RECORDS, {
      prefix,
      after: after ? prefix + after : undefined,
      limit,
    });
    return rows.map((r) => r.value);
  }

  async latest(stream: StreamInfo): Promise<string> {
    const prefix = `${stream.tableId}/${stream.label}/`;
    const [last] = await this.store.list<StoredStreamRecord>(STREAM_RECORDS, {
      prefix,
      reverse: true,
      limit: 1,
    });
    return last ? last.value.dynamodb.SequenceNumber : '';
  }
}
