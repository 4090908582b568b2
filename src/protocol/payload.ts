/**
 * The integrity checks a request payload passes on its way to the provider, the same for
 * a buffered body and a streamed one: aws-chunked decoding (chunk and trailer signatures),
 * a declared hex `x-amz-content-sha256`, the flexible checksums named in headers or
 * aws-chunked trailers, and Content-MD5. A streamed payload reaches the provider as a
 * `PayloadStream` that fails, before it ends, when any check fails: a provider that only
 * commits what it read to the end never stores a payload that did not pass.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AwsError } from '../shared/errors.js';
import type { CheckedPayload, PayloadDigests } from '../shared/streaming-blob.js';
import { AwsChunkedDecoder, type AwsChunkedOptions } from './aws-chunked.js';
import {
  CHECKSUM_ALGORITHMS,
  checksumAlgorithmOf,
  checksumHeader,
  isDigestOf,
  runningDigest,
  type ChecksumAlgorithm,
  type RunningDigest,
} from './checksums.js';
import type { OperationModel, ServiceModel } from './model.js';
import { OFF_THREAD_BYTES, OffThreadDigests, type OffThreadAlgorithm } from './offthread-digest.js';
import type { SigV4Failure } from './sigv4.js';
import { sigV4Error, type SigV4ErrorStyle } from './sigv4-errors.js';

export interface PayloadOptions {
  /** Lower-cased request headers. */
  headers: Record<string, string>;
  /** Set when the body is aws-chunked. */
  chunked?: AwsChunkedOptions;
  /** A declared hex x-amz-content-sha256 to check (strict mode). */
  sha256?: string;
  /** How SigV4 failures (chunk signatures, the payload hash) are worded. */
  errorStyle: SigV4ErrorStyle;
}

export const PayloadErrors = {
  badDigest: () =>
    new AwsError(
      'BadDigest',
      400,
      true,
      'The Content-MD5 you specified did not match what we received.',
    ),
  invalidDigest: () =>
    new AwsError('InvalidDigest', 400, true, 'The Content-MD5 you specified was not valid.'),
  checksumMismatch: (algorithm: ChecksumAlgorithm) =>
    new AwsError(
      'BadDigest',
      400,
      true,
      `The ${algorithm} you specified did not match the calculated checksum.`,
    ),
  invalidChecksum: (header: string) =>
    new AwsError('InvalidRequest', 400, true, `Value for ${header} header is invalid.`),
  multipleChecksums: () =>
    new AwsError(
      'InvalidRequest',
      400,
      true,
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    ),
  incomplete: (expected: number, got: number) =>
    new AwsError(
      'IncompleteBody',
      400,
      true,
      `You did not provide the number of bytes specified by the Content-Length HTTP header (${expected} expected, ${got} received).`,
    ),
} as const;

/** The flexible checksums the hash workers compute (the others stay on the event loop). */
const OFF_THREAD_CHECKSUMS: Partial<Record<ChecksumAlgorithm, OffThreadAlgorithm>> = {
  CRC32: 'crc32',
  SHA1: 'sha1',
  SHA256: 'sha256',
};

/**
 * The running checks of one payload. Built from the headers (which may already be
 * refused: a malformed checksum header, two of them, a bad Content-MD5), fed the decoded
 * bytes, finished once the body ended.
 */
export class PayloadChecks {
  private readonly decoder: AwsChunkedDecoder | undefined;
  // In-thread digests; each is undefined while its algorithm runs off-thread instead.
  private md5: Hash | undefined = createHash('md5');
  private sha256: Hash | undefined;
  private digest: RunningDigest | undefined;
  /** A large payload's digests, on the hash workers (see hashOffThread). */
  private offThread: OffThreadDigests | undefined;
  /** The algorithm whose value comes in a header (value known) or a trailer (undefined). */
  private readonly algorithm: ChecksumAlgorithm | undefined;
  private readonly expected: string | undefined;
  private readonly contentMd5: string | undefined;
  private length = 0;

  constructor(private readonly opts: PayloadOptions) {
    const h = opts.headers;
    this.decoder = opts.chunked ? new AwsChunkedDecoder(opts.chunked) : undefined;
    this.sha256 = opts.sha256 !== undefined ? createHash('sha256') : undefined;
    const inHeaders = CHECKSUM_ALGORITHMS.filter((a) => h[checksumHeader(a)] !== undefined);
    if (inHeaders.length > 1) throw PayloadErrors.multipleChecksums();
    const trailer = h['x-amz-trailer'];
    const inTrailer =
      opts.chunked && trailer !== undefined ? checksumAlgorithmOf(trailer) : undefined;
    if (inHeaders.length === 1 && inTrailer !== undefined && inHeaders[0] !== inTrailer) {
      throw PayloadErrors.multipleChecksums();
    }
    this.algorithm = inHeaders[0] ?? inTrailer;
    if (inHeaders.length === 1) {
      const name = checksumHeader(inHeaders[0]);
      this.expected = h[name];
      if (!isDigestOf(inHeaders[0], this.expected)) throw PayloadErrors.invalidChecksum(name);
    }
    this.digest = this.algorithm ? runningDigest(this.algorithm) : undefined;
    this.contentMd5 = h['content-md5'];
    if (this.contentMd5 !== undefined && !isDigestOf('MD5', this.contentMd5)) {
      throw PayloadErrors.invalidDigest();
    }
  }

  /**
   * Moves the MD5, the declared SHA-256 and the flexible checksum where the workers have
   * it to the hash workers (a large payload: see offthread-digest.ts). Only before the
   * first byte: a hash's state cannot move between threads.
   */
  hashOffThread(): void {
    if (this.length > 0 || this.offThread) return;
    const algorithms: OffThreadAlgorithm[] = ['md5'];
    if (this.sha256) algorithms.push('sha256');
    const flexible = this.algorithm && OFF_THREAD_CHECKSUMS[this.algorithm];
    if (flexible) algorithms.push(flexible);
    this.offThread = new OffThreadDigests(algorithms);
    this.md5 = undefined;
    this.sha256 = undefined;
    if (flexible) this.digest = undefined;
  }

  /**
   * Asks for the payload's SHA-256 in its digests (hex), computed with the others off the
   * event loop: false when the payload is not hashed off-thread or bytes already went by.
   */
  wantSha256(): boolean {
    return this.offThread?.add('sha256') ?? false;
  }

  /** When the off-thread hashes are behind: resolves once the writer may go on. */
  backlog(): Promise<void> | undefined {
    return this.offThread?.backlog();
  }

  /** The payload was abandoned: nothing more will be fed. */
  discard(): void {
    this.offThread?.discard();
  }

  /** Feeds raw body bytes; `emit` gets the decoded payload. Throws AwsError on a failure. */
  write(raw: Buffer, emit: (data: Buffer) => void): void {
    if (!this.decoder) {
      this.update(raw);
      emit(raw);
      return;
    }
    const failure = this.decoder.write(raw, (data) => {
      this.update(data);
      emit(data);
    });
    if (failure) throw this.sigV4(failure);
  }

  /** The body ended: every check, then what they learned. Throws AwsError on a failure. */
  async finish(): Promise<PayloadDigests> {
    let trailers: Record<string, string> = {};
    if (this.decoder) {
      const ended = this.decoder.end();
      if ('reason' in ended) {
        this.discard();
        throw this.sigV4(ended);
      }
      trailers = ended.trailers;
    }
    const off = this.offThread ? await this.offThread.digests() : undefined;
    const sha256 = off?.get('sha256')?.toString('hex') ?? this.sha256?.digest('hex');
    if (sha256 !== undefined && this.opts.sha256 !== undefined) {
      if (sha256 !== this.opts.sha256.toLowerCase()) {
        throw this.sigV4({
          reason: 'payload-hash',
          message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
          detail: { kind: 'header', clientSha256: this.opts.sha256, computedSha256: sha256 },
        });
      }
    }
    const md5 = off?.get('md5') ?? (this.md5 as Hash).digest();
    if (this.contentMd5 !== undefined && md5.toString('base64') !== this.contentMd5) {
      throw PayloadErrors.badDigest();
    }
    const checksums: PayloadDigests['checksums'] = {};
    if (this.algorithm) {
      const name = checksumHeader(this.algorithm);
      const expected = this.expected ?? trailers[name];
      // A trailer the client announced but did not send checks nothing, as on S3.
      if (expected !== undefined) {
        if (!isDigestOf(this.algorithm, expected)) throw PayloadErrors.invalidChecksum(name);
        const flexible = OFF_THREAD_CHECKSUMS[this.algorithm];
        const computed = this.digest
          ? await this.digest.digest()
          : (off?.get(flexible as OffThreadAlgorithm) as Buffer).toString('base64');
        if (computed !== expected) throw PayloadErrors.checksumMismatch(this.algorithm);
        checksums[this.algorithm] = computed;
      }
    }
    return {
      length: this.length,
      md5: md5.toString('hex'),
      checksums,
      ...(off?.has('sha256') && { sha256 }),
    };
  }

  private update(data: Buffer): void {
    this.length += data.length;
    this.offThread?.update(data);
    this.md5?.update(data);
    this.sha256?.update(data);
    this.digest?.update(data);
  }

  private sigV4(failure: SigV4Failure): AwsError {
    return sigV4Error(failure, this.opts.errorStyle);
  }
}

/**
 * A streaming payload member (S3's PutObject and UploadPart `Body`) as the provider
 * receives it: the decoded bytes, with backpressure back to the socket. It fails before
 * its end when a check fails; `digests` is set once it ended.
 */
export class PayloadStream extends Transform implements CheckedPayload {
  /** The payload's length when the request declared it (Content-Length, decoded length). */
  readonly declaredLength: number | undefined;
  private result: PayloadDigests | undefined;

  constructor(
    private readonly checks: PayloadChecks,
    declaredLength: number | undefined,
  ) {
    // Room for a few socket reads each way: fewer pause/resume hand-offs per megabyte.
    super({ highWaterMark: 1024 * 1024 });
    this.declaredLength = declaredLength;
    if (declaredLength !== undefined && declaredLength >= OFF_THREAD_BYTES) checks.hashOffThread();
  }

  /** What the checks learned; defined once the stream ended. */
  get digests(): PayloadDigests | undefined {
    return this.result;
  }

  wantSha256(): boolean {
    return this.checks.wantSha256();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.checks.write(chunk, (data) => this.push(data));
    } catch (err) {
      this.checks.discard();
      return done(err as Error);
    }
    const backlog = this.checks.backlog();
    if (backlog) backlog.then(() => done(), done);
    else done();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.result) this.checks.discard();
    callback(err);
  }

  override _flush(done: TransformCallback): void {
    this.checks.finish().then(
      (digests) => {
        if (this.declaredLength !== undefined && digests.length !== this.declaredLength) {
          done(PayloadErrors.incomplete(this.declaredLength, digests.length));
          return;
        }
        this.result = digests;
        done();
      },
      (err: Error) => done(err),
    );
  }
}

export function isPayloadStream(value: unknown): value is PayloadStream {
  return value instanceof PayloadStream;
}

/** Whether the operation's input payload member streams (the model's `streaming` trait). */
export function streamsInput(op: OperationModel, model: ServiceModel): boolean {
  const input = op.input ? model.shapes[op.input.shape] : undefined;
  const ref = input?.payload ? input.members?.[input.payload] : undefined;
  return (
    ref !== undefined && (ref.streaming === true || model.shapes[ref.shape]?.streaming === true)
  );
}
