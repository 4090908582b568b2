/**
 * Timestamp formats of the AWS protocols
 * (https://smithy.io/2.0/spec/protocol-traits.html#timestampformat-trait):
 * `date-time` (iso8601) in query/XML bodies and query strings, `http-date` (rfc822) in
 * headers, `epoch-seconds` (unixTimestamp) in JSON bodies. Parsers accept any of the
 * three, because clients are not always strict about the modeled format.
 */
import type { ShapeRef, Shape, TimestampFormat } from './model.js';

/** The format a member uses: its own trait, its shape's, else the location's default. */
export function timestampFormatOf(
  ref: ShapeRef | undefined,
  shape: Shape,
  fallback: TimestampFormat,
): TimestampFormat {
  return ref?.timestampFormat ?? shape.timestampFormat ?? fallback;
}

/** `2024-01-01T00:00:00Z`, with milliseconds only when there are some (as AWS writes them). */
export function toIso8601(d: Date): string {
  const s = d.toISOString();
  return s.endsWith('.000Z') ? s.slice(0, -5) + 'Z' : s;
}

/** `Mon, 01 Jan 2024 00:00:00 GMT` */
export function toHttpDate(d: Date): string {
  return d.toUTCString();
}

export function toEpochSeconds(d: Date): number {
  return d.getTime() / 1000;
}

export function formatTimestamp(d: Date, format: TimestampFormat): string | number {
  switch (format) {
    case 'iso8601':
      return toIso8601(d);
    case 'rfc822':
      return toHttpDate(d);
    case 'unixTimestamp':
      return toEpochSeconds(d);
  }
}

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** A Date from epoch seconds, an ISO 8601 or an HTTP date; undefined when unparseable. */
export function parseTimestamp(value: string | number): Date | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? new Date(Math.round(value * 1000)) : undefined;
  }
  const s = value.trim();
  if (s === '') return undefined;
  if (NUMERIC.test(s)) return parseTimestamp(Number(s));
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
