/**
 * A durable execution's state machine, apart from how it is stored and run: the
 * operations CheckpointDurableExecution records (START, SUCCEED, FAIL, CANCEL, RETRY of
 * steps, waits, callbacks, contexts and chained invokes), the history events each change
 * writes, and the time-driven changes (waits ending, retries coming due, timeouts).
 * Pure functions over one ExecutionRecord; the engine (engine.ts) persists and schedules.
 * https://docs.aws.amazon.com/lambda/latest/api/API_CheckpointDurableExecution.html
 */
import type {
  ErrorObject,
  EventType,
  ExecutionStatus,
  OperationUpdate,
} from '../../../api/lambda/types.js';
import { invalidParameter } from '../errors.js';
import {
  encodeCallbackId,
  isClosed,
  type ExecutionRecord,
  type StoredEvent,
  type StoredOperation,
} from './records.js';

/** Applies one OperationUpdate (CheckpointDurableExecution's `Updates`). */
export function applyUpdate(
  rec: ExecutionRecord,
  key: string,
  u: OperationUpdate,
  now: number,
): StoredOperation | undefined {
  let op = rec.operations.find((o) => o.Id === u.Id);
  if (u.Type === 'EXECUTION') {
    const exec = rec.operations.find((o) => o.Type === 'EXECUTION');
    if (exec && u.Action === 'SUCCEED') exec.result = u.Payload;
    if (exec && u.Action === 'FAIL') exec.error = u.Error;
    return exec;
  }
  if (u.Action === 'START') {
    if (op && op.Status !== 'READY' && op.Status !== 'PENDING') return op;
    if (!op) {
      op = { Id: u.Id, Type: u.Type, Status: 'STARTED', start: now, seq: 0 };
      if (u.ParentId) op.ParentId = u.ParentId;
      if (u.Name) op.Name = u.Name;
      if (u.SubType) op.SubType = u.SubType;
      rec.operations.push(op);
    }
    op.Status = 'STARTED';
    touch(rec, op);
    switch (u.Type) {
      case 'STEP':
        addEvent(now, rec, 'StepStarted', op, { member: 'StepStartedDetails', value: {} });
        break;
      case 'CONTEXT':
        addEvent(now, rec, 'ContextStarted', op, { member: 'ContextStartedDetails', value: {} });
        break;
      case 'WAIT': {
        const seconds = u.WaitOptions?.WaitSeconds ?? 0;
        op.waitEndsAt = now + seconds * 1000;
        addEvent(now, rec, 'WaitStarted', op, {
          member: 'WaitStartedDetails',
          value: { Duration: seconds, ScheduledEndTimestamp: op.waitEndsAt },
        });
        break;
      }
      case 'CALLBACK': {
        const o = u.CallbackOptions ?? {};
        op.callbackId = encodeCallbackId(key, op.Id);
        if (o.TimeoutSeconds) op.timeoutAt = now + o.TimeoutSeconds * 1000;
        if (o.HeartbeatTimeoutSeconds) {
          op.heartbeatSeconds = o.HeartbeatTimeoutSeconds;
          op.heartbeatAt = now + o.HeartbeatTimeoutSeconds * 1000;
        }
        addEvent(now, rec, 'CallbackStarted', op, {
          member: 'CallbackStartedDetails',
          value: {
            CallbackId: op.callbackId,
            Timeout: o.TimeoutSeconds,
            HeartbeatTimeout: o.HeartbeatTimeoutSeconds,
          },
        });
        break;
      }
      case 'CHAINED_INVOKE':
        op.chainedFunction = u.ChainedInvokeOptions?.FunctionName;
        op.input = u.Payload;
        addEvent(now, rec, 'ChainedInvokeStarted', op, {
          member: 'ChainedInvokeStartedDetails',
          value: { FunctionName: op.chainedFunction, Input: { Payload: u.Payload } },
        });
        break;
      default:
        throw invalidParameter(`Operation type ${u.Type} cannot be started.`);
    }
    return op;
  }
  if (!op) throw invalidParameter(`Operation ${u.Id} has not been started.`);
  switch (u.Action) {
    case 'SUCCEED':
      finishOp(rec, op, 'SUCCEEDED', now, { result: u.Payload });
      break;
    case 'FAIL':
      finishOp(rec, op, 'FAILED', now, { error: u.Error ?? {} });
      break;
    case 'CANCEL':
      finishOp(rec, op, 'CANCELLED', now, {});
      break;
    case 'RETRY': {
      if (op.Type !== 'STEP') throw invalidParameter('Only steps can be retried.');
      const delay = u.StepOptions?.NextAttemptDelaySeconds ?? 1;
      op.attempt = (op.attempt ?? 0) + 1;
      op.Status = 'PENDING';
      op.nextAttemptAt = now + delay * 1000;
      op.error = u.Error;
      if (u.Payload !== undefined) op.result = u.Payload;
      touch(rec, op);
      addEvent(now, rec, 'StepFailed', op, {
        member: 'StepFailedDetails',
        value: {
          Error: { Payload: u.Error },
          RetryDetails: { CurrentAttempt: op.attempt, NextAttemptDelaySeconds: delay },
        },
      });
      break;
    }
    default:
      throw invalidParameter(`Unknown action ${String(u.Action)}.`);
  }
  return op;
}

export function finishOp(
  rec: ExecutionRecord,
  op: StoredOperation,
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT',
  now: number,
  out: { result?: string; error?: ErrorObject },
): void {
  op.Status = status;
  op.end = now;
  if (out.result !== undefined) op.result = out.result;
  if (out.error !== undefined) op.error = out.error;
  touch(rec, op);
  const prefix = {
    STEP: 'Step',
    WAIT: 'Wait',
    CALLBACK: 'Callback',
    CONTEXT: 'Context',
    CHAINED_INVOKE: 'ChainedInvoke',
    EXECUTION: 'Execution',
  }[op.Type];
  const suffix = {
    SUCCEEDED: 'Succeeded',
    FAILED: 'Failed',
    CANCELLED: 'Cancelled',
    TIMED_OUT: 'TimedOut',
  }[status];
  const type = `${prefix}${suffix}` as EventType;
  const value: Record<string, unknown> = {};
  if (status === 'SUCCEEDED' && op.Type !== 'WAIT') value.Result = { Payload: op.result };
  if (op.Type === 'WAIT' && status === 'SUCCEEDED') {
    value.Duration = Math.round(((op.waitEndsAt ?? now) - op.start) / 1000);
  }
  if (status !== 'SUCCEEDED') value.Error = { Payload: op.error ?? {} };
  if (op.Type === 'STEP') value.RetryDetails = { CurrentAttempt: (op.attempt ?? 0) + 1 };
  addEvent(now, rec, type, op, { member: `${type}Details`, value });
}

/** Time-driven changes: waits end, retries come due, callbacks and the execution time out. */
export function advance(rec: ExecutionRecord, now: number): void {
  if (isClosed(rec.status)) return;
  if (now >= rec.start + rec.timeoutSeconds * 1000) {
    closeExecution(rec, 'TIMED_OUT', now, {
      error: { ErrorType: 'TimedOut', ErrorMessage: 'The durable execution timed out.' },
    });
    return;
  }
  for (const op of rec.operations) {
    if (op.Type === 'WAIT' && op.Status === 'STARTED' && (op.waitEndsAt ?? 0) <= now) {
      finishOp(rec, op, 'SUCCEEDED', now, {});
    } else if (op.Type === 'STEP' && op.Status === 'PENDING' && (op.nextAttemptAt ?? 0) <= now) {
      op.Status = 'READY';
      touch(rec, op);
    } else if (op.Type === 'CALLBACK' && op.Status === 'STARTED') {
      const timedOut =
        (op.timeoutAt !== undefined && op.timeoutAt <= now) ||
        (op.heartbeatAt !== undefined && op.heartbeatAt <= now);
      if (timedOut) {
        finishOp(rec, op, 'TIMED_OUT', now, {
          error: { ErrorType: 'CallbackTimeout', ErrorMessage: 'The callback timed out.' },
        });
      }
    }
  }
}

/** When the execution next needs the function (or its timeout), epoch ms. */
export function nextWake(rec: ExecutionRecord): number | undefined {
  if (isClosed(rec.status)) return undefined;
  let at = rec.start + rec.timeoutSeconds * 1000;
  for (const op of rec.operations) {
    if (op.Type === 'WAIT' && op.Status === 'STARTED') at = Math.min(at, op.waitEndsAt ?? at);
    if (op.Type === 'STEP' && op.Status === 'PENDING') at = Math.min(at, op.nextAttemptAt ?? at);
    if (op.Type === 'STEP' && op.Status === 'READY') at = Math.min(at, 0);
    if (op.Type === 'CALLBACK' && op.Status === 'STARTED') {
      at = Math.min(at, op.timeoutAt ?? at, op.heartbeatAt ?? at);
    }
  }
  return at;
}

/** Whether a suspended execution already has something the function has not seen. */
export function isDue(rec: ExecutionRecord, now: number): boolean {
  const at = nextWake(rec);
  return at !== undefined && at <= now;
}

export function closeExecution(
  rec: ExecutionRecord,
  status: ExecutionStatus,
  now: number,
  out: { result?: string; error?: ErrorObject },
): void {
  rec.status = status;
  rec.end = now;
  delete rec.invocation;
  if (out.result !== undefined) rec.result = out.result;
  if (out.error !== undefined) rec.error = out.error;
  const exec = rec.operations.find((o) => o.Type === 'EXECUTION');
  if (exec) {
    exec.Status = status === 'RUNNING' ? 'STARTED' : status;
    exec.end = now;
    touch(rec, exec);
  }
  const type =
    `Execution${{ SUCCEEDED: 'Succeeded', FAILED: 'Failed', TIMED_OUT: 'TimedOut', STOPPED: 'Stopped', RUNNING: 'Started' }[status]}` as EventType;
  addEvent(now, rec, type, undefined, {
    member: `${type}Details`,
    value:
      status === 'SUCCEEDED'
        ? { Result: { Payload: rec.result } }
        : { Error: { Payload: rec.error } },
  });
}

export function touch(rec: ExecutionRecord, op: StoredOperation): void {
  rec.seq++;
  op.seq = rec.seq;
}

export function addEvent(
  at: number,
  rec: ExecutionRecord,
  type: EventType,
  op: StoredOperation | undefined,
  details?: StoredEvent['details'],
): void {
  const e: StoredEvent = { EventType: type, EventId: rec.events.length + 1, at };
  if (op) {
    e.Id = op.Id;
    if (op.Name) e.Name = op.Name;
    if (op.ParentId) e.ParentId = op.ParentId;
    if (op.SubType) e.SubType = op.SubType;
  }
  if (details) e.details = details;
  rec.events.push(e);
}
