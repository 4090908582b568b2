/**
 * The wider Lambda surface through the real clients: provisioned concurrency (really
 * started environments), code signing configurations, layer version permissions,
 * recursion and runtime management configurations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddLayerVersionPermissionCommand,
  CreateCodeSigningConfigCommand,
  CreateFunctionCommand,
  DeleteCodeSigningConfigCommand,
  DeleteFunctionCodeSigningConfigCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionRecursionConfigCommand,
  GetLayerVersionPolicyCommand,
  GetProvisionedConcurrencyConfigCommand,
  GetRuntimeManagementConfigCommand,
  InvokeCommand,
  ListFunctionsByCodeSigningConfigCommand,
  ListProvisionedConcurrencyConfigsCommand,
  ListTagsCommand,
  PublishLayerVersionCommand,
  PutFunctionCodeSigningConfigCommand,
  PutFunctionRecursionConfigCommand,
  PutProvisionedConcurrencyConfigCommand,
  PutRuntimeManagementConfigCommand,
  RemoveLayerVersionPermissionCommand,
} from '@aws-sdk/client-lambda';
import { awsCli } from './helpers/clients.js';
import {
  clients,
  createRole,
  destroy,
  eventually,
  handlerZip,
  json,
  type Clients,
} from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createZip } from './helpers/zip-writer.js';

/**
 * A handler that holds its environment until `n` calls have come into `dir` (a barrier, at
 * most 60 s), so the calls overlap however late a loaded machine delivers some of them.
 * Answers whether they all came.
 */
const BARRIER = `const fs = require('fs');
const path = require('path');
exports.handler = async (e) => {
  fs.writeFileSync(path.join(e.dir, require('crypto').randomUUID()), '');
  const until = Date.now() + 60000;
  while (fs.readdirSync(e.dir).length < e.n && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return fs.readdirSync(e.dir).length >= e.n;
};
`;

const reportOf = (logResult: string | undefined): string =>
  Buffer.from(logResult ?? '', 'base64')
    .toString('utf8')
    .split('\n')
    .find((l) => l.startsWith('REPORT')) ?? '';

describe('Lambda surface', () => {
  let server: TestServer;
  let c: Clients;
  let role: string;

  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    role = await createRole(c.iam, 'surface-role');
  });
  after(async () => {
    destroy(c);
    await server?.stop();
  });

  const create = (name: string, code = handlerZip(), publish = false) =>
    c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: code },
        Publish: publish,
      }),
    );

  test('put-provisioned-concurrency-config 3: three initialised environments, no Init Duration', async () => {
    await create('provisioned', createZip([{ name: 'index.js', data: BARRIER }]), true);
    const put = await awsCli(server.endpoint, [
      'lambda',
      'put-provisioned-concurrency-config',
      '--function-name',
      'provisioned',
      '--qualifier',
      '1',
      '--provisioned-concurrent-executions',
      '3',
    ]);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(JSON.parse(put.stdout).RequestedProvisionedConcurrentExecutions, 3);
    const ready = await eventually('READY', async () => {
      const got = await c.lambda.send(
        new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'provisioned', Qualifier: '1' }),
      );
      return got.Status === 'READY' ? got : undefined;
    });
    assert.equal(ready.AvailableProvisionedConcurrentExecutions, 3);
    assert.equal(ready.AllocatedProvisionedConcurrentExecutions, 3);

    // Three at once take the three provisioned environments; a fourth one overlapping them
    // needs a fresh environment, whose INIT its REPORT line shows.
    const overlap = async (n: number) => {
      const dir = mkdtempSync(join(tmpdir(), 'stratus-barrier-'));
      try {
        const outs = await Promise.all(
          Array.from({ length: n }, () =>
            c.lambda.send(
              new InvokeCommand({
                FunctionName: 'provisioned',
                Qualifier: '1',
                LogType: 'Tail',
                Payload: JSON.stringify({ dir, n }),
              }),
            ),
          ),
        );
        for (const out of outs) assert.equal(json(out.Payload), true, 'the calls overlapped');
        return outs;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const first = await overlap(3);
    for (const out of first) {
      const report = reportOf(out.LogResult);
      assert.match(report, /^REPORT RequestId: /);
      assert.doesNotMatch(report, /Init Duration/);
    }
    const overlapping = await overlap(4);
    const cold = overlapping.filter((o) => /Init Duration/.test(reportOf(o.LogResult)));
    assert.equal(cold.length, 1);

    const list = await c.lambda.send(
      new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'provisioned' }),
    );
    assert.deepEqual(
      list.ProvisionedConcurrencyConfigs?.map((p) => [p.FunctionArn, p.Status]),
      [['arn:aws:lambda:us-east-1:000000000000:function:provisioned:1', 'READY']],
    );
  });

  test('provisioned concurrency refuses $LATEST and reports a missing configuration', async () => {
    await create('not-provisioned', handlerZip(), true);
    await assert.rejects(
      c.lambda.send(
        new PutProvisionedConcurrencyConfigCommand({
          FunctionName: 'not-provisioned',
          Qualifier: '$LATEST',
          ProvisionedConcurrentExecutions: 1,
        }),
      ),
      { name: 'InvalidParameterValueException' },
    );
    await assert.rejects(
      c.lambda.send(
        new GetProvisionedConcurrencyConfigCommand({
          FunctionName: 'not-provisioned',
          Qualifier: '1',
        }),
      ),
      {
        name: 'ProvisionedConcurrencyConfigNotFoundException',
        message: 'No Provisioned Concurrency Config found for this function',
      },
    );
  });

  test('code signing configs: create, tag, attach, list users, refuse deletion in use', async () => {
    const csc = await c.lambda.send(
      new CreateCodeSigningConfigCommand({
        Description: 'signed',
        AllowedPublishers: {
          SigningProfileVersionArns: [
            'arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/abcdef1234',
          ],
        },
        Tags: { team: 'a' },
      }),
    );
    const arn = csc.CodeSigningConfig?.CodeSigningConfigArn as string;
    assert.match(
      arn,
      /^arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-[0-9a-f]{17}$/,
    );
    assert.deepEqual(csc.CodeSigningConfig?.CodeSigningPolicies, {
      UntrustedArtifactOnDeployment: 'Warn',
    });
    assert.deepEqual((await c.lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, {
      team: 'a',
    });
    await create('signed');
    const none = await c.lambda.send(
      new GetFunctionCodeSigningConfigCommand({ FunctionName: 'signed' }),
    );
    assert.equal(none.CodeSigningConfigArn, '');
    await c.lambda.send(
      new PutFunctionCodeSigningConfigCommand({
        FunctionName: 'signed',
        CodeSigningConfigArn: arn,
      }),
    );
    const got = await c.lambda.send(
      new GetFunctionCodeSigningConfigCommand({ FunctionName: 'signed' }),
    );
    assert.equal(got.CodeSigningConfigArn, arn);
    const users = await c.lambda.send(
      new ListFunctionsByCodeSigningConfigCommand({ CodeSigningConfigArn: arn }),
    );
    assert.deepEqual(users.FunctionArns, ['arn:aws:lambda:us-east-1:000000000000:function:signed']);
    await assert.rejects(
      c.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn })),
      { name: 'ResourceConflictException' },
    );
    await c.lambda.send(new DeleteFunctionCodeSigningConfigCommand({ FunctionName: 'signed' }));
    await c.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn }));
    await assert.rejects(
      create('signed-gone').then(() =>
        c.lambda.send(
          new PutFunctionCodeSigningConfigCommand({
            FunctionName: 'signed-gone',
            CodeSigningConfigArn: arn,
          }),
        ),
      ),
      { name: 'CodeSigningConfigNotFoundException' },
    );
  });

  test('layer version permissions render the policy AWS does', async () => {
    const layer = await c.lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: createZip([{ name: 'nodejs/x.js', data: '1' }]) },
      }),
    );
    const add = await c.lambda.send(
      new AddLayerVersionPermissionCommand({
        LayerName: 'shared',
        VersionNumber: layer.Version,
        StatementId: 'org',
        Action: 'lambda:GetLayerVersion',
        Principal: '*',
        OrganizationId: 'o-abcdefghij',
      }),
    );
    assert.deepEqual(JSON.parse(add.Statement ?? ''), {
      Sid: 'org',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:GetLayerVersion',
      Resource: layer.LayerVersionArn,
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } },
    });
    const policy = await c.lambda.send(
      new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: layer.Version }),
    );
    assert.equal(JSON.parse(policy.Policy ?? '').Statement.length, 1);
    assert.equal(policy.RevisionId, add.RevisionId);
    await c.lambda.send(
      new RemoveLayerVersionPermissionCommand({
        LayerName: 'shared',
        VersionNumber: layer.Version,
        StatementId: 'org',
      }),
    );
    await assert.rejects(
      c.lambda.send(
        new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: layer.Version }),
      ),
      { name: 'ResourceNotFoundException' },
    );
  });

  test('recursion and runtime management configurations are kept', async () => {
    await create('settings');
    const rec = await c.lambda.send(
      new GetFunctionRecursionConfigCommand({ FunctionName: 'settings' }),
    );
    assert.equal(rec.RecursiveLoop, 'Terminate');
    await c.lambda.send(
      new PutFunctionRecursionConfigCommand({ FunctionName: 'settings', RecursiveLoop: 'Allow' }),
    );
    assert.equal(
      (await c.lambda.send(new GetFunctionRecursionConfigCommand({ FunctionName: 'settings' })))
        .RecursiveLoop,
      'Allow',
    );
    const before = await c.lambda.send(
      new GetRuntimeManagementConfigCommand({ FunctionName: 'settings' }),
    );
    assert.equal(before.UpdateRuntimeOn, 'Auto');
    await c.lambda.send(
      new PutRuntimeManagementConfigCommand({
        FunctionName: 'settings',
        UpdateRuntimeOn: 'FunctionUpdate',
      }),
    );
    const after = await c.lambda.send(
      new GetRuntimeManagementConfigCommand({ FunctionName: 'settings' }),
    );
    assert.equal(after.UpdateRuntimeOn, 'FunctionUpdate');
    assert.equal(
      after.FunctionArn,
      'arn:aws:lambda:us-east-1:000000000000:function:settings:$LATEST',
    );
  });
});
