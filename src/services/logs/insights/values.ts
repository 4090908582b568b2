/**
 * Values a query computes with: strings, numbers, booleans, instants (`@timestamp`,
 * `bin(…)`, `fromMillis(…)`) and null for an absent field; and how results print them.
 */

/** A point in time; prints as AWS's results do, `2024-05-01 12:34:56.789` (UTC). */
export class Instant {
  constructor(readonly ms: number) {}
  toString(): string {
    return formatInstant(this.ms);
  }
}

export type Value = string | number | boolean | Instant | null;

export function formatInstant(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** The number a value stands for, or undefined (strings that are numbers count). */
export function toNumber(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof Instant) return v.ms;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

export function toText(v: Value): string | null {
  if (v === null) return null;
  if (typeof v === 'number') return formatNumber(v);
  return String(v);
}

/** Integers print without a fraction; others as the shortest round-trip decimal. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  return String(n);
}

export function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '' && v !== 'false';
  return true;
}

/**
 * Comparison: numerically when both sides are numbers (or numeric strings against a
 * number), else as strings. Null compares with nothing (undefined).
 */
export function compare(a: Value, b: Value): number | undefined {
  if (a === null || b === null) return undefined;
  const numeric =
    typeof a === 'number' || typeof b === 'number' || a instanceof Instant || b instanceof Instant;
  if (numeric) {
    const x = toNumber(a);
    const y = toNumber(b);
    if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  }
  const s = String(a);
  const t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

/** Sort order: nulls last whatever the direction, as AWS lists records without the field. */
export function sortCompare(a: Value, b: Value): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  // Parsed fields are text: numbers among them still sort as numbers.
  const x = toNumber(a);
  const y = toNumber(b);
  if (x !== undefined && y !== undefined && typeof a !== 'boolean' && typeof b !== 'boolean') {
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return compare(a, b) ?? 0;
}
