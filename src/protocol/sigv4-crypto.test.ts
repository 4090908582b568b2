import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  constantTimeEqual,
  EMPTY_SHA256,
  hmacSha256Hex,
  sha256Hex,
  signingKey,
} from './sigv4-crypto.js';

test('the pad-based HMAC equals node:crypto HMAC for every message size and key', () => {
  const keys = [
    randomBytes(32),
    randomBytes(1),
    randomBytes(64),
    randomBytes(65),
    randomBytes(200),
  ];
  const messages = [
    '',
    'a',
    'é✓ unicode',
    'x'.repeat(63),
    'x'.repeat(64),
    'y'.repeat(1500),
    'z'.repeat(5000),
  ];
  for (const key of keys) {
    for (const message of messages) {
      assert.equal(
        hmacSha256Hex(key, message),
        createHmac('sha256', key).update(message).digest('hex'),
        `key ${key.length} bytes, message ${message.length} chars`,
      );
    }
  }
  // The same key twice (pads cached) and interleaved keys keep their own pads.
  const [a, b] = [randomBytes(32), randomBytes(32)];
  for (const key of [a, b, a, b]) {
    assert.equal(hmacSha256Hex(key, 'm'), createHmac('sha256', key).update('m').digest('hex'));
  }
});

test('sha256Hex', () => {
  assert.equal(sha256Hex(''), EMPTY_SHA256);
  assert.equal(EMPTY_SHA256, createHash('sha256').update('').digest('hex'));
  assert.equal(sha256Hex(Buffer.from('abc')), createHash('sha256').update('abc').digest('hex'));
});

test('signing keys follow the AWS derivation and are cached', () => {
  // kSigning derived step by step, as
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html describes.
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  let expected = createHmac('sha256', `AWS4${secret}`).update('20150830').digest();
  for (const part of ['us-east-1', 'iam', 'aws4_request']) {
    expected = createHmac('sha256', expected).update(part).digest();
  }
  const key = signingKey(secret, '20150830', 'us-east-1', 'iam');
  assert.ok(key.equals(expected));
  assert.equal(signingKey(secret, '20150830', 'us-east-1', 'iam'), key, 'served from the cache');
  assert.ok(!signingKey(secret, '20150831', 'us-east-1', 'iam').equals(key));
  // Many scopes and secrets later the cache is still bounded and still right.
  for (let i = 0; i < 600; i++) signingKey(`secret-${i}`, '20150830', 'us-east-1', `svc${i % 20}`);
  assert.ok(signingKey(secret, '20150830', 'us-east-1', 'iam').equals(expected));
});

test('constantTimeEqual', () => {
  const sig = 'ab'.repeat(32);
  assert.equal(constantTimeEqual(sig, 'ab'.repeat(32)), true);
  assert.equal(constantTimeEqual(sig, `${'ab'.repeat(31)}ac`), false);
  assert.equal(constantTimeEqual(sig, sig.toUpperCase()), false);
  assert.equal(constantTimeEqual(sig, sig.slice(0, 63)), false);
  assert.equal(constantTimeEqual(sig, `${sig}0`), false);
  assert.equal(constantTimeEqual('', ''), true);
});
