/**
 * The internal event bus: services publish what happened (an S3 object created, an ECS
 * task stopped, an event PutEvents accepted, a schedule due), consumers subscribe.
 *
 *   publish(events)          stores the events in one transaction; once it resolves they
 *                            survive kill -9 and every subscriber will see them.
 *   subscribe(name, handler) before the server starts; the handler sees every event
 *                            published after its first start, in order, at least once.
 *
 * Each subscriber has a durable cursor (the last sequence number it finished). A handler
 * that throws is retried with backoff (the cursor stays), so consumers must be idempotent
 * on `event.id`: after a crash the events past the cursor are handed out again.
 * Events every subscriber has passed are deleted.
 */
import { randomUUID } from 'node:crypto';
import type { MetadataStore } from '../storage/types.js';

/** One event, in EventBridge's envelope (what a rule's pattern sees, minus `version`). */
export interface BusEvent {
  /** Unique; consumers deduplicate on it. */
  id: string;
  /** e.g. `aws.s3`, `aws.ecs`, `aws.batch`, `aws.events`, or a PutEvents source. */
  source: string;
  detailType: string;
  account: string;
  region: string;
  /** ISO 8601 without milliseconds, as AWS writes `time`. */
  time: string;
  resources: string[];
  detail: unknown;
  /**
   * Where it goes, when not to the account's default event bus: the bus PutEvents named,
   * or exactly one rule or schedule (a scheduled firing).
   */
  to?: { eventBus?: string; rule?: string; schedule?: string };
}

export type BusEventInput = Omit<BusEvent, 'id' | 'time'> & { id?: string; time?: string };

export type BusHandler = (event: BusEvent) => Promise<void>;

export interface EventBus {
  /** Durable once resolved; resolves the stored events (ids and times filled in). */
  publish(events: readonly BusEventInput[]): Promise<BusEvent[]>;
  /** Registers a consumer (before start); `name` keys its durable cursor. */
  subscribe(name: string, handler: BusHandler): void;
}

const EVENTS_TABLE = 'bus:events';
const CURSORS_TABLE = 'bus:cursors';
const BATCH = 50;
const RETRY_MS = [100, 500, 2000, 5000];

/** AWS's `time`: second precision, `Z`. */
export function awsTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const seqKey = (n: number) => n.toString().padStart(16, '0');

interface Subscriber {
  name: string;
  handler: BusHandler;
  cursor: number;
  running: boolean;
  again: boolean;
  failures: number;
  retry?: NodeJS.Timeout;
}

export class DurableBus implements EventBus {
  private seq = 0;
  private readonly subscribers = new Map<string, Subscriber>();
  private started = false;
  private idle: Promise<void>[] = [];

  constructor(
    private readonly store: MetadataStore,
    private readonly onError: (subscriber: string, event: BusEvent, err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  subscribe(name: string, handler: BusHandler): void {
    if (this.subscribers.has(name)) throw new Error(`bus subscriber ${name} registered twice`);
    this.subscribers.set(name, {
      name,
      handler,
      cursor: 0,
      running: false,
      again: false,
      failures: 0,
    });
  }

  async publish(inputs: readonly BusEventInput[]): Promise<BusEvent[]> {
    if (!inputs.length) return [];
    const time = awsTime(this.now());
    const events = inputs.map((e) => ({ ...e, id: e.id ?? randomUUID(), time: e.time ?? time }));
    // Numbers are taken inside the transaction: commits happen in number order, so a
    // subscriber never passes a number whose event is not yet visible.
    await this.store.transaction(async (tx) => {
      for (const e of events) await tx.put(EVENTS_TABLE, seqKey(++this.seq), e);
    });
    if (this.started) for (const s of this.subscribers.values()) this.wake(s);
    return events;
  }

  /** Loads the cursors (a new subscriber starts at the current end) and delivers the backlog. */
  async start(): Promise<void> {
    const last = await this.store.list<BusEvent>(EVENTS_TABLE, { reverse: true, limit: 1 });
    this.seq = Math.max(this.seq, last.length ? Number(last[0].key) : 0);
    for (const s of this.subscribers.values()) {
      const saved = await this.store.get<number>(CURSORS_TABLE, s.name);
      if (saved === undefined) {
        const first = await this.store.list<BusEvent>(EVENTS_TABLE, { limit: 1 });
        s.cursor = first.length ? Number(first[0].key) - 1 : this.seq;
        await this.store.put(CURSORS_TABLE, s.name, s.cursor);
      } else {
        s.cursor = saved;
      }
    }
    this.started = true;
    for (const s of this.subscribers.values()) this.wake(s);
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const s of this.subscribers.values()) if (s.retry) clearTimeout(s.retry);
    await Promise.allSettled(this.idle);
  }

  /** Events stored and not yet passed by every subscriber (tests, health). */
  async backlog(): Promise<number> {
    return this.store.count(EVENTS_TABLE);
  }

  private wake(s: Subscriber): void {
    if (s.running) {
      s.again = true;
      return;
    }
    if (s.retry) return;
    s.running = true;
    const run = this.drain(s).finally(() => {
      s.running = false;
      this.idle = this.idle.filter((p) => p !== run);
      if (s.again && this.started && !s.retry) {
        s.again = false;
        this.wake(s);
      }
    });
    this.idle.push(run);
  }

  private async drain(s: Subscriber): Promise<void> {
    while (this.started) {
      s.again = false;
      const rows = await this.store.list<BusEvent>(EVENTS_TABLE, {
        after: seqKey(s.cursor),
        limit: BATCH,
      });
      if (!rows.length) return;
      for (const row of rows) {
        if (!this.started) return;
        try {
          await s.handler(row.value);
          s.failures = 0;
        } catch (err) {
          this.onError(s.name, row.value, err);
          if (s.failures < RETRY_MS.length) {
            const delay = RETRY_MS[s.failures++];
            await this.saveCursor(s);
            s.retry = setTimeout(() => {
              s.retry = undefined;
              if (this.started) this.wake(s);
            }, delay);
            s.retry.unref();
            return;
          }
          // Given up on this one event: the rest must not wait for it forever.
          s.failures = 0;
        }
        s.cursor = Number(row.key);
      }
      await this.saveCursor(s);
      await this.prune();
    }
  }

  private async saveCursor(s: Subscriber): Promise<void> {
    await this.store.put(CURSORS_TABLE, s.name, s.cursor);
  }

  /** Deletes the events every subscriber has passed. */
  private async prune(): Promise<void> {
    let low = Infinity;
    for (const s of this.subscribers.values()) low = Math.min(low, s.cursor);
    if (low === Infinity) low = this.seq;
    const done = await this.store.list(EVENTS_TABLE, { before: seqKey(low + 1), limit: 1000 });
    if (!done.length) return;
    await this.store.transaction(async (tx) => {
      for (const row of done) await tx.delete(EVENTS_TABLE, row.key);
    });
  }
}
