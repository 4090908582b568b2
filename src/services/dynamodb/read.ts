/**
 * Query and Scan: key conditions turned into store key ranges (items are stored in
 * DynamoDB's key order), Limit counted before the filter, 1 MB pages, LastEvaluatedKey
 * and ExclusiveStartKey paging, secondary index projections, parallel scan segments.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.html
 */
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import type { AttributeValue, Select } from '../../api/dynamodb/types.js';
import type { RequestContext } from '../../shared/context.js';
import { compareKeys } from '../../storage/key-order.js';
import { type DynamoDeps, findTable, keyOf } from './common.js';
import { invalidParameter, validation } from './errors.js';
import { evaluate, project } from './evaluate.js';
import {
  type Condition,
  ExpressionScope,
  type Operand,
  parseCondition,
  parseProjection,
  type Path,
} from './expressions.js';
import { capacity, readUnits } from './items.js';
import { legacyFilter, noMixing } from './legacy.js';
import {
  attributeType,
  INDEX,
  indexPrefix,
  type IndexRecord,
  ITEMS,
  itemsPrefix,
  type KeyDef,
  type KeyRange,
  keySuffix,
  sortKeyRange,
  type TableRecord,
} from './store.js';
import { checkItem, encodeKeyValue, type Item, itemSize, typeOf } from './values.js';

type ReadOps = Pick<DynamodbOperations, 'Query' | 'Scan'>;

/** "A single Query operation can retrieve a maximum of 1 MB of data." */
const PAGE_BYTES = 1024 * 1024;
const BATCH = 200;

interface ReadSource {
  table: TableRecord;
  index?: IndexRecord;
  /** The key the source is ordered by (the index's, or the table's). */
  key: KeyDef;
}

interface ReadRequest {
  source: ReadSource;
  range: KeyRange;
  forward: boolean;
  exclusiveStart?: Item;
  limit?: number;
  filter?: Condition;
  paths?: Path[];
  select: Select;
  segment?: { n: number; of: number };
}

function sourceOf(
  table: TableRecord,
  indexName: string | undefined,
  consistent?: boolean,
): ReadSource {
  if (indexName === undefined) return { table, key: table.key };
  const index = table.indexes.find((i) => i.name === indexName);
  if (!index) throw validation(`The table does not have the specified index: ${indexName}`);
  if (index.global && consistent) {
    throw validation('Consistent reads are not supported on global secondary indexes');
  }
  return { table, index, key: index.key };
}

/** The attributes an index holds: all, or the keys plus its NonKeyAttributes. */
function projectIndex(source: ReadSource, item: Item): Item {
  const index = source.index;
  if (!index || index.projection.ProjectionType === 'ALL' || !index.projection.ProjectionType) {
    return item;
  }
  const names = new Set([
    source.table.key.hash,
    ...(source.table.key.range ? [source.table.key.range] : []),
    index.key.hash,
    ...(index.key.range ? [index.key.range] : []),
    ...(index.projection.NonKeyAttributes ?? []),
  ]);
  const out: Item = {};
  for (const n of names) if (item[n]) out[n] = item[n];
  return out;
}

function selectOf(select: Select | undefined, source: ReadSource, hasProjection: boolean): Select {
  if (select === 'SPECIFIC_ATTRIBUTES' && !hasProjection) {
    throw validation(
      'One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires ProjectionExpression or AttributesToGet',
    );
  }
  if (select && select !== 'SPECIFIC_ATTRIBUTES' && hasProjection) {
    throw validation(
      `Cannot specify the AttributesToGet when choosing to get ${select}`.replace(
        'AttributesToGet',
        'ProjectionExpression or AttributesToGet',
      ),
    );
  }
  if (select === 'ALL_PROJECTED_ATTRIBUTES' && !source.index) {
    throw validation(
      'One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not supported when no IndexName is specified',
    );
  }
  if (
    select === 'ALL_ATTRIBUTES' &&
    source.index?.global &&
    source.index.projection.ProjectionType !== 'ALL'
  ) {
    throw validation(
      `One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index ${source.index.name} because its projection type is not ALL`,
    );
  }
  if (select) return select;
  if (hasProjection) return 'SPECIFIC_ATTRIBUTES';
  return source.index ? 'ALL_PROJECTED_ATTRIBUTES' : 'ALL_ATTRIBUTES';
}

/** The store key an ExclusiveStartKey resumes after. */
function startKeyOf(source: ReadSource, esk: Item): string {
  const invalid = () =>
    validation(
      'The provided starting key is invalid: The provided key element does not match the schema',
    );
  const checked = checkItem(esk);
  const names = new Set([
    source.table.key.hash,
    source.table.key.range,
    source.key.hash,
    source.key.range,
  ]);
  names.delete(undefined);
  if (Object.keys(checked).length !== names.size) throw invalid();
  for (const n of names) {
    const v = checked[n as string];
    if (!v || typeOf(v) !== attributeType(source.table, n as string)) throw invalid();
  }
  const tableKey = keySuffix(checked, source.table.key) as string;
  if (!source.index) return itemsPrefix(source.table) + tableKey;
  return (
    indexPrefix(source.table, source.index.name) +
    (keySuffix(checked, source.key) as string) +
    tableKey
  );
}

const fnv = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};

interface ReadResult {
  Items?: Item[];
  Count: number;
  ScannedCount: number;
  LastEvaluatedKey?: Item;
  bytes: number;
}

async function runRead(deps: DynamoDeps, req: ReadRequest): Promise<ReadResult> {
  const { store } = deps;
  const { source, range } = req;
  let after = range.after;
  let before = range.before;
  if (req.exclusiveStart) {
    const start = startKeyOf(source, req.exclusiveStart);
    if (req.forward) after = after === undefined || compareKeys(start, after) > 0 ? start : after;
    else before = before === undefined || compareKeys(start, before) < 0 ? start : before;
  }
  const table = source.table;
  const items: Item[] = [];
  let scanned = 0;
  let bytes = 0;
  let last: Item | undefined;
  for (;;) {
    const rows = await store.list<Item | string>(source.index ? INDEX : ITEMS, {
      prefix: range.prefix,
      after,
      before,
      reverse: !req.forward,
      limit: BATCH,
    });
    for (const row of rows) {
      if (req.forward) after = row.key;
      else before = row.key;
      const full =
        typeof row.value === 'string'
          ? await store.get<Item>(ITEMS, itemsPrefix(table) + row.value)
          : row.value;
      if (!full) continue;
      if (req.segment) {
        const h = encodeKeyValue(full[table.key.hash]);
        if (fnv(h) % req.segment.of !== req.segment.n) continue;
      }
      const item = projectIndex(source, full);
      scanned++;
      bytes += itemSize(item);
      last = item;
      if (!req.filter || evaluate(item, req.filter)) {
        if (req.select !== 'COUNT') items.push(req.paths ? project(item, req.paths) : item);
        else items.push({});
      }
      if ((req.limit !== undefined && scanned >= req.limit) || bytes >= PAGE_BYTES) {
        return finish(true);
      }
    }
    if (rows.length < BATCH) return finish(false);
  }

  function finish(more: boolean): ReadResult {
    const out: ReadResult = {
      Count: items.length,
      ScannedCount: scanned,
      bytes,
      Items: req.select === 'COUNT' ? undefined : items,
    };
    if (more && last) {
      out.LastEvaluatedKey = { ...keyOf(last, table.key), ...keyOf(last, source.key) };
    }
    return out;
  }
}

/** Top-level attribute names a condition reads (for the key-attribute filter check). */
function conditionNames(c: Condition, out: Set<string>): Set<string> {
  const op = (o: Operand | undefined): void => {
    if (!o) return;
    if (o.k === 'path' || o.k === 'size') out.add(o.path[0] as string);
  };
  switch (c.k) {
    case 'and':
    case 'or':
      conditionNames(c.l, out);
      conditionNames(c.r, out);
      break;
    case 'not':
      conditionNames(c.c, out);
      break;
    case 'cmp':
      op(c.a);
      op(c.b);
      break;
    case 'between':
      op(c.a);
      op(c.lo);
      op(c.hi);
      break;
    case 'in':
      op(c.a);
      c.list.forEach(op);
      break;
    case 'fn':
      out.add(c.path[0] as string);
      op(c.arg);
      break;
  }
  return out;
}

/** The store range a key condition selects. */
function keyRange(source: ReadSource, cond: Condition): KeyRange {
  const parts: Condition[] = [];
  const flatten = (c: Condition): void => {
    if (c.k === 'and') {
      flatten(c.l);
      flatten(c.r);
    } else if (c.k === 'or' || c.k === 'not') {
      throw validation(`Invalid operator used in KeyConditionExpression: ${c.k.toUpperCase()}`);
    } else parts.push(c);
  };
  flatten(cond);
  if (parts.length > 2) throw validation('Conditions can be of length 1 or 2 only');
  const key = source.key;
  let hash: AttributeValue | undefined;
  let sort:
    { op: Parameters<typeof sortKeyRange>[1]; a: AttributeValue; b?: AttributeValue } | undefined;
  const unsupported = () => validation('Query key condition not supported');
  const attrOf = (o: Operand): string | undefined =>
    o.k === 'path' && o.path.length === 1 ? (o.path[0] as string) : undefined;
  const valueOf = (o: Operand): AttributeValue => {
    if (o.k !== 'value') throw unsupported();
    return o.value;
  };
  for (const c of parts) {
    let attr: string | undefined;
    if (c.k === 'cmp') {
      attr = attrOf(c.a);
      let op = c.op;
      let value: AttributeValue;
      if (attr === undefined) {
        attr = attrOf(c.b);
        value = valueOf(c.a);
        op =
          ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, typeof op>)[op] ?? op;
      } else value = valueOf(c.b);
      if (op === '<>') throw unsupported();
      if (attr === key.hash && op === '=' && !hash) hash = value;
      else if (attr === key.range && !sort) sort = { op, a: value };
      else throw unsupported();
    } else if (c.k === 'between') {
      attr = attrOf(c.a);
      if (attr !== key.range || sort) throw unsupported();
      sort = { op: 'between', a: valueOf(c.lo), b: valueOf(c.hi) };
    } else if (c.k === 'fn' && c.name === 'begins_with') {
      attr = c.path.length === 1 ? (c.path[0] as string) : undefined;
      if (attr !== key.range || sort || !c.arg) throw unsupported();
      sort = { op: 'begins_with', a: valueOf(c.arg) };
      if (sort.a.N !== undefined || attributeType(source.table, key.range as string) === 'N') {
        throw validation(
          'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N',
        );
      }
    } else throw unsupported();
  }
  if (!hash) throw validation(`Query condition missed key schema element: ${key.hash}`);
  const mismatch = () => invalidParameter('Condition parameter type does not match schema type');
  if (typeOf(hash) !== attributeType(source.table, key.hash)) throw mismatch();
  const base = source.index
    ? indexPrefix(source.table, source.index.name)
    : itemsPrefix(source.table);
  const partition = `${base}${encodeKeyValue(hash)}/`;
  if (!sort) return { prefix: partition };
  const want = attributeType(source.table, key.range as string);
  if (typeOf(sort.a) !== want || (sort.b && typeOf(sort.b) !== want)) throw mismatch();
  if (sort.op === 'between' && sort.b) {
    const lo = encodeKeyValue(sort.a);
    const hi = encodeKeyValue(sort.b);
    if (compareKeys(lo, hi) > 0) {
      throw validation(
        'Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound',
      );
    }
  }
  return sortKeyRange(partition, sort.op, encodeKeyValue(sort.a), sort.b && encodeKeyValue(sort.b));
}

function projectionOf(
  input: { ProjectionExpression?: string; AttributesToGet?: string[] },
  scope: ExpressionScope,
): Path[] | undefined {
  noMixing(
    { AttributesToGet: input.AttributesToGet },
    { ProjectionExpression: input.ProjectionExpression },
  );
  if (input.ProjectionExpression !== undefined)
    return parseProjection(input.ProjectionExpression, scope);
  return input.AttributesToGet?.map((a) => [a]);
}

function output(
  source: ReadSource,
  r: ReadResult,
  mode: Parameters<typeof capacity>[1],
  consistent?: boolean,
) {
  return {
    Items: r.Items,
    Count: r.Count,
    ScannedCount: r.ScannedCount,
    LastEvaluatedKey: r.LastEvaluatedKey,
    ConsumedCapacity: capacity(source.table, mode, readUnits(r.bytes, consistent), 'read'),
  };
}

export function readOperations(deps: DynamoDeps): ReadOps {
  const { store } = deps;

  async function table(ctx: RequestContext, name: string) {
    return findTable(store, ctx, name);
  }

  return {
    async Query(input, ctx) {
      const source = sourceOf(
        await table(ctx, input.TableName),
        input.IndexName,
        input.ConsistentRead,
      );
      noMixing(
        { KeyConditions: input.KeyConditions, QueryFilter: input.QueryFilter },
        {
          KeyConditionExpression: input.KeyConditionExpression,
          FilterExpression: input.FilterExpression,
        },
      );
      const scope = new ExpressionScope(
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      );
      const keyCondition =
        input.KeyConditionExpression !== undefined
          ? parseCondition(input.KeyConditionExpression, 'KeyConditionExpression', scope)
          : legacyFilter(input.KeyConditions, 'AND');
      if (!keyCondition) {
        throw validation(
          'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
        );
      }
      const filter =
        input.FilterExpression !== undefined
          ? parseCondition(input.FilterExpression, 'FilterExpression', scope)
          : legacyFilter(input.QueryFilter, input.ConditionalOperator);
      const paths = projectionOf(input, scope);
      scope.checkAllUsed(
        input.KeyConditionExpression !== undefined ||
          input.FilterExpression !== undefined ||
          input.ProjectionExpression !== undefined,
      );
      if (filter) {
        for (const name of conditionNames(filter, new Set())) {
          if (name === source.key.hash || name === source.key.range) {
            throw validation(
              `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${name}`,
            );
          }
        }
      }
      const r = await runRead(deps, {
        source,
        range: keyRange(source, keyCondition),
        forward: input.ScanIndexForward !== false,
        exclusiveStart: input.ExclusiveStartKey,
        limit: input.Limit,
        filter,
        paths,
        select: selectOf(input.Select, source, !!paths),
      });
      return output(source, r, input.ReturnConsumedCapacity, input.ConsistentRead);
    },

    async Scan(input, ctx) {
      const source = sourceOf(
        await table(ctx, input.TableName),
        input.IndexName,
        input.ConsistentRead,
      );
      noMixing({ ScanFilter: input.ScanFilter }, { FilterExpression: input.FilterExpression });
      const { Segment, TotalSegments } = input;
      if (Segment !== undefined && TotalSegments === undefined) {
        throw validation(
          'The TotalSegments parameter is required but was not present in the request when Segment parameter is present',
        );
      }
      if (TotalSegments !== undefined && Segment === undefined) {
        throw validation(
          'The Segment parameter is required but was not present in the request when parameter TotalSegments is present',
        );
      }
      if (Segment !== undefined && TotalSegments !== undefined && Segment >= TotalSegments) {
        throw validation(
          `The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: ${Segment} is not less than TotalSegments: ${TotalSegments}`,
        );
      }
      const scope = new ExpressionScope(
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      );
      const filter =
        input.FilterExpression !== undefined
          ? parseCondition(input.FilterExpression, 'FilterExpression', scope)
          : legacyFilter(input.ScanFilter, input.ConditionalOperator);
      const paths = projectionOf(input, scope);
      scope.checkAllUsed(
        input.FilterExpression !== undefined || input.ProjectionExpression !== undefined,
      );
      const prefix = source.index
        ? indexPrefix(source.table, source.index.name)
        : itemsPrefix(source.table);
      const r = await runRead(deps, {
        source,
        range: { prefix },
        forward: true,
        exclusiveStart: input.ExclusiveStartKey,
        limit: input.Limit,
        filter,
        paths,
        select: selectOf(input.Select, source, !!paths),
        segment:
          Segment !== undefined && TotalSegments !== undefined
            ? { n: Segment, of: TotalSegments }
            : undefined,
      });
      return output(source, r, input.ReturnConsumedCapacity, input.ConsistentRead);
    },
  };
}
