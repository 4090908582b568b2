/**
 * OpenID Connect federation: IAM OIDC providers and STS AssumeRoleWithWebIdentity with ID
 * tokens from a local issuer (discovery document and JWKS served by node:http, tokens
 * signed with jose), through SDK v3, the AWS CLI v2 and boto3, in strict mode with IAM
 * enforcement.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AddClientIDToOpenIDConnectProviderCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { awsCli, python } from './helpers/clients.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const ROOT = { accessKeyId: 'test', secretAccessKey: 'test' };
const CLIENT_ID = 'stratus-test-client';
const SUBJECT = 'repo:octo/app:ref:refs/heads/main';

/** A minimal OpenID Connect issuer: discovery, one RSA key, tokens on demand. */
async function startIssuer() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    } else if (req.url === '/keys') {
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (
    claims: Record<string, unknown>,
    { key = privateKey, expiresIn = '10m' }: { key?: CryptoKey; expiresIn?: string | number } = {},
  ) =>
    new SignJWT({ sub: SUBJECT, aud: CLIENT_ID, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);
  return { issuer, sign, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('OpenID Connect federation (AssumeRoleWithWebIdentity)', () => {
  let server: TestServer;
  let idp: Awaited<ReturnType<typeof startIssuer>>;
  let iam: IAMClient;
  let sts: STSClient;
  let providerArn: string;
  let roleArn: string;
  const host = () => idp.issuer.slice('http://'.length);

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    idp = await startIssuer();
    const cfg = { endpoint: server.endpoint, region: 'us-east-1' };
    iam = new IAMClient({ ...cfg, credentials: ROOT });
    // The call is unsigned: the SDK needs no credentials for it.
    sts = new STSClient({ ...cfg, credentials: ROOT, maxAttempts: 1 });

    providerArn =
      (
        await iam.send(
          new CreateOpenIDConnectProviderCommand({
            Url: idp.issuer,
            ClientIDList: ['other-client'],
            Tags: [{ Key: 'team', Value: 'ci' }],
          }),
        )
      ).OpenIDConnectProviderArn ?? '';
    await iam.send(
      new AddClientIDToOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn: providerArn,
        ClientID: CLIENT_ID,
      }),
    );
    // The trust policy GitHub's documentation gives for Actions, with this issuer.
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { [`${host()}:aud`]: CLIENT_ID },
            StringLike: { [`${host()}:sub`]: 'repo:octo/app:*' },
          },
        },
      ],
    };
    roleArn =
      (
        await iam.send(
          new CreateRoleCommand({
            RoleName: 'ci-deploy',
            AssumeRolePolicyDocument: JSON.stringify(trust),
          }),
        )
      ).Role?.Arn ?? '';
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'ci-deploy',
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
    await idp.close();
    await server.stop();
  });

  const assume = (token: string, sessionName = 'ci') =>
    sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        WebIdentityToken: token,
      }),
    );

  test('the provider is stored as AWS reports it', async () => {
    assert.equal(providerArn, `arn:aws:iam::${ACCOUNT}:oidc-provider/${host()}`);
    const got = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }),
    );
    assert.equal(got.Url, host());
    assert.deepEqual(got.ClientIDList, ['other-client', CLIENT_ID]);
    assert.deepEqual(got.Tags, [{ Key: 'team', Value: 'ci' }]);
    const list = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    assert.deepEqual(list.OpenIDConnectProviderList, [{ Arn: providerArn }]);
    await assert.rejects(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: idp.issuer })),
      (e: Error) => e.name === 'EntityAlreadyExistsException',
    );
    await assert.rejects(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: 'http://issuer.example.com' })),
      (e: Error) => e.name === 'InvalidInputException',
    );
  });

  test('a token from the local issuer returns credentials that work and are enforced', async () => {
    const out = await assume(await idp.sign({}));
    assert.equal(out.SubjectFromWebIdentityToken, SUBJECT);
    assert.equal(out.Audience, CLIENT_ID);
    assert.equal(out.Provider, idp.issuer);
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/ci-deploy/ci`);
    const c = out.Credentials;
    assert.ok(c);
    assert.ok(c.AccessKeyId?.startsWith('ASIA'));
    const credentials = {
      accessKeyId: c.AccessKeyId ?? '',
      secretAccessKey: c.SecretAccessKey ?? '',
      sessionToken: c.SessionToken ?? '',
    };
    const cfg = { endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 };
    const asRole = { sts: new STSClient(cfg), iam: new IAMClient(cfg) };
    const me = await asRole.sts.send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, out.AssumedRoleUser?.Arn);
    // The role's policy allows ListRoles and nothing else.
    assert.ok((await asRole.iam.send(new ListRolesCommand({}))).Roles?.length);
    await assert.rejects(
      asRole.iam.send(new ListOpenIDConnectProvidersCommand({})),
      (e: Error) => e.name === 'AccessDenied' || e.name === 'AccessDeniedException',
    );
    asRole.sts.destroy();
    asRole.iam.destroy();
  });

  test('expired, wrongly signed, wrong-audience and untrusted tokens get AWS errors', async () => {
    const refused = async (token: string, name: string, message: RegExp) =>
      assert.rejects(assume(token), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, name);
        assert.match(e.message, message);
        assert.ok((e.$metadata?.httpStatusCode ?? 0) >= 400);
        return true;
      });
    await refused(
      await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      'ExpiredTokenException',
      /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/,
    );
    const stranger = await generateKeyPair('RS256');
    await refused(
      await idp.sign({}, { key: stranger.privateKey }),
      'InvalidIdentityTokenException',
      /Couldn't retrieve verification key/,
    );
    await refused(
      await idp.sign({ aud: 'someone-else' }),
      'InvalidIdentityTokenException',
      /^Incorrect token audience$/,
    );
    await refused('not.a.jwt', 'InvalidIdentityTokenException', /not a valid JWT/);
    // Signed and addressed correctly, but the trust policy names another repository.
    await refused(
      await idp.sign({ sub: 'repo:evil/app:ref:refs/heads/main' }),
      'AccessDenied',
      /Not authorized to perform sts:AssumeRoleWithWebIdentity/,
    );
  });

  test('the AWS CLI v2 and boto3 assume the role with a token', async () => {
    const token = await idp.sign({});
    const cli = await awsCli(server.endpoint, [
      'sts',
      'assume-role-with-web-identity',
      '--role-arn',
      roleArn,
      '--role-session-name',
      'cli',
      '--web-identity-token',
      token,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const parsed = JSON.parse(cli.stdout) as { AssumedRoleUser: { Arn: string } };
    assert.equal(parsed.AssumedRoleUser.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/ci-deploy/cli`);
    const py = await python(
      server.endpoint,
      `
import os, boto3
sts = boto3.client("sts", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
  aws_access_key_id="test", aws_secret_access_key="test")
out = sts.assume_role_with_web_identity(RoleArn="${roleArn}", RoleSessionName="py",
  WebIdentityToken="${token}")
print(out["SubjectFromWebIdentityToken"])
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), SUBJECT);
  });

  test('deleting the provider ends federation; deleting again is not an error', async () => {
    await iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }),
    );
    await iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }),
    );
    await assert.rejects(assume(await idp.sign({})), (e: Error) => {
      assert.equal(e.name, 'InvalidIdentityTokenException');
      assert.equal(e.message, `No OpenIDConnect provider found in your account for ${idp.issuer}`);
      return true;
    });
  });
});
