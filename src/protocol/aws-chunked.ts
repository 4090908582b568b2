/**
 * `Content-Encoding: aws-chunked` bodies, which S3 clients send for streaming uploads
 * and, in current SDKs, for every upload that carries a checksum trailer.
 *
 * Signed (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]):
 *   <hex-size>;chunk-signature=<sig>\r\n<data>\r\n … 0;chunk-signature=<sig>\r\n
 *   [<trailer>:<value>\r\n … x-amz-trailer-signature:<sig>\r\n] \r\n
 * Unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER):
 *   <hex-size>\r\n<data>\r\n … 0\r\n [<trailer>:<value>\r\n …] \r\n
 *
 * Each chunk signature chains from the previous one, starting at the request's (seed)
 * signature, so chunks cannot be dropped, reordered or altered:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import { createHash, type Hash } from 'node:crypto';
import type { SigV4Failure } from './sigv4.js';
import { constantTimeEqual, EMPTY_SHA256, hmacSha256Hex, sha256Hex } from './sigv4-crypto.js';

export interface ChunkSigning {
  /** kSigning of the request's credential scope. */
  signingKey: Buffer;
  /** The request's X-Amz-Date, yyyymmddThhmmssZ. */
  amzDate: string;
  /** date/region/service/aws4_request */
  scope: string;
  /** The Authorization header's signature: the first link of the chain. */
  seedSignature: string;
}

export interface AwsChunkedOptions {
  /** The request's x-amz-content-sha256: says whether chunks and trailers are signed. */
  contentSha256: string;
  /** x-amz-decoded-content-length, when the request sent it. */
  decodedContentLength?: string | number;
  /** Verify chunk and trailer signatures with this; without it the body is only decoded. */
  signing?: ChunkSigning;
}

export interface AwsChunkedBody {
  /** The decoded payload (a view into the input when it came in a single chunk). */
  payload: Buffer;
  /** Trailing headers (e.g. x-amz-checksum-crc32), names lower-cased, without the signature. */
  trailers: Record<string, string>;
}

const SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';
const CHUNK_SIGNATURE = 'chunk-signature=';
/** A chunk header is a size and a signature; anything much longer is not a chunk header. */
const MAX_CHUNK_HEADER = 1024;
/** 13 hex digits stay below 2^53, so sizes are exact JavaScript numbers. */
const MAX_SIZE_DIGITS = 13;

/** Trailing headers are a few checksums and a signature: this is far more than they need. */
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * The aws-chunked decoder, fed as bytes arrive: `write` hands each piece of decoded
 * payload to `emit` (views into the input, never copies) and checks each chunk's
 * signature as the chunk ends; `end` checks the trailers and the decoded length. Memory
 * stays at one chunk header or the trailer section, whatever the payload's size.
 */
export class AwsChunkedDecoder {
  private readonly signing: ChunkSigning | undefined;
  private readonly signedChunks: boolean;
  private previous: string;
  private state: 'header' | 'data' | 'crlf' | 'trailers' | 'failed' = 'header';
  /** The chunk header (or trailer section) gathered so far. */
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private chunkSignature: string | undefined;
  private chunkHash: Hash | undefined;
  private crlfSeen = 0;
  private total = 0;

  constructor(private readonly opts: AwsChunkedOptions) {
    this.signedChunks = opts.contentSha256 === SIGNED || opts.contentSha256 === SIGNED_TRAILER;
    this.signing = this.signedChunks ? opts.signing : undefined;
    this.previous = this.signing?.seedSignature ?? '';
  }

  /** Bytes of payload decoded so far. */
  get decodedLength(): number {
    return this.total;
  }

  write(input: Buffer, emit: (data: Buffer) => void): SigV4Failure | undefined {
    let pos = 0;
    while (pos < input.length) {
      switch (this.state) {
        case 'failed':
          return framing('The request body terminated unexpectedly');
        case 'header': {
          const nl = input.indexOf(0x0a, pos);
          const end = nl < 0 ? input.length : nl + 1;
          this.pending = this.pending.length
            ? Buffer.concat([this.pending, input.subarray(pos, end)])
            : input.subarray(pos, end);
          pos = end;
          if (this.pending.length > MAX_CHUNK_HEADER + 2)
            return this.fail(framing('Invalid chunk header'));
          if (nl < 0) break;
          const failure = this.startChunk(this.pending);
          this.pending = Buffer.alloc(0);
          if (failure) return this.fail(failure);
          break;
        }
        case 'data': {
          const take = Math.min(this.remaining, input.length - pos);
          const data = input.subarray(pos, pos + take);
          this.chunkHash?.update(data);
          this.remaining -= take;
          this.total += take;
          pos += take;
          if (take > 0) emit(data);
          if (this.remaining === 0) {
            const failure = this.verifyChunk(false);
            if (failure) return this.fail(failure);
            this.state = 'crlf';
            this.crlfSeen = 0;
          }
          break;
        }
        case 'crlf': {
          const expected = this.crlfSeen === 0 ? 0x0d : 0x0a;
          if (input[pos] !== expected)
            return this.fail(framing('Chunk data is not followed by CRLF'));
          pos++;
          if (++this.crlfSeen === 2) this.state = 'header';
          break;
        }
        case 'trailers': {
          this.pending = this.pending.length
            ? Buffer.concat([this.pending, input.subarray(pos)])
            : input.subarray(pos);
          pos = input.length;
          if (this.pending.length > MAX_TRAILER_BYTES)
            return this.fail(framing('Invalid trailing header'));
          break;
        }
      }
    }
    return undefined;
  }

  /** The body ended: checks what follows the last chunk, its signature and the length. */
  end(): { trailers: Record<string, string> } | SigV4Failure {
    if (this.state !== 'trailers') {
      return framing(
        this.state === 'header' && this.pending.length > 0
          ? 'Invalid chunk header'
          : 'The request body terminated unexpectedly',
      );
    }
    const body = this.pending;
    // Trailing headers, then an empty line. Clients differ on whether the very last CRLF
    // is sent, so the end of the body also ends the trailer section.
    const trailers: Record<string, string> = {};
    let canonicalTrailers = '';
    let trailerSignature: string | undefined;
    let pos = 0;
    while (pos < body.length) {
      let lineEnd = body.indexOf('\r\n', pos, 'latin1');
      if (lineEnd === -1) lineEnd = body.length;
      if (lineEnd === pos) {
        pos += 2;
        if (pos < body.length) return framing('Unexpected data after the final chunk');
        break;
      }
      const line = body.toString('utf8', pos, lineEnd);
      pos = lineEnd + 2;
      const colon = line.indexOf(':');
      if (colon <= 0) return framing('Invalid trailing header');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === TRAILER_SIGNATURE) {
        trailerSignature = value;
      } else {
        trailers[name] = value;
        canonicalTrailers += `${name}:${value}\n`;
      }
    }

    const signing = this.signing;
    if (signing !== undefined && this.opts.contentSha256 === SIGNED_TRAILER) {
      if (trailerSignature === undefined) return framing('Missing x-amz-trailer-signature');
      const stringToSign =
        `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${this.previous}\n` +
        sha256Hex(canonicalTrailers);
      if (!constantTimeEqual(hmacSha256Hex(signing.signingKey, stringToSign), trailerSignature)) {
        return signatureMismatch(stringToSign, trailerSignature);
      }
    }

    if (this.opts.decodedContentLength !== undefined) {
      const declared = Number(this.opts.decodedContentLength);
      if (!Number.isSafeInteger(declared) || declared < 0) {
        return framing('Invalid x-amz-decoded-content-length');
      }
      if (declared !== this.total) {
        return framing(
          `x-amz-decoded-content-length ${declared} does not match the ${this.total} bytes decoded`,
        );
      }
    }
    return { trailers };
  }

  private fail(failure: SigV4Failure): SigV4Failure {
    this.state = 'failed';
    return failure;
  }

  /** Parses `<hex-size>[;chunk-signature=<sig>]\r\n`. */
  private startChunk(line: Buffer): SigV4Failure | undefined {
    const lineEnd = line.length - 2;
    if (lineEnd < 0 || line[lineEnd] !== 0x0d) return framing('Invalid chunk header');
    let i = 0;
    let size = 0;
    while (i < lineEnd && i < MAX_SIZE_DIGITS) {
      const digit = hexDigit(line[i]);
      if (digit < 0) break;
      size = size * 16 + digit;
      i++;
    }
    if (i === 0) return framing('Invalid chunk size');
    let signature: string | undefined;
    if (i < lineEnd) {
      if (line[i] !== 0x3b /* ; */) return framing('Invalid chunk size');
      // Chunk extensions: `;name=value` pairs; only chunk-signature means anything here.
      for (const extension of line.toString('latin1', i + 1, lineEnd).split(';')) {
        const trimmed = extension.trim();
        if (trimmed.startsWith(CHUNK_SIGNATURE)) signature = trimmed.slice(CHUNK_SIGNATURE.length);
      }
    }
    if (this.signedChunks && signature === undefined) return framing('Missing chunk-signature');
    this.chunkSignature = signature;
    this.chunkHash =
      this.signing !== undefined && signature !== undefined ? createHash('sha256') : undefined;
    this.remaining = size;
    if (size === 0) {
      const failure = this.verifyChunk(true);
      if (failure) return failure;
      this.state = 'trailers';
      return undefined;
    }
    this.state = 'data';
    return undefined;
  }

  private verifyChunk(last: boolean): SigV4Failure | undefined {
    const signing = this.signing;
    const signature = this.chunkSignature;
    if (signing === undefined || signature === undefined || this.chunkHash === undefined) {
      return undefined;
    }
    const dataHash = last ? EMPTY_SHA256 : this.chunkHash.digest('hex');
    const stringToSign =
      `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${this.previous}\n` +
      `${EMPTY_SHA256}\n${dataHash}`;
    if (!constantTimeEqual(hmacSha256Hex(signing.signingKey, stringToSign), signature)) {
      return signatureMismatch(stringToSign, signature);
    }
    this.previous = signature;
    return undefined;
  }
}

/** Decodes a whole aws-chunked body held in memory. */
export function decodeAwsChunked(
  body: Buffer,
  opts: AwsChunkedOptions,
): AwsChunkedBody | SigV4Failure {
  const decoder = new AwsChunkedDecoder(opts);
  const pieces: Buffer[] = [];
  const failure = decoder.write(body, (data) => pieces.push(data));
  if (failure) return failure;
  const ended = decoder.end();
  if ('reason' in ended) return ended;
  const trailers = ended.trailers;
  const total = decoder.decodedLength;
  const payload =
    pieces.length === 0
      ? Buffer.alloc(0)
      : pieces.length === 1
        ? pieces[0]
        : Buffer.concat(pieces, total);
  return { payload, trailers };
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function framing(message: string): SigV4Failure {
  return { reason: 'malformed', message, detail: { kind: 'chunk' } };
}

function signatureMismatch(stringToSign: string, signatureProvided: string): SigV4Failure {
  return {
    reason: 'signature',
    message:
      'The request signature we calculated does not match the signature you provided. ' +
      'Check your key and signing method.',
    detail: { kind: 'chunk', stringToSign, signatureProvided },
  };
}
