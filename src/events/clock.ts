/**
 * The scheduling clock: when EventBridge schedule rules, Scheduler schedules and CloudWatch
 * Logs scheduled queries fire.
 * It follows the wall clock, plus an offset tests and users can move forward
 * (`POST /_stratus/clock`, `stratus clock advance 3h`): advancing fires, in time order,
 * every firing the skipped span held, each stamped with its own scheduled time.
 *
 * Next firings live in memory and are computed from "now" when their owner registers them
 * at start: firings missed while Stratus was down are not replayed, as AWS does not
 * replay those of a rule that was disabled or a service that could not deliver. The
 * offset is kept in the store, so time moved forward stays moved after a restart.
 */
import type { MetadataStore } from '../storage/types.js';

/** Fires once at `at` (ms on this clock); resolves the next firing, or undefined when done. */
export type Firing = (at: number) => Promise<number | undefined>;

interface Entry {
  next: number;
  fire: Firing;
}

const CLOCK_TABLE = 'events:clock';
/** Longest single timer (setTimeout's limit is 2^31-1 ms); it re-arms. */
const MAX_TIMER_MS = 60_000;

export class SchedulingClock {
  private offset = 0;
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  /** Firing is serialised: one pass at a time, in time order. */
  private pass: Promise<number> = Promise.resolve(0);
  private started = false;

  constructor(
    private readonly store: MetadataStore,
    private readonly onError: (err: unknown, key: string) => void,
    private readonly wall: () => number = Date.now,
  ) {}

  now(): number {
    return this.wall() + this.offset;
  }

  /** How far ahead of the wall clock it is (ms). */
  offsetMs(): number {
    return this.offset;
  }

  /** Loads the offset; timers run from now on. */
  async start(): Promise<void> {
    const saved = await this.store.get<{ offsetMs: number }>(CLOCK_TABLE, 'offset');
    this.offset = saved?.offsetMs ?? 0;
    this.started = true;
    this.arm();
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** After a reset: time is the wall clock again, nothing is scheduled. */
  reset(): void {
    this.offset = 0;
    this.entries.clear();
    this.arm();
  }

  /** Schedules (or reschedules) `key`; `next` undefined removes it. */
  set(key: string, next: number | undefined, fire: Firing): void {
    if (next === undefined) this.entries.delete(key);
    else this.entries.set(key, { next, fire });
    this.arm();
  }

  remove(key: string): void {
    this.entries.delete(key);
    this.arm();
  }

  nextOf(key: string): number | undefined {
    return this.entries.get(key)?.next;
  }

  /** Moves time forward by `ms` and fires what fell due; resolves how many firings ran. */
  async advance(ms: number): Promise<number> {
    if (!(ms >= 0)) throw new RangeError('time only moves forward');
    this.offset += ms;
    await this.store.put(CLOCK_TABLE, 'offset', { offsetMs: this.offset });
    return this.runDue();
  }

  /** Fires `key` now, outside its schedule (its next firing stays). False when unknown. */
  async fireNow(key: string): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!entry) return false;
    await this.serialised(async () => {
      await entry.fire(this.now());
      return 0;
    });
    return true;
  }

  private runDue(): Promise<number> {
    return this.serialised(async () => {
      let fired = 0;
      for (;;) {
        const now = this.now();
        let due: [string, Entry] | undefined;
        for (const e of this.entries) {
          if (e[1].next <= now && (!due || e[1].next < due[1].next)) due = e;
        }
        if (!due) break;
        const [key, entry] = due;
        let next: number | undefined;
        try {
          next = await entry.fire(entry.next);
        } catch (err) {
          this.onError(err, key);
          next = undefined;
        }
        fired++;
        // The owner may have replaced or removed the entry while it fired.
        if (this.entries.get(key) === entry) {
          if (next === undefined || next <= entry.next) this.entries.delete(key);
          else entry.next = next;
        }
      }
      return fired;
    });
  }

  private serialised(fn: () => Promise<number>): Promise<number> {
    const run = this.pass.then(fn, fn);
    this.pass = run.catch(() => 0);
    return run.finally(() => this.arm());
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.started) return;
    let earliest = Infinity;
    for (const e of this.entries.values()) earliest = Math.min(earliest, e.next);
    if (earliest === Infinity) return;
    const wait = Math.min(Math.max(earliest - this.now(), 0), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runDue();
    }, wait);
    this.timer.unref();
  }
}
