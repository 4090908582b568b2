/**
 * IAM that decides (`--auth strict`, `--iam enforce` by default): users, roles and their
 * sessions created through IAM are refused or allowed by AWS's policy evaluation logic,
 * with AWS's AccessDenied codes and messages, through SDK v3, the AWS CLI v2 and boto3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  GetGroupCommand,
  ListGroupsForUserCommand,
  PutGroupPolicyCommand,
  RemoveUserFromGroupCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  ListRolesCommand,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  DeleteUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { failure } from './helpers/failure.js';
import { awsCli, python } from './helpers/clients.js';
import { TRUST, handlerZip, json, nodeZip } from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const ACCOUNT = '000000000000';
const ROOT: Keys = { accessKeyId: 'test', secretAccessKey: 'test' };
const fnArn = (name: string, account = ACCOUNT) =>
  `arn:aws:lambda:us-east-1:${account}:function:${name}`;

const allow = (action: string | string[], resource: string | string[] = '*', extra = {}) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: resource, ...extra }],
  });
const deny = (action: string, resource = '*') =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: action, Resource: resource }],
  });

describe('IAM enforcement in strict mode', () => {
  let server: TestServer;
  const made: { destroy(): void }[] = [];
  const opts = (credentials: Keys) => ({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  const iamAs = (k: Keys) => track(new IAMClient(opts(k)));
  const lambdaAs = (k: Keys) => track(new LambdaClient(opts(k)));
  const stsAs = (k: Keys) => track(new STSClient(opts(k)));
  const ecrAs = (k: Keys) => track(new ECRClient(opts(k)));
  function track<T extends { destroy(): void }>(c: T): T {
    made.push(c);
    return c;
  }
  let lambdaRole: string;

  /** A user with an access key (and nothing else). */
  async function user(name: string): Promise<Keys> {
    const root = iamAs(ROOT);
    await root.send(new CreateUserCommand({ UserName: name }));
    const key = (await root.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey;
    return { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
  }

  async function createFunction(name: string, tags?: Record<string, string>): Promise<void> {
    await lambdaAs(ROOT).send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: lambdaRole,
        Code: { ZipFile: handlerZip() },
        ...(tags && { Tags: tags }),
      }),
    );
  }

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    const out = await iamAs(ROOT).send(
      new CreateRoleCommand({ RoleName: 'fn-role', AssumeRolePolicyDocument: TRUST }),
    );
    lambdaRole = out.Role?.Arn ?? '';
  });
  after(async () => {
    for (const c of made) c.destroy();
    await server.stop();
  });

  test('the root user may do everything; GetCallerIdentity needs no permission', async () => {
    await iamAs(ROOT).send(new ListRolesCommand({}));
    const dev = await user('nobody');
    const me = await stsAs(dev).send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, `arn:aws:iam::${ACCOUNT}:user/nobody`);
  });

  test('no policy: AccessDenied as AWS words it, per protocol; a policy fixes the next call', async () => {
    const dev = await user('dev');
    const listFunctions = () => lambdaAs(dev).send(new ListFunctionsCommand({}));
    assert.deepEqual(await failure(listFunctions()), {
      name: 'AccessDeniedException',
      status: 403,
      message: `User: arn:aws:iam::${ACCOUNT}:user/dev is not authorized to perform: lambda:ListFunctions because no identity-based policy allows the lambda:ListFunctions action`,
    });
    assert.deepEqual(await failure(iamAs(dev).send(new ListRolesCommand({}))), {
      name: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:iam::${ACCOUNT}:user/dev is not authorized to perform: iam:ListRoles because no identity-based policy allows the iam:ListRoles action`,
    });
    await createFunction('f1');
    assert.deepEqual(
      await failure(lambdaAs(dev).send(new GetFunctionCommand({ FunctionName: 'f1' }))),
      {
        name: 'AccessDeniedException',
        status: 403,
        message: `User: arn:aws:iam::${ACCOUNT}:user/dev is not authorized to perform: lambda:GetFunction on resource: ${fnArn('f1')} because no identity-based policy allows the lambda:GetFunction action`,
      },
    );

    await iamAs(ROOT).send(
      new PutUserPolicyCommand({
        UserName: 'dev',
        PolicyName: 'read',
        PolicyDocument: allow(['lambda:List*', 'lambda:GetFunction']),
      }),
    );
    await listFunctions();
    await lambdaAs(dev).send(new GetFunctionCommand({ FunctionName: 'f1' }));
    await iamAs(ROOT).send(new DeleteUserPolicyCommand({ UserName: 'dev', PolicyName: 'read' }));
    assert.equal((await failure(listFunctions())).name, 'AccessDeniedException');
  });

  test('a decision that read aws:CurrentTime is not remembered: the same call is allowed once the time comes', async () => {
    const dev = await user('later');
    const from = Date.now() + 3000;
    await iamAs(ROOT).send(
      new PutUserPolicyCommand({
        UserName: 'later',
        PolicyName: 'from',
        PolicyDocument: allow('lambda:ListFunctions', '*', {
          Condition: { DateGreaterThan: { 'aws:CurrentTime': new Date(from).toISOString() } },
        }),
      }),
    );
    const listFunctions = () => lambdaAs(dev).send(new ListFunctionsCommand({}));
    const first = await listFunctions().then(
      () => 'allowed',
      (err: { name?: string }) => err.name,
    );
    // Refused before the time (a machine so loaded that the call came after it may be allowed).
    if (first === 'allowed') assert.ok(Date.now() > from, 'allowed before aws:CurrentTime');
    else assert.equal(first, 'AccessDeniedException');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await listFunctions().then(
        () => true,
        () => false,
      );
      if (ok) break;
      assert.ok(Date.now() < deadline, 'still refused 60 s after aws:CurrentTime');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  test('an explicit Deny beats an Allow (identity policy, managed policy)', async () => {
    const dev = await user('denied');
    const root = iamAs(ROOT);
    await root.send(
      new PutUserPolicyCommand({
        UserName: 'denied',
        PolicyName: 'all',
        PolicyDocument: allow('*'),
      }),
    );
    await lambdaAs(dev).send(new ListFunctionsCommand({}));
    const policy = await root.send(
      new CreatePolicyCommand({
        PolicyName: 'no-list',
        PolicyDocument: deny('lambda:ListFunctions'),
      }),
    );
    await root.send(
      new AttachUserPolicyCommand({ UserName: 'denied', PolicyArn: policy.Policy?.Arn }),
    );
    assert.deepEqual(await failure(lambdaAs(dev).send(new ListFunctionsCommand({}))), {
      name: 'AccessDeniedException',
      status: 403,
      message: `User: arn:aws:iam::${ACCOUNT}:user/denied is not authorized to perform: lambda:ListFunctions with an explicit deny in an identity-based policy`,
    });
    await iamAs(dev).send(new ListRolesCommand({}));
  });

  test('a user has the policies of its groups while it is a member', async () => {
    const dev = await user('grouped');
    const root = iamAs(ROOT);
    await root.send(new CreateGroupCommand({ GroupName: 'readers' }));
    await root.send(
      new PutGroupPolicyCommand({
        GroupName: 'readers',
        PolicyName: 'list',
        PolicyDocument: allow('lambda:ListFunctions'),
      }),
    );
    const managed = await root.send(
      new CreatePolicyCommand({ PolicyName: 'roles', PolicyDocument: allow('iam:ListRoles') }),
    );
    await root.send(
      new AttachGroupPolicyCommand({ GroupName: 'readers', PolicyArn: managed.Policy?.Arn }),
    );
    assert.equal(
      (await failure(lambdaAs(dev).send(new ListFunctionsCommand({})))).name,
      'AccessDeniedException',
    );
    await root.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'grouped' }));
    await lambdaAs(dev).send(new ListFunctionsCommand({}));
    await iamAs(dev).send(new ListRolesCommand({}));
    const group = await root.send(new GetGroupCommand({ GroupName: 'readers' }));
    assert.deepEqual(
      group.Users?.map((u) => u.UserName),
      ['grouped'],
    );
    assert.match(group.Group?.Arn ?? '', /^arn:aws:iam::000000000000:group\/readers$/);
    const groups = await root.send(new ListGroupsForUserCommand({ UserName: 'grouped' }));
    assert.deepEqual(
      groups.Groups?.map((g) => g.GroupName),
      ['readers'],
    );
    await root.send(new RemoveUserFromGroupCommand({ GroupName: 'readers', UserName: 'grouped' }));
    assert.equal((await failure(iamAs(dev).send(new ListRolesCommand({})))).name, 'AccessDenied');
  });

  test('a permissions boundary caps a user', async () => {
    const dev = await user('bounded');
    const root = iamAs(ROOT);
    await root.send(
      new PutUserPolicyCommand({
        UserName: 'bounded',
        PolicyName: 'all',
        PolicyDocument: allow('*'),
      }),
    );
    const boundary = await root.send(
      new CreatePolicyCommand({ PolicyName: 'lambda-only', PolicyDocument: allow('lambda:*') }),
    );
    await root.send(
      new PutUserPermissionsBoundaryCommand({
        UserName: 'bounded',
        PermissionsBoundary: boundary.Policy?.Arn,
      }),
    );
    await lambdaAs(dev).send(new ListFunctionsCommand({}));
    assert.deepEqual(await failure(iamAs(dev).send(new ListRolesCommand({}))), {
      name: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:iam::${ACCOUNT}:user/bounded is not authorized to perform: iam:ListRoles because no permissions boundary allows the iam:ListRoles action`,
    });
  });

  test('an aws:ResourceTag condition allows one tagged function and refuses another', async () => {
    await createFunction('tagged', { team: 'blue' });
    await createFunction('untagged');
    const dev = await user('tagger');
    await iamAs(ROOT).send(
      new PutUserPolicyCommand({
        UserName: 'tagger',
        PolicyName: 'blue',
        PolicyDocument: allow('lambda:GetFunction', '*', {
          Condition: { StringEquals: { 'aws:ResourceTag/team': 'blue' } },
        }),
      }),
    );
    await lambdaAs(dev).send(new GetFunctionCommand({ FunctionName: 'tagged' }));
    const f = await failure(
      lambdaAs(dev).send(new GetFunctionCommand({ FunctionName: 'untagged' })),
    );
    assert.equal(f.name, 'AccessDeniedException');
    assert.match(f.message, /on resource: .*:function:untagged because no identity-based policy/);
  });

  test('policy variables: ${aws:username} scopes a user to its own resources', async () => {
    await createFunction('alice-fn');
    await createFunction('bob-fn');
    const alice = await user('alice');
    await iamAs(ROOT).send(
      new PutUserPolicyCommand({
        UserName: 'alice',
        PolicyName: 'own',
        PolicyDocument: allow(
          'lambda:GetFunction',
          `arn:aws:lambda:*:*:function:\${aws:username}-*`,
        ),
      }),
    );
    await lambdaAs(alice).send(new GetFunctionCommand({ FunctionName: 'alice-fn' }));
    assert.equal(
      (await failure(lambdaAs(alice).send(new GetFunctionCommand({ FunctionName: 'bob-fn' }))))
        .name,
      'AccessDeniedException',
    );
  });

  test('a role session: the role policies apply; session policies narrow them', async () => {
    const root = iamAs(ROOT);
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    const role = await root.send(
      new CreateRoleCommand({ RoleName: 'reader', AssumeRolePolicyDocument: trust }),
    );
    await root.send(
      new PutRolePolicyCommand({
        RoleName: 'reader',
        PolicyName: 'read',
        PolicyDocument: allow(['lambda:ListFunctions', 'iam:ListRoles']),
      }),
    );
    const assume = async (Policy?: string): Promise<Keys> => {
      const c = (
        await stsAs(ROOT).send(
          new AssumeRoleCommand({ RoleArn: role.Role?.Arn, RoleSessionName: 'sess', Policy }),
        )
      ).Credentials;
      return {
        accessKeyId: c?.AccessKeyId ?? '',
        secretAccessKey: c?.SecretAccessKey ?? '',
        sessionToken: c?.SessionToken ?? '',
      };
    };
    const full = await assume();
    await lambdaAs(full).send(new ListFunctionsCommand({}));
    await iamAs(full).send(new ListRolesCommand({}));
    const narrow = await assume(allow('lambda:ListFunctions'));
    await lambdaAs(narrow).send(new ListFunctionsCommand({}));
    assert.deepEqual(await failure(iamAs(narrow).send(new ListRolesCommand({}))), {
      name: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/reader/sess is not authorized to perform: iam:ListRoles because no session policy allows the iam:ListRoles action`,
    });
  });

  test('within the account, an identity policy alone does not let a user assume a role its trust policy does not name', async () => {
    const root = iamAs(ROOT);
    const keys = await user('would-be-assumer');
    await root.send(
      new PutUserPolicyCommand({
        UserName: 'would-be-assumer',
        PolicyName: 'assume-any',
        PolicyDocument: allow('sts:AssumeRole'),
      }),
    );
    // fn-role trusts only lambda.amazonaws.com.
    assert.deepEqual(
      await failure(
        stsAs(keys).send(new AssumeRoleCommand({ RoleArn: lambdaRole, RoleSessionName: 'sess' })),
      ),
      {
        name: 'AccessDenied',
        status: 403,
        message: `User: arn:aws:iam::${ACCOUNT}:user/would-be-assumer is not authorized to perform: sts:AssumeRole on resource: ${lambdaRole}`,
      },
    );
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    const named = await root.send(
      new CreateRoleCommand({ RoleName: 'account-trusted', AssumeRolePolicyDocument: trust }),
    );
    const ok = await stsAs(keys).send(
      new AssumeRoleCommand({ RoleArn: named.Role?.Arn, RoleSessionName: 'sess' }),
    );
    assert.equal(
      ok.AssumedRoleUser?.Arn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/account-trusted/sess`,
    );
  });

  test('cross-account: a role is assumable from another account only when its trust policy allows', async () => {
    const other = { accessKeyId: '222222222222', secretAccessKey: 'test' };
    const owner = { accessKeyId: '111111111111', secretAccessKey: 'test' };
    const trusting = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: '222222222222' }, Action: 'sts:AssumeRole' },
      ],
    });
    const open = await iamAs(owner).send(
      new CreateRoleCommand({ RoleName: 'shared', AssumeRolePolicyDocument: trusting }),
    );
    const closed = await iamAs(owner).send(
      new CreateRoleCommand({ RoleName: 'private', AssumeRolePolicyDocument: TRUST }),
    );
    const ok = await stsAs(other).send(
      new AssumeRoleCommand({ RoleArn: open.Role?.Arn, RoleSessionName: 'xa' }),
    );
    assert.equal(ok.AssumedRoleUser?.Arn, 'arn:aws:sts::111111111111:assumed-role/shared/xa');
    assert.deepEqual(
      await failure(
        stsAs(other).send(
          new AssumeRoleCommand({ RoleArn: closed.Role?.Arn, RoleSessionName: 'xa' }),
        ),
      ),
      {
        name: 'AccessDenied',
        status: 403,
        message:
          'User: arn:aws:iam::222222222222:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/private',
      },
    );
  });

  test('cross-account: a Lambda function policy granting another account lets it invoke', async () => {
    const owner = { accessKeyId: '111111111111', secretAccessKey: 'test' };
    const other = { accessKeyId: '222222222222', secretAccessKey: 'test' };
    const role = await iamAs(owner).send(
      new CreateRoleCommand({ RoleName: 'fn', AssumeRolePolicyDocument: TRUST }),
    );
    await lambdaAs(owner).send(
      new CreateFunctionCommand({
        FunctionName: 'shared-fn',
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role.Role?.Arn,
        Code: { ZipFile: handlerZip() },
      }),
    );
    const arn = fnArn('shared-fn', '111111111111');
    const refused = await failure(
      lambdaAs(other).send(new GetFunctionCommand({ FunctionName: arn })),
    );
    assert.deepEqual(refused, {
      name: 'AccessDeniedException',
      status: 403,
      message: `User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:GetFunction on resource: ${arn} because no resource-based policy allows the lambda:GetFunction action`,
    });
    await lambdaAs(owner).send(
      new AddPermissionCommand({
        FunctionName: 'shared-fn',
        StatementId: 'other-account',
        Action: 'lambda:GetFunction',
        Principal: '222222222222',
      }),
    );
    const got = await lambdaAs(other).send(new GetFunctionCommand({ FunctionName: arn }));
    assert.equal(got.Configuration?.FunctionArn, arn);
  });

  test('a function whose role lacks a permission is refused from inside; attaching it fixes the next call', async () => {
    const root = iamAs(ROOT);
    await root.send(new CreateRoleCommand({ RoleName: 'lister', AssumeRolePolicyDocument: TRUST }));
    await lambdaAs(ROOT).send(
      new CreateFunctionCommand({
        FunctionName: 'list-roles',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: `arn:aws:iam::${ACCOUNT}:role/lister`,
        Timeout: 30,
        Code: {
          ZipFile: nodeZip(`
const { IAMClient, ListRolesCommand } = require('@aws-sdk/client-iam');
exports.handler = async () => {
  try {
    const out = await new IAMClient({ maxAttempts: 1 }).send(new ListRolesCommand({}));
    return { ok: out.Roles.length };
  } catch (e) {
    return { error: e.name, message: e.message };
  }
};`),
        },
      }),
    );
    const call = async () =>
      json((await lambdaAs(ROOT).send(new InvokeCommand({ FunctionName: 'list-roles' }))).Payload);
    assert.deepEqual(await call(), {
      error: 'AccessDenied',
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/lister/list-roles is not authorized to perform: iam:ListRoles because no identity-based policy allows the iam:ListRoles action`,
    });
    await root.send(
      new PutRolePolicyCommand({
        RoleName: 'lister',
        PolicyName: 'list',
        PolicyDocument: allow('iam:ListRoles'),
      }),
    );
    const fixed = (await call()) as { ok?: number };
    assert.ok((fixed.ok ?? 0) > 0, JSON.stringify(fixed));
  });

  test('registry pulls are authorised as ecr:* actions on the repository', async () => {
    await ecrAs(ROOT).send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const dev = await user('puller');
    await iamAs(ROOT).send(
      new PutUserPolicyCommand({
        UserName: 'puller',
        PolicyName: 'token',
        PolicyDocument: allow('ecr:GetAuthorizationToken'),
      }),
    );
    const token = (await ecrAs(dev).send(new GetAuthorizationTokenCommand({})))
      .authorizationData?.[0]?.authorizationToken;
    const list = () =>
      fetch(`${server.endpoint}/v2/app/tags/list`, {
        headers: { authorization: `Basic ${token}` },
      });
    const refused = await list();
    assert.equal(refused.status, 403);
    assert.deepEqual(((await refused.json()) as { errors: unknown[] }).errors[0], {
      code: 'DENIED',
      message: `User: arn:aws:iam::${ACCOUNT}:user/puller is not authorized to perform: ecr:ListImages on resource: arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app because no identity-based policy allows the ecr:ListImages action`,
      detail: null,
    });
    await iamAs(ROOT).send(
      new PutUserPolicyCommand({
        UserName: 'puller',
        PolicyName: 'pull',
        PolicyDocument: allow(
          ['ecr:ListImages', 'ecr:BatchGetImage'],
          `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app`,
        ),
      }),
    );
    const allowed = await list();
    assert.equal(allowed.status, 200, await allowed.clone().text());
    assert.deepEqual(await allowed.json(), { name: 'app', tags: [] });
  });

  test('the AWS CLI v2 and boto3 get the same AccessDenied', async () => {
    const dev = await user('cli-dev');
    const env = {
      AWS_ACCESS_KEY_ID: dev.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dev.secretAccessKey,
    };
    const cli = await awsCli(server.endpoint, ['lambda', 'list-functions'], env);
    assert.notEqual(cli.code, 0);
    assert.match(
      cli.stderr,
      /An error occurred \(AccessDeniedException\) when calling the ListFunctions operation: User: arn:aws:iam::000000000000:user\/cli-dev is not authorized to perform: lambda:ListFunctions because no identity-based policy allows the lambda:ListFunctions action/,
    );
    const py = await python(
      server.endpoint,
      `
import os, boto3, botocore
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
  aws_access_key_id="${dev.accessKeyId}", aws_secret_access_key="${dev.secretAccessKey}")
try:
    iam.list_roles()
    print("allowed")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), 'AccessDenied 403');
  });
});
