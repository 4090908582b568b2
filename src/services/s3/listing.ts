/**
 * ListObjectsV2, ListObjects (v1) and ListObjectVersions: keys in UTF-8 byte order under a
 * prefix, rolled up into common prefixes at the delimiter, paged. A common prefix counts
 * as one key against MaxKeys, and the next page resumes after everything it covers.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import type { S3Operations } from '../../api/s3/operations.js';
import type {
  DeleteMarkerEntry,
  EncodingType,
  ObjectStorageClass,
  ObjectVersion,
  ObjectVersionStorageClass,
} from '../../api/s3/types.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import type { MetadataOps } from '../../storage/types.js';
import { ownerOf } from './buckets.js';
import { requireBucket, urlEncodeKey, type S3Deps } from './common.js';
import { S3Errors } from './errors.js';
import { OBJECTS, objectPrefix, type ObjectRecord } from './store.js';
import {
  findVersion,
  validVersionId,
  versionRows,
  wireVersionId,
  type VersionRow,
} from './versions.js';

type ListingOps = Pick<S3Operations, 'ListObjectsV2' | 'ListObjects' | 'ListObjectVersions'>;

const DEFAULT_MAX_KEYS = 1000;
/** Rows read by the first scan after skipping a common prefix (it grows while none is found). */
const SCAN_AFTER_JUMP = 4;
/** After every key that starts with a common prefix (the largest code point). */
const PAST = '\u{10FFFF}';

type Entry = { object: ObjectRecord } | { prefix: string };

interface Listing {
  entries: Entry[];
  truncated: boolean;
  /** Where the next page starts (exclusive): a key, or a common prefix + PAST. */
  resume?: string;
  /** The last key or common prefix returned (v1's NextMarker). */
  last?: string;
}

/** One page of keys (and common prefixes) after `after`. */
export async function listKeys(
  ops: MetadataOps,
  bucket: string,
  opts: { prefix: string; delimiter?: string; after?: string; max: number },
): Promise<Listing> {
  const { prefix, delimiter, max } = opts;
  const base = objectPrefix(bucket);
  const entries: Entry[] = [];
  let after = opts.after !== undefined ? base + opts.after : undefined;
  const full = Math.min(Math.max(max + 1, 100), 1000);
  // After a jump past a common prefix, the next scan starts small: under a delimiter most
  // scans find another common prefix at once, and every row read past it is wasted work.
  let batch = full;
  if (max === 0) return { entries, truncated: false };
  for (;;) {
    const rows = await ops.list<ObjectRecord>(OBJECTS, {
      prefix: base + prefix,
      after,
      limit: batch,
    });
    let jumped = false;
    for (const row of rows) {
      const key = row.value.key;
      after = row.key;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0 && delimiter) {
        const common = key.slice(0, cut + delimiter.length);
        entries.push({ prefix: common });
        // Skip the rest of this common prefix with a fresh scan.
        after = base + common + PAST;
        jumped = true;
      } else {
        entries.push({ object: row.value });
      }
      if (entries.length > max) break;
      if (jumped) break;
    }
    if (entries.length > max) break;
    if (!jumped && rows.length < batch) break;
    batch = jumped ? SCAN_AFTER_JUMP : Math.min(batch * 4, full);
  }
  const truncated = entries.length > max;
  if (truncated) entries.length = max;
  const lastEntry = entries[entries.length - 1];
  const last = lastEntry
    ? 'prefix' in lastEntry
      ? lastEntry.prefix
      : lastEntry.object.key
    : undefined;
  const resume =
    truncated && lastEntry
      ? 'prefix' in lastEntry
        ? lastEntry.prefix + PAST
        : lastEntry.object.key
      : undefined;
  return { entries, truncated, resume, last };
}

type VersionListEntry = { row: VersionRow; latest: boolean } | { prefix: string };

/**
 * One page of versions (current and noncurrent, delete markers) and common prefixes, after
 * a key marker and optionally a version of that key.
 */
async function listVersions(
  ops: MetadataOps,
  bucket: string,
  opts: {
    prefix: string;
    delimiter?: string;
    keyMarker?: string;
    versionIdMarker?: string;
    max: number;
  },
): Promise<{ entries: VersionListEntry[]; truncated: boolean }> {
  const { prefix, delimiter, max } = opts;
  const base = objectPrefix(bucket);
  const entries: VersionListEntry[] = [];
  if (max === 0) return { entries, truncated: false };
  let after: string | undefined;
  /** The key of the previous version listed: only a key's first version is its latest. */
  let previousKey: string | undefined;
  if (opts.versionIdMarker !== undefined) {
    if (opts.keyMarker === undefined) {
      throw S3Errors.invalidArgument(
        'A version-id marker cannot be specified without a key marker.',
        'version-id-marker',
        opts.versionIdMarker,
      );
    }
    const found = validVersionId(opts.versionIdMarker)
      ? await findVersion(ops, bucket, opts.keyMarker, opts.versionIdMarker)
      : undefined;
    if (found) {
      after = found.storeKey;
      previousKey = opts.keyMarker;
    }
  }
  if (after === undefined && opts.keyMarker !== undefined) {
    after =
      delimiter && opts.keyMarker.endsWith(delimiter)
        ? base + opts.keyMarker + PAST
        : `${base}${opts.keyMarker}\0${PAST}`;
  }
  const full = Math.min(Math.max(max + 1, 100), 1000);
  let batch = full;
  for (;;) {
    const { rows, more } = await versionRows(ops, bucket, prefix, after, batch);
    let jumped = false;
    for (const row of rows) {
      const key = row.entry.key;
      after = row.storeKey;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0 && delimiter) {
        const common = key.slice(0, cut + delimiter.length);
        entries.push({ prefix: common });
        after = base + common + PAST;
        jumped = true;
      } else {
        entries.push({ row, latest: row.current || previousKey !== key });
        previousKey = key;
      }
      if (entries.length > max || jumped) break;
    }
    if (entries.length > max) break;
    if (!jumped && !more) break;
    batch = jumped ? SCAN_AFTER_JUMP : Math.min(batch * 4, full);
  }
  const truncated = entries.length > max;
  if (truncated) entries.length = max;
  return { entries, truncated };
}

/** Where a v1 marker (a key or a common prefix) resumes. */
function afterMarker(
  marker: string | undefined,
  delimiter: string | undefined,
): string | undefined {
  if (!marker) return undefined;
  return delimiter && marker.endsWith(delimiter) ? marker + PAST : marker;
}

export function listingOperations(deps: S3Deps): ListingOps {
  const { store } = deps;
  const encoder = (type: EncodingType | undefined) =>
    type === 'url' ? urlEncodeKey : (s: string) => s;
  const contents = (entries: Entry[], encode: (s: string) => string, owner?: string) =>
    entries.flatMap((e) =>
      'object' in e
        ? [
            {
              Key: encode(e.object.key),
              LastModified: new Date(e.object.lastModified),
              ETag: e.object.etag,
              Size: e.object.size,
              StorageClass: e.object.storageClass as ObjectStorageClass,
              ChecksumAlgorithm: Object.keys(e.object.checksums) as never,
              ChecksumType: e.object.checksumType,
              Owner: owner ? ownerOf(owner) : undefined,
            },
          ]
        : [],
    );
  const prefixes = (entries: (Entry | VersionListEntry)[], encode: (s: string) => string) => {
    const list = entries.flatMap((e) => ('prefix' in e ? [{ Prefix: encode(e.prefix) }] : []));
    return list.length ? list : undefined;
  };
  const checkEncoding = (type: string | undefined) => {
    if (type !== undefined && type !== 'url') {
      throw S3Errors.invalidArgument(
        'Invalid Encoding Method specified in Request',
        'encoding-type',
        type,
      );
    }
  };

  return {
    async ListObjectsV2(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      checkEncoding(input.EncodingType);
      const max = Math.min(input.MaxKeys ?? DEFAULT_MAX_KEYS, DEFAULT_MAX_KEYS);
      let after = input.StartAfter || undefined;
      if (input.ContinuationToken !== undefined) {
        const token = decodeToken(input.ContinuationToken);
        if (typeof token !== 'string') {
          throw S3Errors.invalidArgument(
            'The continuation token provided is incorrect',
            'continuation-token',
            input.ContinuationToken,
          );
        }
        after = token;
      }
      const prefix = input.Prefix ?? '';
      const page = await listKeys(store, bucket.name, {
        prefix,
        delimiter: input.Delimiter || undefined,
        after,
        max,
      });
      const encode = encoder(input.EncodingType);
      return {
        Name: bucket.name,
        Prefix: encode(prefix),
        Delimiter: input.Delimiter ? encode(input.Delimiter) : undefined,
        MaxKeys: max,
        EncodingType: input.EncodingType,
        KeyCount: page.entries.length,
        IsTruncated: page.truncated,
        Contents: contents(page.entries, encode, input.FetchOwner ? bucket.account : undefined),
        CommonPrefixes: prefixes(page.entries, encode),
        ContinuationToken: input.ContinuationToken,
        NextContinuationToken: page.resume !== undefined ? encodeToken(page.resume) : undefined,
        StartAfter: input.StartAfter ? encode(input.StartAfter) : undefined,
      };
    },

    async ListObjects(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      checkEncoding(input.EncodingType);
      const max = Math.min(input.MaxKeys ?? DEFAULT_MAX_KEYS, DEFAULT_MAX_KEYS);
      const delimiter = input.Delimiter || undefined;
      const prefix = input.Prefix ?? '';
      const page = await listKeys(store, bucket.name, {
        prefix,
        delimiter,
        after: afterMarker(input.Marker, delimiter),
        max,
      });
      const encode = encoder(input.EncodingType);
      return {
        Name: bucket.name,
        Prefix: encode(prefix),
        Marker: encode(input.Marker ?? ''),
        Delimiter: delimiter ? encode(delimiter) : undefined,
        MaxKeys: max,
        EncodingType: input.EncodingType,
        IsTruncated: page.truncated,
        // "This element is returned only if you have the delimiter request parameter specified."
        NextMarker: page.truncated && delimiter && page.last ? encode(page.last) : undefined,
        Contents: contents(page.entries, encode, bucket.account),
        CommonPrefixes: prefixes(page.entries, encode),
      };
    },

    async ListObjectVersions(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      checkEncoding(input.EncodingType);
      const max = Math.min(input.MaxKeys ?? DEFAULT_MAX_KEYS, DEFAULT_MAX_KEYS);
      const delimiter = input.Delimiter || undefined;
      const prefix = input.Prefix ?? '';
      const page = await listVersions(store, bucket.name, {
        prefix,
        delimiter,
        keyMarker: input.KeyMarker || undefined,
        versionIdMarker: input.VersionIdMarker || undefined,
        max,
      });
      const encode = encoder(input.EncodingType);
      const owner = ownerOf(bucket.account);
      const versions: ObjectVersion[] = [];
      const markers: DeleteMarkerEntry[] = [];
      for (const e of page.entries) {
        if (!('row' in e)) continue;
        const { entry } = e.row;
        const common = {
          Key: encode(entry.key),
          VersionId: wireVersionId(entry),
          IsLatest: e.latest,
          LastModified: new Date(entry.lastModified),
          Owner: owner,
        };
        if (entry.deleteMarker) markers.push(common);
        else
          versions.push({
            ...common,
            ETag: entry.etag,
            Size: entry.size,
            StorageClass: entry.storageClass as ObjectVersionStorageClass,
            ChecksumAlgorithm: Object.keys(entry.checksums) as never,
            ChecksumType: entry.checksumType,
          });
      }
      const last = page.entries[page.entries.length - 1];
      return {
        Name: bucket.name,
        Prefix: encode(prefix),
        KeyMarker: encode(input.KeyMarker ?? ''),
        VersionIdMarker: input.VersionIdMarker ?? '',
        Delimiter: delimiter ? encode(delimiter) : undefined,
        MaxKeys: max,
        EncodingType: input.EncodingType,
        IsTruncated: page.truncated,
        NextKeyMarker:
          page.truncated && last
            ? encode('row' in last ? last.row.entry.key : last.prefix)
            : undefined,
        NextVersionIdMarker:
          page.truncated && last && 'row' in last ? wireVersionId(last.row.entry) : undefined,
        Versions: versions.length ? versions : undefined,
        DeleteMarkers: markers.length ? markers : undefined,
        CommonPrefixes: prefixes(page.entries, encode),
      };
    },
  };
}
