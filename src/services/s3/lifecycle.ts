/**
 * Lifecycle expiration, applied: objects an enabled rule's Expiration covers (by prefix,
 * tags and size) are deleted once due, and multipart uploads older than
 * AbortIncompleteMultipartUpload.DaysAfterInitiation are aborted. Transitions are kept in
 * the configuration only (one storage class here).
 * "Amazon S3 calculates the time by adding the number of days specified in the rule to the
 * object creation time and rounding the resulting time to the next day midnight UTC."
 * In a versioned bucket, expiring the current version adds a delete marker, and
 * NoncurrentVersionExpiration / ExpiredObjectDeleteMarker remove older versions.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
 */
import type { LifecycleRule, Tag } from '../../api/s3/types.js';
import type { MetadataStore } from '../../storage/types.js';
import { checkDeletable } from './object-lock.js';
import { deleteVersion, putDeleteMarker, versionGroups, wireVersionId } from './versions.js';
import {
  BUCKETS,
  OBJECTS,
  PARTS,
  UPLOADS,
  objectKey,
  objectPrefix,
  uploadKey,
  type BucketRecord,
  type ObjectRecord,
  type UploadRecord,
  type VersionEntry,
} from './store.js';

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 1000;

/** Creation time + days, rounded up to the next midnight UTC. */
export function dueAt(created: number, days: number): number {
  return Math.ceil((created + days * DAY_MS) / DAY_MS) * DAY_MS;
}

function tagsMatch(want: readonly Tag[], have: readonly Tag[] | undefined): boolean {
  return want.every((t) => (have ?? []).some((h) => h.Key === t.Key && h.Value === t.Value));
}

/** Whether a rule's filter (or its legacy top-level Prefix) covers the object. */
export function covers(rule: LifecycleRule, obj: ObjectRecord): boolean {
  const f = rule.Filter;
  const and = f?.And;
  if (!obj.key.startsWith(rulePrefix(rule))) return false;
  const tags = and?.Tags ?? (f?.Tag ? [f.Tag] : []);
  if (!tagsMatch(tags, obj.tags)) return false;
  const greater = and?.ObjectSizeGreaterThan ?? f?.ObjectSizeGreaterThan;
  const less = and?.ObjectSizeLessThan ?? f?.ObjectSizeLessThan;
  if (greater !== undefined && !(obj.size > greater)) return false;
  if (less !== undefined && !(obj.size < less)) return false;
  return true;
}

function expired(rule: LifecycleRule, obj: ObjectRecord, now: number): boolean {
  const exp = rule.Expiration;
  if (!exp) return false;
  if (exp.Days !== undefined) return now >= dueAt(obj.lastModified, exp.Days);
  if (exp.Date !== undefined) return now >= new Date(exp.Date).getTime();
  return false;
}

/** One pass over every bucket with rules; resolves how many objects and uploads went. */
export async function applyLifecycle(
  store: MetadataStore,
  now: number,
): Promise<{ objects: number; uploads: number }> {
  let objects = 0;
  let uploads = 0;
  const buckets = (await store.list<BucketRecord>(BUCKETS)).map((r) => r.value);
  for (const bucket of buckets) {
    const rules = ((bucket.lifecycle as LifecycleRule[] | undefined) ?? []).filter(
      (r) => r.Status === 'Enabled',
    );
    if (!rules.length) continue;
    objects += bucket.versioning
      ? await expireVersions(store, bucket, rules, now)
      : await expireObjects(store, bucket, rules, now);
    const abortDays = rules
      .map((r) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation)
      .filter((d): d is number => d !== undefined);
    if (abortDays.length) {
      const days = Math.min(...abortDays);
      const open = await store.list<UploadRecord>(UPLOADS, { prefix: objectPrefix(bucket.name) });
      for (const { value: upload } of open) {
        if (now < dueAt(upload.initiated, days)) continue;
        await store.transaction(async (tx) => {
          await tx.delete(UPLOADS, uploadKey(bucket.name, upload.uploadId));
          await tx.deletePrefix(PARTS, `${upload.uploadId}/`);
        });
        uploads++;
      }
    }
  }
  return { objects, uploads };
}

/** A bucket that never had versioning: expired objects are deleted. */
async function expireObjects(
  store: MetadataStore,
  bucket: BucketRecord,
  rules: LifecycleRule[],
  now: number,
): Promise<number> {
  let objects = 0;
  let after: string | undefined;
  for (;;) {
    const rows = await store.list<ObjectRecord>(OBJECTS, {
      prefix: objectPrefix(bucket.name),
      after,
      limit: PAGE,
    });
    for (const { value: obj } of rows) {
      if (!rules.some((r) => covers(r, obj) && expired(r, obj, now))) continue;
      const gone = await store.transaction(async (tx) => {
        // Only the version the sweep judged: a newer write since then stays.
        const current = await tx.get<ObjectRecord>(OBJECTS, objectKey(bucket.name, obj.key));
        if (current?.lastModified !== obj.lastModified) return false;
        return tx.delete(OBJECTS, objectKey(bucket.name, obj.key));
      });
      if (gone) objects++;
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].key;
  }
  return objects;
}

/**
 * A versioned bucket: an expired current version gets a delete marker on top; noncurrent
 * versions go NoncurrentDays after they became noncurrent (when the next newer version was
 * written), keeping the NewerNoncurrentVersions newest; a delete marker left alone goes
 * with ExpiredObjectDeleteMarker.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html
 */
async function expireVersions(
  store: MetadataStore,
  bucket: BucketRecord,
  rules: LifecycleRule[],
  now: number,
): Promise<number> {
  let removed = 0;
  for await (const group of versionGroups(store, bucket.name)) {
    const key = group[0].entry.key;
    const current = group[0].current ? (group[0].entry as ObjectRecord) : undefined;
    const doomed: VersionEntry[] = [];
    let noncurrentIndex = 0;
    for (let i = 0; i < group.length; i++) {
      const { entry } = group[i];
      if (i === 0) continue;
      const since = group[i - 1].entry.lastModified;
      const index = noncurrentIndex++;
      const applies = rules.some((r) => {
        const nve = r.NoncurrentVersionExpiration;
        if (nve?.NoncurrentDays === undefined) return false;
        if (!(entry.deleteMarker ? key.startsWith(rulePrefix(r)) : covers(r, entry))) return false;
        return (
          index >= (nve.NewerNoncurrentVersions ?? 0) && now >= dueAt(since, nve.NoncurrentDays)
        );
      });
      // Lifecycle never removes a version Object Lock protects.
      if (applies && !locked(entry, now)) doomed.push(entry);
    }
    for (const entry of doomed) {
      const gone = await store.transaction((tx) =>
        deleteVersion(tx, bucket.name, key, wireVersionId(entry)),
      );
      if (gone) removed++;
    }
    const left = group.length - doomed.length;
    if (current && rules.some((r) => covers(r, current) && expired(r, current, now))) {
      await store.transaction(async (tx) => {
        const fresh = await tx.get<BucketRecord>(BUCKETS, bucket.name);
        const still = await tx.get<ObjectRecord>(OBJECTS, objectKey(bucket.name, key));
        if (!fresh || still?.lastModified !== current.lastModified) return;
        await putDeleteMarker(tx, fresh, key, now);
      });
      removed++;
    } else if (
      !current &&
      left === 1 &&
      group[0].entry.deleteMarker &&
      rules.some((r) => r.Expiration?.ExpiredObjectDeleteMarker && key.startsWith(rulePrefix(r)))
    ) {
      const marker = group[0].entry;
      const gone = await store.transaction((tx) =>
        deleteVersion(tx, bucket.name, key, wireVersionId(marker)),
      );
      if (gone) removed++;
    }
  }
  return removed;
}

function locked(entry: VersionEntry, now: number): boolean {
  try {
    checkDeletable(entry, false, now);
    return false;
  } catch {
    return true;
  }
}

function rulePrefix(rule: LifecycleRule): string {
  return rule.Filter?.And?.Prefix ?? rule.Filter?.Prefix ?? rule.Prefix ?? '';
}
