import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCOUNT,
  callerContext as ctx,
  iamFixture,
  lambdaTrustPolicy,
} from '../../../test/helpers/iam.js';
import { stsOperations } from './provider.js';
import { createSessionIssuer } from './service-issuer.js';
import { SessionIndex } from './sessions.js';

test('assumeRoleForService mints a findable session of the role, named as asked', async () => {
  const t0 = Date.parse('2030-01-01T00:00:00.250Z');
  const { iam, directory, store, storage } = await iamFixture();
  const { Role } = await iam.CreateRole(
    { RoleName: 'fn-role', AssumeRolePolicyDocument: lambdaTrustPolicy },
    ctx(),
  );
  const sessions = new SessionIndex(store, () => t0);
  const issuer = createSessionIssuer({ iam: directory, sessions, now: () => t0 });
  const creds = await issuer.assumeRoleForService(ACCOUNT, Role.Arn, 'my-function', 3600);
  assert.match(creds.accessKeyId, /^ASIA/);
  assert.equal(creds.expiresAt, Date.parse('2030-01-01T01:00:00.000Z'));

  // The session authenticates (strict mode looks it up here) as the assumed role.
  const found = await new SessionIndex(store).findCredential(creds.accessKeyId);
  assert.equal(found?.secretAccessKey, creds.secretAccessKey);
  assert.equal(found?.sessionToken, creds.sessionToken);
  assert.equal(found?.account, ACCOUNT);
  assert.equal(found?.principal.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/fn-role/my-function`);
  assert.equal(found?.principal.userId, `${Role.RoleId}:my-function`);

  // And GetCallerIdentity with it reports that identity.
  const sts = stsOperations({ iam: directory, sessions, defaultAccount: ACCOUNT });
  const who = await sts.GetCallerIdentity(
    {},
    ctx(ACCOUNT, found?.principal ?? { arn: '', userId: '' }),
  );
  assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/fn-role/my-function`);
  await storage.close();
});

test('assumeRoleForService caps the duration at the role maximum and refuses unknown roles', async () => {
  const t0 = Date.parse('2030-01-01T00:00:00.000Z');
  const { iam, directory, store, storage } = await iamFixture();
  const { Role } = await iam.CreateRole(
    { RoleName: 'short', AssumeRolePolicyDocument: lambdaTrustPolicy, MaxSessionDuration: 3600 },
    ctx(),
  );
  const issuer = createSessionIssuer({
    iam: directory,
    sessions: new SessionIndex(store),
    now: () => t0,
  });
  const creds = await issuer.assumeRoleForService(ACCOUNT, Role.Arn, 'f', 43200);
  assert.equal(creds.expiresAt, t0 + 3600_000);
  await assert.rejects(
    issuer.assumeRoleForService(ACCOUNT, `arn:aws:iam::${ACCOUNT}:role/missing`, 'f', 3600),
    { name: 'AccessDenied' },
  );
  await storage.close();
});
