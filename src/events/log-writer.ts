/**
 * Output on its way to CloudWatch Logs (Lambda's function logs, ECS's awslogs, API Gateway's
 * access logs): events are batched and appended off the hot path, a flush's streams together
 * in LogSink.appendMany calls (one transaction each) of at most EVENTS_PER_APPEND events, the
 * event loop turning between them; flushes serialized so a stream's events keep their order.
 */
import type { LogBatch, LogEventInput, LogSink } from './logs.js';

/** CloudWatch Logs' largest event; longer output lines are split, as Lambda does. */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * Events per LogSink.appendMany call. A busy function's flush was one transaction: at 7,000
 * invocations a second, ~2,000 START/END/REPORT events every 100 ms, 7–9 ms of SQLite on the
 * event loop that every request in flight waited for. In slices, with the loop turning
 * between them, no one waits for more than a slice. Each slice is a commit: 256 cost ~8%
 * more CPU per invocation, 512 about none, and cut the p99 of a function URL under load by
 * a fifth (bench/README.md, "Function logs in slices").
 */
export const EVENTS_PER_APPEND = 512;

export class LogStream {
  events: LogEventInput[] = [];
  dirty = false;

  constructor(
    readonly scope: { account: string; region: string },
    readonly group: string,
    readonly name: string,
    private readonly writer: LogWriter,
  ) {}

  push(timestamp: number, message: string): void {
    this.events.push({ timestamp, message });
    if (!this.dirty) {
      this.dirty = true;
      this.writer.markDirty(this);
    }
  }
}

export class LogWriter {
  private dirty: LogStream[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: LogSink,
    private readonly flushDelayMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  open(scope: { account: string; region: string }, group: string, name: string): LogStream {
    return new LogStream(scope, group, name, this);
  }

  markDirty(stream: LogStream): void {
    this.dirty.push(stream);
    if (this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), this.flushDelayMs);
      this.timer.unref();
    }
  }

  /** Appends everything pushed so far; resolves when it is in the sink. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.dirty;
    this.dirty = [];
    if (batch.length === 0) return this.flushing;
    const work: LogBatch[] = batch.map((s) => {
      const events = s.events;
      s.events = [];
      s.dirty = false;
      return { scope: s.scope, logGroupName: s.group, logStreamName: s.name, events };
    });
    const sink = this.sink;
    this.flushing = this.flushing.then(async () => {
      if (sink.appendMany === undefined) {
        await Promise.all(
          work.map((b) =>
            sink.append(b.scope, b.logGroupName, b.logStreamName, b.events).catch(this.onError),
          ),
        );
        return;
      }
      const slices = slicesOf(work, EVENTS_PER_APPEND);
      for (let i = 0; i < slices.length; i++) {
        if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        await sink.appendMany(slices[i]).catch(this.onError);
      }
    });
    return this.flushing;
  }
}

/** The batches cut into runs of at most `max` events, each stream's events in order. */
function slicesOf(batches: readonly LogBatch[], max: number): LogBatch[][] {
  const slices: LogBatch[][] = [];
  let slice: LogBatch[] = [];
  let room = max;
  for (const batch of batches) {
    let events = batch.events;
    while (events.length > 0) {
      if (room === 0) {
        slices.push(slice);
        slice = [];
        room = max;
      }
      const part = events.length <= room ? events : events.slice(0, room);
      slice.push(part === batch.events ? batch : { ...batch, events: part });
      room -= part.length;
      events = part === events ? [] : events.slice(part.length);
    }
  }
  if (slice.length > 0) slices.push(slice);
  return slices;
}

/**
 * Splits a process's output into log lines. Lambda's runtimes write one event per line and
 * encode the line breaks inside an event as \r (AWS's runtimes do the same on stdout),
 * which become newlines again here.
 */
export class LineSplitter {
  private rest: Buffer | null = null;

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      this.emit(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    if (start < buf.length) {
      let rest = buf.subarray(start);
      while (rest.length >= MAX_EVENT_BYTES) {
        this.emit(rest.toString('utf8', 0, MAX_EVENT_BYTES));
        rest = rest.subarray(MAX_EVENT_BYTES);
      }
      this.rest = rest.length > 0 ? Buffer.from(rest) : null;
    }
  }

  /** Emits an unterminated last line (the process ended). */
  end(): void {
    if (this.rest !== null) {
      const rest = this.rest;
      this.rest = null;
      this.emit(rest.toString('utf8'));
    }
  }

  private emit(line: string): void {
    let text = line;
    if (text.includes('\r')) {
      if (text.endsWith('\r')) text = text.slice(0, -1);
      text = text.replaceAll('\r', '\n');
    }
    this.onLine(text);
  }
}
