/**
 * Reserved concurrency and the account's settings, per region as AWS keeps them.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
 * "Lambda requires at least 100 unreserved concurrency in your account": reservations may
 * not take the unreserved pool below that.
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  Concurrency,
  DeleteFunctionConcurrencyRequest,
  GetAccountSettingsResponse,
  GetFunctionConcurrencyRequest,
  GetFunctionConcurrencyResponse,
  PutFunctionConcurrencyRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import type { Scope } from './arns.js';
import { locate, requireFunction, scopeOf, type LambdaDeps } from './common.js';
import { invalidParameter } from './errors.js';
import {
  T,
  scopePrefix,
  type FunctionRecord,
  type LayerVersionRecord,
  type VersionRecord,
} from './store.js';
import { MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES } from './zip.js';

export const MIN_UNRESERVED = 100;
/** 75 GB of code per region. */
export const TOTAL_CODE_SIZE = 80_530_636_800;

type ConcurrencyOps = Pick<
  LambdaOperations,
  | 'PutFunctionConcurrency'
  | 'GetFunctionConcurrency'
  | 'DeleteFunctionConcurrency'
  | 'GetAccountSettings'
>;

/** Sum of the reservations in the region, leaving out the function keyed `except`. */
async function reservedTotal(ops: MetadataOps, scope: Scope, except?: string): Promise<number> {
  let total = 0;
  for (const { key, value } of await ops.list<FunctionRecord>(T.functions, {
    prefix: scopePrefix(scope),
  })) {
    if (key !== except && value.reservedConcurrency !== undefined)
      total += value.reservedConcurrency;
  }
  return total;
}

export function concurrencyOperations(deps: LambdaDeps): ConcurrencyOps {
  const { store, lifecycle } = deps;
  const limit = deps.concurrencyLimit;
  const where = (ctx: RequestContext, functionName: string, action: string) =>
    locate(ctx, functionName, undefined, { action, allowQualifier: false });

  return {
    async PutFunctionConcurrency(
      input: PutFunctionConcurrencyRequest,
      ctx: RequestContext,
    ): Promise<Concurrency> {
      const at = where(ctx, input.FunctionName, 'PutFunctionConcurrency');
      const wanted = input.ReservedConcurrentExecutions;
      await store.transaction(async (tx) => {
        const fn = await requireFunction(tx, at);
        const others = await reservedTotal(tx, at.scope, at.key);
        if (limit - others - wanted < MIN_UNRESERVED) {
          throw invalidParameter(
            `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${MIN_UNRESERVED}].`,
          );
        }
        fn.reservedConcurrency = wanted;
        await tx.put(T.functions, at.key, fn);
      });
      lifecycle.changed('updated', at.scope, at.name);
      return { ReservedConcurrentExecutions: wanted };
    },

    async GetFunctionConcurrency(
      input: GetFunctionConcurrencyRequest,
      ctx: RequestContext,
    ): Promise<GetFunctionConcurrencyResponse> {
      const at = where(ctx, input.FunctionName, 'GetFunctionConcurrency');
      const fn = await requireFunction(store, at);
      return fn.reservedConcurrency === undefined
        ? {}
        : { ReservedConcurrentExecutions: fn.reservedConcurrency };
    },

    async DeleteFunctionConcurrency(
      input: DeleteFunctionConcurrencyRequest,
      ctx: RequestContext,
    ): Promise<void> {
      const at = where(ctx, input.FunctionName, 'DeleteFunctionConcurrency');
      await store.transaction(async (tx) => {
        const fn = await requireFunction(tx, at);
        if (fn.reservedConcurrency === undefined) return;
        delete fn.reservedConcurrency;
        await tx.put(T.functions, at.key, fn);
      });
      lifecycle.changed('updated', at.scope, at.name);
    },

    async GetAccountSettings(
      _input: unknown,
      ctx: RequestContext,
    ): Promise<GetAccountSettingsResponse> {
      const scope = scopeOf(ctx);
      const prefix = scopePrefix(scope);
      const functions = await store.list<FunctionRecord>(T.functions, { prefix });
      let reserved = 0;
      for (const { value } of functions) reserved += value.reservedConcurrency ?? 0;
      // Every version counts its package (as AWS's TotalCodeSize), and every layer version.
      let codeSize = 0;
      for (const { value } of await store.list<VersionRecord>(T.versions, { prefix }))
        codeSize += value.code?.size ?? 0;
      for (const { value } of await store.list<LayerVersionRecord>(T.layerVersions, { prefix })) {
        codeSize += value.code.size;
      }
      return {
        AccountLimit: {
          TotalCodeSize: TOTAL_CODE_SIZE,
          CodeSizeUnzipped: MAX_UNZIPPED_BYTES,
          CodeSizeZipped: MAX_ZIPPED_BYTES,
          ConcurrentExecutions: limit,
          UnreservedConcurrentExecutions: limit - reserved,
        },
        AccountUsage: { TotalCodeSize: codeSize, FunctionCount: functions.length },
      };
    },
  };
}
