/**
 * AWS Signature Version 4: parsing and verification of signed requests, both the
 * `Authorization` header form and presigned URLs (query parameters).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 *
 * Parsing needs no secret, so the gateway can learn the access key (and the service and
 * region of the credential scope) before it looks the secret up; verification then
 * rebuilds the canonical request from the request as it arrived.
 */
import type { ChunkSigning } from './aws-chunked.js';
import {
  canonicalHeaderValue,
  canonicalQuery,
  canonicalUri,
  decodeQueryComponent,
  parseRawQuery,
} from './sigv4-canonical.js';
import { constantTimeEqual, hmacSha256Hex, sha256Hex, signingKeyForScope } from './sigv4-crypto.js';
import { SIGNATURE_MISMATCH_MESSAGE } from './sigv4-errors.js';

export {
  SIGNATURE_MISMATCH_MESSAGE,
  sigV4Error,
  sigV4ErrorStyle,
  type SigV4ErrorStyle,
} from './sigv4-errors.js';

export interface SigV4Request {
  method: string;
  /** Raw path, still percent-encoded, without the query string. */
  path: string;
  /** Raw query string without the leading `?`. */
  rawQuery: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

export interface ParsedSignature {
  kind: 'header' | 'query';
  accessKeyId: string;
  /** Credential scope date, yyyymmdd. */
  date: string;
  region: string;
  service: string;
  /** The credential scope, `date/region/service/aws4_request`. */
  scope: string;
  /** Request time, yyyymmddThhmmssZ (from X-Amz-Date, or the Date header converted). */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  sessionToken?: string;
  /** Presigned URLs: X-Amz-Expires. */
  expiresSeconds?: number;
  /**
   * The declared payload hash (x-amz-content-sha256, or X-Amz-Content-Sha256 on a
   * presigned URL): a hex SHA-256 or one of the literals such as `UNSIGNED-PAYLOAD` and
   * `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`. Undefined when the request declares none, in
   * which case the hash of the body is signed.
   */
  payloadHash?: string;
}

export type SigV4FailureReason = 'malformed' | 'signature' | 'expired' | 'skew' | 'payload-hash';

export interface SigV4Failure {
  reason: SigV4FailureReason;
  /** AWS's message, as the query and JSON services word it. */
  message: string;
  /** What the protocol-specific error bodies need (S3 echoes most of it). */
  detail?: SigV4FailureDetail;
}

export interface SigV4FailureDetail {
  /** Where the problem is: the Authorization header, the presign query, or an aws-chunked body. */
  kind?: 'header' | 'query' | 'chunk';
  accessKeyId?: string;
  signatureProvided?: string;
  canonicalRequest?: string;
  stringToSign?: string;
  /** The request time as sent. */
  requestTime?: string;
  /** Server clock, epoch milliseconds. */
  serverTime?: number;
  maxSkewMs?: number;
  /** Presigned URL end of validity, epoch milliseconds. */
  expiresAt?: number;
  expiresSeconds?: number;
  clientSha256?: string;
  computedSha256?: string;
}

export interface VerifyOptions {
  /**
   * How far the request time may be from the server clock. AWS allows 15 minutes:
   * "Signature expired: … (… - 15 min.)" (STS, IAM, S3's RequestTimeTooSkewed).
   */
  maxSkewMs?: number;
}

const EMPTY = Buffer.alloc(0);

export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
/** A presigned URL lives at most seven days (the signing key is valid that long). */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604800;

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** x-amz-content-sha256 values that stand for the payload hash literally. */
const LITERAL_PAYLOAD_HASHES: ReadonlySet<string> = new Set([
  UNSIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
]);

/** Tells a failure from a parse or decode result (those never have a `reason`). */
export function isSigV4Failure<T extends object>(
  value: T | SigV4Failure | undefined,
): value is SigV4Failure {
  return value !== undefined && 'reason' in value;
}

/**
 * Reads the SigV4 elements of a request without checking them against a secret.
 * Returns undefined when the request carries no SigV4 at all (no Authorization header,
 * no X-Amz-Algorithm/Credential/Signature query parameter), and a `malformed` failure
 * (or `signature`, for a credential date that contradicts the request date) when it
 * carries a broken one.
 */
export function parseSignature(req: SigV4Request): ParsedSignature | SigV4Failure | undefined {
  const authorization = req.headers['authorization'];
  const query = mayBePresigned(req.rawQuery) ? presignParams(req.rawQuery) : undefined;
  const presigned = query !== undefined && query.any;
  if (authorization !== undefined) {
    if (presigned) {
      return malformed(
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, ' +
          'Signature query string parameter or the Authorization header should be specified',
        'header',
      );
    }
    return parseAuthorizationHeader(req, authorization);
  }
  return presigned ? parsePresignedQuery(req, query) : undefined;
}

/**
 * Checks a parsed signature against the secret: request time (skew, or expiry for a
 * presigned URL), then the signature over the canonical request, then a declared hex
 * x-amz-content-sha256 against the body. `now` is epoch milliseconds. `body` is undefined
 * for a payload still streaming: its declared hash is then checked as it streams
 * (protocol/payload.ts), and a header signature must declare one.
 */
export function verifySignature(
  req: SigV4Request,
  body: Buffer | undefined,
  sig: ParsedSignature,
  secretAccessKey: string,
  now: number,
  options: VerifyOptions = {},
): SigV4Failure | undefined {
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const timeFailure = checkTime(sig, now, maxSkewMs);
  if (timeFailure !== undefined) return timeFailure;

  const declared = sig.payloadHash;
  const declaredHex = declared !== undefined && !LITERAL_PAYLOAD_HASHES.has(declared);
  let payloadHash: string;
  let alternative: string | undefined;
  let bodyHash: string | undefined;
  if (declared !== undefined) {
    payloadHash = declared;
  } else if (sig.kind === 'query') {
    // Presigned URLs cannot know their payload. botocore signs them with
    // UNSIGNED-PAYLOAD (what the S3 docs prescribe); @smithy/signature-v4 signs the
    // hash of the (empty) body for every service but S3. Accept either.
    bodyHash = sha256Hex(body ?? EMPTY);
    const s3 = sig.service === 's3' || sig.service === 's3express';
    payloadHash = s3 ? UNSIGNED_PAYLOAD : bodyHash;
    alternative = s3 ? bodyHash : UNSIGNED_PAYLOAD;
  } else if (body === undefined) {
    return malformed('Missing required header for this request: x-amz-content-sha256', sig.kind);
  } else {
    bodyHash = sha256Hex(body);
    payloadHash = bodyHash;
  }

  const scope = sig.scope;
  const key = signingKeyForScope(secretAccessKey, sig);
  const requestPrefix = canonicalRequestPrefix(req, sig);
  const canonicalRequest = requestPrefix + payloadHash;
  const stringToSign = `${ALGORITHM}\n${sig.amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  let matched = constantTimeEqual(hmacSha256Hex(key, stringToSign), sig.signature);
  if (!matched && alternative !== undefined) {
    const altRequest = requestPrefix + alternative;
    const altStringToSign = `${ALGORITHM}\n${sig.amzDate}\n${scope}\n${sha256Hex(altRequest)}`;
    matched = constantTimeEqual(hmacSha256Hex(key, altStringToSign), sig.signature);
  }
  if (!matched) {
    return {
      reason: 'signature',
      message:
        `${SIGNATURE_MISMATCH_MESSAGE}\n\nThe Canonical String for this request should have been\n` +
        `'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
      detail: {
        kind: sig.kind,
        accessKeyId: sig.accessKeyId,
        signatureProvided: sig.signature,
        canonicalRequest,
        stringToSign,
      },
    };
  }

  if (declaredHex && body !== undefined) {
    const computed = bodyHash ?? sha256Hex(body);
    if (computed !== declared.toLowerCase()) {
      return {
        reason: 'payload-hash',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
        detail: { kind: sig.kind, clientSha256: declared, computedSha256: computed },
      };
    }
  }
  return undefined;
}

/**
 * What decodeAwsChunked needs to verify chunk signatures: they chain from the request's
 * own (seed) signature and are signed with the same key and scope.
 */
export function chunkSigning(sig: ParsedSignature, secretAccessKey: string): ChunkSigning {
  return {
    signingKey: signingKeyForScope(secretAccessKey, sig),
    amzDate: sig.amzDate,
    scope: sig.scope,
    seedSignature: sig.signature,
  };
}

/** Everything of the canonical request but its last line, the payload hash. */
function canonicalRequestPrefix(req: SigV4Request, sig: ParsedSignature): string {
  const query = canonicalQuery(parseRawQuery(req.rawQuery), sig.kind === 'query');
  let headers = '';
  for (const name of sig.signedHeaders) {
    const value = req.headers[name] ?? req.headers[name.toLowerCase()] ?? '';
    headers += `${name}:${canonicalHeaderValue(value)}\n`;
  }
  return (
    `${req.method}\n${canonicalUri(req.path, sig.service)}\n${query}\n${headers}\n` +
    `${sig.signedHeaders.join(';')}\n`
  );
}

function checkTime(sig: ParsedSignature, now: number, maxSkewMs: number): SigV4Failure | undefined {
  const requestTime = parseAmzDate(sig.amzDate);
  if (requestTime === undefined) return malformed(dateFormatMessage(sig.amzDate), sig.kind);
  const base = { requestTime: sig.amzDate, serverTime: now, maxSkewMs, kind: sig.kind };
  if (sig.kind === 'query' && sig.expiresSeconds !== undefined) {
    const expiresAt = requestTime + sig.expiresSeconds * 1000;
    if (now > expiresAt) {
      return {
        reason: 'expired',
        message: 'Request has expired',
        detail: { ...base, expiresAt, expiresSeconds: sig.expiresSeconds },
      };
    }
  } else if (requestTime < now - maxSkewMs) {
    return {
      reason: 'skew',
      message:
        `Signature expired: ${sig.amzDate} is now earlier than ` +
        `${formatAmzDate(now - maxSkewMs)} (${formatAmzDate(now)} - ${skewText(maxSkewMs)}.)`,
      detail: base,
    };
  }
  if (requestTime > now + maxSkewMs) {
    return {
      reason: 'skew',
      message:
        `Signature not yet current: ${sig.amzDate} is still later than ` +
        `${formatAmzDate(now + maxSkewMs)} (${formatAmzDate(now)} + ${skewText(maxSkewMs)}.)`,
      detail: base,
    };
  }
  return undefined;
}

function skewText(ms: number): string {
  return ms % 60000 === 0 ? `${ms / 60000} min` : `${Math.round(ms / 1000)} sec`;
}

const AUTH_PREFIX = `${ALGORITHM} `;
const REQUIRES_CREDENTIAL = "Authorization header requires 'Credential' parameter. ";
const REQUIRES_SIGNATURE = "Authorization header requires 'Signature' parameter. ";
const REQUIRES_SIGNED_HEADERS = "Authorization header requires 'SignedHeaders' parameter. ";
const REQUIRES_DATE =
  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";

function parseAuthorizationHeader(
  req: SigV4Request,
  authorization: string,
): ParsedSignature | SigV4Failure {
  const headerDate = req.headers['x-amz-date'] ?? req.headers['date'];
  if (!authorization.startsWith(AUTH_PREFIX)) {
    if (authorization.startsWith('AWS4-ECDSA-P256-SHA256')) {
      return malformed('SigV4a (AWS4-ECDSA-P256-SHA256) signatures are not supported', 'header');
    }
    // What AWS answers to any other scheme (Bearer, Basic, SigV2): every element missing.
    return malformed(
      REQUIRES_CREDENTIAL +
        REQUIRES_SIGNATURE +
        REQUIRES_SIGNED_HEADERS +
        (headerDate === undefined ? REQUIRES_DATE : '') +
        `Authorization=${authorization}`,
      'header',
    );
  }
  const sdkShape = splitSdkAuthorization(authorization);
  let credential = sdkShape?.[0];
  let signedHeaders = sdkShape?.[1];
  let signature = sdkShape?.[2];
  if (sdkShape === undefined) {
    const general = splitAuthorizationParams(authorization);
    if (typeof general === 'string') return malformed(general, 'header');
    [credential, signedHeaders, signature] = general;
  }
  if (
    credential === undefined ||
    signature === undefined ||
    signedHeaders === undefined ||
    headerDate === undefined
  ) {
    return malformed(
      (credential === undefined ? REQUIRES_CREDENTIAL : '') +
        (signature === undefined ? REQUIRES_SIGNATURE : '') +
        (signedHeaders === undefined ? REQUIRES_SIGNED_HEADERS : '') +
        (headerDate === undefined ? REQUIRES_DATE : '') +
        `Authorization=${authorization}`,
      'header',
    );
  }
  let amzDate = req.headers['x-amz-date'];
  if (amzDate === undefined) {
    // Signed with the HTTP Date header instead: the string to sign carries its ISO form.
    const parsed = Date.parse(headerDate);
    if (Number.isNaN(parsed)) return malformed(dateFormatMessage(headerDate), 'header');
    amzDate = formatAmzDate(parsed);
  }
  const sessionToken = req.headers['x-amz-security-token'];
  return finishParse('header', credential, signedHeaders, signature, amzDate, {
    sessionToken,
    payloadHash: req.headers['x-amz-content-sha256'],
  });
}

/**
 * The header exactly as the SDKs write it, `Credential=…, SignedHeaders=…, Signature=…`
 * (with or without the blanks), found with indexOf; anything else takes the general path.
 */
function splitSdkAuthorization(auth: string): [string, string, string] | undefined {
  let at = AUTH_PREFIX.length;
  if (!auth.startsWith('Credential=', at)) return undefined;
  at += 11;
  const credentialEnd = auth.indexOf(',', at);
  if (credentialEnd === -1) return undefined;
  const credential = auth.slice(at, credentialEnd);
  at = credentialEnd + 1;
  if (auth.charCodeAt(at) === 0x20) at++;
  if (!auth.startsWith('SignedHeaders=', at)) return undefined;
  at += 14;
  const headersEnd = auth.indexOf(',', at);
  if (headersEnd === -1) return undefined;
  const signedHeaders = auth.slice(at, headersEnd);
  at = headersEnd + 1;
  if (auth.charCodeAt(at) === 0x20) at++;
  if (!auth.startsWith('Signature=', at)) return undefined;
  const signature = auth.slice(at + 10);
  if (hasSeparator(credential) || hasSeparator(signedHeaders) || hasSeparator(signature))
    return undefined;
  return [credential, signedHeaders, signature];
}

/** Whether a value runs into what AWS treats as a parameter separator. */
function hasSeparator(text: string): boolean {
  return text.includes(' ') || text.includes('\t') || text.includes(',');
}

/** Credential, SignedHeaders and Signature (each possibly absent), or AWS's complaint. */
function splitAuthorizationParams(
  authorization: string,
): [string | undefined, string | undefined, string | undefined] | string {
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  // AWS splits the parameters on commas and on blanks, so `a=1,b=2`, `a=1, b=2` and
  // `a=1 b=2` all parse, and a stray blank after `=` leaves a value without its key.
  let pos = AUTH_PREFIX.length;
  const length = authorization.length;
  while (pos < length) {
    const c = authorization.charCodeAt(pos);
    if (c === 0x2c || c === 0x20 || c === 0x09) {
      pos++;
      continue;
    }
    let end = pos + 1;
    while (end < length) {
      const e = authorization.charCodeAt(end);
      if (e === 0x2c || e === 0x20 || e === 0x09) break;
      end++;
    }
    const part = authorization.slice(pos, end);
    pos = end;
    const eq = part.indexOf('=');
    if (eq === -1) {
      return (
        `'${part}' not a valid key=value pair (missing equal-sign) in Authorization header: ` +
        `'${authorization}'.`
      );
    }
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (name === 'Credential') credential = value;
    else if (name === 'SignedHeaders') signedHeaders = value;
    else if (name === 'Signature') signature = value;
  }
  return [credential, signedHeaders, signature];
}

/** A cheap test before the query string is taken apart. */
function mayBePresigned(rawQuery: string): boolean {
  return rawQuery.length > 0 && (rawQuery.includes('X-Amz-') || rawQuery.includes('x-amz-'));
}

interface PresignParams {
  any: boolean;
  algorithm?: string;
  credential?: string;
  date?: string;
  expires?: string;
  signedHeaders?: string;
  signature?: string;
  securityToken?: string;
  contentSha256?: string;
}

function presignParams(rawQuery: string): PresignParams {
  const out: PresignParams = { any: false };
  let start = 0;
  while (start < rawQuery.length) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    const eq = rawQuery.indexOf('=', start);
    const keyEnd = eq !== -1 && eq < end ? eq : end;
    // Only parameter names that start with X-Amz- (any case) are of interest.
    if (keyEnd - start > 6 && (rawQuery.charCodeAt(start) | 0x20) === 0x78 /* x */) {
      const name = rawQuery.slice(start, keyEnd).toLowerCase();
      const value =
        keyEnd < end ? (decodeQueryComponent(rawQuery.slice(keyEnd + 1, end)) ?? '') : '';
      switch (name) {
        case 'x-amz-algorithm':
          out.algorithm = value;
          out.any = true;
          break;
        case 'x-amz-credential':
          out.credential = value;
          out.any = true;
          break;
        case 'x-amz-signature':
          out.signature = value;
          out.any = true;
          break;
        case 'x-amz-date':
          out.date = value;
          break;
        case 'x-amz-expires':
          out.expires = value;
          break;
        case 'x-amz-signedheaders':
          out.signedHeaders = value;
          break;
        case 'x-amz-security-token':
          out.securityToken = value;
          break;
        case 'x-amz-content-sha256':
          out.contentSha256 = value;
          break;
      }
    }
    start = end + 1;
  }
  return out;
}

function parsePresignedQuery(req: SigV4Request, p: PresignParams): ParsedSignature | SigV4Failure {
  if (
    p.algorithm === undefined ||
    p.credential === undefined ||
    p.signature === undefined ||
    p.date === undefined ||
    p.signedHeaders === undefined
  ) {
    return malformed(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, ' +
        'X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      'query',
    );
  }
  if (p.algorithm !== ALGORITHM) {
    return malformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`, 'query');
  }
  let expiresSeconds: number | undefined;
  if (p.expires !== undefined) {
    if (
      p.expires.length === 0 ||
      p.expires.length > 12 ||
      !isDigits(p.expires, p.expires[0] === '-' ? 1 : 0)
    ) {
      return malformed('X-Amz-Expires should be a number', 'query');
    }
    expiresSeconds = Number(p.expires);
    if (expiresSeconds < 0) return malformed('X-Amz-Expires must be non-negative', 'query');
    if (expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
      return malformed(
        'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires ' +
          `must be less than ${MAX_PRESIGN_EXPIRES_SECONDS} seconds`,
        'query',
      );
    }
  }
  return finishParse('query', p.credential, p.signedHeaders, p.signature, p.date, {
    sessionToken: p.securityToken ?? req.headers['x-amz-security-token'],
    expiresSeconds,
    payloadHash: p.contentSha256 ?? req.headers['x-amz-content-sha256'],
  });
}

function finishParse(
  kind: 'header' | 'query',
  credential: string,
  signedHeaderList: string,
  signature: string,
  amzDate: string,
  extra: { sessionToken?: string; expiresSeconds?: number; payloadHash?: string },
): ParsedSignature | SigV4Failure {
  const parts = credential.split('/', 6);
  if (parts.length !== 5) {
    return malformed(
      'Credential must have exactly 5 slash-delimited elements, e.g. ' +
        `keyid/date/region/service/term, got '${credential}'`,
      kind,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts;
  if (terminator !== 'aws4_request') {
    return malformed(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`,
      kind,
    );
  }
  if (parseAmzDate(amzDate) === undefined) return malformed(dateFormatMessage(amzDate), kind);
  if (date !== amzDate.slice(0, 8)) {
    return {
      reason: 'signature',
      message:
        'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from ' +
        `HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      detail: { kind, accessKeyId, signatureProvided: signature },
    };
  }
  const signedHeaders = signedHeaderList.length === 0 ? [] : signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) {
    return malformed(
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      kind,
    );
  }
  if (!isSorted(signedHeaders)) signedHeaders.sort();
  const payloadHash = extra.payloadHash;
  if (
    payloadHash !== undefined &&
    !LITERAL_PAYLOAD_HASHES.has(payloadHash) &&
    !isSha256Hex(payloadHash)
  ) {
    return malformed(
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER ' +
        'or a valid sha256 value.',
      kind,
    );
  }
  // One literal with every property, so all parsed signatures share one hidden class.
  return {
    kind,
    accessKeyId,
    date,
    region,
    service,
    scope: credential.slice(accessKeyId.length + 1),
    amzDate,
    signedHeaders,
    signature,
    sessionToken: extra.sessionToken,
    expiresSeconds: extra.expiresSeconds,
    payloadHash,
  };
}

function malformed(message: string, kind: 'header' | 'query'): SigV4Failure {
  return { reason: 'malformed', message, detail: { kind } };
}

function dateFormatMessage(value: string): string {
  return `Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`;
}

function isSorted(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1] > list[i]) return false;
  return true;
}

function isDigits(text: string, from: number): boolean {
  if (from >= text.length) return false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function isSha256Hex(text: string): boolean {
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** `yyyymmddThhmmssZ` to epoch milliseconds; undefined when it is not that format. */
export function parseAmzDate(value: string): number | undefined {
  if (value.length !== 16 || value[8] !== 'T' || value[15] !== 'Z') return undefined;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 4, 2);
  const day = digitsAt(value, 6, 2);
  const hour = digitsAt(value, 9, 2);
  const minute = digitsAt(value, 11, 2);
  const second = digitsAt(value, 13, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** Epoch milliseconds to `yyyymmddThhmmssZ`. */
export function formatAmzDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return (
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    'T' +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z'
  );
}
