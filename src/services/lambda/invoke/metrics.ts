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
 * Publishing is a few in-memory additions per invocation (events/metrics.ts): nothing is
 * awaited on the invoke path.
 */
import type { MetricDimension, MetricSink } from '../../../events/metrics.js';
import type { InvokeOutcome } from '../execution/types.js';
import type { InvocationTarget } from '../functions-api.js';

const NS = 'AWS/Lambda';
const NONE: readonly MetricDimension[] = [];

export class LambdaMetrics {
  /** Dimension sets per invoked ARN (a warm invoke builds none). */
  private readonly dims = new Map<string, readonly (readonly MetricDimension[])[]>();

  constructor(private readonly sink: MetricSink | undefined) {}

  get enabled(): boolean {
    return this.sink?.enabled ?? false;
  }

  private dimensionsOf(t: InvocationTarget): readonly (readonly MetricDimension[])[] {
    let sets = this.dims.get(t.invokedFunctionArn);
    if (!sets) {
      const fn = [{ Name: 'FunctionName', Value: t.functionName }];
      sets =
        t.qualifier === undefined
          ? [NONE, fn]
          : [NONE, fn, [...fn, { Name: 'Resource', Value: `${t.functionName}:${t.qualifier}` }]];
      if (this.dims.size > 10_000) this.dims.clear();
      this.dims.set(t.invokedFunctionArn, sets);
    }
    return sets;
  }

  /** An invocation that ran (whatever its outcome); `running` the function's invocations in flight. */
  invoked(t: InvocationTarget, outcome: InvokeOutcome, running: number, eventAgeMs?: number): void {
    const sink = this.sink;
    if (!sink?.enabled) return;
    const error = outcome.kind === 'success' ? 0 : 1;
    for (const d of this.dimensionsOf(t)) {
      sink.put(t, NS, 'Invocations', d, 1, 'Count');
      sink.put(t, NS, 'Errors', d, error, 'Count');
      sink.put(t, NS, 'Duration', d, outcome.durationMs, 'Milliseconds');
      sink.put(t, NS, 'ConcurrentExecutions', d, running, 'Count');
      if (eventAgeMs !== undefined) sink.put(t, NS, 'AsyncEventAge', d, eventAgeMs, 'Milliseconds');
    }
  }

  /** An invocation refused for lack of concurrency (429). */
  throttled(t: InvocationTarget): void {
    const sink = this.sink;
    if (!sink?.enabled) return;
    for (const d of this.dimensionsOf(t)) sink.put(t, NS, 'Throttles', d, 1, 'Count');
  }
}
