/**
 * SAML 2.0 federation: IAM SAML providers and STS AssumeRoleWithSAML with Responses signed
 * by a local IdP's self-signed key, through SDK v3, the AWS CLI v2 and boto3, in strict
 * mode with IAM enforcement. The signature really is checked: a tampered assertion and one
 * signed by another key are refused with AWS's error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateRoleCommand,
  CreateSAMLProviderCommand,
  DeleteSAMLProviderCommand,
  GetSAMLProviderCommand,
  IAMClient,
  ListRolesCommand,
  ListSAMLProvidersCommand,
  ListSAMLProviderTagsCommand,
  PutRolePolicyCommand,
  UpdateSAMLProviderCommand,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleWithSAMLCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { awsCli, python } from './helpers/clients.js';
import { localSamlIdp, type LocalSamlIdp, type SamlClaims } from './helpers/saml.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const ROOT = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('SAML federation (AssumeRoleWithSAML)', () => {
  let server: TestServer;
  let idp: LocalSamlIdp;
  let iam: IAMClient;
  let sts: STSClient;
  let providerArn: string;
  let roleArn: string;

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    idp = await localSamlIdp();
    const cfg = { endpoint: server.endpoint, region: 'us-east-1', maxAttempts: 1 };
    iam = new IAMClient({ ...cfg, credentials: ROOT });
    // AssumeRoleWithSAML is sent unsigned: the client is never asked for credentials.
    sts = new STSClient({
      ...cfg,
      credentials: () => Promise.reject(new Error('an unsigned call asked for credentials')),
    });
    providerArn =
      (
        await iam.send(
          new CreateSAMLProviderCommand({
            Name: 'corp-idp',
            SAMLMetadataDocument: idp.metadata,
            Tags: [{ Key: 'team', Value: 'sso' }],
          }),
        )
      ).SAMLProviderArn ?? '';
    // The trust policy the IAM console writes for a SAML provider.
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
          Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
        },
      ],
    };
    roleArn =
      (
        await iam.send(
          new CreateRoleCommand({
            RoleName: 'sso-admin',
            AssumeRolePolicyDocument: JSON.stringify(trust),
          }),
        )
      ).Role?.Arn ?? '';
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'sso-admin',
        PolicyName: 'list-roles',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:ListRoles', Resource: '*' }],
        }),
      }),
    );
  });
  after(async () => {
    iam.destroy();
    sts.destroy();
    await server.stop();
  });

  const claims = (extra: Partial<SamlClaims> = {}): SamlClaims => ({
    roleArn,
    providerArn,
    sessionName: 'alice',
    ...extra,
  });
  const assume = (assertion: string, arn = roleArn) =>
    sts.send(
      new AssumeRoleWithSAMLCommand({
        RoleArn: arn,
        PrincipalArn: providerArn,
        SAMLAssertion: assertion,
      }),
    );
  const refused = (assertion: string, name: string, message: RegExp, status: number) =>
    assert.rejects(assume(assertion), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, name, e.message);
      assert.match(e.message, message);
      assert.equal(e.$metadata?.httpStatusCode, status);
      return true;
    });

  test('the provider is stored, listed, updated and refused as AWS does', async () => {
    assert.equal(providerArn, `arn:aws:iam::${ACCOUNT}:saml-provider/corp-idp`);
    const got = await iam.send(new GetSAMLProviderCommand({ SAMLProviderArn: providerArn }));
    assert.equal(got.SAMLMetadataDocument, idp.metadata);
    assert.ok(got.CreateDate instanceof Date);
    assert.ok((got.ValidUntil?.getTime() ?? 0) > Date.now() + 50 * 365 * 86400_000);
    assert.deepEqual(got.Tags, [{ Key: 'team', Value: 'sso' }]);
    const list = await iam.send(new ListSAMLProvidersCommand({}));
    assert.deepEqual(
      list.SAMLProviderList?.map((p) => p.Arn),
      [providerArn],
    );
    const tags = await iam.send(new ListSAMLProviderTagsCommand({ SAMLProviderArn: providerArn }));
    assert.deepEqual(tags.Tags, [{ Key: 'team', Value: 'sso' }]);
    const updated = await iam.send(
      new UpdateSAMLProviderCommand({
        SAMLProviderArn: providerArn,
        SAMLMetadataDocument: idp.metadata,
      }),
    );
    assert.equal(updated.SAMLProviderArn, providerArn);

    const invalid = async (p: Promise<unknown>, name: string, message: RegExp) =>
      assert.rejects(p, (e: Error) => {
        assert.equal(e.name, name);
        assert.match(e.message, message);
        return true;
      });
    await invalid(
      iam.send(
        new CreateSAMLProviderCommand({ Name: 'corp-idp', SAMLMetadataDocument: idp.metadata }),
      ),
      'EntityAlreadyExistsException',
      /already exists/,
    );
    await invalid(
      iam.send(
        new CreateSAMLProviderCommand({
          Name: 'broken',
          SAMLMetadataDocument: `<EntityDescriptor>${'x'.repeat(1200)}</EntityDescriptor>`,
        }),
      ),
      'InvalidInputException',
      /^Could not parse metadata$/,
    );
    await invalid(
      iam.send(
        new GetSAMLProviderCommand({
          SAMLProviderArn: `arn:aws:iam::${ACCOUNT}:saml-provider/missing`,
        }),
      ),
      'NoSuchEntityException',
      /not found/,
    );
  });

  test('a signed assertion returns credentials that work and are enforced', async () => {
    const out = await assume(idp.response(claims()));
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/sso-admin/alice`);
    assert.equal(out.Subject, 'alice@example.test');
    assert.equal(out.SubjectType, 'persistent');
    assert.equal(out.Issuer, idp.entityId);
    assert.equal(out.Audience, 'https://signin.aws.amazon.com/saml');
    assert.match(out.NameQualifier ?? '', /^[A-Za-z0-9+/]{27}=$/);
    const c = out.Credentials;
    assert.ok(c);
    assert.ok(c.AccessKeyId?.startsWith('ASIA'));
    const cfg = {
      endpoint: server.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: c.AccessKeyId ?? '',
        secretAccessKey: c.SecretAccessKey ?? '',
        sessionToken: c.SessionToken ?? '',
      },
    };
    const asRole = { sts: new STSClient(cfg), iam: new IAMClient(cfg) };
    try {
      const me = await asRole.sts.send(new GetCallerIdentityCommand({}));
      assert.equal(me.Arn, out.AssumedRoleUser?.Arn);
      assert.ok((await asRole.iam.send(new ListRolesCommand({}))).Roles?.length);
      await assert.rejects(
        asRole.iam.send(new ListSAMLProvidersCommand({})),
        (e: Error) => e.name === 'AccessDenied',
      );
    } finally {
      asRole.sts.destroy();
      asRole.iam.destroy();
    }
  });

  test('tampered, foreign, expired and untrusted assertions get AWS errors', async () => {
    // Signed, then the session name changed: the digest no longer matches.
    const signed = Buffer.from(idp.response(claims()), 'base64').toString('utf8');
    const tampered = signed.replace('>alice<', '>mallory<');
    assert.notEqual(tampered, signed);
    await refused(
      Buffer.from(tampered).toString('base64'),
      'InvalidIdentityTokenException',
      /^Response signature invalid$/,
      400,
    );
    // Signed by a key the provider's metadata does not hold.
    const stranger = await localSamlIdp();
    await refused(
      stranger.response(claims()),
      'InvalidIdentityTokenException',
      /^Response signature invalid$/,
      400,
    );
    // Signed by the right key under another entity ID.
    const impostor = await localSamlIdp('https://elsewhere.example.test/saml');
    await iam.send(
      new UpdateSAMLProviderCommand({
        SAMLProviderArn: providerArn,
        SAMLMetadataDocument: impostor.metadata.replace(
          'https://elsewhere.example.test/saml',
          'https://other-entity.example.test',
        ),
      }),
    );
    await refused(
      impostor.response(claims()),
      'InvalidIdentityTokenException',
      /^Issuer not present in specified provider$/,
      400,
    );
    await iam.send(
      new UpdateSAMLProviderCommand({
        SAMLProviderArn: providerArn,
        SAMLMetadataDocument: idp.metadata,
      }),
    );
    await refused(
      idp.response(claims({ validFor: -3600 })),
      'ExpiredTokenException',
      /expired/,
      400,
    );
    await refused(
      idp.response(claims({ audience: 'https://someone-else.example.test' })),
      'InvalidIdentityTokenException',
      /^Response does not contain the required audience\.$/,
      400,
    );
    await refused(
      idp.response(claims({ sessionName: undefined })),
      'InvalidIdentityTokenException',
      /^RoleSessionName is required in AuthnResponse$/,
      400,
    );
    // saml:aud is the Recipient; the trust policy names AWS's sign-in endpoint only.
    await refused(
      idp.response(claims({ recipient: 'https://us-west-2.signin.aws.amazon.com/saml' })),
      'AccessDenied',
      /^Not authorized to perform sts:AssumeRoleWithSAML$/,
      403,
    );
    // The Role attribute must name the role asked for.
    await refused(
      idp.response(claims({ roleArn: `arn:aws:iam::${ACCOUNT}:role/other` })),
      'AccessDenied',
      /^Not authorized to perform sts:AssumeRoleWithSAML$/,
      403,
    );
  });

  test('the AWS CLI v2 and boto3 assume the role with an assertion', async () => {
    const cli = await awsCli(server.endpoint, [
      '--no-sign-request',
      'sts',
      'assume-role-with-saml',
      '--role-arn',
      roleArn,
      '--principal-arn',
      providerArn,
      '--saml-assertion',
      idp.response(claims({ sessionName: 'cli-user' })),
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const parsed = JSON.parse(cli.stdout) as { AssumedRoleUser: { Arn: string } };
    assert.equal(
      parsed.AssumedRoleUser.Arn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/sso-admin/cli-user`,
    );
    const list = await awsCli(server.endpoint, ['iam', 'list-saml-providers']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /saml-provider\/corp-idp/);
    const py = await python(
      server.endpoint,
      `
import os, boto3
sts = boto3.client("sts", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
  aws_access_key_id="test", aws_secret_access_key="test")
out = sts.assume_role_with_saml(RoleArn="${roleArn}", PrincipalArn="${providerArn}",
  SAMLAssertion="${idp.response(claims({ sessionName: 'py-user' }))}")
print(out["AssumedRoleUser"]["Arn"], out["SubjectType"])
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(
      py.stdout.trim(),
      `arn:aws:sts::${ACCOUNT}:assumed-role/sso-admin/py-user persistent`,
    );
  });

  test('deleting the provider ends federation', async () => {
    await iam.send(new DeleteSAMLProviderCommand({ SAMLProviderArn: providerArn }));
    await refused(
      idp.response(claims()),
      'InvalidIdentityTokenException',
      /^Specified provider doesn't exist\.$/,
      400,
    );
    await assert.rejects(
      iam.send(new DeleteSAMLProviderCommand({ SAMLProviderArn: providerArn })),
      (e: Error) => e.name === 'NoSuchEntityException',
    );
  });
});
