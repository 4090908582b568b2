/**
 * ECS's cluster query language: the expressions of ListContainerInstances' `filter` and
 * of the `memberOf` placement constraint, `subject operator [argument]` joined with
 * `and`/`&&`, `or`/`||`, `not`/`!` and parentheses.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html
 *
 * Subjects: agentConnected, agentVersion, attribute:<name>, ec2InstanceId, registeredAt,
 * runningTasksCount, task:group. `task:group` is a set (the groups of the instance's
 * tasks): `==` holds when any task is in the group, `!=` when none is.
 */
import { BoundedMap } from '../../shared/bounded-map.js';

/** What an expression is evaluated against: one container instance. */
export interface QuerySubject {
  attributes: ReadonlyMap<string, string | undefined>;
  ec2InstanceId: string;
  agentConnected: boolean;
  agentVersion: string;
  registeredAt: number;
  runningTasksCount: number;
  taskGroups: readonly string[];
}

export type Query =
  | { kind: 'and' | 'or'; left: Query; right: Query }
  | { kind: 'not'; inner: Query }
  | { kind: 'test'; subject: string; op: Operator; args: string[] };

type Operator =
  '==' | '!=' | '>' | '>=' | '<' | '<=' | 'exists' | '!exists' | 'in' | '!in' | '=~' | '!~';

const OPERATORS: Record<string, Operator> = {
  '==': '==',
  equals: '==',
  '!=': '!=',
  not_equals: '!=',
  '>': '>',
  greater_than: '>',
  '>=': '>=',
  greater_than_equal: '>=',
  '<': '<',
  less_than: '<',
  '<=': '<=',
  less_than_equal: '<=',
  exists: 'exists',
  '!exists': '!exists',
  not_exists: '!exists',
  in: 'in',
  '!in': '!in',
  not_in: '!in',
  '=~': '=~',
  matches: '=~',
  '!~': '!~',
  not_matches: '!~',
};

/** A query that could not be parsed; callers turn it into their InvalidParameterException. */
export class QuerySyntaxError extends Error {}

const SYMBOLS = [
  '==',
  '!=',
  '>=',
  '<=',
  '=~',
  '!~',
  '&&',
  '||',
  '>',
  '<',
  '!',
  '(',
  ')',
  '[',
  ']',
  ',',
];

function tokenize(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) throw new QuerySyntaxError(`unterminated quote at ${i}`);
      // A quoted value keeps its quote mark in front so the parser knows it is a value.
      out.push(`'${text.slice(i + 1, end)}`);
      i = end + 1;
      continue;
    }
    const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
    if (symbol) {
      out.push(symbol);
      i += symbol.length;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s()[\],=!<>&|'"]/.test(text[j]!)) j++;
    if (j === i) throw new QuerySyntaxError(`unexpected '${ch}' at ${i}`);
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

const value = (token: string): string => (token.startsWith("'") ? token.slice(1) : token);

/** Parses an expression; throws QuerySyntaxError. */
export function parseQuery(text: string): Query {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const next = (): string => {
    const t = tokens[pos++];
    if (t === undefined) throw new QuerySyntaxError('unexpected end of expression');
    return t;
  };
  const expect = (t: string): void => {
    const got = next();
    if (got !== t) throw new QuerySyntaxError(`expected '${t}', found '${got}'`);
  };

  const or = (): Query => {
    let left = and();
    while (peek() === 'or' || peek() === '||') {
      next();
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Query => {
    let left = unary();
    while (peek() === 'and' || peek() === '&&') {
      next();
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): Query => {
    const t = peek();
    if (t === 'not' || t === '!') {
      next();
      return { kind: 'not', inner: unary() };
    }
    if (t === '(') {
      next();
      const inner = or();
      expect(')');
      return inner;
    }
    return test();
  };
  const test = (): Query => {
    const subject = next();
    if (SYMBOLS.includes(subject))
      throw new QuerySyntaxError(`expected a subject, found '${subject}'`);
    let opText = next();
    if (opText === '!' && (peek() === 'exists' || peek() === 'in')) opText = `!${next()}`;
    const op = OPERATORS[opText];
    if (!op) throw new QuerySyntaxError(`unknown operator '${opText}'`);
    if (op === 'exists' || op === '!exists') return { kind: 'test', subject, op, args: [] };
    if (op === 'in' || op === '!in') {
      expect('[');
      const args: string[] = [];
      while (peek() !== ']') {
        args.push(value(next()));
        if (peek() === ',') next();
        else if (peek() !== ']') throw new QuerySyntaxError(`expected ',' or ']' in list`);
      }
      next();
      return { kind: 'test', subject, op, args };
    }
    const arg = next();
    if (SYMBOLS.includes(arg)) throw new QuerySyntaxError(`expected a value after '${opText}'`);
    return { kind: 'test', subject, op, args: [value(arg)] };
  };

  if (tokens.length === 0) throw new QuerySyntaxError('empty expression');
  const query = or();
  if (pos < tokens.length) throw new QuerySyntaxError(`unexpected '${tokens[pos]}'`);
  return query;
}

/** The subject's values on an instance: none (missing attribute), one, or a set (task:group). */
function valuesOf(subject: string, s: QuerySubject): string[] {
  if (subject.startsWith('attribute:')) {
    const name = subject.slice('attribute:'.length);
    if (!s.attributes.has(name)) return [];
    return [s.attributes.get(name) ?? ''];
  }
  switch (subject) {
    case 'task:group':
      return [...s.taskGroups];
    case 'ec2InstanceId':
      return [s.ec2InstanceId];
    case 'agentConnected':
      return [String(s.agentConnected)];
    case 'agentVersion':
      return [s.agentVersion];
    case 'registeredAt':
      return [new Date(s.registeredAt).toISOString()];
    case 'runningTasksCount':
      return [String(s.runningTasksCount)];
    default:
      throw new QuerySyntaxError(`unknown subject '${subject}'`);
  }
}

/** Orders numbers as numbers, dates as dates, versions part by part, anything else as text. */
function compare(subject: string, a: string, b: string): number {
  if (subject === 'registeredAt') {
    const x = Date.parse(a);
    const y = Date.parse(/[T ]/.test(b) || b.length > 10 ? b : `${b}T00:00:00Z`);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  const pa = a.split('.');
  const pb = b.split('.');
  if ([...pa, ...pb].every((p) => /^\d+$/.test(p))) {
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const d = Number(pa[i] ?? 0) - Number(pb[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

const patternCache = new BoundedMap<string, RegExp>(10_000);
/** `=~` patterns match the whole value (`t2.*` matches `t2.micro`). */
function matches(pattern: string, text: string): boolean {
  let re = patternCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(`^(?:${pattern})$`);
    } catch {
      throw new QuerySyntaxError(`invalid pattern '${pattern}'`);
    }
    patternCache.set(pattern, re);
  }
  return re.test(text);
}

export function evaluate(q: Query, s: QuerySubject): boolean {
  switch (q.kind) {
    case 'and':
      return evaluate(q.left, s) && evaluate(q.right, s);
    case 'or':
      return evaluate(q.left, s) || evaluate(q.right, s);
    case 'not':
      return !evaluate(q.inner, s);
    case 'test': {
      const values = valuesOf(q.subject, s);
      const arg = q.args[0] ?? '';
      switch (q.op) {
        case 'exists':
          return values.length > 0;
        case '!exists':
          return values.length === 0;
        case '==':
          return values.some((v) => v === arg);
        case '!=':
          return !values.some((v) => v === arg);
        case 'in':
          return values.some((v) => q.args.includes(v));
        case '!in':
          return !values.some((v) => q.args.includes(v));
        case '=~':
          return values.some((v) => matches(arg, v));
        case '!~':
          return !values.some((v) => matches(arg, v));
        case '>':
          return values.some((v) => compare(q.subject, v, arg) > 0);
        case '>=':
          return values.some((v) => compare(q.subject, v, arg) >= 0);
        case '<':
          return values.some((v) => compare(q.subject, v, arg) < 0);
        case '<=':
          return values.some((v) => compare(q.subject, v, arg) <= 0);
        default: {
          const never: never = q.op;
          return never;
        }
      }
    }
    default: {
      const never: never = q;
      return never;
    }
  }
}

/** Checks every subject of a parsed query is one ECS knows (at parse time, not per instance). */
export function checkSubjects(q: Query): void {
  if (q.kind === 'test') {
    if (
      !q.subject.startsWith('attribute:') &&
      ![
        'task:group',
        'ec2InstanceId',
        'agentConnected',
        'agentVersion',
        'registeredAt',
        'runningTasksCount',
      ].includes(q.subject)
    )
      throw new QuerySyntaxError(`unknown subject '${q.subject}'`);
    return;
  }
  if (q.kind === 'not') return checkSubjects(q.inner);
  checkSubjects(q.left);
  checkSubjects(q.right);
}
