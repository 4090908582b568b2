/**
 * The pieces of a SigV4 canonical request, computed from the request exactly as it arrived
 * on the wire. https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *
 * Clients sign what they send, so everything here starts from the raw (still
 * percent-encoded) path and query string and reproduces what the SDK signers
 * (@smithy/signature-v4, botocore) do with them.
 */

/** RFC 3986 encoding of one byte: unreserved characters stay, everything else is %XX. */
const BYTE_ENCODING: readonly string[] = (() => {
  const table: string[] = [];
  for (let b = 0; b < 256; b++) {
    const unreserved =
      (b >= 0x41 && b <= 0x5a) || // A-Z
      (b >= 0x61 && b <= 0x7a) || // a-z
      (b >= 0x30 && b <= 0x39) || // 0-9
      b === 0x2d || // -
      b === 0x2e || // .
      b === 0x5f || // _
      b === 0x7e; // ~
    table.push(
      unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    );
  }
  return table;
})();

function isUnreservedCode(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Encodes every character outside the unreserved set, '%' included: `a%20b` becomes
 * `a%2520b`. This is the SDKs' second encoding of an already-encoded path segment.
 */
export function uriEncode(text: string): string {
  let i = 0;
  while (i < text.length && isUnreservedCode(text.charCodeAt(i))) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  const bytes = Buffer.from(text.slice(i), 'utf8');
  for (let j = 0; j < bytes.length; j++) out += BYTE_ENCODING[bytes[j]];
  return out;
}

/**
 * A raw query-string key or value in canonical form: percent-decoded (with `+` as a space,
 * as form encoding and URLSearchParams read it), then re-encoded per RFC 3986 with
 * upper-case hex. Works on bytes, so values that are not valid UTF-8 survive unchanged.
 */
export function canonicalQueryComponent(raw: string): string {
  let i = 0;
  while (i < raw.length && isUnreservedCode(raw.charCodeAt(i))) i++;
  if (i === raw.length) return raw;
  let out = raw.slice(0, i);
  const bytes = Buffer.from(raw.slice(i), 'utf8');
  const n = bytes.length;
  for (let j = 0; j < n; j++) {
    let b = bytes[j];
    if (b === 0x25 /* % */ && j + 2 < n) {
      const hi = hexValue(bytes[j + 1]);
      const lo = hexValue(bytes[j + 2]);
      if (hi >= 0 && lo >= 0) {
        b = (hi << 4) | lo;
        j += 2;
      }
    } else if (b === 0x2b /* + */) {
      b = 0x20;
    }
    out += BYTE_ENCODING[b];
  }
  return out;
}

/** Percent-decodes a query value (`+` is a space); undefined when it is not valid UTF-8. */
export function decodeQueryComponent(raw: string): string | undefined {
  let text = raw;
  if (text.indexOf('+') !== -1) text = text.replaceAll('+', ' ');
  if (text.indexOf('%') === -1) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * CanonicalURI. S3 signs the path as sent (its keys are encoded once and never
 * normalized); every other service signs the path with `.`/`..`/empty segments removed and
 * each segment encoded a second time — the SDKs' `uriEscapePath`, on for all but S3.
 */
export function canonicalUri(rawPath: string, service: string): string {
  if (rawPath.length === 0) return '/';
  if (service === 's3' || service === 's3express') return rawPath;
  // Fast path: a path of unreserved characters and single slashes, without dot segments,
  // is its own canonical form.
  let simple = true;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x2f /* / */) {
      const next = rawPath.charCodeAt(i + 1);
      if (next === 0x2f || next === 0x2e) {
        simple = false;
        break;
      }
    } else if (!isUnreservedCode(c)) {
      simple = false;
      break;
    }
  }
  if (simple && rawPath.charCodeAt(0) === 0x2f) return rawPath;

  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  const leading = rawPath.charCodeAt(0) === 0x2f ? '/' : '';
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  const path = leading + segments.join('/') + trailing;
  return path.length === 0 ? '/' : path;
}

/** One query parameter as it appeared on the wire and in canonical form. */
export interface QueryParam {
  rawKey: string;
  rawValue: string;
  key: string;
  value: string;
}

export function parseRawQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery.length === 0) return params;
  let start = 0;
  while (start <= rawQuery.length) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    if (end > start) {
      const eq = rawQuery.indexOf('=', start);
      const hasValue = eq !== -1 && eq < end;
      const rawKey = rawQuery.slice(start, hasValue ? eq : end);
      const rawValue = hasValue ? rawQuery.slice(eq + 1, end) : '';
      params.push({
        rawKey,
        rawValue,
        key: canonicalQueryComponent(rawKey),
        value: canonicalQueryComponent(rawValue),
      });
    }
    start = end + 1;
  }
  return params;
}

/** @smithy/signature-v4 drops the signature parameter whatever its case. */
function isSignatureParam(key: string): boolean {
  return key.length === 15 && key.toLowerCase() === 'x-amz-signature';
}

function compareParams(a: QueryParam, b: QueryParam): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (a.value === b.value) return 0;
  return a.value < b.value ? -1 : 1;
}

/**
 * CanonicalQueryString: parameters sorted by encoded name, then by encoded value for
 * repeated names, joined as `k=v` with `&`. A presigned URL's X-Amz-Signature is left out
 * (it cannot sign itself).
 */
export function canonicalQuery(params: readonly QueryParam[], omitSignature: boolean): string {
  if (params.length === 0) return '';
  let list: readonly QueryParam[] = params;
  if (omitSignature) list = params.filter((p) => !isSignatureParam(p.key));
  if (list.length === 1) return `${list[0].key}=${list[0].value}`;
  const sorted = list === params ? params.slice() : (list as QueryParam[]);
  sorted.sort(compareParams);
  let out = '';
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0) out += '&';
    out += `${sorted[i].key}=${sorted[i].value}`;
  }
  return out;
}

/**
 * A header value in canonical form: line breaks become spaces, runs of spaces and tabs
 * collapse to one space, and leading/trailing spaces go (what @smithy/signature-v4 does).
 */
export function canonicalHeaderValue(value: string): string {
  const n = value.length;
  if (n === 0) return value;
  if (
    value.charCodeAt(0) !== 0x20 &&
    value.charCodeAt(n - 1) !== 0x20 &&
    !value.includes('  ') &&
    !value.includes('\t') &&
    !value.includes('\n') &&
    !value.includes('\r')
  ) {
    return value;
  }
  let out = value.replace(LINE_BREAKS, ' ').replace(BLANK_RUNS, ' ');
  if (out.charCodeAt(0) === 0x20) out = out.slice(1);
  if (out.charCodeAt(out.length - 1) === 0x20) out = out.slice(0, -1);
  return out;
}

const LINE_BREAKS = /[\r\n]/g;
const BLANK_RUNS = /[ \t]+/g;
