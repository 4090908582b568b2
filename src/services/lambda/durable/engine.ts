/**
 * The durable execution service: runs a durable function's executions as AWS describes
 * them. https://docs.aws.amazon.com/lambda/latest/dg/durable-execution-sdk.html
 *
 * Each invocation of the function gets `{DurableExecutionArn, CheckpointToken,
 * InitialExecutionState: {Operations}}`; the function's SDK replays the operations already
 * recorded, checkpoints new ones through CheckpointDurableExecution, and answers
 * `{Status: SUCCEEDED | FAILED | PENDING, Result?, Error?}`. PENDING means "suspended":
 * Lambda invokes the function again when a wait ends, a step's retry is due or a callback
 * completes, and the SDK replays up to where it stopped.
 *
 * Every change is one store transaction on the execution's row (the row is the whole
 * execution: operations and history), so executions survive a restart; an invocation a
 * crash interrupted is simply run again (replay makes that safe).
 */
import { randomUUID } from 'node:crypto';
import {
  CallbackTimeoutException,
  DurableExecutionAlreadyStartedException,
} from '../../../api/lambda/errors.js';
import type { ErrorObject, OperationUpdate } from '../../../api/lambda/types.js';
import { rootPrincipal } from '../../../shared/arn.js';
import type { MetadataStore } from '../../../storage/types.js';
import { invalidParameter, notFound } from '../errors.js';
import type { InvocationTarget, LambdaFunctions } from '../functions-api.js';
import type { InvocationRunner } from '../invoke/runner.js';
import { T } from '../store.js';
import {
  DEFAULT_EXECUTION_TIMEOUT,
  DEFAULT_RETENTION_DAYS,
  decodeCallbackId,
  decodeToken,
  encodeToken,
  executionArn,
  executionKey,
  isClosed,
  operationView,
  parseExecutionArn,
  type ExecutionRecord,
  type StoredOperation,
} from './records.js';
import {
  addEvent,
  advance,
  applyUpdate,
  closeExecution,
  finishOp,
  isDue,
  nextWake,
} from './state-machine.js';

/** Failed invocations (errors, timeouts) retried before the execution fails. */
const MAX_INVOCATION_ATTEMPTS = 3;
/** Operations handed to an invocation at once; the SDK pages the rest. */
export const STATE_PAGE = 1000;
const DAY_MS = 86_400_000;
/** "Synchronous invocations are limited to 15 minutes" for durable functions too. */
const SYNC_LIMIT_MS = 900_000;

interface Live {
  timer?: NodeJS.Timeout;
  invoking: boolean;
  /** Something changed while the function ran: run it again once it answers. */
  again: boolean;
  waiters: ((rec: ExecutionRecord) => void)[];
}

export interface EngineDeps {
  store: MetadataStore;
  functions: LambdaFunctions;
  runner: InvocationRunner;
  now?: () => number;
  warn: (msg: string, detail?: Record<string, unknown>) => void;
}

const errorOf = (err: unknown): ErrorObject => ({
  ErrorType: err instanceof Error ? err.name : 'Error',
  ErrorMessage: err instanceof Error ? err.message : String(err),
});

export class DurableEngine {
  private readonly live = new Map<string, Live>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
  }

  // ---------------------------------------------------------------------------------------
  // Starting and awaiting executions (Invoke of a durable function).

  /**
   * Starts an execution of the target (or re-attaches to the running one of that name with
   * the same input, as AWS's idempotency table says); resolves with its record.
   */
  async start(target: InvocationTarget, name: string | undefined, input: string) {
    const scope = { account: target.account, region: target.region };
    const durable = target.version.durable ?? {};
    const execName = name ?? randomUUID();
    const key = executionKey(scope, target.functionName, execName);
    const id = randomUUID();
    const now = this.now();
    const rec: ExecutionRecord = {
      arn: executionArn(scope, target.functionName, target.executedVersion, execName, id),
      name: execName,
      account: target.account,
      region: target.region,
      functionName: target.functionName,
      version: target.executedVersion,
      input,
      status: 'RUNNING',
      start: now,
      timeoutSeconds: durable.ExecutionTimeout ?? DEFAULT_EXECUTION_TIMEOUT,
      retentionDays: durable.RetentionPeriodInDays ?? DEFAULT_RETENTION_DAYS,
      operations: [{ Id: id, Type: 'EXECUTION', Status: 'STARTED', start: now, input, seq: 1 }],
      events: [],
      seq: 1,
      failedInvocations: 0,
    };
    addEvent(now, rec, 'ExecutionStarted', undefined, {
      member: 'ExecutionStartedDetails',
      value: { Input: { Payload: input }, ExecutionTimeout: rec.timeoutSeconds },
    });
    const stored = await this.locked(key, () =>
      this.deps.store.transaction(async (tx) => {
        const old = await tx.get<ExecutionRecord>(T.durableExecutions, key);
        if (old && !this.expired(old)) {
          if (old.status === 'RUNNING' && old.input === input) return old;
          throw new DurableExecutionAlreadyStartedException(
            `Durable execution with name ${execName} already exists.`,
            { Type: 'User' },
          );
        }
        await tx.put(T.durableExecutions, key, rec);
        return rec;
      }),
    );
    if (stored === rec) this.run(key);
    return stored;
  }

  /**
   * A synchronous invoke of a durable function: starts the execution and answers once it
   * closed ("the invocation waits for the entire durable execution to complete"), with the
   * result, or the error as Lambda's error JSON (`ok` false).
   * https://docs.aws.amazon.com/lambda/latest/dg/durable-invoking.html
   */
  async invokeSync(
    target: InvocationTarget,
    name: string | undefined,
    input: string,
  ): Promise<{ arn: string; ok: boolean; payload: Buffer }> {
    const exec = await this.start(target, name, input);
    const done = await this.completion(exec.arn, SYNC_LIMIT_MS);
    if (done.status === 'SUCCEEDED') {
      return { arn: exec.arn, ok: true, payload: Buffer.from(done.result ?? '') };
    }
    const running = done.status === 'RUNNING';
    const e = done.error ?? {};
    const body = {
      errorType: e.ErrorType ?? (running ? 'Sandbox.Timedout' : done.status),
      errorMessage:
        e.ErrorMessage ??
        (running
          ? 'The durable execution did not finish within the synchronous invocation limit.'
          : `The durable execution ended ${done.status}.`),
      ...(e.StackTrace ? { stackTrace: e.StackTrace } : {}),
    };
    return { arn: exec.arn, ok: false, payload: Buffer.from(JSON.stringify(body)) };
  }

  /**
   * Resolves when the execution closes (or with its running record after `timeoutMs`).
   * The waiter is registered before the row is read, so a close in between is not missed.
   */
  completion(arn: string, timeoutMs: number): Promise<ExecutionRecord> {
    const key = this.keyOf(arn);
    const l = this.liveOf(key);
    return new Promise((resolve, reject) => {
      let finished = false;
      const done = (rec: ExecutionRecord) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        l.waiters = l.waiters.filter((w) => w !== done);
        resolve(rec);
      };
      const fail = (err: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        l.waiters = l.waiters.filter((w) => w !== done);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const timer = setTimeout(() => void this.load(key).then(done, fail), timeoutMs);
      l.waiters.push(done);
      void this.load(key).then((rec) => {
        if (isClosed(rec.status)) done(rec);
      }, fail);
    });
  }

  // ---------------------------------------------------------------------------------------
  // The API the SDK and operators call.

  async get(arn: string): Promise<ExecutionRecord> {
    return this.load(this.keyOf(arn));
  }

  /** GetDurableExecutionState: for the invocation holding `token` only. */
  async state(arn: string, token: string): Promise<ExecutionRecord> {
    const rec = await this.load(this.keyOf(arn));
    this.checkToken(rec, token);
    return rec;
  }

  async list(scope: { account: string; region: string }, functionName: string) {
    const rows = await this.deps.store.list<ExecutionRecord>(T.durableExecutions, {
      prefix: executionKey(scope, functionName, ''),
    });
    return rows.map((r) => r.value).filter((r) => !this.expired(r));
  }

  async checkpoint(arn: string, token: string, updates: OperationUpdate[]) {
    const key = this.keyOf(arn);
    const chained: StoredOperation[] = [];
    const out = await this.mutate(key, (rec) => {
      const t = this.checkToken(rec, token);
      const now = this.now();
      advance(rec, now);
      // Timed out just now: the updates come too late; the answer shows the closed state.
      for (const u of isClosed(rec.status) ? [] : updates) {
        const op = applyUpdate(rec, key, u, now);
        if (op?.Type === 'CHAINED_INVOKE' && u.Action === 'START') chained.push(op);
      }
      const changed = rec.operations.filter((o) => o.seq > t.seq).map(operationView);
      return {
        CheckpointToken: encodeToken(t.invocation, rec.seq),
        NewExecutionState: { Operations: changed },
      };
    });
    for (const op of chained) this.invokeChained(key, op);
    return out;
  }

  async callback(
    callbackId: string,
    outcome: { result?: string; error?: ErrorObject; heartbeat?: boolean },
  ): Promise<void> {
    const ref = decodeCallbackId(callbackId);
    if (!ref) throw invalidParameter('Invalid callback id.');
    await this.mutate(ref.key, (rec) => {
      const op = rec.operations.find((o) => o.Id === ref.opId && o.Type === 'CALLBACK');
      if (!op) throw invalidParameter('Invalid callback id.');
      if (op.Status === 'TIMED_OUT') {
        throw new CallbackTimeoutException('The callback has timed out.', { Type: 'User' });
      }
      if (op.Status !== 'STARTED' || isClosed(rec.status)) {
        throw invalidParameter('The callback has already completed.');
      }
      const now = this.now();
      if (outcome.heartbeat) {
        if (op.heartbeatSeconds) op.heartbeatAt = now + op.heartbeatSeconds * 1000;
        return;
      }
      if (outcome.error !== undefined) {
        finishOp(rec, op, 'FAILED', now, { error: outcome.error });
      } else {
        finishOp(rec, op, 'SUCCEEDED', now, { result: outcome.result });
      }
    });
    if (!outcome.heartbeat) this.run(ref.key);
    else this.schedule(ref.key);
  }

  async stop(arn: string, error: ErrorObject | undefined): Promise<number> {
    const key = this.keyOf(arn);
    const now = this.now();
    await this.mutate(key, (rec) => {
      if (isClosed(rec.status)) {
        throw invalidParameter(`Durable execution ${arn} is already ${rec.status}.`);
      }
      closeExecution(rec, 'STOPPED', now, { error: error ?? {} });
    });
    this.settle(key);
    return now;
  }

  /** After a restart: runs every open execution again from its recorded state. */
  async resume(): Promise<number> {
    const rows = await this.deps.store.list<ExecutionRecord>(T.durableExecutions);
    let n = 0;
    for (const { key, value } of rows) {
      if (this.expired(value)) {
        await this.deps.store.delete(T.durableExecutions, key);
      } else if (!isClosed(value.status)) {
        n++;
        this.run(key);
      }
    }
    return n;
  }

  /** The state was wiped (POST /_stratus/reset): forget the timers of its executions. */
  reset(): void {
    for (const l of this.live.values()) if (l.timer) clearTimeout(l.timer);
    this.live.clear();
  }

  shutdown(): void {
    this.stopped = true;
    for (const l of this.live.values()) if (l.timer) clearTimeout(l.timer);
    this.live.clear();
  }

  // ---------------------------------------------------------------------------------------
  // Running the function.

  /** Invokes the function for the execution now (or once the running invocation ends). */
  private run(key: string): void {
    if (this.stopped) return;
    const l = this.liveOf(key);
    if (l.timer) clearTimeout(l.timer);
    l.timer = undefined;
    if (l.invoking) {
      l.again = true;
      return;
    }
    l.invoking = true;
    void this.loop(key, l)
      .catch((err: unknown) =>
        this.deps.warn('durable execution failed to run', {
          key,
          error: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => {
        l.invoking = false;
        this.schedule(key);
      });
  }

  private async loop(key: string, l: Live): Promise<void> {
    for (;;) {
      l.again = false;
      const invocation = randomUUID();
      const rec = await this.mutate(key, (rec) => {
        if (isClosed(rec.status)) return rec;
        advance(rec, this.now());
        rec.invocation = invocation;
        return rec;
      });
      if (isClosed(rec.status) || this.stopped) return;
      const outcome = await this.invokeOnce(rec, invocation);
      const now = this.now();
      const after = await this.mutate(key, (r) => {
        if (r.invocation === invocation) delete r.invocation;
        if (isClosed(r.status)) return r;
        addEvent(now, r, 'InvocationCompleted', undefined, {
          member: 'InvocationCompletedDetails',
          value: {
            StartTimestamp: outcome.started,
            EndTimestamp: now,
            RequestId: outcome.requestId,
            ...(outcome.error ? { Error: { Payload: outcome.error } } : {}),
          },
        });
        if (outcome.error) {
          r.failedInvocations++;
          if (r.failedInvocations >= MAX_INVOCATION_ATTEMPTS) {
            closeExecution(r, 'FAILED', now, { error: outcome.error });
          } else {
            l.again = true;
          }
          return r;
        }
        r.failedInvocations = 0;
        const answer = outcome.answer ?? {};
        if (answer.Status === 'SUCCEEDED') {
          const exec = r.operations.find((o) => o.Type === 'EXECUTION');
          const result = answer.Result || exec?.result || '';
          closeExecution(r, 'SUCCEEDED', now, { result });
        } else if (answer.Status === 'FAILED') {
          closeExecution(r, 'FAILED', now, { error: answer.Error ?? {} });
        }
        // PENDING: suspended until a wait, a retry or a callback wakes it.
        return r;
      });
      if (isClosed(after.status)) {
        this.settle(key);
        return;
      }
      if (!l.again && !isDue(after, this.now())) return;
    }
  }

  private async invokeOnce(
    rec: ExecutionRecord,
    invocation: string,
  ): Promise<{
    started: number;
    requestId: string;
    answer?: { Status?: string; Result?: string; Error?: ErrorObject };
    error?: ErrorObject;
  }> {
    const started = this.now();
    const requestId = randomUUID();
    const event = {
      DurableExecutionArn: rec.arn,
      CheckpointToken: encodeToken(invocation, rec.seq),
      InitialExecutionState: {
        Operations: rec.operations.slice(0, STATE_PAGE).map(operationView),
        ...(rec.operations.length > STATE_PAGE ? { NextMarker: String(STATE_PAGE) } : {}),
      },
    };
    try {
      const target = await this.target(rec);
      const outcome = await this.deps.runner.run(target, {
        requestId,
        payload: Buffer.from(JSON.stringify(event)),
        tailLogs: false,
        source: 'Event',
      });
      const text = outcome.payload.toString('utf8');
      if (outcome.kind !== 'success') {
        const e = JSON.parse(text || '{}') as { errorType?: string; errorMessage?: string };
        return {
          started,
          requestId,
          error: { ErrorType: e.errorType ?? 'Error', ErrorMessage: e.errorMessage ?? text },
        };
      }
      const answer = JSON.parse(text || '{}') as {
        Status?: string;
        Result?: string;
        Error?: ErrorObject;
      };
      if (!['SUCCEEDED', 'FAILED', 'PENDING'].includes(answer.Status ?? '')) {
        return {
          started,
          requestId,
          error: {
            ErrorType: 'InvalidDurableExecutionOutput',
            ErrorMessage:
              'The function answered without a durable execution Status; wrap its handler with withDurableExecution.',
          },
        };
      }
      return { started, requestId, answer };
    } catch (err) {
      return { started, requestId, error: errorOf(err) };
    }
  }

  private target(rec: ExecutionRecord): Promise<InvocationTarget> {
    const ctx = { account: rec.account, region: rec.region, principal: rootPrincipal(rec.account) };
    return this.deps.functions.resolve(ctx, rec.functionName, rec.version);
  }

  /** CHAINED_INVOKE: the service invokes the function named and records its answer. */
  private invokeChained(key: string, op: StoredOperation): void {
    void (async () => {
      const rec = await this.load(key);
      const ctx = {
        account: rec.account,
        region: rec.region,
        principal: rootPrincipal(rec.account),
      };
      let result: string | undefined;
      let error: ErrorObject | undefined;
      try {
        const target = await this.deps.functions.resolve(ctx, op.chainedFunction ?? '');
        if (target.version.durable) {
          const child = await this.start(target, undefined, op.input ?? '{}');
          const done = await this.completion(child.arn, SYNC_LIMIT_MS);
          if (done.status === 'SUCCEEDED') result = done.result ?? '';
          else error = done.error ?? { ErrorType: done.status };
        } else {
          const out = await this.deps.runner.run(target, {
            requestId: randomUUID(),
            payload: Buffer.from(op.input ?? '{}'),
            tailLogs: false,
            source: 'Event',
          });
          const text = out.payload.toString('utf8');
          if (out.kind === 'success') result = text;
          else {
            const e = JSON.parse(text || '{}') as { errorType?: string; errorMessage?: string };
            error = { ErrorType: e.errorType, ErrorMessage: e.errorMessage };
          }
        }
      } catch (err) {
        error = errorOf(err);
      }
      await this.mutate(key, (r) => {
        const o = r.operations.find((x) => x.Id === op.Id);
        if (!o || o.Status !== 'STARTED' || isClosed(r.status)) return;
        finishOp(r, o, error ? 'FAILED' : 'SUCCEEDED', this.now(), { result, error });
      });
      this.run(key);
    })().catch((err: unknown) =>
      this.deps.warn('chained invoke failed', {
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  }

  /** Arms the timer for the execution's next wake-up (setTimeout's 24.8-day limit kept). */
  private schedule(key: string): void {
    if (this.stopped) return;
    void this.load(key)
      .then((rec) => {
        const l = this.liveOf(key);
        if (l.invoking) return;
        if (l.timer) clearTimeout(l.timer);
        l.timer = undefined;
        const at = nextWake(rec);
        if (at === undefined) return;
        const delay = Math.min(Math.max(0, at - this.now()), 2 ** 31 - 1);
        l.timer = setTimeout(() => {
          l.timer = undefined;
          this.run(key);
        }, delay);
        l.timer.unref?.();
      })
      .catch(() => {});
  }

  /** The execution closed: wake whoever awaits it and drop its timer. */
  private settle(key: string): void {
    const l = this.live.get(key);
    if (!l) return;
    if (l.timer) clearTimeout(l.timer);
    const waiters = l.waiters;
    l.waiters = [];
    if (!l.invoking) this.live.delete(key);
    if (waiters.length) void this.load(key).then((rec) => waiters.forEach((w) => w(rec)));
  }

  private checkToken(rec: ExecutionRecord, token: string): { invocation: string; seq: number } {
    const t = decodeToken(token);
    if (!t || isClosed(rec.status) || rec.invocation !== t.invocation) {
      throw invalidParameter('Invalid checkpoint token.');
    }
    return t;
  }

  private expired(rec: ExecutionRecord): boolean {
    return rec.end !== undefined && rec.end + rec.retentionDays * DAY_MS < this.now();
  }

  // ---------------------------------------------------------------------------------------
  // Storage.

  private keyOf(arn: string): string {
    const ref = parseExecutionArn(arn);
    if (!ref) throw invalidParameter(`Invalid durable execution ARN: ${arn}`);
    return executionKey(ref.scope, ref.functionName, ref.name);
  }

  private async load(key: string): Promise<ExecutionRecord> {
    const rec = await this.deps.store.get<ExecutionRecord>(T.durableExecutions, key);
    if (!rec || this.expired(rec)) throw notFound('The resource you requested does not exist.');
    return rec;
  }

  /** One transaction on the execution's row, serialised with the others on it. */
  private mutate<R>(key: string, fn: (rec: ExecutionRecord) => R): Promise<R> {
    return this.locked(key, () =>
      this.deps.store.transaction(async (tx) => {
        const rec = await tx.get<ExecutionRecord>(T.durableExecutions, key);
        if (!rec || this.expired(rec)) throw notFound('The resource you requested does not exist.');
        const out = fn(rec);
        await tx.put(T.durableExecutions, key, rec);
        return out;
      }),
    );
  }

  private locked<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }

  private liveOf(key: string): Live {
    let l = this.live.get(key);
    if (!l) {
      l = { invoking: false, again: false, waiters: [] };
      this.live.set(key, l);
    }
    return l;
  }
}
