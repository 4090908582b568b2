import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  callerContext as ctx,
  iamFixture as setup,
  lambdaTrustPolicy as trust,
} from '../../../test/helpers/iam.js';

const doc = (action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  });
const LAMBDA_BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

test('CreatePolicy / GetPolicy / GetPolicyVersion round trip', async () => {
  const { iam, storage } = await setup();
  const { Policy } = await iam.CreatePolicy(
    {
      PolicyName: 'read',
      Path: '/app/',
      PolicyDocument: doc('s3:GetObject'),
      Description: 'reads',
    },
    ctx(),
  );
  assert.ok(Policy);
  assert.equal(Policy.Arn, 'arn:aws:iam::000000000000:policy/app/read');
  assert.match(Policy.PolicyId ?? '', /^ANPA[A-Z2-7]{17}$/);
  assert.equal(Policy.DefaultVersionId, 'v1');
  assert.equal(Policy.AttachmentCount, 0);
  assert.equal(Policy.IsAttachable, true);

  const got = await iam.GetPolicy({ PolicyArn: Policy.Arn ?? '' }, ctx());
  assert.equal(got.Policy?.Description, 'reads');
  assert.equal(got.Policy?.PolicyId, Policy.PolicyId);
  const v1 = await iam.GetPolicyVersion({ PolicyArn: Policy.Arn ?? '', VersionId: 'v1' }, ctx());
  assert.equal(decodeURIComponent(v1.PolicyVersion?.Document ?? ''), doc('s3:GetObject'));
  assert.equal(v1.PolicyVersion?.IsDefaultVersion, true);

  await assert.rejects(
    iam.CreatePolicy({ PolicyName: 'READ', PolicyDocument: doc('s3:*') }, ctx()),
    {
      name: 'EntityAlreadyExists',
      message: 'A policy called READ already exists. Duplicate names are not allowed.',
    },
  );
  await assert.rejects(
    iam.GetPolicy({ PolicyArn: 'arn:aws:iam::000000000000:policy/read' }, ctx()),
    {
      name: 'NoSuchEntity',
      message: 'Policy arn:aws:iam::000000000000:policy/read was not found.',
    },
  );
  await assert.rejects(iam.GetPolicy({ PolicyArn: 'arn:aws:s3:::bucket' }, ctx()), {
    name: 'InvalidInput',
    message: 'ARN arn:aws:s3:::bucket is not valid.',
  });
  await assert.rejects(
    iam.CreatePolicy(
      { PolicyName: 'p', PolicyDocument: doc('s3:*').replace('Resource', 'R') },
      ctx(),
    ),
    {
      name: 'MalformedPolicyDocument',
    },
  );
  await storage.close();
});

test('policy versions: create, default, limit of five, delete rules', async () => {
  const { iam, storage } = await setup();
  const arn =
    (await iam.CreatePolicy({ PolicyName: 'p', PolicyDocument: doc('a:1') }, ctx())).Policy?.Arn ??
    '';
  const v2 = await iam.CreatePolicyVersion(
    { PolicyArn: arn, PolicyDocument: doc('a:2'), SetAsDefault: true },
    ctx(),
  );
  assert.equal(v2.PolicyVersion?.VersionId, 'v2');
  assert.equal(v2.PolicyVersion?.IsDefaultVersion, true);
  for (let i = 3; i <= 5; i++)
    await iam.CreatePolicyVersion({ PolicyArn: arn, PolicyDocument: doc(`a:${i}`) }, ctx());
  await assert.rejects(
    iam.CreatePolicyVersion({ PolicyArn: arn, PolicyDocument: doc('a:6') }, ctx()),
    {
      name: 'LimitExceeded',
      message:
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
    },
  );
  const listed = await iam.ListPolicyVersions({ PolicyArn: arn }, ctx());
  assert.deepEqual(
    listed.Versions?.map((v) => [v.VersionId, v.IsDefaultVersion, v.Document]),
    [
      ['v5', false, undefined],
      ['v4', false, undefined],
      ['v3', false, undefined],
      ['v2', true, undefined],
      ['v1', false, undefined],
    ],
  );
  assert.equal((await iam.GetPolicy({ PolicyArn: arn }, ctx())).Policy?.DefaultVersionId, 'v2');

  await assert.rejects(iam.DeletePolicyVersion({ PolicyArn: arn, VersionId: 'v2' }, ctx()), {
    name: 'DeleteConflict',
    message: 'Cannot delete the default version of a policy.',
  });
  await assert.rejects(iam.GetPolicyVersion({ PolicyArn: arn, VersionId: 'v9' }, ctx()), {
    name: 'NoSuchEntity',
    message: `Policy ${arn} version v9 does not exist or is not attachable.`,
  });
  await iam.DeletePolicyVersion({ PolicyArn: arn, VersionId: 'v1' }, ctx());
  // Numbers are not reused.
  const v6 = await iam.CreatePolicyVersion({ PolicyArn: arn, PolicyDocument: doc('a:6') }, ctx());
  assert.equal(v6.PolicyVersion?.VersionId, 'v6');
  await iam.SetDefaultPolicyVersion({ PolicyArn: arn, VersionId: 'v6' }, ctx());

  await assert.rejects(iam.DeletePolicy({ PolicyArn: arn }, ctx()), {
    name: 'DeleteConflict',
    message:
      "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
  });
  for (const v of ['v2', 'v3', 'v4', 'v5'])
    await iam.DeletePolicyVersion({ PolicyArn: arn, VersionId: v }, ctx());
  await iam.DeletePolicy({ PolicyArn: arn }, ctx());
  await assert.rejects(iam.GetPolicy({ PolicyArn: arn }, ctx()), { name: 'NoSuchEntity' });
  await storage.close();
});

test('attach and detach customer and AWS managed policies to roles', async () => {
  const { iam, storage } = await setup();
  await iam.CreateRole({ RoleName: 'fn', AssumeRolePolicyDocument: trust }, ctx());
  const mine =
    (await iam.CreatePolicy({ PolicyName: 'mine', PolicyDocument: doc('s3:*') }, ctx())).Policy
      ?.Arn ?? '';

  await iam.AttachRolePolicy({ RoleName: 'fn', PolicyArn: LAMBDA_BASIC }, ctx());
  await iam.AttachRolePolicy(
    { RoleName: 'fn', PolicyArn: 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess' },
    ctx(),
  );
  await iam.AttachRolePolicy({ RoleName: 'fn', PolicyArn: mine }, ctx());
  await iam.AttachRolePolicy({ RoleName: 'fn', PolicyArn: mine }, ctx()); // idempotent

  const attached = await iam.ListAttachedRolePolicies({ RoleName: 'fn' }, ctx());
  assert.deepEqual(attached.AttachedPolicies?.map((p) => p.PolicyName).sort(), [
    'AWSLambdaBasicExecutionRole',
    'AWSXRayDaemonWriteAccess',
    'mine',
  ]);
  const serviceRole = await iam.ListAttachedRolePolicies(
    { RoleName: 'fn', PathPrefix: '/service-role/' },
    ctx(),
  );
  assert.deepEqual(serviceRole.AttachedPolicies, [
    { PolicyName: 'AWSLambdaBasicExecutionRole', PolicyArn: LAMBDA_BASIC },
  ]);

  assert.equal((await iam.GetPolicy({ PolicyArn: mine }, ctx())).Policy?.AttachmentCount, 1);
  const aws = await iam.GetPolicy({ PolicyArn: LAMBDA_BASIC }, ctx());
  assert.equal(aws.Policy?.AttachmentCount, 1);
  assert.equal(aws.Policy?.Path, '/service-role/');
  const awsDoc = await iam.GetPolicyVersion({ PolicyArn: LAMBDA_BASIC, VersionId: 'v1' }, ctx());
  assert.match(decodeURIComponent(awsDoc.PolicyVersion?.Document ?? ''), /logs:PutLogEvents/);

  const entities = await iam.ListEntitiesForPolicy({ PolicyArn: mine }, ctx());
  assert.deepEqual(
    entities.PolicyRoles?.map((r) => r.RoleName),
    ['fn'],
  );

  await assert.rejects(iam.DeletePolicy({ PolicyArn: mine }, ctx()), {
    name: 'DeleteConflict',
    message: 'Cannot delete a policy attached to entities.',
  });
  const missing = 'arn:aws:iam::000000000000:policy/nope';
  await assert.rejects(iam.AttachRolePolicy({ RoleName: 'fn', PolicyArn: missing }, ctx()), {
    name: 'NoSuchEntity',
    message: `Policy ${missing} does not exist or is not attachable.`,
  });
  await assert.rejects(iam.AttachRolePolicy({ RoleName: 'ghost', PolicyArn: mine }, ctx()), {
    message: 'The role with name ghost cannot be found.',
  });
  await iam.DetachRolePolicy({ RoleName: 'fn', PolicyArn: mine }, ctx());
  await assert.rejects(iam.DetachRolePolicy({ RoleName: 'fn', PolicyArn: mine }, ctx()), {
    name: 'NoSuchEntity',
    message: `Policy ${mine} was not found.`,
  });
  assert.equal((await iam.GetPolicy({ PolicyArn: mine }, ctx())).Policy?.AttachmentCount, 0);
  await iam.DeletePolicy({ PolicyArn: mine }, ctx());
  await storage.close();
});

test('ListPolicies: scopes, OnlyAttached, paging', async () => {
  const { iam, storage } = await setup();
  await iam.CreateRole({ RoleName: 'fn', AssumeRolePolicyDocument: trust }, ctx());
  for (const name of ['p1', 'p2', 'p3'])
    await iam.CreatePolicy({ PolicyName: name, PolicyDocument: doc('s3:*') }, ctx());
  await iam.AttachRolePolicy(
    { RoleName: 'fn', PolicyArn: 'arn:aws:iam::000000000000:policy/p2' },
    ctx(),
  );
  await iam.AttachRolePolicy(
    { RoleName: 'fn', PolicyArn: 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess' },
    ctx(),
  );

  const local = await iam.ListPolicies({ Scope: 'Local' }, ctx());
  assert.deepEqual(
    local.Policies?.map((p) => p.PolicyName),
    ['p1', 'p2', 'p3'],
  );
  const attached = await iam.ListPolicies({ OnlyAttached: true }, ctx());
  assert.deepEqual(
    attached.Policies?.map((p) => p.PolicyName),
    ['AWSXRayDaemonWriteAccess', 'p2'],
  );
  const aws = await iam.ListPolicies({ Scope: 'AWS' }, ctx());
  assert.ok(aws.Policies?.some((p) => p.Arn === LAMBDA_BASIC));
  assert.ok(aws.Policies?.every((p) => p.Arn?.startsWith('arn:aws:iam::aws:policy/')));

  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.ListPolicies({ MaxItems: 2, Marker: marker }, ctx());
    assert.ok((page.Policies?.length ?? 0) <= 2);
    names.push(...(page.Policies ?? []).map((p) => p.PolicyName ?? ''));
    marker = page.Marker;
  } while (marker);
  const all = await iam.ListPolicies({}, ctx());
  assert.deepEqual(
    names,
    all.Policies?.map((p) => p.PolicyName),
  );
  assert.equal(new Set(names).size, names.length);
  await storage.close();
});

test('users hold inline and attached policies too', async () => {
  const { iam, storage } = await setup();
  await iam.CreateUser({ UserName: 'alice' }, ctx());
  await iam.PutUserPolicy(
    { UserName: 'alice', PolicyName: 'p', PolicyDocument: doc('s3:*') },
    ctx(),
  );
  await iam.AttachUserPolicy(
    { UserName: 'alice', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    ctx(),
  );
  assert.equal(
    decodeURIComponent(
      (await iam.GetUserPolicy({ UserName: 'alice', PolicyName: 'p' }, ctx())).PolicyDocument,
    ),
    doc('s3:*'),
  );
  assert.deepEqual((await iam.ListUserPolicies({ UserName: 'alice' }, ctx())).PolicyNames, ['p']);
  assert.deepEqual(
    (await iam.ListAttachedUserPolicies({ UserName: 'alice' }, ctx())).AttachedPolicies?.map(
      (p) => p.PolicyName,
    ),
    ['ReadOnlyAccess'],
  );
  await assert.rejects(iam.DeleteUser({ UserName: 'alice' }, ctx()), {
    message: 'Cannot delete entity, must detach all policies first.',
  });
  await iam.DetachUserPolicy(
    { UserName: 'alice', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    ctx(),
  );
  await assert.rejects(iam.DeleteUser({ UserName: 'alice' }, ctx()), {
    message: 'Cannot delete entity, must delete policies first.',
  });
  await iam.DeleteUserPolicy({ UserName: 'alice', PolicyName: 'p' }, ctx());
  await iam.DeleteUser({ UserName: 'alice' }, ctx());
  await storage.close();
});
