/**
 * Runs a parsed query over records: the per-record commands (`parse`, `fields`, `filter`)
 * as events stream in, then the rest (`stats`, `sort`, `limit`, `dedup`, `display`, and
 * any command after them) over the list, and finally the result rows AWS returns.
 */
import type { ResultField } from '../../../api/logs/types.js';
import { AGGREGATES, type Accumulator } from './aggregates.js';
import { SCALAR_FUNCTIONS } from './functions.js';
import type { LogRecordFields } from './record.js';
import type { Command, Expr, Named, Query } from './parser.js';
import { compare, Instant, sortCompare, toNumber, toText, truthy, type Value } from './values.js';

type Aggregated = Map<Expr, Value>;

export function evaluate(e: Expr, r: LogRecordFields, agg?: Aggregated): Value {
  switch (e.k) {
    case 'num':
      return e.v;
    case 'str':
      return e.v;
    case 'regex':
      return e.re.source;
    case 'period':
      return e.ms;
    case 'star':
      return true;
    case 'field':
      return r.get(e.name) ?? null;
    case 'list':
      return null;
    case 'neg': {
      const n = toNumber(evaluate(e.e, r, agg));
      return n === undefined ? null : -n;
    }
    case 'not':
      return !truthy(evaluate(e.e, r, agg));
    case 'call': {
      // After stats, `sort count(*) desc` names the column stats produced.
      if (AGGREGATES[e.name]) return agg ? (agg.get(e) ?? null) : (r.get(e.text) ?? null);
      if (e.name === 'bin') {
        // bin(period) rounds @timestamp down to the period.
        const ts = r.get('@timestamp');
        const p = toNumber(evaluate(e.args[0], r, agg));
        const t = ts === undefined || ts === null ? undefined : toNumber(ts);
        if (t === undefined || p === undefined || p <= 0) return null;
        return new Instant(Math.floor(t / p) * p);
      }
      return SCALAR_FUNCTIONS[e.name].fn(e.args.map((a) => evaluate(a, r, agg)));
    }
    case 'bin':
      return binary(e, r, agg);
  }
}

function binary(e: Extract<Expr, { k: 'bin' }>, r: LogRecordFields, agg?: Aggregated): Value {
  if (e.op === 'and') return truthy(evaluate(e.l, r, agg)) && truthy(evaluate(e.r, r, agg));
  if (e.op === 'or') return truthy(evaluate(e.l, r, agg)) || truthy(evaluate(e.r, r, agg));
  const l = evaluate(e.l, r, agg);
  switch (e.op) {
    case 'like':
    case 'notlike': {
      const s = toText(l);
      if (s === null) return false;
      const hit =
        e.r.k === 'regex' ? e.r.re.test(s) : s.includes(toText(evaluate(e.r, r, agg)) ?? '');
      return e.op === 'like' ? hit : !hit;
    }
    case 'in':
    case 'notin': {
      if (l === null || e.r.k !== 'list') return false;
      const hit = e.r.items.some((i) => compare(l, evaluate(i, r, agg)) === 0);
      return e.op === 'in' ? hit : !hit;
    }
    default:
      break;
  }
  const rv = evaluate(e.r, r, agg);
  const c =
    e.op === '=' || e.op === '!=' || e.op === '<' || e.op === '<=' || e.op === '>' || e.op === '>='
      ? compare(l, rv)
      : undefined;
  switch (e.op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== undefined && c !== 0;
    case '<':
      return c !== undefined && c < 0;
    case '<=':
      return c !== undefined && c <= 0;
    case '>':
      return c !== undefined && c > 0;
    case '>=':
      return c !== undefined && c >= 0;
    default: {
      const a = toNumber(l);
      const b = toNumber(rv);
      if (a === undefined || b === undefined) return null;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? null : a / b;
        case '%':
          return b === 0 ? null : a % b;
        case '^':
          return a ** b;
        default:
          return null;
      }
    }
  }
}

/** The commands a record passes on its own, before the first one that needs them all. */
const PER_RECORD = new Set<Command['k']>(['fields', 'filter', 'parse']);

export interface QueryResult {
  rows: ResultField[][];
}

/** One query's execution: feed it records with `add`, then `finish`. */
export class QueryExecution {
  /** Records that passed the per-record commands (AWS's `recordsMatched`). */
  matched = 0;
  private readonly head: Command[];
  private readonly tail: Command[];
  private readonly kept: LogRecordFields[] = [];

  constructor(
    private readonly query: Query,
    /** StartQuery's `limit`: the most rows returned (default 10,000). */
    private readonly maxRows: number,
  ) {
    const split = query.commands.findIndex((c) => !PER_RECORD.has(c.k));
    this.head = split < 0 ? query.commands : query.commands.slice(0, split);
    this.tail = split < 0 ? [] : query.commands.slice(split);
    // Rows in the default order (newest first) cut by limit: only the newest N are needed.
    if (this.tail.every((c) => c.k === 'limit' || c.k === 'display')) {
      const limits = this.tail.flatMap((c) => (c.k === 'limit' ? [c.n] : []));
      this.keep = Math.min(maxRows, ...limits);
    }
  }

  /** How many records the result can need (the newest ones), when that is bounded. */
  private readonly keep: number | undefined;

  add(record: LogRecordFields): void {
    for (const c of this.head) if (!applyToRecord(c, record)) return;
    this.matched++;
    this.kept.push(record);
    if (this.keep !== undefined && this.kept.length >= 2 * this.keep + 1000) {
      this.kept.sort((a, b) => timeOf(b) - timeOf(a));
      this.kept.length = this.keep;
    }
  }

  finish(): QueryResult {
    let records = this.kept;
    const hasStats = this.query.commands.some((c) => c.k === 'stats');
    const hasSort = this.query.commands.some((c) => c.k === 'sort');
    // Without sort, events come newest first, as AWS lists them.
    if (!hasStats && !hasSort) records.sort((a, b) => timeOf(b) - timeOf(a));
    let columns: string[] | undefined;
    let stats = false;
    for (const c of this.tail) {
      switch (c.k) {
        case 'stats':
          records = runStats(c, records);
          columns = [...c.by.map((b) => b.name), ...c.aggs.map((a) => a.name)];
          stats = true;
          break;
        case 'sort':
          records = sortRecords(records, c.keys);
          break;
        case 'limit':
          records = records.slice(0, c.n);
          break;
        case 'dedup':
          records = dedup(records, c.fields);
          break;
        case 'display':
          for (const r of records) setNamed(c.items, r);
          columns = c.items.map((i) => i.name);
          break;
        default:
          records = records.filter((r) => applyToRecord(c, r));
          if (c.k === 'fields') columns = [...(columns ?? []), ...c.items.map((i) => i.name)];
          break;
      }
    }
    if (!columns) {
      const named = this.head.filter((c) => c.k === 'fields');
      if (named.length > 0)
        columns = named.flatMap((c) => (c.k === 'fields' ? c.items.map((i) => i.name) : []));
    }
    records = records.slice(0, this.maxRows);
    const wanted = columns ? [...new Set(columns)] : undefined;
    // Event rows carry @ptr (GetLogRecord's pointer); stats rows do not.
    if (wanted && !stats && !wanted.includes('@ptr')) wanted.push('@ptr');
    const rows = records.map((r) => {
      const row: ResultField[] = [];
      const names = wanted ?? [...r.keys()].filter((k) => k !== '@ingestionTime');
      for (const field of names) {
        const v = r.get(field);
        const text = v === undefined ? null : toText(v);
        if (text !== null) row.push({ field, value: text });
      }
      return row;
    });
    return { rows };
  }
}

function timeOf(r: LogRecordFields): number {
  const v = r.get('@timestamp');
  return v instanceof Instant ? v.ms : 0;
}

/** Applies a per-record command; false drops the record. */
function applyToRecord(c: Command, r: LogRecordFields): boolean {
  switch (c.k) {
    case 'filter':
      return truthy(evaluate(c.expr, r));
    case 'fields':
      setNamed(c.items, r);
      return true;
    case 'parse': {
      const text = toText(evaluate(c.source, r));
      if (text === null) return true;
      if (c.glob) {
        const m = c.glob.re.exec(text);
        if (m) c.glob.names.forEach((n, i) => r.set(n, m[i + 1]));
      } else if (c.regex) {
        const groups = c.regex.exec(text)?.groups;
        if (groups) for (const [n, v] of Object.entries(groups)) if (v !== undefined) r.set(n, v);
      }
      return true;
    }
    default:
      return true;
  }
}

function setNamed(items: Named[], r: LogRecordFields): void {
  for (const { expr, name } of items) {
    if (expr.k === 'field' && expr.name === name) continue;
    r.set(name, evaluate(expr, r));
  }
}

function aggregateCalls(e: Expr, out: Expr[]): void {
  switch (e.k) {
    case 'call':
      if (AGGREGATES[e.name]) out.push(e);
      else for (const a of e.args) aggregateCalls(a, out);
      return;
    case 'neg':
    case 'not':
      aggregateCalls(e.e, out);
      return;
    case 'bin':
      aggregateCalls(e.l, out);
      aggregateCalls(e.r, out);
      return;
    default:
      return;
  }
}

interface Group {
  by: Value[];
  accs: Accumulator[];
}

function runStats(
  c: Extract<Command, { k: 'stats' }>,
  records: LogRecordFields[],
): LogRecordFields[] {
  const calls: Expr[] = [];
  for (const a of c.aggs) aggregateCalls(a.expr, calls);
  const groups = new Map<string, Group>();
  for (const r of records) {
    const by = c.by.map((b) => evaluate(b.expr, r));
    const key = JSON.stringify(by.map((v) => (v === null ? null : toText(v))));
    let g = groups.get(key);
    if (!g) {
      g = {
        by,
        accs: calls.map((call) => AGGREGATES[(call as { name: string }).name].create()),
      };
      groups.set(key, g);
    }
    const ts = timeOf(r);
    calls.forEach((call, i) => {
      const args =
        call.k === 'call' ? call.args.filter((a) => a.k !== 'star').map((a) => evaluate(a, r)) : [];
      g.accs[i].add(args, ts);
    });
  }
  // A stats without `by` over no records still answers one row (count 0).
  if (groups.size === 0 && c.by.length === 0) {
    groups.set('', {
      by: [],
      accs: calls.map((call) => AGGREGATES[(call as { name: string }).name].create()),
    });
  }
  const out: LogRecordFields[] = [];
  for (const g of groups.values()) {
    const agg: Aggregated = new Map();
    calls.forEach((call, i) => agg.set(call, g.accs[i].result()));
    const r: LogRecordFields = new Map();
    c.by.forEach((b, i) => r.set(b.name, g.by[i]));
    for (const a of c.aggs) r.set(a.name, evaluate(a.expr, r, agg));
    out.push(r);
  }
  // Time bins come out in time order.
  const binIndex = c.by.findIndex((b) => b.expr.k === 'call' && b.expr.name === 'bin');
  if (binIndex >= 0) {
    const name = c.by[binIndex].name;
    out.sort((a, b) => sortCompare(a.get(name) ?? null, b.get(name) ?? null));
  }
  return out;
}

function sortRecords(
  records: LogRecordFields[],
  keys: { expr: Expr; desc: boolean }[],
): LogRecordFields[] {
  const keyed = records.map((r) => ({ r, k: keys.map((k) => evaluate(k.expr, r)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const x = a.k[i];
      const y = b.k[i];
      if (x === null || y === null) {
        if (x !== y) return x === null ? 1 : -1;
        continue;
      }
      const c = sortCompare(x, y);
      if (c !== 0) return keys[i].desc ? -c : c;
    }
    return 0;
  });
  return keyed.map((k) => k.r);
}

function dedup(records: LogRecordFields[], fields: Expr[]): LogRecordFields[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = JSON.stringify(fields.map((f) => toText(evaluate(f, r))));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
