/**
 * Invoke and InvokeAsync, the API operations. The codec binds the output: StatusCode is
 * the HTTP status (200 RequestResponse, 202 Event, 204 DryRun), FunctionError →
 * X-Amz-Function-Error, LogResult → X-Amz-Log-Result, ExecutedVersion →
 * X-Amz-Executed-Version, Payload → the body.
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
import type { LambdaOperations } from '../../../api/lambda/operations.js';
import type {
  InvocationRequest,
  InvocationResponse,
  InvokeAsyncRequest,
  InvokeAsyncResponse,
} from '../../../api/lambda/types.js';
import { readStreamingBlob } from '../../../shared/streaming-blob.js';
import type { RequestContext } from '../../../shared/context.js';
import type { LambdaFunctions } from '../functions-api.js';
import type { EventQueue } from './async-queue.js';
import {
  MAX_INVOKE_ASYNC_BYTES,
  checkAsyncSize,
  checkClientContext,
  checkSyncSize,
  eventPayload,
  toBuffer,
} from './payload.js';
import type { InvocationRunner } from './runner.js';
import type { DurableEngine } from '../durable/engine.js';
import type { InvocationTarget } from '../functions-api.js';

export type InvokeOperations = Pick<LambdaOperations, 'Invoke' | 'InvokeAsync'>;

export function invokeOperations(
  functions: LambdaFunctions,
  runner: InvocationRunner,
  queue: EventQueue,
  durable?: DurableEngine,
): InvokeOperations {
  /**
   * A durable function's invocation starts (or re-attaches to) a durable execution:
   * asynchronously it answers 202 at once, synchronously once the whole execution closed.
   * https://docs.aws.amazon.com/lambda/latest/dg/durable-invoking.html
   */
  async function invokeDurable(
    engine: DurableEngine,
    target: InvocationTarget,
    input: InvocationRequest,
    payload: Buffer,
  ): Promise<InvocationResponse> {
    const name = input.DurableExecutionName;
    if (input.InvocationType === 'Event') {
      const exec = await engine.start(target, name, payload.toString('utf8'));
      return { StatusCode: 202, DurableExecutionArn: exec.arn };
    }
    const done = await engine.invokeSync(target, name, payload.toString('utf8'));
    const out: InvocationResponse = {
      StatusCode: 200,
      ExecutedVersion: target.executedVersion,
      DurableExecutionArn: done.arn,
      Payload: done.payload,
    };
    if (!done.ok) out.FunctionError = 'Unhandled';
    return out;
  }

  return {
    async Invoke(input: InvocationRequest, ctx: RequestContext): Promise<InvocationResponse> {
      const type = input.InvocationType ?? 'RequestResponse';
      const raw = toBuffer(input.Payload);
      if (type === 'Event') checkAsyncSize(raw);
      else checkSyncSize(raw);
      const payload = eventPayload(raw);
      checkClientContext(input.ClientContext);
      const target = await functions.resolve(ctx, input.FunctionName, input.Qualifier);
      if (target.version.durable && durable && type !== 'DryRun') {
        return invokeDurable(durable, target, input, payload);
      }
      switch (type) {
        case 'DryRun':
          // "Validate parameter values and verify that the user or role has permission to
          // invoke the function."
          return { StatusCode: 204 };
        case 'Event':
          await queue.enqueue(target, input.FunctionName, input.Qualifier, ctx.requestId, payload);
          return { StatusCode: 202 };
        case 'RequestResponse': {
          const tail = input.LogType === 'Tail';
          const outcome = await runner.run(target, {
            requestId: ctx.requestId,
            payload,
            clientContext: input.ClientContext,
            tailLogs: tail,
            source: 'RequestResponse',
          });
          const out: InvocationResponse = {
            StatusCode: 200,
            ExecutedVersion: target.executedVersion,
            Payload: outcome.payload,
          };
          // Every error Lambda reports today is "Unhandled" (runtimes no longer send Handled).
          if (outcome.kind !== 'success') out.FunctionError = 'Unhandled';
          if (tail && outcome.logTail !== undefined) out.LogResult = logResult(outcome.logTail);
          return out;
        }
        default: {
          const never: never = type;
          throw new Error(`unknown invocation type ${String(never)}`);
        }
      }
    },

    /** Deprecated, still served: 202 and the event queued, with the old 256 KB limit. */
    async InvokeAsync(
      input: InvokeAsyncRequest,
      ctx: RequestContext,
    ): Promise<InvokeAsyncResponse> {
      // The model marks InvokeArgs streaming; one byte past the limit is enough to refuse.
      const raw =
        (await readStreamingBlob(input.InvokeArgs, MAX_INVOKE_ASYNC_BYTES + 1)) ??
        Buffer.alloc(MAX_INVOKE_ASYNC_BYTES + 1);
      checkAsyncSize(raw, MAX_INVOKE_ASYNC_BYTES);
      const payload = eventPayload(raw);
      const target = await functions.resolve(ctx, input.FunctionName);
      await queue.enqueue(target, input.FunctionName, undefined, ctx.requestId, payload);
      return { Status: 202 };
    },
  };
}

/** X-Amz-Log-Result: "The last 4 KB of the execution log", base64-encoded. */
export function logResult(tail: string): string {
  const bytes = Buffer.from(tail, 'utf8');
  return (bytes.length > 4096 ? bytes.subarray(bytes.length - 4096) : bytes).toString('base64');
}
