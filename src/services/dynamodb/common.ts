/**
 * What the DynamoDB operation modules share: finding a table, checking keys and items
 * against its schema, and the one function that writes an item together with its
 * secondary index entries and the table's counters.
 */
import type { KeySchemaElement } from '../../api/dynamodb/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import { invalidParameter, keyMismatch, tableNotFound, validation } from './errors.js';
import {
  attributeType,
  INDEX,
  indexPrefix,
  type IndexRecord,
  ITEMS,
  itemsPrefix,
  type KeyDef,
  keySuffix,
  type Scope,
  STATS,
  TABLES,
  type TableRecord,
  tableKey,
  type TableStats,
} from './store.js';
import { appendRecord, sequenceNumber, STREAM_RECORDS, STREAMS, streamRecord } from './streams.js';
import { checkItem, type Item, itemSize, typeOf } from './values.js';

/** What the DynamoDB operation modules share. */
export interface DynamoDeps {
  store: MetadataStore;
  /** Milliseconds since the epoch; tests pin it. */
  now(): number;
  /** Called after a committed write changed an item (DynamoDB Streams, when enabled). */
  onWrite?: (table: TableRecord, change: ItemChange) => void;
}

export interface ItemChange {
  keys: Item;
  old?: Item;
  new?: Item;
}

/** "The maximum item size in DynamoDB is 400 KB". */
export const MAX_ITEM_BYTES = 400 * 1024;

export const scopeOf = (ctx: RequestContext): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

export const tableArn = (t: { account: string; region: string; name: string }): string =>
  buildArn('dynamodb', t.region, t.account, `table/${t.name}`);

/** A table name, or a table ARN in the caller's account and region, as a name. */
export function tableNameOf(ctx: RequestContext, nameOrArn: string): string | undefined {
  if (!nameOrArn.startsWith('arn:')) return nameOrArn;
  const arn = parseArn(nameOrArn);
  if (!arn || arn.service !== 'dynamodb' || !arn.resource.startsWith('table/')) return undefined;
  if (arn.account !== ctx.account || arn.region !== ctx.region) return undefined;
  const name = arn.resource.slice('table/'.length);
  return name.includes('/') ? undefined : name;
}

/**
 * The table a request names. Item operations answer "Requested resource not found"; the
 * table operations name the table (`describe`).
 */
export async function findTable(
  ops: MetadataOps,
  ctx: RequestContext,
  nameOrArn: string,
  describe = false,
): Promise<TableRecord> {
  const name = tableNameOf(ctx, nameOrArn);
  const table = name && (await ops.get<TableRecord>(TABLES, tableKey(scopeOf(ctx), name)));
  if (!table) throw tableNotFound(describe ? nameOrArn : undefined);
  return table;
}

export function keyDefOf(schema: KeySchemaElement[]): KeyDef {
  const hash = schema.find((k) => k.KeyType === 'HASH')?.AttributeName as string;
  const range = schema.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  return range ? { hash, range } : { hash };
}

const keyNames = (key: KeyDef): string[] => (key.range ? [key.hash, key.range] : [key.hash]);

function emptyKeyValue(name: string): Error {
  return validation(
    `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${name}`,
  );
}

/** Checks a Key parameter (exactly the key attributes, of their types). */
export function checkKey(table: TableRecord, key: Item | undefined): Item {
  if (!key) throw keyMismatch();
  const checked = checkItem(key);
  const names = keyNames(table.key);
  if (Object.keys(checked).length !== names.length) throw keyMismatch();
  for (const name of names) {
    const v = checked[name];
    if (!v || typeOf(v) !== attributeType(table, name)) throw keyMismatch();
    if ((v.S !== undefined && v.S === '') || (v.B !== undefined && v.B.byteLength === 0)) {
      throw emptyKeyValue(name);
    }
  }
  return checked;
}

/** The key attributes of an item. */
export function keyOf(item: Item, key: KeyDef): Item {
  const out: Item = { [key.hash]: item[key.hash] };
  if (key.range) out[key.range] = item[key.range];
  return out;
}

/** Checks an item to be written: key attributes present and typed, index keys typed, size. */
export function checkWritableItem(table: TableRecord, item: Item): Item {
  for (const name of keyNames(table.key)) {
    const v = item[name];
    if (!v) throw invalidParameter(`Missing the key ${name} in the item`);
    const want = attributeType(table, name);
    const got = typeOf(v);
    if (got !== want) {
      throw invalidParameter(`Type mismatch for key ${name} expected: ${want} actual: ${got}`);
    }
    if ((v.S !== undefined && v.S === '') || (v.B !== undefined && v.B.byteLength === 0)) {
      throw emptyKeyValue(name);
    }
  }
  for (const index of table.indexes) {
    for (const name of keyNames(index.key)) {
      const v = item[name];
      if (!v) continue;
      const want = attributeType(table, name);
      const got = typeOf(v);
      if (got !== want) {
        throw invalidParameter(
          `Type mismatch for Index Key ${name} Expected: ${want} Actual: ${got} IndexName: ${index.name}`,
        );
      }
      if ((v.S !== undefined && v.S === '') || (v.B !== undefined && v.B.byteLength === 0)) {
        throw validation(
          `One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: ${index.name}, IndexKey: ${name}`,
        );
      }
    }
  }
  if (itemSize(item) > MAX_ITEM_BYTES) {
    throw validation('Item size has exceeded the maximum allowed size');
  }
  return item;
}

export const itemStoreKey = (table: TableRecord, key: Item): string =>
  itemsPrefix(table) + (keySuffix(key, table.key) as string);

function indexStoreKey(table: TableRecord, index: IndexRecord, item: Item): string | undefined {
  const ik = keySuffix(item, index.key);
  if (ik === undefined) return undefined;
  return indexPrefix(table, index.name) + ik + (keySuffix(item, table.key) as string);
}

export async function readItem(
  ops: MetadataOps,
  table: TableRecord,
  key: Item,
): Promise<Item | undefined> {
  return ops.get<Item>(ITEMS, itemStoreKey(table, key));
}

/**
 * Writes (or, with `next` undefined, deletes) one item inside the caller's transaction,
 * keeping its secondary index entries and the table's counters in step.
 */
export async function writeItem(
  tx: MetadataOps,
  table: TableRecord,
  old: Item | undefined,
  next: Item | undefined,
  /** A Time to Live deletion (its stream record names DynamoDB as the deleter). */
  byTtl = false,
): Promise<void> {
  const base = (next ?? old) as Item;
  const key = itemStoreKey(table, base);
  if (next) await tx.put(ITEMS, key, next);
  else await tx.delete(ITEMS, key);
  for (const index of table.indexes) {
    const before = old && indexStoreKey(table, index, old);
    const after = next && indexStoreKey(table, index, next);
    if (before && before !== after) await tx.delete(INDEX, before);
    if (after) await tx.put(INDEX, after, keySuffix(next, table.key));
  }
  const stats = (await tx.get<TableStats>(STATS, table.id)) ?? { count: 0, bytes: 0 };
  stats.count += (next ? 1 : 0) - (old ? 1 : 0);
  stats.bytes += (next ? itemSize(next) : 0) - (old ? itemSize(old) : 0);
  if (table.stream) {
    const seq = (stats.seq ?? 0) + 1;
    const keys = keyOf(base, table.key);
    const record = streamRecord(
      table.stream,
      table.region,
      keys,
      old,
      next,
      sequenceNumber(seq),
      Date.now(),
      byTtl,
    );
    if (record) {
      stats.seq = seq;
      await appendRecord(tx, table.id, table.stream.label, record);
    }
  }
  await tx.put(STATS, table.id, stats);
}

/** Items and index entries of a table, removed with it. */
export async function dropTableData(tx: MetadataOps, table: TableRecord): Promise<void> {
  await tx.deletePrefix(STREAM_RECORDS, itemsPrefix(table));
  await tx.deletePrefix(STREAMS, `${tableKey(table, table.name)}/`);
  await tx.deletePrefix(ITEMS, itemsPrefix(table));
  await tx.deletePrefix(INDEX, itemsPrefix(table));
  await tx.delete(STATS, table.id);
}

/** Tells the stream hook about a committed write that changed something. */
export function notifyWrite(
  deps: DynamoDeps,
  table: TableRecord,
  r: { old?: Item; next?: Item },
): void {
  if (!deps.onWrite || (!r.old && !r.next) || r.old === r.next) return;
  deps.onWrite(table, {
    keys: keyOf((r.next ?? r.old) as Item, table.key),
    old: r.old,
    new: r.next,
  });
}
