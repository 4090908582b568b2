/**
 * IAM's Marker/MaxItems paging: at most MaxItems (default 100) per page, IsTruncated and
 * an opaque Marker when more remain. The marker is the last returned store key, encoded.
 */
import type { MetadataOps } from '../../storage/types.js';
import { InvalidInputException } from '../../api/iam/errors.js';

export const DEFAULT_MAX_ITEMS = 100;

export interface Page<T> {
  items: T[];
  isTruncated: boolean;
  marker?: string;
}

export function encodeMarker(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The key a marker resumes after; it must lie inside the listing's own prefix. */
export function decodeMarker(marker: string, prefix: string): string {
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (!key.startsWith(prefix)) throw new InvalidInputException('Invalid Marker.');
  return key;
}

/** Pages a store listing, keeping only values `keep` accepts. */
export async function pageStore<T>(
  ops: MetadataOps,
  table: string,
  prefix: string,
  marker: string | undefined,
  maxItems: number | undefined,
  keep?: (value: T) => boolean,
): Promise<Page<T>> {
  const max = maxItems ?? DEFAULT_MAX_ITEMS;
  let after = marker === undefined ? undefined : decodeMarker(marker, prefix);
  const items: T[] = [];
  let lastKey = '';
  const batch = keep ? Math.max(max + 1, 200) : max + 1;
  for (;;) {
    const rows = await ops.list<T>(table, { prefix, after, limit: batch });
    for (const row of rows) {
      if (keep && !keep(row.value)) continue;
      if (items.length === max) return { items, isTruncated: true, marker: encodeMarker(lastKey) };
      items.push(row.value);
      lastKey = row.key;
    }
    if (rows.length < batch) return { items, isTruncated: false };
    after = rows[rows.length - 1].key;
  }
}

/** Pages an in-memory list already in its final order, `keyOf` giving each item's key. */
export function pageArray<T>(
  all: readonly T[],
  keyOf: (item: T) => string,
  marker: string | undefined,
  maxItems: number | undefined,
): Page<T> {
  const max = maxItems ?? DEFAULT_MAX_ITEMS;
  let start = 0;
  if (marker !== undefined) {
    const after = decodeMarker(marker, '');
    start = all.findIndex((item) => keyOf(item) > after);
    if (start < 0) start = all.length;
  }
  const items = all.slice(start, start + max);
  const isTruncated = start + max < all.length;
  return isTruncated
    ? { items, isTruncated, marker: encodeMarker(keyOf(items[items.length - 1])) }
    : { items, isTruncated };
}
