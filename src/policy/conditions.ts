/**
 * The Condition element: operators, `…IfExists`, `ForAllValues:` / `ForAnyValue:`, `Null`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 *
 * Within one operator all keys must match (AND), a key matches when any of its condition
 * values does (OR); for the negated operators (`StringNotEquals`, …) a key matches when
 * none does. A key absent from the request fails a positive operator and satisfies a
 * negated one; `…IfExists` makes an absent key match either way; `ForAllValues` is true
 * for an absent key and `ForAnyValue` false.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { type RequestFacts, hasVariable, substitute } from './context.js';
import { compileArnGlob, compileGlob } from './glob.js';
import { BoundedMap } from '../shared/bounded-map.js';

type Compare = (requestValue: string, conditionValue: string) => boolean;

interface OperatorSpec {
  compare: Compare;
  negated: boolean;
}

const eqIgnoreCase: Compare = (a, b) => a.toLowerCase() === b.toLowerCase();
const like: Compare = (a, b) => cachedGlob(b, false)(a);
const arnLike: Compare = (a, b) => cachedArnGlob(b)(a);
const num = (f: (a: number, b: number) => boolean): Compare => {
  return (a, b) => {
    const x = Number(a);
    const y = Number(b);
    return a.trim() !== '' && b.trim() !== '' && !isNaN(x) && !isNaN(y) && f(x, y);
  };
};
const date = (f: (a: number, b: number) => boolean): Compare => {
  return (a, b) => {
    const x = toEpochMs(a);
    const y = toEpochMs(b);
    return x !== undefined && y !== undefined && f(x, y);
  };
};

/** Dates are ISO 8601 or epoch seconds ("DateEquals … 1517270400"). */
function toEpochMs(v: string): number | undefined {
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const ms = Date.parse(v);
  return isNaN(ms) ? undefined : ms;
}

const ipMatch: Compare = (ip, cidr) => {
  const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!family) return false;
  const list = cachedBlockList(cidr);
  return list ? list.check(ip, family) : false;
};

const OPERATORS: Record<string, OperatorSpec> = {
  stringequals: { compare: (a, b) => a === b, negated: false },
  stringnotequals: { compare: (a, b) => a === b, negated: true },
  stringequalsignorecase: { compare: eqIgnoreCase, negated: false },
  stringnotequalsignorecase: { compare: eqIgnoreCase, negated: true },
  stringlike: { compare: like, negated: false },
  stringnotlike: { compare: like, negated: true },
  numericequals: { compare: num((a, b) => a === b), negated: false },
  numericnotequals: { compare: num((a, b) => a === b), negated: true },
  numericlessthan: { compare: num((a, b) => a < b), negated: false },
  numericlessthanequals: { compare: num((a, b) => a <= b), negated: false },
  numericgreaterthan: { compare: num((a, b) => a > b), negated: false },
  numericgreaterthanequals: { compare: num((a, b) => a >= b), negated: false },
  dateequals: { compare: date((a, b) => a === b), negated: false },
  datenotequals: { compare: date((a, b) => a === b), negated: true },
  datelessthan: { compare: date((a, b) => a < b), negated: false },
  datelessthanequals: { compare: date((a, b) => a <= b), negated: false },
  dategreaterthan: { compare: date((a, b) => a > b), negated: false },
  dategreaterthanequals: { compare: date((a, b) => a >= b), negated: false },
  bool: { compare: eqIgnoreCase, negated: false },
  binaryequals: { compare: (a, b) => a === b, negated: false },
  ipaddress: { compare: ipMatch, negated: false },
  notipaddress: { compare: ipMatch, negated: true },
  arnequals: { compare: arnLike, negated: false },
  arnlike: { compare: arnLike, negated: false },
  arnnotequals: { compare: arnLike, negated: true },
  arnnotlike: { compare: arnLike, negated: true },
};

/** One `"Operator": { "key": values }` entry, compiled. */
export interface CompiledCondition {
  /** As written, for explanations. */
  operator: string;
  test(facts: RequestFacts): boolean;
}

/** Why a Condition block cannot be used (an unknown operator): "Syntax errors in policy." */
export class ConditionSyntaxError extends Error {}

export function compileConditions(block: unknown): CompiledCondition[] {
  if (block === undefined) return [];
  if (!isRecord(block)) throw new ConditionSyntaxError('Condition must be an object');
  const out: CompiledCondition[] = [];
  for (const [operator, keys] of Object.entries(block)) {
    if (!isRecord(keys)) throw new ConditionSyntaxError(`${operator} must map keys to values`);
    out.push(compileOperator(operator, keys));
  }
  return out;
}

function compileOperator(operator: string, keys: Record<string, unknown>): CompiledCondition {
  let name = operator.toLowerCase();
  let set: 'all' | 'any' | undefined;
  if (name.startsWith('forallvalues:')) {
    set = 'all';
    name = name.slice('forallvalues:'.length);
  } else if (name.startsWith('foranyvalue:')) {
    set = 'any';
    name = name.slice('foranyvalue:'.length);
  }
  let ifExists = false;
  if (name.endsWith('ifexists') && name !== 'null') {
    ifExists = true;
    name = name.slice(0, -'ifexists'.length);
  }
  const entries = Object.entries(keys).map(([key, raw]) => ({
    key: key.toLowerCase(),
    values: (Array.isArray(raw) ? raw : [raw]).map((v) => String(v)),
  }));
  if (name === 'null') {
    return {
      operator,
      test: (facts) =>
        entries.every(({ key, values }) => {
          const present = facts.has(key);
          // "true": the key must be absent; "false": present and not null.
          return values.some((v) => (v.toLowerCase() === 'true' ? !present : present));
        }),
    };
  }
  const spec = OPERATORS[name];
  if (!spec) throw new ConditionSyntaxError(`unknown condition operator ${operator}`);
  const { compare, negated } = spec;
  const variable = entries.some((e) => e.values.some(hasVariable));

  const matchesAny = (requestValue: string, conditionValues: readonly string[]): boolean =>
    conditionValues.some((c) => compare(requestValue, c));

  return {
    operator,
    test(facts) {
      for (const { key, values: written } of entries) {
        let values: readonly string[] = written;
        if (variable) {
          values = written
            .map((v) => (hasVariable(v) ? substitute(v, facts) : v))
            .filter((v): v is string => v !== undefined);
        }
        const raw = facts.raw(key);
        const request = typeof raw === 'string' ? [raw] : raw;
        if (request === undefined || request.length === 0) {
          if (ifExists) continue;
          if (set === 'all') continue;
          if (set === 'any') return false;
          if (negated) continue;
          return false;
        }
        // A value "satisfies" the operator: matches one condition value, or (negated) none.
        const satisfies = (v: string) => matchesAny(v, values) !== negated;
        let ok: boolean;
        if (set === 'all') ok = request.every(satisfies);
        else if (set === 'any') ok = request.some(satisfies);
        // A multi-valued key without a set operator: positive operators need one matching
        // value, negated ones that no value matches.
        else ok = negated ? request.every(satisfies) : request.some(satisfies);
        if (!ok) return false;
      }
      return true;
    },
  };
}

const globCache = new BoundedMap<string, (v: string) => boolean>(10_000);
function cachedGlob(pattern: string, ignoreCase: boolean): (v: string) => boolean {
  const key = (ignoreCase ? 'i' : 's') + pattern;
  let g = globCache.get(key);
  if (!g) {
    g = compileGlob(pattern, ignoreCase);
    globCache.set(key, g);
  }
  return g;
}

function cachedArnGlob(pattern: string): (v: string) => boolean {
  const key = 'a' + pattern;
  let g = globCache.get(key);
  if (!g) {
    g = compileArnGlob(pattern);
    globCache.set(key, g);
  }
  return g;
}

const blockLists = new BoundedMap<string, BlockList | null>(10_000);
function cachedBlockList(cidr: string): BlockList | undefined {
  let list = blockLists.get(cidr);
  if (list === undefined) {
    list = null;
    const [address, bits] = cidr.split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (family) {
      const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
      if (Number.isInteger(prefix)) {
        list = new BlockList();
        list.addSubnet(address, prefix, family);
      }
    }
    blockLists.set(cidr, list);
  }
  return list ?? undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
