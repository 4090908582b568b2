import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessKeyId,
  accountOfAccessKeyId,
  secretAccessKey,
  sessionToken,
  uniqueId,
} from './aws-ids.js';

test('unique ids are the type prefix plus 17 base32 characters', () => {
  for (const prefix of ['AROA', 'AIDA', 'ANPA'] as const) {
    const id = uniqueId(prefix);
    assert.match(id, new RegExp(`^${prefix}[A-Z2-7]{17}$`));
    assert.notEqual(id, uniqueId(prefix));
  }
});

test('access key ids carry their account, as real AWS key ids do', () => {
  for (const account of ['000000000000', '123456789012', '999999999999', '000000000001']) {
    for (const prefix of ['AKIA', 'ASIA'] as const) {
      const id = accessKeyId(prefix, account);
      assert.match(id, new RegExp(`^${prefix}[Q-Z2-7][A-Z2-7]{15}$`));
      assert.equal(accountOfAccessKeyId(id), account);
    }
  }
});

test('a published AWS example key id decodes to its documented account', () => {
  // From "AWS Access Key ID formats" (Aidan Steele), key id → account 609629065308.
  assert.equal(accountOfAccessKeyId('ASIAY34FZKBOKMUTVV7A'), '609629065308');
});

test('key ids without an encoded account decode to nothing', () => {
  assert.equal(accountOfAccessKeyId('test'), undefined);
  assert.equal(accountOfAccessKeyId('000000000000'), undefined);
  assert.equal(accountOfAccessKeyId('AKIA0000000000000000'), undefined); // 0 is not base32
});

test('secrets are 40 characters and session tokens long and opaque', () => {
  assert.equal(secretAccessKey().length, 40);
  const token = sessionToken();
  assert.ok(token.length >= 400);
  assert.notEqual(token, sessionToken());
});
