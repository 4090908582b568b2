/**
 * Reading a StreamingBlob (a model `streaming` payload member) whole, for operations that
 * want the bytes: bounded, so a stream cannot make a provider hold more than `limit`.
 */
import { Readable } from 'node:stream';
import type { ChecksumAlgorithm } from '../protocol/checksums.js';
import type { StreamingBlob } from '../protocol/types.js';

/** What the gateway's payload checks learned of a streamed payload, once it ended. */
export interface PayloadDigests {
  /** Decoded payload length in bytes. */
  length: number;
  /** Hex MD5 of the payload (S3's ETag of a single-part object). */
  md5: string;
  /** Flexible checksums the request carried, each verified, base64. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** Hex SHA-256 of the payload, when a reader asked for it (`wantSha256`). */
  sha256?: string;
}

/** A checked payload stream (the gateway's PayloadStream), as a provider sees it. */
export interface CheckedPayload extends Readable {
  /** The payload's length when the request declared it (Content-Length, decoded length). */
  readonly declaredLength: number | undefined;
  /** Defined once the stream ended, every check passed. */
  readonly digests: PayloadDigests | undefined;
  /**
   * Asks for `digests.sha256`, computed with the payload's other digests (off the event
   * loop for a large one); true when it will be there. Only before the first byte is read.
   */
  wantSha256?(): boolean;
}

export function isCheckedPayload(blob: unknown): blob is CheckedPayload {
  return blob instanceof Readable && 'declaredLength' in blob && 'digests' in blob;
}

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
