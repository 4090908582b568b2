import type { Readable } from 'node:stream';
import type { AwsError } from '../shared/errors.js';
import type { OperationModel, ServiceModel } from './model.js';

/**
 * An HTTP request as the codecs see it: the body already read (and aws-chunked decoded),
 * or, for an operation whose payload member streams (S3 PutObject), `stream`.
 */
export interface WireRequest {
  method: string;
  /** Raw path, still percent-encoded, without the query string. */
  path: string;
  /** Raw query string without the leading `?` ('' when none). */
  rawQuery: string;
  query: URLSearchParams;
  /** Lower-cased header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
  /** The decoded, checked payload of a streaming operation (then `body` is empty). */
  stream?: Readable;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** A Readable (a streaming payload member, e.g. GetObject's Body) is piped out. */
  body: Buffer | string | Readable;
}

/**
 * A streaming payload member (the model's `streaming` trait: S3's PutObject and GetObject
 * `Body`): a provider receives a Readable (protocol/payload.ts's PayloadStream) and may
 * answer with a Readable or bytes.
 */
export type StreamingBlob = Readable | Uint8Array;

/** Input or output values: plain objects keyed by model member names. */
export type Value = unknown;
export type Struct = Record<string, unknown>;

export interface ResponseContext {
  requestId: string;
}

/**
 * One per protocol. Codecs are stateless and driven only by the model: no service code,
 * no per-operation special cases (model fixes go in codegen/patches).
 */
export interface ProtocolCodec {
  /**
   * Which operation this request calls, or an AwsError (the protocol's own
   * unknown-operation error) when the request names none the model knows.
   */
  resolveOperation(req: WireRequest, model: ServiceModel): OperationModel | AwsError;
  /** Decode the request into the operation's input shape (throws AwsError on bad input). */
  parseInput(req: WireRequest, op: OperationModel, model: ServiceModel): Struct;
  serializeOutput(
    output: Struct,
    op: OperationModel,
    model: ServiceModel,
    ctx: ResponseContext,
  ): WireResponse;
  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse;
}
