/**
 * Asynchronous invocation (InvocationType Event, InvokeAsync): Lambda "places the event in a
 * queue and returns a success response", then runs it, retrying errors.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
 *  - A function error (an error answer, timeout, crash) is retried twice: "Lambda waits one
 *    minute before the second attempt, and two minutes between the second and third";
 *    MaximumRetryAttempts (0–2) of the FunctionEventInvokeConfig overrides the count.
 *  - Throttles and system errors do not count as attempts: "Lambda returns the event to
 *    the queue and attempts to run the function again for up to 6 hours. The retry interval
 *    increases exponentially from 1 second after the first attempt to a maximum of
 *    5 minutes."
 *  - An event older than MaximumEventAgeInSeconds (default 6 hours) is discarded.
 *  - When it succeeds, or when retries or age run out, the record goes to the OnSuccess /
 *    OnFailure destination (destinations.ts).
 *
 * Durability: the event is committed to the MetadataStore before Invoke answers 202, and
 * each finished attempt is committed with the next due time. A restart reschedules every
 * stored event; an attempt the crash interrupted runs again (at-least-once, as on AWS).
 * Retiring an event and queueing its destination record is one transaction.
 */
import { rootPrincipal } from '../../../shared/arn.js';
import { randomUUID } from 'node:crypto';
import type { MetadataStore } from '../../../storage/types.js';
import { AwsError } from '../../../shared/errors.js';
import { LATEST } from '../arns.js';
import type { InvokeOutcome } from '../execution/types.js';
import type { InvocationTarget, LambdaFunctions } from '../functions-api.js';
import {
  destinationFor,
  destinationRecord,
  lambdaDestination,
  type DestinationCondition,
} from './destinations.js';
import type { InvocationRunner } from './runner.js';

export const ASYNC_EVENTS_TABLE = 'lambda_async_events';

/** AWS's defaults: two retries, one and two minutes apart; events kept for 6 hours. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [60_000, 120_000];
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600;
const THROTTLE_BACKOFF_MS = 1000;
const THROTTLE_BACKOFF_MAX_MS = 5 * 60_000;

export interface QueuedEvent {
  /** The invocation's request id, kept across attempts (as AWS does). */
  id: string;
  account: string;
  region: string;
  /** The function as the caller named it (name or ARN, maybe qualified). */
  functionName: string;
  qualifier?: string;
  /** The JSON payload, base64. */
  payload: string;
  enqueuedAt: number;
  /** Attempts that ran to an answer (errors included). */
  attempts: number;
  dueAt: number;
  /** Consecutive throttles / system errors, for the backoff. */
  setbacks: number;
}

export interface QueueSettings {
  /** Delay before the 2nd, 3rd, … attempt (the last value repeats). */
  retryDelaysMs: readonly number[];
  /** First backoff after a throttle (doubles up to 5 minutes). */
  throttleBackoffMs?: number;
  now?: () => number;
  warn: (msg: string, detail?: Record<string, unknown>) => void;
  /**
   * Durable functions: an event starts a durable execution (named after the event, so a
   * redelivery after a crash does not start a second one) instead of one invocation.
   */
  startDurable?: (target: InvocationTarget, name: string, payload: Buffer) => Promise<void>;
}

/** STRATUS_LAMBDA_RETRY_DELAYS_MS="100,200" shortens the retry delays (tests, demos). */
export function retryDelaysFrom(env: NodeJS.ProcessEnv): readonly number[] {
  const raw = env.STRATUS_LAMBDA_RETRY_DELAYS_MS;
  if (!raw) return DEFAULT_RETRY_DELAYS_MS;
  const delays = raw.split(',').map((s) => Number(s.trim()));
  return delays.length > 0 && delays.every((d) => Number.isFinite(d) && d >= 0)
    ? delays
    : DEFAULT_RETRY_DELAYS_MS;
}

/** STRATUS_LAMBDA_THROTTLE_BACKOFF_MS changes the first backoff after a throttle (1 s). */
export function throttleBackoffFrom(env: NodeJS.ProcessEnv): number {
  const n = Number(env.STRATUS_LAMBDA_THROTTLE_BACKOFF_MS);
  return Number.isFinite(n) && n > 0 ? n : THROTTLE_BACKOFF_MS;
}

export class EventQueue {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();
  private readonly now: () => number;
  private stopped = false;
  /** Bumped by reset(): work begun before it must not write. */
  private epoch = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly functions: LambdaFunctions,
    private readonly runner: InvocationRunner,
    private readonly settings: QueueSettings,
  ) {
    this.now = settings.now ?? Date.now;
  }

  /** Stores the event (durably, before the caller hears 202) and schedules it. */
  async enqueue(
    target: Pick<InvocationTarget, 'account' | 'region'>,
    functionName: string,
    qualifier: string | undefined,
    requestId: string,
    payload: Buffer,
  ): Promise<void> {
    const now = this.now();
    const ev: QueuedEvent = {
      id: requestId,
      account: target.account,
      region: target.region,
      functionName,
      payload: payload.toString('base64'),
      enqueuedAt: now,
      attempts: 0,
      dueAt: now,
      setbacks: 0,
    };
    if (qualifier !== undefined) ev.qualifier = qualifier;
    await this.store.put(ASYNC_EVENTS_TABLE, ev.id, ev);
    this.schedule(ev);
  }

  /** Reschedules every stored event (at start). */
  async resume(): Promise<number> {
    this.stopped = false;
    const rows = await this.store.list<QueuedEvent>(ASYNC_EVENTS_TABLE);
    for (const { value } of rows) this.schedule(value);
    return rows.length;
  }

  /** Events waiting or running (tests, health). */
  size(): number {
    return this.timers.size + this.running.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** The store was wiped: forget every event. */
  reset(): void {
    this.epoch++;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(ev: QueuedEvent): void {
    if (this.stopped || this.timers.has(ev.id) || this.running.has(ev.id)) return;
    const delay = Math.max(0, ev.dueAt - this.now());
    const timer = setTimeout(() => {
      this.timers.delete(ev.id);
      this.running.add(ev.id);
      void this.process(ev).then(
        (again) => {
          this.running.delete(ev.id);
          if (again) this.schedule(ev);
        },
        (err: unknown) => {
          this.running.delete(ev.id);
          this.settings.warn('async invocation failed', { requestId: ev.id, error: String(err) });
        },
      );
    }, delay);
    timer.unref();
    this.timers.set(ev.id, timer);
  }

  /** Runs one attempt; resolves true when the event is due again (its dueAt is stored). */
  private async process(ev: QueuedEvent): Promise<boolean> {
    const epoch = this.epoch;
    const scope = { account: ev.account, region: ev.region };
    let target: InvocationTarget;
    try {
      target = await this.functions.resolve(
        { ...scope, principal: servicePrincipal(ev.account) },
        ev.functionName,
        ev.qualifier,
      );
    } catch (err) {
      if (err instanceof AwsError && err.status === 404) {
        // The function (or its alias) is gone: the event has nowhere to go.
        this.settings.warn('dropping an async event of a deleted function', {
          function: ev.functionName,
          requestId: ev.id,
        });
        if (epoch === this.epoch) await this.store.delete(ASYNC_EVENTS_TABLE, ev.id);
        return false;
      }
      return this.setback(ev, epoch);
    }
    const config = await this.functions.getEventInvokeConfig(
      scope,
      target.functionName,
      target.qualifier ?? LATEST,
    );
    const maxAgeMs = (config?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    const maxRetries = config?.MaximumRetryAttempts ?? DEFAULT_MAX_RETRIES;
    const payload = Buffer.from(ev.payload, 'base64');
    if (this.now() - ev.enqueuedAt > maxAgeMs) {
      await this.finish(ev, target, 'EventAgeExceeded', payload, undefined, epoch);
      return false;
    }

    if (target.version.durable && this.settings.startDurable) {
      try {
        const name = ev.id.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 64);
        await this.settings.startDurable(target, name, payload);
      } catch (err) {
        this.settings.warn('could not start a durable execution', {
          requestId: ev.id,
          error: err instanceof Error ? err.message : String(err),
        });
        return this.setback(ev, epoch);
      }
      if (epoch === this.epoch) await this.store.delete(ASYNC_EVENTS_TABLE, ev.id);
      return false;
    }
    let outcome: InvokeOutcome;
    try {
      outcome = await this.runner.run(target, {
        requestId: ev.id,
        payload,
        tailLogs: false,
        source: 'Event',
        eventAgeMs: this.now() - ev.enqueuedAt,
      });
    } catch (err) {
      // Throttled (429) or a system error: back to the queue, not an attempt.
      if (!(err instanceof AwsError && err.status === 429)) {
        this.settings.warn('async invocation could not run', {
          requestId: ev.id,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      return this.setback(ev, epoch);
    }
    // Stopping kills environments mid-run: that attempt is not the function's failure.
    if (this.stopped || epoch !== this.epoch) return false;
    ev.attempts++;
    ev.setbacks = 0;
    if (outcome.kind === 'success' || ev.attempts > maxRetries) {
      const condition = outcome.kind === 'success' ? 'Success' : 'RetriesExhausted';
      await this.finish(ev, target, condition, payload, outcome, epoch);
      return false;
    }
    const delays = this.settings.retryDelaysMs;
    ev.dueAt = this.now() + delays[Math.min(ev.attempts - 1, delays.length - 1)];
    await this.store.put(ASYNC_EVENTS_TABLE, ev.id, ev);
    return true;
  }

  private async setback(ev: QueuedEvent, epoch: number): Promise<boolean> {
    if (this.stopped || epoch !== this.epoch) return false;
    const base = this.settings.throttleBackoffMs ?? THROTTLE_BACKOFF_MS;
    // Jittered (half fixed, half random): events throttled together must not come back
    // together, or each wave only runs as many as the concurrency allows and the rest
    // back off again in lockstep, up to the 5-minute cap.
    const backoff = Math.min(base * 2 ** ev.setbacks, THROTTLE_BACKOFF_MAX_MS);
    ev.dueAt = this.now() + Math.round(backoff / 2 + (Math.random() * backoff) / 2);
    ev.setbacks++;
    await this.store.put(ASYNC_EVENTS_TABLE, ev.id, ev);
    return true;
  }

  /** Retires the event and, in the same transaction, queues its destination record. */
  private async finish(
    ev: QueuedEvent,
    target: InvocationTarget,
    condition: DestinationCondition,
    payload: Buffer,
    outcome: InvokeOutcome | undefined,
    epoch: number,
  ): Promise<void> {
    if (epoch !== this.epoch) return;
    const config = await this.functions.getEventInvokeConfig(
      target,
      target.functionName,
      target.qualifier ?? LATEST,
    );
    const destination = destinationFor(config, condition);
    let next: QueuedEvent | undefined;
    if (destination !== undefined) {
      const fn = lambdaDestination(destination);
      if (fn === undefined) {
        this.settings.warn('async destination not delivered: only Lambda functions are', {
          destination,
          requestId: ev.id,
        });
      } else {
        const now = this.now();
        const record = destinationRecord({
          requestId: ev.id,
          functionArn: target.version.spec.functionArn,
          condition,
          attempts: ev.attempts,
          payload,
          executedVersion: target.executedVersion,
          outcome,
          now,
        });
        next = {
          id: randomUUID(),
          account: fn.account,
          region: fn.region,
          functionName: fn.functionName,
          payload: Buffer.from(JSON.stringify(record)).toString('base64'),
          enqueuedAt: now,
          attempts: 0,
          dueAt: now,
          setbacks: 0,
        };
      }
    } else if (condition !== 'Success') {
      this.settings.warn('async event discarded', {
        function: target.functionArn,
        requestId: ev.id,
        condition,
      });
    }
    // What the attempt logged is stored before the event leaves the queue: a kill -9 in
    // between runs it again (at least once) rather than leaving no trace that it ran.
    if (outcome) await this.runner.flushLogs();
    await this.store.transaction(async (tx) => {
      await tx.delete(ASYNC_EVENTS_TABLE, ev.id);
      if (next) await tx.put(ASYNC_EVENTS_TABLE, next.id, next);
    });
    if (next) this.schedule(next);
  }
}

const servicePrincipal = rootPrincipal;
