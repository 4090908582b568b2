/**
 * The `stats` functions: each accumulates the values of one group's records.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html
 */
import type { FunctionSpec } from './functions.js';
import { sortCompare, toNumber, toText, type Value } from './values.js';

export interface Accumulator {
  /** `args` evaluated on one record; `star` for count(*). `ts` is the record's @timestamp. */
  add(args: Value[], ts: number): void;
  result(): Value;
}

export interface AggregateSpec extends FunctionSpec {
  create(): Accumulator;
}

function numeric(reduce: (acc: number[]) => Value): AggregateSpec['create'] {
  return () => {
    const values: number[] = [];
    return {
      add([v]) {
        const n = v === null ? undefined : toNumber(v);
        if (n !== undefined) values.push(n);
      },
      result: () => (values.length === 0 ? null : reduce(values)),
    };
  };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function byTime(pick: (ts: number, best: number) => boolean): AggregateSpec['create'] {
  return () => {
    let best: { ts: number; v: Value } | undefined;
    return {
      add([v], ts) {
        if (v === null) return;
        if (!best || pick(ts, best.ts)) best = { ts, v };
      },
      result: () => best?.v ?? null,
    };
  };
}

function extreme(sign: 1 | -1): AggregateSpec['create'] {
  return () => {
    let best: Value = null;
    return {
      add([v]) {
        if (v === null) return;
        // min and max of numbers compare numerically; of other values, as sort does.
        if (best === null || sortCompare(v, best) * sign > 0) best = v;
      },
      result: () => best,
    };
  };
}

export const AGGREGATES: Record<string, AggregateSpec> = {
  count: {
    min: 0,
    max: 1,
    create() {
      let n = 0;
      return {
        add(args) {
          if (args.length === 0 || args[0] !== null) n++;
        },
        result: () => n,
      };
    },
  },
  count_distinct: {
    min: 1,
    max: 1,
    create() {
      const seen = new Set<string>();
      return {
        add([v]) {
          if (v !== null) seen.add(toText(v) ?? '');
        },
        result: () => seen.size,
      };
    },
  },
  sum: { min: 1, max: 1, create: numeric(sum) },
  avg: { min: 1, max: 1, create: numeric((xs) => sum(xs) / xs.length) },
  min: { min: 1, max: 1, create: extreme(-1) },
  max: { min: 1, max: 1, create: extreme(1) },
  stddev: {
    min: 1,
    max: 1,
    create: numeric((xs) => {
      // The sample standard deviation (n - 1), as AWS's examples compute it.
      if (xs.length < 2) return 0;
      const mean = sum(xs) / xs.length;
      return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
    }),
  },
  pct: {
    min: 2,
    max: 2,
    create() {
      const values: number[] = [];
      let p = 50;
      return {
        add([v, q]) {
          const pv = toNumber(q ?? null);
          if (pv !== undefined) p = pv;
          const n = v === null ? undefined : toNumber(v);
          if (n !== undefined) values.push(n);
        },
        result: () =>
          values.length === 0
            ? null
            : percentile(
                [...values].sort((a, b) => a - b),
                p,
              ),
      };
    },
  },
  earliest: { min: 1, max: 1, create: byTime((ts, best) => ts < best) },
  latest: { min: 1, max: 1, create: byTime((ts, best) => ts >= best) },
  sortsfirst: { min: 1, max: 1, create: extreme(-1) },
  sortslast: { min: 1, max: 1, create: extreme(1) },
};
