/**
 * The durable execution API: GetDurableExecution, GetDurableExecutionHistory,
 * GetDurableExecutionState, CheckpointDurableExecution, ListDurableExecutionsByFunction,
 * StopDurableExecution and SendDurableExecutionCallbackSuccess/Failure/Heartbeat.
 * https://docs.aws.amazon.com/lambda/latest/api/API_CheckpointDurableExecution.html
 */
import type { LambdaOperations } from '../../../api/lambda/operations.js';
import type { Execution } from '../../../api/lambda/types.js';
import { qualifiedArn } from '../arns.js';
import { pageArray } from '../common.js';
import type { LambdaFunctions } from '../functions-api.js';
import type { DurableEngine } from './engine.js';
import { eventView, operationView, type ExecutionRecord } from './records.js';

export type DurableOperations = Pick<
  LambdaOperations,
  | 'GetDurableExecution'
  | 'GetDurableExecutionHistory'
  | 'GetDurableExecutionState'
  | 'CheckpointDurableExecution'
  | 'ListDurableExecutionsByFunction'
  | 'StopDurableExecution'
  | 'SendDurableExecutionCallbackSuccess'
  | 'SendDurableExecutionCallbackFailure'
  | 'SendDurableExecutionCallbackHeartbeat'
>;

const functionArnOf = (r: ExecutionRecord): string =>
  qualifiedArn({ account: r.account, region: r.region }, r.functionName, r.version);

function summary(r: ExecutionRecord): Execution {
  const out: Execution = {
    DurableExecutionArn: r.arn,
    DurableExecutionName: r.name,
    FunctionArn: functionArnOf(r),
    Status: r.status,
    StartTimestamp: new Date(r.start),
  };
  if (r.end !== undefined) out.EndTimestamp = new Date(r.end);
  return out;
}

/** Markers are indexes into the (ordered) list, as strings. */
function page<T>(all: T[], marker: string | undefined, max: number | undefined) {
  const indexed = all.map((item, i) => ({ item, i }));
  const p = pageArray(indexed, (x) => String(x.i), marker, max || 1000);
  return { items: p.items.map((x) => x.item), next: p.nextMarker };
}

export function durableOperations(
  engine: DurableEngine,
  functions: LambdaFunctions,
): DurableOperations {
  return {
    async GetDurableExecution(input) {
      const r = await engine.get(input.DurableExecutionArn);
      const out = { ...summary(r), InputPayload: r.input, Version: r.version };
      if (r.result !== undefined && r.status === 'SUCCEEDED') return { ...out, Result: r.result };
      if (r.error !== undefined) return { ...out, Error: r.error };
      return out;
    },

    async GetDurableExecutionHistory(input) {
      const r = await engine.get(input.DurableExecutionArn);
      const events = r.events.map((e) => eventView(e, input.IncludeExecutionData ?? false));
      if (input.ReverseOrder) events.reverse();
      const p = page(events, input.Marker, input.MaxItems);
      return p.next === undefined ? { Events: p.items } : { Events: p.items, NextMarker: p.next };
    },

    async GetDurableExecutionState(input) {
      const r = await engine.state(input.DurableExecutionArn, input.CheckpointToken);
      const p = page(r.operations.map(operationView), input.Marker, input.MaxItems);
      return p.next === undefined
        ? { Operations: p.items }
        : { Operations: p.items, NextMarker: p.next };
    },

    CheckpointDurableExecution: (input) =>
      engine.checkpoint(input.DurableExecutionArn, input.CheckpointToken, input.Updates ?? []),

    async ListDurableExecutionsByFunction(input, ctx) {
      const target = await functions.resolve(ctx, input.FunctionName, input.Qualifier);
      const scope = { account: target.account, region: target.region };
      let rows = await engine.list(scope, target.functionName);
      if (input.Qualifier !== undefined) {
        rows = rows.filter((r) => r.version === target.executedVersion);
      }
      if (input.DurableExecutionName) {
        rows = rows.filter((r) => r.name === input.DurableExecutionName);
      }
      if (input.Statuses?.length) rows = rows.filter((r) => input.Statuses?.includes(r.status));
      const after = input.StartedAfter?.getTime();
      const before = input.StartedBefore?.getTime();
      if (after !== undefined) rows = rows.filter((r) => r.start > after);
      if (before !== undefined) rows = rows.filter((r) => r.start < before);
      rows.sort((a, b) => a.start - b.start);
      if (input.ReverseOrder) rows.reverse();
      const p = page(rows.map(summary), input.Marker, input.MaxItems);
      return p.next === undefined
        ? { DurableExecutions: p.items }
        : { DurableExecutions: p.items, NextMarker: p.next };
    },

    async StopDurableExecution(input) {
      const at = await engine.stop(input.DurableExecutionArn, input.Error);
      return { StopTimestamp: new Date(at) };
    },

    async SendDurableExecutionCallbackSuccess(input) {
      const result =
        input.Result === undefined ? undefined : Buffer.from(input.Result).toString('utf8');
      await engine.callback(input.CallbackId, { result });
      return {};
    },

    async SendDurableExecutionCallbackFailure(input) {
      await engine.callback(input.CallbackId, { error: input.Error ?? {} });
      return {};
    },

    async SendDurableExecutionCallbackHeartbeat(input) {
      await engine.callback(input.CallbackId, { heartbeat: true });
      return {};
    },
  };
}
