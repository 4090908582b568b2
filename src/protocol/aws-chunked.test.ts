import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decodeAwsChunked, type AwsChunkedBody, type ChunkSigning } from './aws-chunked.js';
import {
  chunkSigning,
  isSigV4Failure,
  parseSignature,
  sigV4Error,
  verifySignature,
  type ParsedSignature,
  type SigV4Failure,
  type SigV4Request,
} from './sigv4.js';

// The worked example of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EXAMPLE_REQUEST: SigV4Request = {
  method: 'PUT',
  path: '/examplebucket/chunkObject.txt',
  rawQuery: '',
  headers: {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
      'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;' +
      'x-amz-decoded-content-length;x-amz-storage-class,' +
      'Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
  },
};
const EXAMPLE_NOW = Date.parse('2013-05-24T00:00:30Z');
/** The chunk signatures the AWS page lists for 64 KiB, 1 KiB and the final empty chunk. */
const EXAMPLE_CHUNK_SIGNATURES = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest();

/** kSigning computed here, independently of the module under test. */
function deriveKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

function exampleSignature(): ParsedSignature {
  const sig = parseSignature(EXAMPLE_REQUEST);
  assert.ok(sig !== undefined && !isSigV4Failure(sig));
  return sig;
}

interface BuildOptions {
  chunks: Buffer[];
  /** Sign chunks (and trailers) with this, starting from `seed`. */
  key?: Buffer;
  seed?: string;
  amzDate?: string;
  scope?: string;
  trailers?: [string, string][];
}

/** Writes an aws-chunked body the way the AWS page describes, returning its signatures. */
function buildBody(opts: BuildOptions): { body: Buffer; signatures: string[] } {
  const parts: Buffer[] = [];
  const signatures: string[] = [];
  let previous = opts.seed ?? '';
  for (const chunk of [...opts.chunks, Buffer.alloc(0)]) {
    let header = chunk.length.toString(16);
    if (opts.key !== undefined) {
      const stringToSign = [
        'AWS4-HMAC-SHA256-PAYLOAD',
        opts.amzDate,
        opts.scope,
        previous,
        sha256(''),
        sha256(chunk),
      ].join('\n');
      previous = hmac(opts.key, stringToSign).toString('hex');
      signatures.push(previous);
      header += `;chunk-signature=${previous}`;
    }
    parts.push(Buffer.from(`${header}\r\n`), chunk);
    if (chunk.length > 0) parts.push(Buffer.from('\r\n'));
  }
  if (opts.trailers !== undefined) {
    let canonical = '';
    for (const [name, value] of opts.trailers) {
      parts.push(Buffer.from(`${name}:${value}\r\n`));
      canonical += `${name}:${value}\n`;
    }
    if (opts.key !== undefined) {
      const stringToSign = [
        'AWS4-HMAC-SHA256-TRAILER',
        opts.amzDate,
        opts.scope,
        previous,
        sha256(canonical),
      ].join('\n');
      const signature = hmac(opts.key, stringToSign).toString('hex');
      signatures.push(signature);
      parts.push(Buffer.from(`x-amz-trailer-signature:${signature}\r\n`));
    }
  }
  parts.push(Buffer.from('\r\n'));
  return { body: Buffer.concat(parts), signatures };
}

function decoded(result: AwsChunkedBody | SigV4Failure): AwsChunkedBody {
  if (isSigV4Failure(result)) assert.fail(`unexpected failure: ${result.message}`);
  return result;
}

function failed(result: AwsChunkedBody | SigV4Failure): SigV4Failure {
  assert.ok(isSigV4Failure(result), 'expected a failure');
  return result;
}

function exampleBody(): { body: Buffer; signatures: string[]; signing: ChunkSigning } {
  const sig = exampleSignature();
  const built = buildBody({
    chunks: [Buffer.alloc(65536, 'a'), Buffer.alloc(1024, 'a')],
    key: deriveKey(SECRET, '20130524', 'us-east-1', 's3'),
    seed: sig.signature,
    amzDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
  });
  return { ...built, signing: chunkSigning(sig, SECRET) };
}

test('the AWS streaming example: seed signature, chunk signatures and decoded payload', () => {
  const sig = exampleSignature();
  assert.equal(sig.payloadHash, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  // The seed is the Authorization signature, which verifies over the literal payload hash.
  assert.equal(
    verifySignature(EXAMPLE_REQUEST, Buffer.alloc(0), sig, SECRET, EXAMPLE_NOW),
    undefined,
  );

  const { body, signatures, signing } = exampleBody();
  assert.deepEqual(signatures, EXAMPLE_CHUNK_SIGNATURES);
  assert.equal(body.length, 66824, 'the Content-Length of the example');

  const result = decoded(
    decodeAwsChunked(body, {
      contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      decodedContentLength: '66560',
      signing,
    }),
  );
  assert.equal(result.payload.length, 66560);
  assert.ok(result.payload.equals(Buffer.alloc(66560, 'a')));
  assert.deepEqual(result.trailers, {});
});

test('altered, reordered or foreign chunks break the chain', () => {
  const { body, signing } = exampleBody();
  const opts = { contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing };

  const flipped = Buffer.from(body);
  flipped[body.length - 200] = 0x62; // a 'b' inside the 1 KiB chunk
  const result = failed(decodeAwsChunked(flipped, opts));
  assert.equal(result.reason, 'signature');
  const err = sigV4Error(result, 's3');
  assert.equal(err.code, 'SignatureDoesNotMatch');
  assert.equal(err.status, 403);
  assert.match(String(err.fields.StringToSign), /^AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n/);

  const wrongSeed = { ...signing, seedSignature: '0'.repeat(64) };
  assert.equal(failed(decodeAwsChunked(body, { ...opts, signing: wrongSeed })).reason, 'signature');

  const otherKey = chunkSigning(exampleSignature(), 'another secret');
  assert.equal(failed(decodeAwsChunked(body, { ...opts, signing: otherKey })).reason, 'signature');

  // Same chunks, second and first swapped (each with its own, valid-looking signature).
  const text = body.toString('latin1');
  const first = text.slice(0, 88 + 65538);
  const second = text.slice(88 + 65538, 88 + 65538 + 86 + 1026);
  const rest = text.slice(88 + 65538 + 86 + 1026);
  const swapped = Buffer.from(second + first + rest, 'latin1');
  assert.equal(failed(decodeAwsChunked(swapped, opts)).reason, 'signature');

  // Without a signing context the body is only decoded.
  const plain = decoded(decodeAwsChunked(flipped, { contentSha256: opts.contentSha256 }));
  assert.equal(plain.payload.length, 66560);
});

test('signed trailers: checksum trailer and trailer signature', () => {
  const sig = exampleSignature();
  const payload = Buffer.from('hello trailer world');
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(payload));
  const trailer: [string, string] = ['x-amz-checksum-crc32', checksum.toString('base64')];
  const buildWith = (trailers: [string, string][]) =>
    buildBody({
      chunks: [payload],
      key: deriveKey(SECRET, '20130524', 'us-east-1', 's3'),
      seed: sig.signature,
      amzDate: '20130524T000000Z',
      scope: '20130524/us-east-1/s3/aws4_request',
      trailers,
    }).body;
  const opts = {
    contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
    decodedContentLength: payload.length,
    signing: chunkSigning(sig, SECRET),
  };

  const result = decoded(decodeAwsChunked(buildWith([trailer]), opts));
  assert.ok(result.payload.equals(payload));
  assert.deepEqual(result.trailers, { 'x-amz-checksum-crc32': trailer[1] });

  const body = buildWith([trailer]);
  const forged = Buffer.from(body.toString('latin1').replace(trailer[1], 'AAAAAA=='), 'latin1');
  assert.equal(failed(decodeAwsChunked(forged, opts)).reason, 'signature');

  const unsignedTrailer = buildBody({ chunks: [payload], trailers: [trailer] }).body;
  // Chunks without signatures in a signed mode are a framing error.
  assert.equal(failed(decodeAwsChunked(unsignedTrailer, opts)).reason, 'malformed');

  const withoutSignature = Buffer.from(
    body.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''),
    'latin1',
  );
  assert.equal(
    failed(decodeAwsChunked(withoutSignature, opts)).message,
    'Missing x-amz-trailer-signature',
  );
});

test('unsigned payload with trailers, as the SDKs send checksummed uploads', () => {
  const chunks = [Buffer.from('first part, '), Buffer.from('second part')];
  const { body } = buildBody({
    chunks,
    trailers: [['x-amz-checksum-crc64nvme', 'AAAAAAAAAAA=']],
  });
  assert.ok(body.toString('latin1').startsWith('c\r\nfirst part, \r\nb\r\nsecond part\r\n0\r\n'));
  const result = decoded(
    decodeAwsChunked(body, {
      contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      decodedContentLength: '23',
    }),
  );
  assert.equal(result.payload.toString(), 'first part, second part');
  assert.deepEqual(result.trailers, { 'x-amz-checksum-crc64nvme': 'AAAAAAAAAAA=' });

  // Clients that end without the final CRLF, and chunk extensions other than signatures.
  const relaxed = Buffer.from('5;ext=1\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n');
  const r = decoded(
    decodeAwsChunked(relaxed, { contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }),
  );
  assert.equal(r.payload.toString(), 'hello');
  assert.deepEqual(r.trailers, { 'x-amz-checksum-crc32': 'AAAAAA==' });

  const empty = decoded(decodeAwsChunked(Buffer.from('0\r\n\r\n'), { contentSha256: 'x' }));
  assert.equal(empty.payload.length, 0);
});

test('x-amz-decoded-content-length must match what was decoded', () => {
  const body = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
  const opts = { contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' };
  assert.equal(
    decoded(decodeAwsChunked(body, { ...opts, decodedContentLength: 5 })).payload.length,
    5,
  );
  const short = failed(decodeAwsChunked(body, { ...opts, decodedContentLength: '6' }));
  assert.equal(short.reason, 'malformed');
  assert.equal(sigV4Error(short, 's3').code, 'IncompleteBody');
  assert.equal(
    failed(decodeAwsChunked(body, { ...opts, decodedContentLength: 'five' })).reason,
    'malformed',
  );
});

test('malformed framing is a failure, never an exception', () => {
  const unsigned = { contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' };
  const signed = { contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' };
  const cases: [string, string, typeof unsigned][] = [
    ['empty body', '', unsigned],
    ['no CRLF after the size', '5', unsigned],
    ['size is not hex', 'zz\r\nhello\r\n0\r\n\r\n', unsigned],
    ['size larger than the body', 'ff\r\nhello\r\n0\r\n\r\n', unsigned],
    ['absurd size', 'ffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n', unsigned],
    ['data not followed by CRLF', '5\r\nhelloX\r\n0\r\n\r\n', unsigned],
    ['no final chunk', '5\r\nhello\r\n', unsigned],
    ['junk after the terminator', '5\r\nhello\r\n0\r\n\r\njunk', unsigned],
    ['trailer without colon', '5\r\nhello\r\n0\r\nnot-a-header\r\n\r\n', unsigned],
    ['junk between size and CRLF', '5 x\r\nhello\r\n0\r\n\r\n', unsigned],
    ['missing chunk signature', '5\r\nhello\r\n0\r\n\r\n', signed],
    ['endless chunk header', 'a'.repeat(5000), unsigned],
  ];
  for (const [name, text, opts] of cases) {
    const result = decodeAwsChunked(Buffer.from(text, 'latin1'), opts);
    assert.ok(isSigV4Failure(result), name);
    assert.equal(result.reason, 'malformed', name);
  }
});

test('every truncation and byte flip of a signed body ends in a result or a failure', () => {
  const { body, signing } = exampleBody();
  // A small signed body keeps the exhaustive loops cheap.
  const small = buildBody({
    chunks: [Buffer.from('abc'), Buffer.from('defgh')],
    key: signing.signingKey,
    seed: signing.seedSignature,
    amzDate: signing.amzDate,
    scope: signing.scope,
    trailers: [['x-amz-checksum-crc32', 'AAAAAA==']],
  }).body;
  const opts = { contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', signing };
  assert.equal(decoded(decodeAwsChunked(small, opts)).payload.toString(), 'abcdefgh');
  // Whatever is lost or flipped, the decoder either refuses the body or returns exactly
  // the signed content (losing only the final CRLF, or flipping the case of a trailer
  // name, changes nothing that is signed).
  const intact = (result: AwsChunkedBody | SigV4Failure): boolean =>
    isSigV4Failure(result) ||
    (result.payload.toString() === 'abcdefgh' &&
      result.trailers['x-amz-checksum-crc32'] === 'AAAAAA==');
  for (let length = 0; length < small.length; length++) {
    assert.ok(intact(decodeAwsChunked(small.subarray(0, length), opts)), `length ${length}`);
  }
  assert.ok(isSigV4Failure(decodeAwsChunked(small.subarray(0, small.length - 10), opts)));
  let seed = 1;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const copy = Buffer.from(small);
    copy[seed % copy.length] ^= 1 << (seed % 8);
    assert.ok(intact(decodeAwsChunked(copy, opts)), `flip ${i}`);
  }
  assert.equal(body.length, 66824);
});
