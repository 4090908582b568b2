/**
 * SigV4 signing of outgoing requests (the `Authorization` header form), for the few places
 * Stratus is itself a client of an AWS API, e.g. `stratus image build` calling ECR's
 * CreateRepository and GetAuthorizationToken on a running server. The canonical request is
 * built by the same functions the verifier uses (sigv4-canonical.ts), so a request signed
 * here verifies there.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import {
  canonicalHeaderValue,
  canonicalQuery,
  canonicalUri,
  parseRawQuery,
} from './sigv4-canonical.js';
import { hmacSha256Hex, sha256Hex, signingKey } from './sigv4-crypto.js';
import { ALGORITHM, formatAmzDate } from './sigv4.js';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RequestToSign {
  method: string;
  /** Raw path, percent-encoded, without the query string. */
  path: string;
  rawQuery?: string;
  /** Header names in any case; `host` is required. */
  headers: Record<string, string>;
  body: Buffer | string;
}

/**
 * Returns the headers to send: the given ones plus `x-amz-date`, `x-amz-content-sha256`,
 * `x-amz-security-token` (with a session token) and `authorization`. Every given header is
 * signed.
 */
export function signRequest(
  req: RequestToSign,
  credentials: SigningCredentials,
  region: string,
  service: string,
  now = Date.now(),
): Record<string, string> {
  const amzDate = formatAmzDate(now);
  const date = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = value;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${canonicalHeaderValue(headers[n])}\n`).join('');
  const signedHeaders = names.join(';');
  const query = canonicalQuery(parseRawQuery(req.rawQuery ?? ''), false);
  const canonicalRequest =
    `${req.method}\n${canonicalUri(req.path, service)}\n${query}\n${canonicalHeaders}\n` +
    `${signedHeaders}\n${payloadHash}`;
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const signature = hmacSha256Hex(
    signingKey(credentials.secretAccessKey, date, region, service),
    stringToSign,
  );
  headers.authorization =
    `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
