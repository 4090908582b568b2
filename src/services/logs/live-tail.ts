/**
 * StartLiveTail: a stream of the events ingested into some log groups from now on. The
 * answer is an event stream (the json codec frames it, protocol/event-stream.ts): one
 * `sessionStart`, then every second a `sessionUpdate` with the events that arrived
 * (as many as 500, "sampled down" past that), until the client goes away or the session
 * reaches three hours and ends with a SessionTimeoutException.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartLiveTail.html
 */
import { randomUUID } from 'node:crypto';
import type { LogsOperations } from '../../api/logs/operations.js';
import { LimitExceededException, ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LiveTailSessionLogEvent, StartLiveTailResponseStream } from '../../api/logs/types.js';
import { invalid, type LogsDeps, parseGroupArn, scopeOf } from './common.js';
import { compileFilterPattern, FilterPatternError, type Matcher } from './filter-pattern.js';
import { GROUPS, type GroupRecord, groupKey, type Scope } from './store.js';
import type { AppendedEvent } from './subscription-delivery.js';

/** "SessionTimeoutException … when the session times out, after it has been kept open for three hours." */
export const SESSION_LIMIT_MS = 3 * 3_600_000;
/** "Every second, a LiveTailSessionUpdate object is sent." */
export const UPDATE_INTERVAL_MS = 1000;
/** "can include as many as 500 log events … sampled down to 500". */
const MAX_UPDATE_EVENTS = 500;
/** "CloudWatch Logs buffers up to … 5000 log events, after which it starts dropping the oldest". */
const MAX_BUFFERED_EVENTS = 5000;
/** CloudWatch Logs quota: 15 concurrent Live Tail sessions per account and region. */
export const MAX_SESSIONS = 15;

interface Listener {
  scope: Scope;
  /** Group name → the identifier the caller named it by (reported back on each event). */
  groups: Map<string, string>;
  streams?: Set<string>;
  prefixes?: string[];
  matches: Matcher;
  buffer: LiveTailSessionLogEvent[];
  /** Events dropped or beyond the update size since the last update. */
  sampled: boolean;
  /** When its session last took events (or started): see STALE_AFTER_MS. */
  polledAt: number;
}

/**
 * A listener whose session has not taken events for this long is dropped: a stream that
 * was never read (a HEAD request, a client gone before the answer) would otherwise listen,
 * buffer and hold a session of the quota forever. A session that resumes re-registers.
 */
const STALE_AFTER_MS = 5 * 60_000;

/** Where appended events meet the open sessions (fed by SubscriptionDelivery.appended). */
export class LiveTailHub {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly now: () => number = Date.now) {}

  appended(scope: Scope, group: string, stream: string, events: readonly AppendedEvent[]): void {
    if (this.listeners.size === 0 || events.length === 0) return;
    const ingestionTime = this.now();
    this.dropStale(ingestionTime);
    for (const l of this.listeners) {
      if (l.scope.account !== scope.account || l.scope.region !== scope.region) continue;
      const identifier = l.groups.get(group);
      if (identifier === undefined) continue;
      if (l.streams && !l.streams.has(stream)) continue;
      if (l.prefixes && !l.prefixes.some((p) => stream.startsWith(p))) continue;
      for (const e of events) {
        if (!l.matches(e.message)) continue;
        l.buffer.push({
          logStreamName: stream,
          logGroupIdentifier: identifier,
          message: e.message,
          timestamp: e.timestamp,
          ingestionTime,
        });
      }
      if (l.buffer.length > MAX_BUFFERED_EVENTS) {
        l.buffer.splice(0, l.buffer.length - MAX_BUFFERED_EVENTS);
        l.sampled = true;
      }
    }
  }

  add(l: Listener): void {
    l.polledAt = this.now();
    this.listeners.add(l);
  }

  /** The session took its events: still alive (re-registered if it had been dropped). */
  polled(l: Listener): void {
    l.polledAt = this.now();
    if (!this.listeners.has(l)) {
      this.listeners.add(l);
      l.sampled = true;
    }
  }

  remove(l: Listener): void {
    this.listeners.delete(l);
  }

  private dropStale(now: number): void {
    for (const l of this.listeners) if (now - l.polledAt > STALE_AFTER_MS) this.listeners.delete(l);
  }

  sessions(scope: Scope): number {
    this.dropStale(this.now());
    let n = 0;
    for (const l of this.listeners) {
      if (l.scope.account === scope.account && l.scope.region === scope.region) n++;
    }
    return n;
  }
}

export interface LiveTailTiming {
  sessionLimitMs: number;
  updateIntervalMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function liveTailOperations(
  deps: LogsDeps,
  timing: LiveTailTiming = {
    sessionLimitMs: SESSION_LIMIT_MS,
    updateIntervalMs: UPDATE_INTERVAL_MS,
  },
): Pick<LogsOperations, 'StartLiveTail'> {
  const hub = deps.liveTail ?? new LiveTailHub();
  return {
    async StartLiveTail(input, ctx) {
      const scope = scopeOf(ctx);
      const { logStreamNames, logStreamNamePrefixes } = input;
      if (logStreamNames !== undefined && logStreamNamePrefixes !== undefined) {
        throw invalid(
          'logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.',
        );
      }
      if ((logStreamNames ?? logStreamNamePrefixes) && input.logGroupIdentifiers.length !== 1) {
        throw invalid(
          'If you specify logStreamNames or logStreamNamePrefixes, you must specify only one log group in logGroupIdentifiers.',
        );
      }
      const groups = new Map<string, string>();
      for (const id of input.logGroupIdentifiers) {
        let name = id;
        if (id.startsWith('arn:')) {
          const arn = parseGroupArn(id);
          if (!arn) throw invalid(`Invalid ARN: ${id}`);
          if (arn.account !== scope.account || arn.region !== scope.region) {
            throw new ResourceNotFoundException('The specified log group does not exist.');
          }
          name = arn.name;
        }
        const g = await deps.store.get<GroupRecord>(GROUPS, groupKey(scope, name));
        if (!g) throw new ResourceNotFoundException('The specified log group does not exist.');
        // Live Tail is a feature of the Standard log class only (CloudWatch_Logs_Log_Classes).
        if (g.logGroupClass !== 'STANDARD') {
          throw invalid(
            `Log group '${name}' is in the ${g.logGroupClass} log class; Live Tail supports only STANDARD log groups.`,
          );
        }
        groups.set(name, id);
      }
      let matches: Matcher;
      try {
        matches = compileFilterPattern(input.logEventFilterPattern);
      } catch (err) {
        if (err instanceof FilterPatternError) throw invalid('Invalid filter pattern');
        throw err;
      }
      if (hub.sessions(scope) >= MAX_SESSIONS) {
        throw new LimitExceededException(
          `You have reached the maximum number of concurrent Live Tail sessions (${MAX_SESSIONS}).`,
        );
      }
      const listener: Listener = {
        scope,
        groups,
        streams: logStreamNames ? new Set(logStreamNames) : undefined,
        prefixes: logStreamNamePrefixes,
        matches,
        buffer: [],
        sampled: false,
        polledAt: 0, // set by hub.add
      };
      // Listening starts with the call, so nothing ingested after the answer is missed.
      hub.add(listener);
      const start: StartLiveTailResponseStream = {
        sessionStart: {
          requestId: ctx.requestId,
          sessionId: randomUUID(),
          logGroupIdentifiers: input.logGroupIdentifiers,
          ...(logStreamNames ? { logStreamNames } : {}),
          ...(logStreamNamePrefixes ? { logStreamNamePrefixes } : {}),
          ...(input.logEventFilterPattern !== undefined
            ? { logEventFilterPattern: input.logEventFilterPattern }
            : {}),
        },
      };
      async function* session(): AsyncGenerator<StartLiveTailResponseStream> {
        try {
          yield start;
          const deadline = Date.now() + timing.sessionLimitMs;
          for (;;) {
            const left = deadline - Date.now();
            await sleep(Math.max(0, Math.min(timing.updateIntervalMs, left)));
            if (Date.now() >= deadline) {
              yield {
                SessionTimeoutException: {
                  message: 'Live Tail session has ended after reaching the timeout of 3 hours.',
                },
              };
              return;
            }
            hub.polled(listener);
            const events = listener.buffer.splice(0);
            const sampled = listener.sampled || events.length > MAX_UPDATE_EVENTS;
            listener.sampled = false;
            yield {
              sessionUpdate: {
                sessionMetadata: { sampled },
                sessionResults: sampled ? sample(events, MAX_UPDATE_EVENTS) : events,
              },
            };
          }
        } finally {
          hub.remove(listener);
        }
      }
      // The generated type names the union; the json codec takes an AsyncIterable of it
      // (protocol/event-stream.ts) and frames each event as it comes.
      const responseStream = session() as unknown as StartLiveTailResponseStream;
      return { responseStream };
    },
  };
}

/** `n` events spread evenly over `events`, in order. */
function sample<T>(events: T[], n: number): T[] {
  if (events.length <= n) return events;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(events[Math.floor((i * events.length) / n)]);
  return out;
}
