/**
 * Contributor Insights rule definitions (schema `CloudWatchLogRule` version 1) and what a
 * rule makes of one log event: its contributor keys and value, or nothing.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html
 *
 * LogGroupNames (a trailing `*` matches a prefix), LogFormat JSON or CLF (with Fields
 * naming CLF's space-separated columns, 1-based), Contribution Keys (at most 4), ValueOf
 * (for AggregateOn Sum), Filters (In, NotIn, StartsWith, GreaterThan, LessThan, EqualTo,
 * NotEqualTo, IsPresent; all must hold), AggregateOn Count or Sum.
 */
import { invalidValue } from './common.js';

export interface InsightFilter {
  Match: string;
  In?: unknown[];
  NotIn?: unknown[];
  StartsWith?: unknown[];
  GreaterThan?: number;
  LessThan?: number;
  EqualTo?: number;
  NotEqualTo?: number;
  IsPresent?: boolean;
}

export interface InsightRuleDefinition {
  logGroupNames: string[];
  format: 'JSON' | 'CLF';
  /** CLF: field name → 1-based column. */
  columns: Map<string, number>;
  keys: string[];
  valueOf?: string;
  filters: InsightFilter[];
  aggregateOn: 'Count' | 'Sum';
}

const MAX_KEYS = 4;
const FILTER_OPS = [
  'In',
  'NotIn',
  'StartsWith',
  'GreaterThan',
  'LessThan',
  'EqualTo',
  'NotEqualTo',
  'IsPresent',
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a RuleDefinition as PutInsightRule does. */
export function parseInsightRule(text: string): InsightRuleDefinition {
  const bad = (why: string) => invalidValue(`Invalid RuleDefinition: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('it is not valid JSON.');
  }
  if (!isObject(doc)) throw bad('it must be a JSON object.');
  const schema = doc.Schema;
  if (!isObject(schema) || schema.Name !== 'CloudWatchLogRule' || Number(schema.Version) !== 1) {
    throw bad('Schema must be {"Name": "CloudWatchLogRule", "Version": 1}.');
  }
  const groups = doc.LogGroupNames;
  if (
    !Array.isArray(groups) ||
    groups.length === 0 ||
    !groups.every((g) => typeof g === 'string')
  ) {
    throw bad('LogGroupNames must be a non-empty list of log group names.');
  }
  if (doc.LogFormat !== 'JSON' && doc.LogFormat !== 'CLF') {
    throw bad('LogFormat must be JSON or CLF.');
  }
  const columns = new Map<string, number>();
  if (doc.Fields !== undefined) {
    if (!isObject(doc.Fields)) throw bad('Fields must map column numbers to names.');
    for (const [column, name] of Object.entries(doc.Fields)) {
      if (!/^\d+$/.test(column) || typeof name !== 'string') {
        throw bad('Fields must map column numbers to names.');
      }
      columns.set(name, Number(column));
    }
  }
  const c = doc.Contribution;
  if (!isObject(c)) throw bad('Contribution is required.');
  const keys = c.Keys;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    keys.length > MAX_KEYS ||
    !keys.every((k) => typeof k === 'string')
  ) {
    throw bad(`Contribution.Keys must list 1 to ${MAX_KEYS} keys.`);
  }
  if (c.ValueOf !== undefined && typeof c.ValueOf !== 'string') {
    throw bad('Contribution.ValueOf must be a field.');
  }
  const filters = c.Filters ?? [];
  if (!Array.isArray(filters)) throw bad('Contribution.Filters must be a list.');
  for (const f of filters) {
    if (!isObject(f) || typeof f.Match !== 'string') throw bad('Each filter needs a Match field.');
    const ops = Object.keys(f).filter((k) => k !== 'Match');
    if (ops.length !== 1 || !FILTER_OPS.includes(ops[0])) {
      throw bad(`Each filter needs exactly one of ${FILTER_OPS.join(', ')}.`);
    }
  }
  if (doc.AggregateOn !== 'Count' && doc.AggregateOn !== 'Sum') {
    throw bad('AggregateOn must be Count or Sum.');
  }
  if (doc.AggregateOn === 'Sum' && c.ValueOf === undefined) {
    throw bad('AggregateOn Sum needs Contribution.ValueOf.');
  }
  const def: InsightRuleDefinition = {
    logGroupNames: groups as string[],
    format: doc.LogFormat,
    columns,
    keys: keys as string[],
    ...(typeof c.ValueOf === 'string' && { valueOf: c.ValueOf }),
    filters: filters as InsightFilter[],
    aggregateOn: doc.AggregateOn,
  };
  if (def.format === 'CLF') {
    for (const field of [...def.keys, ...(def.valueOf ? [def.valueOf] : [])]) {
      if (!def.columns.has(field) && !/^\d+$/.test(field)) {
        throw bad(`the CLF field ${field} is not named in Fields.`);
      }
    }
  }
  return def;
}

/** CLF columns: quoted strings and [bracketed] dates are one column each. */
function clfColumns(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|(\S+)/g)) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

/** A field's value in an event: `$.a.b` in JSON, a named (or numbered) CLF column. */
function fieldReader(
  def: InsightRuleDefinition,
  message: string,
): ((f: string) => unknown) | undefined {
  if (def.format === 'JSON') {
    let doc: unknown;
    try {
      doc = JSON.parse(message);
    } catch {
      return undefined;
    }
    return (field) => {
      const path = field.startsWith('$.') ? field.slice(2) : field;
      let v: unknown = doc;
      for (const part of path.split('.')) {
        if (!isObject(v)) return undefined;
        v = v[part];
      }
      return v;
    };
  }
  const cols = clfColumns(message);
  return (field) => {
    const col = def.columns.get(field) ?? (/^\d+$/.test(field) ? Number(field) : undefined);
    return col === undefined ? undefined : cols[col - 1];
  };
}

function passes(f: InsightFilter, v: unknown): boolean {
  const present = v !== undefined && v !== null;
  if (f.IsPresent !== undefined) return present === f.IsPresent;
  if (!present) return false;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  const n = typeof v === 'number' ? v : Number(v);
  if (f.In) return f.In.some((x) => String(x) === s);
  if (f.NotIn) return !f.NotIn.some((x) => String(x) === s);
  if (f.StartsWith) return f.StartsWith.some((x) => s.startsWith(String(x)));
  if (f.GreaterThan !== undefined) return n > f.GreaterThan;
  if (f.LessThan !== undefined) return n < f.LessThan;
  if (f.EqualTo !== undefined) return n === f.EqualTo;
  if (f.NotEqualTo !== undefined) return n !== f.NotEqualTo;
  return false;
}

/** The contributor (its keys) and value one event gives, or undefined when it gives none. */
export function contributionOf(
  def: InsightRuleDefinition,
  message: string,
): { keys: string[]; value: number } | undefined {
  const read = fieldReader(def, message);
  if (!read) return undefined;
  const keys: string[] = [];
  for (const k of def.keys) {
    const v = read(k);
    if (v === undefined || v === null || isObject(v) || Array.isArray(v)) return undefined;
    keys.push(String(v));
  }
  if (!def.filters.every((f) => passes(f, read(f.Match)))) return undefined;
  if (def.aggregateOn === 'Count') return { keys, value: 1 };
  const value = Number(read(def.valueOf!));
  return Number.isFinite(value) ? { keys, value } : undefined;
}
