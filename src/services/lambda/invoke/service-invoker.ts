/**
 * The `functionInvoke` link: how another service (an ALB with a Lambda target group)
 * invokes a function synchronously, as AWS services do with their own permission. The
 * same runner as Invoke: state check, concurrency, execution role, usage rows.
 */
import { randomUUID } from 'node:crypto';
import { rootPrincipal } from '../../../shared/arn.js';
import type { LambdaFunctions } from '../functions-api.js';
import type { InvocationRunner } from './runner.js';
import type { DurableEngine } from '../durable/engine.js';

export interface FunctionInvoker {
  /**
   * Invokes `functionName` (name or ARN, with a qualifier in it or not) in the account and
   * region with `payload`. `ok` is false when the function failed (its error JSON is the
   * payload); Lambda's errors (not found, throttled) are thrown.
   */
  invoke(
    account: string,
    region: string,
    functionName: string,
    payload: Buffer,
  ): Promise<{ ok: boolean; payload: Buffer }>;
  /**
   * Calls `listener` after every committed change of a function (its policy included), so
   * a caller may cache what it learnt from one; returns the unsubscribe function.
   */
  onChange?(listener: () => void): () => void;
}

export function serviceInvoker(
  functions: LambdaFunctions,
  runner: InvocationRunner,
  durable?: DurableEngine,
): FunctionInvoker {
  return {
    async invoke(account, region, functionName, payload) {
      const fn = await functions.resolve(
        { account, region, principal: rootPrincipal(account) },
        functionName,
      );
      // A durable function's invocation is a whole durable execution.
      if (fn.version.durable && durable) {
        const done = await durable.invokeSync(fn, undefined, payload.toString('utf8'));
        return { ok: done.ok, payload: done.payload };
      }
      const outcome = await runner.run(fn, {
        requestId: randomUUID(),
        payload,
        tailLogs: false,
        source: 'RequestResponse',
      });
      return { ok: outcome.kind === 'success', payload: outcome.payload };
    },
    onChange: (listener) => functions.onChange(() => listener()),
  };
}
