import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, stepAt, totp } from './totp.js';

test('RFC 6238 appendix B vectors (SHA-1, the last six digits)', () => {
  const secret = Buffer.from('12345678901234567890');
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [seconds, code] of vectors) {
    assert.equal(totp(secret, stepAt(seconds * 1000)), code.slice(-6));
  }
});

test('base32 round-trips and matches RFC 4648 vectors', () => {
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.equal(base32Decode('MZXW6YTBOI').toString(), 'foobar');
  const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) & 255));
  assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
});
