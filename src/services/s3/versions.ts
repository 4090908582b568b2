/**
 * Versioning: the current version of a key stays in s3-objects (so unversioned reads,
 * writes and listings cost nothing more), every other version and every delete marker goes
 * to s3-versions under `<bucket>/<key>\0<order>`. An order sorts newest first: version ids
 * begin with the inverted write sequence, so a version is found by its id without an index,
 * and the two tables merged by store key give ListObjectVersions' order (key, then newest
 * first; `<bucket>/<key>` sorts before `<bucket>/<key>\0…`, and '\0' before any key byte).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/versioning-workflows.html
 */
import { randomBytes } from 'node:crypto';
import { compareKeys } from '../../storage/key-order.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  OBJECTS,
  VERSIONS,
  objectKey,
  objectPrefix,
  type BucketRecord,
  type DeleteMarkerRecord,
  type ObjectRecord,
  type VersionEntry,
} from './store.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62^9 > 2^53: nine characters hold any inverted sequence. */
const ORDER_WIDTH = 9;
/** Version ids are 32 characters, as AWS's are. */
const ID_LENGTH = 32;

export const versionKey = (bucket: string, key: string, order: string) =>
  `${bucket}/${key}\0${order}`;
const versionsOf = (bucket: string, key: string) => `${bucket}/${key}\0`;

let lastSeq = 0;

/** Microseconds since the epoch, strictly increasing within this process. */
function nextSeq(now: number): number {
  lastSeq = Math.max(lastSeq + 1, now * 1000);
  return lastSeq;
}

function orderToken(seq: number): string {
  let n = Number.MAX_SAFE_INTEGER - seq;
  let out = '';
  for (let i = 0; i < ORDER_WIDTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function newVersionId(now: number): string {
  const random = [...randomBytes(ID_LENGTH - ORDER_WIDTH)].map((b) => ALPHABET[b % 62]).join('');
  return orderToken(nextSeq(now)) + random;
}

/** Where a `null` version sorts: by when it was written. */
function nullOrder(seq: number): string {
  return `${orderToken(seq)}null`;
}

export function orderOf(entry: VersionEntry): string {
  return entry.order ?? nullOrder(entry.lastModified * 1000);
}

/** A version id as the wire shows it. */
export const wireVersionId = (entry: { versionId?: string }) => entry.versionId ?? 'null';

/** Whether a version id could name a version here ('null' or one of ours). */
export function validVersionId(id: string): boolean {
  return id === 'null' || (id.length === ID_LENGTH && /^[0-9A-Za-z]+$/.test(id));
}

/** Moves the current version aside before another takes its place. */
async function retire(
  tx: MetadataOps,
  bucket: BucketRecord,
  current: ObjectRecord | undefined,
): Promise<void> {
  if (!current) return;
  // A suspended bucket's new `null` version replaces the old one.
  if (bucket.versioning === 'Suspended' && current.versionId === undefined) return;
  const order = orderOf(current);
  await tx.put(VERSIONS, versionKey(bucket.name, current.key, order), { ...current, order });
}

/** "Only one null version of an object can exist" (suspended buckets overwrite it). */
async function dropNullVersions(tx: MetadataOps, bucket: string, key: string): Promise<void> {
  const rows = await tx.list<VersionEntry>(VERSIONS, { prefix: versionsOf(bucket, key) });
  for (const row of rows) {
    if (row.value.key === key && row.value.versionId === undefined)
      await tx.delete(VERSIONS, row.key);
  }
}

/**
 * Makes `record` the current version of its key as the bucket's versioning says: replaced
 * (off), a new version id (Enabled), or the `null` version (Suspended). Sets its versionId.
 */
export async function putCurrent(
  tx: MetadataOps,
  bucket: BucketRecord,
  record: ObjectRecord,
  now: number,
): Promise<void> {
  const at = objectKey(bucket.name, record.key);
  if (!bucket.versioning) {
    delete record.versionId;
    delete record.order;
  } else {
    await retire(tx, bucket, await tx.get<ObjectRecord>(OBJECTS, at));
    if (bucket.versioning === 'Enabled') {
      record.versionId = newVersionId(now);
      record.order = record.versionId;
    } else {
      delete record.versionId;
      record.order = nullOrder(nextSeq(now));
      await dropNullVersions(tx, bucket.name, record.key);
    }
  }
  await tx.put(OBJECTS, at, record);
}

/**
 * DeleteObject without a version id in a bucket with versioning configured: the current
 * version becomes noncurrent and a delete marker becomes the latest version.
 */
export async function putDeleteMarker(
  tx: MetadataOps,
  bucket: BucketRecord,
  key: string,
  now: number,
): Promise<{ marker: DeleteMarkerRecord; hidden?: ObjectRecord }> {
  const at = objectKey(bucket.name, key);
  const current = await tx.get<ObjectRecord>(OBJECTS, at);
  await retire(tx, bucket, current);
  if (current) await tx.delete(OBJECTS, at);
  let marker: DeleteMarkerRecord;
  if (bucket.versioning === 'Enabled') {
    const versionId = newVersionId(now);
    marker = { key, versionId, order: versionId, lastModified: now, deleteMarker: true };
  } else {
    await dropNullVersions(tx, bucket.name, key);
    marker = { key, order: nullOrder(nextSeq(now)), lastModified: now, deleteMarker: true };
  }
  await tx.put(VERSIONS, versionKey(bucket.name, key, marker.order), marker);
  return { marker, hidden: current };
}

export interface FoundVersion {
  entry: VersionEntry;
  /** Its row: in s3-objects when current, else in s3-versions. */
  table: string;
  storeKey: string;
}

/** The version of a key with this id (`null` names the null version). */
export async function findVersion(
  ops: MetadataOps,
  bucket: string,
  key: string,
  versionId: string,
): Promise<FoundVersion | undefined> {
  const at = objectKey(bucket, key);
  const current = await ops.get<ObjectRecord>(OBJECTS, at);
  if (current && wireVersionId(current) === versionId) {
    return { entry: current, table: OBJECTS, storeKey: at };
  }
  if (versionId !== 'null') {
    const storeKey = versionKey(bucket, key, versionId);
    const entry = await ops.get<VersionEntry>(VERSIONS, storeKey);
    return entry?.key === key ? { entry, table: VERSIONS, storeKey } : undefined;
  }
  const rows = await ops.list<VersionEntry>(VERSIONS, { prefix: versionsOf(bucket, key) });
  const row = rows.find((r) => r.value.key === key && r.value.versionId === undefined);
  return row ? { entry: row.value, table: VERSIONS, storeKey: row.key } : undefined;
}

/** The newest noncurrent entry of a key (the latest version when no current one exists). */
async function newestNoncurrent(
  ops: MetadataOps,
  bucket: string,
  key: string,
): Promise<{ key: string; value: VersionEntry } | undefined> {
  const [row] = await ops.list<VersionEntry>(VERSIONS, {
    prefix: versionsOf(bucket, key),
    limit: 1,
  });
  return row?.value.key === key ? row : undefined;
}

/**
 * Permanently deletes one version; when it was the latest, the next newest becomes current
 * (a delete marker stays where it is: it is the latest by being first).
 */
export async function deleteVersion(
  tx: MetadataOps,
  bucket: string,
  key: string,
  versionId: string,
): Promise<VersionEntry | undefined> {
  const found = await findVersion(tx, bucket, key, versionId);
  if (!found) return undefined;
  await tx.delete(found.table, found.storeKey);
  const at = objectKey(bucket, key);
  if (!(await tx.get(OBJECTS, at))) {
    const next = await newestNoncurrent(tx, bucket, key);
    if (next && !next.value.deleteMarker) {
      await tx.delete(VERSIONS, next.key);
      await tx.put(OBJECTS, at, next.value);
    }
  }
  return found.entry;
}

/** The delete marker that is a key's latest version (asked when it has no current object). */
export async function latestDeleteMarker(
  ops: MetadataOps,
  bucket: string,
  key: string,
): Promise<DeleteMarkerRecord | undefined> {
  const row = await newestNoncurrent(ops, bucket, key);
  return row?.value.deleteMarker ? row.value : undefined;
}

/** Whether any noncurrent version or delete marker is left in the bucket. */
export async function hasVersions(ops: MetadataOps, bucket: string): Promise<boolean> {
  return (await ops.list(VERSIONS, { prefix: objectPrefix(bucket), limit: 1 })).length > 0;
}

export interface VersionRow {
  storeKey: string;
  entry: VersionEntry;
  current: boolean;
}

/** Up to `limit` versions after a store key, current and noncurrent merged in order. */
export async function versionRows(
  ops: MetadataOps,
  bucket: string,
  prefix: string,
  after: string | undefined,
  limit: number,
): Promise<{ rows: VersionRow[]; more: boolean }> {
  const range = { prefix: objectPrefix(bucket) + prefix, after, limit };
  const [current, noncurrent] = await Promise.all([
    ops.list<ObjectRecord>(OBJECTS, range),
    ops.list<VersionEntry>(VERSIONS, range),
  ]);
  const rows: VersionRow[] = [];
  let i = 0;
  let j = 0;
  while (rows.length < limit && (i < current.length || j < noncurrent.length)) {
    const takeCurrent =
      j >= noncurrent.length ||
      (i < current.length && compareKeys(current[i].key, noncurrent[j].key) < 0);
    if (takeCurrent) {
      rows.push({ storeKey: current[i].key, entry: current[i].value, current: true });
      i++;
    } else {
      rows.push({ storeKey: noncurrent[j].key, entry: noncurrent[j].value, current: false });
      j++;
    }
  }
  return { rows, more: current.length === limit || noncurrent.length === limit };
}

/** Every key's versions, newest first, key after key (lifecycle's sweep). */
export async function* versionGroups(
  ops: MetadataOps,
  bucket: string,
): AsyncGenerator<VersionRow[]> {
  let after: string | undefined;
  let group: VersionRow[] = [];
  for (;;) {
    const { rows, more } = await versionRows(ops, bucket, '', after, 1000);
    for (const row of rows) {
      if (group.length && group[0].entry.key !== row.entry.key) {
        yield group;
        group = [];
      }
      group.push(row);
      after = row.storeKey;
    }
    if (!more) break;
  }
  if (group.length) yield group;
}
