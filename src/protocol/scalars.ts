/**
 * Scalars that travel as text (query strings, form bodies, headers, URI labels, XML):
 * parsing by model type and formatting back.
 */
import type { Shape, ShapeRef, TimestampFormat } from './model.js';
import { formatTimestamp, parseTimestamp, timestampFormatOf } from './timestamps.js';

/** Returned by parseScalar when the text does not fit the shape. */
export const INVALID: unique symbol = Symbol('invalid scalar');

const INTEGER = /^[-+]?\d+$/;

export function parseScalar(s: string, shape: Shape): unknown {
  switch (shape.type) {
    case 'string':
      return s;
    case 'boolean': {
      const l = s.toLowerCase();
      return l === 'true' ? true : l === 'false' ? false : INVALID;
    }
    case 'integer':
    case 'long':
    case 'short':
    case 'byte':
    case 'bigInteger': {
      const t = s.trim();
      return INTEGER.test(t) ? Number(t) : INVALID;
    }
    case 'float':
    case 'double':
    case 'bigDecimal': {
      const t = s.trim();
      if (t === 'NaN') return NaN;
      if (t === 'Infinity') return Infinity;
      if (t === '-Infinity') return -Infinity;
      const n = t === '' ? NaN : Number(t);
      return Number.isNaN(n) ? INVALID : n;
    }
    case 'timestamp':
      return parseTimestamp(s) ?? INVALID;
    case 'blob':
      return Buffer.from(s, 'base64');
    default:
      return INVALID;
  }
}

/** Text for a scalar value; timestamps in `fallback` unless the model names a format. */
export function formatScalar(
  v: unknown,
  shape: Shape,
  ref: ShapeRef | undefined,
  fallback: TimestampFormat,
): string {
  if (v instanceof Date) return String(formatTimestamp(v, timestampFormatOf(ref, shape, fallback)));
  if (v instanceof Uint8Array) {
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  if (shape.type === 'blob' && typeof v === 'string') return Buffer.from(v).toString('base64');
  return String(v);
}

/** What a scalar should have been, in the words validation messages use. */
export function expectedKind(shape: Shape): string {
  switch (shape.type) {
    case 'boolean':
      return 'a boolean';
    case 'integer':
    case 'long':
    case 'short':
    case 'byte':
    case 'bigInteger':
      return 'an integer';
    case 'float':
    case 'double':
    case 'bigDecimal':
      return 'a number';
    case 'timestamp':
      return 'a timestamp';
    default:
      return `a ${shape.type}`;
  }
}

/**
 * Thrown by text decoders on a value that does not fit its shape. Each enclosing level
 * prepends its member name on the way out, so the happy path never builds paths.
 */
export class BadValue {
  /** lowerCamel path pieces (`tags`, `1`, `member`, `key`), as validation messages use. */
  readonly path: string[] = [];
  /** Wire names (`Tags`, `member`, `1`, `Key`), as EC2 messages use. */
  readonly wirePath: string[] = [];
  constructor(
    readonly raw: string,
    readonly shape: Shape,
  ) {}
  prepend(path: string, wire: string): BadValue {
    this.path.unshift(path);
    this.wirePath.unshift(wire);
    return this;
  }
}

/** Assigns a key that may come from the wire (so `__proto__` stays an own property). */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    obj[key] = value;
  }
}
