/**
 * Paging, one module for every service. AWS's paging markers (`Marker`, `NextMarker`,
 * `nextToken`) are opaque to clients; ours are base64url, either of the last returned
 * store key (key markers) or of a small JSON value (tokens). Each service supplies its own
 * error for a marker it did not hand out, and its own default page size.
 */
import type { MetadataOps } from '../storage/types.js';

/** A key marker: the last returned store key, base64url. */
export function encodeKey(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeKey(marker: string): string {
  return Buffer.from(marker, 'base64url').toString('utf8');
}

/** A token: base64url JSON, so a client can only hand back what it was given. */
export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The value a token carries; undefined when it is not one of ours. */
export function decodeToken(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export interface KeyPage<T> {
  items: T[];
  /** Present when more items follow: the marker of the next page. */
  next?: string;
}

export interface StorePaging<V> {
  /** Only keys under this prefix; a marker outside it is invalid. */
  prefix: string;
  /** The client's marker, undefined for the first page. */
  marker: string | undefined;
  max: number;
  /** Filters rows (the page still fills to `max` kept rows). */
  keep?: (value: V, key: string) => boolean;
  /** The service's error for a marker that is not one of its own. */
  invalid: () => Error;
}

/** Pages a store listing in key order, resuming after the marker's key. */
export async function pageStore<V>(
  ops: MetadataOps,
  table: string,
  opts: StorePaging<V>,
): Promise<KeyPage<{ key: string; value: V }>> {
  const { prefix, max, keep } = opts;
  let after: string | undefined;
  if (opts.marker !== undefined) {
    after = decodeKey(opts.marker);
    if (!after.startsWith(prefix)) throw opts.invalid();
  }
  const items: { key: string; value: V }[] = [];
  const batch = Math.max(max + 1, 100);
  for (;;) {
    const rows = await ops.list<V>(table, { prefix, after, limit: batch });
    for (const row of rows) {
      if (keep && !keep(row.value, row.key)) continue;
      if (items.length === max) return { items, next: encodeKey(items[items.length - 1].key) };
      items.push(row);
    }
    if (rows.length < batch) return { items };
    after = rows[rows.length - 1].key;
  }
}

export interface ArrayPaging {
  marker: string | undefined;
  max: number;
  /**
   * How a marker resumes: 'after' the first item whose key sorts after it (a list in key
   * order, where the marked item may since have gone), or 'exact' after the item with
   * that key (any order; a key no longer listed is an invalid marker).
   */
  resume: 'after' | 'exact';
  invalid: () => Error;
}

/** Pages an in-memory list already in its final order, `keyOf` giving each item's key. */
export function pageArray<V>(
  all: readonly V[],
  keyOf: (v: V) => string,
  opts: ArrayPaging,
): KeyPage<V> {
  const { max } = opts;
  let start = 0;
  if (opts.marker !== undefined) {
    const after = decodeKey(opts.marker);
    if (opts.resume === 'exact') {
      const i = all.findIndex((v) => keyOf(v) === after);
      if (i < 0) throw opts.invalid();
      start = i + 1;
    } else {
      start = all.findIndex((v) => keyOf(v) > after);
      if (start < 0) start = all.length;
    }
  }
  const items = all.slice(start, start + max);
  return start + max < all.length
    ? { items, next: encodeKey(keyOf(items[items.length - 1])) }
    : { items };
}
