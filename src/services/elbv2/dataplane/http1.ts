/**
 * The HTTP/1.1 message framing the listener's raw relay (relay.ts) reads itself: request and
 * response heads (RFC 9112 §3–§6) and the end of a chunked body (§7.1). Strict on purpose:
 * a request head this reads as undefined is not refused here but handed, connection and
 * all, to Node's HTTP server, which answers the unusual and the malformed as before.
 * https://www.rfc-editor.org/rfc/rfc9112
 */
import { HOP_BY_HOP } from '../../../shared/hop-by-hop.js';
import { hasToken, TOKEN } from '../../../shared/http1-syntax.js';

/** A request the relay forwards as it came: HTTP/1.1, origin-form, a Content-Length body or none. */
export interface RequestHead {
  method: string;
  /** The request target (origin-form: path and query). */
  target: string;
  /** The head as read: request line and field lines, without the blank line. */
  text: string;
  /**
   * Where the field lines the load balancer does not forward as they came are in `text`:
   * [start, end) pairs, each line with the CRLF before it (hop-by-hop fields, and the
   * X-Forwarded-* and X-Amzn-Trace-Id fields it writes itself).
   */
  skip: number[];
  contentLength: number;
  /** `Connection: close`: the connection ends after this answer. */
  close: boolean;
  host?: string;
  /** Cookie fields, joined with '; '. */
  cookie?: string;
  /** X-Forwarded-For fields, joined with ', '. */
  xff?: string;
  trace?: string;
}

/** A target's answer head. */
export interface ResponseHead {
  status: number;
  /** The head as read, without the blank line. */
  text: string;
  /** Where the status line ends in `text`. */
  lineEnd: number;
  /** [start, end) of the hop-by-hop field lines in `text`, each with the CRLF before it. */
  skip: number[];
  /** -1 when the answer has no Content-Length. */
  contentLength: number;
  chunked: boolean;
  /** The target closes the connection after this answer (`Connection: close`, or HTTP/1.0). */
  close: boolean;
  /** The status line says HTTP/1.1. */
  http11: boolean;
}

/**
 * Field lines after the start line (each with the CRLF before it): a token, a colon and a
 * value without controls other than tab. One pass for the whole head; sticky, so it runs
 * from `lastIndex` (the start line's end).
 */
const FIELD_LINES = /(?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*)*$/y;
/** A request target in origin-form: no spaces, controls or DEL. */
const ORIGIN_FORM = /^\/[\x21-\x7e\x80-\xff]*$/;
const DIGITS = /^\d{1,15}$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [\t\x20-\x7e\x80-\xff]*)?$/;

function validFields(text: string, from: number): boolean {
  FIELD_LINES.lastIndex = from;
  return FIELD_LINES.test(text);
}

/**
 * The field names the relay acts on, by length: a line's name is compared (lower-cased)
 * only when its length is one of these, and the name found is the constant here.
 */
const WATCHED: string[][] = [];
for (const name of [
  ...HOP_BY_HOP,
  'host',
  'cookie',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-amzn-trace-id',
]) {
  (WATCHED[name.length] ??= []).push(name);
}

/**
 * The fields of `text` from `from` on, line by line: `visit(name, start, colon, end)` for
 * each line whose name is WATCHED (the line runs from `start`, its CRLF, to `end`; its
 * value after `colon`); false stops the walk.
 */
function eachWatched(
  text: string,
  from: number,
  visit: (name: string, start: number, colon: number, end: number) => boolean,
): boolean {
  let at = from;
  while (at < text.length) {
    let end = text.indexOf('\r\n', at + 2);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', at + 2);
    const names = WATCHED[colon - at - 2];
    if (names !== undefined) {
      const lower = text.slice(at + 2, colon).toLowerCase();
      for (const name of names) {
        if (name === lower && !visit(name, at, colon, end)) return false;
      }
    }
    at = end;
  }
  return true;
}

const valueOf = (text: string, colon: number, end: number): string =>
  text.slice(colon + 1, end).trim();

/**
 * `text` is the request head without its blank line (latin1). Undefined for anything but
 * a plain HTTP/1.1 request in origin-form with a Content-Length body or none: HTTP/1.0,
 * Transfer-Encoding, Upgrade, Expect, other Connection options, repeated or malformed
 * Content-Length, malformed field lines.
 */
export function parseRequestHead(text: string): RequestHead | undefined {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const sp1 = text.indexOf(' ');
  const sp2 = text.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 > eol || text.slice(sp2 + 1, eol) !== 'HTTP/1.1') return undefined;
  const method = text.slice(0, sp1);
  const target = text.slice(sp1 + 1, sp2);
  if (!TOKEN.test(method) || !ORIGIN_FORM.test(target) || !validFields(text, eol)) {
    return undefined;
  }
  const req: RequestHead = { method, target, text, skip: [], contentLength: 0, close: false };
  let length = -1;
  const ok = eachWatched(text, eol, (name, start, colon, end) => {
    switch (name) {
      case 'host':
        req.host ??= valueOf(text, colon, end);
        return true;
      case 'cookie': {
        const v = valueOf(text, colon, end);
        req.cookie = req.cookie === undefined ? v : `${req.cookie}; ${v}`;
        return true;
      }
      case 'content-length': {
        const v = valueOf(text, colon, end);
        if (length >= 0 || !DIGITS.test(v)) return false;
        length = Number(v);
        return true;
      }
      case 'connection': {
        // keep-alive or close; other options (Upgrade, named fields) take Node's path.
        const option = valueOf(text, colon, end).toLowerCase();
        if (option === 'close') req.close = true;
        else if (option !== 'keep-alive') return false;
        break;
      }
      case 'x-forwarded-for': {
        const v = valueOf(text, colon, end);
        req.xff = req.xff === undefined ? v : `${req.xff}, ${v}`;
        break;
      }
      case 'x-amzn-trace-id':
        req.trace ??= valueOf(text, colon, end);
        break;
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return false;
      case 'x-forwarded-proto':
      case 'x-forwarded-port':
        break;
      default:
        if (!HOP_BY_HOP.has(name)) return true;
    }
    req.skip.push(start, end);
    return true;
  });
  if (!ok) return undefined;
  req.contentLength = Math.max(length, 0);
  return req;
}

/** The request's fields by lower-cased name (repeats joined), for rules that look at them. */
export function requestFields(req: RequestHead): Record<string, string> {
  const out: Record<string, string> = {};
  const text = req.text;
  let at = text.indexOf('\r\n');
  while (at >= 0 && at < text.length) {
    let end = text.indexOf('\r\n', at + 2);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', at + 2);
    const k = text.slice(at + 2, colon).toLowerCase();
    const v = valueOf(text, colon, end);
    const prior = out[k];
    out[k] = prior === undefined ? v : `${prior}${k === 'cookie' ? '; ' : ', '}${v}`;
    at = end;
  }
  return out;
}

/** `text` is the answer head without its blank line (latin1); undefined when malformed. */
export function parseResponseHead(text: string): ResponseHead | undefined {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const m = STATUS_LINE.exec(text.slice(0, eol));
  if (!m || !validFields(text, eol)) return undefined;
  const http11 = m[1] === '1';
  const res: ResponseHead = {
    status: Number(m[2]),
    text,
    lineEnd: eol,
    skip: [],
    contentLength: -1,
    chunked: false,
    close: !http11,
    http11,
  };
  const ok = eachWatched(text, eol, (name, start, colon, end) => {
    switch (name) {
      case 'content-length': {
        const v = valueOf(text, colon, end);
        if (!DIGITS.test(v) || (res.contentLength >= 0 && Number(v) !== res.contentLength)) {
          return false;
        }
        res.contentLength = Number(v);
        return true;
      }
      case 'transfer-encoding':
        // Chunked only when it is the last coding; otherwise the body runs to the close.
        res.chunked = /(^|,)\s*chunked\s*$/i.test(valueOf(text, colon, end));
        // The chunked coding stays: the body is relayed as it came.
        if (res.chunked) return true;
        res.close = true;
        break;
      case 'connection': {
        const list = valueOf(text, colon, end).toLowerCase();
        if (list === 'keep-alive') res.close &&= http11;
        else if (hasToken(list, 'close')) res.close = true;
        else if (!http11 && hasToken(list, 'keep-alive')) res.close = false;
        break;
      }
    }
    if (HOP_BY_HOP.has(name)) res.skip.push(start, end);
    return true;
  });
  // Both framings at once is how responses are smuggled: refused, as node:http's parser does.
  if (!ok || (res.chunked && res.contentLength >= 0)) return undefined;
  return res;
}

/**
 * `text` from `from` on without the [start, end) ranges of `skip`: a head minus the field
 * lines the next hop does not get. Unchanged text is not copied.
 */
export function withoutLines(text: string, from: number, skip: readonly number[]): string {
  if (skip.length === 0) return from === 0 ? text : text.slice(from);
  let out = '';
  let at = from;
  for (let i = 0; i < skip.length; i += 2) {
    out += text.slice(at, skip[i]);
    at = skip[i + 1];
  }
  return out + text.slice(at);
}

/**
 * The answer head the client gets: the target's, without its hop-by-hop fields (the
 * chunked coding stays when the body is relayed as it came), plus `extra` field lines.
 */
export function clientResponseHead(r: ResponseHead, extra: string): string {
  const fields = withoutLines(r.text, r.lineEnd, r.skip);
  const line = r.http11 ? r.text.slice(0, r.lineEnd) : `HTTP/1.1${r.text.slice(8, r.lineEnd)}`;
  return `${line}${fields}\r\n${extra}\r\n`;
}

const enum Chunk {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  EndLf,
}

const HEX: Record<number, number> = {};
for (let i = 0; i < 16; i++)
  HEX[i.toString(16).charCodeAt(0)] = HEX[i.toString(16).toUpperCase().charCodeAt(0)] = i;

/** Finds where a chunked body ends (the last chunk, trailers and the blank line after them). */
export class ChunkedEnd {
  private state = Chunk.Size;
  private size = 0;
  private digits = 0;

  /**
   * Reads `b[from..to)`: the offset just past the body's end, -1 when the body goes on,
   * -2 when it is malformed.
   */
  feed(b: Uint8Array, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const c = b[i];
      switch (this.state) {
        case Chunk.Size: {
          const v = HEX[c];
          if (v !== undefined) {
            if (++this.digits > 12) return -2;
            this.size = this.size * 16 + v;
          } else if (this.digits === 0) return -2;
          else if (c === 13) this.state = Chunk.SizeLf;
          else if (c === 59 || c === 32 || c === 9) this.state = Chunk.Extension;
          else return -2;
          break;
        }
        case Chunk.Extension:
          if (c === 13) this.state = Chunk.SizeLf;
          else if (c === 10) return -2;
          break;
        case Chunk.SizeLf:
          if (c !== 10) return -2;
          this.state = this.size === 0 ? Chunk.TrailerStart : Chunk.Data;
          break;
        case Chunk.Data: {
          const take = Math.min(this.size, to - i);
          this.size -= take;
          i += take - 1;
          if (this.size === 0) this.state = Chunk.DataCr;
          break;
        }
        case Chunk.DataCr:
          if (c !== 13) return -2;
          this.state = Chunk.DataLf;
          break;
        case Chunk.DataLf:
          if (c !== 10) return -2;
          this.state = Chunk.Size;
          this.digits = 0;
          break;
        case Chunk.TrailerStart:
          this.state = c === 13 ? Chunk.EndLf : Chunk.Trailer;
          break;
        case Chunk.Trailer:
          if (c === 13) this.state = Chunk.TrailerLf;
          break;
        case Chunk.TrailerLf:
          if (c !== 10) return -2;
          this.state = Chunk.TrailerStart;
          break;
        case Chunk.EndLf:
          return c === 10 ? i + 1 : -2;
      }
    }
    return -1;
  }
}
