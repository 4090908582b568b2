/** Small HTTP helpers for Lambda's data planes (which run outside the API chain). */
import type { IncomingMessage } from 'node:http';

const EMPTY = Buffer.alloc(0);

/** Reads a request body up to `limit` bytes; 'too-large' (and the rest discarded) past it. */
export function readLimitedBody(
  req: IncomingMessage,
  limit: number,
): Promise<Buffer | 'too-large'> {
  const declared = req.headers['content-length'];
  if (declared === '0' || (declared === undefined && !req.headers['transfer-encoding'])) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!over) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}

/** Header values flattened the way SigV4 and the codecs see them (lower-case names). */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Splits `req.url` into its path (raw) and query string (without '?'). */
export function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}
