/**
 * One request to an HTTP or WebSocket API as the invoke path sees it: headers lower-cased
 * and joined the way API Gateway joins them, the body read, the ids AWS assigns.
 */
import { randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface ApiRequest {
  method: string;
  /** The path the client sent, still percent-encoded (the stage segment included). */
  rawPath: string;
  /** The path routes match: without a named stage's segment. */
  routePath: string;
  rawQuery: string;
  /** Lower-cased names, repeated headers joined with ','. */
  headers: Record<string, string>;
  /** Lower-cased names, every value (payload 1.0's multiValueHeaders). */
  multiHeaders: Record<string, string[]>;
  cookies: string[];
  body: Buffer;
  sourceIp: string;
  /** `apigw-requestid`: AWS's 16-character base64 id. */
  requestId: string;
  now: number;
  /** The host the client named (`<api-id>.execute-api.localhost:4566`). */
  domainName: string;
}

/** Random bytes for request ids, filled 512 ids at a time (one syscall, not one each). */
const ID_BYTES = 11;
const idPool = Buffer.alloc(ID_BYTES * 512);
let idAt = idPool.length;

/** AWS's request ids for HTTP APIs look like `JKJaXmPLvHcESHA=`. */
export function awsRequestId(): string {
  if (idAt === idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  const id = idPool.toString('base64', idAt, idAt + ID_BYTES);
  idAt += ID_BYTES;
  return id;
}

export function readHeaders(req: IncomingMessage): {
  headers: Record<string, string>;
  multiHeaders: Record<string, string[]>;
  cookies: string[];
} {
  const headers: Record<string, string> = {};
  const multiHeaders: Record<string, string[]> = {};
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (name === 'cookie') {
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t) cookies.push(t);
      }
    }
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${prev},${value}`;
    (multiHeaders[name] ??= []).push(value);
  }
  return { headers, multiHeaders, cookies };
}

/** Query parameters: repeated ones joined with ',' (2.0) and every value (1.0). */
export function readQuery(rawQuery: string): {
  single?: Record<string, string>;
  multi?: Record<string, string[]>;
} {
  if (!rawQuery) return {};
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    single[k] = single[k] === undefined ? v : `${single[k]},${v}`;
    (multi[k] ??= []).push(v);
  }
  return { single, multi };
}

/**
 * Content types HTTP APIs pass to Lambda as text; anything else (form posts included, an
 * often-met surprise) arrives base64-encoded.
 */
const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript|[\w.+-]*\+(json|xml)))/i;

export function isTextContent(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_TYPE.test(contentType.trim());
}

/** Reads a request body up to `limit` bytes; 'too-large' (the rest drained) past it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = req.headers['content-length'];
  if (declared === '0' || (declared === undefined && !req.headers['transfer-encoding'])) {
    req.resume();
    return Promise.resolve(Buffer.alloc(0));
  }
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= limit) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}
