/**
 * Single items: PutItem, GetItem, UpdateItem and DeleteItem. Each write is a plan (the
 * key, its condition, how the new item follows from the old) that one store transaction
 * carries out; BatchWriteItem and TransactWriteItems run the same plans.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
 */
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import type { ConsumedCapacity, ReturnConsumedCapacity } from '../../api/dynamodb/types.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  checkKey,
  checkWritableItem,
  type DynamoDeps,
  findTable,
  notifyWrite,
  keyOf,
  readItem,
  writeItem,
} from './common.js';
import { conditionFailed, invalidParameter, tableNotFound, validation } from './errors.js';
import { applyUpdate, evaluate, project, updatedPaths } from './evaluate.js';
import {
  type Condition,
  ExpressionScope,
  parseCondition,
  parseProjection,
  parseUpdate,
  type Path,
  type UpdateActions,
} from './expressions.js';
import { legacyExpected, legacyUpdates, noMixing } from './legacy.js';
import { TABLES, type TableRecord, tableKey } from './store.js';
import { checkItem, type Item, itemSize } from './values.js';

type ItemOps = Pick<DynamodbOperations, 'PutItem' | 'GetItem' | 'UpdateItem' | 'DeleteItem'>;

/** One write: where, under which condition, and what the item becomes. */
export interface WritePlan {
  table: TableRecord;
  key: Item;
  condition?: Condition;
  /** The new item from the old one; undefined deletes (or, for a check, leaves it). */
  apply?: (old: Item | undefined) => Item | undefined;
  /** ReturnValuesOnConditionCheckFailure: ALL_OLD. */
  returnOldOnFailure: boolean;
}

export interface WriteResult {
  old?: Item;
  next?: Item;
}

/** Carries out one plan in the caller's transaction; throws conditionFailed when refused. */
export async function runPlan(tx: MetadataOps, plan: WritePlan): Promise<WriteResult> {
  // The table was looked up before the transaction: it may have been deleted since (an
  // item written now would be an orphan) or have gained an index or a stream.
  const table = await tx.get<TableRecord>(TABLES, tableKey(plan.table, plan.table.name));
  if (table?.id !== plan.table.id) throw tableNotFound();
  const old = await readItem(tx, table, plan.key);
  if (plan.condition && !evaluate(old ?? {}, plan.condition)) {
    throw conditionFailed(plan.returnOldOnFailure ? old : undefined);
  }
  if (!plan.apply) return { old, next: old };
  const next = plan.apply(old);
  if (!old && !next) return {};
  await writeItem(tx, table, old, next);
  return { old, next };
}

interface ConditionParams {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE';
  Expected?: Parameters<typeof legacyExpected>[0];
  ConditionalOperator?: 'AND' | 'OR';
}

function conditionOf(p: ConditionParams, scope: ExpressionScope): Condition | undefined {
  noMixing({ Expected: p.Expected }, { ConditionExpression: p.ConditionExpression });
  if (p.ConditionExpression !== undefined) {
    return parseCondition(p.ConditionExpression, 'ConditionExpression', scope);
  }
  return legacyExpected(p.Expected, p.ConditionalOperator);
}

export function planPut(table: TableRecord, p: ConditionParams & { Item: Item }): WritePlan {
  const scope = new ExpressionScope(p.ExpressionAttributeNames, p.ExpressionAttributeValues);
  const condition = conditionOf(p, scope);
  scope.checkAllUsed(p.ConditionExpression !== undefined);
  const item = checkWritableItem(table, checkItem(p.Item));
  return {
    table,
    key: keyOf(item, table.key),
    condition,
    apply: () => item,
    returnOldOnFailure: p.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  };
}

export function planDelete(table: TableRecord, p: ConditionParams & { Key: Item }): WritePlan {
  const scope = new ExpressionScope(p.ExpressionAttributeNames, p.ExpressionAttributeValues);
  const condition = conditionOf(p, scope);
  scope.checkAllUsed(p.ConditionExpression !== undefined);
  return {
    table,
    key: checkKey(table, p.Key),
    condition,
    apply: () => undefined,
    returnOldOnFailure: p.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  };
}

export function planCheck(
  table: TableRecord,
  p: ConditionParams & { Key: Item; ConditionExpression: string },
): WritePlan {
  const scope = new ExpressionScope(p.ExpressionAttributeNames, p.ExpressionAttributeValues);
  const condition = conditionOf(p, scope);
  scope.checkAllUsed(true);
  return {
    table,
    key: checkKey(table, p.Key),
    condition,
    returnOldOnFailure: p.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  };
}

export function planUpdate(
  table: TableRecord,
  p: ConditionParams & {
    Key: Item;
    UpdateExpression?: string;
    AttributeUpdates?: Parameters<typeof legacyUpdates>[0];
  },
): { plan: WritePlan; paths: Path[] } {
  noMixing(
    { AttributeUpdates: p.AttributeUpdates, Expected: p.Expected },
    { UpdateExpression: p.UpdateExpression, ConditionExpression: p.ConditionExpression },
  );
  const scope = new ExpressionScope(p.ExpressionAttributeNames, p.ExpressionAttributeValues);
  const actions: UpdateActions | undefined =
    p.UpdateExpression !== undefined
      ? parseUpdate(p.UpdateExpression, scope)
      : p.AttributeUpdates && legacyUpdates(p.AttributeUpdates);
  const condition = conditionOf(p, scope);
  scope.checkAllUsed(p.UpdateExpression !== undefined || p.ConditionExpression !== undefined);
  const key = checkKey(table, p.Key);
  const paths = actions ? updatedPaths(actions) : [];
  for (const path of paths) {
    const top = path[0] as string;
    if (top === table.key.hash || top === table.key.range) {
      throw invalidParameter(`Cannot update attribute ${top}. This attribute is part of the key`);
    }
  }
  return {
    plan: {
      table,
      key,
      condition,
      apply: (old) => {
        const base = old ?? { ...key };
        const next = actions ? applyUpdate(base, actions) : base;
        return checkWritableItem(table, next);
      },
      returnOldOnFailure: p.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
    },
    paths,
  };
}

/** ConsumedCapacity as AWS computes it: writes by 1 KB, reads by 4 KB (halved unless strong). */
export function capacity(
  table: TableRecord,
  mode: ReturnConsumedCapacity | undefined,
  units: number,
  kind: 'read' | 'write',
): ConsumedCapacity | undefined {
  if (!mode || mode === 'NONE') return undefined;
  const out: ConsumedCapacity = { TableName: table.name, CapacityUnits: units };
  if (kind === 'read') out.ReadCapacityUnits = units;
  else out.WriteCapacityUnits = units;
  if (mode === 'INDEXES') out.Table = { CapacityUnits: units };
  return out;
}

export const writeUnits = (item: Item | undefined): number =>
  Math.max(1, Math.ceil((item ? itemSize(item) : 0) / 1024));
export const readUnits = (bytes: number, consistent: boolean | undefined): number =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

export function itemOperations(deps: DynamoDeps): ItemOps {
  const { store } = deps;
  const notify = (table: TableRecord, r: WriteResult) => notifyWrite(deps, table, r);

  return {
    async PutItem(input, ctx) {
      if (input.ReturnValues && !['NONE', 'ALL_OLD'].includes(input.ReturnValues)) {
        throw validation('ReturnValues can only be ALL_OLD or NONE');
      }
      const table = await findTable(store, ctx, input.TableName);
      const plan = planPut(table, input);
      const r = await store.transaction((tx) => runPlan(tx, plan));
      notify(table, r);
      return {
        Attributes: input.ReturnValues === 'ALL_OLD' ? r.old : undefined,
        ConsumedCapacity: capacity(
          table,
          input.ReturnConsumedCapacity,
          writeUnits(r.next),
          'write',
        ),
      };
    },

    async GetItem(input, ctx) {
      const table = await findTable(store, ctx, input.TableName);
      noMixing(
        { AttributesToGet: input.AttributesToGet },
        { ProjectionExpression: input.ProjectionExpression },
      );
      const scope = new ExpressionScope(input.ExpressionAttributeNames, undefined);
      const paths =
        input.ProjectionExpression !== undefined
          ? parseProjection(input.ProjectionExpression, scope)
          : input.AttributesToGet?.map((a) => [a]);
      scope.checkAllUsed(input.ProjectionExpression !== undefined);
      const key = checkKey(table, input.Key);
      const item = await readItem(store, table, key);
      return {
        Item: item && paths ? project(item, paths) : item,
        ConsumedCapacity: capacity(
          table,
          input.ReturnConsumedCapacity,
          readUnits(item ? itemSize(item) : 0, input.ConsistentRead),
          'read',
        ),
      };
    },

    async UpdateItem(input, ctx) {
      const table = await findTable(store, ctx, input.TableName);
      const { plan, paths } = planUpdate(table, input);
      const r = await store.transaction((tx) => runPlan(tx, plan));
      notify(table, r);
      let Attributes: Item | undefined;
      switch (input.ReturnValues) {
        case 'ALL_OLD':
          Attributes = r.old;
          break;
        case 'ALL_NEW':
          Attributes = r.next;
          break;
        case 'UPDATED_OLD':
          Attributes = r.old && project(r.old, paths);
          break;
        case 'UPDATED_NEW':
          Attributes = r.next && project(r.next, paths);
          break;
      }
      return {
        Attributes,
        ConsumedCapacity: capacity(
          table,
          input.ReturnConsumedCapacity,
          writeUnits(r.next),
          'write',
        ),
      };
    },

    async DeleteItem(input, ctx) {
      if (input.ReturnValues && !['NONE', 'ALL_OLD'].includes(input.ReturnValues)) {
        throw validation('ReturnValues can only be ALL_OLD or NONE');
      }
      const table = await findTable(store, ctx, input.TableName);
      const plan = planDelete(table, input);
      const r = await store.transaction((tx) => runPlan(tx, plan));
      notify(table, r);
      return {
        Attributes: input.ReturnValues === 'ALL_OLD' ? r.old : undefined,
        ConsumedCapacity: capacity(table, input.ReturnConsumedCapacity, writeUnits(r.old), 'write'),
      };
    },
  };
}
