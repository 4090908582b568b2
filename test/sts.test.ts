/**
 * STS through the real clients: caller identity (AWS CLI, SDK v3, boto3), the account a
 * 12-digit key id selects in permissive mode, and AssumeRole sessions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  GetAccessKeyInfoCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { awsCli, python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

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

describe('STS', () => {
  let server: TestServer;
  let sts: STSClient;

  before(async () => {
    server = await startTestServer();
    sts = new STSClient(clientConfig(server.endpoint));
  });
  after(async () => {
    sts.destroy();
    await server.stop();
  });

  test('get-caller-identity through the AWS CLI', async () => {
    const res = await awsCli(server.endpoint, ['sts', 'get-caller-identity']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      UserId: '000000000000',
      Account: '000000000000',
      Arn: 'arn:aws:iam::000000000000:root',
    });
  });

  test('GetCallerIdentity through SDK v3', async () => {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(out.Account, '000000000000');
    assert.equal(out.Arn, 'arn:aws:iam::000000000000:root');
    assert.equal(out.UserId, '000000000000');
  });

  test('get_caller_identity through boto3', async () => {
    const res = await python(
      server.endpoint,
      `
import boto3, json, os
sts = boto3.client('sts', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
ident = sts.get_caller_identity()
print(json.dumps({k: ident[k] for k in ('Account', 'Arn', 'UserId')}))
`,
    );
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      Account: '000000000000',
      Arn: 'arn:aws:iam::000000000000:root',
      UserId: '000000000000',
    });
  });

  test('a 12-digit access key id selects that account (permissive mode)', async () => {
    const other = new STSClient({
      ...clientConfig(server.endpoint),
      credentials: { accessKeyId: '123456789012', secretAccessKey: 'anything' },
    });
    try {
      const out = await other.send(new GetCallerIdentityCommand({}));
      assert.equal(out.Account, '123456789012');
      assert.equal(out.Arn, 'arn:aws:iam::123456789012:root');
    } finally {
      other.destroy();
    }
    const cli = await awsCli(server.endpoint, ['sts', 'get-caller-identity'], {
      AWS_ACCESS_KEY_ID: '210987654321',
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { Account: string }).Account, '210987654321');
  });

  test('AssumeRole returns working session credentials for an existing role', async () => {
    const iam = new IAMClient(clientConfig(server.endpoint));
    const role = (
      await iam.send(
        new CreateRoleCommand({ RoleName: 'assumable', AssumeRolePolicyDocument: trust }),
      )
    ).Role;
    iam.destroy();
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: role?.Arn,
        RoleSessionName: 'sdk-session',
        DurationSeconds: 900,
      }),
    );
    const creds = out.Credentials;
    assert.ok(creds?.AccessKeyId?.startsWith('ASIA'));
    assert.ok((creds?.SessionToken?.length ?? 0) > 300);
    const ttl = (creds?.Expiration?.getTime() ?? 0) - Date.now();
    assert.ok(ttl > 800_000 && ttl <= 900_000, `expiration in ${ttl} ms`);
    assert.deepEqual(out.AssumedRoleUser, {
      AssumedRoleId: `${role?.RoleId}:sdk-session`,
      Arn: 'arn:aws:sts::000000000000:assumed-role/assumable/sdk-session',
    });

    const asRole = new STSClient({
      ...clientConfig(server.endpoint),
      credentials: {
        accessKeyId: creds?.AccessKeyId ?? '',
        secretAccessKey: creds?.SecretAccessKey ?? '',
        sessionToken: creds?.SessionToken,
      },
    });
    try {
      const who = await asRole.send(new GetCallerIdentityCommand({}));
      assert.equal(who.Arn, 'arn:aws:sts::000000000000:assumed-role/assumable/sdk-session');
      assert.equal(who.UserId, `${role?.RoleId}:sdk-session`);
      assert.equal(who.Account, '000000000000');
    } finally {
      asRole.destroy();
    }

    const info = await sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: creds?.AccessKeyId }));
    assert.equal(info.Account, '000000000000');
  });

  test('AssumeRole of a missing role is AccessDenied (403), also through the CLI', async () => {
    const arn = 'arn:aws:iam::000000000000:role/not-there';
    const err = (await sts
      .send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'probe' }))
      .catch((e: unknown) => e)) as {
      name: string;
      message: string;
      $metadata: { httpStatusCode?: number };
    };
    assert.equal(err.name, 'AccessDenied');
    assert.equal(err.$metadata.httpStatusCode, 403);
    assert.equal(
      err.message,
      `User: arn:aws:iam::000000000000:root is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    );
    const cli = await awsCli(server.endpoint, [
      'sts',
      'assume-role',
      '--role-arn',
      arn,
      '--role-session-name',
      'probe',
    ]);
    assert.notEqual(cli.code, 0);
    assert.match(
      cli.stderr,
      /An error occurred \(AccessDenied\) when calling the AssumeRole operation: User: /,
    );
  });

  test('RoleSessionName is validated by the model', async () => {
    const res = await awsCli(server.endpoint, [
      'sts',
      'assume-role',
      '--role-arn',
      'arn:aws:iam::000000000000:role/assumable',
      '--role-session-name',
      'has space',
    ]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /ValidationError/);
    assert.match(res.stderr, /roleSessionName/);
  });
});
