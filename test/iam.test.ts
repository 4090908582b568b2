/**
 * IAM through the real clients (SDK v3, the AWS CLI, boto3) against a running server:
 * roles, inline and managed policies, users, AWS's error codes and validation messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
  UpdateGroupCommand,
  UpdateUserCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPoliciesCommand,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  paginateListRoles,
  type CreateRoleCommandInput,
  type ListPoliciesCommandInput,
} from '@aws-sdk/client-iam';
import { awsCli, python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/sign.js';
import { failure } from './helpers/failure.js';

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});
const logsPolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' },
  ],
});
const LAMBDA_BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

describe('IAM', () => {
  let server: TestServer;
  let iam: IAMClient;

  before(async () => {
    server = await startTestServer();
    iam = new IAMClient(clientConfig(server.endpoint));
  });
  after(async () => {
    iam.destroy();
    await server.stop();
  });

  test('SDK v3: role, inline policy and managed policies round trip', async () => {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: 'sdk-role',
        Path: '/apps/',
        AssumeRolePolicyDocument: trust,
        Description: 'made by SDK v3',
        MaxSessionDuration: 7200,
        Tags: [{ Key: 'owner', Value: 'sdk' }],
      }),
    );
    const role = created.Role;
    assert.ok(role);
    assert.match(role.RoleId ?? '', /^AROA[A-Z2-7]{17}$/);
    assert.equal(role.Arn, 'arn:aws:iam::000000000000:role/apps/sdk-role');
    assert.ok(role.CreateDate instanceof Date);
    assert.ok(Math.abs((role.CreateDate?.getTime() ?? 0) - Date.now()) < 60_000);

    const got = (await iam.send(new GetRoleCommand({ RoleName: 'sdk-role' }))).Role;
    assert.equal(got?.RoleId, role.RoleId);
    assert.equal(got?.Description, 'made by SDK v3');
    assert.equal(got?.MaxSessionDuration, 7200);
    assert.deepEqual(got?.Tags, [{ Key: 'owner', Value: 'sdk' }]);
    // IAM returns documents URL-encoded; the JavaScript SDK leaves decoding to the caller.
    assert.deepEqual(
      JSON.parse(decodeURIComponent(got?.AssumeRolePolicyDocument ?? '')),
      JSON.parse(trust),
    );

    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'sdk-role',
        PolicyName: 'logs',
        PolicyDocument: logsPolicy,
      }),
    );
    const inline = await iam.send(
      new GetRolePolicyCommand({ RoleName: 'sdk-role', PolicyName: 'logs' }),
    );
    assert.equal(inline.PolicyDocument, encodeURIComponent(logsPolicy));
    assert.deepEqual(
      (await iam.send(new ListRolePoliciesCommand({ RoleName: 'sdk-role' }))).PolicyNames,
      ['logs'],
    );

    const policy = (
      await iam.send(
        new CreatePolicyCommand({ PolicyName: 'sdk-policy', PolicyDocument: logsPolicy }),
      )
    ).Policy;
    assert.equal(policy?.Arn, 'arn:aws:iam::000000000000:policy/sdk-policy');
    const version = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policy?.Arn, VersionId: 'v1' }),
    );
    assert.equal(decodeURIComponent(version.PolicyVersion?.Document ?? ''), logsPolicy);

    await iam.send(new AttachRolePolicyCommand({ RoleName: 'sdk-role', PolicyArn: policy?.Arn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'sdk-role', PolicyArn: LAMBDA_BASIC }));
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'sdk-role' }));
    assert.deepEqual(attached.AttachedPolicies?.map((p) => p.PolicyArn).sort(), [
      'arn:aws:iam::000000000000:policy/sdk-policy',
      LAMBDA_BASIC,
    ]);
    const onlyAttached = await iam.send(
      new ListPoliciesCommand({ OnlyAttached: true, Scope: 'Local' }),
    );
    assert.deepEqual(
      onlyAttached.Policies?.map((p) => [p.PolicyName, p.AttachmentCount]),
      [['sdk-policy', 1]],
    );

    const conflict = await failure(iam.send(new DeleteRoleCommand({ RoleName: 'sdk-role' })));
    assert.deepEqual(conflict, {
      name: 'DeleteConflictException',
      status: 409,
      message: 'Cannot delete entity, must detach all policies first.',
    });
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'sdk-role', PolicyArn: LAMBDA_BASIC }));
  });

  test('SDK v3: ListRoles pages through the paginator', async () => {
    for (let i = 0; i < 5; i++) {
      await iam.send(
        new CreateRoleCommand({
          RoleName: `page-${i}`,
          Path: '/paged/',
          AssumeRolePolicyDocument: trust,
        }),
      );
    }
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateListRoles(
      { client: iam, pageSize: 2 },
      { PathPrefix: '/paged/' },
    )) {
      pages++;
      names.push(...(page.Roles ?? []).map((r) => r.RoleName ?? ''));
    }
    assert.equal(pages, 3);
    assert.deepEqual(names, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  test('a missing role is NoSuchEntity (404) in the SDK and on the wire', async () => {
    const err = await iam
      .send(new GetRoleCommand({ RoleName: 'no-such-role' }))
      .catch((e: unknown) => e);
    assert.ok(err instanceof NoSuchEntityException);
    assert.equal(err.$metadata.httpStatusCode, 404);
    assert.equal(err.message, 'The role with name no-such-role cannot be found.');

    const raw = await signedFetch(server.endpoint, {
      service: 'iam',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=GetRole&Version=2010-05-08&RoleName=no-such-role',
    });
    assert.equal(raw.status, 404);
    assert.match(
      raw.text,
      /^(<\?xml[^>]*>\s*)?<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">/,
    );
    assert.match(raw.text, /<Error>\s*<Type>Sender<\/Type>\s*<Code>NoSuchEntity<\/Code>/);
    assert.match(raw.text, /<Message>The role with name no-such-role cannot be found\.<\/Message>/);
    assert.match(raw.text, /<RequestId>[0-9a-f-]{36}<\/RequestId>/);
  });

  test('model validation: missing member, enum, length — as AWS words them', async () => {
    const missing = await failure(
      iam.send(
        new CreateRoleCommand({ RoleName: 'no-trust' } as unknown as CreateRoleCommandInput),
      ),
    );
    assert.equal(missing.name, 'ValidationError');
    assert.equal(missing.status, 400);
    assert.match(missing.message, /'assumeRolePolicyDocument'/);
    assert.match(missing.message, /Member must not be null/);

    const badEnum = await failure(
      iam.send(
        new ListPoliciesCommand({ Scope: 'Everything' } as unknown as ListPoliciesCommandInput),
      ),
    );
    assert.equal(badEnum.name, 'ValidationError');
    assert.match(
      badEnum.message,
      /Value 'Everything' at 'scope' failed to satisfy constraint: Member must satisfy enum value set/,
    );

    const long = 'r'.repeat(65);
    const tooLong = await failure(
      iam.send(new CreateRoleCommand({ RoleName: long, AssumeRolePolicyDocument: trust })),
    );
    assert.equal(tooLong.name, 'ValidationError');
    assert.equal(
      tooLong.message,
      `1 validation error detected: Value '${long}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64`,
    );

    const malformed = await failure(
      iam.send(new CreateRoleCommand({ RoleName: 'bad-json', AssumeRolePolicyDocument: '{' })),
    );
    assert.deepEqual(malformed, {
      name: 'MalformedPolicyDocumentException',
      status: 400,
      message: 'This policy contains invalid Json',
    });
  });

  test('SDK v3: UpdateUser / UpdateGroup move keys, groups, policies and login profile', async () => {
    const policy = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'rename-logs', PolicyDocument: logsPolicy }),
    );
    const policyArn = policy.Policy?.Arn ?? '';
    await iam.send(new CreateUserCommand({ UserName: 'old-user' }));
    await iam.send(new CreateUserCommand({ UserName: 'taken' }));
    await iam.send(new CreateGroupCommand({ GroupName: 'old-group' }));
    await iam.send(new AddUserToGroupCommand({ UserName: 'old-user', GroupName: 'old-group' }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'old-user', PolicyArn: policyArn }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'old-group', PolicyArn: policyArn }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'old-user',
        PolicyName: 'inline',
        PolicyDocument: logsPolicy,
      }),
    );
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: 'old-user' }));
    await iam.send(new CreateLoginProfileCommand({ UserName: 'old-user', Password: 'Pa55w0rd!x' }));

    const clash = await failure(
      iam.send(new UpdateUserCommand({ UserName: 'old-user', NewUserName: 'TAKEN' })),
    );
    assert.equal(clash.name, 'EntityAlreadyExistsException');
    assert.equal(clash.message, 'User with name TAKEN already exists.');
    assert.equal(clash.status, 409);

    await iam.send(
      new UpdateUserCommand({ UserName: 'old-user', NewUserName: 'new-user', NewPath: '/team/' }),
    );
    const missing = await failure(iam.send(new GetUserCommand({ UserName: 'old-user' })));
    assert.equal(missing.name, 'NoSuchEntityException');
    const { User } = await iam.send(new GetUserCommand({ UserName: 'new-user' }));
    assert.equal(User?.Arn, 'arn:aws:iam::000000000000:user/team/new-user');
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: 'new-user' }));
    assert.deepEqual(
      keys.AccessKeyMetadata?.map((k) => [k.UserName, k.AccessKeyId]),
      [['new-user', key.AccessKey?.AccessKeyId]],
    );
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'new-user' }));
    assert.deepEqual(
      attached.AttachedPolicies?.map((a) => a.PolicyArn),
      [policyArn],
    );
    const inline = await iam.send(new ListUserPoliciesCommand({ UserName: 'new-user' }));
    assert.deepEqual(inline.PolicyNames, ['inline']);
    const profile = await iam.send(new GetLoginProfileCommand({ UserName: 'new-user' }));
    assert.equal(profile.LoginProfile?.UserName, 'new-user');

    await iam.send(
      new UpdateGroupCommand({ GroupName: 'old-group', NewGroupName: 'new-group', NewPath: '/g/' }),
    );
    const group = await iam.send(new GetGroupCommand({ GroupName: 'new-group' }));
    assert.equal(group.Group?.Arn, 'arn:aws:iam::000000000000:group/g/new-group');
    assert.deepEqual(
      group.Users?.map((u) => u.UserName),
      ['new-user'],
    );
    const groups = await iam.send(new ListGroupsForUserCommand({ UserName: 'new-user' }));
    assert.deepEqual(
      groups.Groups?.map((g) => g.GroupName),
      ['new-group'],
    );
    const entities = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn }));
    assert.deepEqual(
      entities.PolicyGroups?.map((g) => g.GroupName),
      ['new-group'],
    );
    assert.deepEqual(
      entities.PolicyUsers?.map((u) => u.UserName),
      ['new-user'],
    );
    const gone = await failure(
      iam.send(new UpdateGroupCommand({ GroupName: 'old-group', NewGroupName: 'x' })),
    );
    assert.equal(gone.name, 'NoSuchEntityException');
    assert.equal(gone.message, 'The group with name old-group cannot be found.');
  });

  test('AWS CLI: TagPolicy / ListPolicyTags / UntagPolicy on a customer managed policy', async () => {
    const create = await awsCli(server.endpoint, [
      'iam',
      'create-policy',
      '--policy-name',
      'tagged',
      '--policy-document',
      logsPolicy,
      '--tags',
      'Key=team,Value=a',
    ]);
    assert.equal(create.code, 0, create.stderr);
    const arn = (JSON.parse(create.stdout) as { Policy: { Arn: string } }).Policy.Arn;
    const tag = await awsCli(server.endpoint, [
      'iam',
      'tag-policy',
      '--policy-arn',
      arn,
      '--tags',
      'Key=env,Value=dev',
      'Key=TEAM,Value=b',
    ]);
    assert.equal(tag.code, 0, tag.stderr);
    const untag = await awsCli(server.endpoint, [
      'iam',
      'untag-policy',
      '--policy-arn',
      arn,
      '--tag-keys',
      'env',
    ]);
    assert.equal(untag.code, 0, untag.stderr);
    const list = await awsCli(server.endpoint, ['iam', 'list-policy-tags', '--policy-arn', arn]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), {
      Tags: [{ Key: 'TEAM', Value: 'b' }],
      IsTruncated: false,
    });
    const managed = await awsCli(server.endpoint, [
      'iam',
      'list-policy-tags',
      '--policy-arn',
      LAMBDA_BASIC,
    ]);
    assert.notEqual(managed.code, 0);
    assert.match(managed.stderr, /NoSuchEntity/);
  });

  test('AWS CLI: role, inline policy and AWS managed policy', async () => {
    const create = await awsCli(server.endpoint, [
      'iam',
      'create-role',
      '--role-name',
      'cli-role',
      '--assume-role-policy-document',
      trust,
    ]);
    assert.equal(create.code, 0, create.stderr);
    const role = (JSON.parse(create.stdout) as { Role: { Arn: string; RoleId: string } }).Role;
    assert.equal(role.Arn, 'arn:aws:iam::000000000000:role/cli-role');

    // The CLI decodes the URL-encoded documents into JSON objects.
    const get = await awsCli(server.endpoint, ['iam', 'get-role', '--role-name', 'cli-role']);
    assert.equal(get.code, 0, get.stderr);
    const got = JSON.parse(get.stdout) as {
      Role: { RoleId: string; AssumeRolePolicyDocument: unknown };
    };
    assert.equal(got.Role.RoleId, role.RoleId);
    assert.deepEqual(got.Role.AssumeRolePolicyDocument, JSON.parse(trust));

    const put = await awsCli(server.endpoint, [
      'iam',
      'put-role-policy',
      '--role-name',
      'cli-role',
      '--policy-name',
      'logs',
      '--policy-document',
      logsPolicy,
    ]);
    assert.equal(put.code, 0, put.stderr);
    const inline = await awsCli(server.endpoint, [
      'iam',
      'get-role-policy',
      '--role-name',
      'cli-role',
      '--policy-name',
      'logs',
    ]);
    assert.equal(inline.code, 0, inline.stderr);
    assert.deepEqual(
      (JSON.parse(inline.stdout) as { PolicyDocument: unknown }).PolicyDocument,
      JSON.parse(logsPolicy),
    );

    const attach = await awsCli(server.endpoint, [
      'iam',
      'attach-role-policy',
      '--role-name',
      'cli-role',
      '--policy-arn',
      LAMBDA_BASIC,
    ]);
    assert.equal(attach.code, 0, attach.stderr);
    const listed = await awsCli(server.endpoint, [
      'iam',
      'list-attached-role-policies',
      '--role-name',
      'cli-role',
    ]);
    assert.deepEqual(JSON.parse(listed.stdout), {
      // The CLI follows Marker itself and drops IsTruncated.
      AttachedPolicies: [{ PolicyName: 'AWSLambdaBasicExecutionRole', PolicyArn: LAMBDA_BASIC }],
    });

    const missing = await awsCli(server.endpoint, [
      'iam',
      'get-role',
      '--role-name',
      'cli-missing',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(
      missing.stderr,
      /An error occurred \(NoSuchEntity\) when calling the GetRole operation: The role with name cli-missing cannot be found\./,
    );
  });

  test('boto3: GetContextKeysForCustomPolicy / ForPrincipalPolicy name the keys policies use', async () => {
    const script = `
import json, os, boto3
from botocore.exceptions import ClientError
iam = boto3.client('iam', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
doc = {'Version': '2012-10-17', 'Statement': {'Effect': 'Allow', 'Action': 'dynamodb:*',
  'Resource': 'arn:aws:dynamodb:us-west-2:123456789012:table/\${aws:username}',
  'Condition': {'DateGreaterThan': {'aws:CurrentTime': '2015-08-16T12:00:00Z'}}}}
out = {'custom': iam.get_context_keys_for_custom_policy(PolicyInputList=[json.dumps(doc)])['ContextKeyNames']}
iam.create_user(UserName='ctx-user')
iam.create_group(GroupName='ctx-group')
iam.add_user_to_group(UserName='ctx-user', GroupName='ctx-group')
ip = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': '*',
  'Condition': {'IpAddress': {'aws:SourceIp': '10.0.0.0/8'}, 'StringEquals': {'aws:SourceIP': 'x'}}}]}
iam.put_group_policy(GroupName='ctx-group', PolicyName='ip', PolicyDocument=json.dumps(ip))
mfa = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Deny', 'Action': '*', 'Resource': '*',
  'Condition': {'BoolIfExists': {'aws:MultiFactorAuthPresent': 'false'}}}]}
iam.put_user_policy(UserName='ctx-user', PolicyName='mfa', PolicyDocument=json.dumps(mfa))
arn = iam.get_user(UserName='ctx-user')['User']['Arn']
out['principal'] = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)['ContextKeyNames']
try:
    iam.get_context_keys_for_principal_policy(PolicySourceArn='arn:aws:iam::000000000000:user/nobody')
except ClientError as e:
    out['error'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
print(json.dumps(out))
`;
    const res = await python(server.endpoint, script, {});
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      custom: ['aws:username', 'aws:CurrentTime'],
      principal: ['aws:MultiFactorAuthPresent', 'aws:SourceIp'],
      error: ['NoSuchEntity', 404],
    });
  });

  test('boto3: role, inline policy, managed policy and errors', async () => {
    const script = `
import json, os, boto3
from botocore.exceptions import ClientError
iam = boto3.client('iam', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
trust = json.loads(os.environ['TRUST'])
logs = json.loads(os.environ['LOGS'])
out = {}
r = iam.create_role(RoleName='boto-role', AssumeRolePolicyDocument=json.dumps(trust))['Role']
out['arn'] = r['Arn']
out['trust_roundtrip'] = iam.get_role(RoleName='boto-role')['Role']['AssumeRolePolicyDocument'] == trust
iam.put_role_policy(RoleName='boto-role', PolicyName='logs', PolicyDocument=json.dumps(logs))
out['inline_roundtrip'] = iam.get_role_policy(RoleName='boto-role', PolicyName='logs')['PolicyDocument'] == logs
p = iam.create_policy(PolicyName='boto-policy', PolicyDocument=json.dumps(logs), Path='/boto/')['Policy']
out['policy_arn'] = p['Arn']
v = iam.create_policy_version(PolicyArn=p['Arn'], PolicyDocument=json.dumps(logs), SetAsDefault=True)
out['version'] = v['PolicyVersion']['VersionId']
iam.attach_role_policy(RoleName='boto-role', PolicyArn=p['Arn'])
out['attached'] = [a['PolicyName'] for a in iam.list_attached_role_policies(RoleName='boto-role')['AttachedPolicies']]
out['roles'] = [r['RoleName'] for page in iam.get_paginator('list_roles').paginate(PaginationConfig={'PageSize': 1}) for r in page['Roles']]
try:
    iam.get_role(RoleName='boto-missing')
except ClientError as e:
    out['error'] = [e.response['Error']['Code'], e.response['Error']['Message'], e.response['ResponseMetadata']['HTTPStatusCode']]
print(json.dumps(out))
`;
    const res = await python(server.endpoint, script, { TRUST: trust, LOGS: logsPolicy });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    assert.equal(out.arn, 'arn:aws:iam::000000000000:role/boto-role');
    assert.equal(out.trust_roundtrip, true);
    assert.equal(out.inline_roundtrip, true);
    assert.equal(out.policy_arn, 'arn:aws:iam::000000000000:policy/boto/boto-policy');
    assert.equal(out.version, 'v2');
    assert.deepEqual(out.attached, ['boto-policy']);
    assert.ok((out.roles as string[]).includes('boto-role'));
    assert.deepEqual(out.error, [
      'NoSuchEntity',
      'The role with name boto-missing cannot be found.',
      404,
    ]);
  });
});
