/**
 * Metric math: parses and evaluates GetMetricData / alarm expressions over time series on
 * one grid of timestamps (NaN = no data point).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
 *
 * Arithmetic (+ - * / ^), comparisons and AND/OR (1 or 0), and the functions ABS, AVG,
 * CEIL, DIFF, FILL (value, REPEAT, LINEAR), FLOOR, IF, LOG, LOG10, MAX, METRICS, MIN,
 * PERIOD, RATE, SQRT, STDDEV, SUM, SEARCH and ANOMALY_DETECTION_BAND (two series, upper
 * and lower, from anomaly-model.ts). As AWS says: "The AVG of a single time
 * series returns a scalar … The AVG of an array of time series returns a single time
 * series" (likewise SUM, MIN, MAX, STDDEV).
 */

export interface TimeSeries {
  label: string;
  values: Float64Array;
}

export type MathValue =
  | { kind: 'scalar'; v: number }
  | { kind: 'series'; s: TimeSeries }
  | { kind: 'array'; list: TimeSeries[] }
  | { kind: 'string'; v: string };

export class MathError extends Error {}

/** What an expression can reach beyond itself. */
export interface MathContext {
  /** Bucket starts (epoch ms), ascending. */
  timestamps: readonly number[];
  periodSec: number;
  /** Another query's result by id (MathError when unknown). */
  ref(id: string): MathValue;
  /** METRICS(): the MetricStat queries' series, filtered by label when a filter is given. */
  metrics(filter?: string): TimeSeries[];
  /** SEARCH(expression, stat, period). */
  search(query: string, stat: string, periodSec: number): TimeSeries[];
  /** ANOMALY_DETECTION_BAND(id, k): the band of query `id`, upper then lower. */
  band(id: string, stddevs: number): [TimeSeries, TimeSeries];
}

// ---------------------------------------------------------------------------------------
// Parsing

type Node =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; name: string }
  | { t: 'call'; fn: string; args: Node[] }
  | { t: 'neg'; e: Node }
  | { t: 'bin'; op: string; l: Node; r: Node };

interface Token {
  kind: 'num' | 'str' | 'name' | 'op';
  text: string;
}

const OPS = ['>=', '<=', '==', '!=', '&&', '||', '+', '-', '*', '/', '^', '(', ')', ',', '>', '<'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) throw new MathError(`Unexpected character "${c}"`);
      out.push({ kind: 'num', text: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) j++;
        text += src[j++];
      }
      if (j >= src.length) throw new MathError('Unterminated string');
      out.push({ kind: 'str', text });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ kind: 'name', text: m[0] });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new MathError(`Unexpected character "${c}"`);
    out.push({ kind: 'op', text: op });
    i += op.length;
  }
  return out;
}

export function parseExpression(src: string): Node {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (text: string): boolean => peek()?.kind === 'op' && peek()!.text === text;
  const isWord = (w: string): boolean => peek()?.kind === 'name' && peek()!.text === w;
  const expect = (text: string): void => {
    if (!isOp(text)) throw new MathError(`Expected "${text}"`);
    pos++;
  };
  const or = (): Node => {
    let l = and();
    while (isOp('||') || isWord('OR')) {
      pos++;
      l = { t: 'bin', op: 'OR', l, r: and() };
    }
    return l;
  };
  const and = (): Node => {
    let l = cmp();
    while (isOp('&&') || isWord('AND')) {
      pos++;
      l = { t: 'bin', op: 'AND', l, r: cmp() };
    }
    return l;
  };
  const cmp = (): Node => {
    const l = add();
    const t = peek();
    if (t?.kind === 'op' && ['>', '<', '>=', '<=', '==', '!='].includes(t.text)) {
      pos++;
      return { t: 'bin', op: t.text, l, r: add() };
    }
    return l;
  };
  const add = (): Node => {
    let l = mul();
    while (isOp('+') || isOp('-')) {
      const op = tokens[pos++].text;
      l = { t: 'bin', op, l, r: mul() };
    }
    return l;
  };
  const mul = (): Node => {
    let l = pow();
    while (isOp('*') || isOp('/')) {
      const op = tokens[pos++].text;
      l = { t: 'bin', op, l, r: pow() };
    }
    return l;
  };
  const pow = (): Node => {
    const l = unary();
    if (isOp('^')) {
      pos++;
      return { t: 'bin', op: '^', l, r: pow() };
    }
    return l;
  };
  const unary = (): Node => {
    if (isOp('-')) {
      pos++;
      return { t: 'neg', e: unary() };
    }
    return primary();
  };
  const primary = (): Node => {
    const t = peek();
    if (!t) throw new MathError('Unexpected end of expression');
    pos++;
    if (t.kind === 'num') return { t: 'num', v: Number(t.text) };
    if (t.kind === 'str') return { t: 'str', v: t.text };
    if (t.kind === 'op' && t.text === '(') {
      const e = or();
      expect(')');
      return e;
    }
    if (t.kind === 'name') {
      if (isOp('(')) {
        pos++;
        const args: Node[] = [];
        if (!isOp(')')) {
          args.push(or());
          while (isOp(',')) {
            pos++;
            args.push(or());
          }
        }
        expect(')');
        return { t: 'call', fn: t.text.toUpperCase(), args };
      }
      return { t: 'id', name: t.text };
    }
    throw new MathError(`Unexpected "${t.text}"`);
  };
  const node = or();
  if (pos < tokens.length) throw new MathError(`Unexpected "${tokens[pos].text}"`);
  return node;
}

/** The query ids an expression refers to (evaluation order). */
export function referencedIds(node: Node): string[] {
  switch (node.t) {
    case 'id':
      return [node.name];
    case 'call':
      return node.args.flatMap(referencedIds);
    case 'neg':
      return referencedIds(node.e);
    case 'bin':
      return [...referencedIds(node.l), ...referencedIds(node.r)];
    default:
      return [];
  }
}

/** Whether the expression calls METRICS() (it then depends on every MetricStat query). */
export function usesMetrics(node: Node): boolean {
  switch (node.t) {
    case 'call':
      return node.fn === 'METRICS' || node.args.some(usesMetrics);
    case 'neg':
      return usesMetrics(node.e);
    case 'bin':
      return usesMetrics(node.l) || usesMetrics(node.r);
    default:
      return false;
  }
}

export type Expression = Node;

// ---------------------------------------------------------------------------------------
// Evaluation

export function evaluate(node: Node, ctx: MathContext): MathValue {
  const n = ctx.timestamps.length;
  const ev = (e: Node): MathValue => evaluate(e, ctx);
  switch (node.t) {
    case 'num':
      return { kind: 'scalar', v: node.v };
    case 'str':
      return { kind: 'string', v: node.v };
    case 'id':
      if (node.name === 'REPEAT' || node.name === 'LINEAR') return { kind: 'string', v: node.name };
      return ctx.ref(node.name);
    case 'neg':
      return map(ev(node.e), (x) => -x, n);
    case 'bin':
      return binary(node.op, ev(node.l), ev(node.r), n);
    case 'call':
      return call(node.fn, node.args, ctx, ev);
  }
}

function series(label: string, n: number, f: (i: number) => number): TimeSeries {
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = f(i);
  return { label, values };
}

function map(v: MathValue, f: (x: number) => number, n: number): MathValue {
  switch (v.kind) {
    case 'scalar':
      return { kind: 'scalar', v: f(v.v) };
    case 'series':
      return { kind: 'series', s: series(v.s.label, n, (i) => f(v.s.values[i])) };
    case 'array':
      return { kind: 'array', list: v.list.map((s) => series(s.label, n, (i) => f(s.values[i]))) };
    case 'string':
      throw new MathError('A string is not a number');
  }
}

const ARITH: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '^': (a, b) => a ** b,
  '>': (a, b) => Number(a > b),
  '<': (a, b) => Number(a < b),
  '>=': (a, b) => Number(a >= b),
  '<=': (a, b) => Number(a <= b),
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  AND: (a, b) => Number(a !== 0 && b !== 0),
  OR: (a, b) => Number(a !== 0 || b !== 0),
};

function binary(op: string, l: MathValue, r: MathValue, n: number): MathValue {
  const f = ARITH[op];
  // A missing point on either side is missing in the result.
  const g = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : f(a, b));
  if (l.kind === 'string' || r.kind === 'string') throw new MathError('A string is not a number');
  if (l.kind === 'scalar' && r.kind === 'scalar') return { kind: 'scalar', v: f(l.v, r.v) };
  if (l.kind === 'array' && r.kind === 'array') {
    throw new MathError('Operations between two arrays of time series are not supported');
  }
  if (l.kind === 'array') {
    return { kind: 'array', list: l.list.map((s) => pair(s, r, n, g, false)) };
  }
  if (r.kind === 'array') {
    return { kind: 'array', list: r.list.map((s) => pair(s, l, n, g, true)) };
  }
  const ls = l.kind === 'series' ? l.s : undefined;
  const rs = r.kind === 'series' ? r.s : undefined;
  const label = ls?.label ?? rs?.label ?? '';
  const lv = (i: number): number => (ls ? ls.values[i] : (l as { v: number }).v);
  const rv = (i: number): number => (rs ? rs.values[i] : (r as { v: number }).v);
  return { kind: 'series', s: series(label, n, (i) => g(lv(i), rv(i))) };
}

function pair(
  s: TimeSeries,
  other: MathValue,
  n: number,
  g: (a: number, b: number) => number,
  swapped: boolean,
): TimeSeries {
  const ov = (i: number): number =>
    other.kind === 'series' ? other.s.values[i] : (other as { v: number }).v;
  return series(s.label, n, (i) => (swapped ? g(ov(i), s.values[i]) : g(s.values[i], ov(i))));
}

/** The series an aggregate function folds: its arguments' series, arrays flattened. */
function seriesOf(values: MathValue[]): TimeSeries[] | undefined {
  const out: TimeSeries[] = [];
  for (const v of values) {
    if (v.kind === 'series') out.push(v.s);
    else if (v.kind === 'array') out.push(...v.list);
    else return undefined;
  }
  return out;
}

type Fold = (xs: number[]) => number;
const FOLDS: Record<string, Fold> = {
  SUM: (xs) => xs.reduce((a, b) => a + b, 0),
  AVG: (xs) => xs.reduce((a, b) => a + b, 0) / xs.length,
  MIN: (xs) => Math.min(...xs),
  MAX: (xs) => Math.max(...xs),
  STDDEV: (xs) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
  },
};

const ELEMENTWISE: Record<string, (x: number) => number> = {
  ABS: Math.abs,
  CEIL: Math.ceil,
  FLOOR: Math.floor,
  LOG: Math.log,
  LOG10: Math.log10,
  SQRT: Math.sqrt,
};

function present(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out.push(values[i]);
  return out;
}

function call(
  fn: string,
  argNodes: Node[],
  ctx: MathContext,
  ev: (e: Node) => MathValue,
): MathValue {
  const n = ctx.timestamps.length;
  const arity = (min: number, max = min): void => {
    if (argNodes.length < min || argNodes.length > max) {
      throw new MathError(`${fn} takes ${min === max ? min : `${min} to ${max}`} arguments`);
    }
  };
  if (fn === 'METRICS') {
    arity(0, 1);
    const filter = argNodes.length ? ev(argNodes[0]) : undefined;
    if (filter && filter.kind !== 'string') throw new MathError('METRICS takes a string');
    return { kind: 'array', list: ctx.metrics(filter?.v) };
  }
  if (fn === 'SEARCH') {
    arity(2, 3);
    const [q, stat, period] = argNodes.map(ev);
    if (q.kind !== 'string' || stat.kind !== 'string') {
      throw new MathError('SEARCH takes a search expression and a statistic');
    }
    const p = period === undefined ? ctx.periodSec : period.kind === 'scalar' ? period.v : NaN;
    if (!(p > 0)) throw new MathError('SEARCH takes a period in seconds');
    return { kind: 'array', list: ctx.search(q.v, stat.v, p) };
  }
  if (fn === 'ANOMALY_DETECTION_BAND') {
    arity(1, 2);
    const [ref, k] = argNodes;
    if (ref.t !== 'id') throw new MathError('ANOMALY_DETECTION_BAND takes the id of a metric');
    const stddevs = k === undefined ? undefined : ev(k);
    if (stddevs !== undefined && (stddevs.kind !== 'scalar' || !(stddevs.v > 0))) {
      throw new MathError('ANOMALY_DETECTION_BAND takes a positive number of standard deviations');
    }
    return { kind: 'array', list: ctx.band(ref.name, stddevs?.v ?? 2) };
  }
  const args = argNodes.map(ev);
  if (fn in FOLDS) {
    if (args.length === 0) throw new MathError(`${fn} takes at least one argument`);
    const fold = FOLDS[fn];
    // One time series: a scalar over its points.
    if (args.length === 1 && args[0].kind === 'series') {
      const xs = present(args[0].s.values);
      return { kind: 'scalar', v: xs.length ? fold(xs) : NaN };
    }
    if (args.length === 1 && args[0].kind === 'scalar') return args[0];
    const list = seriesOf(args);
    if (!list) throw new MathError(`${fn} takes time series`);
    return {
      kind: 'series',
      s: series(list[0]?.label ?? fn, n, (i) => {
        const xs = present(list.map((s) => s.values[i]));
        return xs.length ? fold(xs) : NaN;
      }),
    };
  }
  if (fn in ELEMENTWISE) {
    arity(1);
    return map(args[0], ELEMENTWISE[fn], n);
  }
  switch (fn) {
    case 'PERIOD':
      arity(1);
      return { kind: 'scalar', v: ctx.periodSec };
    case 'RATE':
    case 'DIFF': {
      arity(1);
      const perSecond = fn === 'RATE';
      return perSeries(args[0], (s) => {
        const out = new Float64Array(n).fill(NaN);
        let prev = -1;
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(s.values[i])) continue;
          if (prev >= 0) {
            const d = s.values[i] - s.values[prev];
            out[i] = perSecond ? d / ((ctx.timestamps[i] - ctx.timestamps[prev]) / 1000) : d;
          }
          prev = i;
        }
        return { label: s.label, values: out };
      });
    }
    case 'FILL': {
      arity(2);
      const how = args[1];
      return perSeries(args[0], (s) => fill(s, how, ctx, n));
    }
    case 'IF': {
      arity(2, 3);
      const [cond, a, b] = args;
      const at = (v: MathValue | undefined, i: number): number =>
        v === undefined
          ? NaN
          : v.kind === 'scalar'
            ? v.v
            : v.kind === 'series'
              ? v.s.values[i]
              : NaN;
      if (cond.kind === 'scalar') return cond.v !== 0 ? a : (b ?? { kind: 'scalar', v: NaN });
      if (cond.kind !== 'series') throw new MathError('IF takes a time series condition');
      const label =
        a.kind === 'series' ? a.s.label : b?.kind === 'series' ? b.s.label : cond.s.label;
      return {
        kind: 'series',
        s: series(label, n, (i) => {
          const c = cond.s.values[i];
          if (Number.isNaN(c)) return NaN;
          return c !== 0 ? at(a, i) : at(b, i);
        }),
      };
    }
  }
  throw new MathError(`Unknown function ${fn}`);
}

function perSeries(v: MathValue, f: (s: TimeSeries) => TimeSeries): MathValue {
  if (v.kind === 'series') return { kind: 'series', s: f(v.s) };
  if (v.kind === 'array') return { kind: 'array', list: v.list.map(f) };
  throw new MathError('Expected a time series');
}

function fill(s: TimeSeries, how: MathValue, ctx: MathContext, n: number): TimeSeries {
  const out = Float64Array.from(s.values);
  if (how.kind === 'scalar' || how.kind === 'series') {
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(out[i])) out[i] = how.kind === 'scalar' ? how.v : how.s.values[i];
    }
  } else if (how.kind === 'string' && how.v.toUpperCase() === 'REPEAT') {
    let last = NaN;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(out[i])) out[i] = last;
      else last = out[i];
    }
  } else if (how.kind === 'string' && how.v.toUpperCase() === 'LINEAR') {
    let prev = -1;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(s.values[i])) continue;
      if (prev >= 0 && i - prev > 1) {
        const t0 = ctx.timestamps[prev];
        const span = ctx.timestamps[i] - t0;
        for (let j = prev + 1; j < i; j++) {
          out[j] =
            s.values[prev] + ((s.values[i] - s.values[prev]) * (ctx.timestamps[j] - t0)) / span;
        }
      }
      prev = i;
    }
  } else throw new MathError('FILL takes a value, REPEAT or LINEAR');
  return { label: s.label, values: out };
}
