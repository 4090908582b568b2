import type { IncomingMessage } from 'node:http';

const EMPTY = Buffer.alloc(0);

/** How much of an oversized body we read and discard so the client sees our 413. */
const DRAIN_LIMIT = 128 * 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes. Over the limit, resolves 'too-large' at once;
 * the rest is drained (bounded) so the client can read the error instead of a reset.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = req.headers['content-length'];
  if (declared === '0' || (declared === undefined && !req.headers['transfer-encoding'])) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  if (declared !== undefined && Number(declared) > limit) {
    drain(req);
    return Promise.resolve('too-large');
  }
  const length = declared === undefined ? NaN : Number(declared);
  if (Number.isSafeInteger(length) && length > 0) return readDeclared(req, length);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        drain(req, size);
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

/**
 * A body whose Content-Length is known (and within the limit): one buffer of that size,
 * filled as chunks arrive, rather than a list of chunks concatenated at the end, which
 * holds the body twice at its peak. Large allocations are mapped lazily, so a declared
 * length that never arrives costs address space, not memory. Node's parser never
 * delivers more than the declared length.
 */
function readDeclared(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = Buffer.allocUnsafe(length);
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.copy(body, size);
    });
    req.once('end', () => resolve(size === length ? body : body.subarray(0, size)));
    req.once('error', reject);
  });
}

/** Reads and discards the rest of a body (bounded: past the limit the socket is closed). */
export function drain(req: IncomingMessage, already = 0): void {
  let seen = already;
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT) {
      req.off('data', onData);
      req.socket.destroy();
    }
  };
  req.on('data', onData);
  req.resume();
}
