/**
 * DynamoDB's expression language: condition, filter and key condition expressions,
 * projection expressions and update expressions, parsed into small trees with the
 * request's ExpressionAttributeNames and ExpressionAttributeValues substituted.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
 */
import type { AttributeValue } from '../../api/dynamodb/types.js';
import { validation } from './errors.js';
import { isReserved } from './reserved-words.js';
import { checkValue, type Item } from './values.js';

export type ExpressionKind =
  | 'ConditionExpression'
  | 'KeyConditionExpression'
  | 'FilterExpression'
  | 'ProjectionExpression'
  | 'UpdateExpression';

export type PathElement = string | number;
export type Path = PathElement[];

export type Operand =
  | { k: 'path'; path: Path }
  | { k: 'value'; value: AttributeValue }
  | { k: 'size'; path: Path }
  | { k: 'if_not_exists'; path: Path; fallback: Operand }
  | { k: 'list_append'; a: Operand; b: Operand }
  | { k: 'arith'; op: '+' | '-'; a: Operand; b: Operand };

export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { k: 'cmp'; op: Comparator; a: Operand; b: Operand }
  | { k: 'between'; a: Operand; lo: Operand; hi: Operand }
  | { k: 'in'; a: Operand; list: Operand[] }
  | { k: 'and' | 'or'; l: Condition; r: Condition }
  | { k: 'not'; c: Condition }
  | {
      k: 'fn';
      name:
        'attribute_exists' | 'attribute_not_exists' | 'attribute_type' | 'begins_with' | 'contains';
      path: Path;
      arg?: Operand;
    };

export interface UpdateActions {
  set: { path: Path; value: Operand }[];
  remove: Path[];
  add: { path: Path; value: AttributeValue }[];
  delete: { path: Path; value: AttributeValue }[];
}

/**
 * The names and values one request supplies, shared by all its expressions; what they
 * use is recorded so that unused entries are refused as AWS refuses them.
 */
export class ExpressionScope {
  private readonly usedNames = new Set<string>();
  private readonly usedValues = new Set<string>();
  private readonly values: Item | undefined;

  constructor(
    private readonly names: Record<string, string> | undefined,
    values: Item | undefined,
  ) {
    if (names && Object.keys(names).length === 0) {
      throw validation('ExpressionAttributeNames must not be empty');
    }
    if (values && Object.keys(values).length === 0) {
      throw validation('ExpressionAttributeValues must not be empty');
    }
    if (values) {
      const checked: Item = {};
      for (const [k, v] of Object.entries(values)) {
        try {
          checked[k] = checkValue(v);
        } catch (err) {
          if (err instanceof Error && err.message.startsWith('One or more parameter values')) {
            throw validation(
              `ExpressionAttributeValues contains invalid value: ${err.message} for key ${k}`,
            );
          }
          throw err;
        }
      }
      this.values = checked;
    }
  }

  name(ref: string, kind: ExpressionKind): string {
    const n = this.names?.[ref];
    if (n === undefined) {
      throw validation(
        `Invalid ${kind}: An expression attribute name used in the document path is not defined; attribute name: ${ref}`,
      );
    }
    this.usedNames.add(ref);
    return n;
  }

  value(ref: string, kind: ExpressionKind): AttributeValue {
    const v = this.values?.[ref];
    if (v === undefined) {
      throw validation(
        `Invalid ${kind}: An expression attribute value used in expression is not defined; attribute value: ${ref}`,
      );
    }
    this.usedValues.add(ref);
    return v;
  }

  /** After every expression of the request is parsed: refuse what none of them used. */
  checkAllUsed(anyExpression: boolean): void {
    if (!anyExpression) {
      if (this.names) {
        throw validation('ExpressionAttributeNames can only be specified when using expressions');
      }
      if (this.values) {
        throw validation('ExpressionAttributeValues can only be specified when using expressions');
      }
    }
    const unusedNames = Object.keys(this.names ?? {}).filter((k) => !this.usedNames.has(k));
    if (unusedNames.length) {
      throw validation(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`,
      );
    }
    const unusedValues = Object.keys(this.values ?? {}).filter((k) => !this.usedValues.has(k));
    if (unusedValues.length) {
      throw validation(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Tokens

type TokenType = 'word' | 'name' | 'value' | 'number' | 'sym' | 'eof';
interface Token {
  t: TokenType;
  text: string;
  pos: number;
}

const SYMBOLS = ['<>', '<=', '>=', '=', '<', '>', '(', ')', '[', ']', ',', '.', '+', '-'];

function tokenize(src: string, kind: ExpressionKind): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const m =
      /^#[A-Za-z0-9_]+/.exec(rest) ??
      /^:[A-Za-z0-9_]+/.exec(rest) ??
      /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest) ??
      /^\d+/.exec(rest);
    if (m) {
      const text = m[0];
      const t: TokenType =
        c === '#' ? 'name' : c === ':' ? 'value' : /\d/.test(c) ? 'number' : 'word';
      out.push({ t, text, pos: i });
      i += text.length;
      continue;
    }
    const sym = SYMBOLS.find((s) => rest.startsWith(s));
    if (!sym) throw syntaxError(kind, c, src.slice(Math.max(0, i - 1), i + 1));
    out.push({ t: 'sym', text: sym, pos: i });
    i += sym.length;
  }
  out.push({ t: 'eof', text: '<EOF>', pos: src.length });
  return out;
}

const syntaxError = (kind: ExpressionKind, token: string, near: string) =>
  validation(`Invalid ${kind}: Syntax error; token: "${token}", near: "${near}"`);

const FUNCTIONS = new Set([
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
  'size',
  'if_not_exists',
  'list_append',
]);

class Parser {
  private i = 0;
  private readonly tokens: Token[];

  constructor(
    private readonly src: string,
    private readonly kind: ExpressionKind,
    private readonly scope: ExpressionScope,
  ) {
    if (src.trim() === '') {
      throw validation(`Invalid ${kind}: The expression can not be empty;`);
    }
    this.tokens = tokenize(src, kind);
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private fail(t: Token = this.peek()): never {
    const prev = this.tokens[this.i - 1];
    const near = prev
      ? this.src.slice(prev.pos, t.pos + (t.t === 'eof' ? 0 : t.text.length))
      : t.text;
    throw syntaxError(this.kind, t.text, near);
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'word' && t.text.toUpperCase() === word;
  }

  expectSym(sym: string): void {
    const t = this.peek();
    if (t.t !== 'sym' || t.text !== sym) this.fail();
    this.next();
  }

  private isSym(sym: string): boolean {
    const t = this.peek();
    return t.t === 'sym' && t.text === sym;
  }

  end(): void {
    if (this.peek().t !== 'eof') this.fail();
  }

  atEnd(): boolean {
    return this.peek().t === 'eof';
  }

  // --- paths and operands

  path(): Path {
    const out: Path = [this.pathName()];
    for (;;) {
      if (this.isSym('.')) {
        this.next();
        out.push(this.pathName());
      } else if (this.isSym('[')) {
        this.next();
        const n = this.next();
        if (n.t !== 'number') this.fail(n);
        out.push(Number(n.text));
        this.expectSym(']');
      } else return out;
    }
  }

  private pathName(): string {
    const t = this.next();
    if (t.t === 'name') return this.scope.name(t.text, this.kind);
    if (t.t === 'word') {
      if (isReserved(t.text)) {
        throw validation(
          `Invalid ${this.kind}: Attribute name is a reserved keyword; reserved keyword: ${t.text}`,
        );
      }
      return t.text;
    }
    return this.fail(t);
  }

  operand(update = false): Operand {
    const t = this.peek();
    if (t.t === 'value') {
      this.next();
      return { k: 'value', value: this.scope.value(t.text, this.kind) };
    }
    if (t.t === 'word' && this.peek(1).t === 'sym' && this.peek(1).text === '(') {
      if (!FUNCTIONS.has(t.text)) {
        throw validation(`Invalid ${this.kind}: Invalid function name; function: ${t.text}`);
      }
      const allowed = update ? ['if_not_exists', 'list_append'] : ['size'];
      if (!allowed.includes(t.text)) {
        throw validation(
          `Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${t.text}`,
        );
      }
      this.next();
      this.next();
      let out: Operand;
      if (t.text === 'size') out = { k: 'size', path: this.path() };
      else if (t.text === 'if_not_exists') {
        const path = this.path();
        this.expectSym(',');
        out = { k: 'if_not_exists', path, fallback: this.operand(true) };
      } else {
        const a = this.operand(true);
        this.expectSym(',');
        out = { k: 'list_append', a, b: this.operand(true) };
      }
      this.expectSym(')');
      return out;
    }
    if (t.t === 'word' || t.t === 'name') return { k: 'path', path: this.path() };
    return this.fail(t);
  }

  // --- conditions

  condition(): Condition {
    let l = this.conjunction();
    while (this.isKeyword('OR')) {
      this.next();
      l = { k: 'or', l, r: this.conjunction() };
    }
    return l;
  }

  private conjunction(): Condition {
    let l = this.negation();
    while (this.isKeyword('AND')) {
      this.next();
      l = { k: 'and', l, r: this.negation() };
    }
    return l;
  }

  private negation(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { k: 'not', c: this.negation() };
    }
    return this.primary();
  }

  private primary(): Condition {
    if (this.isSym('(')) {
      this.next();
      const c = this.condition();
      this.expectSym(')');
      return c;
    }
    const t = this.peek();
    if (
      t.t === 'word' &&
      t.text !== 'size' &&
      FUNCTIONS.has(t.text) &&
      this.peek(1).t === 'sym' &&
      this.peek(1).text === '('
    ) {
      return this.conditionFunction();
    }
    const a = this.operand();
    const op = this.peek();
    if (op.t === 'sym' && ['=', '<>', '<', '<=', '>', '>='].includes(op.text)) {
      this.next();
      return { k: 'cmp', op: op.text as Comparator, a, b: this.operand() };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const lo = this.operand();
      if (!this.isKeyword('AND')) this.fail();
      this.next();
      return { k: 'between', a, lo, hi: this.operand() };
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expectSym('(');
      const list = [this.operand()];
      while (this.isSym(',')) {
        this.next();
        list.push(this.operand());
      }
      this.expectSym(')');
      return { k: 'in', a, list };
    }
    if (a.k === 'size') {
      throw validation(
        `Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: size`,
      );
    }
    return this.fail(op);
  }

  private conditionFunction(): Condition {
    const name = this.next().text as
      Extract<Condition, { k: 'fn' }>['name'] | 'if_not_exists' | 'list_append';
    if (name === 'if_not_exists' || name === 'list_append') {
      throw validation(
        `Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${name}`,
      );
    }
    this.expectSym('(');
    const path = this.path();
    let arg: Operand | undefined;
    if (name !== 'attribute_exists' && name !== 'attribute_not_exists') {
      this.expectSym(',');
      arg = this.operand();
    }
    this.expectSym(')');
    return { k: 'fn', name, path, arg };
  }

  // --- update expressions

  update(): UpdateActions {
    const out: UpdateActions = { set: [], remove: [], add: [], delete: [] };
    const seen = new Set<string>();
    while (!this.atEnd()) {
      const t = this.next();
      const clause = t.t === 'word' ? t.text.toUpperCase() : '';
      if (!['SET', 'REMOVE', 'ADD', 'DELETE'].includes(clause)) this.fail(t);
      if (seen.has(clause)) {
        throw validation(
          `Invalid UpdateExpression: The "${clause}" section can only be used once in an update expression;`,
        );
      }
      seen.add(clause);
      do {
        if (clause === 'SET') {
          const path = this.path();
          this.expectSym('=');
          let value = this.operand(true);
          if (this.isSym('+') || this.isSym('-')) {
            const op = this.next().text as '+' | '-';
            value = { k: 'arith', op, a: value, b: this.operand(true) };
          }
          out.set.push({ path, value });
        } else if (clause === 'REMOVE') {
          out.remove.push(this.path());
        } else {
          const path = this.path();
          const v = this.peek();
          if (v.t !== 'value') this.fail(v);
          this.next();
          const value = this.scope.value(v.text, this.kind);
          (clause === 'ADD' ? out.add : out.delete).push({ path, value });
        }
      } while (this.isSym(',') && this.next());
    }
    if (seen.size === 0) this.fail();
    return out;
  }
}

export function parseCondition(
  src: string,
  kind: ExpressionKind,
  scope: ExpressionScope,
): Condition {
  const p = new Parser(src, kind, scope);
  const c = p.condition();
  p.end();
  return c;
}

export function parseProjection(src: string, scope: ExpressionScope): Path[] {
  const p = new Parser(src, 'ProjectionExpression', scope);
  const out = [p.path()];
  while (!p.atEnd()) {
    p.expectSym(',');
    out.push(p.path());
  }
  return out;
}

export function parseUpdate(src: string, scope: ExpressionScope): UpdateActions {
  const p = new Parser(src, 'UpdateExpression', scope);
  const actions = p.update();
  checkOverlaps([
    ...actions.set.map((a) => a.path),
    ...actions.remove,
    ...actions.add.map((a) => a.path),
    ...actions.delete.map((a) => a.path),
  ]);
  return actions;
}

export const pathText = (path: Path): string =>
  path.map((e, i) => (typeof e === 'number' ? `[${e}]` : i === 0 ? e : `.${e}`)).join('');

const pathList = (path: Path): string => `[${path.join(', ')}]`;

/** "Two document paths overlap with each other", AWS's refusal of an ambiguous update. */
function checkOverlaps(paths: Path[]): void {
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const [a, b] =
        paths[i].length <= paths[j].length ? [paths[i], paths[j]] : [paths[j], paths[i]];
      if (!a.every((e, n) => e === b[n])) continue;
      if (a.length === b.length) {
        throw validation(
          `Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: ${pathList(paths[i])}, path two: ${pathList(paths[j])}`,
        );
      }
      throw validation(
        `Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: ${pathList(paths[i])}, path two: ${pathList(paths[j])}`,
      );
    }
  }
}
