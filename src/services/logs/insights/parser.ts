/**
 * A recursive-descent parser for the Logs Insights query language: commands separated by
 * `|`, each a keyword and its arguments, over expressions with AWS's precedence
 * (or < and < not < comparison / like / in < + - < * / % < ^ < unary minus).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
 */
import { AGGREGATES } from './aggregates.js';
import { SCALAR_FUNCTIONS } from './functions.js';
import { isKeyword, QuerySyntaxError, type Token, tokenize } from './lexer.js';

interface Span {
  start: number;
  end: number;
}

export type Expr = Span &
  (
    | { k: 'num'; v: number }
    | { k: 'str'; v: string }
    | { k: 'regex'; re: RegExp }
    | { k: 'period'; ms: number }
    | { k: 'star' }
    | { k: 'field'; name: string }
    | { k: 'list'; items: Expr[] }
    | { k: 'call'; name: string; args: Expr[]; text: string }
    | { k: 'neg'; e: Expr }
    | { k: 'not'; e: Expr }
    | { k: 'bin'; op: BinaryOp; l: Expr; r: Expr }
  );

export type BinaryOp =
  | 'or'
  | 'and'
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'like'
  | 'notlike'
  | 'in'
  | 'notin'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^';

/** An expression with the column name it produces (`as` alias or its own text). */
export interface Named {
  expr: Expr;
  name: string;
}

export type Command =
  | { k: 'fields'; items: Named[] }
  | { k: 'display'; items: Named[] }
  | { k: 'filter'; expr: Expr }
  | { k: 'stats'; aggs: Named[]; by: Named[] }
  | { k: 'sort'; keys: { expr: Expr; desc: boolean }[] }
  | { k: 'limit'; n: number }
  | { k: 'parse'; source: Expr; glob?: { re: RegExp; names: string[] }; regex?: RegExp }
  | { k: 'dedup'; fields: Expr[] };

export interface Query {
  commands: Command[];
}

/** "The maximum number of log events … is 10,000" (the `limit` command and StartQuery's). */
export const MAX_LIMIT = 10_000;

export function parseQuery(src: string): Query {
  return new Parser(src).query();
}

class Parser {
  private readonly tokens: Token[];
  private at = 0;

  constructor(private readonly src: string) {
    this.tokens = tokenize(src);
  }

  query(): Query {
    const commands: Command[] = [];
    if (this.peek().kind === 'eof') throw new QuerySyntaxError('the query is empty', 0, 0);
    for (;;) {
      commands.push(this.command());
      const t = this.next();
      if (t.kind === 'eof') break;
      if (t.kind !== 'pipe') throw this.unexpected(t, "'|'");
    }
    return { commands };
  }

  private command(): Command {
    const t = this.next();
    if (t.kind !== 'ident' || t.quoted) throw this.unexpected(t, 'a command');
    switch (t.text.toLowerCase()) {
      case 'fields':
        return { k: 'fields', items: this.namedList(false) };
      case 'display':
        return { k: 'display', items: this.namedList(false) };
      case 'filter':
        return { k: 'filter', expr: this.expr() };
      case 'stats':
        return this.stats();
      case 'sort':
        return this.sort();
      case 'limit': {
        const n = this.next();
        if (n.kind !== 'number' || !Number.isInteger(n.value) || (n.value ?? 0) < 1) {
          throw this.unexpected(n, 'a positive integer');
        }
        if ((n.value ?? 0) > MAX_LIMIT) {
          throw new QuerySyntaxError(`limit must be between 1 and ${MAX_LIMIT}`, n.start, n.end);
        }
        return { k: 'limit', n: n.value as number };
      }
      case 'parse':
        return this.parse();
      case 'dedup': {
        const fields = [this.primary()];
        while (this.accept('comma')) fields.push(this.primary());
        for (const f of fields) {
          if (f.k !== 'field')
            throw new QuerySyntaxError('dedup takes field names', f.start, f.end);
        }
        return { k: 'dedup', fields };
      }
      default:
        throw new QuerySyntaxError(`unknown command '${t.text}'`, t.start, t.end);
    }
  }

  private stats(): Command {
    const aggs = this.namedList(true);
    for (const a of aggs) {
      if (!containsAggregate(a.expr)) {
        throw new QuerySyntaxError(
          'stats takes aggregate functions (count, sum, avg, …)',
          a.expr.start,
          a.expr.end,
        );
      }
    }
    let by: Named[] = [];
    if (this.acceptWord('by')) by = this.namedList(false);
    return { k: 'stats', aggs, by };
  }

  private sort(): Command {
    const keys: { expr: Expr; desc: boolean }[] = [];
    do {
      const expr = this.expr();
      let desc = false;
      if (this.acceptWord('desc')) desc = true;
      else this.acceptWord('asc');
      keys.push({ expr, desc });
    } while (this.accept('comma'));
    return { k: 'sort', keys };
  }

  private parse(): Command {
    let source: Expr = { k: 'field', name: '@message', start: 0, end: 0 };
    const first = this.peek();
    if (first.kind !== 'string' && first.kind !== 'regex') source = this.primary();
    const pattern = this.next();
    if (pattern.kind === 'regex') {
      const re = compileRegex(pattern);
      if (!/\(\?<[A-Za-z]/.test(re.source)) {
        throw new QuerySyntaxError(
          'a parse regex needs named capturing groups (?<name>…)',
          pattern.start,
          pattern.end,
        );
      }
      return { k: 'parse', source, regex: re };
    }
    if (pattern.kind !== 'string') throw this.unexpected(pattern, 'a pattern');
    if (!this.acceptWord('as')) throw this.unexpected(this.peek(), "'as'");
    const names: string[] = [];
    do {
      const n = this.next();
      if (n.kind !== 'ident') throw this.unexpected(n, 'a field name');
      names.push(n.text);
    } while (this.accept('comma'));
    const parts = pattern.text.split('*');
    if (parts.length - 1 !== names.length) {
      throw new QuerySyntaxError(
        `the pattern has ${parts.length - 1} wildcards but ${names.length} fields are named`,
        pattern.start,
        this.tokens[this.at - 1].end,
      );
    }
    const body = parts.map(escapeRegex).join('(.*?)');
    // The last wildcard takes the rest of the line when nothing follows it.
    const re = new RegExp(body.endsWith('(.*?)') ? body.slice(0, -5) + '(.*)' : body, 's');
    return { k: 'parse', source, glob: { re, names } };
  }

  private namedList(allowAggregates: boolean): Named[] {
    const out: Named[] = [];
    do {
      const expr = this.expr();
      if (!allowAggregates && containsAggregate(expr)) {
        throw new QuerySyntaxError(
          'aggregate functions are only allowed in stats',
          expr.start,
          expr.end,
        );
      }
      let name = this.src.slice(expr.start, expr.end);
      if (expr.k === 'field') name = expr.name;
      if (this.acceptWord('as')) {
        const alias = this.next();
        if (alias.kind !== 'ident') throw this.unexpected(alias, 'a field name');
        name = alias.text;
      }
      out.push({ expr, name });
    } while (this.accept('comma'));
    return out;
  }

  // Expressions, lowest precedence first.

  expr(): Expr {
    return this.or();
  }

  private or(): Expr {
    let l = this.and();
    while (this.acceptWord('or')) {
      const r = this.and();
      l = { k: 'bin', op: 'or', l, r, start: l.start, end: r.end };
    }
    return l;
  }

  private and(): Expr {
    let l = this.not();
    while (this.acceptWord('and')) {
      const r = this.not();
      l = { k: 'bin', op: 'and', l, r, start: l.start, end: r.end };
    }
    return l;
  }

  private not(): Expr {
    const t = this.peek();
    if (this.acceptWord('not')) {
      const e = this.not();
      return { k: 'not', e, start: t.start, end: e.end };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const l = this.additive();
    const t = this.peek();
    let negated = false;
    if (this.isWord(t, 'not')) {
      const after = this.tokens[this.at + 1];
      if (this.isWord(after, 'like') || this.isWord(after, 'in')) {
        this.at++;
        negated = true;
      }
    }
    const op = this.peek();
    if (this.acceptWord('like')) {
      const r = this.additive();
      return { k: 'bin', op: negated ? 'notlike' : 'like', l, r, start: l.start, end: r.end };
    }
    if (this.acceptWord('in')) {
      const r = this.additive();
      if (r.k !== 'list') throw new QuerySyntaxError("'in' takes a list [a, b, …]", r.start, r.end);
      return { k: 'bin', op: negated ? 'notin' : 'in', l, r, start: l.start, end: r.end };
    }
    if (op.kind === 'op' && ['=', '!=', '<', '<=', '>', '>=', '=~'].includes(op.text)) {
      this.at++;
      const r = this.additive();
      const bop: BinaryOp = op.text === '=~' ? 'like' : (op.text as BinaryOp);
      return { k: 'bin', op: bop, l, r, start: l.start, end: r.end };
    }
    return l;
  }

  private additive(): Expr {
    let l = this.multiplicative();
    for (
      let t = this.peek();
      t.kind === 'op' && (t.text === '+' || t.text === '-');
      t = this.peek()
    ) {
      this.at++;
      const r = this.multiplicative();
      l = { k: 'bin', op: t.text as BinaryOp, l, r, start: l.start, end: r.end };
    }
    return l;
  }

  private multiplicative(): Expr {
    let l = this.power();
    for (
      let t = this.peek();
      t.kind === 'op' && (t.text === '*' || t.text === '/' || t.text === '%');
      t = this.peek()
    ) {
      this.at++;
      const r = this.power();
      l = { k: 'bin', op: t.text as BinaryOp, l, r, start: l.start, end: r.end };
    }
    return l;
  }

  private power(): Expr {
    const l = this.unary();
    const t = this.peek();
    if (t.kind === 'op' && t.text === '^') {
      this.at++;
      const r = this.power();
      return { k: 'bin', op: '^', l, r, start: l.start, end: r.end };
    }
    return l;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && t.text === '-') {
      this.at++;
      const e = this.unary();
      return { k: 'neg', e, start: t.start, end: e.end };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { k: 'num', v: t.value as number, start: t.start, end: t.end };
      case 'period':
        return { k: 'period', ms: t.value as number, start: t.start, end: t.end };
      case 'string':
        return { k: 'str', v: t.text, start: t.start, end: t.end };
      case 'regex':
        return { k: 'regex', re: compileRegex(t), start: t.start, end: t.end };
      case 'lparen': {
        const e = this.expr();
        const close = this.next();
        if (close.kind !== 'rparen') throw this.unexpected(close, "')'");
        return { ...e, start: t.start, end: close.end };
      }
      case 'lbracket': {
        const items: Expr[] = [];
        if (this.peek().kind !== 'rbracket') {
          do items.push(this.expr());
          while (this.accept('comma'));
        }
        const close = this.next();
        if (close.kind !== 'rbracket') throw this.unexpected(close, "']'");
        return { k: 'list', items, start: t.start, end: close.end };
      }
      case 'ident': {
        if (!t.quoted && isKeyword(t.text)) throw this.unexpected(t, 'an expression');
        if (!t.quoted && this.peek().kind === 'lparen') return this.call(t);
        return { k: 'field', name: t.text, start: t.start, end: t.end };
      }
      default:
        throw this.unexpected(t, 'an expression');
    }
  }

  private call(name: Token): Expr {
    this.at++; // (
    const fn = name.text.toLowerCase();
    const args: Expr[] = [];
    if (this.peek().kind === 'op' && this.peek().text === '*') {
      const star = this.next();
      if (fn !== 'count')
        throw new QuerySyntaxError(`${name.text}(*) is not allowed`, star.start, star.end);
      args.push({ k: 'star', start: star.start, end: star.end });
    } else if (this.peek().kind !== 'rparen') {
      do args.push(this.expr());
      while (this.accept('comma'));
    }
    const close = this.next();
    if (close.kind !== 'rparen') throw this.unexpected(close, "')'");
    const spec = AGGREGATES[fn] ?? SCALAR_FUNCTIONS[fn];
    if (!spec) {
      throw new QuerySyntaxError(`unknown function '${name.text}'`, name.start, name.end);
    }
    if (args.length < spec.min || args.length > spec.max) {
      throw new QuerySyntaxError(
        `${fn} takes ${spec.min === spec.max ? spec.min : `${spec.min} to ${spec.max}`} argument(s), got ${args.length}`,
        name.start,
        close.end,
      );
    }
    if (AGGREGATES[fn]) {
      for (const a of args) {
        if (containsAggregate(a)) {
          throw new QuerySyntaxError('aggregate functions cannot be nested', a.start, a.end);
        }
      }
    }
    const text = this.src.slice(name.start, close.end);
    return { k: 'call', name: fn, args, text, start: name.start, end: close.end };
  }

  // Token helpers.

  private peek(): Token {
    return this.tokens[this.at];
  }

  private next(): Token {
    const t = this.tokens[this.at];
    if (t.kind !== 'eof') this.at++;
    return t;
  }

  private accept(kind: Token['kind']): boolean {
    if (this.peek().kind !== kind) return false;
    this.at++;
    return true;
  }

  private isWord(t: Token | undefined, word: string): boolean {
    return t !== undefined && t.kind === 'ident' && !t.quoted && t.text.toLowerCase() === word;
  }

  private acceptWord(word: string): boolean {
    if (!this.isWord(this.peek(), word)) return false;
    this.at++;
    return true;
  }

  private unexpected(t: Token, expected: string): QuerySyntaxError {
    const found = t.kind === 'eof' ? 'end of query' : `'${this.src.slice(t.start, t.end)}'`;
    return new QuerySyntaxError(`unexpected ${found}, expected ${expected}`, t.start, t.end);
  }
}

export function containsAggregate(e: Expr): boolean {
  switch (e.k) {
    case 'call':
      return AGGREGATES[e.name] !== undefined || e.args.some(containsAggregate);
    case 'neg':
    case 'not':
      return containsAggregate(e.e);
    case 'bin':
      return containsAggregate(e.l) || containsAggregate(e.r);
    case 'list':
      return e.items.some(containsAggregate);
    default:
      return false;
  }
}

/**
 * AWS's regexes are Java's (RE2-like) syntax: JS reads them alike but for inline flags,
 * of which `(?i)` (case-insensitive) is the one queries use.
 */
function compileRegex(t: Token): RegExp {
  let source = t.text;
  let flags = '';
  for (const f of t.flags ?? '') if (f === 'i' || f === 's' || f === 'm') flags += f;
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    for (const f of inline[1]) if (!flags.includes(f)) flags += f;
  }
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new QuerySyntaxError(
      `invalid regular expression: ${(err as Error).message}`,
      t.start,
      t.end,
    );
  }
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
