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

  test('SimulatePrincipalPolicy agrees with enforcement of the same user', async () => {
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
    const fn = (n: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${n}`;
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
    const policies = [
      { Effect: 'Allow', Action: 'iam:List*', Resource: '*' },
      { Effect: 'Allow', Action: ['lambda:*', 'iam:ListRoles'], Resource: '*' },
      { Effect: 'Allow', Action: 'lambda:GetFunction', Resource: fn('sim-*') },
      { Effect: 'Allow', NotAction: 'lambda:*', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'lambda:GetFunction',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/team': 'a' } },
      },
    ];
    let compared = 0;
    for (const statement of policies) {
      const document = JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
      await iam.send(
        new PutUserPolicyCommand({ UserName: 'sim', PolicyName: 'p', PolicyDocument: document }),
      );
      for (const call of calls) {
        const simulated = await iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/sim`,
            ActionNames: [call.action],
            ResourceArns: [call.resource],
            ...('team' in call && {
              ContextEntries: [
                {
                  ContextKeyName: 'aws:ResourceTag/team',
                  ContextKeyValues: [call.team],
                  ContextKeyType: 'string',
                },
              ],
            }),
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
        assert.equal(
          actual,
          expected,
          `${statement.Action ?? statement.NotAction} ${call.action} ${call.resource}`,
        );
        compared++;
      }
    }
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'sim', PolicyName: 'p' }));
    assert.equal(compared, policies.length * calls.length);
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
