/**
 * SimulateCustomPolicy and SimulatePrincipalPolicy through SDK v3, the AWS CLI v2 and boto3:
 * the documentation cases (test/helpers/policy-cases.ts) decide as AWS documents, and a
 * simulation agrees with what enforcement does to the same user's real calls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteUserPolicyCommand,
  IAMClient,
  ListRolesCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
  SimulateCustomPolicyCommand,
  SimulatePrincipalPolicyCommand,
  CreateRoleCommand,
  GetUserCommand,
  type ContextEntry,
} from '@aws-sdk/client-iam';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda';
import { awsCli, python } from './helpers/clients.js';
import { TRUST, handlerZip } from './helpers/lambda.js';
import { POLICY_CASES } from './helpers/policy-cases.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const ROOT = { accessKeyId: 'test', secretAccessKey: 'test' };
const fn = (n: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${n}`;

type Statement = Record<string, unknown>;
const ALLOW_ALL: Statement = { Effect: 'Allow', Action: '*', Resource: '*' };

/**
 * Identity policies taken from AWS's examples, each put on one user whose real calls are
 * compared with SimulatePrincipalPolicy's decision for the same calls.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_examples.html
 */
const AGREEMENT_POLICIES: { name: string; statements: Statement[] }[] = [
  { name: 'list IAM', statements: [{ Effect: 'Allow', Action: 'iam:List*', Resource: '*' }] },
  {
    name: 'all of Lambda and one IAM action',
    statements: [{ Effect: 'Allow', Action: ['lambda:*', 'iam:ListRoles'], Resource: '*' }],
  },
  {
    name: 'a resource wildcard',
    statements: [{ Effect: 'Allow', Action: 'lambda:GetFunction', Resource: fn('sim-*') }],
  },
  {
    name: 'NotAction',
    statements: [{ Effect: 'Allow', NotAction: 'lambda:*', Resource: '*' }],
  },
  {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html
    name: 'aws:ResourceTag',
    statements: [
      {
        Effect: 'Allow',
        Action: 'lambda:GetFunction',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/team': 'a' } },
      },
    ],
  },
  {
    // reference_policies_examples_iam_users-manage-self (policy variables)
    name: 'users read themselves through ${aws:username}',
    statements: [
      { Effect: 'Allow', Action: 'iam:GetUser', Resource: 'arn:aws:iam::*:user/${aws:username}' },
    ],
  },
  {
    // reference_policies_examples_aws_deny-requested-region
    name: 'deny outside a region, global services exempt',
    statements: [
      ALLOW_ALL,
      {
        Effect: 'Deny',
        NotAction: ['iam:*', 'sts:*'],
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': ['eu-west-1', 'eu-central-1'] } },
      },
    ],
  },
  {
    // reference_policies_examples_aws_deny-ip
    name: 'deny from outside an address range',
    statements: [
      ALLOW_ALL,
      {
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24'] } },
      },
    ],
  },
  {
    name: 'allow from loopback only',
    statements: [
      {
        Effect: 'Allow',
        Action: ['iam:List*', 'lambda:List*'],
        Resource: '*',
        Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
      },
    ],
  },
  {
    // The S3 examples' "deny insecure transport", for every service.
    name: 'deny without TLS',
    statements: [
      ALLOW_ALL,
      {
        Effect: 'Deny',
        Action: 'lambda:*',
        Resource: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  },
  {
    // reference_policies_examples_aws-dates
    name: 'a date window that is open',
    statements: [
      {
        Effect: 'Allow',
        Action: 'iam:*',
        Resource: '*',
        Condition: {
          DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' },
          DateLessThan: { 'aws:CurrentTime': '2099-12-31T23:59:59Z' },
        },
      },
    ],
  },
  {
    name: 'a date window that has closed',
    statements: [
      { Effect: 'Allow', Action: 'lambda:*', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'iam:*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
      },
    ],
  },
  {
    name: 'NotResource',
    statements: [{ Effect: 'Allow', Action: ['lambda:*', 'iam:Get*'], NotResource: fn('sim-b') }],
  },
  {
    // reference_policies_elements_condition_operators.html#Conditions_Null
    name: 'Null: only tagged functions',
    statements: [
      {
        Effect: 'Allow',
        Action: 'lambda:*',
        Resource: '*',
        Condition: { Null: { 'aws:ResourceTag/team': 'false' } },
      },
    ],
  },
  {
    name: 'StringLike on a tag, explicit deny on another user',
    statements: [
      {
        Effect: 'Allow',
        Action: 'lambda:GetFunction',
        Resource: '*',
        Condition: { StringLike: { 'aws:ResourceTag/team': 'b*' } },
      },
      { Effect: 'Allow', Action: 'iam:Get*', Resource: '*' },
      { Effect: 'Deny', Action: 'iam:*', Resource: 'arn:aws:iam::*:user/other' },
    ],
  },
  {
    // A negated operator matches when the key is absent (the tag-less list call).
    name: 'StringNotEquals on a tag',
    statements: [
      {
        Effect: 'Allow',
        Action: 'lambda:*',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:ResourceTag/team': 'a' } },
      },
    ],
  },
  {
    // ForAllValues is true for a request without the key (reference_policies_condition-single-vs-multi-valued-context-keys)
    name: 'ForAllValues with no request tags',
    statements: [
      {
        Effect: 'Allow',
        Action: ['iam:ListUsers', 'lambda:GetFunction'],
        Resource: '*',
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } },
      },
    ],
  },
];

describe('IAM policy simulation', () => {
  let server: TestServer;
  let iam: IAMClient;

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    iam = new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: ROOT });
  });
  after(async () => {
    iam.destroy();
    await server.stop();
  });

  test(`SimulateCustomPolicy decides the ${POLICY_CASES.length} documentation cases as AWS documents`, async () => {
    const wrong: string[] = [];
    for (const c of POLICY_CASES) {
      const out = await iam.send(
        new SimulateCustomPolicyCommand({
          PolicyInputList: c.policies,
          ...(c.boundary && { PermissionsBoundaryPolicyInputList: [c.boundary] }),
          ActionNames: [c.action],
          ...(c.resource && { ResourceArns: [c.resource] }),
          ...(c.resourcePolicy && { ResourcePolicy: c.resourcePolicy }),
          ...(c.resourceOwner && { ResourceOwner: c.resourceOwner }),
          CallerArn: c.callerArn ?? 'arn:aws:iam::123456789012:user/tester',
          ContextEntries: (c.context ?? []).map((v) => ({
            ContextKeyName: v.key,
            ContextKeyValues: v.values,
            ContextKeyType: v.type,
          })),
        }),
      );
      const decision = out.EvaluationResults?.[0]?.EvalDecision;
      if (decision !== c.expect) wrong.push(`${c.name}: expected ${c.expect}, got ${decision}`);
    }
    assert.deepEqual(wrong, []);
  });

  test(`SimulatePrincipalPolicy agrees with enforcement on ${AGREEMENT_POLICIES.length} documented policies × 7 calls`, async () => {
    const lambdaRole = (
      await iam.send(new CreateRoleCommand({ RoleName: 'sim-fn', AssumeRolePolicyDocument: TRUST }))
    ).Role?.Arn;
    const rootLambda = new LambdaClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: ROOT,
    });
    for (const [name, tags] of [
      ['sim-a', { team: 'a' }],
      ['sim-b', { team: 'b' }],
    ] as const) {
      await rootLambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Timeout: 30, // not the 3 s default: CI load must not time a test function out
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: lambdaRole,
          Code: { ZipFile: handlerZip() },
          Tags: tags,
        }),
      );
    }
    rootLambda.destroy();
    await iam.send(new CreateUserCommand({ UserName: 'sim' }));
    await iam.send(new CreateUserCommand({ UserName: 'other' }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'sim' }))).AccessKey;
    const credentials = {
      accessKeyId: key?.AccessKeyId ?? '',
      secretAccessKey: key?.SecretAccessKey ?? '',
    };
    const asUser = {
      iam: new IAMClient({ endpoint: server.endpoint, region: 'us-east-1', credentials }),
      lambda: new LambdaClient({
        endpoint: server.endpoint,
        region: 'us-east-1',
        credentials,
        maxAttempts: 1,
      }),
    };
    const user = (n: string) => `arn:aws:iam::${ACCOUNT}:user/${n}`;
    const calls = [
      {
        action: 'iam:ListRoles',
        resource: '*',
        run: () => asUser.iam.send(new ListRolesCommand({})),
      },
      {
        action: 'iam:ListUsers',
        resource: '*',
        run: () => asUser.iam.send(new ListUsersCommand({})),
      },
      ...['sim', 'other'].map((n) => ({
        action: 'iam:GetUser',
        resource: user(n),
        run: () => asUser.iam.send(new GetUserCommand({ UserName: n })),
      })),
      {
        action: 'lambda:ListFunctions',
        resource: '*',
        run: () => asUser.lambda.send(new ListFunctionsCommand({})),
      },
      ...['sim-a', 'sim-b'].map((n) => ({
        action: 'lambda:GetFunction',
        resource: fn(n),
        team: n.slice(-1),
        run: () => asUser.lambda.send(new GetFunctionCommand({ FunctionName: n })),
      })),
    ];
    // What the real calls carry: the simulation is given the same request context.
    const requestContext: ContextEntry[] = [
      { ContextKeyName: 'aws:SourceIp', ContextKeyValues: ['127.0.0.1'], ContextKeyType: 'ip' },
      {
        ContextKeyName: 'aws:SecureTransport',
        ContextKeyValues: ['false'],
        ContextKeyType: 'boolean',
      },
      {
        ContextKeyName: 'aws:RequestedRegion',
        ContextKeyValues: ['us-east-1'],
        ContextKeyType: 'string',
      },
      {
        ContextKeyName: 'aws:CurrentTime',
        ContextKeyValues: [new Date().toISOString()],
        ContextKeyType: 'date',
      },
    ];
    const teamTag = (team: string): ContextEntry => ({
      ContextKeyName: 'aws:ResourceTag/team',
      ContextKeyValues: [team],
      ContextKeyType: 'string',
    });
    const mismatches: string[] = [];
    const outcomes = new Set<string>();
    let compared = 0;
    for (const policy of AGREEMENT_POLICIES) {
      const document = JSON.stringify({ Version: '2012-10-17', Statement: policy.statements });
      await iam.send(
        new PutUserPolicyCommand({ UserName: 'sim', PolicyName: 'p', PolicyDocument: document }),
      );
      for (const call of calls) {
        const simulated = await iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: user('sim'),
            ActionNames: [call.action],
            ResourceArns: [call.resource],
            ContextEntries: [...requestContext, ...('team' in call ? [teamTag(call.team)] : [])],
          }),
        );
        const expected = simulated.EvaluationResults?.[0]?.EvalDecision === 'allowed';
        const actual = await call.run().then(
          () => true,
          (e: Error) => {
            assert.match(e.name, /^AccessDenied/);
            return false;
          },
        );
        if (actual !== expected) {
          mismatches.push(
            `${policy.name}: ${call.action} on ${call.resource}: simulated ${expected}, enforced ${actual}`,
          );
        }
        outcomes.add(`${call.action} ${actual}`);
        compared++;
      }
    }
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'sim', PolicyName: 'p' }));
    assert.deepEqual(mismatches, []);
    assert.ok(compared >= 100, `${compared} comparisons`);
    // The table is not one-sided: every call was both allowed and refused by some policy.
    for (const call of calls) {
      assert.ok(outcomes.has(`${call.action} true`), `${call.action} never allowed`);
      assert.ok(outcomes.has(`${call.action} false`), `${call.action} never refused`);
    }
    asUser.iam.destroy();
    asUser.lambda.destroy();
  });

  test('the AWS CLI v2 and boto3 simulate', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:*', Resource: '*' },
        { Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' },
      ],
    });
    const cli = await awsCli(server.endpoint, [
      'iam',
      'simulate-custom-policy',
      '--policy-input-list',
      policy,
      '--action-names',
      's3:GetObject',
      's3:DeleteBucket',
      'ec2:RunInstances',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const results = (
      JSON.parse(cli.stdout) as {
        EvaluationResults: { EvalActionName: string; EvalDecision: string }[];
      }
    ).EvaluationResults.map((r) => [r.EvalActionName, r.EvalDecision]);
    assert.deepEqual(results, [
      ['s3:GetObject', 'allowed'],
      ['s3:DeleteBucket', 'explicitDeny'],
      ['ec2:RunInstances', 'implicitDeny'],
    ]);
    const py = await python(
      server.endpoint,
      `
import os, boto3
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
  aws_access_key_id="test", aws_secret_access_key="test")
out = iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::${ACCOUNT}:user/sim",
  ActionNames=["iam:ListRoles"], PolicyInputList=[${JSON.stringify(policy)}])
print(out["EvaluationResults"][0]["EvalDecision"])
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), 'implicitDeny');
  });
});
