/**
 * Durable executions as stored (one row per execution in `lambda_durable_executions`) and
 * as the API shows them. Timestamps are kept as epoch milliseconds and become Dates in the
 * views. https://docs.aws.amazon.com/lambda/latest/dg/durable-functions.html
 */
import type {
  ErrorObject,
  Event,
  EventType,
  ExecutionStatus,
  Operation,
  OperationStatus,
  OperationType,
} from '../../../api/lambda/types.js';
import { qualifiedArn, type Scope } from '../arns.js';
import { scopePrefix } from '../store.js';

export interface StoredOperation {
  Id: string;
  ParentId?: string;
  Name?: string;
  Type: OperationType;
  SubType?: string;
  Status: OperationStatus;
  start: number;
  end?: number;
  input?: string;
  result?: string;
  error?: ErrorObject;
  replayChildren?: boolean;
  /** STEP: attempts made so far; the epoch ms of the next one (PENDING). */
  attempt?: number;
  nextAttemptAt?: number;
  /** WAIT: when it ends. */
  waitEndsAt?: number;
  /** CALLBACK: its id, and the deadlines of its timeout and heartbeat timeout. */
  callbackId?: string;
  timeoutAt?: number;
  heartbeatSeconds?: number;
  heartbeatAt?: number;
  /** CHAINED_INVOKE: the function named. */
  chainedFunction?: string;
  /** The execution's change counter when this operation last changed. */
  seq: number;
}

export interface StoredEvent {
  EventType: EventType;
  EventId: number;
  at: number;
  Id?: string;
  Name?: string;
  ParentId?: string;
  SubType?: string;
  /** The event's details member (e.g. StepSucceededDetails), payloads included. */
  details?: { member: string; value: Record<string, unknown> };
}

export interface ExecutionRecord {
  arn: string;
  name: string;
  account: string;
  region: string;
  functionName: string;
  /** The version the execution runs (`$LATEST` or a number). */
  version: string;
  input: string;
  status: ExecutionStatus;
  start: number;
  end?: number;
  result?: string;
  error?: ErrorObject;
  timeoutSeconds: number;
  retentionDays: number;
  operations: StoredOperation[];
  events: StoredEvent[];
  /** Change counter: bumped by every change of an operation. */
  seq: number;
  /** The invocation running now; its checkpoint tokens are the only ones accepted. */
  invocation?: string;
  /** Failed invocations in a row (retried up to MAX_INVOCATION_ATTEMPTS). */
  failedInvocations: number;
}

/** "Lambda retains the execution history for 14 days by default" (1–90). */
export const DEFAULT_RETENTION_DAYS = 14;
/** Executions run up to a year: the model's maximum ExecutionTimeout, 31,622,400 s. */
export const DEFAULT_EXECUTION_TIMEOUT = 31_622_400;

export const executionKey = (scope: Scope, functionName: string, name: string): string =>
  `${scopePrefix(scope)}${functionName}:${name}`;

/**
 * `arn:aws:lambda:<region>:<account>:function:<name>:<version>/durable-execution/<execution
 * name>/<invocation id>` (the model's DurableExecutionArn pattern).
 */
export function executionArn(
  scope: Scope,
  functionName: string,
  version: string,
  name: string,
  id: string,
): string {
  return `${qualifiedArn(scope, functionName, version)}/durable-execution/${name}/${id}`;
}

const ARN_RE =
  /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):function:([a-zA-Z0-9_-]+):(\$LATEST(?:\.PUBLISHED)?|[0-9]+)\/durable-execution\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)$/;

export function parseExecutionArn(
  arn: string,
): { scope: Scope; functionName: string; name: string } | undefined {
  const m = ARN_RE.exec(arn);
  if (!m) return undefined;
  return { scope: { region: m[1], account: m[2] }, functionName: m[3], name: m[5] };
}

/** Checkpoint tokens name the invocation and the change counter they were issued at. */
export const encodeToken = (invocation: string, seq: number): string =>
  Buffer.from(`${invocation}.${seq}`).toString('base64');

export function decodeToken(token: string): { invocation: string; seq: number } | undefined {
  const [invocation, seq] = Buffer.from(token, 'base64').toString('utf8').split('.');
  const n = Number(seq);
  return invocation && Number.isInteger(n) ? { invocation, seq: n } : undefined;
}

/** Callback ids carry their execution and operation, so a callback needs no index. */
export const encodeCallbackId = (key: string, opId: string): string =>
  Buffer.from(JSON.stringify([key, opId])).toString('base64');

export function decodeCallbackId(id: string): { key: string; opId: string } | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(id, 'base64').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string') {
      return { key: v[0], opId: v[1] };
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

export const isClosed = (status: ExecutionStatus): boolean => status !== 'RUNNING';

const date = (ms: number | undefined): Date | undefined =>
  ms === undefined ? undefined : new Date(ms);

/** An operation as GetDurableExecutionState, checkpoints and invocations show it. */
export function operationView(op: StoredOperation): Operation {
  const out: Operation = {
    Id: op.Id,
    Type: op.Type,
    StartTimestamp: new Date(op.start),
    Status: op.Status,
  };
  if (op.ParentId) out.ParentId = op.ParentId;
  if (op.Name) out.Name = op.Name;
  if (op.SubType) out.SubType = op.SubType;
  if (op.end !== undefined) out.EndTimestamp = new Date(op.end);
  const res = { Result: op.result, Error: op.error };
  switch (op.Type) {
    case 'EXECUTION':
      out.ExecutionDetails = { InputPayload: op.input };
      break;
    case 'STEP':
      out.StepDetails = {
        Attempt: op.attempt,
        NextAttemptTimestamp: date(op.nextAttemptAt),
        ...res,
      };
      break;
    case 'WAIT':
      out.WaitDetails = { ScheduledEndTimestamp: date(op.waitEndsAt) };
      break;
    case 'CALLBACK':
      out.CallbackDetails = { CallbackId: op.callbackId, ...res };
      break;
    case 'CONTEXT':
      out.ContextDetails = { ReplayChildren: op.replayChildren, ...res };
      break;
    case 'CHAINED_INVOKE':
      out.ChainedInvokeDetails = res;
      break;
    default: {
      const never: never = op.Type;
      throw new Error(`unknown operation type ${String(never)}`);
    }
  }
  return out;
}

/** Payloads (Input, Result, Error) stay out of the history unless IncludeExecutionData. */
const PAYLOAD_MEMBERS = new Set(['Input', 'Result', 'Error']);

export function eventView(e: StoredEvent, includeData: boolean): Event {
  const out: Event = { EventType: e.EventType, EventId: e.EventId, EventTimestamp: new Date(e.at) };
  if (e.Id) out.Id = e.Id;
  if (e.Name) out.Name = e.Name;
  if (e.ParentId) out.ParentId = e.ParentId;
  if (e.SubType) out.SubType = e.SubType;
  if (e.details) {
    const value: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e.details.value)) {
      if (v === undefined) continue;
      if (includeData || !PAYLOAD_MEMBERS.has(k)) value[k] = v;
      else value[k] = {};
    }
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('Timestamp') && typeof v === 'number') value[k] = new Date(v);
    }
    (out as Record<string, unknown>)[e.details.member] = value;
  }
  return out;
}
