/**
 * The AWS API request path, in order, in one place:
 *
 *   1. request id            6. authenticate (permissive / strict) → account, region
 *   2. parse the signature   7. resolve the operation (protocol + model)
 *   3. detect the service    8. parse the input, 9. validate it against the model
 *   4. read the body         9b. authorise (IAM policies, authorize.ts)
 *   5. decode aws-chunked    10. call the provider, 11. serialize output or error
 *                            12. access log
 *
 * Data planes that AWS serves on other hosts or paths are routed in server.ts before this.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { StratusConfig } from '../config.js';
import { decodeAwsChunked } from '../protocol/aws-chunked.js';
import { decompressRequest } from '../protocol/compression.js';
import { codecs, protocolForRequest } from '../protocol/codecs.js';
import type { OperationModel } from '../protocol/model.js';
import type { ChunkSigning } from '../protocol/aws-chunked.js';
import { PayloadChecks, PayloadStream, streamsInput } from '../protocol/payload.js';
import { chunkSigning, parseSignature, type ParsedSignature } from '../protocol/sigv4.js';
import { sigV4Error, sigV4ErrorStyle, type SigV4ErrorStyle } from '../protocol/sigv4-errors.js';
import type { ProtocolCodec, WireRequest, WireResponse } from '../protocol/types.js';
import type { ServiceInfo } from '../api/services.js';
import { validate, validationError } from '../protocol/validate.js';
import { NOT_IMPLEMENTED } from '../services/plugin.js';
import { CLIENT_CLOSED_REQUEST, clientGone } from '../shared/client-gone.js';
import type { RequestContext } from '../shared/context.js';
import { AwsError, CommonErrors } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { AuthErrors, type Authenticator, type Identity } from './auth.js';
import type { Authorizer, Refusal } from './authorize.js';
import { drain, readBody } from './body.js';
import { corsHeaders } from './cors.js';
import { detectService, serviceForUnsignedAction } from './detect.js';
import { isFormUpload } from '../services/s3/post-object.js';
import { type LoadedService, ServiceRegistry } from './services.js';
import { sendStream } from '../storage/file-range-stream.js';

export interface GatewayDeps {
  config: StratusConfig;
  registry: ServiceRegistry;
  auth: Authenticator;
  /** IAM policy decisions (--iam); absent in tests that build a gateway without one. */
  authorizer?: Authorizer;
  log: Logger;
  /** For a request no route claims: which API and data-plane forms exist (routes.ts). */
  unclaimed(): string;
}

export async function handleApiRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  deps: GatewayDeps,
  /** An S3 virtual-hosted request (`<bucket>.s3.localhost`): the bucket its host names. */
  hostBucket?: string,
  /**
   * The operation's path and query when the client signed another URL (the management
   * API at `<api-id>.execute-api…/<stage>/@connections/<id>`).
   */
  operationUrl?: string,
): Promise<void> {
  // 1. request id
  const requestId = randomUUID();
  const started = performance.now();
  const q = url.indexOf('?');
  const signedPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const opQ = operationUrl?.indexOf('?') ?? -1;
  const operationPath =
    operationUrl === undefined ? undefined : opQ < 0 ? operationUrl : operationUrl.slice(0, opQ);
  const headers = flattenHeaders(req);
  const method = req.method ?? 'GET';
  // The signature covers the path as sent; the operation is the path-style one.
  const sigReq = { method, path: signedPath, rawQuery, headers };
  const path =
    operationPath ??
    (hostBucket === undefined
      ? signedPath
      : `/${hostBucket}${signedPath === '/' ? '' : signedPath}`);

  // S3's POST Object: a browser form, authorised by its signed policy, not by SigV4 headers.
  if (
    operationUrl === undefined &&
    rawQuery === '' &&
    isFormUpload(method, headers) &&
    /^\/[^/]+\/?$/.test(path)
  ) {
    const bucket = path.split('/')[1];
    return handleFormUpload(req, res, bucket, hostBucket, requestId, started, deps);
  }

  // 2. the signature (parsed only; verified in step 6 once the body is read)
  const sig = parseSignature(sigReq);

  // 3. the service
  let info =
    hostBucket !== undefined
      ? S3_SERVICE
      : detectService({
          scopeService: sig && !('reason' in sig) ? sig.service : undefined,
          path,
          headers,
        });
  // An unsigned query call names its service by its Action alone (read from the form).
  let preRead: Buffer | 'too-large' | undefined;
  if (!info && sig === undefined) {
    const action = await unsignedAction(req, method, rawQuery, headers, deps.config.maxBodyBytes);
    info = action.service;
    preRead = action.body;
  }
  if (!info) {
    req.resume();
    if (sig === undefined && deps.config.auth === 'strict') {
      deps.log.planeAccess('unclaimed', method, url, 403, performance.now() - started);
      return sendMissingToken(res, requestId, headers, rawQuery, deps);
    }
    deps.log.planeAccess('unclaimed', method, url, 400, performance.now() - started);
    return sendUnknownService(res, requestId, headers.origin, deps.unclaimed());
  }
  const pending = deps.registry.get(info);
  const svc = pending instanceof Promise ? await pending : pending;
  // The protocol the request speaks: CloudWatch takes cbor, json and query alike.
  const query = new URLSearchParams(rawQuery);
  const protocol = protocolForRequest(svc.model, { headers, query });
  const codec = codecs[protocol] ?? svc.codec;
  const ctxResp = { requestId };
  let operation = '-';
  let status = 500;
  let errorCode: string | undefined;
  try {
    if (sig && 'reason' in sig) throw sigV4Error(sig, sigV4ErrorStyle(protocol, info.signingName));

    // 4–5. The body: streamed to the provider where the model says the payload streams
    // (S3 PutObject, UploadPart), else read (bounded) and aws-chunked decoded. rest
    // protocols name the operation without the body, so it is known before the body is.
    const bodyless: WireRequest = { method, path, rawQuery, query, headers, body: EMPTY };
    const early = REST.has(protocol) ? codec.resolveOperation(bodyless, svc.model) : undefined;
    const streaming =
      early !== undefined && !(early instanceof AwsError) && streamsInput(early, svc.model);
    const service = protocol === info.protocol ? info : { ...info, protocol };
    const errorStyle = sigV4ErrorStyle(protocol, info.signingName);
    let wire: WireRequest;
    let op: OperationModel | AwsError;
    let identity: Identity | AwsError;
    if (streaming) {
      op = early;
      // 6. authenticate: the signature covers the headers; the stream checks the payload.
      identity = await deps.auth.authenticate(
        sigReq,
        undefined,
        sig ?? undefined,
        service,
        op.authtype === 'none',
        Date.now(),
      );
      if (identity instanceof AwsError) throw identity;
      wire = {
        ...bodyless,
        stream: await payloadStream(req, headers, sig ?? undefined, errorStyle, deps),
      };
    } else {
      const limit = svc.plugin?.maxRequestBytes ?? deps.config.maxBodyBytes;
      const raw =
        preRead === undefined
          ? await readBody(req, limit)
          : preRead !== 'too-large' && preRead.length > limit
            ? 'too-large'
            : preRead;
      if (raw === 'too-large') {
        res.setHeader('Connection', 'close');
        throw CommonErrors.payloadTooLarge(limit);
      }

      // 5. aws-chunked payloads (S3 uploads from current SDKs)
      let body = raw;
      const contentSha256 = headers['x-amz-content-sha256'];
      if (isAwsChunked(headers)) {
        const decoded = decodeAwsChunked(raw, {
          contentSha256: contentSha256 ?? '',
          decodedContentLength: headers['x-amz-decoded-content-length'],
          signing: await chunkSigningFor(sig ?? undefined, deps),
        });
        if ('reason' in decoded) throw sigV4Error(decoded, errorStyle);
        body = decoded.payload;
      }
      // Gzipped bodies (CloudWatch's PutMetricData past 10 KB); the signature covers `raw`.
      body = decompressRequest(svc.model, headers, body, limit);
      wire = { ...bodyless, body };

      // 7 (before 6: the operation says whether it may be unsigned). The protocol's
      // unknown-operation error is only reported once the caller is known to be allowed.
      op = early ?? codec.resolveOperation(wire, svc.model);

      // 6. authenticate
      identity = await deps.auth.authenticate(
        sigReq,
        raw,
        sig ?? undefined,
        service,
        !(op instanceof AwsError) && op.authtype === 'none',
        Date.now(),
      );
    }
    if (identity instanceof AwsError) throw identity;
    if (op instanceof AwsError) throw op;
    operation = op.name;

    const ctx: RequestContext = {
      requestId,
      account: identity.account,
      region: svc.plugin?.global ? 'us-east-1' : identity.region,
      accessKeyId: identity.accessKeyId,
      principal: identity.principal,
    };
    const authorizer = deps.authorizer;
    const resolved = op;
    // Synchronous when the authoriser has everything cached: no promise, no await per call.
    const authorize = (input: Record<string, unknown>): Refusal => {
      if (!authorizer || (resolved.authtype === 'none' && sig === undefined)) return undefined;
      const refused = authorizer.operation({
        ...ctx,
        service: svc.info,
        protocol,
        operation: resolved.name,
        input,
        sourceIp: req.socket.remoteAddress,
      });
      const settle = (r: AwsError | undefined) => {
        if (!r && authorizer.mode === 'enforce') ctx.authorized = true;
        return r;
      };
      return refused instanceof Promise ? refused.then(settle) : settle(refused);
    };
    const output = await invoke(svc, codec, op, wire, ctx, authorize);
    const response = codec.serializeOutput(output, op, svc.model, ctxResp);
    status = response.status;
    send(res, response, headers.origin);
  } catch (err) {
    if (!(err instanceof AwsError) && clientGone(req, err)) {
      status = CLIENT_CLOSED_REQUEST;
      deps.log.debug('client closed the request', { requestId, error: errorText(err) });
      res.destroy();
      return;
    }
    if (!req.readableEnded) {
      // A streamed body the provider did not read (or stopped reading): drained, bounded,
      // so that the client reads the answer rather than a reset.
      req.unpipe();
      drain(req);
    }
    const error = err instanceof AwsError ? err : internalError(err, deps.log, requestId);
    const response = serializeError(codec, error, svc, ctxResp);
    status = response.status;
    errorCode = error.code;
    send(res, response, headers.origin);
  } finally {
    // 12. access log
    deps.log.apiAccess(
      info.name,
      operation,
      status,
      errorCode,
      performance.now() - started,
      requestId,
    );
  }
}

const EMPTY = Buffer.alloc(0);
const S3_SERVICE = ServiceRegistry.all().find((s) => s.name === 's3');
/**
 * Protocols whose codec takes a streamed payload (and names the operation without the
 * body). rest-json's only streaming input is Lambda's deprecated InvokeAsync, read whole.
 */
const REST: ReadonlySet<string> = new Set(['rest-xml']);

function isAwsChunked(headers: Record<string, string>): boolean {
  return (
    headers['x-amz-content-sha256']?.startsWith('STREAMING-') === true ||
    headers['content-encoding']?.includes('aws-chunked') === true
  );
}

/** Strict mode verifies chunk signatures with the caller's secret; permissive only decodes. */
async function chunkSigningFor(
  sig: ParsedSignature | undefined,
  deps: GatewayDeps,
): Promise<ChunkSigning | undefined> {
  if (deps.config.auth !== 'strict' || !sig) return undefined;
  const secret = (await deps.auth.findCredential(sig.accessKeyId))?.secretAccessKey;
  return secret === undefined ? undefined : chunkSigning(sig, secret);
}

/**
 * The request body as a checked stream: the socket is piped through the aws-chunked
 * decoder and the payload checks (payload.ts) with backpressure, so memory stays at a
 * chunk whatever the size. A client that goes away fails the stream.
 */
async function payloadStream(
  req: IncomingMessage,
  headers: Record<string, string>,
  sig: ParsedSignature | undefined,
  errorStyle: SigV4ErrorStyle,
  deps: GatewayDeps,
): Promise<PayloadStream> {
  const chunked = isAwsChunked(headers);
  const declaredSha256 = headers['x-amz-content-sha256'];
  const checks = new PayloadChecks({
    headers,
    errorStyle,
    chunked: chunked
      ? {
          contentSha256: declaredSha256 ?? '',
          decodedContentLength: headers['x-amz-decoded-content-length'],
          signing: await chunkSigningFor(sig, deps),
        }
      : undefined,
    sha256:
      deps.config.auth === 'strict' &&
      declaredSha256 !== undefined &&
      /^[0-9a-f]{64}$/i.test(declaredSha256)
        ? declaredSha256
        : undefined,
  });
  const declared = chunked ? headers['x-amz-decoded-content-length'] : headers['content-length'];
  const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  const stream = new PayloadStream(checks, length);
  // Its failures reach the provider through its reads; a stream nobody reads fails quietly.
  stream.on('error', () => undefined);
  req.once('error', (err) => stream.destroy(err));
  req.once('close', () => {
    if (!req.readableEnded)
      stream.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  });
  req.pipe(stream);
  return stream;
}

/**
 * The service of an unsigned query call AWS takes unsigned (AssumeRoleWithWebIdentity:
 * "Calling AssumeRoleWithWebIdentity does not require the use of AWS security
 * credentials", https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html),
 * from `Action` in the query string or the form body; the body read here is passed on.
 */
async function unsignedAction(
  req: IncomingMessage,
  method: string,
  rawQuery: string,
  headers: Record<string, string>,
  limit: number,
): Promise<{ service?: ServiceInfo; body?: Buffer | 'too-large' }> {
  const inQuery = serviceForUnsignedAction(new URLSearchParams(rawQuery).get('Action'));
  if (inQuery) return { service: inQuery };
  const form = headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true;
  if (method !== 'POST' || !form) return {};
  const body = await readBody(req, limit);
  if (body === 'too-large') return { body };
  const action = new URLSearchParams(body.toString('utf8')).get('Action');
  return { service: serviceForUnsignedAction(action), body };
}

/** Steps 8–10: parse, validate, authorise, call. */
async function invoke(
  svc: LoadedService,
  codec: ProtocolCodec,
  op: OperationModel,
  wire: WireRequest,
  ctx: RequestContext,
  authorize: (input: Record<string, unknown>) => Refusal,
): Promise<Record<string, unknown>> {
  const input = codec.parseInput(wire, op, svc.model);
  if (op.input) {
    const violations = validate(input, op.input.shape, svc.model);
    if (violations.length) throw validationError(violations, svc.model);
  }
  let refused = authorize(input);
  if (refused instanceof Promise) refused = await refused;
  if (refused) throw refused;
  const result = svc.instance?.dispatch(op.name, input, ctx) ?? NOT_IMPLEMENTED;
  if (result === NOT_IMPLEMENTED) throw CommonErrors.notImplemented(svc.info.name, op.name);
  return ((await result) ?? {}) as Record<string, unknown>;
}

function serializeError(
  codec: ProtocolCodec,
  error: AwsError,
  svc: LoadedService,
  ctx: { requestId: string },
): WireResponse {
  return codec.serializeError(error, svc.model, ctx);
}

function internalError(err: unknown, log: Logger, requestId: string): AwsError {
  log.error('unhandled error', {
    requestId,
    error: errorText(err),
  });
  return CommonErrors.internal('An internal error occurred. See the Stratus server log.');
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * Node already lower-cases request header names and joins repeats with ', ' (cookies with
 * '; '); only `set-cookie` stays an array, and no AWS request carries it.
 */
export function flattenHeaders(req: IncomingMessage): Record<string, string> {
  return req.headers as Record<string, string>;
}

export function send(res: ServerResponse, wire: WireResponse, origin: string | undefined): void {
  const headers = origin ? { ...wire.headers, ...corsHeaders(origin) } : wire.headers;
  const body = wire.body;
  if (body instanceof Readable) {
    // A streamed payload: its length is a header member the provider set (Content-Length).
    res.writeHead(wire.status, headers);
    if (res.req.method === 'HEAD') {
      body.destroy();
      res.end();
      return;
    }
    sendStream(body, res).catch(() => res.destroy());
    return;
  }
  // A HEAD answer keeps the Content-Length its operation declared (that of the GET).
  const declared = Object.keys(headers).find((k) => k.toLowerCase() === 'content-length');
  if (!(declared && res.req.method === 'HEAD')) {
    if (declared) delete headers[declared];
    if (wire.status !== 304) {
      headers['content-length'] = String(
        typeof body === 'string' ? Buffer.byteLength(body) : body.length,
      );
    }
  }
  res.writeHead(wire.status, headers);
  // HEAD answers carry the GET's headers (Content-Length included) but never a body.
  if (res.req.method === 'HEAD') res.end();
  // A small Buffer goes out as a latin1 string (the same bytes): Node then writes head and
  // body as one chunk, where a Buffer would be a chunk of its own in the writev.
  else if (typeof body !== 'string' && body.length <= SINGLE_CHUNK_MAX)
    res.end(body.toString('latin1'), 'latin1');
  else res.end(body);
}

const SINGLE_CHUNK_MAX = 64 * 1024;

async function handleFormUpload(
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  hostBucket: string | undefined,
  requestId: string,
  started: number,
  deps: GatewayDeps,
): Promise<void> {
  const pending = deps.registry.get(S3_SERVICE as ServiceInfo);
  const svc = pending instanceof Promise ? await pending : pending;
  const headers = flattenHeaders(req);
  let wire: WireResponse;
  let errorCode: string | undefined;
  try {
    const upload = svc.instance?.formUpload;
    if (!upload) throw CommonErrors.notImplemented('s3', 'PostObject');
    wire = await upload({
      req,
      bucket,
      requestId,
      strict: deps.config.auth === 'strict',
      defaultAccount: deps.config.defaultAccount,
      defaultRegion: deps.config.defaultRegion,
      bucketUrl: `http://${headers.host ?? '127.0.0.1'}${hostBucket ? '' : `/${bucket}`}`,
      findCredential: (keyId) => deps.auth.findCredential(keyId),
      authorize: async (ctx, input) => {
        const refused = await deps.authorizer?.operation({
          ...ctx,
          service: svc.info,
          protocol: 'rest-xml',
          operation: 'PutObject',
          input,
          sourceIp: req.socket.remoteAddress,
        });
        if (!refused && deps.authorizer?.mode === 'enforce') ctx.authorized = true;
        return refused;
      },
    });
  } catch (err) {
    const error = err instanceof AwsError ? err : internalError(err, deps.log, requestId);
    errorCode = error.code;
    wire = serializeError(svc.codec, error, svc, { requestId });
  }
  wire.headers['x-amz-request-id'] = requestId;
  send(res, wire, headers.origin);
  deps.log.apiAccess(
    's3',
    'PostObject',
    wire.status,
    errorCode,
    performance.now() - started,
    requestId,
  );
}

function sendUnknownService(
  res: ServerResponse,
  requestId: string,
  origin: string | undefined,
  message: string,
): void {
  send(
    res,
    {
      status: 400,
      headers: {
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': 'UnknownServiceException',
      },
      body: JSON.stringify({ __type: 'UnknownServiceException', message }),
    },
    origin,
  );
}

/**
 * An unsigned request that names no service (no X-Amz-Target): AWS knows the service from
 * its host name and answers with its protocol's "missing token" error. Here the protocol is
 * told by the body: a form (`Action=…`) is a query call (`<Code>MissingAuthenticationToken`,
 * as STS and IAM answer), anything else gets the JSON one
 * (`x-amzn-ErrorType: MissingAuthenticationTokenException`, as Lambda answers).
 */
async function sendMissingToken(
  res: ServerResponse,
  requestId: string,
  headers: Record<string, string>,
  rawQuery: string,
  deps: GatewayDeps,
): Promise<void> {
  const form =
    headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true ||
    /(^|&)Action=/.test(rawQuery);
  const like = ServiceRegistry.all().find((s) => s.name === (form ? 'sts' : 'lambda'));
  if (!like) return sendUnknownService(res, requestId, headers.origin, deps.unclaimed());
  const pending = deps.registry.get(like);
  const svc = pending instanceof Promise ? await pending : pending;
  const error = AuthErrors.missing(like.protocol);
  send(res, svc.codec.serializeError(error, svc.model, { requestId }), headers.origin);
}
