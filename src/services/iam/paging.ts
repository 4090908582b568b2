/**
 * IAM's Marker/MaxItems paging over shared/paging.ts: at most MaxItems (default 100) per
 * page, IsTruncated and an opaque Marker when more remain.
 */
import type { MetadataOps } from '../../storage/types.js';
import { InvalidInputException } from '../../api/iam/errors.js';
import * as paging from '../../shared/paging.js';

export const DEFAULT_MAX_ITEMS = 100;

export interface Page<T> {
  items: T[];
  isTruncated: boolean;
  marker?: string;
}

const invalid = (): Error => new InvalidInputException('Invalid Marker.');

const toPage = <T>(page: paging.KeyPage<T>): Page<T> =>
  page.next === undefined
    ? { items: page.items, isTruncated: false }
    : { items: page.items, isTruncated: true, marker: page.next };

/** Pages a store listing, keeping only values `keep` accepts. */
export async function pageStore<T>(
  ops: MetadataOps,
  table: string,
  prefix: string,
  marker: string | undefined,
  maxItems: number | undefined,
  keep?: (value: T) => boolean,
): Promise<Page<T>> {
  const page = await paging.pageStore<T>(ops, table, {
    prefix,
    marker,
    max: maxItems ?? DEFAULT_MAX_ITEMS,
    keep: keep && ((value) => keep(value)),
    invalid,
  });
  return toPage({ items: page.items.map((row) => row.value), next: page.next });
}

/** Pages an in-memory list already in its final order, `keyOf` giving each item's key. */
export function pageArray<T>(
  all: readonly T[],
  keyOf: (item: T) => string,
  marker: string | undefined,
  maxItems: number | undefined,
): Page<T> {
  return toPage(
    paging.pageArray(all, keyOf, {
      marker,
      max: maxItems ?? DEFAULT_MAX_ITEMS,
      resume: 'after',
      invalid,
    }),
  );
}
