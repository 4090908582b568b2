/**
 * Strict authentication end to end: every request's SigV4 signature is checked against the
 * root keys, IAM user access keys and STS session credentials, with AWS's error codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  ListRolesCommand,
  UpdateAccessKeyCommand,
  UpdateUserCommand,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  AssumeRoleWithSAMLCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { startTestServer, type TestServer } from './helpers/server.js';
import { failure } from './helpers/failure.js';
import { signedFetch } from './helpers/sign.js';
import { AWS_CLI, awsCli } from './helpers/clients.js';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const ROOT: Keys = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('strict authentication', () => {
  let server: TestServer;
  const clients: { destroy(): void }[] = [];

  // One attempt: SDK v3 retries a skewed request after correcting its clock.
  const options = (credentials: Keys, extra: { systemClockOffset?: number } = {}) => ({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
    ...extra,
  });
  const stsAs = (c: Keys, extra?: { systemClockOffset?: number }) => {
    const client = new STSClient(options(c, extra));
    clients.push(client);
    return client;
  };
  const iamAs = (c: Keys, extra?: { systemClockOffset?: number }) => {
    const client = new IAMClient(options(c, extra));
    clients.push(client);
    return client;
  };
  const logsAs = (c: Keys, extra?: { systemClockOffset?: number }) => {
    const client = new CloudWatchLogsClient(options(c, extra));
    clients.push(client);
    return client;
  };
  const whoAmI = (c: Keys) => stsAs(c).send(new GetCallerIdentityCommand({}));

  before(async () => {
    // Authentication only: what the keys may do is iam-enforcement.test.ts's subject.
    server = await startTestServer({ auth: 'strict', iam: 'off' });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  test('the root keys are accepted', async () => {
    const me = await whoAmI(ROOT);
    assert.equal(me.Arn, 'arn:aws:iam::000000000000:root');
    await iamAs(ROOT).send(new ListRolesCommand({}));
    await logsAs(ROOT).send(new DescribeLogGroupsCommand({}));
  });

  test('a wrong secret: SignatureDoesNotMatch (query), InvalidSignatureException (json)', async () => {
    const wrong = { accessKeyId: 'test', secretAccessKey: 'not-the-secret' };
    for (const call of [
      () => stsAs(wrong).send(new GetCallerIdentityCommand({})),
      () => iamAs(wrong).send(new ListRolesCommand({})),
    ]) {
      const f = await failure(call());
      assert.equal(f.name, 'SignatureDoesNotMatch');
      assert.equal(f.status, 403);
      assert.match(
        f.message,
        /The request signature we calculated does not match the signature you provided/,
      );
    }
    const logs = await failure(logsAs(wrong).send(new DescribeLogGroupsCommand({})));
    assert.equal(logs.name, 'InvalidSignatureException');
    assert.equal(logs.status, 403);
  });

  test('a multi-protocol service reports a bad signature in the protocol of the request', async () => {
    const wrong = { service: 'monitoring', accessKeyId: 'test', secretAccessKey: 'nope' };
    const query = await signedFetch(server.endpoint, {
      ...wrong,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListMetrics&Version=2010-08-01',
    });
    assert.equal(query.status, 403);
    assert.match(query.text, /<ErrorResponse[^>]*>.*<Code>SignatureDoesNotMatch<\/Code>/s);
    const json = await signedFetch(server.endpoint, {
      ...wrong,
      headers: {
        'x-amz-target': 'GraniteServiceVersion20100801.ListMetrics',
        'content-type': 'application/x-amz-json-1.0',
      },
      body: '{}',
    });
    assert.equal(json.status, 403);
    assert.equal(JSON.parse(json.text).__type, 'InvalidSignatureException');
  });

  test('an unknown key: InvalidClientTokenId (query), UnrecognizedClientException (json)', async () => {
    const unknown = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' };
    for (const call of [
      () => stsAs(unknown).send(new GetCallerIdentityCommand({})),
      () => iamAs(unknown).send(new ListRolesCommand({})),
    ]) {
      assert.deepEqual(await failure(call()), {
        name: 'InvalidClientTokenId',
        status: 403,
        message: 'The security token included in the request is invalid.',
      });
    }
    assert.deepEqual(await failure(logsAs(unknown).send(new DescribeLogGroupsCommand({}))), {
      name: 'UnrecognizedClientException',
      status: 400,
      message: 'The security token included in the request is invalid.',
    });
  });

  test('a clock 20 minutes behind is refused as AWS does', async () => {
    const skew = { systemClockOffset: -20 * 60 * 1000 };
    const query = await failure(stsAs(ROOT, skew).send(new GetCallerIdentityCommand({})));
    assert.equal(query.name, 'SignatureDoesNotMatch');
    assert.equal(query.status, 403);
    assert.match(
      query.message,
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
    );
    const json = await failure(logsAs(ROOT, skew).send(new DescribeLogGroupsCommand({})));
    assert.equal(json.name, 'InvalidSignatureException');
    assert.match(json.message, /^Signature expired: /);
  });

  test('an IAM user access key authenticates as the user until made Inactive', async () => {
    const admin = iamAs(ROOT);
    const user = (await admin.send(new CreateUserCommand({ UserName: 'strict-user' }))).User;
    const key = (await admin.send(new CreateAccessKeyCommand({ UserName: 'strict-user' })))
      .AccessKey;
    const keys = {
      accessKeyId: key?.AccessKeyId ?? '',
      secretAccessKey: key?.SecretAccessKey ?? '',
    };

    const me = await whoAmI(keys);
    assert.equal(me.Arn, 'arn:aws:iam::000000000000:user/strict-user');
    assert.equal(me.UserId, user?.UserId);
    assert.equal(me.Account, '000000000000');
    // The user's key signs IAM requests too (Stratus does not evaluate IAM policies).
    await iamAs(keys).send(new ListRolesCommand({}));

    await admin.send(
      new UpdateAccessKeyCommand({
        UserName: 'strict-user',
        AccessKeyId: keys.accessKeyId,
        Status: 'Inactive',
      }),
    );
    assert.equal((await failure(whoAmI(keys))).name, 'InvalidClientTokenId');
    await admin.send(
      new UpdateAccessKeyCommand({
        UserName: 'strict-user',
        AccessKeyId: keys.accessKeyId,
        Status: 'Active',
      }),
    );
    assert.equal((await whoAmI(keys)).UserId, user?.UserId);

    // UpdateUser: the same key now signs as the renamed user, under its new ARN.
    await admin.send(
      new UpdateUserCommand({
        UserName: 'strict-user',
        NewUserName: 'strict-renamed',
        NewPath: '/r/',
      }),
    );
    const renamed = await whoAmI(keys);
    assert.equal(renamed.Arn, 'arn:aws:iam::000000000000:user/r/strict-renamed');
    assert.equal(renamed.UserId, user?.UserId);
  });

  test('AssumeRole session credentials work with their token and only with it', async () => {
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::000000000000:root' },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    const role = (
      await iamAs(ROOT).send(
        new CreateRoleCommand({ RoleName: 'strict-role', AssumeRolePolicyDocument: trust }),
      )
    ).Role;
    const creds = (
      await stsAs(ROOT).send(
        new AssumeRoleCommand({ RoleArn: role?.Arn, RoleSessionName: 'strict' }),
      )
    ).Credentials;
    const session = {
      accessKeyId: creds?.AccessKeyId ?? '',
      secretAccessKey: creds?.SecretAccessKey ?? '',
      sessionToken: creds?.SessionToken ?? '',
    };
    const me = await whoAmI(session);
    assert.equal(me.Arn, 'arn:aws:sts::000000000000:assumed-role/strict-role/strict');
    assert.equal(me.UserId, `${role?.RoleId}:strict`);
    await logsAs(session).send(new DescribeLogGroupsCommand({}));

    const withoutToken = {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
    };
    assert.deepEqual(await failure(whoAmI(withoutToken)), {
      name: 'InvalidClientTokenId',
      status: 403,
      message: 'The security token included in the request is invalid.',
    });
    const wrongToken = { ...session, sessionToken: `${session.sessionToken.slice(0, -4)}AAAA` };
    assert.equal((await failure(whoAmI(wrongToken))).name, 'InvalidClientTokenId');
  });

  test('unsigned AssumeRoleWithWebIdentity and AssumeRoleWithSAML reach STS (AWS takes them unsigned)', async () => {
    // https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html:
    // "Calling AssumeRoleWithWebIdentity does not require the use of AWS security
    // credentials." The SDK sends both unsigned (its credentials are never asked for here).
    // Reaching STS means STS's own answer: the token (no issuer) is refused as AWS refuses
    // it, and SAML names the provider it cannot find.
    const noCredentials = new STSClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: () => Promise.reject(new Error('an unsigned call asked for credentials')),
    });
    clients.push(noCredentials);
    const roleArn = 'arn:aws:iam::000000000000:role/web';
    const web = await failure(
      noCredentials.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleArn,
          RoleSessionName: 'web',
          WebIdentityToken: 'eyJhbGciOiJub25lIn0.e30.',
        }),
      ),
    );
    assert.equal(web.name, 'InvalidIdentityTokenException', web.message);
    assert.equal(web.status, 400);
    assert.match(web.message, /^The ID Token provided is not a valid JWT/);
    const saml = await failure(
      noCredentials.send(
        new AssumeRoleWithSAMLCommand({
          RoleArn: roleArn,
          PrincipalArn: 'arn:aws:iam::000000000000:saml-provider/idp',
          SAMLAssertion: Buffer.from('<samlp:Response/>').toString('base64'),
        }),
      ),
    );
    assert.equal(saml.name, 'InvalidIdentityTokenException', saml.message);
    assert.equal(saml.status, 400);
    assert.equal(saml.message, "Specified provider doesn't exist.");

    const cli = await awsCli(server.endpoint, [
      '--no-sign-request',
      'sts',
      'assume-role-with-web-identity',
      '--role-arn',
      roleArn,
      '--role-session-name',
      'web',
      '--web-identity-token',
      'eyJhbGciOiJub25lIn0.e30.',
    ]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /\(InvalidIdentityToken\)/, cli.stderr);

    // Only the operations AWS takes unsigned: the others still need a signature.
    const signedOnly = await awsCli(server.endpoint, [
      '--no-sign-request',
      'sts',
      'assume-role',
      '--role-arn',
      roleArn,
      '--role-session-name',
      'web',
    ]);
    assert.match(signedOnly.stderr, /\(MissingAuthenticationToken\)/, signedOnly.stderr);
  });

  test('unsigned requests: MissingAuthenticationToken in each protocol, not UnknownServiceException', async () => {
    const cases = [
      // query: the form names no service; AWS's STS answers <Code>MissingAuthenticationToken
      { args: ['sts', 'get-caller-identity'], error: 'MissingAuthenticationToken' },
      { args: ['iam', 'list-roles'], error: 'MissingAuthenticationToken' },
      // rest-json: nothing but the path; Lambda answers MissingAuthenticationTokenException
      { args: ['lambda', 'list-functions'], error: 'MissingAuthenticationTokenException' },
      // json: X-Amz-Target names the service
      { args: ['logs', 'describe-log-groups'], error: 'MissingAuthenticationTokenException' },
    ];
    for (const { args, error } of cases) {
      const r = await awsCli(server.endpoint, ['--no-sign-request', ...args]);
      assert.notEqual(r.code, 0, `${args.join(' ')} was accepted unsigned`);
      assert.match(
        r.stderr,
        new RegExp(`\\(${error}\\)`),
        `${AWS_CLI} ${args.join(' ')}: ${r.stderr}`,
      );
      assert.doesNotMatch(r.stderr, /UnknownService/);
    }
  });
});
