/**
 * The fuzz harness's generator (test/helpers/fuzz.ts): a seeded PRNG, the mutations, SigV4
 * signing, and the bytes on the wire. Request `index` of a run seeded `seed` is always the
 * same bytes.
 */
import { createHash, createHmac } from 'node:crypto';
import type { FuzzRequest, Group, Seed } from './fuzz-seeds.js';

// ---------------------------------------------------------------------------------------
// A seeded PRNG (mulberry32): the same seed gives the same requests on every machine.

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG for request `index` of a run seeded with `seed`. */
export function requestRng(seed: number, index: number): Rng {
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

/** encodeURIComponent that takes lone surrogates too (as U+FFFD, as a client's UTF-8 would). */
function encode(s: string): string {
  try {
    return encodeURIComponent(s); // the same unreserved set, upper-case hex
  } catch {
    return encodeBytes(s); // a lone surrogate
  }
}

function encodeBytes(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.!~*'()]/.test(c)
      ? c
      : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)];

// ---------------------------------------------------------------------------------------
// Structural mutations (before signing)

const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '99999999999999999999999999999',
  '-0',
  '1.7976931348623157e309',
  '0.0000000000000000000000001',
  'NaN',
  '9007199254740993',
];
const INVALID_UTF8 = [
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe0, 0xa4]),
];
const WEIRD_STRINGS = [
  '',
  '\u0000',
  '%',
  '%c0',
  '%%',
  '../',
  '..%2f..%2f',
  '\ud800',
  '🙂',
  'Zoë',
  '\r\n',
  '"',
  '\\',
  '<x>',
  '&amp;',
  '${x}',
  'null',
  'true',
  '[]',
  '{}',
];

/** A JSON value of a type a member would not expect. */
function wrongType(rng: Rng): unknown {
  switch (int(rng, 9)) {
    case 0:
      return null;
    case 1:
      return [null];
    case 2:
      return { x: [null, { y: null }] };
    case 3:
      return pick(rng, WEIRD_STRINGS);
    case 4:
      return int(rng, 2) === 0 ? true : false;
    case 5:
      return -1;
    case 6:
      return [1, 'a', {}, []];
    case 7:
      return 'x'.repeat(1 + int(rng, 5000));
    default:
      return 1.5;
  }
}

/** Replaces, deletes or adds members at random depths of a parsed JSON document. */
function mutateJson(v: unknown, rng: Rng, depth = 0): unknown {
  if (Array.isArray(v)) {
    if (v.length === 0 || rng() < 0.2) return [...v, wrongType(rng)];
    const i = int(rng, v.length);
    const copy = [...v];
    copy[i] = rng() < 0.5 ? wrongType(rng) : mutateJson(v[i], rng, depth + 1);
    return copy;
  }
  if (typeof v === 'object' && v !== null) {
    const obj = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(obj);
    const r = rng();
    if (keys.length === 0 || r < 0.15)
      obj[pick(rng, ['__proto__', 'constructor', 'toString', 'bogus', ''])] = wrongType(rng);
    else if (r < 0.3) delete obj[pick(rng, keys)];
    else {
      const k = pick(rng, keys);
      obj[k] = rng() < 0.5 || depth > 6 ? wrongType(rng) : mutateJson(obj[k], rng, depth + 1);
    }
    return obj;
  }
  return wrongType(rng);
}

function nested(n: number, open: string, close: string, inner = '1'): string {
  return open.repeat(n) + inner + close.repeat(n);
}

/**
 * The large pieces, built once: a long run spends its time sending and answering, not
 * building the same megabyte again (each is the same bytes every time).
 */
const memo = new Map<string, string | Buffer>();
function once<T extends string | Buffer>(key: string, make: () => T): T {
  let v = memo.get(key);
  if (v === undefined) memo.set(key, (v = make()));
  return v as T;
}
const longString = (size: number) => once(`s${size}`, () => 'x'.repeat(size));
const longBytes = (size: number, fill: string) =>
  once(`b${size}${fill}`, () => Buffer.alloc(size, fill));
const deepJson = (open: string, close: string) =>
  once(`json${open}${close}`, () =>
    `{"a":${nested(10_000, open, close)}}`.replace(/\{"a":1\}/, '1'),
  );
const deepXml = () => once('xml', () => Buffer.from(nested(10_000, '<a>', '</a>')));
const deepForm = () => once('form', () => `&${'a.1.'.repeat(2000)}b=1`);
const manyParams = () =>
  once('params', () => Array.from({ length: 10_000 }, (_, i) => `p${i}=${i}`).join('&'));

function mutateBody(r: FuzzRequest, rng: Rng): void {
  const body = r.body;
  // Decoded only when a mutation needs the text (bodies can be a megabyte).
  let decoded: string | undefined;
  const text = () => (decoded ??= body.toString('utf8'));
  const isJson = body[0] === 0x7b || body[0] === 0x5b; // { [
  const isXml = body[0] === 0x3c; // <
  const isForm = !isJson && !isXml && body.includes(0x3d); // =

  switch (int(rng, 14)) {
    case 0: // truncation
      r.body = body.subarray(0, int(rng, body.length + 1));
      return;
    case 1: {
      // bit flips
      const b = Buffer.from(body);
      for (let n = 1 + int(rng, 4); n > 0 && b.length > 0; n--)
        b[int(rng, b.length)] ^= 1 << int(rng, 8);
      r.body = b;
      return;
    }
    case 2: {
      // invalid UTF-8 or NUL bytes inserted
      const at = int(rng, body.length + 1);
      const bad = rng() < 0.5 ? pick(rng, INVALID_UTF8) : Buffer.from([0]);
      r.body = Buffer.concat([body.subarray(0, at), bad, body.subarray(at)]);
      return;
    }
    case 3: // 10,000-level nesting
      if (isXml) r.body = deepXml();
      else if (isForm) r.body = Buffer.from(text() + deepForm());
      else {
        const open = rng() < 0.5 ? '[' : '{"a":';
        r.body = Buffer.from(deepJson(open, rng() < 0.5 ? ']' : '}'));
      }
      return;
    case 4: {
      // A long string: a megabyte one time in four, 64 KB otherwise (a long run sends
      // tens of thousands of megabyte bodies still; all of them would be most of its time).
      const size = rng() < 0.25 ? 1 << 20 : 64 << 10;
      if (isJson) {
        try {
          const doc = JSON.parse(text()) as Record<string, unknown>;
          const keys = Object.keys(doc);
          doc[keys.length ? pick(rng, keys) : 'x'] = longString(size);
          r.body = Buffer.from(JSON.stringify(doc));
          return;
        } catch {
          // fall through
        }
      }
      r.body = Buffer.concat([body, longBytes(size, isForm ? 'a' : 'x')]);
      return;
    }
    case 5: // huge numbers
      r.body = Buffer.from(text().replace(/-?\d+(\.\d+)?/g, () => pick(rng, HUGE_NUMBERS)));
      return;
    case 6: // wrong types, deleted and unknown members
      if (isJson) {
        try {
          r.body = Buffer.from(JSON.stringify(mutateJson(JSON.parse(text()), rng)));
          return;
        } catch {
          // fall through
        }
      }
      r.body = Buffer.from(JSON.stringify(wrongType(rng)));
      return;
    case 7: // form: 10,000 parameters, broken escapes, duplicated keys
      if (isForm || rng() < 0.3) {
        const extra = [];
        const n = rng() < 0.3 ? 10_000 : 1 + int(rng, 20);
        for (let i = 0; i < n; i++)
          extra.push(
            `${pick(rng, ['a', 'Action', 'Version', 'RoleName', 'x.1', 'Tags.member.99999999999.Key', '%zz'])}=${encode(pick(rng, WEIRD_STRINGS))}${rng() < 0.1 ? '%' : ''}`,
          );
        r.body = Buffer.from(`${text()}&${extra.join('&')}`);
        return;
      }
      r.body = Buffer.alloc(0);
      return;
    case 8: // XML: entities, unclosed tags, wrong root, attributes
      r.body = Buffer.from(
        pick(rng, [
          '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>',
          '<Tagging><TagSet><Tag><Key>k</Key>',
          '<Wrong xmlns="x"><a b="c"/></Wrong>',
          `<Tagging>${'<TagSet>'.repeat(50)}</Tagging>`,
          '<Tagging><TagSet><Tag><Key>&#0;</Key><Value>&#xD800;</Value></Tag></TagSet></Tagging>',
          '',
        ]),
      );
      return;
    case 9: // random bytes
      r.body = Buffer.from(Array.from({ length: int(rng, 300) }, () => int(rng, 256)));
      return;
    case 10: // empty
      r.body = Buffer.alloc(0);
      return;
    case 11: // a JSON document of another top-level type
      r.body = Buffer.from(
        pick(rng, [
          '[]',
          'null',
          '"x"',
          '1',
          'true',
          '{"a":1}{"b":2}',
          '{"a":1,}',
          '{"a"',
          '\ufeff{}',
        ]),
      );
      return;
    case 12: // duplicate keys
      r.body = Buffer.from(
        text().replace(/^\{/, '{"repositoryName":1,"logGroupName":[],"FunctionName":{},'),
      );
      return;
    default: // a string member holding escapes
      r.body = Buffer.from(
        text().replace(/"[^"]*"(?=\s*[,}])/, JSON.stringify(pick(rng, WEIRD_STRINGS))),
      );
  }
}

function mutatePath(r: FuzzRequest, rng: Rng): void {
  const segs = r.path.split('/');
  switch (int(rng, 9)) {
    case 0:
      r.path = `${r.path}${r.path.endsWith('/') ? '' : '/'}..%2f..%2f..%2fetc%2fpasswd`;
      return;
    case 1: // a malformed % escape in a segment
      segs[1 + int(rng, Math.max(1, segs.length - 1))] += pick(rng, [
        '%c0',
        '%',
        '%zz',
        '%E0%A4%A',
        '%00',
        '%ff%fe',
        '%2e%2e',
      ]);
      r.path = segs.join('/');
      return;
    case 2: // 64 KB
      r.path += 'a'.repeat(64 * 1024);
      return;
    case 3: // a longer but acceptable path
      r.path += '/' + 'b'.repeat(int(rng, 4000));
      return;
    case 4: // dot segments
      r.path = r.path.replace(/\/[^/]+/, '/../..');
      return;
    case 5: // doubled slashes, no leading slash
      r.path = rng() < 0.5 ? r.path.replace(/\//g, '//') : r.path.slice(1);
      return;
    case 6: // characters outside the URI grammar (as latin1 bytes)
      r.path += pick(rng, ['\u00e9', ' ', '"', '<', '{', '\\', '\u00ff']);
      return;
    case 7: // an absolute-form or asterisk target
      r.path = pick(rng, ['*', `http://127.0.0.1${r.path}`, '//x', '']);
      return;
    default: // the seed's path with one segment replaced
      segs[int(rng, segs.length)] = encode(pick(rng, WEIRD_STRINGS));
      r.path = segs.join('/');
  }
}

function mutateQuery(r: FuzzRequest, rng: Rng): void {
  switch (int(rng, 5)) {
    case 0:
      r.query = manyParams();
      return;
    case 1:
      r.query += `${r.query ? '&' : ''}${pick(rng, ['a=%', 'a=%zz', '%c0=1', '=', '&&&', 'Qualifier=%00', 'MaxItems=-1', 'MaxItems=1e400', 'Marker=%ff', 'X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Signature=', 'Action=GetCallerIdentity'])}`;
      return;
    case 2:
      r.query = 'x='.repeat(3000);
      return;
    case 3:
      r.query = r.query.replace(/=[^&]*/, `=${encode(pick(rng, WEIRD_STRINGS))}`);
      return;
    default:
      r.query = '';
  }
}

const HEADER_NAMES = [
  'content-type',
  'x-amz-target',
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'authorization',
  'content-encoding',
  'x-amz-invocation-type',
  'x-amz-log-type',
  'x-amz-client-context',
  'expect',
  'range',
  'content-range',
  'accept',
  'origin',
  'x-amz-decoded-content-length',
  'transfer-encoding',
  'connection',
  'host',
];
const HEADER_VALUES = [
  '',
  ' ',
  'application/json',
  'application/x-amz-json-1.0',
  'text/xml',
  'aws-chunked',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  '100-continue',
  'bytes=0-',
  'bytes=5-1',
  '-1',
  '99999999999999999999',
  'Event',
  'DryRun',
  'Tail',
  'Logs_20140328',
  'Logs_20140328.',
  'Logs_20140328.toString',
  'AmazonEC2ContainerRegistry_V20150921.__proto__',
  '%c0',
  'Zo\u00eb',
  'AWS4-HMAC-SHA256 Credential=/',
  'AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00',
  'Basic ' + Buffer.from('AWS:').toString('base64'),
  'Basic %%%',
  'Bearer x',
  'close',
  'keep-alive, Upgrade',
  'eyJjdXN0b20iOnsibmFtZSI6IlpvXHUwMGViIn19',
  Buffer.from('{\n "c": "\u00e9\u{1f642}"\n}').toString('base64'),
  '!!!',
];

function mutateHeaders(r: FuzzRequest, rng: Rng): void {
  switch (int(rng, 6)) {
    case 0: // drop one
      if (r.headers.length > 1) r.headers.splice(1 + int(rng, r.headers.length - 1), 1);
      return;
    case 1: // set one to an odd value
      setHeader(r, pick(rng, HEADER_NAMES), pick(rng, HEADER_VALUES));
      return;
    case 2: // non-Latin-1 text, sent as its UTF-8 bytes
      setHeader(
        r,
        pick(rng, HEADER_NAMES),
        Buffer.from(pick(rng, ['Zoë', '🙂', '東京', '\u00ff\u0100']), 'utf8').toString('latin1'),
      );
      return;
    case 3: // a flood of headers (under and over node's 16 KB head limit)
      for (let i = 0, n = rng() < 0.5 ? 100 : 2000; i < n; i++)
        r.headers.push([`x-flood-${i}`, 'v'.repeat(int(rng, 20))]);
      return;
    case 4: // a duplicated header
      r.headers.push([pick(rng, HEADER_NAMES), pick(rng, HEADER_VALUES)]);
      return;
    default: // a long value
      setHeader(r, pick(rng, HEADER_NAMES), 'x'.repeat(1000 + int(rng, 20_000)));
  }
}

function setHeader(r: FuzzRequest, name: string, value: string): void {
  const i = r.headers.findIndex(([n]) => n.toLowerCase() === name);
  if (i >= 0) r.headers[i] = [name, value];
  else r.headers.push([name, value]);
}

// ---------------------------------------------------------------------------------------
// Signing and the wire

/**
 * SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
 * written out here with node:crypto: the SDK's signer needs about a minute for a request
 * with 10,000 query parameters. The keys are the root keys (`test`/`test`).
 */
function sign(r: FuzzRequest, service: string): void {
  const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const date = now.slice(0, 8);
  const payloadHash = createHash('sha256').update(r.body).digest('hex');
  r.headers = r.headers.filter(([k]) => k.toLowerCase() !== 'authorization');
  setHeader(r, 'x-amz-date', now);
  setHeader(r, 'x-amz-content-sha256', payloadHash);
  const byName = new Map<string, string[]>();
  for (const [k, v] of r.headers) {
    const name = k.toLowerCase();
    if (name.startsWith('x-flood-') || UNSIGNED_HEADERS.has(name)) continue;
    byName.set(name, [...(byName.get(name) ?? []), v.trim().replace(/ +/g, ' ')]);
  }
  const names = [...byName.keys()].sort();
  const canonicalHeaders = names.map((n) => `${n}:${byName.get(n)?.join(',') ?? ''}\n`).join('');
  const path = r.path.startsWith('/') ? r.path : `/${r.path}`;
  const canonicalPath =
    service === 's3'
      ? path
      : path
          .split('/')
          .map((seg) => encode(seg))
          .join('/');
  const query = canonicalQuery(r.query);
  const signedHeaders = names.join(';');
  const canonical = [
    r.method,
    canonicalPath,
    query,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/us-east-1/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${now}\n${scope}\n${createHash('sha256').update(canonical, 'latin1').digest('hex')}`;
  let key: Buffer = Buffer.from('AWS4test', 'utf8');
  for (const part of [date, 'us-east-1', service, 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(toSign, 'latin1').digest('hex');
  r.headers.push([
    'authorization',
    `AWS4-HMAC-SHA256 Credential=test/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  ]);
}

/** The canonical query string; the long ones (10,000 parameters) are sorted once. */
function canonicalQuery(raw: string): string {
  if (raw.length < 4096) return sortQuery(raw);
  const key = `query:${raw}`;
  let q = memo.get(key);
  if (typeof q !== 'string') {
    q = sortQuery(raw);
    if (memo.size < 256) memo.set(key, q);
  }
  return q;
}

function sortQuery(raw: string): string {
  return (raw ? raw.split('&') : [])
    .map((part) => {
      const eq = part.indexOf('=');
      const k = encode(safeDecode(eq < 0 ? part : part.slice(0, eq)));
      const v = encode(safeDecode(eq < 0 ? '' : part.slice(eq + 1)));
      return [k, v];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const UNSIGNED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'expect',
  'connection',
  'user-agent',
]);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export type SignMode = 'signed' | 'unsigned' | 'corrupt';

/** The bytes on the wire, and whether the request is incomplete (the client then half-closes). */
export interface WireRequest {
  group: Group;
  seed: string;
  sign: SignMode;
  mutations: string[];
  bytes: Buffer;
  incomplete: boolean;
  /** No wire-level damage: a well-framed request, which may go on a kept-alive connection. */
  framed: boolean;
}

function serialize(r: FuzzRequest, chunked: boolean): Buffer {
  const target = r.query ? `${r.path}?${r.query}` : r.path;
  let head = `${r.method} ${target} HTTP/1.1\r\n`;
  for (const [k, v] of r.headers) {
    if (k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding') continue;
    head += `${k}: ${v}\r\n`;
  }
  if (chunked) {
    head += 'transfer-encoding: chunked\r\n\r\n';
    const parts: Buffer[] = [Buffer.from(head, 'latin1')];
    for (let at = 0; at < r.body.length; at += 4096) {
      const piece = r.body.subarray(at, at + 4096);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  }
  if (r.body.length > 0 || r.method === 'POST' || r.method === 'PUT')
    head += `content-length: ${r.body.length}\r\n`;
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), r.body]);
}

/** Wire-level damage: framing, truncation, bytes no client would send. */
function mutateWire(bytes: Buffer, rng: Rng): { bytes: Buffer; incomplete: boolean; what: string } {
  const headEnd = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, headEnd < 0 ? bytes.length : headEnd).toString('latin1');
  const body = headEnd < 0 ? Buffer.alloc(0) : bytes.subarray(headEnd + 4);
  const withHead = (h: string, b: Buffer = body) =>
    Buffer.concat([Buffer.from(`${h}\r\n\r\n`, 'latin1'), b]);
  const dropFraming = (h: string) =>
    h.replace(/\r\n(content-length|transfer-encoding): [^\r]*/gi, '');
  switch (int(rng, 10)) {
    case 0: {
      const n = body.length + 1 + int(rng, 1000);
      return {
        bytes: withHead(`${dropFraming(head)}\r\ncontent-length: ${n}`),
        incomplete: true,
        what: 'content-length too large',
      };
    }
    case 1: {
      const n = int(rng, body.length + 1);
      return {
        bytes: withHead(`${dropFraming(head)}\r\ncontent-length: ${n}`),
        incomplete: false,
        what: 'content-length too small',
      };
    }
    case 2: {
      const cl = pick(rng, ['-1', 'abc', '1, 2', '99999999999999999999', ' 5', '0x10', '']);
      return {
        bytes: withHead(`${dropFraming(head)}\r\ncontent-length: ${cl}`),
        incomplete: true,
        what: `content-length ${cl}`,
      };
    }
    case 3: {
      const chunk = pick(rng, [
        `zz\r\n${body.toString('latin1')}\r\n0\r\n\r\n`,
        `${(body.length + 5).toString(16)}\r\n${body.toString('latin1')}`,
        `${body.length.toString(16)};ext="\u00ff"\r\n${body.toString('latin1')}\r\n0\r\nx-trailer: \u00e9\r\n\r\n`,
        `${body.length.toString(16)}\r\n${body.toString('latin1')}0\r\n\r\n`,
        `fffffffffffffff\r\nabc`,
        `\r\n\r\n`,
      ]);
      return {
        bytes: withHead(
          `${dropFraming(head)}\r\ntransfer-encoding: chunked`,
          Buffer.from(chunk, 'latin1'),
        ),
        incomplete: true,
        what: 'broken chunked',
      };
    }
    case 4:
      return {
        bytes: withHead(`${head}\r\ntransfer-encoding: chunked`),
        incomplete: true,
        what: 'content-length and chunked',
      };
    case 5:
      return {
        bytes: bytes.subarray(0, int(rng, bytes.length)),
        incomplete: true,
        what: 'truncated',
      };
    case 6: {
      const b = Buffer.from(bytes);
      const limit = headEnd < 0 ? b.length : headEnd;
      for (let n = 1 + int(rng, 3); n > 0 && limit > 0; n--) b[int(rng, limit)] ^= 1 << int(rng, 8);
      return { bytes: b, incomplete: true, what: 'bit flip in head' };
    }
    case 7: {
      const raw = pick(rng, [
        [0xe9],
        [0xf0, 0x9f, 0x99, 0x82],
        [0x00],
        [0x7f],
        [0x80, 0x81],
        [0x0b],
      ]);
      const h = Buffer.from(`${head}\r\nx-amz-meta-k: a`, 'latin1');
      return {
        bytes: Buffer.concat([h, Buffer.from(raw), Buffer.from('b\r\n\r\n'), body]),
        incomplete: false,
        what: 'raw header bytes',
      };
    }
    case 8: {
      const line = pick(rng, [
        'GET / HTTP/9.9',
        'G\u00c9T / HTTP/1.1',
        'GET  / HTTP/1.1',
        'GET / HTTP/1.1 x',
        'GET',
        '\x00\x00\x00',
        'PRI * HTTP/2.0',
      ]);
      return {
        bytes: withHead(line + head.slice(head.indexOf('\r\n'))),
        incomplete: true,
        what: `request line ${JSON.stringify(line)}`,
      };
    }
    default: {
      const h = head.replace('\r\n', '\r\n folded: continuation\r\n');
      return { bytes: withHead(h), incomplete: true, what: 'obsolete line folding' };
    }
  }
}

/** Request `index` of the run seeded `seed`, for the seeds of `group`. */
export async function generate(
  all: readonly Seed[],
  group: Group,
  seed: number,
  index: number,
): Promise<WireRequest> {
  const rng = requestRng(seed, index);
  const pool = all.filter((s) => s.group === group);
  const base = pick(rng, pool);
  const r: FuzzRequest = { ...base.request, headers: base.request.headers.map(([k, v]) => [k, v]) };
  const mutations: string[] = [];
  const n = 1 + int(rng, 3);
  for (let i = 0; i < n; i++) {
    const kind = int(rng, 10);
    if (kind < 5) {
      mutateBody(r, rng);
      mutations.push('body');
    } else if (kind < 7) {
      mutatePath(r, rng);
      mutations.push('path');
    } else if (kind < 8) {
      mutateQuery(r, rng);
      mutations.push('query');
    } else {
      mutateHeaders(r, rng);
      mutations.push('headers');
    }
  }
  const signRoll = rng();
  let mode: SignMode =
    r.service === undefined
      ? 'unsigned'
      : signRoll < 0.6
        ? 'signed'
        : signRoll < 0.85
          ? 'unsigned'
          : 'corrupt';
  if (mode !== 'unsigned' && r.service !== undefined) {
    try {
      sign(r, r.service);
      if (mode === 'corrupt') {
        const i = r.headers.findIndex(([k]) => k === 'authorization');
        if (i >= 0) r.headers[i][1] = corruptSignature(r.headers[i][1], rng);
      }
    } catch {
      mode = 'unsigned';
    }
  }
  let bytes = serialize(r, rng() < 0.15);
  let incomplete = false;
  let framed = true;
  if (rng() < 0.3) {
    const w = mutateWire(bytes, rng);
    bytes = w.bytes;
    incomplete = w.incomplete;
    framed = false;
    mutations.push(w.what);
  }
  return { group, seed: base.name, sign: mode, mutations, bytes, incomplete, framed };
}

function corruptSignature(auth: string, rng: Rng): string {
  switch (int(rng, 4)) {
    case 0:
      return auth.replace(/Signature=[0-9a-f]+/, 'Signature=' + '0'.repeat(64));
    case 1:
      return auth.replace(/Credential=[^/]+/, 'Credential=AKIA%c0');
    case 2:
      return auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=host;x-amz-date;nope');
    default:
      return auth.slice(0, int(rng, auth.length));
  }
}
