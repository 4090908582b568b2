/**
 * S3's tables. Bucket names are global (one namespace for every account, as on AWS);
 * object keys sort by their UTF-8 bytes, which is S3's listing order.
 *
 *   s3-buckets   <bucket>                     BucketRecord
 *   s3-objects   <bucket>/<key>               ObjectRecord (the current version)
 *   s3-versions  <bucket>/<key>\0<order>      VersionEntry (noncurrent versions and every
 *                                             delete marker, newest first: see versions.ts)
 *   s3-uploads   <bucket>/<upload-id>         UploadRecord (multipart uploads in progress)
 *   s3-parts     <upload-id>/<part, 5 digits> PartRecord
 */
import type {
  Grant,
  ObjectCannedACL,
  ObjectLockConfiguration,
  ObjectLockRetentionMode,
} from '../../api/s3/types.js';
import type { ChecksumAlgorithm } from '../../protocol/checksums.js';

export const BUCKETS = 's3-buckets';
export const OBJECTS = 's3-objects';
export const VERSIONS = 's3-versions';
export const UPLOADS = 's3-uploads';
export const PARTS = 's3-parts';

export const objectKey = (bucket: string, key: string) => `${bucket}/${key}`;
export const objectPrefix = (bucket: string) => `${bucket}/`;
export const uploadKey = (bucket: string, uploadId: string) => `${bucket}/${uploadId}`;
export const partKey = (uploadId: string, part: number) =>
  `${uploadId}/${String(part).padStart(5, '0')}`;

export interface BucketRecord {
  name: string;
  account: string;
  region: string;
  createdAt: number;
  versioning?: 'Enabled' | 'Suspended';
  tags?: { Key: string; Value: string }[];
  /** Configuration documents stored as the client sent them (parsed input members). */
  cors?: unknown;
  policy?: string;
  lifecycle?: unknown;
  notification?: unknown;
  ownership?: string;
  objectLock?: ObjectLockConfiguration;
}

/**
 * A piece of an object's content, in order (a multipart object has several): a blob, or,
 * for a small object, its bytes held in the record itself (common.ts, INLINE_MAX_BYTES).
 */
export type ContentPiece = BlobPiece | InlinePiece;

export interface BlobPiece {
  digest: string;
  size: number;
  data?: undefined;
}

/** Bytes stored in the record: committed with it in one write, no blob, no fsync. */
export interface InlinePiece {
  data: Buffer;
  size: number;
  digest?: undefined;
}

/** The blobs an object's content references (none when it is stored inline). */
export function blobDigests(pieces: readonly ContentPiece[]): string[] {
  const out: string[] = [];
  for (const piece of pieces) if (piece.digest !== undefined) out.push(piece.digest);
  return out;
}

/** Headers stored with an object and given back on GET and HEAD. */
export interface StoredHeaders {
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  ContentType?: string;
  Expires?: string;
  WebsiteRedirectLocation?: string;
}

export interface ObjectRecord {
  key: string;
  size: number;
  /** Quoted, as on the wire: "<md5 hex>" or "<md5 of part md5s>-<parts>". */
  etag: string;
  lastModified: number;
  headers: StoredHeaders;
  metadata: Record<string, string>;
  storageClass: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  content: ContentPiece[];
  /** Multipart objects: how many parts (GetObject's PartsCount, PartNumber reads). */
  partsCount?: number;
  tags?: { Key: string; Value: string }[];
  /** A canned ACL other than `private`, or explicit grants (acl.ts). */
  acl?: ObjectCannedACL;
  grants?: Grant[];
  /** Object Lock (object-lock.ts); RetainUntilDate in ms since the epoch. */
  retention?: { Mode: ObjectLockRetentionMode; RetainUntilDate: number };
  legalHold?: 'ON';
  /** Undefined for the `null` version (written while versioning was off or suspended). */
  versionId?: string;
  /** Where the version sorts among its key's versions (versions.ts); set once versioned. */
  order?: string;
  deleteMarker?: undefined;
}

/** A delete marker: a version with no content that hides the versions below it. */
export interface DeleteMarkerRecord {
  key: string;
  versionId?: string;
  order: string;
  lastModified: number;
  deleteMarker: true;
}

export type VersionEntry = ObjectRecord | DeleteMarkerRecord;

export interface UploadRecord {
  uploadId: string;
  key: string;
  initiated: number;
  headers: StoredHeaders;
  metadata: Record<string, string>;
  storageClass: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  tags?: { Key: string; Value: string }[];
  acl?: ObjectCannedACL;
}

export interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
  digest: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}
