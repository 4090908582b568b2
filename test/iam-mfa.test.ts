/**
 * Virtual MFA devices through SDK v3, the AWS CLI v2 and boto3, in strict mode with IAM
 * enforcement: a device is enabled with two consecutive TOTP codes (computed here with the
 * device's seed, as an authenticator app would), and GetSessionToken with its code mints a
 * session in which `aws:MultiFactorAuthPresent` is true, so a policy that demands MFA
 * allows that session and refuses the user's long-term key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  DeactivateMFADeviceCommand,
  DeleteUserCommand,
  DeleteVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  GetMFADeviceCommand,
  IAMClient,
  ListMFADevicesCommand,
  ListUsersCommand,
  ListVirtualMFADevicesCommand,
  PutUserPolicyCommand,
  ResyncMFADeviceCommand,
  paginateListVirtualMFADevices,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { base32Decode, stepAt, totp } from '../src/shared/totp.js';
import { awsCli, python } from './helpers/clients.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const ROOT = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Lists users only when signed in with MFA (AWS's documented example policy). */
const MFA_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'iam:ListUsers',
      Resource: '*',
      Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    },
  ],
});

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

describe('virtual MFA devices and MFA sessions', () => {
  let server: TestServer;
  let iam: IAMClient;
  const clients: { destroy(): void }[] = [];
  const client = <C extends { destroy(): void }>(c: C): C => {
    clients.push(c);
    return c;
  };
  const cfg = (credentials: Creds) => ({
    endpoint: server.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials,
  });

  /** A user with an access key and the MFA-only policy. */
  async function mfaUser(name: string): Promise<Creds> {
    await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(
      new PutUserPolicyCommand({ UserName: name, PolicyName: 'mfa', PolicyDocument: MFA_POLICY }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey;
    return { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
  }

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    iam = client(new IAMClient(cfg(ROOT)));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  test('enable with consecutive codes; GetSessionToken with a code makes MFA present', async () => {
    const dev = await mfaUser('dev');
    const created = await iam.send(
      new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'dev-phone', Path: '/team/' }),
    );
    const serial = created.VirtualMFADevice?.SerialNumber ?? '';
    assert.equal(serial, `arn:aws:iam::${ACCOUNT}:mfa/team/dev-phone`);
    const seed = base32Decode(
      Buffer.from(created.VirtualMFADevice?.Base32StringSeed ?? []).toString(),
    );
    assert.equal(seed.length, 40);
    const png = Buffer.from(created.VirtualMFADevice?.QRCodePNG ?? []);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    await assert.rejects(
      iam.send(
        new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'dev-phone', Path: '/team/' }),
      ),
      (e: Error) => e.name === 'EntityAlreadyExistsException',
    );

    const now = stepAt(Date.now());
    await assert.rejects(
      iam.send(
        new EnableMFADeviceCommand({
          UserName: 'dev',
          SerialNumber: serial,
          AuthenticationCode1: totp(seed, now - 1),
          AuthenticationCode2: totp(seed, now - 3),
        }),
      ),
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, 'InvalidAuthenticationCodeException');
        assert.equal(e.message, 'Authentication code for device is not valid.');
        assert.equal(e.$metadata?.httpStatusCode, 403);
        return true;
      },
    );
    // Two steps back, so the current step's code is still unused for the sign-in below.
    await iam.send(
      new EnableMFADeviceCommand({
        UserName: 'dev',
        SerialNumber: serial,
        AuthenticationCode1: totp(seed, now - 2),
        AuthenticationCode2: totp(seed, now - 1),
      }),
    );
    const listed = await iam.send(new ListMFADevicesCommand({ UserName: 'dev' }));
    assert.deepEqual(
      listed.MFADevices?.map((d) => [d.UserName, d.SerialNumber]),
      [['dev', serial]],
    );
    const got = await iam.send(new GetMFADeviceCommand({ SerialNumber: serial }));
    assert.equal(got.UserName, 'dev');
    assert.ok(got.EnableDate instanceof Date);

    // The long-term key and a session without MFA are refused; a session with MFA is not.
    const denied = (e: Error) => e.name === 'AccessDenied';
    await assert.rejects(client(new IAMClient(cfg(dev))).send(new ListUsersCommand({})), denied);
    const sts = client(new STSClient(cfg(dev)));
    const plain = (await sts.send(new GetSessionTokenCommand({}))).Credentials;
    const asPlain = client(
      new IAMClient(
        cfg({
          accessKeyId: plain?.AccessKeyId ?? '',
          secretAccessKey: plain?.SecretAccessKey ?? '',
          sessionToken: plain?.SessionToken ?? '',
        }),
      ),
    );
    await assert.rejects(asPlain.send(new ListUsersCommand({})), denied);

    // A code from ten minutes on is outside the window.
    const wrong = totp(seed, stepAt(Date.now()) + 20);
    await assert.rejects(
      sts.send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: wrong })),
      (e: Error) => {
        assert.equal(e.name, 'AccessDenied');
        assert.match(
          e.message,
          /^MultiFactorAuthentication failed with invalid MFA one time pass code/,
        );
        return true;
      },
    );
    const code = totp(seed, stepAt(Date.now()));
    const mfa = (
      await sts.send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: code }))
    ).Credentials;
    const asMfa = client(
      new IAMClient(
        cfg({
          accessKeyId: mfa?.AccessKeyId ?? '',
          secretAccessKey: mfa?.SecretAccessKey ?? '',
          sessionToken: mfa?.SessionToken ?? '',
        }),
      ),
    );
    const users = await asMfa.send(new ListUsersCommand({}));
    assert.ok(users.Users?.some((u) => u.UserName === 'dev'));
    // A code is good once.
    await assert.rejects(
      sts.send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: code })),
      denied,
    );

    // Resynchronised with two codes further on, the device stays assigned.
    const later = stepAt(Date.now()) + 2;
    await iam.send(
      new ResyncMFADeviceCommand({
        UserName: 'dev',
        SerialNumber: serial,
        AuthenticationCode1: totp(seed, later),
        AuthenticationCode2: totp(seed, later + 1),
      }),
    );

    // Assigned: the user and the device cannot be deleted; deactivated, both can.
    await assert.rejects(
      iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial })),
      (e: Error) => e.name === 'DeleteConflictException',
    );
    await iam.send(new DeactivateMFADeviceCommand({ UserName: 'dev', SerialNumber: serial }));
    assert.deepEqual(
      (await iam.send(new ListMFADevicesCommand({ UserName: 'dev' }))).MFADevices,
      [],
    );
    await iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial }));
    await assert.rejects(
      iam.send(new GetMFADeviceCommand({ SerialNumber: serial })),
      (e: Error) => e.name === 'NoSuchEntityException',
    );
  });

  test('ListVirtualMFADevices filters by assignment and pages', async () => {
    for (const name of ['a', 'b', 'c']) {
      await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: `page-${name}` }));
    }
    const serials: string[] = [];
    for await (const page of paginateListVirtualMFADevices(
      { client: iam, pageSize: 1 },
      { AssignmentStatus: 'Unassigned' },
    )) {
      assert.ok((page.VirtualMFADevices?.length ?? 0) <= 1);
      for (const d of page.VirtualMFADevices ?? []) serials.push(d.SerialNumber ?? '');
    }
    assert.deepEqual(
      serials.filter((s) => s.includes(':mfa/page-')),
      ['a', 'b', 'c'].map((n) => `arn:aws:iam::${ACCOUNT}:mfa/page-${n}`),
    );
    const assigned = await iam.send(
      new ListVirtualMFADevicesCommand({ AssignmentStatus: 'Assigned' }),
    );
    assert.ok(!assigned.VirtualMFADevices?.some((d) => d.SerialNumber?.includes(':mfa/page-')));
  });

  test('the AWS CLI v2 enables a device and boto3 signs in with its code', async () => {
    const ops = await mfaUser('ops');
    const seedFile = join(mkdtempSync(join(tmpdir(), 'mfa-')), 'seed.txt');
    const created = await awsCli(server.endpoint, [
      'iam',
      'create-virtual-mfa-device',
      '--virtual-mfa-device-name',
      'ops-key',
      '--outfile',
      seedFile,
      '--bootstrap-method',
      'Base32StringSeed',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const keySerial = (JSON.parse(created.stdout) as { VirtualMFADevice: { SerialNumber: string } })
      .VirtualMFADevice.SerialNumber;
    assert.equal(keySerial, `arn:aws:iam::${ACCOUNT}:mfa/ops-key`);
    const seed = base32Decode(readFileSync(seedFile, 'utf8').trim());
    rmSync(dirname(seedFile), { recursive: true, force: true });
    const now = stepAt(Date.now());
    const enabled = await awsCli(server.endpoint, [
      'iam',
      'enable-mfa-device',
      '--user-name',
      'ops',
      '--serial-number',
      keySerial,
      '--authentication-code1',
      totp(seed, now - 2),
      '--authentication-code2',
      totp(seed, now - 1),
    ]);
    assert.equal(enabled.code, 0, enabled.stderr);
    const listed = await awsCli(server.endpoint, ['iam', 'list-mfa-devices', '--user-name', 'ops']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /mfa\/ops-key/);

    const py = await python(
      server.endpoint,
      `
import os, boto3
kw = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
sts = boto3.client("sts", aws_access_key_id="${ops.accessKeyId}",
  aws_secret_access_key="${ops.secretAccessKey}", **kw)
c = sts.get_session_token(SerialNumber="${keySerial}", TokenCode="${totp(seed, stepAt(Date.now()))}")["Credentials"]
iam = boto3.client("iam", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
  aws_session_token=c["SessionToken"], **kw)
print(sorted(u["UserName"] for u in iam.list_users()["Users"]))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout, /'ops'/);
    // A role whose trust policy names ops and demands MFA (ops has no identity policy for
    // sts:AssumeRole: the trust policy decides). AssumeRole with the device's next code.
    const roleArn =
      (
        await iam.send(
          new CreateRoleCommand({
            RoleName: 'breakglass',
            AssumeRolePolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/ops` },
                  Action: 'sts:AssumeRole',
                  Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
                },
              ],
            }),
          }),
        )
      ).Role?.Arn ?? '';
    const opsSts = client(new STSClient(cfg(ops)));
    await assert.rejects(
      opsSts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'no-mfa' })),
      (e: Error) => e.name === 'AccessDenied',
    );
    const assumed = await opsSts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'with-mfa',
        SerialNumber: keySerial,
        TokenCode: totp(seed, stepAt(Date.now()) + 1),
      }),
    );
    assert.equal(
      assumed.AssumedRoleUser?.Arn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/breakglass/with-mfa`,
    );
    // A made-up code gets past the trust policy but not STS.
    await assert.rejects(
      opsSts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: 'bad-mfa',
          SerialNumber: keySerial,
          TokenCode: totp(seed, stepAt(Date.now()) + 20),
        }),
      ),
      (e: Error) => {
        assert.equal(e.name, 'AccessDenied');
        assert.match(e.message, /^MultiFactorAuthentication failed/);
        return true;
      },
    );

    await assert.rejects(
      iam.send(new DeleteUserCommand({ UserName: 'ops' })),
      (e: Error) => e.name === 'DeleteConflictException',
    );
  });
});
