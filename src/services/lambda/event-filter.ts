/**
 * Event filtering for event source mappings: FilterCriteria patterns in EventBridge's
 * pattern syntax, matched against each record (a record is kept when any filter matches).
 * Supported: exact values, prefix, suffix, anything-but (values or a prefix), numeric
 * ranges, exists, equals-ignore-case, nested fields and arrays.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 */
export type Pattern = { [field: string]: Pattern | unknown[] };

export function parsePattern(text: string): Pattern {
  const p = JSON.parse(text) as unknown;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error('not an object');
  check(p as Pattern);
  return p as Pattern;
}

function check(p: Pattern): void {
  for (const v of Object.values(p)) {
    if (Array.isArray(v)) continue;
    if (typeof v !== 'object' || v === null) throw new Error('a pattern value must be an array');
    check(v as Pattern);
  }
}

export function matches(pattern: Pattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return Object.entries(pattern).every(([field, rule]) => {
    const value = e[field];
    if (Array.isArray(rule)) return matchesRules(rule, value);
    return Array.isArray(value)
      ? value.some((v) => matches(rule as Pattern, v))
      : matches(rule as Pattern, value);
  });
}

function matchesRules(rules: unknown[], value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  return rules.some((rule) => {
    if (typeof rule === 'object' && rule !== null) {
      const r = rule as Record<string, unknown>;
      if ('exists' in r) return (value !== undefined) === r.exists;
      return values.some((v) => v !== undefined && matchesOperator(r, v));
    }
    return values.some((v) => v === rule);
  });
}

function matchesOperator(r: Record<string, unknown>, v: unknown): boolean {
  if ('prefix' in r)
    return typeof v === 'string' && typeof r.prefix === 'string' && v.startsWith(r.prefix);
  if ('suffix' in r)
    return typeof v === 'string' && typeof r.suffix === 'string' && v.endsWith(r.suffix);
  if ('equals-ignore-case' in r) {
    return (
      typeof v === 'string' && String(r['equals-ignore-case']).toLowerCase() === v.toLowerCase()
    );
  }
  if ('anything-but' in r) {
    const but = r['anything-but'];
    if (Array.isArray(but)) return !but.includes(v);
    if (typeof but === 'object' && but !== null && 'prefix' in but) {
      return typeof v === 'string' && !v.startsWith(String((but as { prefix: unknown }).prefix));
    }
    return v !== but;
  }
  if ('numeric' in r && Array.isArray(r.numeric)) {
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isNaN(n)) return false;
    const ops = r.numeric;
    for (let i = 0; i + 1 < ops.length; i += 2) {
      const x = Number(ops[i + 1]);
      switch (ops[i]) {
        case '=':
          if (!(n === x)) return false;
          break;
        case '<':
          if (!(n < x)) return false;
          break;
        case '<=':
          if (!(n <= x)) return false;
          break;
        case '>':
          if (!(n > x)) return false;
          break;
        case '>=':
          if (!(n >= x)) return false;
          break;
        default:
          return false;
      }
    }
    return true;
  }
  return false;
}
