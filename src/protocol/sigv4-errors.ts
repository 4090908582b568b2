/**
 * Turns a SigV4 failure into the error each protocol family answers with. AWS has three
 * dialects: the Coral services (query and JSON protocols) share messages but not codes,
 * S3 has its own codes and echoes the signing strings as extra elements, and EC2 keeps
 * its older AuthFailure/RequestExpired pair.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 */
import { AwsError } from '../shared/errors.js';
import type { ProtocolName } from './model.js';
import type { SigV4Failure } from './sigv4.js';

/**
 * - `query`: query protocol and non-S3 rest-xml (IAM, STS, ELBv2…): SignatureDoesNotMatch.
 * - `json`: json, rest-json and rpc-v2-cbor (Lambda, ECS, Logs…): InvalidSignatureException.
 * - `s3`: S3's own codes and echo fields.
 * - `ec2`: AuthFailure / RequestExpired.
 */
export type SigV4ErrorStyle = 'query' | 'json' | 's3' | 'ec2';

export function sigV4ErrorStyle(protocol: ProtocolName, signingName: string): SigV4ErrorStyle {
  switch (protocol) {
    case 'json':
    case 'rest-json':
    case 'smithy-rpc-v2-cbor':
      return 'json';
    case 'ec2':
      return 'ec2';
    case 'rest-xml':
      return signingName === 's3' || signingName === 's3express' ? 's3' : 'query';
    case 'query':
      return 'query';
    default: {
      const unknown: never = protocol;
      throw new Error(`unknown protocol ${String(unknown)}`);
    }
  }
}

/** Coral's text; JSON and query services append the canonical request and string to sign. */
export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. ' +
  'Consult the service documentation for details.';
const S3_SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your key and signing method.';
/** RequestExpired, as EC2 and the Coral common errors word it. */
const REQUEST_EXPIRED = 'Request has expired.';

export function sigV4Error(failure: SigV4Failure, style: SigV4ErrorStyle): AwsError {
  switch (style) {
    case 'query':
    case 'json':
      return coralError(failure, style);
    case 's3':
      return s3Error(failure);
    case 'ec2':
      return ec2Error(failure);
    default: {
      const unknown: never = style;
      throw new Error(`unknown style ${String(unknown)}`);
    }
  }
}

function coralError(failure: SigV4Failure, style: 'query' | 'json'): AwsError {
  const json = style === 'json';
  switch (failure.reason) {
    case 'malformed':
      // "IncompleteSignature … HTTP Status Code: 400" (query common errors);
      // JSON services name it IncompleteSignatureException.
      return new AwsError(
        json ? 'IncompleteSignatureException' : 'IncompleteSignature',
        400,
        true,
        failure.message,
      );
    case 'signature':
    case 'skew':
    case 'payload-hash':
      // Coral reports a wrong x-amz-content-sha256 as a signature that does not match,
      // and an old request as "Signature expired: …" under the same code.
      return new AwsError(
        json ? 'InvalidSignatureException' : 'SignatureDoesNotMatch',
        403,
        true,
        failure.reason === 'payload-hash' ? SIGNATURE_MISMATCH_MESSAGE : failure.message,
      );
    case 'expired':
      // "RequestExpired: The request reached the service … more than 15 minutes after the
      // request expiration date (such as for pre-signed URLs) … HTTP Status Code: 400".
      return new AwsError('RequestExpired', 400, true, REQUEST_EXPIRED);
    default: {
      const unknown: never = failure.reason;
      throw new Error(`unknown failure ${String(unknown)}`);
    }
  }
}

function s3Error(failure: SigV4Failure): AwsError {
  const d = failure.detail ?? {};
  switch (failure.reason) {
    case 'malformed':
      if (d.kind === 'chunk') return new AwsError('IncompleteBody', 400, true, failure.message);
      return d.kind === 'query'
        ? new AwsError('AuthorizationQueryParametersError', 400, true, failure.message)
        : new AwsError('AuthorizationHeaderMalformed', 400, true, failure.message);
    case 'signature': {
      const fields: Record<string, unknown> = {};
      if (d.accessKeyId !== undefined) fields.AWSAccessKeyId = d.accessKeyId;
      if (d.stringToSign !== undefined) fields.StringToSign = d.stringToSign;
      if (d.signatureProvided !== undefined) fields.SignatureProvided = d.signatureProvided;
      if (d.stringToSign !== undefined) fields.StringToSignBytes = spacedHex(d.stringToSign);
      if (d.canonicalRequest !== undefined) {
        fields.CanonicalRequest = d.canonicalRequest;
        fields.CanonicalRequestBytes = spacedHex(d.canonicalRequest);
      }
      return new AwsError('SignatureDoesNotMatch', 403, true, S3_SIGNATURE_MISMATCH, fields);
    }
    case 'skew':
      return new AwsError(
        'RequestTimeTooSkewed',
        403,
        true,
        'The difference between the request time and the current time is too large.',
        {
          RequestTime: d.requestTime,
          ServerTime: isoSeconds(d.serverTime),
          MaxAllowedSkewMilliseconds: d.maxSkewMs === undefined ? undefined : String(d.maxSkewMs),
        },
      );
    case 'expired':
      return new AwsError('AccessDenied', 403, true, 'Request has expired', {
        'X-Amz-Expires': d.expiresSeconds === undefined ? undefined : String(d.expiresSeconds),
        Expires: isoSeconds(d.expiresAt),
        ServerTime: isoSeconds(d.serverTime),
      });
    case 'payload-hash':
      return new AwsError('XAmzContentSHA256Mismatch', 400, true, failure.message, {
        ClientComputedContentSHA256: d.clientSha256,
        S3ComputedContentSHA256: d.computedSha256,
      });
    default: {
      const unknown: never = failure.reason;
      throw new Error(`unknown failure ${String(unknown)}`);
    }
  }
}

function ec2Error(failure: SigV4Failure): AwsError {
  switch (failure.reason) {
    case 'malformed':
      return new AwsError('IncompleteSignature', 400, true, failure.message);
    case 'signature':
    case 'payload-hash':
      return new AwsError(
        'AuthFailure',
        401,
        true,
        'AWS was not able to validate the provided access credentials',
      );
    case 'skew':
    case 'expired':
      return new AwsError('RequestExpired', 400, true, REQUEST_EXPIRED);
    default: {
      const unknown: never = failure.reason;
      throw new Error(`unknown failure ${String(unknown)}`);
    }
  }
}

/** S3's *Bytes elements: each byte as two lower-case hex digits, space separated. */
function spacedHex(text: string): string {
  const hex = Buffer.from(text, 'utf8').toString('hex');
  let out = '';
  for (let i = 0; i < hex.length; i += 2) out += (i === 0 ? '' : ' ') + hex.slice(i, i + 2);
  return out;
}

/** `2024-01-01T00:20:00Z`: S3's timestamps carry no milliseconds. */
function isoSeconds(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString().replace(MILLISECONDS, 'Z');
}
const MILLISECONDS = /\.\d{3}Z$/;
