import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { isSigV4Failure, parseSignature, verifySignature } from './sigv4.js';
import { signRequest } from './sigv4-sign.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret/key+1' };
const now = Date.UTC(2026, 0, 2, 3, 4, 5);
const body = '{"repositoryName":"stratus/debian"}';
const baseHeaders = {
  host: '127.0.0.1:4566',
  'content-type': 'application/x-amz-json-1.1',
  'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.CreateRepository',
};

test('a signed request verifies with the server-side verifier', () => {
  const headers = signRequest(
    { method: 'POST', path: '/', headers: baseHeaders, body },
    credentials,
    'us-east-1',
    'ecr',
    now,
  );
  const req = { method: 'POST', path: '/', rawQuery: '', headers };
  const parsed = parseSignature(req);
  assert.ok(parsed && !isSigV4Failure(parsed));
  assert.equal(parsed.accessKeyId, 'AKIDEXAMPLE');
  assert.equal(parsed.service, 'ecr');
  assert.equal(
    verifySignature(req, Buffer.from(body), parsed, credentials.secretAccessKey, now),
    undefined,
  );
  const tampered = verifySignature(
    req,
    Buffer.from(`${body} `),
    parsed,
    credentials.secretAccessKey,
    now,
  );
  assert.equal(tampered?.reason, 'payload-hash');
});

test('the signature equals the one @smithy/signature-v4 computes', async () => {
  const signer = new SignatureV4({
    credentials,
    region: 'us-east-1',
    service: 'ecr',
    sha256: Sha256,
  });
  const lower = Object.fromEntries(
    Object.entries(baseHeaders).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const ours = signRequest(
    { method: 'POST', path: '/', headers: baseHeaders, body },
    credentials,
    'us-east-1',
    'ecr',
    now,
  );
  const sig = (h: string | undefined) => /Signature=([0-9a-f]+)/.exec(h ?? '')?.[1];
  // smithy signs x-amz-content-sha256 as given: hand it the payload hash we computed.
  const smithy = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: '/',
      query: {},
      headers: { ...lower, 'x-amz-content-sha256': ours['x-amz-content-sha256'] },
      body,
    },
    { signingDate: new Date(now) },
  );
  assert.equal(sig(ours.authorization), sig(smithy.headers.authorization));
});
