/**
 * Multipart uploads. Each part is a blob of its own; completing an upload makes the object
 * the list of its parts' blobs, so no byte is copied again. The ETag is AWS's: the MD5 of
 * the parts' binary MD5s, then `-<number of parts>`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
 */
import { createHash, randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Operations } from '../../api/s3/operations.js';
import type { StorageClass } from '../../api/s3/types.js';
import { runningDigest, type ChecksumAlgorithm } from '../../protocol/checksums.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { ownerOf } from './buckets.js';
import {
  checksumFields,
  contentStream,
  declaredSize,
  parseTagging,
  requireBucket,
  storeBlob,
  storedHeaders,
  urlEncodeKey,
  type S3Deps,
} from './common.js';
import { S3Errors } from './errors.js';
import {
  checkWriteConditions,
  MAX_PUT_BYTES,
  parseCopySource,
  parseRange,
  requireCopySource,
  shownVersionId,
} from './objects.js';
import { putCurrent } from './versions.js';
import { requestedAcl } from './acl.js';
import { lockOnWrite } from './object-lock.js';
import {
  OBJECTS,
  PARTS,
  UPLOADS,
  objectKey,
  objectPrefix,
  partKey,
  uploadKey,
  type ObjectRecord,
  type PartRecord,
  type UploadRecord,
} from './store.js';

type MultipartOps = Pick<
  S3Operations,
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
>;

const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10000;

export function multipartOperations(deps: S3Deps): MultipartOps {
  const { store, blobs } = deps;

  async function requireUpload(
    ops: MetadataOps,
    bucket: string,
    key: string,
    uploadId: string,
  ): Promise<UploadRecord> {
    const upload = await ops.get<UploadRecord>(UPLOADS, uploadKey(bucket, uploadId));
    if (!upload || upload.key !== key) throw S3Errors.noSuchUpload(uploadId);
    return upload;
  }

  function checkPartNumber(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
      throw S3Errors.invalidArgument(
        'Part number must be an integer between 1 and 10000, inclusive',
        'partNumber',
        String(n),
      );
    }
  }

  async function savePart(
    bucket: string,
    key: string,
    uploadId: string,
    part: PartRecord,
    ctx: RequestContext,
  ): Promise<void> {
    await store.transaction(async (tx) => {
      await requireBucket(tx, bucket, ctx);
      await requireUpload(tx, bucket, key, uploadId);
      await tx.put(PARTS, partKey(uploadId, part.partNumber), part);
    });
  }

  return {
    async CreateMultipartUpload(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const tags = parseTagging(input.Tagging);
      const acl = requestedAcl(bucket, input.ACL);
      const uploadId = randomBytes(24).toString('base64url');
      const record: UploadRecord = {
        uploadId,
        key: input.Key,
        initiated: deps.now(),
        headers: storedHeaders(input),
        metadata: input.Metadata ?? {},
        storageClass: input.StorageClass ?? 'STANDARD',
        checksumAlgorithm: input.ChecksumAlgorithm as ChecksumAlgorithm | undefined,
        tags: tags.length ? tags : undefined,
        acl,
      };
      await store.put(UPLOADS, uploadKey(input.Bucket, uploadId), record);
      return {
        Bucket: input.Bucket,
        Key: input.Key,
        UploadId: uploadId,
        ChecksumAlgorithm: input.ChecksumAlgorithm,
        ChecksumType: input.ChecksumAlgorithm ? (input.ChecksumType ?? 'COMPOSITE') : undefined,
      };
    },

    async UploadPart(input, ctx) {
      checkPartNumber(input.PartNumber);
      await requireBucket(store, input.Bucket, ctx);
      await requireUpload(store, input.Bucket, input.Key, input.UploadId);
      const size = declaredSize(input.Body, input.ContentLength);
      if (size === undefined) throw S3Errors.missingContentLength();
      if (size > MAX_PUT_BYTES) throw S3Errors.entityTooLarge(size, MAX_PUT_BYTES);
      // Parts stay blobs: completing an upload references them, never copies them.
      const stored = await storeBlob(deps, input.Body);
      const part: PartRecord = {
        partNumber: input.PartNumber,
        etag: `"${stored.md5}"`,
        size: stored.piece.size,
        lastModified: deps.now(),
        digest: stored.piece.digest,
        checksums: stored.checksums,
      };
      await savePart(input.Bucket, input.Key, input.UploadId, part, ctx);
      return { ETag: part.etag, ...checksumFields(part.checksums) };
    },

    async UploadPartCopy(input, ctx) {
      checkPartNumber(input.PartNumber);
      await requireBucket(store, input.Bucket, ctx);
      await requireUpload(store, input.Bucket, input.Key, input.UploadId);
      const source = parseCopySource(input.CopySource);
      const sourceBucket = await requireBucket(store, source.bucket, ctx);
      const obj = await requireCopySource(store, source);
      let start = 0;
      let end = obj.size - 1;
      if (input.CopySourceRange !== undefined) {
        const range = parseRange(input.CopySourceRange, obj.size);
        if (range === undefined || range === 'unsatisfiable') {
          throw S3Errors.invalidArgument(
            'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
            'x-amz-copy-source-range',
            input.CopySourceRange,
          );
        }
        [start, end] = range;
      }
      let part: PartRecord;
      const whole = start === 0 && end === obj.size - 1;
      const [only] = obj.content;
      if (whole && obj.content.length === 1 && only.digest !== undefined && !obj.partsCount) {
        // The same bytes: the same blob, and the object's MD5 ETag is the part's.
        deps.guard.protect(only.digest);
        part = {
          partNumber: input.PartNumber,
          etag: obj.etag,
          size: obj.size,
          lastModified: deps.now(),
          digest: only.digest,
          checksums: {},
        };
      } else {
        const md5 = runningDigest('MD5');
        // Hashes as a step of the pipe, not in a 'data' listener: a listener starts the flow
        // before blobs.put reads, and chunks that come at once (inline sources) were lost.
        const hashing = new Transform({
          transform(chunk: Buffer, _enc, done) {
            md5.update(chunk);
            done(null, chunk);
          },
        });
        const [info] = await Promise.all([
          blobs.put(hashing),
          pipeline(contentStream(blobs, obj.content, start, end), hashing),
        ]);
        deps.guard.protect(info.digest);
        part = {
          partNumber: input.PartNumber,
          etag: `"${Buffer.from(await md5.digest(), 'base64').toString('hex')}"`,
          size: info.size,
          lastModified: deps.now(),
          digest: info.digest,
          checksums: {},
        };
      }
      await savePart(input.Bucket, input.Key, input.UploadId, part, ctx);
      return {
        CopySourceVersionId: shownVersionId(sourceBucket, obj),
        CopyPartResult: { ETag: part.etag, LastModified: new Date(part.lastModified) },
      };
    },

    async ListParts(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const upload = await requireUpload(store, input.Bucket, input.Key, input.UploadId);
      const max = Math.min(input.MaxParts ?? 1000, 1000);
      const marker = input.PartNumberMarker ?? 0;
      const rows = await store.list<PartRecord>(PARTS, {
        prefix: `${input.UploadId}/`,
        after: marker > 0 ? partKey(input.UploadId, marker) : undefined,
        limit: max + 1,
      });
      const truncated = rows.length > max;
      const parts = rows.slice(0, max).map((r) => r.value);
      return {
        Bucket: input.Bucket,
        Key: input.Key,
        UploadId: input.UploadId,
        PartNumberMarker: marker,
        NextPartNumberMarker: parts.length ? parts[parts.length - 1].partNumber : undefined,
        MaxParts: max,
        IsTruncated: truncated,
        Parts: parts.map((p) => ({
          PartNumber: p.partNumber,
          LastModified: new Date(p.lastModified),
          ETag: p.etag,
          Size: p.size,
          ...checksumFields(p.checksums),
        })),
        Initiator: ownerOf(bucket.account),
        Owner: ownerOf(bucket.account),
        StorageClass: upload.storageClass as StorageClass,
        ChecksumAlgorithm: upload.checksumAlgorithm,
      };
    },

    async ListMultipartUploads(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const max = Math.min(input.MaxUploads ?? 1000, 1000);
      const encode = input.EncodingType === 'url' ? urlEncodeKey : (s: string) => s;
      const rows = await store.list<UploadRecord>(UPLOADS, { prefix: objectPrefix(bucket.name) });
      const prefix = input.Prefix ?? '';
      const all = rows
        .map((r) => r.value)
        .filter((u) => u.key.startsWith(prefix))
        .filter((u) =>
          input.KeyMarker === undefined
            ? true
            : u.key > input.KeyMarker ||
              (u.key === input.KeyMarker &&
                input.UploadIdMarker !== undefined &&
                u.uploadId > input.UploadIdMarker),
        )
        .sort((a, b) => (a.key === b.key ? a.initiated - b.initiated : a.key < b.key ? -1 : 1));
      const page = all.slice(0, max);
      const last = page[page.length - 1];
      return {
        Bucket: bucket.name,
        KeyMarker: input.KeyMarker ?? '',
        UploadIdMarker: input.UploadIdMarker ?? '',
        NextKeyMarker: all.length > max && last ? encode(last.key) : undefined,
        NextUploadIdMarker: all.length > max && last ? last.uploadId : undefined,
        Prefix: encode(prefix),
        MaxUploads: max,
        IsTruncated: all.length > max,
        EncodingType: input.EncodingType,
        Uploads: page.map((u) => ({
          UploadId: u.uploadId,
          Key: encode(u.key),
          Initiated: new Date(u.initiated),
          StorageClass: u.storageClass as StorageClass,
          Owner: ownerOf(bucket.account),
          Initiator: ownerOf(bucket.account),
          ChecksumAlgorithm: u.checksumAlgorithm,
        })),
      };
    },

    async CompleteMultipartUpload(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const requested = input.MultipartUpload?.Parts ?? [];
      if (requested.length === 0) {
        throw S3Errors.malformedXml();
      }
      const record = await store.transaction(async (tx) => {
        const fresh = await requireBucket(tx, input.Bucket, ctx);
        bucket.versioning = fresh.versioning;
        const upload = await requireUpload(tx, input.Bucket, input.Key, input.UploadId);
        const parts: PartRecord[] = [];
        let previous = 0;
        for (const want of requested) {
          const n = want.PartNumber ?? 0;
          if (n <= previous) throw S3Errors.invalidPartOrder();
          previous = n;
          const part = await tx.get<PartRecord>(PARTS, partKey(input.UploadId, n));
          if (!part || (want.ETag !== undefined && !sameEtag(want.ETag, part.etag))) {
            throw S3Errors.invalidPart(n, want.ETag);
          }
          parts.push(part);
        }
        parts.forEach((p, i) => {
          if (i < parts.length - 1 && p.size < MIN_PART_BYTES)
            throw S3Errors.entityTooSmall(p.size);
        });
        const md5s = Buffer.concat(parts.map((p) => Buffer.from(p.etag.replace(/"/g, ''), 'hex')));
        const etag = `"${createHash('md5').update(md5s).digest('hex')}-${parts.length}"`;
        const checksums = await compositeChecksum(upload.checksumAlgorithm, parts);
        const object: ObjectRecord = {
          key: input.Key,
          size: parts.reduce((sum, p) => sum + p.size, 0),
          etag,
          lastModified: deps.now(),
          headers: upload.headers,
          metadata: upload.metadata,
          storageClass: upload.storageClass,
          checksums,
          checksumType: Object.keys(checksums).length ? 'COMPOSITE' : undefined,
          content: parts.map((p) => ({ digest: p.digest, size: p.size })),
          partsCount: parts.length,
          tags: upload.tags,
          acl: upload.acl,
          // The bucket's default retention; explicit lock headers are taken by PutObject.
          ...lockOnWrite(fresh, {}, deps.now()),
        };
        checkWriteConditions(
          await tx.get<ObjectRecord>(OBJECTS, objectKey(input.Bucket, input.Key)),
          input.Key,
          { ifMatch: input.IfMatch, ifNoneMatch: input.IfNoneMatch },
        );
        await putCurrent(tx, fresh, object, deps.now());
        await tx.delete(UPLOADS, uploadKey(input.Bucket, input.UploadId));
        await tx.deletePrefix(PARTS, `${input.UploadId}/`);
        return object;
      });
      await deps.notifier.notify({
        name: 'ObjectCreated:CompleteMultipartUpload',
        bucket,
        object: record,
        requestId: ctx.requestId,
        principalId: ctx.account,
        time: record.lastModified,
      });
      return {
        Location: `/${input.Bucket}/${encodeURIComponent(input.Key)}`,
        Bucket: input.Bucket,
        Key: input.Key,
        ETag: record.etag,
        ...checksumFields(record.checksums),
        ChecksumType: record.checksumType,
        VersionId: shownVersionId(bucket, record),
      };
    },

    async AbortMultipartUpload(input, ctx) {
      await store.transaction(async (tx) => {
        await requireBucket(tx, input.Bucket, ctx);
        await requireUpload(tx, input.Bucket, input.Key, input.UploadId);
        await tx.delete(UPLOADS, uploadKey(input.Bucket, input.UploadId));
        await tx.deletePrefix(PARTS, `${input.UploadId}/`);
      });
      // The parts' blobs go with the next collection (gc.ts).
      return {};
    },
  };
}

function sameEtag(a: string, b: string): boolean {
  return a.replace(/"/g, '') === b.replace(/"/g, '');
}

/**
 * "The checksum of each part's checksum, -<parts>" (COMPOSITE), when every part carried the
 * upload's algorithm; CRC64NVME has only a full-object form, which is not computed here.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
async function compositeChecksum(
  algorithm: ChecksumAlgorithm | undefined,
  parts: PartRecord[],
): Promise<Partial<Record<ChecksumAlgorithm, string>>> {
  if (!algorithm || algorithm === 'CRC64NVME') return {};
  if (!parts.every((p) => p.checksums[algorithm] !== undefined)) return {};
  const digest = runningDigest(algorithm);
  for (const p of parts) digest.update(Buffer.from(p.checksums[algorithm] as string, 'base64'));
  return { [algorithm]: `${await digest.digest()}-${parts.length}` };
}
