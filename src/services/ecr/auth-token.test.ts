import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openStorage, type Storage } from '../../storage/index.js';
import { parseBasicAuth, RegistryTokens, TOKEN_TTL_MS } from './auth-token.js';

let storage: Storage;
let clock = 1_700_000_000_000;
before(async () => {
  storage = await openStorage({ stateDir: '', ephemeral: true });
});
after(() => storage.close());

const passwordOf = (token: string): string => {
  const basic = parseBasicAuth(`Basic ${token}`);
  assert.equal(basic?.user, 'AWS');
  return basic.password;
};

test('a token verifies until it expires after 12 hours', async () => {
  const tokens = new RegistryTokens(storage.store, () => clock);
  const { token, expiresAt } = await tokens.issue({
    account: '123456789012',
    region: 'eu-west-1',
    accessKeyId: 'AKIA',
  });
  assert.equal(expiresAt, clock + TOKEN_TTL_MS);
  const check = await tokens.verify(passwordOf(token));
  assert.deepEqual(check, {
    ok: true,
    claims: { account: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIA', expiresAt },
  });
  clock += TOKEN_TTL_MS;
  assert.deepEqual(await tokens.verify(passwordOf(token)), { ok: false, reason: 'expired' });
});

test('tamper, truncation and garbage are refused; the secret survives a new instance', async () => {
  const tokens = new RegistryTokens(storage.store, () => clock);
  const pw = passwordOf(
    (await tokens.issue({ account: '1', region: 'r', accessKeyId: 'k' })).token,
  );
  const [payload, sig] = pw.split('.');
  const forgedPayload = Buffer.from(
    JSON.stringify({ a: '999999999999', r: 'r', k: 'k', x: clock + 1e9 }),
  ).toString('base64url');
  assert.deepEqual(await tokens.verify(`${forgedPayload}.${sig}`), { ok: false, reason: 'forged' });
  assert.deepEqual(await tokens.verify(`${payload}.${sig.slice(1)}`), {
    ok: false,
    reason: 'forged',
  });
  assert.deepEqual(await tokens.verify('nodot'), { ok: false, reason: 'malformed' });
  assert.deepEqual(await tokens.verify('.x'), { ok: false, reason: 'malformed' });
  assert.equal((await new RegistryTokens(storage.store, () => clock).verify(pw)).ok, true);
});

test('parseBasicAuth ignores other schemes and credentials without a colon', () => {
  assert.equal(parseBasicAuth(undefined), undefined);
  assert.equal(parseBasicAuth('Bearer abc'), undefined);
  assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  assert.deepEqual(parseBasicAuth(`basic ${Buffer.from('AWS:a:b').toString('base64')}`), {
    user: 'AWS',
    password: 'a:b',
  });
});
