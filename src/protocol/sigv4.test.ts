import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  chunkSigning,
  formatAmzDate,
  isSigV4Failure,
  parseAmzDate,
  parseSignature,
  sigV4Error,
  sigV4ErrorStyle,
  verifySignature,
  type ParsedSignature,
  type SigV4Failure,
  type SigV4Request,
} from './sigv4.js';
import { canonicalQuery, canonicalUri, parseRawQuery } from './sigv4-canonical.js';
import { signingKey } from './sigv4-crypto.js';

type SmithyRequest = Parameters<SignatureV4['presign']>[0];

const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SIGNING_DATE = new Date('2024-01-01T00:00:00Z');
const NOW = SIGNING_DATE.getTime() + 30_000;

interface SignInput {
  service: string;
  method?: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
  sessionToken?: string;
  applyChecksum?: boolean;
}

function signer(input: SignInput): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: input.sessionToken },
    region: 'us-east-1',
    service: input.service,
    sha256: Sha256,
    // What the SDK clients do: S3 signs its path as sent, every other service re-encodes.
    uriEscapePath: input.service !== 's3',
    applyChecksum: input.applyChecksum,
  });
}

function smithyRequest(input: SignInput): SmithyRequest {
  return {
    method: input.method ?? 'GET',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 4566,
    path: input.path,
    query: input.query ?? {},
    headers: { host: '127.0.0.1:4566', ...(input.headers ?? {}) },
    body: input.body,
  };
}

/** RFC 3986 encoding as the SDK's query-string builder writes it. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The request as our server sees it: raw path, raw query, lower-cased headers. */
function wire(signed: SmithyRequest): SigV4Request {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values)
      parts.push(v === null ? escapeUri(key) : `${escapeUri(key)}=${escapeUri(v)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return { method: signed.method, path: signed.path, rawQuery: parts.join('&'), headers };
}

async function signHeader(input: SignInput): Promise<SigV4Request> {
  const signed = await signer(input).sign(smithyRequest(input), { signingDate: SIGNING_DATE });
  return wire(signed);
}

async function presign(
  input: SignInput,
  options: {
    expiresIn?: number;
    unhoistableHeaders?: Set<string>;
    unsignableHeaders?: Set<string>;
  } = {},
): Promise<SigV4Request> {
  const signed = await signer(input).presign(smithyRequest(input), {
    signingDate: SIGNING_DATE,
    expiresIn: options.expiresIn ?? 300,
    unhoistableHeaders: options.unhoistableHeaders,
    unsignableHeaders: options.unsignableHeaders,
  });
  return wire(signed);
}

function parsed(req: SigV4Request): ParsedSignature {
  const sig = parseSignature(req);
  assert.ok(sig !== undefined, 'request should carry a signature');
  if (isSigV4Failure(sig)) assert.fail(`unexpected parse failure: ${sig.message}`);
  return sig;
}

function verify(
  req: SigV4Request,
  body = '',
  secret = SECRET,
  now = NOW,
): SigV4Failure | undefined {
  return verifySignature(req, Buffer.from(body), parsed(req), secret, now);
}

function failure(result: SigV4Failure | ParsedSignature | undefined): SigV4Failure {
  assert.ok(result !== undefined && isSigV4Failure(result), 'expected a failure');
  return result;
}

test('header-signed query-protocol request verifies, and the parse exposes the scope', async () => {
  const body = 'Action=ListUsers&Version=2010-05-08';
  const req = await signHeader({
    service: 'iam',
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
    applyChecksum: false,
  });
  const sig = parsed(req);
  assert.equal(sig.kind, 'header');
  assert.equal(sig.accessKeyId, AKID);
  assert.equal(sig.date, '20240101');
  assert.equal(sig.region, 'us-east-1');
  assert.equal(sig.service, 'iam');
  assert.equal(sig.amzDate, '20240101T000000Z');
  assert.deepEqual(sig.signedHeaders, ['content-type', 'host', 'x-amz-date']);
  assert.equal(sig.payloadHash, undefined);
  assert.equal(verify(req, body), undefined);
});

test('odd paths are double-encoded and normalized for non-S3 services', async () => {
  const paths = [
    '/2015-03-31/functions/my%20func/invocations',
    '/caf%C3%A9/%E2%9C%93/x',
    '/a/b/../c',
    '/a//b/./c/',
    '/restapis/abc/resources/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/x',
    "/it's/(star)*!",
    '/~user/a.b-c_d',
  ];
  for (const path of paths) {
    const req = await signHeader({ service: 'lambda', path, method: 'POST', body: '{}' });
    assert.equal(verify(req, '{}'), undefined, path);
  }
});

test('S3 paths are signed as sent: neither re-encoded nor normalized', async () => {
  for (const path of ['/bucket/a%20b/%E2%9C%93', '/bucket/x/../y', '/bucket//double//slash/']) {
    const req = await signHeader({ service: 's3', path, method: 'PUT', body: 'data' });
    assert.equal(verify(req, 'data'), undefined, path);
    assert.equal(canonicalUri(path, 's3'), path);
  }
  assert.equal(canonicalUri('/bucket/x/../y', 'lambda'), '/bucket/y');
  assert.equal(canonicalUri('/a%20b', 'lambda'), '/a%2520b');
});

test('repeated query keys, empty values and reserved characters', async () => {
  const query = { b: ['2', '1', '10'], a: '', 'c d': 'x y', '~t': '*/é', Action: 'List' };
  const req = await signHeader({ service: 'sts', path: '/', query, applyChecksum: false });
  assert.equal(verify(req), undefined);
  // The same parameters in a different order and another valid encoding still verify:
  // the canonical query re-encodes every component.
  const reencoded = { ...req, rawQuery: 'Action=List&~t=%2a%2F%c3%a9&c+d=x+y&a&b=10&b=1&b=2' };
  assert.equal(verify(reencoded), undefined);
  assert.equal(
    canonicalQuery(parseRawQuery(reencoded.rawQuery), false),
    'Action=List&a=&b=1&b=10&b=2&c%20d=x%20y&~t=%2A%2F%C3%A9',
  );
});

test('session tokens are read from the header and signed', async () => {
  const req = await signHeader({
    service: 'sts',
    path: '/',
    sessionToken: 'FwoGZXIvYXdzE+/=token',
  });
  assert.equal(req.headers['x-amz-security-token'], 'FwoGZXIvYXdzE+/=token');
  assert.equal(parsed(req).sessionToken, 'FwoGZXIvYXdzE+/=token');
  assert.equal(verify(req), undefined);
  const swapped = { ...req, headers: { ...req.headers, 'x-amz-security-token': 'other' } };
  assert.equal(failure(verify(swapped)).reason, 'signature');
});

test('tolerates extra spaces and missing spaces in the Authorization header', async () => {
  const req = await signHeader({ service: 'iam', path: '/', applyChecksum: false });
  const auth = req.headers.authorization;
  for (const variant of [
    auth.replaceAll(', ', ','),
    auth.replaceAll(', ', ' ,  ').replace('Credential=', '  Credential='),
    auth.replaceAll(', ', ' '),
  ]) {
    const r = { ...req, headers: { ...req.headers, authorization: variant } };
    assert.equal(verify(r), undefined, variant);
  }
});

test('header values are trimmed and inner runs of spaces collapsed', async () => {
  const req = await signHeader({
    service: 'iam',
    path: '/',
    headers: { 'x-amz-meta-note': '  two   spaces\tand tab ' },
    applyChecksum: false,
  });
  assert.equal(verify(req), undefined);
  const edited = { ...req, headers: { ...req.headers, 'x-amz-meta-note': 'two spaces and tab' } };
  assert.equal(verify(edited), undefined, 'the canonical forms are equal');
});

test('rejects a wrong secret with the canonical request in the message', async () => {
  const req = await signHeader({ service: 'iam', path: '/', applyChecksum: false });
  const result = failure(verify(req, '', 'not-the-secret'));
  assert.equal(result.reason, 'signature');
  assert.ok(
    result.message.startsWith(
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation ' +
        'for details.\n\nThe Canonical String for this request should have been\n' +
        "'GET\n/\n\nhost:127.0.0.1:4566\nx-amz-date:20240101T000000Z\n\nhost;x-amz-date\n" +
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n\n" +
        "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20240101T000000Z\n" +
        '20240101/us-east-1/iam/aws4_request\n',
    ),
    result.message,
  );
  assert.ok(result.message.endsWith("'\n"));
});

test('rejects a modified signed header and a modified body', async () => {
  const body = '{"cluster":"default"}';
  const req = await signHeader({
    service: 'ecs',
    method: 'POST',
    path: '/',
    headers: { 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListTasks' },
    body,
    applyChecksum: false,
  });
  assert.equal(verify(req, body), undefined);
  const header = {
    ...req,
    headers: { ...req.headers, 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.StopTask' },
  };
  assert.equal(failure(verify(header, body)).reason, 'signature');
  assert.equal(failure(verify(req, '{"cluster":"other"}')).reason, 'signature');
});

test('a body that does not match a declared x-amz-content-sha256 is a payload-hash failure', async () => {
  // applyChecksum (the SDK default) sends x-amz-content-sha256 with the body's hash.
  const req = await signHeader({ service: 's3', method: 'PUT', path: '/b/k', body: 'hello' });
  assert.match(req.headers['x-amz-content-sha256'], /^[0-9a-f]{64}$/);
  assert.equal(verify(req, 'hello'), undefined);
  const result = failure(verify(req, 'hellO'));
  assert.equal(result.reason, 'payload-hash');
  const err = sigV4Error(result, 's3');
  assert.equal(err.code, 'XAmzContentSHA256Mismatch');
  assert.equal(err.status, 400);
  assert.equal(
    err.message,
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
  );
});

test('literal payload hashes are signed as written, whatever the body', async () => {
  for (const literal of [
    'UNSIGNED-PAYLOAD',
    'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  ]) {
    const req = await signHeader({
      service: 's3',
      method: 'PUT',
      path: '/b/k',
      headers: { 'x-amz-content-sha256': literal },
      body: 'anything',
    });
    assert.equal(parsed(req).payloadHash, literal);
    assert.equal(verify(req, 'a different body'), undefined, literal);
  }
});

test('skewed clocks fail with AWS message', async () => {
  const req = await signHeader({ service: 'iam', path: '/', applyChecksum: false });
  const late = failure(verify(req, '', SECRET, Date.parse('2024-01-01T00:20:00Z')));
  assert.equal(late.reason, 'skew');
  assert.equal(
    late.message,
    'Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z ' +
      '(20240101T002000Z - 15 min.)',
  );
  const early = failure(verify(req, '', SECRET, Date.parse('2023-12-31T23:40:00Z')));
  assert.equal(early.reason, 'skew');
  assert.equal(
    early.message,
    'Signature not yet current: 20240101T000000Z is still later than 20231231T235500Z ' +
      '(20231231T234000Z + 15 min.)',
  );
  // Just inside the window.
  assert.equal(verify(req, '', SECRET, Date.parse('2024-01-01T00:15:00Z')), undefined);
  const err = sigV4Error(late, 'json');
  assert.equal(err.code, 'InvalidSignatureException');
  assert.equal(err.message, late.message);
  const s3 = sigV4Error(late, 's3');
  assert.equal(s3.code, 'RequestTimeTooSkewed');
  assert.equal(s3.status, 403);
  assert.deepEqual(s3.fields, {
    RequestTime: '20240101T000000Z',
    ServerTime: '2024-01-01T00:20:00Z',
    MaxAllowedSkewMilliseconds: '900000',
  });
});

test('presigned URLs verify, exclude their own signature, and expire', async () => {
  const req = await presign(
    { service: 'sts', path: '/', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' } },
    { expiresIn: 60 },
  );
  assert.equal(req.headers.authorization, undefined);
  const sig = parsed(req);
  assert.equal(sig.kind, 'query');
  assert.equal(sig.expiresSeconds, 60);
  assert.deepEqual(sig.signedHeaders, ['host']);
  assert.equal(verify(req), undefined);
  assert.equal(failure(verify(req, '', 'wrong')).reason, 'signature');

  const expired = failure(verify(req, '', SECRET, Date.parse('2024-01-01T00:01:01Z')));
  assert.equal(expired.reason, 'expired');
  assert.equal(expired.message, 'Request has expired');
  assert.equal(sigV4Error(expired, 'query').code, 'RequestExpired');
  const s3 = sigV4Error(expired, 's3');
  assert.equal(s3.code, 'AccessDenied');
  assert.equal(s3.status, 403);
  assert.deepEqual(s3.fields, {
    'X-Amz-Expires': '60',
    Expires: '2024-01-01T00:01:00Z',
    ServerTime: '2024-01-01T00:01:01Z',
  });

  const tampered = {
    ...req,
    rawQuery: req.rawQuery.replace('GetCallerIdentity', 'GetSessionToken'),
  };
  assert.equal(failure(verify(tampered)).reason, 'signature');
});

test('presigned URLs with a session token, odd paths and hoisted headers', async () => {
  const req = await presign(
    {
      service: 's3',
      method: 'PUT',
      path: '/bucket/dir/a%20b%2B%E2%9C%93.txt',
      query: { 'x-id': 'PutObject' },
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-a': 'b' },
      sessionToken: 'session/token+=',
    },
    { expiresIn: 3600 },
  );
  const sig = parsed(req);
  assert.equal(sig.sessionToken, 'session/token+=');
  assert.equal(sig.payloadHash, 'UNSIGNED-PAYLOAD');
  assert.equal(verify(req, 'the uploaded bytes'), undefined);
});

test('presigned URLs signed with UNSIGNED-PAYLOAD but not saying so (botocore) verify', async () => {
  // botocore presigns every service with UNSIGNED-PAYLOAD and sends no marker for it.
  // Here the header only sets smithy's payload hash: it is neither hoisted nor signed,
  // and the request the server sees leaves it out.
  const req = await presign(
    {
      service: 'sts',
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    {
      unhoistableHeaders: new Set(['x-amz-content-sha256']),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
    },
  );
  const headers = { ...req.headers };
  delete headers['x-amz-content-sha256'];
  const botocoreStyle = { ...req, headers };
  assert.equal(parsed(botocoreStyle).payloadHash, undefined);
  assert.equal(verify(botocoreStyle), undefined);
});

test('presigned expiry and algorithm are validated', async () => {
  const req = await presign({ service: 's3', path: '/b/k' });
  const edit = (from: RegExp, to: string): SigV4Request => ({
    ...req,
    rawQuery: req.rawQuery.replace(from, to),
  });
  assert.equal(
    failure(parseSignature(edit(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801'))).message,
    'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires ' +
      'must be less than 604800 seconds',
  );
  assert.equal(
    failure(parseSignature(edit(/X-Amz-Expires=\d+/, 'X-Amz-Expires=soon'))).message,
    'X-Amz-Expires should be a number',
  );
  assert.equal(
    failure(parseSignature(edit(/X-Amz-Algorithm=[^&]+/, 'X-Amz-Algorithm=AWS4-HMAC-SHA1'))).reason,
    'malformed',
  );
  const missing = failure(parseSignature(edit(/&?X-Amz-SignedHeaders=[^&]+/, '')));
  assert.match(missing.message, /^Query-string authentication version 4 requires/);
  assert.equal(sigV4Error(missing, 's3').code, 'AuthorizationQueryParametersError');
  const both = { ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 x' } };
  assert.match(failure(parseSignature(both)).message, /^Only one auth mechanism allowed/);
});

test('requests without SigV4 parse to undefined', () => {
  const base = { method: 'GET', path: '/', headers: { host: 'h' } };
  assert.equal(parseSignature({ ...base, rawQuery: '' }), undefined);
  assert.equal(parseSignature({ ...base, rawQuery: 'Action=ListUsers&x-amz-foo=1' }), undefined);
});

test('malformed Authorization headers', () => {
  const req = (authorization: string, extra: Record<string, string> = {}): SigV4Request => ({
    method: 'GET',
    path: '/',
    rawQuery: '',
    headers: { host: 'h', 'x-amz-date': '20240101T000000Z', authorization, ...extra },
  });
  const bearer = failure(parseSignature(req('Bearer abc')));
  assert.equal(bearer.reason, 'malformed');
  assert.equal(
    bearer.message,
    "Authorization header requires 'Credential' parameter. Authorization header requires " +
      "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. " +
      'Authorization=Bearer abc',
  );
  assert.equal(sigV4Error(bearer, 'query').code, 'IncompleteSignature');
  assert.equal(sigV4Error(bearer, 'json').code, 'IncompleteSignatureException');
  assert.equal(sigV4Error(bearer, 's3').code, 'AuthorizationHeaderMalformed');

  const noDate = req(
    'AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00',
  );
  delete noDate.headers['x-amz-date'];
  assert.match(
    failure(parseSignature(noDate)).message,
    /Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\./,
  );

  // A blank after `=` (seen from hand-rolled signers) leaves the value on its own.
  const noEquals =
    'AWS4-HMAC-SHA256 Credential= A/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0';
  assert.equal(
    failure(parseSignature(req(noEquals))).message,
    "'A/20240101/us-east-1/sts/aws4_request' not a valid key=value pair (missing equal-sign) " +
      `in Authorization header: '${noEquals}'.`,
  );
  assert.match(
    failure(
      parseSignature(
        req(
          'AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/iam, SignedHeaders=host, Signature=0',
        ),
      ),
    ).message,
    /^Credential must have exactly 5 slash-delimited elements/,
  );
  assert.equal(
    failure(
      parseSignature(
        req(
          'AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/iam/aws5, SignedHeaders=host, Signature=0',
        ),
      ),
    ).message,
    "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5'.",
  );
  assert.equal(
    failure(
      parseSignature(
        req(
          'AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/iam/aws4_request, SignedHeaders=x-amz-date, Signature=0',
        ),
      ),
    ).message,
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
  );
  const wrongDay = failure(
    parseSignature(
      req(
        'AWS4-HMAC-SHA256 Credential=A/20240102/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      ),
    ),
  );
  assert.equal(wrongDay.reason, 'signature');
  assert.equal(
    wrongDay.message,
    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240102' != '20240101', from '20240101T000000Z'.",
  );
  assert.match(
    failure(
      parseSignature(
        req(
          'AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
          {
            'x-amz-date': '2024-01-01T00:00:00Z',
          },
        ),
      ),
    ).message,
    /^Date must be in ISO-8601 'basic format'/,
  );
});

test('the HTTP Date header stands in for X-Amz-Date', async () => {
  const req = await signHeader({ service: 'iam', path: '/', applyChecksum: false });
  // Re-sign by hand the way a client using Date would: same canonical request, with the
  // date header instead of x-amz-date.
  const headers: Record<string, string> = { ...req.headers, date: 'Mon, 01 Jan 2024 00:00:00 GMT' };
  delete headers['x-amz-date'];
  const sig = parsed({ ...req, headers });
  assert.equal(sig.amzDate, '20240101T000000Z');
});

test('error mapping per protocol family', async () => {
  const req = await signHeader({ service: 'iam', path: '/', applyChecksum: false });
  const mismatch = failure(verify(req, '', 'wrong'));
  const query = sigV4Error(mismatch, 'query');
  assert.deepEqual(
    [query.code, query.status, query.message],
    ['SignatureDoesNotMatch', 403, mismatch.message],
  );
  const json = sigV4Error(mismatch, 'json');
  assert.deepEqual([json.code, json.status], ['InvalidSignatureException', 403]);
  const ec2 = sigV4Error(mismatch, 'ec2');
  assert.deepEqual([ec2.code, ec2.status], ['AuthFailure', 401]);
  const s3 = sigV4Error(mismatch, 's3');
  assert.equal(s3.code, 'SignatureDoesNotMatch');
  assert.equal(
    s3.message,
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
  assert.equal(s3.fields.AWSAccessKeyId, AKID);
  assert.equal(s3.fields.SignatureProvided, parsed(req).signature);
  assert.equal(typeof s3.fields.CanonicalRequest, 'string');
  assert.equal(
    s3.fields.StringToSignBytes,
    Buffer.from(String(s3.fields.StringToSign))
      .toString('hex')
      .replace(/(..)(?!$)/g, '$1 '),
  );

  assert.equal(sigV4ErrorStyle('query', 'iam'), 'query');
  assert.equal(sigV4ErrorStyle('json', 'logs'), 'json');
  assert.equal(sigV4ErrorStyle('rest-json', 'lambda'), 'json');
  assert.equal(sigV4ErrorStyle('rest-xml', 's3'), 's3');
  assert.equal(sigV4ErrorStyle('ec2', 'ec2'), 'ec2');
});

test('chunk signing context chains from the request signature', async () => {
  const req = await signHeader({
    service: 's3',
    method: 'PUT',
    path: '/b/k',
    headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' },
  });
  const sig = parsed(req);
  const ctx = chunkSigning(sig, SECRET);
  assert.equal(ctx.seedSignature, sig.signature);
  assert.equal(ctx.scope, '20240101/us-east-1/s3/aws4_request');
  assert.equal(ctx.amzDate, '20240101T000000Z');
  // Derived once, then served from the cache.
  assert.equal(ctx.signingKey, signingKey(SECRET, '20240101', 'us-east-1', 's3'));
});

test('amz date helpers round-trip and reject other formats', () => {
  const ms = Date.parse('2024-02-29T23:59:58Z');
  assert.equal(formatAmzDate(ms), '20240229T235958Z');
  assert.equal(parseAmzDate('20240229T235958Z'), ms);
  for (const bad of [
    '2024-02-29T23:59:58Z',
    '20241329T000000Z',
    '20240229T235958',
    'x'.repeat(16),
  ]) {
    assert.equal(parseAmzDate(bad), undefined, bad);
  }
});
