/**
 * Lambda Managed Instances through @aws-sdk/client-lambda: capacity providers with AWS's
 * validation, functions attached to one, the function scaling config, and the
 * environments a published version keeps started (no INIT for the invocations they take).
 * The AWS CLI v2 on these machines (2.9) predates these operations, so only the SDK is used.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateCapacityProviderCommand,
  CreateFunctionCommand,
  DeleteCapacityProviderCommand,
  DeleteFunctionCommand,
  GetCapacityProviderCommand,
  GetFunctionConfigurationCommand,
  GetFunctionScalingConfigCommand,
  InvokeCommand,
  ListCapacityProvidersCommand,
  ListFunctionVersionsByCapacityProviderCommand,
  ListTagsCommand,
  PutFunctionScalingConfigCommand,
  PutProvisionedConcurrencyConfigCommand,
  UpdateCapacityProviderCommand,
} from '@aws-sdk/client-lambda';
import {
  ACCOUNT,
  REGION,
  clients,
  createRole,
  destroy,
  eventually,
  type Clients,
} from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createZip } from './helpers/zip-writer.js';

/** Holds its environment for a while, so invocations overlap. */
const SLOW = `exports.handler = async () => { await new Promise((r) => setTimeout(r, 1500)); return 'done'; };\n`;

const reportOf = (logResult: string | undefined): string =>
  Buffer.from(logResult ?? '', 'base64')
    .toString('utf8')
    .split('\n')
    .find((l) => l.startsWith('REPORT')) ?? '';

const VPC = { SubnetIds: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] };
const providerArn = (name: string) =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:capacity-provider:${name}`;

describe('Lambda Managed Instances', () => {
  let server: TestServer;
  let c: Clients;
  let role: string;
  let operator: string;

  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    role = await createRole(c.iam, 'lmi-role');
    operator = await createRole(c.iam, 'lmi-operator');
  });
  after(async () => {
    destroy(c);
    await server?.stop();
  });

  const createProvider = (name: string, extra: Record<string, unknown> = {}) =>
    c.lambda.send(
      new CreateCapacityProviderCommand({
        CapacityProviderName: name,
        VpcConfig: VPC,
        PermissionsConfig: { CapacityProviderOperatorRoleArn: operator },
        ...extra,
      }),
    );

  const createFunction = (name: string, provider: string, publish: boolean, memory = 2048) =>
    c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        MemorySize: memory,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: createZip([{ name: 'index.js', data: SLOW }]) },
        Publish: publish,
        CapacityProviderConfig: {
          LambdaManagedInstancesCapacityProviderConfig: {
            CapacityProviderArn: providerArn(provider),
            PerExecutionEnvironmentMaxConcurrency: 4,
          },
        },
      }),
    );

  test('capacity providers: create, read, update, list, tags, delete; AWS validation', async () => {
    const created = await createProvider('cp-basic', {
      InstanceRequirements: { Architectures: ['x86_64'], AllowedInstanceTypes: ['m7i.large'] },
      CapacityProviderScalingConfig: { MaxVCpuCount: 16, ScalingMode: 'Auto' },
      Tags: { team: 'infra' },
    });
    assert.equal(created.CapacityProvider?.CapacityProviderArn, providerArn('cp-basic'));
    assert.equal(created.CapacityProvider?.State, 'Pending');
    assert.deepEqual(created.CapacityProvider?.VpcConfig, VPC);

    const got = await c.lambda.send(
      new GetCapacityProviderCommand({ CapacityProviderName: 'cp-basic' }),
    );
    assert.equal(got.CapacityProvider?.State, 'Active');
    assert.deepEqual(got.CapacityProvider?.InstanceRequirements, {
      Architectures: ['x86_64'],
      AllowedInstanceTypes: ['m7i.large'],
    });
    const byArn = await c.lambda.send(
      new GetCapacityProviderCommand({ CapacityProviderName: providerArn('cp-basic') }),
    );
    assert.equal(byArn.CapacityProvider?.CapacityProviderArn, providerArn('cp-basic'));

    const updated = await c.lambda.send(
      new UpdateCapacityProviderCommand({
        CapacityProviderName: 'cp-basic',
        CapacityProviderScalingConfig: {
          MaxVCpuCount: 32,
          ScalingMode: 'Manual',
          ScalingPolicies: [
            {
              PredefinedMetricType: 'LambdaCapacityProviderAverageCPUUtilization',
              TargetValue: 60,
            },
          ],
        },
      }),
    );
    assert.equal(updated.CapacityProvider?.CapacityProviderScalingConfig?.MaxVCpuCount, 32);

    const tags = await c.lambda.send(new ListTagsCommand({ Resource: providerArn('cp-basic') }));
    assert.deepEqual(tags.Tags, { team: 'infra' });

    const list = await c.lambda.send(new ListCapacityProvidersCommand({}));
    assert.ok(
      list.CapacityProviders?.some((p) => p.CapacityProviderArn === providerArn('cp-basic')),
    );
    const failed = await c.lambda.send(new ListCapacityProvidersCommand({ State: 'Failed' }));
    assert.deepEqual(failed.CapacityProviders, []);

    await assert.rejects(createProvider('cp-basic'), { name: 'ResourceConflictException' });
    await assert.rejects(
      createProvider('cp-manual', { CapacityProviderScalingConfig: { ScalingMode: 'Manual' } }),
      { name: 'InvalidParameterValueException' },
    );
    await assert.rejects(
      createProvider('cp-both', {
        InstanceRequirements: {
          AllowedInstanceTypes: ['m7i.large'],
          ExcludedInstanceTypes: ['c7i.large'],
        },
      }),
      { name: 'InvalidParameterValueException' },
    );
    await assert.rejects(
      c.lambda.send(
        new CreateCapacityProviderCommand({
          CapacityProviderName: 'cp-norole',
          VpcConfig: VPC,
          PermissionsConfig: {
            CapacityProviderOperatorRoleArn: `arn:aws:iam::${ACCOUNT}:role/missing`,
          },
        }),
      ),
      { name: 'InvalidParameterValueException' },
    );

    const deleted = await c.lambda.send(
      new DeleteCapacityProviderCommand({ CapacityProviderName: 'cp-basic' }),
    );
    assert.equal(deleted.CapacityProvider?.State, 'Deleting');
    await assert.rejects(
      c.lambda.send(new GetCapacityProviderCommand({ CapacityProviderName: 'cp-basic' })),
      { name: 'ResourceNotFoundException' },
    );
  });

  test('functions on a provider: memory floor, unknown provider, no provisioned concurrency', async () => {
    await createProvider('cp-rules');
    await assert.rejects(createFunction('lmi-small', 'cp-rules', false, 1024), {
      name: 'InvalidParameterValueException',
    });
    await assert.rejects(createFunction('lmi-nowhere', 'cp-missing', false), {
      name: 'ResourceNotFoundException',
    });
    await createFunction('lmi-rules', 'cp-rules', true);
    const conf = await c.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'lmi-rules', Qualifier: '1' }),
    );
    assert.deepEqual(conf.CapacityProviderConfig, {
      LambdaManagedInstancesCapacityProviderConfig: {
        CapacityProviderArn: providerArn('cp-rules'),
        PerExecutionEnvironmentMaxConcurrency: 4,
      },
    });
    await assert.rejects(
      c.lambda.send(
        new PutProvisionedConcurrencyConfigCommand({
          FunctionName: 'lmi-rules',
          Qualifier: '1',
          ProvisionedConcurrentExecutions: 1,
        }),
      ),
      { name: 'InvalidParameterValueException' },
    );
    // A provider in use cannot go; once its function is gone it can.
    await assert.rejects(
      c.lambda.send(new DeleteCapacityProviderCommand({ CapacityProviderName: 'cp-rules' })),
      { name: 'ResourceConflictException' },
    );
    await c.lambda.send(new DeleteFunctionCommand({ FunctionName: 'lmi-rules' }));
    await c.lambda.send(new DeleteCapacityProviderCommand({ CapacityProviderName: 'cp-rules' }));
  });

  test('a published version keeps its minimum of environments warm: no Init Duration', async () => {
    await createProvider('cp-run');
    await createFunction('lmi-run', 'cp-run', true);
    // Once version 1 is Active, nothing retires its environments any more.
    await eventually('version 1 Active', async () => {
      const got = await c.lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: 'lmi-run', Qualifier: '1' }),
      );
      return got.State === 'Active' ? got : undefined;
    });
    const put = await c.lambda.send(
      new PutFunctionScalingConfigCommand({
        FunctionName: 'lmi-run',
        Qualifier: '1',
        FunctionScalingConfig: { MinExecutionEnvironments: 2, MaxExecutionEnvironments: 5 },
      }),
    );
    assert.ok(put.FunctionState);
    const scaling = await c.lambda.send(
      new GetFunctionScalingConfigCommand({ FunctionName: 'lmi-run', Qualifier: '1' }),
    );
    assert.deepEqual(scaling.RequestedFunctionScalingConfig, {
      MinExecutionEnvironments: 2,
      MaxExecutionEnvironments: 5,
    });
    assert.equal(scaling.FunctionArn, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:lmi-run:1`);

    // The version is ACTIVE on its provider once its two environments are initialised.
    await eventually(
      'version 1 ACTIVE on cp-run',
      async () => {
        const list = await c.lambda.send(
          new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: 'cp-run' }),
        );
        const v = list.FunctionVersions?.find((f) => f.FunctionArn?.endsWith(':lmi-run:1'));
        return v?.State === 'Active' ? v : undefined;
      },
      60_000,
    );
    const invoke = () =>
      c.lambda.send(
        new InvokeCommand({ FunctionName: 'lmi-run', Qualifier: '1', LogType: 'Tail' }),
      );
    const outs = await Promise.all([invoke(), invoke()]);
    for (const out of outs) {
      assert.equal(out.FunctionError, undefined);
      const report = reportOf(out.LogResult);
      assert.match(report, /^REPORT RequestId: /);
      assert.doesNotMatch(report, /Init Duration/);
    }

    await assert.rejects(
      c.lambda.send(
        new PutFunctionScalingConfigCommand({
          FunctionName: 'lmi-run',
          Qualifier: '1',
          FunctionScalingConfig: { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 1 },
        }),
      ),
      { name: 'InvalidParameterValueException' },
    );
    await assert.rejects(
      c.lambda.send(
        new GetFunctionScalingConfigCommand({ FunctionName: 'lmi-run', Qualifier: '9' }),
      ),
      { name: 'ResourceNotFoundException' },
    );
  });
});
