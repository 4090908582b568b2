/**
 * The query language's scalar functions, as AWS lists them (string, numeric, datetime,
 * general and IP functions).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html
 */
import { isIP } from 'node:net';
import { Instant, toNumber, toText, type Value } from './values.js';

export interface FunctionSpec {
  min: number;
  max: number;
}

export interface ScalarFunction extends FunctionSpec {
  /** Arguments already evaluated; a period argument (`1h`) arrives as its milliseconds. */
  fn(args: Value[]): Value;
}

const num = (v: Value): number | null => toNumber(v) ?? null;
const str = (v: Value): string | null => toText(v);
const math =
  (f: (n: number) => number): ScalarFunction['fn'] =>
  ([v]) => {
    const n = num(v);
    return n === null ? null : f(n);
  };
const text =
  (f: (s: string) => Value): ScalarFunction['fn'] =>
  ([v]) => {
    const s = str(v);
    return s === null ? null : f(s);
  };

function floorTo(v: Value, period: Value): Value {
  const t = num(v);
  const p = num(period);
  if (t === null || p === null || p <= 0) return null;
  return new Instant(Math.floor(t / p) * p);
}

function ipv4(s: string): number | undefined {
  if (isIP(s) !== 4) return undefined;
  return s.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function inSubnet(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const a = ipv4(ip);
  const b = ipv4(base);
  const bits = Number(bitsText ?? 32);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

export const SCALAR_FUNCTIONS: Record<string, ScalarFunction> = {
  // String functions
  isempty: { min: 1, max: 1, fn: ([v]) => v === null || str(v) === '' },
  isblank: { min: 1, max: 1, fn: ([v]) => v === null || (str(v) ?? '').trim() === '' },
  concat: {
    min: 1,
    max: 100,
    fn: (args) => args.map((a) => str(a) ?? '').join(''),
  },
  ltrim: { min: 1, max: 2, fn: ([v, c]) => trim(v, c, true, false) },
  rtrim: { min: 1, max: 2, fn: ([v, c]) => trim(v, c, false, true) },
  trim: { min: 1, max: 2, fn: ([v, c]) => trim(v, c, true, true) },
  strlen: { min: 1, max: 1, fn: text((s) => [...s].length) },
  toupper: { min: 1, max: 1, fn: text((s) => s.toUpperCase()) },
  tolower: { min: 1, max: 1, fn: text((s) => s.toLowerCase()) },
  substr: {
    min: 2,
    max: 3,
    fn: ([v, start, length]) => {
      const s = str(v);
      const from = num(start);
      if (s === null || from === null) return null;
      const chars = [...s];
      const len = length === undefined ? undefined : num(length);
      return chars.slice(from, len === undefined || len === null ? undefined : from + len).join('');
    },
  },
  replace: {
    min: 3,
    max: 3,
    fn: ([v, search, by]) => {
      const s = str(v);
      if (s === null) return null;
      return s.split(str(search) ?? '').join(str(by) ?? '');
    },
  },
  strcontains: {
    min: 2,
    max: 2,
    fn: ([v, sub]) => {
      const s = str(v);
      return s === null ? null : s.includes(str(sub) ?? '') ? 1 : 0;
    },
  },
  // Numeric functions
  abs: { min: 1, max: 1, fn: math(Math.abs) },
  ceil: { min: 1, max: 1, fn: math(Math.ceil) },
  floor: { min: 1, max: 1, fn: math(Math.floor) },
  log: { min: 1, max: 1, fn: math(Math.log) },
  sqrt: { min: 1, max: 1, fn: math(Math.sqrt) },
  greatest: { min: 1, max: 100, fn: (args) => extreme(args, 1) },
  least: { min: 1, max: 100, fn: (args) => extreme(args, -1) },
  // Datetime functions
  bin: { min: 1, max: 1, fn: ([p]) => p },
  datefloor: { min: 2, max: 2, fn: ([v, p]) => floorTo(v, p) },
  dateceil: {
    min: 2,
    max: 2,
    fn: ([v, p]) => {
      const t = num(v);
      const q = num(p);
      if (t === null || q === null || q <= 0) return null;
      return new Instant(Math.ceil(t / q) * q);
    },
  },
  frommillis: {
    min: 1,
    max: 1,
    fn: ([v]) => {
      const n = num(v);
      return n === null ? null : new Instant(n);
    },
  },
  tomillis: { min: 1, max: 1, fn: ([v]) => num(v) },
  // General functions
  ispresent: { min: 1, max: 1, fn: ([v]) => v !== null },
  coalesce: { min: 1, max: 100, fn: (args) => args.find((a) => a !== null) ?? null },
  // IP address functions
  isvalidip: { min: 1, max: 1, fn: ([v]) => isIP(str(v) ?? '') !== 0 },
  isvalidipv4: { min: 1, max: 1, fn: ([v]) => isIP(str(v) ?? '') === 4 },
  isvalidipv6: { min: 1, max: 1, fn: ([v]) => isIP(str(v) ?? '') === 6 },
  isipinsubnet: { min: 2, max: 2, fn: ([v, c]) => inSubnet(str(v) ?? '', str(c) ?? '') },
  isipv4insubnet: { min: 2, max: 2, fn: ([v, c]) => inSubnet(str(v) ?? '', str(c) ?? '') },
};

function trim(v: Value, chars: Value | undefined, left: boolean, right: boolean): Value {
  const s = str(v);
  if (s === null) return null;
  const set = chars === undefined ? undefined : new Set(str(chars) ?? '');
  const strip = (c: string): boolean => (set ? set.has(c) : /\s/.test(c));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && strip(s[a])) a++;
  if (right) while (b > a && strip(s[b - 1])) b--;
  return s.slice(a, b);
}

function extreme(args: Value[], sign: 1 | -1): Value {
  let best: number | null = null;
  for (const a of args) {
    const n = num(a);
    if (n !== null && (best === null || (n - best) * sign > 0)) best = n;
  }
  return best;
}
