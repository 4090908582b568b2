import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sameString, TokenSigner } from './signed-token.js';

const signer = new TokenSigner(() => Promise.resolve(randomBytes(32)));

test('a sealed token opens to its claims', async () => {
  const fixed = new TokenSigner(() => Promise.resolve(Buffer.alloc(32, 7)));
  const token = await fixed.seal({ a: '123', x: 5 });
  assert.deepEqual(await fixed.open(token), { ok: true, claims: { a: '123', x: 5 } });
  assert.deepEqual(await signer.open(token), { ok: false, reason: 'forged' }, 'another key');
});

test('every other spelling of the signature is refused, also one that decodes alike', async () => {
  const fixed = new TokenSigner(() => Promise.resolve(Buffer.alloc(32, 9)));
  const token = await fixed.seal({ n: 1 });
  // A 32-byte HMAC is 43 base64url characters: the last one carries 2 unused bits, so
  // flipping its lowest bit gives a string that decodes to the same bytes.
  const last = token.at(-1) ?? '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const twin = alphabet[alphabet.indexOf(last) ^ 1];
  const forged = token.slice(0, -1) + twin;
  assert.deepEqual(
    Buffer.from(forged.split('.')[1], 'base64url'),
    Buffer.from(token.split('.')[1], 'base64url'),
  );
  assert.deepEqual(await fixed.open(forged), { ok: false, reason: 'forged' });
  for (const bad of ['', 'a', 'a.', '.b', 'a.b.c', `${token}.x`]) {
    assert.equal((await fixed.open(bad)).ok, false, JSON.stringify(bad));
  }
  assert.equal(sameString('abc', 'abc'), true);
  assert.equal(sameString('abc', 'abd'), false);
  assert.equal(sameString('abc', 'abcd'), false);
});
