/**
 * Lambda's CloudWatch metrics, in AWS's namespace and dimensions
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
 * `Invocations`, `Errors`, `Duration`, `Throttles`, `ConcurrentExecutions` and, for
 * asynchronous invocations, `AsyncEventAge`; each published for the account (no
 * dimension), for `FunctionName`, and for `FunctionName` + `Resource` (`name:qualifier`)
 * when the caller named a version or alias. Errors counts invocations that ended in a
 * function error ("invocations that result in a function error"), 0 for the others, so its
 * Sum is the error count and its Average the error rate.
 *
 * The invoke path only bumps counters and appends a duration to the invoked ARN's tally;
 * the tallies go to CloudWatch (events/metrics.ts) once a second, as value/count pairs.
 */
import type { MetricDimension, MetricSink } from '../../../events/metrics.js';
import type { InvokeOutcome } from '../execution/types.js';
import type { InvocationTarget } from '../functions-api.js';

const NS = 'AWS/Lambda';
const FLUSH_MS = 1000;

/** One invoked ARN's invocations since the last flush. */
interface Tally {
  scope: { account: string; region: string };
  dims: readonly (readonly MetricDimension[])[];
  invocations: number;
  errors: number;
  throttles: number;
  durations: number[];
  maxConcurrency: number;
  eventAges: number[];
}

export class LambdaMetrics {
  private tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: MetricSink | undefined) {}

  private tally(t: InvocationTarget): Tally {
    let tally = this.tallies.get(t.invokedFunctionArn);
    if (!tally) {
      const fn = [{ Name: 'FunctionName', Value: t.functionName }];
      tally = {
        scope: { account: t.account, region: t.region },
        dims:
          t.qualifier === undefined
            ? [[], fn]
            : [[], fn, [...fn, { Name: 'Resource', Value: `${t.functionName}:${t.qualifier}` }]],
        invocations: 0,
        errors: 0,
        throttles: 0,
        durations: [],
        maxConcurrency: 0,
        eventAges: [],
      };
      this.tallies.set(t.invokedFunctionArn, tally);
    }
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    this.timer.unref?.();
    return tally;
  }

  /** An invocation that ran (whatever its outcome); `running` the function's invocations in flight. */
  invoked(t: InvocationTarget, outcome: InvokeOutcome, running: number, eventAgeMs?: number): void {
    if (!this.sink?.enabled) return;
    const tally = this.tally(t);
    tally.invocations++;
    if (outcome.kind !== 'success') tally.errors++;
    tally.durations.push(outcome.durationMs);
    if (running > tally.maxConcurrency) tally.maxConcurrency = running;
    if (eventAgeMs !== undefined) tally.eventAges.push(eventAgeMs);
  }

  /** An invocation refused for lack of concurrency (429). */
  throttled(t: InvocationTarget): void {
    if (!this.sink?.enabled) return;
    this.tally(t).throttles++;
  }

  /** Hands the tallies to CloudWatch. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const sink = this.sink;
    const tallies = this.tallies;
    this.tallies = new Map();
    if (!sink) return;
    const now = Date.now();
    for (const t of tallies.values()) {
      for (const d of t.dims) {
        const put = (name: string, value: number, count: number, unit: string) =>
          sink.put(t.scope, NS, name, d, value, unit, now, count);
        if (t.invocations > 0) {
          put('Invocations', 1, t.invocations, 'Count');
          if (t.errors > 0) put('Errors', 1, t.errors, 'Count');
          if (t.invocations > t.errors) put('Errors', 0, t.invocations - t.errors, 'Count');
          for (const ms of t.durations) put('Duration', ms, 1, 'Milliseconds');
          put('ConcurrentExecutions', t.maxConcurrency, 1, 'Count');
        }
        if (t.throttles > 0) put('Throttles', 1, t.throttles, 'Count');
        for (const age of t.eventAges) put('AsyncEventAge', age, 1, 'Milliseconds');
      }
    }
  }
}
