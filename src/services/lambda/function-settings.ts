/**
 * Per-function settings kept on the function row: recursive loop detection and runtime
 * management.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html
 * Stratus runs each runtime on the interpreter it has, so the runtime version is not
 * pinned; the mode is stored and returned as set (`Manual` keeps the ARN given).
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import { LATEST, isVersionNumber, qualifiedArn } from './arns.js';
import { locate, requireFunction, type LambdaDeps } from './common.js';
import { functionNotFound, invalidParameter } from './errors.js';
import { T, versionKey, type FunctionRecord } from './store.js';

type SettingsOps = Pick<
  LambdaOperations,
  | 'PutFunctionRecursionConfig'
  | 'GetFunctionRecursionConfig'
  | 'PutRuntimeManagementConfig'
  | 'GetRuntimeManagementConfig'
>;

export function functionSettingsOperations(deps: LambdaDeps): SettingsOps {
  const { store } = deps;

  return {
    async PutFunctionRecursionConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'PutFunctionRecursionConfig',
        allowQualifier: false,
      });
      await store.transaction(async (tx) => {
        const fn = await requireFunction(tx, at);
        fn.recursiveLoop = input.RecursiveLoop;
        await tx.put(T.functions, at.key, fn);
      });
      return { RecursiveLoop: input.RecursiveLoop };
    },

    async GetFunctionRecursionConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'GetFunctionRecursionConfig',
        allowQualifier: false,
      });
      const fn = await requireFunction(store, at);
      return { RecursiveLoop: fn.recursiveLoop ?? 'Terminate' };
    },

    async PutRuntimeManagementConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'PutRuntimeManagementConfig',
      });
      const q = at.qualifier ?? LATEST;
      if (q !== LATEST && !isVersionNumber(q)) {
        throw invalidParameter('Runtime management configuration is not supported for aliases.');
      }
      if (input.UpdateRuntimeOn === 'Manual' && !input.RuntimeVersionArn) {
        throw invalidParameter(
          'RuntimeVersionArn must be provided when UpdateRuntimeOn is Manual.',
        );
      }
      if (input.UpdateRuntimeOn !== 'Manual' && input.RuntimeVersionArn) {
        throw invalidParameter(
          'RuntimeVersionArn can only be provided when UpdateRuntimeOn is Manual.',
        );
      }
      await store.transaction(async (tx) => {
        const fn: FunctionRecord = await requireFunction(tx, at, at.qualifier);
        if (!(await tx.get(T.versions, versionKey(at.key, q)))) {
          throw functionNotFound(qualifiedArn(at.scope, at.name, q));
        }
        fn.runtimeManagement ??= {};
        fn.runtimeManagement[q] = { updateRuntimeOn: input.UpdateRuntimeOn };
        if (input.RuntimeVersionArn)
          fn.runtimeManagement[q].runtimeVersionArn = input.RuntimeVersionArn;
        await tx.put(T.functions, at.key, fn);
      });
      const out = {
        UpdateRuntimeOn: input.UpdateRuntimeOn,
        FunctionArn: qualifiedArn(at.scope, at.name, q),
      };
      return input.RuntimeVersionArn ? { ...out, RuntimeVersionArn: input.RuntimeVersionArn } : out;
    },

    async GetRuntimeManagementConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'GetRuntimeManagementConfig',
      });
      const q = at.qualifier ?? LATEST;
      const fn = await requireFunction(store, at, at.qualifier);
      if (!(await store.get(T.versions, versionKey(at.key, q)))) {
        throw functionNotFound(qualifiedArn(at.scope, at.name, q));
      }
      const rec = fn.runtimeManagement?.[q];
      const out = {
        UpdateRuntimeOn: rec?.updateRuntimeOn ?? 'Auto',
        FunctionArn: qualifiedArn(at.scope, at.name, q),
      };
      return rec?.runtimeVersionArn ? { ...out, RuntimeVersionArn: rec.runtimeVersionArn } : out;
    },
  };
}
