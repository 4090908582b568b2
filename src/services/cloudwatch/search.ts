/**
 * Search expressions, `SEARCH('{AWS/Lambda,FunctionName} MetricName="Errors"', 'Sum', 60)`:
 * an optional schema (a namespace and the exact set of dimension names), then terms joined
 * by AND (implied by a space), OR and NOT, with parentheses. A term is `Name=Value`
 * (MetricName, Namespace or a dimension name; quotes for exact values) or a bare word,
 * which matches part of the namespace, metric name, a dimension name or value.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html
 */
import { MathError } from './metric-math.js';
import type { Dimension } from './series.js';

export interface Searchable {
  namespace: string;
  name: string;
  dims: readonly Dimension[];
}

type Cond = (m: Searchable) => boolean;

export function compileSearch(query: string): Cond {
  let rest = query.trim();
  let schema: Cond = () => true;
  if (rest.startsWith('{')) {
    const end = rest.indexOf('}');
    if (end < 0) throw new MathError('Unterminated schema in search expression');
    const parts = splitSchema(rest.slice(1, end));
    rest = rest.slice(end + 1);
    const [namespace, ...dimNames] = parts;
    const wanted = [...dimNames].sort().join('\u0000');
    schema = (m) =>
      m.namespace === namespace &&
      m.dims
        .map((d) => d.Name)
        .sort()
        .join('\u0000') === wanted;
  }
  const tokens = tokenize(rest);
  let pos = 0;
  const or = (): Cond => {
    let l = and();
    while (tokens[pos] === 'OR') {
      pos++;
      const a = l;
      const b = and();
      l = (m) => a(m) || b(m);
    }
    return l;
  };
  const and = (): Cond => {
    let l = not();
    while (pos < tokens.length && tokens[pos] !== 'OR' && tokens[pos] !== ')') {
      if (tokens[pos] === 'AND') pos++;
      const a = l;
      const b = not();
      l = (m) => a(m) && b(m);
    }
    return l;
  };
  const not = (): Cond => {
    if (tokens[pos] === 'NOT') {
      pos++;
      const c = not();
      return (m) => !c(m);
    }
    return term();
  };
  const term = (): Cond => {
    const t = tokens[pos++];
    if (t === undefined) throw new MathError('Incomplete search expression');
    if (t === '(') {
      const c = or();
      if (tokens[pos++] !== ')') throw new MathError('Unbalanced parentheses in search expression');
      return c;
    }
    const eq = splitTerm(t);
    if (eq) return fieldMatch(eq[0], eq[1], eq[2]);
    const word = unquote(t).toLowerCase();
    return (m) =>
      m.namespace.toLowerCase().includes(word) ||
      m.name.toLowerCase().includes(word) ||
      m.dims.some(
        (d) => d.Name.toLowerCase().includes(word) || d.Value.toLowerCase().includes(word),
      );
  };
  const body = tokens.length ? or() : () => true;
  if (pos < tokens.length) throw new MathError(`Unexpected "${tokens[pos]}" in search expression`);
  return (m) => schema(m) && body(m);
}

function fieldMatch(field: string, value: string, exact: boolean): Cond {
  const has = (actual: string): boolean =>
    exact ? actual === value : actual.toLowerCase().includes(value.toLowerCase());
  if (field === 'MetricName') return (m) => has(m.name);
  if (field === 'Namespace') return (m) => has(m.namespace);
  return (m) => m.dims.some((d) => d.Name === field && has(d.Value));
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** `Name=Value` / `"Name"="Value"` → [name, value, exact]; undefined for a bare word. */
function splitTerm(t: string): [string, string, boolean] | undefined {
  let inQuote = false;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '"') inQuote = !inQuote;
    else if (t[i] === '=' && !inQuote) {
      const v = t.slice(i + 1);
      return [unquote(t.slice(0, i)), unquote(v), v.startsWith('"')];
    }
  }
  return undefined;
}

function splitSchema(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  for (const c of s) {
    if (c === '"') inQuote = !inQuote;
    else if (c === ',' && !inQuote) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out.filter((p) => p.length > 0);
}

function tokenize(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push(c);
      i++;
      continue;
    }
    let j = i;
    let inQuote = false;
    while (j < s.length && (inQuote || !/[\s()]/.test(s[j]))) {
      if (s[j] === '"') inQuote = !inQuote;
      j++;
    }
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}
