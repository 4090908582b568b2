/**
 * CloudWatch Logs filter patterns, compiled once per request into a predicate on the
 * event message. Syntax per
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html:
 *
 * - terms: `ERROR` (case-sensitive; AWS matches it inside longer words too, e.g. `error`
 *   matches "invoke errors"), `ERROR Exception` (all), `"exact phrase"`, `?ERROR ?WARN`
 *   (any), `-term` / `-"phrase"` (exclude); an empty pattern matches every event;
 * - regular expressions: `%[Ee]rror|[Ff]ail%` ("The () operator is not supported");
 * - JSON: `{ $.level = "error" }`, `{ $.latency > 100 }`, `{ $.user.id = * }`,
 *   `{ $.ok IS TRUE }`, `{ $.x IS NULL }`, `{ $.x NOT EXISTS }`, `&&`, `||`, parentheses,
 *   `*` wildcards and `%regex%` in string values;
 * - space-delimited: `[ip, user, ..., status = 4*, bytes > 1000]`.
 *
 * A pattern that does not parse throws FilterPatternError; the provider answers AWS's
 * `InvalidParameterException: Invalid filter pattern`.
 */

export type Matcher = (message: string) => boolean;

export class FilterPatternError extends Error {}

const MATCH_ALL: Matcher = () => true;

export function compileFilterPattern(pattern: string | undefined): Matcher {
  const p = (pattern ?? '').trim();
  if (p === '') return MATCH_ALL;
  switch (p[0]) {
    case '{':
      return compileJson(p);
    case '[':
      return compileDelimited(p);
    case '%':
      if (p.length >= 2 && p.endsWith('%')) {
        const re = compileRegex(p.slice(1, -1));
        return (m) => re.test(m);
      }
      return compileTerms(p);
    default:
      return compileTerms(p);
  }
}

function fail(): never {
  throw new FilterPatternError('Invalid filter pattern');
}

// ---------------------------------------------------------------------------------------
// Terms

function compileTerms(p: string): Matcher {
  const required: string[] = [];
  const optional: string[] = [];
  const excluded: string[] = [];
  let i = 0;
  while (i < p.length) {
    if (isSpace(p.charCodeAt(i))) {
      i++;
      continue;
    }
    let bucket = required;
    if (p[i] === '?') {
      bucket = optional;
      i++;
    } else if (p[i] === '-') {
      bucket = excluded;
      i++;
    }
    let term: string;
    if (p[i] === '"') {
      const q = readQuoted(p, i);
      term = q.value;
      i = q.end;
      if (i < p.length && !isSpace(p.charCodeAt(i))) fail();
    } else {
      const start = i;
      while (i < p.length && !isSpace(p.charCodeAt(i))) {
        if (p[i] === '"') fail();
        i++;
      }
      term = p.slice(start, i);
    }
    if (term === '') fail();
    bucket.push(term);
  }
  return (m) => {
    for (const t of required) if (!m.includes(t)) return false;
    for (const t of excluded) if (m.includes(t)) return false;
    if (optional.length === 0) return true;
    for (const t of optional) if (m.includes(t)) return true;
    return false;
  };
}

/** Reads `"…"` starting at the opening quote; `\"` and `\\` escape. */
function readQuoted(p: string, open: number): { value: string; end: number } {
  let value = '';
  let i = open + 1;
  while (i < p.length) {
    const c = p[i];
    if (c === '\\' && i + 1 < p.length) {
      value += p[i + 1];
      i += 2;
      continue;
    }
    if (c === '"') return { value, end: i + 1 };
    value += c;
    i++;
  }
  return fail();
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

// ---------------------------------------------------------------------------------------
// Regular expressions and wildcards

function compileRegex(body: string): RegExp {
  if (body === '' || /(^|[^\\])[()]/.test(body)) fail();
  try {
    return new RegExp(body);
  } catch {
    return fail();
  }
}

/** `*` matches any run of characters; everything else is literal. */
function globMatcher(glob: string): (s: string) => boolean {
  if (!glob.includes('*')) return (s) => s === glob;
  const parts = glob.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`^${parts.join('[\\s\\S]*')}$`);
  return (s) => re.test(s);
}

// ---------------------------------------------------------------------------------------
// Shared expression machinery for JSON and space-delimited patterns

type Op = '=' | '!=' | '<' | '>' | '<=' | '>=';

type Literal =
  | { kind: 'number'; value: number; text: string }
  | { kind: 'string'; test: (s: string) => boolean; any: boolean }
  | { kind: 'regex'; re: RegExp };

type Expr<Ctx> = (ctx: Ctx) => boolean;

/** A small scanner over the inside of `{ … }` or `[ … ]`. */
class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  skip(): void {
    while (this.i < this.s.length && isSpace(this.s.charCodeAt(this.i))) this.i++;
  }
  eof(): boolean {
    this.skip();
    return this.i >= this.s.length;
  }
  peek(text: string): boolean {
    this.skip();
    return this.s.startsWith(text, this.i);
  }
  eat(text: string): boolean {
    if (!this.peek(text)) return false;
    this.i += text.length;
    return true;
  }
  /** Case-insensitive keyword followed by a non-word character. */
  keyword(word: string): boolean {
    this.skip();
    const end = this.i + word.length;
    if (this.s.slice(this.i, end).toUpperCase() !== word) return false;
    if (end < this.s.length && /[\w.$]/.test(this.s[end])) return false;
    this.i = end;
    return true;
  }
  op(): Op | undefined {
    this.skip();
    for (const o of ['!=', '<=', '>=', '=', '<', '>'] as const) {
      if (this.s.startsWith(o, this.i)) {
        this.i += o.length;
        return o;
      }
    }
    return undefined;
  }
  /** A value: "quoted", %regex%, a number, or a bare word up to a delimiter. */
  literal(stops: string): Literal {
    this.skip();
    const s = this.s;
    if (s[this.i] === '"') {
      const q = readQuoted(s, this.i);
      this.i = q.end;
      return { kind: 'string', test: globMatcher(q.value), any: q.value === '*' };
    }
    if (s[this.i] === '%') {
      const close = s.indexOf('%', this.i + 1);
      if (close < 0) fail();
      const re = compileRegex(s.slice(this.i + 1, close));
      this.i = close + 1;
      return { kind: 'regex', re };
    }
    const start = this.i;
    while (
      this.i < s.length &&
      !isSpace(s.charCodeAt(this.i)) &&
      !stops.includes(s[this.i]) &&
      !s.startsWith('&&', this.i) &&
      !s.startsWith('||', this.i)
    ) {
      this.i++;
    }
    const text = s.slice(start, this.i);
    if (text === '') fail();
    if (NUMBER.test(text)) return { kind: 'number', value: Number(text), text };
    return { kind: 'string', test: globMatcher(text), any: text === '*' };
  }
}

const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** or := and ('||' and)* ; and := unary ('&&' unary)* ; unary := '(' or ')' | leaf */
function parseBoolean<Ctx>(sc: Scanner, leaf: () => Expr<Ctx>): Expr<Ctx> {
  const unary = (): Expr<Ctx> => {
    if (sc.eat('(')) {
      const inner = or();
      if (!sc.eat(')')) fail();
      return inner;
    }
    return leaf();
  };
  const and = (): Expr<Ctx> => {
    let left = unary();
    while (sc.eat('&&')) {
      const a = left;
      const b = unary();
      left = (c) => a(c) && b(c);
    }
    return left;
  };
  const or = (): Expr<Ctx> => {
    let left = and();
    while (sc.eat('||')) {
      const a = left;
      const b = and();
      left = (c) => a(c) || b(c);
    }
    return left;
  };
  return or();
}

function compare(op: Op, lit: Literal, value: unknown): boolean {
  if (lit.kind === 'number') {
    if (typeof value !== 'number') return false;
    switch (op) {
      case '=':
        return value === lit.value;
      case '!=':
        return value !== lit.value;
      case '<':
        return value < lit.value;
      case '>':
        return value > lit.value;
      case '<=':
        return value <= lit.value;
      case '>=':
        return value >= lit.value;
    }
  }
  if (typeof value !== 'string') return false;
  const hit = lit.kind === 'regex' ? lit.re.test(value) : lit.test(value);
  return op === '=' ? hit : !hit;
}

// ---------------------------------------------------------------------------------------
// JSON patterns

type Step = string | number | '*';

interface JsonCtx {
  message: string;
  parsed?: unknown;
  tried: boolean;
}

function compileJson(p: string): Matcher {
  if (!p.endsWith('}')) fail();
  const sc = new Scanner(p.slice(1, -1));
  const expr = parseBoolean<JsonCtx>(sc, () => jsonLeaf(sc));
  if (!sc.eof()) fail();
  return (message) => {
    // Only messages that are JSON objects or arrays can match; skip the parse otherwise.
    let i = 0;
    while (i < message.length && isSpace(message.charCodeAt(i))) i++;
    const c = message.charCodeAt(i);
    if (c !== 123 && c !== 91) return false;
    return expr({ message, tried: false });
  };
}

function parsedOf(ctx: JsonCtx): unknown {
  if (!ctx.tried) {
    ctx.tried = true;
    try {
      ctx.parsed = JSON.parse(ctx.message);
    } catch {
      ctx.parsed = undefined;
    }
  }
  return ctx.parsed;
}

function jsonLeaf(sc: Scanner): Expr<JsonCtx> {
  const path = selector(sc);
  if (sc.keyword('IS')) {
    let want: unknown;
    if (sc.keyword('TRUE')) want = true;
    else if (sc.keyword('FALSE')) want = false;
    else if (sc.keyword('NULL')) want = null;
    else fail();
    return (ctx) => resolve(parsedOf(ctx), path).some((v) => v === want);
  }
  if (sc.keyword('NOT')) {
    if (!sc.keyword('EXISTS')) fail();
    return (ctx) => {
      const doc = parsedOf(ctx);
      return doc !== undefined && resolve(doc, path).length === 0;
    };
  }
  if (sc.keyword('EXISTS')) return (ctx) => resolve(parsedOf(ctx), path).length > 0;
  const op = sc.op();
  if (!op) fail();
  const lit = sc.literal('()');
  if (lit.kind !== 'number' && op !== '=' && op !== '!=') fail();
  // `{ $.field = * }` matches any present value, whatever its type.
  if (lit.kind === 'string' && op === '=' && lit.any) {
    return (ctx) => resolve(parsedOf(ctx), path).length > 0;
  }
  return (ctx) => resolve(parsedOf(ctx), path).some((v) => compare(op, lit, v));
}

/** `$.a.b[0].c`, `$.a[*]`, `$.*` → steps. */
function selector(sc: Scanner): Step[] {
  sc.skip();
  const s = sc.s;
  if (s[sc.i] !== '$') fail();
  sc.i++;
  const steps: Step[] = [];
  while (sc.i < s.length) {
    const c = s[sc.i];
    if (c === '.') {
      sc.i++;
      if (s[sc.i] === '*') {
        sc.i++;
        steps.push('*');
        continue;
      }
      const start = sc.i;
      while (sc.i < s.length && /[\w@:-]/.test(s[sc.i])) sc.i++;
      if (sc.i === start) fail();
      steps.push(s.slice(start, sc.i));
    } else if (c === '[') {
      const close = s.indexOf(']', sc.i);
      if (close < 0) fail();
      const inner = s.slice(sc.i + 1, close).trim();
      if (inner === '*') steps.push('*');
      else if (/^\d+$/.test(inner)) steps.push(Number(inner));
      else fail();
      sc.i = close + 1;
    } else {
      break;
    }
  }
  if (steps.length === 0) fail();
  return steps;
}

function resolve(doc: unknown, path: readonly Step[]): unknown[] {
  let current: unknown[] = doc === undefined ? [] : [doc];
  for (const step of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || typeof v !== 'object') continue;
      if (step === '*') {
        for (const child of Object.values(v)) next.push(child);
      } else if (typeof step === 'number') {
        if (Array.isArray(v) && step < v.length) next.push(v[step]);
      } else if (!Array.isArray(v) && Object.hasOwn(v, step)) {
        next.push((v as Record<string, unknown>)[step]);
      }
    }
    current = next;
  }
  return current;
}

// ---------------------------------------------------------------------------------------
// Space-delimited patterns

function compileDelimited(p: string): Matcher {
  if (!p.endsWith(']')) fail();
  const sc = new Scanner(p.slice(1, -1));
  const names: string[] = [];
  const conditions: Expr<Map<string, string>>[] = [];
  while (!sc.eof()) {
    if (sc.eat('...')) {
      names.push('...');
    } else {
      const name = fieldName(sc);
      names.push(name);
      sc.skip();
      if (!sc.peek(',') && !sc.eof()) {
        // Conditions on this field (and, with && / ||, on fields named in them).
        conditions.push(parseBoolean<Map<string, string>>(sc, () => delimitedLeaf(sc, name)));
      }
    }
    if (!sc.eat(',') && !sc.eof()) fail();
  }
  if (names.length === 0) fail();
  const ellipses = names.filter((n) => n === '...').length;
  if (ellipses > 1) fail();
  return (message) => {
    const fields = splitFields(message);
    const values = bindFields(names, fields);
    if (!values) return false;
    for (const cond of conditions) if (!cond(values)) return false;
    return true;
  };
}

function fieldName(sc: Scanner): string {
  sc.skip();
  const start = sc.i;
  while (sc.i < sc.s.length && /[\w$.-]/.test(sc.s[sc.i])) {
    if (sc.s.startsWith('...', sc.i)) break;
    sc.i++;
  }
  if (sc.i === start) fail();
  return sc.s.slice(start, sc.i);
}

function delimitedLeaf(sc: Scanner, current: string): Expr<Map<string, string>> {
  // A leaf is `op value` for the field being declared, or `name op value` for another.
  let name = current;
  let op = sc.op();
  if (!op) {
    name = fieldName(sc);
    op = sc.op();
    if (!op) fail();
  }
  const lit = sc.literal(',()');
  if (lit.kind !== 'number' && op !== '=' && op !== '!=') fail();
  return (values) => {
    const v = values.get(name);
    if (v === undefined) return false;
    if (lit.kind === 'number') {
      if (!NUMBER.test(v)) return op === '!=';
      return compare(op, lit, Number(v));
    }
    return compare(op, lit, v);
  };
}

/** Fields are separated by spaces; "quoted" and [bracketed] runs are one field each. */
function splitFields(message: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = message.length;
  while (i < n) {
    while (i < n && isSpace(message.charCodeAt(i))) i++;
    if (i >= n) break;
    const c = message[i];
    if (c === '"' || c === '[') {
      const close = message.indexOf(c === '"' ? '"' : ']', i + 1);
      if (close >= 0) {
        out.push(message.slice(i + 1, close));
        i = close + 1;
        continue;
      }
    }
    const start = i;
    while (i < n && !isSpace(message.charCodeAt(i))) i++;
    out.push(message.slice(start, i));
  }
  return out;
}

function bindFields(
  names: readonly string[],
  fields: readonly string[],
): Map<string, string> | undefined {
  const values = new Map<string, string>();
  const dots = names.indexOf('...');
  if (dots < 0) {
    if (fields.length !== names.length) return undefined;
    for (let i = 0; i < names.length; i++) values.set(names[i], fields[i]);
    return values;
  }
  const tail = names.length - dots - 1;
  if (fields.length < dots + tail) return undefined;
  for (let i = 0; i < dots; i++) values.set(names[i], fields[i]);
  for (let k = 0; k < tail; k++) {
    values.set(names[dots + 1 + k], fields[fields.length - tail + k]);
  }
  return values;
}
