/**
 * EventBridge event patterns: compiled once, matched against many events.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 *
 * A pattern mirrors the event's structure; every leaf is an array of alternatives, and a
 * field matches when any of its values (arrays in the event are flattened) matches any
 * alternative. Alternatives are exact values (string, number, true, false, null) or one
 * filter object: prefix, suffix, anything-but, numeric, exists, equals-ignore-case,
 * wildcard, cidr. `$or` lists sub-patterns of which one must match. "Event patterns
 * [...] match fields within the same object of an array": an object pattern matches when
 * one object of the event's array matches all of it.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A test of one scalar leaf value. */
type Test = (value: Json) => boolean;

interface Leaf {
  kind: 'leaf';
  tests: Test[];
  /** `exists` filters, which look at presence rather than at values. */
  exists?: boolean;
}

interface Node {
  kind: 'object';
  fields: [string, Leaf | Node][];
  /** Each `$or` lists alternatives of which one must match as well. */
  ors: Node[][];
}

/** A pattern AWS would refuse, with the reason it gives. */
export class PatternError extends Error {}

export interface CompiledPattern {
  matches(event: Json): boolean;
  /**
   * The exact `source` values the pattern requires at its top level (undefined when it
   * accepts any source): lets a router skip rules whose source cannot match.
   */
  sources?: readonly string[];
}

/** Parses and compiles a pattern (JSON text); throws PatternError with AWS's reason. */
export function compilePattern(text: string): CompiledPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PatternError(`Filter is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PatternError('Filter is not an object');
  }
  const root = compileNode(parsed as Record<string, unknown>, '');
  const src = root.fields.find(([k]) => k === 'source')?.[1];
  const sources =
    src?.kind === 'leaf' && src.exists === undefined
      ? exactStrings((parsed as Record<string, unknown[]>).source)
      : undefined;
  return { matches: (event) => matchNode(root, event), sources };
}

/** The pattern's alternatives when all are plain strings (indexable), else undefined. */
function exactStrings(values: unknown[]): string[] | undefined {
  return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
}

function compileNode(obj: Record<string, unknown>, path: string): Node {
  const node: Node = { kind: 'object', fields: [], ors: [] };
  const entries = Object.entries(obj);
  if (!entries.length && path !== '') throw new PatternError(`Empty objects are not allowed`);
  for (const [key, value] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new PatternError('Value of $or must be an array of at least two objects');
      }
      node.ors.push(
        value.map((alt) => {
          if (alt === null || typeof alt !== 'object' || Array.isArray(alt)) {
            throw new PatternError('Value of $or must be an array of objects');
          }
          return compileNode(alt as Record<string, unknown>, path);
        }),
      );
    } else if (Array.isArray(value)) {
      node.fields.push([key, compileLeaf(value, at)]);
    } else if (value !== null && typeof value === 'object') {
      node.fields.push([key, compileNode(value as Record<string, unknown>, at)]);
    } else {
      throw new PatternError(`"${at}" must be an object or an array`);
    }
  }
  return node;
}

function compileLeaf(values: unknown[], at: string): Leaf {
  if (!values.length) throw new PatternError(`Empty arrays are not allowed`);
  const leaf: Leaf = { kind: 'leaf', tests: [] };
  for (const v of values) {
    if (v === null || typeof v !== 'object') {
      leaf.tests.push(exactTest(v as Json));
      continue;
    }
    if (Array.isArray(v)) {
      throw new PatternError(`Match value must be String, number, true, false, or null`);
    }
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      throw new PatternError(`Only one key allowed in match expression at "${at}"`);
    }
    const op = keys[0];
    const arg = (v as Record<string, unknown>)[op];
    if (op === 'exists') {
      if (typeof arg !== 'boolean')
        throw new PatternError('exists match pattern must be either true or false.');
      if (values.length > 1) {
        throw new PatternError('Exists match pattern cannot be combined with other patterns');
      }
      leaf.exists = arg;
      continue;
    }
    leaf.tests.push(filterTest(op, arg));
  }
  return leaf;
}

function exactTest(expected: Json): Test {
  if (typeof expected === 'number') return (v) => typeof v === 'number' && v === expected;
  return (v) => v === expected;
}

function stringArg(op: string, arg: unknown): string {
  if (typeof arg !== 'string') throw new PatternError(`${op} match pattern must be a string`);
  return arg;
}

/** `prefix` / `suffix` with a string or `{"equals-ignore-case": "…"}`. */
function affixTest(op: 'prefix' | 'suffix', arg: unknown): Test {
  const fold = arg !== null && typeof arg === 'object' && !Array.isArray(arg);
  const raw = fold ? (arg as Record<string, unknown>)['equals-ignore-case'] : arg;
  if (fold && Object.keys(arg).length !== 1) {
    throw new PatternError(`Unsupported ${op} pattern`);
  }
  const want = stringArg(op, raw);
  const norm = fold ? want.toLowerCase() : want;
  return (v) => {
    if (typeof v !== 'string') return false;
    const s = fold ? v.toLowerCase() : v;
    return op === 'prefix' ? s.startsWith(norm) : s.endsWith(norm);
  };
}

function filterTest(op: string, arg: unknown): Test {
  switch (op) {
    case 'prefix':
    case 'suffix':
      return affixTest(op, arg);
    case 'equals-ignore-case': {
      const want = stringArg(op, arg).toLowerCase();
      return (v) => typeof v === 'string' && v.toLowerCase() === want;
    }
    case 'wildcard':
      return wildcardTest(stringArg(op, arg));
    case 'numeric':
      return numericTest(arg);
    case 'cidr':
      return cidrTest(stringArg(op, arg));
    case 'anything-but':
      return anythingButTest(arg);
    default:
      throw new PatternError(`Unrecognized match type ${op}`);
  }
}

/** `*` matches any run of characters; `\*` is a literal star; `**` is refused. */
function wildcardTest(pattern: string): Test {
  if (pattern.includes('**')) {
    throw new PatternError('Consecutive wildcard characters at pos ' + pattern.indexOf('**'));
  }
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      re += '\\' + pattern[++i];
    } else if (c === '*') {
      re += '[\\s\\S]*';
    } else {
      re += c.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  const regex = new RegExp(`^${re}$`);
  return (v) => typeof v === 'string' && regex.test(v);
}

const NUMERIC_OPS = new Set(['<', '<=', '=', '>', '>=']);

/** `{"numeric": [">", 0, "<=", 5]}`: one or two comparisons (a lower and an upper bound). */
function numericTest(arg: unknown): Test {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw new PatternError('Value of numeric must be an array.');
  }
  const checks: ((n: number) => boolean)[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i] as unknown;
    const bound = arg[i + 1] as unknown;
    if (typeof op !== 'string' || !NUMERIC_OPS.has(op)) {
      throw new PatternError(`Unrecognized numeric range operator: ${String(op)}`);
    }
    if (typeof bound !== 'number') throw new PatternError(`Value of ${op} must be numeric`);
    if (op === '=' && arg.length > 2) {
      throw new PatternError('Bad numeric range operator: =');
    }
    checks.push(
      op === '<'
        ? (n) => n < bound
        : op === '<='
          ? (n) => n <= bound
          : op === '='
            ? (n) => n === bound
            : op === '>'
              ? (n) => n > bound
              : (n) => n >= bound,
    );
  }
  if (checks.length === 2) {
    const [a, b] = [arg[0] as string, arg[2] as string];
    if (a.startsWith('<') || !b.startsWith('<')) {
      throw new PatternError('Bad numeric range operator: ' + b);
    }
  }
  return (v) => typeof v === 'number' && checks.every((c) => c(v));
}

function cidrTest(cidr: string): Test {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
  const bits = slash < 0 ? (family === 'ipv4' ? 32 : 128) : Number(cidr.slice(slash + 1));
  const max = family === 'ipv4' ? 32 : 128;
  if (!family || !Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new PatternError(`Nonstandard IP address: ${cidr}`);
  }
  const list = new BlockList();
  list.addSubnet(addr, bits, family);
  return (v) => {
    if (typeof v !== 'string') return false;
    const f = isIPv4(v) ? 'ipv4' : isIPv6(v) ? 'ipv6' : undefined;
    return f === family && list.check(v, f);
  };
}

/**
 * `anything-but`: a value, a list of values, or `{"prefix"|"suffix"|"equals-ignore-case"|
 * "wildcard": …}` (the last two also take lists). A missing field never matches.
 */
function anythingButTest(arg: unknown): Test {
  if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1) throw new PatternError('Unsupported anything-but pattern');
    const op = keys[0];
    const inner = (arg as Record<string, unknown>)[op];
    let tests: Test[];
    if (op === 'prefix' || op === 'suffix') {
      tests = [affixTest(op, inner)];
    } else if (op === 'equals-ignore-case' || op === 'wildcard') {
      const list = Array.isArray(inner) ? inner : [inner];
      if (!list.length) throw new PatternError(`Empty arrays are not allowed`);
      tests = list.map((x) => filterTest(op, x));
    } else {
      throw new PatternError(`Unsupported anything-but pattern: ${op}`);
    }
    return (v) => v !== null && typeof v !== 'object' && !tests.some((t) => t(v));
  }
  const list = Array.isArray(arg) ? arg : [arg];
  if (!list.length) throw new PatternError(`Empty arrays are not allowed`);
  const tests = list.map((x) => {
    if (x !== null && typeof x === 'object') {
      throw new PatternError('Inside anything but list, start|null|boolean is not supported.');
    }
    return exactTest(x as Json);
  });
  return (v) => v !== null && typeof v !== 'object' && !tests.some((t) => t(v));
}

/** Flattens arrays (nested too): `a: [1, [2]]` offers the values 1 and 2. */
function flatten(value: Json, into: Json[]): Json[] {
  if (Array.isArray(value)) for (const v of value) flatten(v, into);
  else into.push(value);
  return into;
}

function matchNode(node: Node, value: Json): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const [key, child] of node.fields) {
    const present = Object.prototype.hasOwnProperty.call(value, key);
    if (!matchField(child, present, present ? value[key] : null)) return false;
  }
  for (const alternatives of node.ors) {
    if (!alternatives.some((alt) => matchNode(alt, value))) return false;
  }
  return true;
}

function matchField(child: Leaf | Node, present: boolean, value: Json): boolean {
  const values = present ? flatten(value, []) : [];
  if (child.kind === 'object') {
    const objects = values.filter((v) => v !== null && typeof v === 'object');
    // An absent object still satisfies a sub-pattern that only asks for absence.
    if (!objects.length) return matchNode(child, {});
    return objects.some((o) => matchNode(child, o));
  }
  const scalars = values.filter((v) => v === null || typeof v !== 'object');
  if (child.exists !== undefined) {
    // "exists" only works on leaf nodes: an object (or an empty array) is not a leaf value.
    return child.exists ? scalars.length > 0 : !present || scalars.length === 0;
  }
  return scalars.some((v) => child.tests.some((t) => t(v)));
}
