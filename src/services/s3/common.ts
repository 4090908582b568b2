/** What S3's operation modules share: their deps and small helpers over the tables. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RequestContext } from '../../shared/context.js';
import { isCheckedPayload } from '../../shared/streaming-blob.js';
import type { StreamingBlob } from '../../protocol/types.js';
import type { ChecksumAlgorithm } from '../../protocol/checksums.js';
import type { BlobStore, MetadataOps, MetadataStore } from '../../storage/types.js';
import { S3Errors } from './errors.js';
import { findVersion, latestDeleteMarker, validVersionId, wireVersionId } from './versions.js';
export { urlEncodeKey } from './common-keys.js';
import type { BlobGuard } from './gc.js';
import type { S3Notifier } from './notifications.js';
import {
  BUCKETS,
  OBJECTS,
  objectKey,
  type BucketRecord,
  type BlobPiece,
  type ContentPiece,
  type InlinePiece,
  type ObjectRecord,
  type StoredHeaders,
} from './store.js';

export interface S3Deps {
  store: MetadataStore;
  /** S3's own blob namespace: the collector (gc.ts) removes what no object references. */
  blobs: BlobStore;
  now: () => number;
  notifier: S3Notifier;
  /** Spares blobs a write is about to reference from the collector. */
  guard: BlobGuard;
}

/** A bucket the caller's account owns; NoSuchBucket, or AccessDenied for another's. */
export async function requireBucket(
  ops: MetadataOps,
  name: string,
  ctx: RequestContext,
): Promise<BucketRecord> {
  const bucket = await ops.get<BucketRecord>(BUCKETS, name);
  if (!bucket) throw S3Errors.noSuchBucket(name);
  if (bucket.account !== ctx.account) throw S3Errors.accessDenied();
  return bucket;
}

/**
 * The object a read names: the current version, or the version `versionId` names. A key
 * whose latest version is a delete marker answers NoSuchKey with the marker's headers; a
 * version id naming a marker answers 405 (`method` says which request it was).
 */
export async function requireObject(
  ops: MetadataOps,
  bucket: string,
  key: string,
  versionId?: string,
  method = 'GET',
): Promise<ObjectRecord> {
  if (versionId === undefined) {
    const obj = await ops.get<ObjectRecord>(OBJECTS, objectKey(bucket, key));
    if (obj) return obj;
    const marker = await latestDeleteMarker(ops, bucket, key);
    const err = S3Errors.noSuchKey(key);
    throw marker
      ? err.withHeaders({
          'x-amz-delete-marker': 'true',
          'x-amz-version-id': wireVersionId(marker),
        })
      : err;
  }
  if (!validVersionId(versionId)) throw S3Errors.invalidVersionId(versionId);
  const found = await findVersion(ops, bucket, key, versionId);
  if (!found) throw S3Errors.noSuchVersion(key, versionId);
  if (found.entry.deleteMarker) throw S3Errors.deleteMarkerMethod(method, versionId);
  return found.entry;
}

/** "A key name can be up to 1,024 bytes long." */
export function checkKey(key: string): void {
  if (Buffer.byteLength(key) > 1024) throw S3Errors.keyTooLong();
}

/** The headers an object keeps, from a PutObject/CopyObject/CreateMultipartUpload input. */
export function storedHeaders(input: StoredHeaders): StoredHeaders {
  const h: StoredHeaders = {};
  for (const name of [
    'CacheControl',
    'ContentDisposition',
    'ContentEncoding',
    'ContentLanguage',
    'ContentType',
    'Expires',
    'WebsiteRedirectLocation',
  ] as const) {
    if (input[name] !== undefined) h[name] = input[name];
  }
  h.ContentType ??= 'binary/octet-stream';
  return h;
}

/** `Tagging` header form (`a=1&b=2`) → a tag set. */
export function parseTagging(tagging: string | undefined): { Key: string; Value: string }[] {
  if (!tagging) return [];
  const tags = [...new URLSearchParams(tagging)].map(([Key, Value]) => ({ Key, Value }));
  checkTags(tags);
  return tags;
}

export function checkTags(tags: { Key: string; Value: string }[]): void {
  if (tags.length > 10) throw S3Errors.invalidTag('Object tags cannot be greater than 10');
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t.Key))
      throw S3Errors.invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(t.Key);
    if (t.Key.length > 128)
      throw S3Errors.invalidTag('The TagKey you have provided is too long, max 128');
    if (t.Value.length > 256)
      throw S3Errors.invalidTag('The TagValue you have provided is too long, max 256');
  }
}

/** Whether an If-Match / If-None-Match list names this ETag ('*' names any). */
export function etagMatches(header: string, etag: string): boolean {
  const bare = etag.replace(/"/g, '');
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, '').replace(/"/g, ''))
    .some((t) => t === '*' || t === bare);
}

/** What storing a body produced. */
export interface StoredBody {
  piece: ContentPiece;
  md5: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/**
 * Objects up to this size keep their bytes in their record (an InlinePiece): the record and
 * the data commit in one SQLite WAL write, with no blob file and none of its fsyncs. The
 * store commits with synchronous=NORMAL (survives kill -9, not an OS crash), so a blob's
 * fsync bought a small object nothing its record did not already have. MinIO does the same
 * below 128 KiB (xl.meta). 16 KiB here: a listing decodes whole records (the bytes as
 * base64, +33%), so a page of 1,000 inline objects decodes at most ~21 MB; 1 KB PUTs gain
 * the same at any threshold (bench/README.md, "S3 benchmark").
 */
export const INLINE_MAX_BYTES = 16 * 1024;

/**
 * Stores a new object's payload: inline in its record when it turns out to be at most
 * INLINE_MAX_BYTES (a stream of unknown length, such as a POST form's file, is read that far
 * first), else as a blob. The one place that decides where a new object's bytes live.
 */
export async function storeBody(
  deps: Pick<S3Deps, 'blobs' | 'guard'>,
  body: StreamingBlob | undefined,
): Promise<StoredBody> {
  if (!(body instanceof Readable)) {
    const buf = body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0);
    if (buf.length > INLINE_MAX_BYTES) return storeBlob(deps, buf);
    const md5 = createHash('md5').update(buf).digest('hex');
    return { piece: inlinePiece(buf), md5, checksums: {} };
  }
  const declared = declaredSize(body);
  if (declared !== undefined && declared > INLINE_MAX_BYTES) return storeBlob(deps, body);
  const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await source.next();
    if (next.done) {
      return { piece: inlinePiece(Buffer.concat(head, size)), ...payloadDigests(body) };
    }
    head.push(next.value);
    size += next.value.length;
    if (size > INLINE_MAX_BYTES) break;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* head;
    for (let next = await source.next(); !next.done; next = await source.next()) {
      yield next.value;
    }
  }
  const info = await deps.blobs.put(Readable.from(rest(), { objectMode: false }));
  deps.guard.protect(info.digest);
  return { piece: info, ...payloadDigests(body) };
}

/**
 * Writes a payload into the blob store: a stream as it arrives (temp file, fsync, rename;
 * the gateway's checks fail it before its end when they fail, and then nothing is kept).
 */
export async function storeBlob(
  deps: Pick<S3Deps, 'blobs' | 'guard'>,
  body: StreamingBlob | undefined,
): Promise<StoredBody & { piece: BlobPiece }> {
  const { blobs, guard } = deps;
  if (body instanceof Readable) {
    const info = await blobs.put(body);
    guard.protect(info.digest);
    return { piece: info, ...payloadDigests(body) };
  }
  const buf = body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0);
  const info = await blobs.put(buf);
  guard.protect(info.digest);
  return { piece: info, md5: createHash('md5').update(buf).digest('hex'), checksums: {} };
}

/** What the gateway's checks learned of a streamed payload that has ended. */
function payloadDigests(body: Readable): Pick<StoredBody, 'md5' | 'checksums'> {
  const digests = isCheckedPayload(body) ? body.digests : undefined;
  if (!digests) throw new Error('a streamed payload ended without its checks');
  return { md5: digests.md5, checksums: digests.checksums };
}

/** An inline piece owning its bytes (a copy, so no caller's buffer is retained). */
function inlinePiece(data: Buffer): InlinePiece {
  return { data: Buffer.from(data), size: data.length };
}

/** The declared size of a payload before it is read, when the request said it. */
export function declaredSize(
  body: StreamingBlob | undefined,
  contentLength?: number,
): number | undefined {
  if (isCheckedPayload(body)) return body.declaredLength ?? contentLength;
  if (body instanceof Uint8Array) return body.byteLength;
  return contentLength ?? (body === undefined ? 0 : undefined);
}

/**
 * Bytes [start, end] (inclusive) of an object's content: straight from the record when
 * it is stored inline (no file opened), the blob's own file stream when it is one blob
 * (no stream in between: each layer costs a hand-off per chunk), else blob after blob.
 */
export async function contentBody(
  blobs: BlobStore,
  pieces: readonly ContentPiece[],
  start: number,
  end: number,
): Promise<Readable | Buffer> {
  const only = pieces.length === 1 ? pieces[0] : undefined;
  if (only?.data !== undefined) return only.data.subarray(start, end + 1);
  if (only !== undefined) {
    const stream = await blobs.get(only.digest, { start, end });
    if (!stream) throw new Error(`object content ${only.digest} is missing`);
    return stream;
  }
  return contentStream(blobs, pieces, start, end);
}

/** Bytes [start, end] (inclusive) of an object's content as a stream, piece after piece. */
export function contentStream(
  blobs: BlobStore,
  pieces: readonly ContentPiece[],
  start: number,
  end: number,
): Readable {
  async function* read(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const piece of pieces) {
      const pieceStart = offset;
      const pieceEnd = offset + piece.size - 1;
      offset += piece.size;
      if (pieceEnd < start || piece.size === 0) continue;
      if (pieceStart > end) break;
      const from = Math.max(start, pieceStart) - pieceStart;
      const to = Math.min(end, pieceEnd) - pieceStart;
      if (piece.data !== undefined) {
        yield piece.data.subarray(from, to + 1);
        continue;
      }
      const stream = await blobs.get(piece.digest, { start: from, end: to });
      if (!stream) throw new Error(`object content ${piece.digest} is missing`);
      for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
    }
  }
  return Readable.from(read(), { objectMode: false });
}

export function checksumFields(
  checksums: Partial<Record<ChecksumAlgorithm, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums)) out[`Checksum${alg}`] = value;
  return out;
}
