import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCOUNT,
  callerContext as ctx,
  iamFixture,
  lambdaTrustPolicy,
} from '../../../test/helpers/iam.js';
import { accountOfAccessKeyId } from '../../shared/aws-ids.js';
import { stsOperations } from './provider.js';
import { SessionIndex } from './sessions.js';

async function setup(now: () => number = Date.now) {
  const fixture = await iamFixture();
  const sessions = new SessionIndex(fixture.store, now);
  const sts = stsOperations({ iam: fixture.directory, sessions, defaultAccount: ACCOUNT, now });
  return { ...fixture, sessions, sts };
}

test('GetCallerIdentity reports the caller the gateway resolved', async () => {
  const { sts, storage } = await setup();
  assert.deepEqual(await sts.GetCallerIdentity({}, ctx()), {
    UserId: ACCOUNT,
    Account: ACCOUNT,
    Arn: 'arn:aws:iam::000000000000:root',
  });
  await storage.close();
});

test('AssumeRole mints session credentials for an existing role', async () => {
  const t0 = Date.parse('2030-01-01T00:00:00.500Z');
  const { iam, sts, sessions, storage, store } = await setup(() => t0);
  const { Role } = await iam.CreateRole(
    {
      RoleName: 'deployer',
      Path: '/ci/',
      AssumeRolePolicyDocument: lambdaTrustPolicy,
      MaxSessionDuration: 7200,
    },
    ctx(),
  );
  const out = await sts.AssumeRole(
    { RoleArn: Role.Arn, RoleSessionName: 'build-42', DurationSeconds: 7200 },
    ctx(),
  );
  const creds = out.Credentials;
  assert.ok(creds);
  assert.match(creds.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
  assert.equal(accountOfAccessKeyId(creds.AccessKeyId), ACCOUNT);
  assert.equal(creds.SecretAccessKey.length, 40);
  assert.ok(creds.SessionToken.length > 300);
  assert.equal(creds.Expiration.toISOString(), '2030-01-01T02:00:00.000Z');
  assert.deepEqual(out.AssumedRoleUser, {
    AssumedRoleId: `${Role.RoleId}:build-42`,
    Arn: 'arn:aws:sts::000000000000:assumed-role/deployer/build-42',
  });
  assert.equal(out.PackedPolicySize, undefined);

  const found = await sessions.findCredential(creds.AccessKeyId);
  assert.deepEqual(found, {
    accessKeyId: creds.AccessKeyId,
    secretAccessKey: creds.SecretAccessKey,
    sessionToken: creds.SessionToken,
    expiresAt: creds.Expiration.getTime(),
    account: ACCOUNT,
    principal: { arn: out.AssumedRoleUser?.Arn, userId: out.AssumedRoleUser?.AssumedRoleId },
  });
  // Sessions survive a restart: a new index reads them from the store.
  assert.deepEqual(await new SessionIndex(store).findCredential(creds.AccessKeyId), found);
  await storage.close();
});

test('AssumeRole refuses missing roles, wrong paths and long sessions as AWS does', async () => {
  const { iam, sts, storage } = await setup();
  const { Role } = await iam.CreateRole(
    { RoleName: 'r', Path: '/p/', AssumeRolePolicyDocument: lambdaTrustPolicy },
    ctx(),
  );
  for (const arn of [
    'arn:aws:iam::000000000000:role/missing',
    'arn:aws:iam::000000000000:role/r', // the role lives under /p/
    'arn:aws:iam::111111111111:role/p/r', // another account's namespace
    'arn:aws:iam::000000000000:user/p/r',
  ]) {
    await assert.rejects(sts.AssumeRole({ RoleArn: arn, RoleSessionName: 's' }, ctx()), {
      name: 'AccessDenied',
      message: `User: arn:aws:iam::000000000000:root is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    });
  }
  await assert.rejects(
    sts.AssumeRole({ RoleArn: Role.Arn, RoleSessionName: 's', DurationSeconds: 3601 }, ctx()),
    {
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    },
  );
  await iam.UpdateRole({ RoleName: 'r', MaxSessionDuration: 14400 }, ctx());
  const chained = ctx(ACCOUNT, {
    arn: 'arn:aws:sts::000000000000:assumed-role/other/s',
    userId: 'AROAX:s',
  });
  await assert.rejects(
    sts.AssumeRole({ RoleArn: Role.Arn, RoleSessionName: 's', DurationSeconds: 7200 }, chained),
    {
      name: 'ValidationError',
      message:
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    },
  );
  const ok = await sts.AssumeRole(
    { RoleArn: Role.Arn, RoleSessionName: 's', DurationSeconds: 3600 },
    chained,
  );
  assert.ok(ok.Credentials);
  await storage.close();
});

test('AssumeRole session policies: malformed JSON and packed size', async () => {
  const { iam, sts, storage } = await setup();
  const { Role } = await iam.CreateRole(
    { RoleName: 'r', AssumeRolePolicyDocument: lambdaTrustPolicy },
    ctx(),
  );
  await assert.rejects(
    sts.AssumeRole({ RoleArn: Role.Arn, RoleSessionName: 's', Policy: '{' }, ctx()),
    {
      name: 'MalformedPolicyDocument',
    },
  );
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
  });
  const out = await sts.AssumeRole(
    { RoleArn: Role.Arn, RoleSessionName: 's', Policy: policy },
    ctx(),
  );
  assert.ok((out.PackedPolicySize ?? 0) > 0 && (out.PackedPolicySize ?? 0) <= 100);
  await storage.close();
});

test('GetSessionToken and GetFederationToken keep the caller and refuse session callers', async () => {
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  const { sts, sessions, storage } = await setup(() => t0);
  const root = await sts.GetSessionToken({ DurationSeconds: 7200 }, ctx());
  // Account owners are capped at one hour.
  assert.equal(root.Credentials?.Expiration.toISOString(), '2030-01-01T01:00:00.000Z');
  const found = await sessions.findCredential(root.Credentials?.AccessKeyId ?? '');
  // The caller, marked as temporary credentials (aws:MultiFactorAuthPresent is false, not absent).
  assert.deepEqual(found?.principal, { ...ctx().principal, session: { temporary: true } });

  const user = ctx(ACCOUNT, { arn: 'arn:aws:iam::000000000000:user/u', userId: 'AIDAX' });
  const token = await sts.GetSessionToken({}, user);
  assert.equal(token.Credentials?.Expiration.toISOString(), '2030-01-01T12:00:00.000Z');

  const fed = await sts.GetFederationToken({ Name: 'bob' }, user);
  assert.deepEqual(fed.FederatedUser, {
    FederatedUserId: '000000000000:bob',
    Arn: 'arn:aws:sts::000000000000:federated-user/bob',
  });
  const session = ctx(ACCOUNT, {
    arn: 'arn:aws:sts::000000000000:assumed-role/r/s',
    userId: 'AROAX:s',
  });
  await assert.rejects(sts.GetSessionToken({}, session), {
    name: 'AccessDenied',
    message: 'Cannot call GetSessionToken with session credentials',
  });
  await storage.close();
});

test('GetAccessKeyInfo decodes the account from the key id', async () => {
  const { iam, sts, storage } = await setup();
  await iam.CreateUser({ UserName: 'u' }, ctx('123456789012'));
  const { AccessKey } = await iam.CreateAccessKey({ UserName: 'u' }, ctx('123456789012'));
  assert.equal(
    (await sts.GetAccessKeyInfo({ AccessKeyId: AccessKey.AccessKeyId }, ctx())).Account,
    '123456789012',
  );
  assert.equal(
    (await sts.GetAccessKeyInfo({ AccessKeyId: '210987654321' }, ctx())).Account,
    '210987654321',
  );
  assert.equal((await sts.GetAccessKeyInfo({ AccessKeyId: 'test' }, ctx())).Account, ACCOUNT);
  await storage.close();
});

test('expired sessions stay recognisable for a day, then are pruned', async () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const { iam, sts, sessions, storage, store } = await setup(() => now);
  const { Role } = await iam.CreateRole(
    { RoleName: 'r', AssumeRolePolicyDocument: lambdaTrustPolicy },
    ctx(),
  );
  const out = await sts.AssumeRole(
    { RoleArn: Role.Arn, RoleSessionName: 's', DurationSeconds: 900 },
    ctx(),
  );
  const id = out.Credentials?.AccessKeyId ?? '';
  now += 3600 * 1000;
  assert.equal(await sessions.prune(), 0);
  assert.ok(await sessions.findCredential(id)); // the gateway answers ExpiredToken for it
  now += 24 * 3600 * 1000;
  assert.equal(await sessions.prune(), 1);
  assert.equal(await sessions.findCredential(id), undefined);
  assert.equal(await new SessionIndex(store).findCredential(id), undefined);
  await storage.close();
});
