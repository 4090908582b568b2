import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessKeyIndex } from './credentials.js';
import { ACCOUNT, callerContext as ctx, iamFixture as setup } from '../../../test/helpers/iam.js';

test('CreateUser / GetUser / ListUsers / DeleteUser', async () => {
  const { iam, storage } = await setup();
  const { User } = await iam.CreateUser(
    { UserName: 'alice', Path: '/dev/', Tags: [{ Key: 'k', Value: 'v' }] },
    ctx(),
  );
  assert.equal(User?.Arn, 'arn:aws:iam::000000000000:user/dev/alice');
  assert.match(User?.UserId ?? '', /^AIDA[A-Z2-7]{17}$/);
  await iam.CreateUser({ UserName: 'bob' }, ctx());
  await assert.rejects(iam.CreateUser({ UserName: 'BOB' }, ctx()), {
    name: 'EntityAlreadyExists',
    message: 'User with name BOB already exists.',
  });
  assert.deepEqual((await iam.GetUser({ UserName: 'alice' }, ctx())).User.Tags, [
    { Key: 'k', Value: 'v' },
  ]);
  assert.deepEqual(
    (await iam.ListUsers({}, ctx())).Users.map((u) => u.UserName),
    ['alice', 'bob'],
  );
  assert.deepEqual(
    (await iam.ListUsers({ PathPrefix: '/dev/' }, ctx())).Users.map((u) => u.UserName),
    ['alice'],
  );
  await iam.DeleteUser({ UserName: 'bob' }, ctx());
  await assert.rejects(iam.GetUser({ UserName: 'bob' }, ctx()), {
    name: 'NoSuchEntity',
    message: 'The user with name bob cannot be found.',
  });
  await storage.close();
});

test('GetUser without a name describes the caller', async () => {
  const { iam, storage } = await setup();
  const root = await iam.GetUser({}, ctx());
  assert.equal(root.User.Arn, 'arn:aws:iam::000000000000:root');
  assert.equal(root.User.UserId, ACCOUNT);
  const { User } = await iam.CreateUser({ UserName: 'carol' }, ctx());
  const asCarol = ctx(ACCOUNT, { arn: User?.Arn ?? '', userId: User?.UserId ?? '' });
  assert.equal((await iam.GetUser({}, asCarol)).User.UserName, 'carol');
  const asRole = ctx(ACCOUNT, {
    arn: 'arn:aws:sts::000000000000:assumed-role/r/s',
    userId: 'AROAX:s',
  });
  await assert.rejects(iam.GetUser({}, asRole), {
    name: 'ValidationError',
    message: 'Must specify userName when calling with non-User credentials',
  });
  await storage.close();
});

test('access keys: AWS formats, quota of two, and the credential index follows every change', async () => {
  const { iam, storage, keys, store } = await setup();
  const { User } = await iam.CreateUser({ UserName: 'dev' }, ctx());
  // Load the index before the keys exist, so later writes must update it in place.
  assert.equal(await keys.findCredential('AKIAANYTHING'), undefined);

  const { AccessKey } = await iam.CreateAccessKey({ UserName: 'dev' }, ctx());
  assert.match(AccessKey.AccessKeyId, /^AKIA[A-Z2-7]{16}$/);
  assert.equal(AccessKey.SecretAccessKey.length, 40);
  assert.equal(AccessKey.Status, 'Active');
  assert.deepEqual(await keys.findCredential(AccessKey.AccessKeyId), {
    accessKeyId: AccessKey.AccessKeyId,
    secretAccessKey: AccessKey.SecretAccessKey,
    account: ACCOUNT,
    principal: { arn: User?.Arn, userId: User?.UserId },
  });

  await iam.CreateAccessKey({ UserName: 'dev' }, ctx());
  await assert.rejects(iam.CreateAccessKey({ UserName: 'dev' }, ctx()), {
    name: 'LimitExceeded',
    message: 'Cannot exceed quota for AccessKeysPerUser: 2',
  });
  const listed = await iam.ListAccessKeys({ UserName: 'dev' }, ctx());
  assert.equal(listed.AccessKeyMetadata.length, 2);
  assert.ok(listed.AccessKeyMetadata.every((k) => k.UserName === 'dev' && k.Status === 'Active'));

  await iam.UpdateAccessKey(
    { UserName: 'dev', AccessKeyId: AccessKey.AccessKeyId, Status: 'Inactive' },
    ctx(),
  );
  assert.equal(await keys.findCredential(AccessKey.AccessKeyId), undefined);
  // A fresh index (a restart) agrees with the live one.
  const reloaded = new AccessKeyIndex(store);
  assert.equal(await reloaded.findCredential(AccessKey.AccessKeyId), undefined);
  await iam.UpdateAccessKey(
    { UserName: 'dev', AccessKeyId: AccessKey.AccessKeyId, Status: 'Active' },
    ctx(),
  );
  assert.equal(
    (await keys.findCredential(AccessKey.AccessKeyId))?.secretAccessKey,
    AccessKey.SecretAccessKey,
  );

  // A user's own keys, addressed without UserName.
  const asDev = ctx(ACCOUNT, { arn: User?.Arn ?? '', userId: User?.UserId ?? '' });
  assert.equal((await iam.ListAccessKeys({}, asDev)).AccessKeyMetadata.length, 2);

  await assert.rejects(iam.DeleteUser({ UserName: 'dev' }, ctx()), {
    name: 'DeleteConflict',
    message: 'Cannot delete entity, must delete access keys first.',
  });
  await assert.rejects(
    iam.DeleteAccessKey({ UserName: 'dev', AccessKeyId: 'AKIAIOSFODNN7EXAMPLE' }, ctx()),
    {
      name: 'NoSuchEntity',
      message: 'The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.',
    },
  );
  for (const k of listed.AccessKeyMetadata) {
    await iam.DeleteAccessKey({ AccessKeyId: k.AccessKeyId ?? '' }, asDev);
    assert.equal(await keys.findCredential(k.AccessKeyId ?? ''), undefined);
  }
  await iam.DeleteUser({ UserName: 'dev' }, ctx());
  assert.equal((await iam.GetAccountSummary({}, ctx())).SummaryMap?.Users, 0);
  await storage.close();
});

test('the credential index loads lazily from the store and can be reset', async () => {
  const { iam, storage, store } = await setup();
  await iam.CreateUser({ UserName: 'u' }, ctx());
  const { AccessKey } = await iam.CreateAccessKey({ UserName: 'u' }, ctx());
  const index = new AccessKeyIndex(store);
  assert.equal((await index.findCredential(AccessKey.AccessKeyId))?.account, ACCOUNT);
  await store.reset();
  index.reset();
  assert.equal(await index.findCredential(AccessKey.AccessKeyId), undefined);
  await storage.close();
});
