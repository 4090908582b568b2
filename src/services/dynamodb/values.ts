/**
 * DynamoDB's attribute values: checking what clients send, numbers (38 significant digits,
 * magnitudes 1E-130 to 9.9…E+125, kept in canonical form as DynamoDB returns them),
 * comparison and equality as expressions use them, item sizes, and the order-preserving
 * text encoding that makes store key order equal to DynamoDB's key order.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
 */
import type { AttributeValue } from '../../api/dynamodb/types.js';
import { validation } from './errors.js';

export type Item = Record<string, AttributeValue>;
export type ScalarType = 'S' | 'N' | 'B';
export type ValueType = ScalarType | 'SS' | 'NS' | 'BS' | 'M' | 'L' | 'NULL' | 'BOOL';

const TYPES: readonly ValueType[] = ['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'];

/** The one type a value carries (callers have checked it with checkValue). */
export function typeOf(v: AttributeValue): ValueType {
  for (const t of TYPES) if (v[t] !== undefined) return t;
  throw validation(
    'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes',
  );
}

// ---------------------------------------------------------------------------------------
// Numbers

/** value = (neg ? -1 : 1) × 0.digits × 10^exp; digits has no leading or trailing zeros. */
export interface Decimal {
  neg: boolean;
  digits: string;
  exp: number;
}

const NUMBER = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/** Parses a number as DynamoDB does, or throws its ValidationException. */
export function parseNumber(text: string): Decimal {
  const m = NUMBER.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) {
    throw validation(`The parameter cannot be converted to a numeric value: ${text}`);
  }
  const whole = m[2];
  const frac = m[3] ?? '';
  let all = whole + frac;
  let exp = whole.length + (m[4] ? Number(m[4]) : 0);
  const lead = all.length - all.replace(/^0+/, '').length;
  all = all.slice(lead);
  exp -= lead;
  all = all.replace(/0+$/, '');
  if (all === '') return { neg: false, digits: '', exp: 0 };
  if (all.length > 38) {
    throw validation('Attempting to store more than 38 significant digits in a Number');
  }
  if (exp > 126) {
    throw validation(
      'Number overflow. Attempting to store a number with magnitude larger than supported range',
    );
  }
  if (exp < -129) {
    throw validation(
      'Number underflow. Attempting to store a number with magnitude smaller than supported range',
    );
  }
  return { neg: m[1] === '-', digits: all, exp };
}

/** The canonical text of a number: plain decimal notation, as DynamoDB answers it. */
export function formatNumber(d: Decimal): string {
  if (d.digits === '') return '0';
  let s: string;
  if (d.exp <= 0) s = '0.' + '0'.repeat(-d.exp) + d.digits;
  else if (d.exp >= d.digits.length) s = d.digits + '0'.repeat(d.exp - d.digits.length);
  else s = d.digits.slice(0, d.exp) + '.' + d.digits.slice(d.exp);
  return d.neg ? '-' + s : s;
}

export const canonicalNumber = (text: string): string => formatNumber(parseNumber(text));

export function compareDecimals(a: Decimal, b: Decimal): number {
  const sa = a.digits === '' ? 0 : a.neg ? -1 : 1;
  const sb = b.digits === '' ? 0 : b.neg ? -1 : 1;
  if (sa !== sb || sa === 0) return sa - sb;
  let c = a.exp - b.exp;
  if (c === 0) c = a.digits < b.digits ? -1 : a.digits > b.digits ? 1 : 0;
  return sa * Math.sign(c);
}

function toScaled(d: Decimal, scale: number): bigint {
  // value × 10^scale as an integer (scale large enough to make it whole)
  const shift = d.exp - d.digits.length + scale;
  const v = BigInt(d.digits || '0') * 10n ** BigInt(shift);
  return d.neg ? -v : v;
}

/** a + b (or a − b) with DynamoDB's range and precision checks on the result. */
export function addNumbers(a: string, b: string, subtract = false): string {
  const x = parseNumber(a);
  const y = parseNumber(b);
  const scale = Math.max(x.digits.length - x.exp, y.digits.length - y.exp, 0);
  const sum = toScaled(x, scale) + (subtract ? -toScaled(y, scale) : toScaled(y, scale));
  const neg = sum < 0n;
  const abs = (neg ? -sum : sum).toString();
  const text = scale === 0 ? abs : abs.padStart(scale + 1, '0');
  const withPoint = scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
  return canonicalNumber((neg ? '-' : '') + withPoint);
}

// ---------------------------------------------------------------------------------------
// Checking values that clients send

/** Checks one attribute value (recursively) and returns it with numbers made canonical. */
export function checkValue(v: AttributeValue): AttributeValue {
  if (typeof v !== 'object' || v === null) {
    throw validation(
      'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes',
    );
  }
  let found: ValueType | undefined;
  for (const t of TYPES) {
    if (v[t] === undefined) continue;
    if (found) {
      throw validation(
        'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
      );
    }
    found = t;
  }
  switch (found) {
    case undefined:
      throw validation(
        'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes',
      );
    case 'S':
    case 'B':
    case 'BOOL':
      return v;
    case 'NULL':
      if (v.NULL !== true) {
        throw validation(
          'One or more parameter values were invalid: Null attribute value types must have the value of true',
        );
      }
      return v;
    case 'N':
      return { N: canonicalNumber(v.N as string) };
    case 'SS':
      return { SS: checkSet(v.SS as string[], 'string', (s) => s) };
    case 'NS':
      return { NS: checkSet((v.NS as string[]).map(canonicalNumber), 'number', (s) => s) };
    case 'BS':
      return {
        BS: checkSet(v.BS as Uint8Array[], 'binary', (b) => Buffer.from(b).toString('base64')),
      };
    case 'L':
      return { L: (v.L as AttributeValue[]).map(checkValue) };
    case 'M': {
      const out: Item = {};
      for (const [k, x] of Object.entries(v.M as Item)) out[k] = checkValue(x);
      return { M: out };
    }
  }
}

function checkSet<T>(values: T[], kind: string, id: (v: T) => string): T[] {
  if (values.length === 0) {
    throw validation(`One or more parameter values were invalid: An ${kind} set  may not be empty`);
  }
  const seen = new Set<string>();
  for (const v of values) {
    const k = id(v);
    if (seen.has(k)) {
      throw validation(
        `One or more parameter values were invalid: Input collection ${setText(values, id)} contains duplicates.`,
      );
    }
    seen.add(k);
  }
  return values;
}

function setText<T>(values: T[], id: (v: T) => string): string {
  return `[${values.map(id).join(', ')}]`;
}

/** Checks every attribute of an item (or key, or expression value map). */
export function checkItem(item: Item): Item {
  const out: Item = {};
  for (const [name, v] of Object.entries(item)) out[name] = checkValue(v);
  return out;
}

// ---------------------------------------------------------------------------------------
// Equality, order and size

const bytesOf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Order of two scalars of the same type (S by UTF-8 bytes, N numerically, B unsigned). */
export function compareScalars(a: AttributeValue, b: AttributeValue): number | undefined {
  if (a.S !== undefined && b.S !== undefined) {
    return Buffer.compare(Buffer.from(a.S, 'utf8'), Buffer.from(b.S, 'utf8'));
  }
  if (a.N !== undefined && b.N !== undefined) {
    return compareDecimals(parseNumber(a.N), parseNumber(b.N));
  }
  if (a.B !== undefined && b.B !== undefined) return Buffer.compare(bytesOf(a.B), bytesOf(b.B));
  return undefined;
}

export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  const t = typeOf(a);
  if (t !== typeOf(b)) return false;
  switch (t) {
    case 'S':
    case 'N':
    case 'B':
      return compareScalars(a, b) === 0;
    case 'BOOL':
      return a.BOOL === b.BOOL;
    case 'NULL':
      return true;
    case 'SS':
      return sameSet(a.SS as string[], b.SS as string[], (s) => s);
    case 'NS':
      return sameSet(a.NS as string[], b.NS as string[], canonicalNumber);
    case 'BS':
      return sameSet(a.BS as Uint8Array[], b.BS as Uint8Array[], (x) =>
        bytesOf(x).toString('base64'),
      );
    case 'L': {
      const x = a.L as AttributeValue[];
      const y = b.L as AttributeValue[];
      return x.length === y.length && x.every((v, i) => valuesEqual(v, y[i]));
    }
    case 'M': {
      const x = a.M as Item;
      const y = b.M as Item;
      const keys = Object.keys(x);
      return (
        keys.length === Object.keys(y).length &&
        keys.every((k) => y[k] !== undefined && valuesEqual(x[k], y[k]))
      );
    }
  }
}

function sameSet<T>(a: T[], b: T[], id: (v: T) => string): boolean {
  if (a.length !== b.length) return false;
  const ids = new Set(a.map(id));
  return b.every((v) => ids.has(id(v)));
}

/** Whether a set value holds `member` (of the set's element type). */
export function setHas(set: AttributeValue, member: AttributeValue): boolean {
  if (set.SS && member.S !== undefined) return set.SS.includes(member.S);
  if (set.NS && member.N !== undefined) {
    return set.NS.some((n) => compareScalars({ N: n }, member) === 0);
  }
  if (set.BS && member.B !== undefined) {
    const want = bytesOf(member.B);
    return set.BS.some((b) => bytesOf(b).equals(want));
  }
  return false;
}

/**
 * A value's size in bytes as DynamoDB counts it for the 400 KB item limit.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.SS) return v.SS.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, b) => n + b.byteLength, 0);
  if (v.L) return v.L.reduce((n, x) => n + 1 + valueSize(x), 3);
  if (v.M) {
    return Object.entries(v.M).reduce(
      (n, [k, x]) => n + 1 + Buffer.byteLength(k, 'utf8') + valueSize(x),
      3,
    );
  }
  return 1;
}

function numberSize(n: string): number {
  const d = parseNumber(n);
  return Math.ceil(d.digits.length / 2) + 1;
}

export function itemSize(item: Item): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) n += Buffer.byteLength(k, 'utf8') + valueSize(v);
  return n;
}

/** DynamoDB's size() function: string and binary length, element count of the others. */
export function sizeFunction(v: AttributeValue): number | undefined {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.B !== undefined) return v.B.byteLength;
  if (v.SS) return v.SS.length;
  if (v.NS) return v.NS.length;
  if (v.BS) return v.BS.length;
  if (v.L) return v.L.length;
  if (v.M) return Object.keys(v.M).length;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Key encoding

/**
 * Text whose byte order is DynamoDB's order of the key value: strings and binaries as hex
 * of their bytes (hex keeps unsigned byte order), numbers as a sign class, a biased
 * exponent and the mantissa digits (complemented, and closed by '~', for negatives).
 * No encoding contains '/', and each key segment is followed by '/', which sorts below
 * every character an encoding uses: a segment that is a prefix of another sorts first.
 */
export function encodeKeyValue(v: AttributeValue): string {
  if (v.S !== undefined) return Buffer.from(v.S, 'utf8').toString('hex');
  if (v.B !== undefined) return bytesOf(v.B).toString('hex');
  if (v.N !== undefined) {
    const d = parseNumber(v.N);
    if (d.digits === '') return '1';
    const exp = d.exp + 200;
    if (!d.neg) return `2${String(exp).padStart(3, '0')}${d.digits}`;
    const digits = [...d.digits].map((c) => String(9 - Number(c))).join('');
    return `0${String(999 - exp).padStart(3, '0')}${digits}~`;
  }
  throw validation('Member must have a key of type S, N or B');
}

/** Hex of a string or binary prefix, for begins_with ranges. */
export const encodePrefix = (v: AttributeValue): string => encodeKeyValue(v);

/** A deep copy (items are mutated by update expressions). */
export function cloneValue(v: AttributeValue): AttributeValue {
  if (v.M) {
    const out: Item = {};
    for (const [k, x] of Object.entries(v.M)) out[k] = cloneValue(x);
    return { M: out };
  }
  if (v.L) return { L: v.L.map(cloneValue) };
  if (v.SS) return { SS: [...v.SS] };
  if (v.NS) return { NS: [...v.NS] };
  if (v.BS) return { BS: [...v.BS] };
  return { ...v };
}

export function cloneItem(item: Item): Item {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) out[k] = cloneValue(v);
  return out;
}
