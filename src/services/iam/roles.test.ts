import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCOUNT,
  callerContext as ctx,
  iamFixture as setup,
  lambdaTrustPolicy as trust,
} from '../../../test/helpers/iam.js';

const allowLogs = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'logs:*', Resource: '*' }],
});

test('CreateRole returns the role in AWS formats and GetRole reads it back', async () => {
  const { iam, storage } = await setup();
  const { Role } = await iam.CreateRole(
    {
      RoleName: 'app-role',
      Path: '/service/',
      AssumeRolePolicyDocument: trust,
      Description: 'for the app',
      MaxSessionDuration: 7200,
      Tags: [{ Key: 'team', Value: 'a' }],
    },
    ctx(),
  );
  assert.match(Role.RoleId, /^AROA[A-Z2-7]{17}$/);
  assert.equal(Role.Arn, 'arn:aws:iam::000000000000:role/service/app-role');
  assert.equal(Role.Path, '/service/');
  assert.ok(Role.CreateDate instanceof Date);
  assert.equal(decodeURIComponent(Role.AssumeRolePolicyDocument ?? ''), trust);
  assert.deepEqual(Role.Tags, [{ Key: 'team', Value: 'a' }]);

  // Names are unique without regard to case, and found that way.
  const got = await iam.GetRole({ RoleName: 'APP-ROLE' }, ctx());
  assert.equal(got.Role.RoleName, 'app-role');
  assert.equal(got.Role.RoleId, Role.RoleId);
  assert.equal(got.Role.Description, 'for the app');
  assert.equal(got.Role.MaxSessionDuration, 7200);
  assert.deepEqual(got.Role.RoleLastUsed, {});

  await assert.rejects(
    iam.CreateRole({ RoleName: 'App-Role', AssumeRolePolicyDocument: trust }, ctx()),
    {
      name: 'EntityAlreadyExists',
      message: 'Role with name App-Role already exists.',
    },
  );
  // Another account has its own namespace.
  await assert.rejects(iam.GetRole({ RoleName: 'app-role' }, ctx('111111111111')), {
    name: 'NoSuchEntity',
    message: 'The role with name app-role cannot be found.',
  });
  await storage.close();
});

test('CreateRole rejects malformed trust policies and defaults what AWS defaults', async () => {
  const { iam, storage } = await setup();
  await assert.rejects(
    iam.CreateRole({ RoleName: 'r', AssumeRolePolicyDocument: '{"Version":' }, ctx()),
    {
      name: 'MalformedPolicyDocument',
      message: 'This policy contains invalid Json',
    },
  );
  const { Role } = await iam.CreateRole({ RoleName: 'r', AssumeRolePolicyDocument: trust }, ctx());
  assert.equal(Role.Path, '/');
  assert.equal(Role.MaxSessionDuration, 3600);
  assert.equal(Role.Tags, undefined);
  await assert.rejects(
    iam.CreateRole(
      {
        RoleName: 'b',
        AssumeRolePolicyDocument: trust,
        PermissionsBoundary: 'arn:aws:iam::000000000000:policy/none',
      },
      ctx(),
    ),
    {
      name: 'NoSuchEntity',
      message:
        'Scope ARN: arn:aws:iam::000000000000:policy/none does not exist or is not attachable.',
    },
  );
  const bounded = await iam.CreateRole(
    {
      RoleName: 'b',
      AssumeRolePolicyDocument: trust,
      PermissionsBoundary: 'arn:aws:iam::aws:policy/PowerUserAccess',
    },
    ctx(),
  );
  assert.deepEqual(bounded.Role.PermissionsBoundary, {
    PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
    PermissionsBoundaryArn: 'arn:aws:iam::aws:policy/PowerUserAccess',
  });
  await storage.close();
});

test('ListRoles pages with Marker/MaxItems and filters by PathPrefix', async () => {
  const { iam, storage } = await setup();
  for (let i = 0; i < 7; i++) {
    await iam.CreateRole(
      { RoleName: `role-${i}`, Path: i % 2 ? '/odd/' : '/', AssumeRolePolicyDocument: trust },
      ctx(),
    );
  }
  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await iam.ListRoles({ MaxItems: 3, Marker: marker }, ctx());
    pages++;
    seen.push(...page.Roles.map((r) => r.RoleName));
    assert.equal(page.IsTruncated, page.Marker !== undefined);
    for (const r of page.Roles) assert.equal(r.Tags, undefined);
    marker = page.Marker;
  } while (marker);
  assert.equal(pages, 3);
  assert.deepEqual(
    seen,
    [0, 1, 2, 3, 4, 5, 6].map((i) => `role-${i}`),
  );

  const odd = await iam.ListRoles({ PathPrefix: '/odd/', MaxItems: 2 }, ctx());
  assert.deepEqual(
    odd.Roles.map((r) => r.RoleName),
    ['role-1', 'role-3'],
  );
  assert.equal(odd.IsTruncated, true);
  const rest = await iam.ListRoles({ PathPrefix: '/odd/', Marker: odd.Marker }, ctx());
  assert.deepEqual(
    rest.Roles.map((r) => r.RoleName),
    ['role-5'],
  );
  assert.equal(rest.IsTruncated, false);
  await storage.close();
});

test('UpdateRole, UpdateAssumeRolePolicy and tags', async () => {
  const { iam, storage } = await setup();
  await iam.CreateRole(
    { RoleName: 'r', AssumeRolePolicyDocument: trust, Tags: [{ Key: 'a', Value: '1' }] },
    ctx(),
  );
  await iam.UpdateRole({ RoleName: 'r', Description: 'd', MaxSessionDuration: 43200 }, ctx());
  const newTrust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Action: 'sts:AssumeRole',
      },
    ],
  });
  await iam.UpdateAssumeRolePolicy({ RoleName: 'r', PolicyDocument: newTrust }, ctx());
  await assert.rejects(iam.UpdateAssumeRolePolicy({ RoleName: 'r', PolicyDocument: '[' }, ctx()), {
    name: 'MalformedPolicyDocument',
  });
  const { Role } = await iam.GetRole({ RoleName: 'r' }, ctx());
  assert.equal(Role.Description, 'd');
  assert.equal(Role.MaxSessionDuration, 43200);
  assert.equal(decodeURIComponent(Role.AssumeRolePolicyDocument ?? ''), newTrust);

  await iam.TagRole(
    {
      RoleName: 'r',
      Tags: [
        { Key: 'A', Value: '2' },
        { Key: 'b', Value: '3' },
      ],
    },
    ctx(),
  );
  assert.deepEqual((await iam.ListRoleTags({ RoleName: 'r' }, ctx())).Tags, [
    { Key: 'A', Value: '2' },
    { Key: 'b', Value: '3' },
  ]);
  await assert.rejects(
    iam.TagRole(
      {
        RoleName: 'r',
        Tags: [
          { Key: 'x', Value: '1' },
          { Key: 'X', Value: '2' },
        ],
      },
      ctx(),
    ),
    {
      name: 'InvalidInput',
      message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    },
  );
  await iam.UntagRole({ RoleName: 'r', TagKeys: ['a'] }, ctx());
  const tags = await iam.ListRoleTags({ RoleName: 'r', MaxItems: 1 }, ctx());
  assert.deepEqual(tags.Tags, [{ Key: 'b', Value: '3' }]);
  assert.equal(tags.IsTruncated, false);
  await assert.rejects(iam.UpdateRole({ RoleName: 'gone' }, ctx()), { name: 'NoSuchEntity' });
  await storage.close();
});

test('inline role policies: put, get (URL-encoded), list, delete', async () => {
  const { iam, storage } = await setup();
  await iam.CreateRole({ RoleName: 'r', AssumeRolePolicyDocument: trust }, ctx());
  await iam.PutRolePolicy({ RoleName: 'r', PolicyName: 'logs', PolicyDocument: allowLogs }, ctx());
  await iam.PutRolePolicy({ RoleName: 'r', PolicyName: 'also', PolicyDocument: allowLogs }, ctx());
  const got = await iam.GetRolePolicy({ RoleName: 'R', PolicyName: 'logs' }, ctx());
  assert.equal(got.RoleName, 'r');
  assert.equal(got.PolicyName, 'logs');
  assert.notEqual(got.PolicyDocument, allowLogs);
  assert.equal(decodeURIComponent(got.PolicyDocument), allowLogs);
  assert.deepEqual((await iam.ListRolePolicies({ RoleName: 'r' }, ctx())).PolicyNames, [
    'also',
    'logs',
  ]);

  await assert.rejects(
    iam.PutRolePolicy({ RoleName: 'r', PolicyName: 'bad', PolicyDocument: '{' }, ctx()),
    {
      name: 'MalformedPolicyDocument',
      message: 'Syntax errors in policy.',
    },
  );
  await assert.rejects(iam.GetRolePolicy({ RoleName: 'r', PolicyName: 'nope' }, ctx()), {
    name: 'NoSuchEntity',
    message: 'The role policy with name nope cannot be found.',
  });
  await assert.rejects(
    iam.PutRolePolicy({ RoleName: 'nobody', PolicyName: 'p', PolicyDocument: allowLogs }, ctx()),
    {
      message: 'The role with name nobody cannot be found.',
    },
  );
  // 10,240 characters in all per role.
  const big = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: Array.from({ length: 520 }, (_, i) => `arn:aws:s3:::b/${i}`),
      },
    ],
  });
  await assert.rejects(
    iam.PutRolePolicy({ RoleName: 'r', PolicyName: 'big', PolicyDocument: big }, ctx()),
    {
      name: 'LimitExceeded',
      message: 'Maximum policy size of 10240 bytes exceeded for role r',
    },
  );

  await assert.rejects(iam.DeleteRole({ RoleName: 'r' }, ctx()), {
    name: 'DeleteConflict',
    message: 'Cannot delete entity, must delete policies first.',
  });
  await iam.DeleteRolePolicy({ RoleName: 'r', PolicyName: 'logs' }, ctx());
  await iam.DeleteRolePolicy({ RoleName: 'r', PolicyName: 'also' }, ctx());
  await assert.rejects(iam.DeleteRolePolicy({ RoleName: 'r', PolicyName: 'also' }, ctx()), {
    message: 'The role policy with name also cannot be found.',
  });
  await iam.DeleteRole({ RoleName: 'r' }, ctx());
  await assert.rejects(iam.GetRole({ RoleName: 'r' }, ctx()), { name: 'NoSuchEntity' });
  await storage.close();
});

test('DeleteRole refuses while managed policies are attached', async () => {
  const { iam, storage } = await setup();
  await iam.CreateRole({ RoleName: 'r', AssumeRolePolicyDocument: trust }, ctx());
  const arn = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
  await iam.AttachRolePolicy({ RoleName: 'r', PolicyArn: arn }, ctx());
  await assert.rejects(iam.DeleteRole({ RoleName: 'r' }, ctx()), {
    name: 'DeleteConflict',
    message: 'Cannot delete entity, must detach all policies first.',
  });
  await iam.DetachRolePolicy({ RoleName: 'r', PolicyArn: arn }, ctx());
  await iam.DeleteRole({ RoleName: 'r' }, ctx());
  await storage.close();
});

test('the IamDirectory finds roles by name or exact ARN within the account', async () => {
  const { iam, storage, directory } = await setup();
  const { Role } = await iam.CreateRole(
    {
      RoleName: 'exec',
      Path: '/lambda/',
      AssumeRolePolicyDocument: trust,
      MaxSessionDuration: 5400,
    },
    ctx(),
  );
  const byName = await directory.findRole(ACCOUNT, 'exec');
  assert.deepEqual(byName, {
    roleName: 'exec',
    roleId: Role.RoleId,
    arn: Role.Arn,
    assumeRolePolicyDocument: JSON.parse(trust),
    maxSessionDuration: 5400,
  });
  assert.deepEqual(await directory.findRole(ACCOUNT, Role.Arn), byName);
  assert.equal(await directory.findRole(ACCOUNT, 'arn:aws:iam::000000000000:role/exec'), undefined);
  assert.equal(await directory.findRole('111111111111', Role.Arn), undefined);
  assert.equal(await directory.findRole(ACCOUNT, 'missing'), undefined);
  await storage.close();
});
