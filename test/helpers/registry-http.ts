/**
 * Requests to the OCI registry (/v2/) as the protocol tests make them: with fetch, or with
 * node:http where the path must reach the wire unresolved or a body is streamed; and the
 * check of the spec's error body.
 */
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';

/** Any password: in permissive mode the registry takes the default account's. */
export const CREDS = 'AWS:password';
export const AUTHORIZATION = `Basic ${Buffer.from(CREDS).toString('base64')}`;
export const MB = 1024 * 1024;

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface OciErrors {
  errors: { code: string; message: string; detail: unknown }[];
}

/** One request with fetch; Basic credentials unless `auth` is false. */
export async function call(
  endpoint: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string; auth?: boolean } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== false) headers.Authorization = AUTHORIZATION;
  const res = await fetch(new URL(path, endpoint), { method, headers, body: opts.body });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export const json = <T>(r: Reply): T => JSON.parse(r.body.toString('utf8')) as T;

/** The spec's error body: `{"errors":[{"code","message","detail"}]}`, the first with `code`. */
export function assertError(r: Reply, status: number, code: string | string[]): void {
  assert.equal(r.status, status, `status ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  const body = json<OciErrors>(r);
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, 'errors is a non-empty list');
  for (const e of body.errors) {
    assert.deepEqual(Object.keys(e).sort(), ['code', 'detail', 'message']);
    assert.equal(typeof e.code, 'string');
    assert.equal(typeof e.message, 'string');
  }
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(body.errors[0].code), `code ${body.errors[0].code}, want ${codes}`);
}

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request whose path goes on the wire exactly as given (fetch would resolve `..`). */
export function rawCall(
  endpoint: string,
  method: string,
  path: string,
  headers: Record<string, string> = { Authorization: AUTHORIZATION },
): Promise<RawReply> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The response to a request whose body is `total` bytes written one MB at a time. */
export function streamedCall(
  url: URL,
  method: string,
  total: number,
  opts: { declareLength?: boolean; headers?: Record<string, string> } = {},
): Promise<RawReply & { sent: number }> {
  const chunk = Buffer.alloc(MB, 0x20);
  const headers: Record<string, string | number> = {
    Authorization: AUTHORIZATION,
    ...opts.headers,
  };
  if (opts.declareLength) headers['Content-Length'] = total;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method, headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          sent,
        }),
      );
      res.on('error', reject);
    });
    // Once the server answered and hung up, writing on fails; that is expected.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = (): void => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
