/**
 * Several items at once: BatchGetItem and BatchWriteItem (each write on its own, all of
 * them processed: UnprocessedItems stays empty), TransactGetItems and TransactWriteItems
 * (all or nothing in one store transaction, with AWS's cancellation reasons).
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 */
import { createHash } from 'node:crypto';
import {
  IdempotentParameterMismatchException,
  TransactionCanceledException,
} from '../../api/dynamodb/errors.js';
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import type { CancellationReason, ConsumedCapacity } from '../../api/dynamodb/types.js';
import { AwsError } from '../../shared/errors.js';
import {
  checkKey,
  type DynamoDeps,
  findTable,
  itemStoreKey,
  notifyWrite,
  readItem,
} from './common.js';
import { validation } from './errors.js';
import { evaluate, project } from './evaluate.js';
import { ExpressionScope, parseProjection } from './expressions.js';
import {
  capacity,
  planCheck,
  planDelete,
  planPut,
  planUpdate,
  readUnits,
  runPlan,
  type WritePlan,
  type WriteResult,
  writeUnits,
} from './items.js';
import { TX_TOKENS, type TableRecord } from './store.js';
import { type Item, itemSize } from './values.js';

type BatchOps = Pick<
  DynamodbOperations,
  'BatchGetItem' | 'BatchWriteItem' | 'TransactGetItems' | 'TransactWriteItems'
>;

/** "ClientRequestToken is valid for 10 minutes after the first request that uses it." */
const TOKEN_TTL_MS = 10 * 60 * 1000;

function duplicates(): AwsError {
  return validation('Provided list of item keys contains duplicates');
}

export function batchOperations(deps: DynamoDeps): BatchOps {
  const { store } = deps;

  function total(
    units: Map<TableRecord, number>,
    mode: Parameters<typeof capacity>[1],
    kind: 'read' | 'write',
  ) {
    const out: ConsumedCapacity[] = [];
    for (const [table, n] of units) {
      const c = capacity(table, mode, n, kind);
      if (c) out.push(c);
    }
    return out.length ? out : undefined;
  }

  return {
    async BatchGetItem(input, ctx) {
      const tables = Object.entries(input.RequestItems);
      if (tables.length === 0) {
        throw validation(
          "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      const count = tables.reduce((n, [, r]) => n + r.Keys.length, 0);
      if (count > 100) {
        throw validation('Too many items requested for the BatchGetItem call');
      }
      const Responses: Record<string, Item[]> = {};
      const units = new Map<TableRecord, number>();
      for (const [name, req] of tables) {
        const table = await findTable(store, ctx, name);
        const scope = new ExpressionScope(req.ExpressionAttributeNames, undefined);
        const paths =
          req.ProjectionExpression !== undefined
            ? parseProjection(req.ProjectionExpression, scope)
            : req.AttributesToGet?.map((a) => [a]);
        scope.checkAllUsed(req.ProjectionExpression !== undefined);
        const seen = new Set<string>();
        const out: Item[] = [];
        let bytes = 0;
        for (const k of req.Keys) {
          const key = checkKey(table, k);
          const sk = itemStoreKey(table, key);
          if (seen.has(sk)) throw duplicates();
          seen.add(sk);
          const item = await readItem(store, table, key);
          if (!item) continue;
          bytes += itemSize(item);
          out.push(paths ? project(item, paths) : item);
        }
        Responses[name] = out;
        units.set(table, readUnits(bytes, req.ConsistentRead));
      }
      return {
        Responses,
        UnprocessedKeys: {},
        ConsumedCapacity: total(units, input.ReturnConsumedCapacity, 'read'),
      };
    },

    async BatchWriteItem(input, ctx) {
      const entries = Object.entries(input.RequestItems);
      const count = entries.reduce((n, [, r]) => n + r.length, 0);
      if (count > 25) {
        throw validation(
          "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
        );
      }
      const plans: WritePlan[] = [];
      const seen = new Set<string>();
      for (const [name, requests] of entries) {
        const table = await findTable(store, ctx, name);
        for (const r of requests) {
          if (!!r.PutRequest === !!r.DeleteRequest) {
            throw validation(
              'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
            );
          }
          const plan = r.PutRequest
            ? planPut(table, { Item: r.PutRequest.Item })
            : planDelete(table, { Key: r.DeleteRequest?.Key as Item });
          const sk = itemStoreKey(table, plan.key);
          if (seen.has(sk)) throw duplicates();
          seen.add(sk);
          plans.push(plan);
        }
      }
      const results = await store.transaction(async (tx) => {
        const out: WriteResult[] = [];
        for (const plan of plans) out.push(await runPlan(tx, plan));
        return out;
      });
      const units = new Map<TableRecord, number>();
      results.forEach((r, i) => {
        notifyWrite(deps, plans[i].table, r);
        units.set(plans[i].table, (units.get(plans[i].table) ?? 0) + writeUnits(r.next ?? r.old));
      });
      return {
        UnprocessedItems: {},
        ConsumedCapacity: total(units, input.ReturnConsumedCapacity, 'write'),
      };
    },

    async TransactGetItems(input, ctx) {
      const gets: { table: TableRecord; key: Item; paths?: ReturnType<typeof parseProjection> }[] =
        [];
      for (const { Get: g } of input.TransactItems) {
        const table = await findTable(store, ctx, g.TableName);
        const scope = new ExpressionScope(g.ExpressionAttributeNames, undefined);
        const paths =
          g.ProjectionExpression !== undefined
            ? parseProjection(g.ProjectionExpression, scope)
            : undefined;
        scope.checkAllUsed(g.ProjectionExpression !== undefined);
        gets.push({ table, key: checkKey(table, g.Key), paths });
      }
      checkDistinct(gets);
      const items = await store.transaction(async (tx) => {
        const out: (Item | undefined)[] = [];
        for (const g of gets) out.push(await readItem(tx, g.table, g.key));
        return out;
      });
      const units = new Map<TableRecord, number>();
      gets.forEach((g, i) => {
        const item = items[i];
        units.set(
          g.table,
          (units.get(g.table) ?? 0) + 2 * readUnits(item ? itemSize(item) : 0, true),
        );
      });
      return {
        Responses: gets.map((g, i) => {
          const item = items[i];
          return item ? { Item: g.paths ? project(item, g.paths) : item } : {};
        }),
        ConsumedCapacity: total(units, input.ReturnConsumedCapacity, 'read'),
      };
    },

    async TransactWriteItems(input, ctx) {
      const plans: WritePlan[] = [];
      for (const t of input.TransactItems) {
        const set = [t.Put, t.Delete, t.Update, t.ConditionCheck].filter((x) => x !== undefined);
        if (set.length !== 1) {
          throw validation('TransactItems can only contain one of Check, Put, Update or Delete');
        }
        if (t.Put) plans.push(planPut(await findTable(store, ctx, t.Put.TableName), t.Put));
        else if (t.Delete) {
          plans.push(planDelete(await findTable(store, ctx, t.Delete.TableName), t.Delete));
        } else if (t.Update) {
          plans.push(planUpdate(await findTable(store, ctx, t.Update.TableName), t.Update).plan);
        } else if (t.ConditionCheck) {
          const c = t.ConditionCheck;
          plans.push(planCheck(await findTable(store, ctx, c.TableName), c));
        }
      }
      checkDistinct(plans);
      const token = input.ClientRequestToken;
      const digest = createHash('sha256').update(JSON.stringify(input.TransactItems)).digest('hex');
      const tokenKey = token && `${ctx.account}/${ctx.region}/${token}`;
      const results = await store.transaction(async (tx) => {
        if (tokenKey) {
          const prior = await tx.get<{ digest: string; at: number }>(TX_TOKENS, tokenKey);
          if (prior && deps.now() - prior.at < TOKEN_TTL_MS) {
            if (prior.digest !== digest) {
              throw new IdempotentParameterMismatchException(
                'The request uses the same client token as a previous, but non-identical request.',
              );
            }
            return [];
          }
        }
        // Every condition first, against the items as they are; then the writes.
        const reasons: CancellationReason[] = [];
        let failed = false;
        for (const plan of plans) {
          const old = await readItem(tx, plan.table, plan.key);
          const ok = !plan.condition || evaluate(old ?? {}, plan.condition);
          if (ok) reasons.push({ Code: 'None' });
          else {
            failed = true;
            reasons.push({
              Code: 'ConditionalCheckFailed',
              Message: 'The conditional request failed',
              ...(plan.returnOldOnFailure && old ? { Item: old } : {}),
            });
          }
        }
        if (failed) {
          throw new TransactionCanceledException(
            `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
            { CancellationReasons: reasons },
          );
        }
        const out: WriteResult[] = [];
        for (const plan of plans) out.push(await runPlan(tx, { ...plan, condition: undefined }));
        if (tokenKey) await tx.put(TX_TOKENS, tokenKey, { digest, at: deps.now() });
        return out;
      });
      const units = new Map<TableRecord, number>();
      results.forEach((r, i) => {
        notifyWrite(deps, plans[i].table, r);
        units.set(
          plans[i].table,
          (units.get(plans[i].table) ?? 0) + 2 * writeUnits(r.next ?? r.old),
        );
      });
      return { ConsumedCapacity: total(units, input.ReturnConsumedCapacity, 'write') };
    },
  };
}

function checkDistinct(targets: { table: TableRecord; key: Item }[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    const k = itemStoreKey(t.table, t.key);
    if (seen.has(k)) {
      throw validation('Transaction request cannot include multiple operations on one item');
    }
    seen.add(k);
  }
}
