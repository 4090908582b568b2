/** Objects: put, get, head, delete, copy and tagging. */
import type { S3Operations } from '../../api/s3/operations.js';
import type {
  GetObjectOutput,
  GetObjectRequest,
  HeadObjectOutput,
  StorageClass,
} from '../../api/s3/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  checkKey,
  checkTags,
  checksumFields,
  contentBody,
  declaredSize,
  etagMatches,
  parseTagging,
  requireBucket,
  requireObject,
  storeBody,
  storedHeaders,
  type S3Deps,
} from './common.js';
import { S3Errors } from './errors.js';
import type { S3EventName } from './notifications.js';
import {
  OBJECTS,
  blobDigests,
  objectKey,
  type BucketRecord,
  type DeleteMarkerRecord,
  type ObjectRecord,
  type VersionEntry,
} from './store.js';
import {
  deleteVersion,
  findVersion,
  putCurrent,
  putDeleteMarker,
  validVersionId,
  wireVersionId,
} from './versions.js';
import { AwsError } from '../../shared/errors.js';
import { requestedAcl } from './acl.js';
import { checkDeletable, lockOnWrite } from './object-lock.js';

type ObjectOps = Pick<
  S3Operations,
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'CopyObject'
  | 'PutObjectTagging'
  | 'GetObjectTagging'
  | 'DeleteObjectTagging'
>;

/** "Upload a single object up to 5 GB in size" with PutObject (and CopyObject). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

export function objectOperations(deps: S3Deps): ObjectOps {
  const { store, blobs } = deps;

  const commit = (
    bucket: BucketRecord,
    record: ObjectRecord,
    ctx: RequestContext,
    event: S3EventName,
    conditions: { ifMatch?: string; ifNoneMatch?: string } = {},
  ) => commitObject(deps, bucket, record, ctx, event, conditions);

  async function read(
    input: GetObjectRequest,
    ctx: RequestContext,
    withBody: boolean,
  ): Promise<GetObjectOutput & HeadObjectOutput> {
    const bucket = await requireBucket(store, input.Bucket, ctx);
    const obj = await requireObject(
      store,
      input.Bucket,
      input.Key,
      input.VersionId,
      withBody ? 'GET' : 'HEAD',
    );
    checkReadConditions(obj, input);
    let start = 0;
    let end = obj.size - 1;
    let partial = false;
    let partsCount: number | undefined;
    if (input.PartNumber !== undefined) {
      const count = obj.partsCount ?? 1;
      if (input.PartNumber > count) throw S3Errors.invalidPartNumber();
      // A single-part object's only part is the whole object.
      if (obj.partsCount !== undefined) {
        start = obj.content
          .slice(0, input.PartNumber - 1)
          .reduce((sum, piece) => sum + piece.size, 0);
        end = start + obj.content[input.PartNumber - 1].size - 1;
        partial = true;
      }
      partsCount = count;
    } else if (input.Range !== undefined) {
      const range = parseRange(input.Range, obj.size);
      if (range === 'unsatisfiable') throw S3Errors.invalidRange(obj.size, input.Range);
      if (range) {
        [start, end] = range;
        partial = true;
      }
    }
    const length = Math.max(0, end - start + 1);
    const full = !partial;
    const output: GetObjectOutput & HeadObjectOutput = {
      AcceptRanges: 'bytes',
      LastModified: new Date(obj.lastModified),
      ContentLength: length,
      ETag: obj.etag,
      ...obj.headers,
      Metadata: obj.metadata,
      StorageClass:
        obj.storageClass === 'STANDARD' ? undefined : (obj.storageClass as StorageClass),
      VersionId: shownVersionId(bucket, obj),
      PartsCount: partsCount ?? (full ? undefined : obj.partsCount),
      TagCount: obj.tags?.length || undefined,
      ContentRange: partial ? `bytes ${start}-${end}/${obj.size}` : undefined,
      ObjectLockMode: obj.retention?.Mode,
      ObjectLockRetainUntilDate: obj.retention
        ? new Date(obj.retention.RetainUntilDate)
        : undefined,
      ObjectLockLegalHoldStatus: obj.legalHold,
      ...(input.ChecksumMode === 'ENABLED' && full
        ? { ...checksumFields(obj.checksums), ChecksumType: obj.checksumType }
        : {}),
    };
    // Response header overrides (GET only on AWS; harmless on HEAD).
    if (input.ResponseCacheControl !== undefined) output.CacheControl = input.ResponseCacheControl;
    if (input.ResponseContentDisposition !== undefined)
      output.ContentDisposition = input.ResponseContentDisposition;
    if (input.ResponseContentEncoding !== undefined)
      output.ContentEncoding = input.ResponseContentEncoding;
    if (input.ResponseContentLanguage !== undefined)
      output.ContentLanguage = input.ResponseContentLanguage;
    if (input.ResponseContentType !== undefined) output.ContentType = input.ResponseContentType;
    if (input.ResponseExpires !== undefined) output.Expires = input.ResponseExpires.toUTCString();
    if (withBody) {
      output.Body =
        length > 0 ? await contentBody(blobs, obj.content, start, end) : Buffer.alloc(0);
      if (partial) output.StatusCode = 206;
    } else if (partial) {
      output.StatusCode = 206;
    }
    return output;
  }

  return {
    async PutObject(input, ctx) {
      checkKey(input.Key);
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const size = declaredSize(input.Body, input.ContentLength);
      if (size === undefined) throw S3Errors.missingContentLength();
      if (size > MAX_PUT_BYTES) throw S3Errors.entityTooLarge(size, MAX_PUT_BYTES);
      const tags = parseTagging(input.Tagging);
      const acl = requestedAcl(bucket, input.ACL);
      const conditions = { ifMatch: input.IfMatch, ifNoneMatch: input.IfNoneMatch };
      // Checked before the upload too, so a refused write costs no bytes.
      checkWriteConditions(
        await store.get<ObjectRecord>(OBJECTS, objectKey(bucket.name, input.Key)),
        input.Key,
        conditions,
      );
      const stored = await storeBody(deps, input.Body);
      const record: ObjectRecord = {
        key: input.Key,
        size: stored.piece.size,
        etag: `"${stored.md5}"`,
        lastModified: deps.now(),
        headers: storedHeaders(input),
        metadata: input.Metadata ?? {},
        storageClass: input.StorageClass ?? 'STANDARD',
        checksums: stored.checksums,
        checksumType: Object.keys(stored.checksums).length ? 'FULL_OBJECT' : undefined,
        content: [stored.piece],
        tags: tags.length ? tags : undefined,
        acl,
        ...lockOnWrite(bucket, input, deps.now()),
      };
      await commit(bucket, record, ctx, 'ObjectCreated:Put', conditions);
      return {
        ETag: record.etag,
        VersionId: shownVersionId(bucket, record),
        ...checksumFields(record.checksums),
        ChecksumType: record.checksumType,
        Size: record.size,
      };
    },

    GetObject: (input, ctx) => read(input, ctx, true),

    async HeadObject(input, ctx) {
      return read(input, ctx, false);
    },

    async DeleteObject(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      if (input.VersionId !== undefined && !validVersionId(input.VersionId))
        throw S3Errors.invalidVersionId(input.VersionId);
      const outcome = await store.transaction(async (tx) => {
        const fresh = await requireBucket(tx, bucket.name, ctx);
        if (input.IfMatch !== undefined) {
          const existing = await tx.get<ObjectRecord>(OBJECTS, objectKey(bucket.name, input.Key));
          if (!existing) throw S3Errors.noSuchKey(input.Key);
          if (!etagMatches(input.IfMatch, existing.etag))
            throw S3Errors.preconditionFailed('If-Match');
        }
        return removeObject(tx, fresh, input.Key, input.VersionId, deps.now(), {
          bypassGovernance: input.BypassGovernanceRetention === true,
        });
      });
      await notifyRemoval(deps, bucket, outcome, ctx);
      // Deleting a key that does not exist succeeds (204), as on S3.
      return outcome.answer;
    },

    async DeleteObjects(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const objects = input.Delete.Objects;
      if (objects.length > 1000) throw S3Errors.malformedXml();
      const errors: { Key: string; VersionId?: string; Code: string; Message: string }[] = [];
      const valid = objects.filter((o) => {
        if (o.VersionId === undefined || validVersionId(o.VersionId)) return true;
        errors.push({
          Key: o.Key,
          VersionId: o.VersionId,
          Code: 'NoSuchVersion',
          Message: 'The specified version does not exist.',
        });
        return false;
      });
      const outcomes = await store.transaction(async (tx) => {
        const fresh = await requireBucket(tx, bucket.name, ctx);
        const done: (Removal | undefined)[] = [];
        for (const o of valid) {
          try {
            done.push(
              await removeObject(tx, fresh, o.Key, o.VersionId, deps.now(), {
                bypassGovernance: input.BypassGovernanceRetention === true,
              }),
            );
          } catch (err) {
            // A version Object Lock protects is reported, the others still go.
            if (!(err instanceof AwsError) || err.code !== 'AccessDenied') throw err;
            errors.push({
              Key: o.Key,
              VersionId: o.VersionId,
              Code: err.code,
              Message: err.message,
            });
            done.push(undefined);
          }
        }
        return done;
      });
      for (const outcome of outcomes) if (outcome) await notifyRemoval(deps, bucket, outcome, ctx);
      return {
        Deleted: input.Delete.Quiet
          ? undefined
          : valid.flatMap((o, i) => {
              const outcome = outcomes[i];
              if (!outcome) return [];
              const { VersionId, DeleteMarker } = outcome.answer;
              return o.VersionId !== undefined
                ? { Key: o.Key, VersionId: o.VersionId, DeleteMarker }
                : DeleteMarker
                  ? { Key: o.Key, DeleteMarker, DeleteMarkerVersionId: VersionId }
                  : { Key: o.Key };
            }),
        Errors: errors.length ? errors : undefined,
      };
    },

    async CopyObject(input, ctx) {
      checkKey(input.Key);
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const source = parseCopySource(input.CopySource);
      const sourceBucket = await requireBucket(store, source.bucket, ctx);
      const obj = await requireCopySource(store, source);
      checkCopyConditions(obj, input);
      const replace = input.MetadataDirective === 'REPLACE';
      // Copying an older version onto its key restores it: not a copy to itself.
      const sameObject =
        source.bucket === bucket.name && source.key === input.Key && source.versionId === undefined;
      if (sameObject && !replace && input.StorageClass === undefined) {
        throw S3Errors.invalidRequest(
          "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        );
      }
      if (obj.size > MAX_PUT_BYTES) throw S3Errors.entityTooLarge(obj.size, MAX_PUT_BYTES);
      const tags =
        input.TaggingDirective === 'REPLACE' ? parseTagging(input.Tagging) : (obj.tags ?? []);
      // The content is shared, not copied: blobs are content-addressed and immutable (an
      // inline object's bytes are copied with its record).
      for (const digest of blobDigests(obj.content)) deps.guard.protect(digest);
      const record: ObjectRecord = {
        ...obj,
        key: input.Key,
        lastModified: deps.now(),
        headers: replace ? storedHeaders(input) : obj.headers,
        metadata: replace ? (input.Metadata ?? {}) : obj.metadata,
        storageClass: input.StorageClass ?? obj.storageClass,
        tags: tags.length ? tags : undefined,
        versionId: undefined,
        // A copy's ACL is its own request's, never the source's.
        acl: requestedAcl(bucket, input.ACL),
        grants: undefined,
        retention: undefined,
        legalHold: undefined,
        ...lockOnWrite(bucket, input, deps.now()),
      };
      await commit(bucket, record, ctx, 'ObjectCreated:Copy', {
        ifMatch: input.IfMatch,
        ifNoneMatch: input.IfNoneMatch,
      });
      return {
        VersionId: shownVersionId(bucket, record),
        CopyObjectResult: {
          ETag: record.etag,
          LastModified: new Date(record.lastModified),
          ...checksumFields(record.checksums),
          ChecksumType: record.checksumType,
        },
        CopySourceVersionId: shownVersionId(sourceBucket, obj),
      };
    },

    async PutObjectTagging(input, ctx) {
      checkTags(input.Tagging.TagSet);
      const obj = await updateVersion(store, input, ctx, 'PUT', (o) => {
        o.tags = input.Tagging.TagSet.length ? input.Tagging.TagSet : undefined;
      });
      return { VersionId: obj.versionId ?? input.VersionId };
    },

    async GetObjectTagging(input, ctx) {
      const obj = await objectIn(store, input.Bucket, input.Key, ctx, input.VersionId);
      return { TagSet: obj.tags ?? [], VersionId: obj.versionId };
    },

    async DeleteObjectTagging(input, ctx) {
      const obj = await updateVersion(store, input, ctx, 'DELETE', (o) => delete o.tags);
      return { VersionId: obj.versionId ?? input.VersionId };
    },
  };
}

/**
 * Commits an object record (PutObject, POST Object, CopyObject), the conditions re-checked
 * inside the transaction, then announces it to the bucket's notifications.
 */
export async function commitObject(
  deps: S3Deps,
  bucket: BucketRecord,
  record: ObjectRecord,
  ctx: RequestContext,
  event: S3EventName,
  conditions: { ifMatch?: string; ifNoneMatch?: string } = {},
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    const fresh = await requireBucket(tx, bucket.name, ctx);
    const existing = await tx.get<ObjectRecord>(OBJECTS, objectKey(bucket.name, record.key));
    checkWriteConditions(existing, record.key, conditions);
    await putCurrent(tx, fresh, record, deps.now());
    bucket.versioning = fresh.versioning;
  });
  await deps.notifier.notify({
    name: event,
    bucket,
    object: record,
    requestId: ctx.requestId,
    principalId: ctx.account,
    time: record.lastModified,
  });
}

/** Changes one version's record in place (tagging), wherever it is kept. */
async function updateVersion(
  store: S3Deps['store'],
  input: { Bucket: string; Key: string; VersionId?: string },
  ctx: RequestContext,
  method: string,
  change: (obj: ObjectRecord) => void,
): Promise<ObjectRecord> {
  return store.transaction(async (tx) => {
    const obj = await objectIn(tx, input.Bucket, input.Key, ctx, input.VersionId, method);
    change(obj);
    const found =
      input.VersionId === undefined
        ? undefined
        : await findVersion(tx, input.Bucket, input.Key, input.VersionId);
    if (found) await tx.put(found.table, found.storeKey, obj);
    else await tx.put(OBJECTS, objectKey(input.Bucket, input.Key), obj);
    return obj;
  });
}

async function objectIn(
  ops: MetadataOps,
  bucket: string,
  key: string,
  ctx: RequestContext,
  versionId?: string,
  method = 'GET',
): Promise<ObjectRecord> {
  await requireBucket(ops, bucket, ctx);
  return requireObject(ops, bucket, key, versionId, method);
}

/**
 * The version id a response shows: none in a bucket that never had versioning, `null` for
 * the null version of one that has.
 */
export function shownVersionId(
  bucket: BucketRecord,
  obj: { versionId?: string },
): string | undefined {
  return obj.versionId ?? (bucket.versioning ? 'null' : undefined);
}

/** A copy's source object: never a delete marker (NoSuchKey, or InvalidRequest by id). */
export async function requireCopySource(
  ops: MetadataOps,
  source: { bucket: string; key: string; versionId?: string },
): Promise<ObjectRecord> {
  try {
    return await requireObject(ops, source.bucket, source.key, source.versionId);
  } catch (err) {
    if (err instanceof AwsError && err.code === 'MethodNotAllowed')
      throw S3Errors.copyFromDeleteMarker();
    throw err;
  }
}

interface Removal {
  answer: { VersionId?: string; DeleteMarker?: boolean };
  /** The object that went (unversioned) or the version permanently deleted. */
  removed?: VersionEntry;
  marker?: DeleteMarkerRecord;
}

/**
 * DeleteObject's effect: with a version id, that version goes for good; without one, the
 * object goes (versioning never configured) or a delete marker hides it.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html
 */
async function removeObject(
  tx: MetadataOps,
  bucket: BucketRecord,
  key: string,
  versionId: string | undefined,
  now: number,
  opts: { bypassGovernance: boolean },
): Promise<Removal> {
  if (versionId !== undefined) {
    const found = await findVersion(tx, bucket.name, key, versionId);
    if (found) checkDeletable(found.entry, opts.bypassGovernance, now);
    const removed = await deleteVersion(tx, bucket.name, key, versionId);
    return {
      answer: { VersionId: versionId, DeleteMarker: removed?.deleteMarker || undefined },
      removed,
    };
  }
  if (bucket.versioning) {
    const { marker } = await putDeleteMarker(tx, bucket, key, now);
    return { answer: { VersionId: wireVersionId(marker), DeleteMarker: true }, marker };
  }
  const at = objectKey(bucket.name, key);
  const removed = await tx.get<ObjectRecord>(OBJECTS, at);
  if (removed) await tx.delete(OBJECTS, at);
  return { answer: {}, removed };
}

async function notifyRemoval(
  deps: S3Deps,
  bucket: BucketRecord,
  outcome: Removal,
  ctx: RequestContext,
): Promise<void> {
  const gone = outcome.marker ?? outcome.removed;
  if (!gone) return;
  await deps.notifier.notify({
    name: outcome.marker ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectRemoved:Delete',
    bucket,
    object: gone.deleteMarker
      ? { key: gone.key, size: 0, etag: '', versionId: gone.versionId }
      : gone,
    requestId: ctx.requestId,
    principalId: ctx.account,
    time: deps.now(),
  });
}

/**
 * Conditional writes: `If-None-Match: *` refuses to overwrite, `If-Match: <etag>` refuses
 * a changed or missing object.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export function checkWriteConditions(
  existing: ObjectRecord | undefined,
  key: string,
  c: { ifMatch?: string; ifNoneMatch?: string },
): void {
  if (c.ifNoneMatch !== undefined) {
    if (c.ifNoneMatch.trim() !== '*') {
      throw S3Errors.notImplementedHeader('If-None-Match');
    }
    if (existing) throw S3Errors.preconditionFailed('If-None-Match');
  }
  if (c.ifMatch !== undefined) {
    if (!existing) throw S3Errors.noSuchKey(key);
    if (!etagMatches(c.ifMatch, existing.etag)) throw S3Errors.preconditionFailed('If-Match');
  }
}

/**
 * GET/HEAD conditions, in the order S3 documents (RFC 7232): If-Match, then
 * If-Unmodified-Since unless If-Match held, If-None-Match, then If-Modified-Since unless
 * If-None-Match was given.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 */
function checkReadConditions(
  obj: ObjectRecord,
  c: {
    IfMatch?: string;
    IfNoneMatch?: string;
    IfModifiedSince?: Date;
    IfUnmodifiedSince?: Date;
  },
): void {
  const modified = Math.floor(obj.lastModified / 1000) * 1000;
  if (c.IfMatch !== undefined) {
    if (!etagMatches(c.IfMatch, obj.etag)) throw S3Errors.preconditionFailed('If-Match');
  } else if (c.IfUnmodifiedSince !== undefined && modified > c.IfUnmodifiedSince.getTime()) {
    throw S3Errors.preconditionFailed('If-Unmodified-Since');
  }
  if (c.IfNoneMatch !== undefined) {
    if (etagMatches(c.IfNoneMatch, obj.etag)) throw S3Errors.notModified();
  } else if (c.IfModifiedSince !== undefined && modified <= c.IfModifiedSince.getTime()) {
    throw S3Errors.notModified();
  }
}

/** x-amz-copy-source-if-*: both failures are 412 on a copy. */
function checkCopyConditions(
  obj: ObjectRecord,
  c: {
    CopySourceIfMatch?: string;
    CopySourceIfNoneMatch?: string;
    CopySourceIfModifiedSince?: Date;
    CopySourceIfUnmodifiedSince?: Date;
  },
): void {
  const modified = Math.floor(obj.lastModified / 1000) * 1000;
  if (c.CopySourceIfMatch !== undefined) {
    if (!etagMatches(c.CopySourceIfMatch, obj.etag))
      throw S3Errors.preconditionFailed('x-amz-copy-source-If-Match');
  } else if (
    c.CopySourceIfUnmodifiedSince !== undefined &&
    modified > c.CopySourceIfUnmodifiedSince.getTime()
  ) {
    throw S3Errors.preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  }
  if (c.CopySourceIfNoneMatch !== undefined) {
    if (etagMatches(c.CopySourceIfNoneMatch, obj.etag))
      throw S3Errors.preconditionFailed('x-amz-copy-source-If-None-Match');
  } else if (
    c.CopySourceIfModifiedSince !== undefined &&
    modified <= c.CopySourceIfModifiedSince.getTime()
  ) {
    throw S3Errors.preconditionFailed('x-amz-copy-source-If-Modified-Since');
  }
}

/** `bucket/key[?versionId=…]`, percent-encoded, with or without a leading slash. */
export function parseCopySource(raw: string): { bucket: string; key: string; versionId?: string } {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const versionId =
    q < 0 ? undefined : (new URLSearchParams(raw.slice(q + 1)).get('versionId') ?? undefined);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    throw S3Errors.invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', raw);
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw S3Errors.invalidArgument('Invalid copy source object key', 'x-amz-copy-source', raw);
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

/**
 * A `Range: bytes=…` header: [start, end] inclusive, undefined when it is not one S3
 * honours (then the whole object is sent), 'unsatisfiable' for a range past the end.
 */
export function parseRange(
  header: string,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}
