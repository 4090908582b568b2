/**
 * Reading a StreamingBlob (a model `streaming` payload member) whole, for operations that
 * want the bytes: bounded, so a stream cannot make a provider hold more than `limit`.
 */
import { Readable } from 'node:stream';
import type { StreamingBlob } from '../protocol/types.js';

/** The bytes of a blob; resolves undefined as soon as a stream passes `limit` bytes. */
export async function readStreamingBlob(
  blob: StreamingBlob | undefined,
  limit: number,
): Promise<Buffer | undefined> {
  if (blob === undefined) return Buffer.alloc(0);
  if (!(blob instanceof Readable)) {
    const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    return buf.length > limit ? undefined : buf;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of blob as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      blob.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
