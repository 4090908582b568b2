/**
 * DynamoDB's tables in the MetadataStore and the key layout that orders them.
 *
 *   dynamodb_tables   `<account>/<region>/<table name>`            → TableRecord
 *   dynamodb_items    `<table id>/<pk>/[<sk>/]`                    → the item
 *   dynamodb_index    `<table id>/<index>/<ipk>/[<isk>/]<pk>/[<sk>/]` → the item's key suffix
 *   dynamodb_stats    `<table id>`                                 → item count and bytes
 *
 * Each key value is encoded by encodeKeyValue (values.ts), whose byte order is DynamoDB's
 * order of the value and which never contains '/': a partition's items are one prefix,
 * ordered by sort key exactly as Query returns them. A table id (not its name) prefixes the
 * items, so a table deleted and created again under the same name starts empty.
 */
import type {
  AttributeDefinition,
  KeySchemaElement,
  Projection,
  ScalarAttributeType,
  StreamViewType,
  TableClass,
} from '../../api/dynamodb/types.js';
import { prefixUpperBound } from '../../storage/key-order.js';
import { encodeKeyValue, type Item } from './values.js';

export const TABLES = 'dynamodb_tables';
export const ITEMS = 'dynamodb_items';
export const INDEX = 'dynamodb_index';
export const STATS = 'dynamodb_stats';
/** TransactWriteItems' ClientRequestToken, kept for the 10 minutes AWS honours it. */
export const TX_TOKENS = 'dynamodb_tx_tokens';

export interface Scope {
  account: string;
  region: string;
}

export interface KeyDef {
  hash: string;
  range?: string;
}

export interface IndexRecord {
  name: string;
  /** GSI or LSI. */
  global: boolean;
  key: KeyDef;
  keySchema: KeySchemaElement[];
  projection: Projection;
  provisioned?: { read: number; write: number };
  createdAt: number;
}

export interface TableRecord {
  id: string;
  name: string;
  account: string;
  region: string;
  createdAt: number;
  key: KeyDef;
  keySchema: KeySchemaElement[];
  attributes: AttributeDefinition[];
  billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST';
  /** Set when switched to PAY_PER_REQUEST (BillingModeSummary reports it). */
  payPerRequestSince?: number;
  provisioned: { read: number; write: number };
  indexes: IndexRecord[];
  stream?: { viewType: StreamViewType; label: string };
  ttl?: { attribute: string; enabled: boolean };
  tags: Record<string, string>;
  deletionProtection: boolean;
  tableClass?: TableClass;
  sse?: { enabled: boolean; type?: string; kmsKey?: string };
  /** Point-in-time recovery setting (stored: Stratus keeps no backups). */
  pitr?: { enabled: boolean; days: number; since: number };
}

export interface TableStats {
  count: number;
  bytes: number;
  /** The last stream sequence number handed out (streams.ts). */
  seq?: number;
}

export const tableKey = (scope: Scope, name: string): string =>
  `${scope.account}/${scope.region}/${name}`;
export const scopePrefix = (scope: Scope): string => `${scope.account}/${scope.region}/`;

/** The type an attribute definition gives a key attribute. */
export function attributeType(table: TableRecord, name: string): ScalarAttributeType | undefined {
  return table.attributes.find((a) => a.AttributeName === name)?.AttributeType;
}

/** `<pk>/[<sk>/]` of an item under a key definition; undefined when it lacks a key value. */
export function keySuffix(item: Item, key: KeyDef): string | undefined {
  const h = item[key.hash];
  if (!h) return undefined;
  let out = `${encodeKeyValue(h)}/`;
  if (key.range) {
    const r = item[key.range];
    if (!r) return undefined;
    out += `${encodeKeyValue(r)}/`;
  }
  return out;
}

export const itemsPrefix = (table: TableRecord): string => `${table.id}/`;
export const indexPrefix = (table: TableRecord, index: string): string => `${table.id}/${index}/`;

/** A store range: keys under `prefix`, optionally after/before bounds (both exclusive). */
export interface KeyRange {
  prefix: string;
  after?: string;
  before?: string;
}

/**
 * Bounds for a sort key condition within one partition (`partition` ends with '/').
 * `sk >= X` starts right after the bare encoding of X (every key with sort key X is
 * longer), `sk > X` after the upper bound of X's keys, and so on; see store key layout.
 */
export function sortKeyRange(
  partition: string,
  op: '=' | '<' | '<=' | '>' | '>=' | 'between' | 'begins_with',
  a: string,
  b?: string,
): KeyRange {
  const k = (enc: string) => partition + enc;
  const above = (enc: string) => prefixUpperBound(`${k(enc)}/`) as string;
  switch (op) {
    case '=':
      return { prefix: `${k(a)}/` };
    case '<':
      return { prefix: partition, before: k(a) };
    case '<=':
      return { prefix: partition, before: above(a) };
    case '>':
      return { prefix: partition, after: above(a) };
    case '>=':
      return { prefix: partition, after: k(a) };
    case 'between':
      return { prefix: partition, after: k(a), before: above(b as string) };
    case 'begins_with':
      return { prefix: k(a) };
  }
}
