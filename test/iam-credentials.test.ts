/**
 * The rest of IAM's identity surface through SDK v3, the AWS CLI v2 and boto3 in strict
 * mode: login profiles under the account password policy (and ChangePassword by the user
 * itself), SSH keys, service-specific credentials, certificates, service-linked roles,
 * account alias and summary, access key last use (really recorded), the credential report
 * and GetAccountAuthorizationDetails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  ChangePasswordCommand,
  CreateAccessKeyCommand,
  CreateAccountAliasCommand,
  CreateLoginProfileCommand,
  CreateRoleCommand,
  CreateServiceLinkedRoleCommand,
  CreateUserCommand,
  DeleteAccountAliasCommand,
  DeleteLoginProfileCommand,
  DeleteRoleCommand,
  DeleteServiceLinkedRoleCommand,
  DeleteUserCommand,
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountPasswordPolicyCommand,
  GetAccountSummaryCommand,
  GetCredentialReportCommand,
  GetLoginProfileCommand,
  GetServiceLinkedRoleDeletionStatusCommand,
  GetUserCommand,
  IAMClient,
  ListAccountAliasesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
  UploadServerCertificateCommand,
  paginateGetAccountAuthorizationDetails,
} from '@aws-sdk/client-iam';
import { DecodeAuthorizationMessageCommand, STSClient } from '@aws-sdk/client-sts';
import { awsCli, python } from './helpers/clients.js';
import { localSamlIdp } from './helpers/saml.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const ROOT = { accessKeyId: 'test', secretAccessKey: 'test' };

const failsWith =
  (name: string, message?: RegExp) => (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.name, name, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };

describe('IAM credentials, account settings and reports', () => {
  let server: TestServer;
  let iam: IAMClient;
  const clients: IAMClient[] = [];
  const as = (credentials: { accessKeyId: string; secretAccessKey: string }) => {
    const c = new IAMClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    iam = as(ROOT);
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  test('the password policy is enforced on login profiles and ChangePassword', async () => {
    await assert.rejects(
      iam.send(new GetAccountPasswordPolicyCommand({})),
      failsWith('NoSuchEntityException', /^The Password Policy with domain name 000000000000/),
    );
    await iam.send(
      new UpdateAccountPasswordPolicyCommand({
        MinimumPasswordLength: 10,
        RequireSymbols: true,
        RequireNumbers: true,
        AllowUsersToChangePassword: true,
        PasswordReusePrevention: 2,
      }),
    );
    const policy = (await iam.send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy;
    assert.equal(policy?.MinimumPasswordLength, 10);
    assert.equal(policy?.RequireUppercaseCharacters, false);

    await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    await assert.rejects(
      iam.send(new CreateLoginProfileCommand({ UserName: 'alice', Password: 'short1!' })),
      failsWith('PasswordPolicyViolationException', /minimum length of 10/),
    );
    await assert.rejects(
      iam.send(new CreateLoginProfileCommand({ UserName: 'alice', Password: 'longenough1' })),
      failsWith('PasswordPolicyViolationException', /at least one symbol/),
    );
    const created = await iam.send(
      new CreateLoginProfileCommand({
        UserName: 'alice',
        Password: 'first-pass-1',
        PasswordResetRequired: true,
      }),
    );
    assert.equal(created.LoginProfile?.PasswordResetRequired, true);
    await assert.rejects(
      iam.send(new CreateLoginProfileCommand({ UserName: 'alice', Password: 'first-pass-1' })),
      failsWith('EntityAlreadyExistsException'),
    );
    assert.equal(
      (await iam.send(new GetLoginProfileCommand({ UserName: 'alice' }))).LoginProfile?.UserName,
      'alice',
    );

    // Alice changes her own password with her own key.
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'alice',
        PolicyName: 'self',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['iam:ChangePassword', 'iam:GetUser'],
              Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`,
            },
          ],
        }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'alice' }))).AccessKey;
    const alice = as({
      accessKeyId: key?.AccessKeyId ?? '',
      secretAccessKey: key?.SecretAccessKey ?? '',
    });
    await assert.rejects(
      alice.send(
        new ChangePasswordCommand({ OldPassword: 'wrong-pass-1', NewPassword: 'second-pass-2' }),
      ),
      failsWith('InvalidInputException', /old password was incorrect/),
    );
    await assert.rejects(
      alice.send(
        new ChangePasswordCommand({ OldPassword: 'first-pass-1', NewPassword: 'first-pass-1' }),
      ),
      failsWith('PasswordPolicyViolationException', /used previously/),
    );
    await alice.send(
      new ChangePasswordCommand({ OldPassword: 'first-pass-1', NewPassword: 'second-pass-2' }),
    );
    assert.equal(
      (await iam.send(new GetLoginProfileCommand({ UserName: 'alice' }))).LoginProfile
        ?.PasswordResetRequired,
      false,
    );

    // Alice's key was used for iam: GetAccessKeyLastUsed says so.
    await alice.send(new GetUserCommand({}));
    const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key?.AccessKeyId }));
    assert.equal(used.UserName, 'alice');
    assert.equal(used.AccessKeyLastUsed?.ServiceName, 'iam');
    assert.equal(used.AccessKeyLastUsed?.Region, 'us-east-1');
    assert.ok(used.AccessKeyLastUsed?.LastUsedDate instanceof Date);

    await assert.rejects(
      iam.send(new DeleteUserCommand({ UserName: 'alice' })),
      failsWith('DeleteConflictException'),
    );
    await iam.send(new DeleteLoginProfileCommand({ UserName: 'alice' }));
  });

  test('SSH keys (AWS CLI v2) and service-specific credentials (boto3)', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'git' }));
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    const up = await awsCli(server.endpoint, [
      'iam',
      'upload-ssh-public-key',
      '--user-name',
      'git',
      '--ssh-public-key-body',
      pem,
    ]);
    assert.equal(up.code, 0, up.stderr);
    const key = (
      JSON.parse(up.stdout) as {
        SSHPublicKey: { SSHPublicKeyId: string; SSHPublicKeyBody: string; Fingerprint: string };
      }
    ).SSHPublicKey;
    assert.match(key.SSHPublicKeyId, /^APKA[A-Z2-7]{17}$/);
    assert.match(key.SSHPublicKeyBody, /^ssh-rsa AAAA/);
    assert.match(key.Fingerprint, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    const asPem = await awsCli(server.endpoint, [
      'iam',
      'get-ssh-public-key',
      '--user-name',
      'git',
      '--ssh-public-key-id',
      key.SSHPublicKeyId,
      '--encoding',
      'PEM',
    ]);
    assert.equal(asPem.code, 0, asPem.stderr);
    assert.equal(
      (JSON.parse(asPem.stdout) as { SSHPublicKey: { SSHPublicKeyBody: string } }).SSHPublicKey
        .SSHPublicKeyBody,
      pem,
    );
    const dup = await awsCli(server.endpoint, [
      'iam',
      'upload-ssh-public-key',
      '--user-name',
      'git',
      '--ssh-public-key-body',
      key.SSHPublicKeyBody,
    ]);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /DuplicateSSHPublicKey/);
    const keyArgs = ['--user-name', 'git', '--ssh-public-key-id', key.SSHPublicKeyId];
    const inactive = await awsCli(server.endpoint, [
      'iam',
      'update-ssh-public-key',
      ...keyArgs,
      '--status',
      'Inactive',
    ]);
    assert.equal(inactive.code, 0, inactive.stderr);
    const listed = await awsCli(server.endpoint, [
      'iam',
      'list-ssh-public-keys',
      '--user-name',
      'git',
    ]);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { SSHPublicKeys: { Status: string }[] }).SSHPublicKeys.map(
        (k) => k.Status,
      ),
      ['Inactive'],
    );
    const deleted = await awsCli(server.endpoint, ['iam', 'delete-ssh-public-key', ...keyArgs]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await awsCli(server.endpoint, ['iam', 'delete-ssh-public-key', ...keyArgs]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NoSuchEntity.*cannot be found/);

    const py = await python(
      server.endpoint,
      `
import os, boto3
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
  aws_access_key_id="test", aws_secret_access_key="test")
c = iam.create_service_specific_credential(UserName="git", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
assert c["ServiceUserName"] == "git-at-${ACCOUNT}", c
assert len(c["ServicePassword"]) >= 40
r = iam.reset_service_specific_credential(UserName="git", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])["ServiceSpecificCredential"]
assert r["ServicePassword"] != c["ServicePassword"]
listed = iam.list_service_specific_credentials(UserName="git")["ServiceSpecificCredentials"]
assert [x["ServiceSpecificCredentialId"] for x in listed] == [c["ServiceSpecificCredentialId"]]
assert "ServicePassword" not in listed[0]
try:
    iam.create_service_specific_credential(UserName="git", ServiceName="s3.amazonaws.com")
    raise SystemExit("s3 accepted")
except iam.exceptions.ServiceNotSupportedException:
    pass
try:
    iam.delete_user(UserName="git")
    raise SystemExit("deleted with credentials")
except iam.exceptions.DeleteConflictException:
    pass
iam.delete_service_specific_credential(UserName="git", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
print("ok")
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), 'ok');
  });

  test('server certificates refuse a key that does not match', async () => {
    const a = await localSamlIdp();
    const b = await localSamlIdp();
    await assert.rejects(
      iam.send(
        new UploadServerCertificateCommand({
          ServerCertificateName: 'web',
          CertificateBody: a.cert,
          PrivateKey: b.key,
        }),
      ),
      failsWith('KeyPairMismatchException'),
    );
    const ok = await iam.send(
      new UploadServerCertificateCommand({
        ServerCertificateName: 'web',
        CertificateBody: a.cert,
        PrivateKey: a.key,
      }),
    );
    assert.equal(
      ok.ServerCertificateMetadata?.Arn,
      `arn:aws:iam::${ACCOUNT}:server-certificate/web`,
    );
    assert.ok((ok.ServerCertificateMetadata?.Expiration?.getTime() ?? 0) > Date.now());
  });

  test('service-linked roles have AWS names and paths and resist DeleteRole', async () => {
    const role = (
      await iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: 'ecs.amazonaws.com' }))
    ).Role;
    assert.equal(role?.RoleName, 'AWSServiceRoleForECS');
    assert.equal(role?.Path, '/aws-service-role/ecs.amazonaws.com/');
    await assert.rejects(
      iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: 'ecs.amazonaws.com' })),
      failsWith('InvalidInputException', /has been taken in this account/),
    );
    await assert.rejects(
      iam.send(
        new CreateServiceLinkedRoleCommand({
          AWSServiceName: 'ecs.amazonaws.com',
          CustomSuffix: 'x',
        }),
      ),
      failsWith('InvalidInputException'),
    );
    await assert.rejects(
      iam.send(new DeleteRoleCommand({ RoleName: 'AWSServiceRoleForECS' })),
      failsWith('UnmodifiableEntityException', /protected role/),
    );
    const task = await iam.send(
      new DeleteServiceLinkedRoleCommand({ RoleName: 'AWSServiceRoleForECS' }),
    );
    assert.match(task.DeletionTaskId ?? '', /^task\/aws-service-role\/ecs\.amazonaws\.com\//);
    const status = await iam.send(
      new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: task.DeletionTaskId }),
    );
    assert.equal(status.Status, 'SUCCEEDED');
  });

  test('DecodeAuthorizationMessage refuses a message Stratus did not encode', async () => {
    const sts = new STSClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: ROOT,
    });
    try {
      await assert.rejects(
        sts.send(new DecodeAuthorizationMessageCommand({ EncodedMessage: 'bm90LWEtbWVzc2FnZQ' })),
        (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(e.name, 'InvalidAuthorizationMessageException');
          assert.equal(e.$metadata?.httpStatusCode, 400);
          return true;
        },
      );
    } finally {
      sts.destroy();
    }
  });

  test('account alias, summary, credential report and authorization details', async () => {
    await iam.send(new CreateAccountAliasCommand({ AccountAlias: 'stratus-test' }));
    assert.deepEqual((await iam.send(new ListAccountAliasesCommand({}))).AccountAliases, [
      'stratus-test',
    ]);
    await assert.rejects(
      iam.send(new CreateAccountAliasCommand({ AccountAlias: 'another' })),
      failsWith('LimitExceededException'),
    );
    await iam.send(new DeleteAccountAliasCommand({ AccountAlias: 'stratus-test' }));

    await iam.send(
      new CreateRoleCommand({
        RoleName: 'reader',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    const doc = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'logs:*', Resource: '*' }],
    });
    await iam.send(
      new PutRolePolicyCommand({ RoleName: 'reader', PolicyName: 'logs', PolicyDocument: doc }),
    );
    const summary = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap;
    assert.ok((summary?.Users ?? 0) >= 2);
    assert.equal(summary?.ServerCertificates, 1);

    await assert.rejects(
      iam.send(new GetCredentialReportCommand({})),
      failsWith('CredentialReportNotPresentException'),
    );
    assert.equal((await iam.send(new GenerateCredentialReportCommand({}))).State, 'COMPLETE');
    const report = await iam.send(new GetCredentialReportCommand({}));
    assert.equal(report.ReportFormat, 'text/csv');
    const lines = Buffer.from(report.Content ?? [])
      .toString()
      .split('\n');
    assert.match(lines[0], /^user,arn,user_creation_time,password_enabled,/);
    assert.match(lines[1], /^<root_account>,arn:aws:iam::000000000000:root,/);
    const aliceRow = lines.find((l) => l.startsWith('alice,'))?.split(',');
    assert.equal(aliceRow?.[8], 'true'); // access_key_1_active
    assert.equal(aliceRow?.[12], 'iam'); // access_key_1_last_used_service

    const details = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'] }));
    const reader = details.RoleDetailList?.find((r) => r.RoleName === 'reader');
    assert.deepEqual(
      reader?.RolePolicyList?.map((p) => [
        p.PolicyName,
        decodeURIComponent(p.PolicyDocument ?? ''),
      ]),
      [['logs', doc]],
    );
    assert.deepEqual(details.UserDetailList, []);
    let users = 0;
    let pages = 0;
    for await (const page of paginateGetAccountAuthorizationDetails(
      { client: iam, pageSize: 1 },
      { Filter: ['User', 'Role'] },
    )) {
      pages++;
      users += page.UserDetailList?.length ?? 0;
    }
    assert.ok(users >= 2);
    assert.ok(pages >= 3);
  });
});
