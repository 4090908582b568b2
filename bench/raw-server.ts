/**
 * The ceiling: a bare node:http server (its own process) that answers each request with
 * bytes Stratus produced earlier. It reads the request body, as any server must, and picks
 * the canned answer by X-Amz-Target (json protocols) or falls back to the query answer.
 *
 *   node dist/bench/raw-server.js <responses.json>
 *   responses.json: { "<x-amz-target or empty>": CannedResponse, ... }
 * Prints {"port":N} on stdout once listening on 127.0.0.1.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { CannedResponse } from './capture.js';

interface Prepared {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function prepare(r: CannedResponse): Prepared {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of r.headers) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : ([] as string[]).concat(prev, v);
  }
  const body = Buffer.from(r.body);
  // Stratus may have sent content-length under any case; exactly one is sent here.
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-length') delete headers[k];
  headers['Content-Length'] = String(body.length);
  return { status: r.status, headers, body };
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: raw-server.js <responses.json>\n');
  process.exit(2);
}
const canned = JSON.parse(readFileSync(file, 'utf8')) as Record<string, CannedResponse>;
const byTarget = new Map<string, Prepared>();
for (const [target, r] of Object.entries(canned)) byTarget.set(target, prepare(r));
const fallback = byTarget.get('') ?? [...byTarget.values()][0];

const server = createServer({ keepAlive: true }, (req, res) => {
  const target = req.headers['x-amz-target'];
  const r = (typeof target === 'string' && byTarget.get(target)) || fallback;
  req.on('end', () => {
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  });
  req.resume();
});
// Same keep-alive settings as Stratus (src/gateway/server.ts).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
