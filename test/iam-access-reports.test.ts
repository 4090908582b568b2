/**
 * IAM service last accessed data, recorded by the gateway's authoriser for every
 * authenticated call (here with --iam off, the default: it records in every mode), and the
 * Organizations and delegation operations a lone account gets refused; outbound web
 * identity federation (IAM's switch, STS's signed JWTs, the issuer's discovery documents).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddUserToGroupCommand,
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreateDelegationRequestCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GenerateOrganizationsAccessReportCommand,
  GenerateServiceLastAccessedDetailsCommand,
  GetDelegationRequestCommand,
  GetOrganizationsAccessReportCommand,
  DisableOutboundWebIdentityFederationCommand,
  EnableOutboundWebIdentityFederationCommand,
  GetOutboundWebIdentityFederationInfoCommand,
  GetServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsWithEntitiesCommand,
  IAMClient,
  ListDelegationRequestsCommand,
  ListOrganizationsFeaturesCommand,
  ListPoliciesGrantingServiceAccessCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  AssumeRoleCommand,
  AssumeRootCommand,
  GetWebIdentityTokenCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { awsCli, python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { failure } from './helpers/failure.js';

const ACCOUNT = '000000000000';
const allow = (...actions: string[]) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
  });
const trustAccount = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'sts:AssumeRole',
    },
  ],
});

describe('IAM service last accessed', () => {
  let server: TestServer;
  let iam: IAMClient;
  let sts: STSClient;

  before(async () => {
    server = await startTestServer({ logLevel: 'error' });
    iam = new IAMClient(clientConfig(server.endpoint));
    sts = new STSClient(clientConfig(server.endpoint));
  });
  after(async () => {
    iam.destroy();
    sts.destroy();
    await server.stop();
  });

  const generate = async (Arn: string, Granularity?: 'ACTION_LEVEL') =>
    (await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn, Granularity }))).JobId ??
    '';

  test('a user: the services its policies grant, with its last attempt at each', async () => {
    const { User } = await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    const alice = User?.Arn ?? '';
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'alice',
        PolicyName: 'fns',
        PolicyDocument: allow('lambda:List*', 's3:GetObject'),
      }),
    );
    await iam.send(new CreateGroupCommand({ GroupName: 'devs' }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'devs', UserName: 'alice' }));
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'devs',
        PolicyName: 'registry',
        PolicyDocument: allow('ecr:Describe*'),
      }),
    );
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'alice' }));
    const asAlice = new LambdaClient({
      ...clientConfig(server.endpoint),
      region: 'eu-west-1',
      credentials: {
        accessKeyId: AccessKey?.AccessKeyId ?? '',
        secretAccessKey: AccessKey?.SecretAccessKey ?? '',
      },
    });
    await asAlice.send(new ListFunctionsCommand({}));
    asAlice.destroy();

    const jobId = await generate(alice, 'ACTION_LEVEL');
    const report = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
    assert.equal(report.JobStatus, 'COMPLETED');
    assert.equal(report.JobType, 'ACTION_LEVEL');
    assert.deepEqual(
      report.ServicesLastAccessed?.map((s) => s.ServiceNamespace),
      ['ecr', 'lambda', 's3'],
    );
    const lambda = report.ServicesLastAccessed?.find((s) => s.ServiceNamespace === 'lambda');
    assert.equal(lambda?.ServiceName, 'AWS Lambda');
    assert.equal(lambda?.LastAuthenticatedEntity, alice);
    assert.equal(lambda?.LastAuthenticatedRegion, 'eu-west-1');
    assert.equal(lambda?.TotalAuthenticatedEntities, 1);
    assert.ok(lambda?.LastAuthenticated instanceof Date);
    assert.ok(Math.abs(Date.now() - lambda.LastAuthenticated.getTime()) < 600_000);
    assert.deepEqual(
      lambda.TrackedActionsLastAccessed?.map((a) => [a.ActionName, a.LastAccessedEntity]),
      [['ListFunctions', alice]],
    );
    const s3 = report.ServicesLastAccessed?.find((s) => s.ServiceNamespace === 's3');
    assert.equal(s3?.LastAuthenticated, undefined);
    assert.equal(s3?.TotalAuthenticatedEntities, 0);

    // Paging: one service a page.
    const first = await iam.send(
      new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: 1 }),
    );
    assert.equal(first.IsTruncated, true);
    const second = await iam.send(
      new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: 1, Marker: first.Marker }),
    );
    assert.equal(second.ServicesLastAccessed?.[0]?.ServiceNamespace, 'lambda');

    // The group's report names the member who used it.
    const group = `arn:aws:iam::${ACCOUNT}:group/devs`;
    const groupJob = await generate(group);
    const entities = await iam.send(
      new GetServiceLastAccessedDetailsWithEntitiesCommand({
        JobId: groupJob,
        ServiceNamespace: 'ecr',
      }),
    );
    assert.equal(entities.JobStatus, 'COMPLETED');
    assert.deepEqual(
      entities.EntityDetailsList?.map((e) => [e.EntityInfo?.Type, e.EntityInfo?.Name]),
      [['USER', 'alice']],
    );
    assert.equal(entities.EntityDetailsList?.[0]?.LastAuthenticated, undefined);

    const granting = await iam.send(
      new ListPoliciesGrantingServiceAccessCommand({
        Arn: alice,
        ServiceNamespaces: ['lambda', 'ecr', 'dynamodb'],
      }),
    );
    assert.deepEqual(
      granting.PoliciesGrantingServiceAccess?.map((e) => [
        e.ServiceNamespace,
        e.Policies?.map((p) => [p.PolicyName, p.PolicyType, p.EntityType, p.EntityName]),
      ]),
      [
        ['lambda', [['fns', 'INLINE', 'USER', 'alice']]],
        ['ecr', [['registry', 'INLINE', 'GROUP', 'devs']]],
        ['dynamodb', []],
      ],
    );
  });

  test('a managed policy: the role sessions that attempted each service it grants', async () => {
    const { Policy } = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'readers', PolicyDocument: allow('lambda:*') }),
    );
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: 'reader', AssumeRolePolicyDocument: trustAccount }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'reader', PolicyArn: Policy?.Arn }));
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: Role?.Arn, RoleSessionName: 'job' }),
    );
    const asRole = new LambdaClient({
      ...clientConfig(server.endpoint),
      credentials: {
        accessKeyId: Credentials?.AccessKeyId ?? '',
        secretAccessKey: Credentials?.SecretAccessKey ?? '',
        sessionToken: Credentials?.SessionToken ?? '',
      },
    });
    await asRole.send(new ListFunctionsCommand({}));
    asRole.destroy();

    // Through the AWS CLI v2 too.
    const gen = await awsCli(server.endpoint, [
      'iam',
      'generate-service-last-accessed-details',
      '--arn',
      Policy?.Arn ?? '',
    ]);
    assert.equal(gen.code, 0, gen.stderr);
    const jobId = (JSON.parse(gen.stdout) as { JobId: string }).JobId;
    const got = await awsCli(server.endpoint, [
      'iam',
      'get-service-last-accessed-details',
      '--job-id',
      jobId,
    ]);
    assert.equal(got.code, 0, got.stderr);
    const report = JSON.parse(got.stdout) as {
      JobStatus: string;
      ServicesLastAccessed: { ServiceNamespace: string; LastAuthenticatedEntity?: string }[];
    };
    assert.equal(report.JobStatus, 'COMPLETED');
    assert.deepEqual(report.ServicesLastAccessed, [
      {
        ...report.ServicesLastAccessed[0],
        ServiceNamespace: 'lambda',
        LastAuthenticatedEntity: Role?.Arn,
      },
    ]);
    const entities = await iam.send(
      new GetServiceLastAccessedDetailsWithEntitiesCommand({
        JobId: jobId,
        ServiceNamespace: 'lambda',
      }),
    );
    assert.equal(entities.EntityDetailsList?.[0]?.EntityInfo?.Arn, Role?.Arn);
    assert.ok(entities.EntityDetailsList?.[0]?.LastAuthenticated instanceof Date);
  });

  test('unknown entities and jobs are refused with NoSuchEntity', async () => {
    const missing = await failure(
      iam.send(
        new GenerateServiceLastAccessedDetailsCommand({
          Arn: `arn:aws:iam::${ACCOUNT}:user/nobody`,
        }),
      ),
    );
    assert.equal(missing.name, 'NoSuchEntityException');
    const job = await failure(
      iam.send(
        new GetServiceLastAccessedDetailsCommand({
          JobId: '11111111-2222-3333-4444-555555555555',
        }),
      ),
    );
    assert.equal(job.name, 'NoSuchEntityException');
  });

  test('an account outside any organization gets AWS refusals, never NotImplemented', async () => {
    const features = await failure(iam.send(new ListOrganizationsFeaturesCommand({})));
    assert.equal(features.name, 'OrganizationNotFoundException');
    const { JobId } = await iam.send(
      new GenerateOrganizationsAccessReportCommand({ EntityPath: 'o-a1b2c3d4e5/r-f6g7h8i9j0' }),
    );
    const org = await iam.send(new GetOrganizationsAccessReportCommand({ JobId }));
    assert.equal(org.JobStatus, 'FAILED');
    assert.equal(org.ErrorDetails?.Code, 'OrganizationNotFoundException');
    const root = await failure(
      sts.send(
        new AssumeRootCommand({
          TargetPrincipal: '111122223333',
          TaskPolicyArn: { arn: 'arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials' },
        }),
      ),
    );
    assert.equal(root.name, 'AccessDenied');
    const listed = await iam.send(new ListDelegationRequestsCommand({}));
    assert.deepEqual(listed.DelegationRequests, []);
    const get = await failure(
      iam.send(new GetDelegationRequestCommand({ DelegationRequestId: 'abcdefghij1234567890' })),
    );
    assert.equal(get.name, 'NoSuchEntityException');
    const create = await failure(
      iam.send(
        new CreateDelegationRequestCommand({
          Description: 'x',
          Permissions: { PolicyTemplateArn: 'arn:aws:iam::aws:policy/x' },
          RequestorWorkflowId: 'workflow-1',
          NotificationChannel: 'arn:aws:sns:us-east-1:111122223333:t',
          SessionDuration: 3600,
        }),
      ),
    );
    assert.equal(create.name, 'AccessDenied');
  });

  test('outbound federation: JWTs signed by the account key, verifiable at its issuer', async () => {
    const before = await failure(iam.send(new GetOutboundWebIdentityFederationInfoCommand({})));
    assert.equal(before.name, 'FeatureDisabledException');
    const disabled = await failure(
      sts.send(
        new GetWebIdentityTokenCommand({
          Audience: ['https://api.example.com'],
          SigningAlgorithm: 'RS256',
        }),
      ),
    );
    assert.equal(disabled.name, 'OutboundWebIdentityFederationDisabledException');

    const { IssuerIdentifier } = await iam.send(new EnableOutboundWebIdentityFederationCommand({}));
    assert.ok(IssuerIdentifier?.startsWith(`${server.endpoint}/`), IssuerIdentifier);
    const again = await failure(iam.send(new EnableOutboundWebIdentityFederationCommand({})));
    assert.equal(again.name, 'FeatureEnabledException');
    const info = await iam.send(new GetOutboundWebIdentityFederationInfoCommand({}));
    assert.deepEqual([info.IssuerIdentifier, info.JwtVendingEnabled], [IssuerIdentifier, true]);

    const discovery = (await (
      await fetch(`${IssuerIdentifier}/.well-known/openid-configuration`)
    ).json()) as { issuer: string; jwks_uri: string };
    assert.equal(discovery.issuer, IssuerIdentifier);
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    for (const alg of ['RS256', 'ES384']) {
      const out = await sts.send(
        new GetWebIdentityTokenCommand({
          Audience: ['https://api.example.com'],
          SigningAlgorithm: alg,
          DurationSeconds: 120,
          Tags: [{ Key: 'job', Value: 'nightly' }],
        }),
      );
      const token = out.WebIdentityToken ?? '';
      assert.equal(decodeProtectedHeader(token).alg, alg);
      const { payload } = await jwtVerify(token, jwks, {
        issuer: IssuerIdentifier,
        audience: 'https://api.example.com',
      });
      assert.equal(payload.sub, `arn:aws:iam::${ACCOUNT}:root`);
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120);
      assert.deepEqual(payload['https://sts.amazonaws.com/'], {
        aws_account: ACCOUNT,
        source_region: 'us-east-1',
        request_tags: { job: 'nightly' },
      });
      assert.equal(out.Expiration?.getTime(), (payload.exp ?? 0) * 1000);
    }

    // boto3 gets one too.
    const py = await python(
      server.endpoint,
      `
import boto3, os, json
sts = boto3.client('sts', endpoint_url=os.environ['ENDPOINT'])
out = sts.get_web_identity_token(Audience=['aud-1'], SigningAlgorithm='ES384')
print(json.dumps({'token': out['WebIdentityToken']}))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    const { token } = JSON.parse(py.stdout) as { token: string };
    const { payload } = await jwtVerify(token, jwks, { audience: 'aud-1' });
    assert.equal(payload.iss, IssuerIdentifier);

    await iam.send(new DisableOutboundWebIdentityFederationCommand({}));
    const off = await iam.send(new GetOutboundWebIdentityFederationInfoCommand({}));
    assert.equal(off.JwtVendingEnabled, false);
    const refused = await failure(
      sts.send(new GetWebIdentityTokenCommand({ Audience: ['x'], SigningAlgorithm: 'RS256' })),
    );
    assert.equal(refused.name, 'OutboundWebIdentityFederationDisabledException');
    const gone = await fetch(`${IssuerIdentifier}/.well-known/jwks.json`);
    assert.equal(gone.status, 404);
  });
});
