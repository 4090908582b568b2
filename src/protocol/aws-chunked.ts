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

export function decodeAwsChunked(
  body: Buffer,
  opts: AwsChunkedOptions,
): AwsChunkedBody | SigV4Failure {
  const signedChunks = opts.contentSha256 === SIGNED || opts.contentSha256 === SIGNED_TRAILER;
  const signing = signedChunks ? opts.signing : undefined;
  let previous = signing?.seedSignature ?? '';
  const pieces: Buffer[] = [];
  let total = 0;
  let pos = 0;

  // Chunks, up to and including the final zero-length one.
  for (;;) {
    const lineEnd = body.indexOf('\r\n', pos, 'latin1');
    if (lineEnd === -1 || lineEnd - pos > MAX_CHUNK_HEADER) {
      return framing(
        pos >= body.length ? 'The request body terminated unexpectedly' : 'Invalid chunk header',
      );
    }
    let i = pos;
    let size = 0;
    while (i < lineEnd && i - pos < MAX_SIZE_DIGITS) {
      const digit = hexDigit(body[i]);
      if (digit < 0) break;
      size = size * 16 + digit;
      i++;
    }
    if (i === pos) return framing('Invalid chunk size');
    let signature: string | undefined;
    if (i < lineEnd) {
      if (body[i] !== 0x3b /* ; */) return framing('Invalid chunk size');
      // Chunk extensions: `;name=value` pairs; only chunk-signature means anything here.
      for (const extension of body.toString('latin1', i + 1, lineEnd).split(';')) {
        const trimmed = extension.trim();
        if (trimmed.startsWith(CHUNK_SIGNATURE)) signature = trimmed.slice(CHUNK_SIGNATURE.length);
      }
    }
    if (signedChunks && signature === undefined) return framing('Missing chunk-signature');
    const dataStart = lineEnd + 2;
    const dataEnd = dataStart + size;
    if (dataEnd > body.length) return framing('The request body terminated unexpectedly');
    const data = body.subarray(dataStart, dataEnd);
    if (signing !== undefined && signature !== undefined) {
      const stringToSign =
        `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${previous}\n` +
        `${EMPTY_SHA256}\n${sha256Hex(data)}`;
      if (!constantTimeEqual(hmacSha256Hex(signing.signingKey, stringToSign), signature)) {
        return signatureMismatch(stringToSign, signature);
      }
      previous = signature;
    }
    if (size === 0) {
      pos = dataStart;
      break;
    }
    if (body[dataEnd] !== 0x0d || body[dataEnd + 1] !== 0x0a) {
      return framing('Chunk data is not followed by CRLF');
    }
    pieces.push(data);
    total += size;
    pos = dataEnd + 2;
  }

  // Trailing headers, then an empty line. Clients differ on whether the very last CRLF
  // is sent, so the end of the body also ends the trailer section.
  const trailers: Record<string, string> = {};
  let canonicalTrailers = '';
  let trailerSignature: string | undefined;
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

  if (signing !== undefined && opts.contentSha256 === SIGNED_TRAILER) {
    if (trailerSignature === undefined) return framing('Missing x-amz-trailer-signature');
    const stringToSign =
      `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${previous}\n` +
      sha256Hex(canonicalTrailers);
    if (!constantTimeEqual(hmacSha256Hex(signing.signingKey, stringToSign), trailerSignature)) {
      return signatureMismatch(stringToSign, trailerSignature);
    }
  }

  if (opts.decodedContentLength !== undefined) {
    const declared = Number(opts.decodedContentLength);
    if (!Number.isSafeInteger(declared) || declared < 0) {
      return framing('Invalid x-amz-decoded-content-length');
    }
    if (declared !== total) {
      return framing(
        `x-amz-decoded-content-length ${declared} does not match the ${total} bytes decoded`,
      );
    }
  }

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
