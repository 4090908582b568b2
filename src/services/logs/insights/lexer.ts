/**
 * Tokens of the Logs Insights query language (CWLI), each with its character offsets so
 * that a MalformedQueryException can point at the text (`queryCompileError.location`).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
 */

export type TokenKind =
  | 'ident'
  | 'number'
  | 'period'
  | 'string'
  | 'regex'
  | 'op'
  | 'pipe'
  | 'comma'
  | 'lparen'
  | 'rparen'
  | 'lbracket'
  | 'rbracket'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The identifier's name (unquoted), the string's value, the operator, the regex source. */
  text: string;
  start: number;
  /** Exclusive. */
  end: number;
  /** Regex flags; a period's length in milliseconds; a number's value. */
  flags?: string;
  value?: number;
  /** A backquoted identifier is never a keyword. */
  quoted?: boolean;
}

/** A compile error at a span of the query (AWS reports offsets in characters). */
export class QuerySyntaxError extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
  }
}

/** `bin(5m)`, `datefloor(@timestamp, 1h)`: the units AWS lists for time periods. */
export const PERIOD_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const IDENT_START = /[A-Za-z_@$]/;
const IDENT_PART = /[A-Za-z0-9_@$.-]/;
const OPERATORS = ['!=', '<=', '>=', '=~', '=', '<', '>', '+', '-', '*', '/', '%', '^'];

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  /** After a value a '/' divides; anywhere else it opens a regex. */
  const afterValue = (): boolean => {
    const last = out[out.length - 1];
    if (!last) return false;
    // `parse @message /(?<x>…)/`: the pattern follows the field it parses.
    const before = out[out.length - 2];
    if (before?.kind === 'ident' && !before.quoted && before.text.toLowerCase() === 'parse') {
      return false;
    }
    if (last.kind === 'ident') return !last.quoted ? !isKeyword(last.text) : true;
    return ['number', 'period', 'string', 'regex', 'rparen', 'rbracket'].includes(last.kind);
  };
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (c === '#') {
      // A comment runs to the end of the line.
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '|') {
      out.push({ kind: 'pipe', text: c, start, end: ++i });
      continue;
    }
    const single: Record<string, TokenKind> = {
      ',': 'comma',
      '(': 'lparen',
      ')': 'rparen',
      '[': 'lbracket',
      ']': 'rbracket',
    };
    if (single[c]) {
      out.push({ kind: single[c], text: c, start, end: ++i });
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) {
          const n = src[i + 1];
          value += n === 'n' ? '\n' : n === 't' ? '\t' : n === c || n === '\\' ? n : '\\' + n;
          i += 2;
        } else value += src[i++];
      }
      if (i >= src.length) throw new QuerySyntaxError('unterminated string', start, src.length);
      out.push({ kind: 'string', text: value, start, end: ++i });
      continue;
    }
    if (c === '`') {
      const close = src.indexOf('`', i + 1);
      if (close < 0) throw new QuerySyntaxError('unterminated field name', start, src.length);
      i = close + 1;
      out.push({ kind: 'ident', text: src.slice(start + 1, close), start, end: i, quoted: true });
      continue;
    }
    if (c === '/' && !afterValue()) {
      let source = '';
      i++;
      while (i < src.length && src[i] !== '/') {
        if (src[i] === '\\' && i + 1 < src.length) {
          // `\/` is a slash inside the regex; other escapes are the regex's own.
          source += src[i + 1] === '/' ? '/' : src.slice(i, i + 2);
          i += 2;
        } else source += src[i++];
      }
      if (i >= src.length) throw new QuerySyntaxError('unterminated regex', start, src.length);
      i++;
      let flags = '';
      while (i < src.length && /[a-z]/.test(src[i])) flags += src[i++];
      out.push({ kind: 'regex', text: source, flags, start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      while (i < src.length && /[0-9.]/.test(src[i])) i++;
      if (i < src.length && /[eE]/.test(src[i]) && /[-+0-9]/.test(src[i + 1] ?? '')) {
        i += 2;
        while (i < src.length && /[0-9]/.test(src[i])) i++;
      }
      const digits = src.slice(start, i);
      const value = Number(digits);
      if (Number.isNaN(value)) throw new QuerySyntaxError(`invalid number ${digits}`, start, i);
      // `5m`: a number directly followed by a unit is a time period.
      let u = i;
      while (u < src.length && /[a-z]/i.test(src[u])) u++;
      const unit = src.slice(i, u).toLowerCase();
      if (unit && PERIOD_MS[unit] !== undefined) {
        out.push({
          kind: 'period',
          text: src.slice(start, u),
          value: value * PERIOD_MS[unit],
          start,
          end: u,
        });
        i = u;
        continue;
      }
      if (unit) throw new QuerySyntaxError(`unknown time unit ${unit}`, i, u);
      out.push({ kind: 'number', text: digits, value, start, end: i });
      continue;
    }
    if (IDENT_START.test(c)) {
      i++;
      while (i < src.length && IDENT_PART.test(src[i])) {
        // A '-' joins a name only when a name character follows (`x-y` vs `x - y`).
        if (src[i] === '-' && !/[A-Za-z_]/.test(src[i + 1] ?? '')) break;
        i++;
      }
      // A trailing '.' is not part of a name.
      while (src[i - 1] === '.') i--;
      out.push({ kind: 'ident', text: src.slice(start, i), start, end: i });
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      i += op.length;
      out.push({ kind: 'op', text: op, start, end: i });
      continue;
    }
    throw new QuerySyntaxError(`unexpected character '${c}'`, start, start + 1);
  }
  out.push({ kind: 'eof', text: '', start: src.length, end: src.length });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'like', 'in', 'as', 'by', 'asc', 'desc']);
export const isKeyword = (word: string): boolean => KEYWORDS.has(word.toLowerCase());
