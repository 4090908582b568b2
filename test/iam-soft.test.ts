/**
 * `--iam soft` (here with permissive auth): nothing is refused, and what strict mode would
 * have refused is listed per role at GET /_stratus/iam/denied, as a policy to paste.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { TRUST, json, nodeZip } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';

describe('IAM soft mode', () => {
  let server: TestServer;
  let iam: IAMClient;
  let lambda: LambdaClient;

  before(async () => {
    server = await startTestServer({ iam: 'soft', logLevel: 'error' });
    iam = new IAMClient(clientConfig(server.endpoint));
    lambda = new LambdaClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
  });
  after(async () => {
    iam.destroy();
    lambda.destroy();
    await server.stop();
  });

  test('an under-privileged role runs to completion; the missing permissions are listed', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'thin', AssumeRolePolicyDocument: TRUST }));
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'thin',
        PolicyName: 'some',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'lambda:ListFunctions', Resource: '*' }],
        }),
      }),
    );
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'workload',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: `arn:aws:iam::${ACCOUNT}:role/thin`,
        Timeout: 30,
        Code: {
          ZipFile: nodeZip(`
const { IAMClient, ListRolesCommand } = require('@aws-sdk/client-iam');
const { LambdaClient, ListFunctionsCommand, GetFunctionCommand } = require('@aws-sdk/client-lambda');
exports.handler = async () => {
  const roles = await new IAMClient({}).send(new ListRolesCommand({}));
  const fns = await new LambdaClient({}).send(new ListFunctionsCommand({}));
  await new LambdaClient({}).send(new GetFunctionCommand({ FunctionName: 'workload' }));
  return { roles: roles.Roles.length, functions: fns.Functions.length };
};`),
        },
      }),
    );
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'workload' }));
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.deepEqual(json(out.Payload), { roles: 1, functions: 1 });

    const report = (await (await fetch(`${server.endpoint}/_stratus/iam/denied`)).json()) as {
      principals: {
        principal: string;
        denied: { action: string; resources: string[]; reason: string }[];
        policy: unknown;
      }[];
    };
    assert.equal(report.principals.length, 1);
    const [thin] = report.principals;
    assert.equal(thin.principal, `arn:aws:iam::${ACCOUNT}:role/thin`);
    const fn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:workload`;
    assert.deepEqual(
      thin.denied.map((d) => [d.action, d.resources]),
      [
        ['iam:ListRoles', ['*']],
        ['lambda:GetFunction', [fn]],
      ],
    );
    assert.equal(
      thin.denied[0].reason,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/thin/workload is not authorized to perform: iam:ListRoles because no identity-based policy allows the iam:ListRoles action`,
    );
    assert.deepEqual(thin.policy, {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iam:ListRoles', Resource: '*' },
        { Effect: 'Allow', Action: 'lambda:GetFunction', Resource: fn },
      ],
    });
  });
});
