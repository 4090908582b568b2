/**
 * Lambda's control plane through the real clients (SDK v3 and the AWS CLI): functions and
 * their states (the SDK waiters), validation with AWS's messages, versions and aliases,
 * layers, concurrency, policies, tags, async invocation settings and function URLs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  DeleteFunctionEventInvokeConfigCommand,
  DeleteFunctionUrlConfigCommand,
  DeleteLayerVersionCommand,
  GetAccountSettingsCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionEventInvokeConfigsCommand,
  ListFunctionUrlConfigsCommand,
  ListLayerVersionsCommand,
  ListLayersCommand,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  RemovePermissionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionEventInvokeConfigCommand,
  UpdateFunctionUrlConfigCommand,
  paginateListFunctions,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type CreateFunctionCommandInput,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { createZip } from '../src/services/lambda/zip-writer.js';
import { awsCli } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { failure } from './helpers/failure.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const arn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const lambdaTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});
const ec2Trust = lambdaTrust.replace('lambda.amazonaws.com', 'ec2.amazonaws.com');

const handlerZip = (body = 'exports.handler = async () => ({ ok: true });\n') =>
  createZip([{ name: 'index.js', data: body }]);
const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe('Lambda control plane', () => {
  let server: TestServer;
  let lambda: LambdaClient;
  let iam: IAMClient;
  let role: string;
  let untrusting: string;
  let dir: string;

  const create = (name: string, extra: Partial<CreateFunctionCommandInput> = {}) =>
    lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: handlerZip() },
        ...extra,
      }),
    );

  before(async () => {
    server = await startTestServer();
    lambda = new LambdaClient(clientConfig(server.endpoint));
    iam = new IAMClient(clientConfig(server.endpoint));
    role = (
      await iam.send(
        new CreateRoleCommand({ RoleName: 'fn-role', AssumeRolePolicyDocument: lambdaTrust }),
      )
    ).Role?.Arn as string;
    untrusting = (
      await iam.send(
        new CreateRoleCommand({ RoleName: 'ec2-role', AssumeRolePolicyDocument: ec2Trust }),
      )
    ).Role?.Arn as string;
    dir = await mkdtemp(join(tmpdir(), 'stratus-lambda-cli-'));
  });
  after(async () => {
    lambda.destroy();
    iam.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('CreateFunction is Pending, then Active (functionActiveV2), with AWS fields', async () => {
    const zip = handlerZip('exports.handler = async (e) => e;\n');
    const created = await create('basic', {
      Code: { ZipFile: zip },
      Description: 'a function',
      Environment: { Variables: { STAGE: 'test' } },
      Tags: { team: 'core' },
    });
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.equal(created.State, 'Pending');
    assert.equal(created.StateReasonCode, 'Creating');
    assert.equal(created.LastUpdateStatus, undefined);
    assert.equal(created.FunctionArn, arn('basic'));
    assert.equal(created.Version, '$LATEST');
    assert.equal(created.CodeSha256, sha256b64(zip));
    assert.equal(created.CodeSize, zip.length);
    assert.equal(created.Timeout, 3);
    assert.equal(created.MemorySize, 128);
    assert.deepEqual(created.Architectures, ['x86_64']);
    assert.deepEqual(created.EphemeralStorage, { Size: 512 });
    assert.deepEqual(created.LoggingConfig, { LogFormat: 'Text', LogGroup: '/aws/lambda/basic' });
    assert.deepEqual(created.TracingConfig, { Mode: 'PassThrough' });
    assert.equal(created.PackageType, 'Zip');
    assert.match(created.LastModified ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.match(created.RevisionId ?? '', /^[0-9a-f-]{36}$/);

    const waited = await waitUntilFunctionActiveV2(
      { client: lambda, maxWaitTime: 30 },
      { FunctionName: 'basic' },
    );
    assert.equal(waited.state, 'SUCCESS');
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'basic' }));
    assert.equal(got.Configuration?.State, 'Active');
    assert.equal(got.Configuration?.LastUpdateStatus, 'Successful');
    assert.notEqual(got.Configuration?.RevisionId, created.RevisionId);
    assert.deepEqual(got.Configuration?.Environment, { Variables: { STAGE: 'test' } });
    assert.deepEqual(got.Tags, { team: 'core' });
    assert.equal(got.Code?.RepositoryType, 'S3');
    assert.ok(got.Code?.Location?.startsWith(`${server.endpoint}/_stratus/lambda/code/`));

    // By partial ARN and full ARN too.
    const partial = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `${ACCOUNT}:function:basic` }),
    );
    assert.equal(partial.FunctionName, 'basic');
    const full = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: arn('basic') }),
    );
    assert.equal(full.CodeSha256, sha256b64(zip));
  });

  test('Code.Location serves the zip itself', async () => {
    const zip = handlerZip('exports.handler = async () => "download me";\n');
    await create('download', { Code: { ZipFile: zip } });
    const location = (await lambda.send(new GetFunctionCommand({ FunctionName: 'download' }))).Code
      ?.Location as string;
    const res = await fetch(location);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.deepEqual(body, zip);
    const forged = await fetch(location.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    assert.equal(forged.status, 403);
  });

  test('AWS validation of CreateFunction, with AWS error codes and messages', async () => {
    const cases: [Partial<CreateFunctionCommandInput>, string, number, string | RegExp][] = [
      [
        { Runtime: 'python3.7' },
        'InvalidParameterValueException',
        400,
        'The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (python3.12) while creating or updating functions.',
      ],
      [
        { Runtime: 'java21' },
        'InvalidParameterValueException',
        400,
        /java21 is valid in AWS Lambda but Stratus cannot run it/,
      ],
      [
        { Handler: undefined },
        'InvalidParameterValueException',
        400,
        'Runtime and Handler are mandatory parameters for functions created with deployment packages.',
      ],
      [
        { MemorySize: 10_241 },
        'InvalidParameterValueException',
        400,
        "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240",
      ],
      [
        { MemorySize: 64 },
        'ValidationException',
        400,
        "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128",
      ],
      [
        { Timeout: 901 },
        'ValidationException',
        400,
        "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
      ],
      [
        { EphemeralStorage: { Size: 20_000 } },
        'ValidationException',
        400,
        /at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value less than or equal to 10240/,
      ],
      [
        { Environment: { Variables: { AWS_REGION: 'x', LAMBDA_TASK_ROOT: 'y' } } },
        'InvalidParameterValueException',
        400,
        'Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT',
      ],
      [
        { Role: `arn:aws:iam::${ACCOUNT}:role/missing` },
        'InvalidParameterValueException',
        400,
        'The role defined for the function cannot be assumed by Lambda.',
      ],
      [
        {
          PackageType: 'Image',
          Code: { ImageUri: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/x:latest` },
        },
        'InvalidParameterValueException',
        400,
        /Amazon ECR/,
      ],
      [
        {
          Layers: Array.from(
            { length: 6 },
            (_, i) => `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:l:${i + 1}`,
          ),
        },
        'InvalidParameterValueException',
        400,
        'Cannot reference more than 5 layers.',
      ],
    ];
    for (const [extra, name, status, message] of cases) {
      const err = await failure(create('invalid', extra));
      assert.equal(err.name, name, JSON.stringify(extra));
      assert.equal(err.status, status);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
    }
    const env = await failure(
      create('invalid', { Environment: { Variables: { BIG: 'x'.repeat(4100) } } }),
    );
    assert.equal(env.name, 'InvalidParameterValueException');
    assert.equal(
      env.message,
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {"BIG":"${'x'.repeat(4100)}"}`,
    );
    const trust = await failure(create('invalid', { Role: untrusting }));
    assert.equal(trust.message, 'The role defined for the function cannot be assumed by Lambda.');

    await create('twice');
    assert.deepEqual(await failure(create('twice')), {
      name: 'ResourceConflictException',
      status: 409,
      message: 'Function already exist: twice',
    });
  });

  test('unsafe and corrupt packages are refused with InvalidParameterValueException', async () => {
    const slip = createZip([
      { name: 'index.js', data: 'x' },
      { name: '../../etc/cron.d/evil', data: 'x' },
    ]);
    const absolute = createZip([{ name: '/etc/evil', data: 'x' }]);
    const link = createZip([{ name: 'escape', symlink: '../../../../etc/passwd' }]);
    const bomb = createZip([{ name: 'bomb.bin', data: Buffer.alloc(8 << 20), declaredSize: 1024 }]);
    for (const zip of [slip, absolute, link, bomb]) {
      const err = await failure(create('unsafe', { Code: { ZipFile: zip } }));
      assert.equal(err.name, 'InvalidParameterValueException');
      assert.equal(err.status, 400);
      assert.match(
        err.message,
        /^Could not unzip uploaded file\. Please check your file, then try to upload again\./,
      );
    }
    const corrupt = await failure(
      create('unsafe', { Code: { ZipFile: Buffer.from('not a zip at all, but long enough') } }),
    );
    assert.equal(
      corrupt.message,
      'Could not unzip uploaded file. Please check your file, then try to upload again.',
    );
    const huge = createZip([{ name: 'a', data: 'x', declaredSize: 262_144_001 }]);
    assert.equal(
      (await failure(create('unsafe', { Code: { ZipFile: huge } }))).message,
      'Unzipped size must be smaller than 262144000 bytes',
    );
    assert.equal(
      (await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'unsafe' })))).name,
      'ResourceNotFoundException',
    );
  });

  test('updates go InProgress → Successful (functionUpdatedV2); RevisionId preconditions', async () => {
    await create('upd');
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 30 }, { FunctionName: 'upd' });
    const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd' }));
    const zip = handlerZip('exports.handler = async () => 2;\n');
    const updated = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'upd', ZipFile: zip }),
    );
    assert.equal(updated.LastUpdateStatus, 'InProgress');
    assert.equal(updated.State, 'Active');
    assert.equal(updated.CodeSha256, sha256b64(zip));
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 30 }, { FunctionName: 'upd' });

    const stale = await failure(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'upd',
          MemorySize: 256,
          RevisionId: before.RevisionId,
        }),
      ),
    );
    assert.deepEqual(stale, {
      name: 'PreconditionFailedException',
      status: 412,
      message:
        'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    });
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd' }));
    const conf = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'upd',
        MemorySize: 256,
        Timeout: 30,
        Environment: { Variables: { AB: '1' } },
        LoggingConfig: { LogFormat: 'JSON' },
        RevisionId: current.RevisionId,
      }),
    );
    assert.equal(conf.LastUpdateStatus, 'InProgress');
    assert.equal(conf.MemorySize, 256);
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 30 }, { FunctionName: 'upd' });
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd' }));
    assert.equal(after.LastUpdateStatus, 'Successful');
    assert.equal(after.Timeout, 30);
    assert.deepEqual(after.Environment, { Variables: { AB: '1' } });
    assert.deepEqual(after.LoggingConfig, {
      LogFormat: 'JSON',
      LogGroup: '/aws/lambda/upd',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'INFO',
    });
    const runtime = await failure(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'upd',
          Runtime: 'nodejs14.x' as Runtime,
        }),
      ),
    );
    assert.match(runtime.message, /^The runtime parameter of nodejs14\.x is no longer supported/);
  });

  test('versions and weighted aliases', async () => {
    await create('ver');
    const v1 = await lambda.send(
      new PublishVersionCommand({ FunctionName: 'ver', Description: 'first' }),
    );
    assert.equal(v1.$metadata.httpStatusCode, 201);
    assert.equal(v1.Version, '1');
    assert.equal(v1.FunctionArn, `${arn('ver')}:1`);
    assert.equal(v1.Description, 'first');
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: 'ver' }));
    assert.equal(again.Version, '1', 'nothing changed: the last version comes back');

    const zip2 = handlerZip('exports.handler = async () => "v2";\n');
    const mismatch = await failure(
      lambda.send(new PublishVersionCommand({ FunctionName: 'ver', CodeSha256: sha256b64(zip2) })),
    );
    assert.equal(mismatch.name, 'InvalidParameterValueException');
    const v2 = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'ver', ZipFile: zip2, Publish: true }),
    );
    assert.equal(v2.Version, '2');
    assert.equal(v2.FunctionArn, `${arn('ver')}:2`);

    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver' }));
    assert.deepEqual(
      versions.Versions?.map((v) => v.Version),
      ['$LATEST', '1', '2'],
    );
    assert.deepEqual(
      versions.Versions?.map((v) => v.FunctionArn),
      [`${arn('ver')}:$LATEST`, `${arn('ver')}:1`, `${arn('ver')}:2`],
    );

    const alias = await lambda.send(
      new CreateAliasCommand({
        FunctionName: 'ver',
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } },
      }),
    );
    assert.equal(alias.AliasArn, `${arn('ver')}:live`);
    assert.deepEqual(alias.RoutingConfig, { AdditionalVersionWeights: { '2': 0.5 } });
    assert.equal(
      (
        await failure(
          lambda.send(
            new CreateAliasCommand({ FunctionName: 'ver', Name: 'live', FunctionVersion: '1' }),
          ),
        )
      ).message,
      `Alias already exists: ${arn('ver')}:live`,
    );
    const weighted = await failure(
      lambda.send(
        new CreateAliasCommand({
          FunctionName: 'ver',
          Name: 'bad',
          FunctionVersion: '$LATEST',
          RoutingConfig: { AdditionalVersionWeights: { '1': 0.1 } },
        }),
      ),
    );
    assert.equal(
      weighted.message,
      '$LATEST is not supported for an alias pointing to more than 1 version',
    );
    const two = await failure(
      lambda.send(
        new CreateAliasCommand({
          FunctionName: 'ver',
          Name: 'bad',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { '2': 0.1, '3': 0.1 } },
        }),
      ),
    );
    assert.equal(
      two.message,
      'Number of items in AdditionalVersionWeights cannot be greater than 1',
    );
    const overweight = await failure(
      lambda.send(
        new CreateAliasCommand({
          FunctionName: 'ver',
          Name: 'bad',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { '2': 1.5 } },
        }),
      ),
    );
    assert.equal(overweight.name, 'ValidationException');
    assert.equal(
      (
        await failure(
          lambda.send(
            new CreateAliasCommand({ FunctionName: 'ver', Name: 'bad', FunctionVersion: '9' }),
          ),
        )
      ).message,
      `Function not found: ${arn('ver')}:9`,
    );

    const viaAlias = await lambda.send(
      new GetFunctionCommand({ FunctionName: 'ver', Qualifier: 'live' }),
    );
    assert.equal(viaAlias.Configuration?.FunctionArn, `${arn('ver')}:live`);
    assert.equal(viaAlias.Configuration?.Version, '1');
    const viaArn = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `${arn('ver')}:2` }),
    );
    assert.equal(viaArn.Version, '2');
    assert.equal(
      (
        await failure(
          lambda.send(
            new GetFunctionConfigurationCommand({ FunctionName: 'ver', Qualifier: 'nope' }),
          ),
        )
      ).message,
      `Function not found: ${arn('ver')}:nope`,
    );

    const inUse = await failure(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '2' })),
    );
    assert.equal(inUse.name, 'ResourceConflictException');
    const got = await lambda.send(new GetAliasCommand({ FunctionName: 'ver', Name: 'live' }));
    const staleAlias = await failure(
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: 'ver',
          Name: 'live',
          RevisionId: 'stale',
          Description: 'x',
        }),
      ),
    );
    assert.equal(staleAlias.name, 'PreconditionFailedException');
    const moved = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: 'ver',
        Name: 'live',
        FunctionVersion: '2',
        RoutingConfig: {},
        RevisionId: got.RevisionId,
      }),
    );
    assert.equal(moved.FunctionVersion, '2');
    assert.equal(moved.RoutingConfig, undefined);
    assert.notEqual(moved.RevisionId, got.RevisionId);
    const listed = await lambda.send(
      new ListAliasesCommand({ FunctionName: 'ver', FunctionVersion: '2' }),
    );
    assert.deepEqual(
      listed.Aliases?.map((a) => a.Name),
      ['live'],
    );

    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '1' }));
    const afterDelete = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: 'ver' }),
    );
    assert.deepEqual(
      afterDelete.Versions?.map((v) => v.Version),
      ['$LATEST', '2'],
    );
    const latest = await failure(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '$LATEST' })),
    );
    assert.equal(
      latest.message,
      '$LATEST version cannot be deleted without deleting the function.',
    );
    await lambda.send(new DeleteAliasCommand({ FunctionName: 'ver', Name: 'live' }));
    assert.deepEqual(
      (await lambda.send(new ListAliasesCommand({ FunctionName: 'ver' }))).Aliases,
      [],
    );
  });

  test('layers: publish, read, list, reference (≤ 5), delete', async () => {
    const layerZip = createZip([
      { name: 'nodejs/node_modules/lib/index.js', data: 'module.exports = 1;\n' },
    ]);
    const l1 = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: layerZip },
        CompatibleRuntimes: ['nodejs20.x'],
      }),
    );
    assert.equal(l1.$metadata.httpStatusCode, 201);
    assert.equal(l1.Version, 1);
    assert.equal(l1.LayerVersionArn, `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:1`);
    assert.equal(l1.Content?.CodeSha256, sha256b64(layerZip));
    assert.equal(l1.Content?.CodeSize, layerZip.length);
    const l2 = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: layerZip },
        CompatibleRuntimes: ['python3.12'],
        Description: 'py',
      }),
    );
    assert.equal(l2.Version, 2);
    const byArn = await lambda.send(new GetLayerVersionByArnCommand({ Arn: l1.LayerVersionArn }));
    assert.equal(byArn.Version, 1);
    const byName = await lambda.send(
      new GetLayerVersionCommand({ LayerName: 'shared', VersionNumber: 2 }),
    );
    assert.equal(byName.Description, 'py');
    assert.equal(
      (
        await failure(
          lambda.send(new GetLayerVersionCommand({ LayerName: 'shared', VersionNumber: 9 })),
        )
      ).message,
      'The resource you requested does not exist.',
    );
    const layers = await lambda.send(new ListLayersCommand({}));
    assert.deepEqual(
      layers.Layers?.map((l) => [l.LayerName, l.LatestMatchingVersion?.Version]),
      [['shared', 2]],
    );
    const nodeOnly = await lambda.send(new ListLayersCommand({ CompatibleRuntime: 'nodejs20.x' }));
    assert.equal(nodeOnly.Layers?.[0]?.LatestMatchingVersion?.Version, 1);
    const versions = await lambda.send(new ListLayerVersionsCommand({ LayerName: 'shared' }));
    assert.deepEqual(
      versions.LayerVersions?.map((v) => v.Version),
      [2, 1],
    );

    const fn = await create('layered', { Layers: [l1.LayerVersionArn as string] });
    assert.deepEqual(fn.Layers, [{ Arn: l1.LayerVersionArn, CodeSize: layerZip.length }]);
    const missing = await failure(
      create('layered2', { Layers: [`arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:7`] }),
    );
    assert.equal(
      missing.message,
      `Layer version arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:7 does not exist.`,
    );
    const same = await failure(
      create('layered2', { Layers: [l1.LayerVersionArn as string, l2.LayerVersionArn as string] }),
    );
    assert.match(same.message, /^Two different versions of the same layer are not allowed/);

    await lambda.send(new DeleteLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 }));
    await lambda.send(new DeleteLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 }));
    assert.deepEqual(
      (await lambda.send(new ListLayerVersionsCommand({ LayerName: 'shared' }))).LayerVersions?.map(
        (v) => v.Version,
      ),
      [2],
    );
    const still = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'layered' }),
    );
    assert.deepEqual(still.Layers, [{ Arn: l1.LayerVersionArn, CodeSize: layerZip.length }]);
    const l3 = await lambda.send(
      new PublishLayerVersionCommand({ LayerName: 'shared', Content: { ZipFile: layerZip } }),
    );
    assert.equal(l3.Version, 3, 'version numbers are never reused');
  });

  test('reserved concurrency and account settings', async () => {
    await create('conc-a');
    await create('conc-b');
    const before = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(before.AccountLimit?.ConcurrentExecutions, 1000);
    assert.equal(before.AccountLimit?.CodeSizeUnzipped, 262_144_000);
    assert.equal(before.AccountLimit?.CodeSizeZipped, 52_428_800);
    assert.equal(before.AccountLimit?.TotalCodeSize, 80_530_636_800);
    assert.ok((before.AccountUsage?.FunctionCount ?? 0) >= 2);
    assert.ok((before.AccountUsage?.TotalCodeSize ?? 0) > 0);

    assert.deepEqual(
      (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'conc-a' })))
        .ReservedConcurrentExecutions,
      undefined,
    );
    const put = await lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: 'conc-a',
        ReservedConcurrentExecutions: 800,
      }),
    );
    assert.equal(put.ReservedConcurrentExecutions, 800);
    assert.equal(
      (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'conc-a' })))
        .ReservedConcurrentExecutions,
      800,
    );
    assert.deepEqual(
      (await lambda.send(new GetFunctionCommand({ FunctionName: 'conc-a' }))).Concurrency,
      { ReservedConcurrentExecutions: 800 },
    );
    const settings = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(settings.AccountLimit?.UnreservedConcurrentExecutions, 200);

    const tooMuch = await failure(
      lambda.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: 'conc-b',
          ReservedConcurrentExecutions: 101,
        }),
      ),
    );
    assert.deepEqual(tooMuch, {
      name: 'InvalidParameterValueException',
      status: 400,
      message:
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
    });
    await lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: 'conc-b',
        ReservedConcurrentExecutions: 100,
      }),
    );
    // Replacing a function's own reservation does not count it twice.
    await lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: 'conc-a',
        ReservedConcurrentExecutions: 800,
      }),
    );
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'conc-a' }));
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'conc-b' }));
    assert.equal(
      (await lambda.send(new GetAccountSettingsCommand({}))).AccountLimit
        ?.UnreservedConcurrentExecutions,
      1000,
    );
    const qualified = await failure(
      lambda.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: 'conc-a:1',
          ReservedConcurrentExecutions: 1,
        }),
      ),
    );
    assert.equal(qualified.name, 'InvalidParameterValueException');
  });

  test('resource policies: AddPermission, GetPolicy, RemovePermission', async () => {
    await create('pol');
    const added = await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'pol',
        StatementId: 's3',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        SourceArn: 'arn:aws:s3:::my-bucket',
        SourceAccount: ACCOUNT,
      }),
    );
    assert.equal(added.$metadata.httpStatusCode, 201);
    const statement = {
      Sid: 's3',
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Resource: arn('pol'),
      Condition: {
        StringEquals: { 'AWS:SourceAccount': ACCOUNT },
        ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::my-bucket' },
      },
    };
    assert.equal(added.Statement, JSON.stringify(statement));
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'pol',
        StatementId: 'acct',
        Action: 'lambda:GetFunction',
        Principal: '111122223333',
      }),
    );
    const policy = await lambda.send(new GetPolicyCommand({ FunctionName: 'pol' }));
    assert.equal(
      policy.Policy,
      JSON.stringify({
        Version: '2012-10-17',
        Id: 'default',
        Statement: [
          statement,
          {
            Sid: 'acct',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::111122223333:root' },
            Action: 'lambda:GetFunction',
            Resource: arn('pol'),
          },
        ],
      }),
    );
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'pol' }));
    assert.equal(policy.RevisionId, config.RevisionId);
    const dup = await failure(
      lambda.send(
        new AddPermissionCommand({
          FunctionName: 'pol',
          StatementId: 's3',
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      ),
    );
    assert.deepEqual(dup, {
      name: 'ResourceConflictException',
      status: 409,
      message:
        'The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement.',
    });
    const stale = await failure(
      lambda.send(
        new AddPermissionCommand({
          FunctionName: 'pol',
          StatementId: 'x',
          Action: 'lambda:InvokeFunction',
          Principal: '*',
          RevisionId: 'nope',
        }),
      ),
    );
    assert.equal(stale.name, 'PreconditionFailedException');
    await lambda.send(new RemovePermissionCommand({ FunctionName: 'pol', StatementId: 's3' }));
    await lambda.send(new RemovePermissionCommand({ FunctionName: 'pol', StatementId: 'acct' }));
    const gone = await failure(lambda.send(new GetPolicyCommand({ FunctionName: 'pol' })));
    assert.deepEqual(gone, {
      name: 'ResourceNotFoundException',
      status: 404,
      message: 'The resource you requested does not exist.',
    });
    const missing = await failure(
      lambda.send(new RemovePermissionCommand({ FunctionName: 'pol', StatementId: 's3' })),
    );
    assert.equal(missing.message, 'No policy is associated with the given resource.');
  });

  test('tags on functions', async () => {
    await create('tagged', { Tags: { a: '1' } });
    await lambda.send(
      new TagResourceCommand({ Resource: arn('tagged'), Tags: { b: '2', c: '3' } }),
    );
    assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: arn('tagged') }))).Tags, {
      a: '1',
      b: '2',
      c: '3',
    });
    await lambda.send(new UntagResourceCommand({ Resource: arn('tagged'), TagKeys: ['a', 'c'] }));
    assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: arn('tagged') }))).Tags, {
      b: '2',
    });
    const qualified = await failure(
      lambda.send(new TagResourceCommand({ Resource: `${arn('tagged')}:1`, Tags: { x: 'y' } })),
    );
    assert.equal(
      qualified.message,
      'Tags on function aliases and versions are not supported. Please specify a function ARN.',
    );
    const absent = await failure(lambda.send(new ListTagsCommand({ Resource: arn('no-such') })));
    assert.equal(absent.message, `Function not found: ${arn('no-such')}`);
  });

  test('event invoke configs with destinations', async () => {
    await create('async');
    await create('async-dlq');
    const put = await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'async',
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 300,
        DestinationConfig: { OnFailure: { Destination: arn('async-dlq') } },
      }),
    );
    assert.equal(put.FunctionArn, `${arn('async')}:$LATEST`);
    assert.ok(put.LastModified instanceof Date);
    assert.deepEqual(put.DestinationConfig, {
      OnSuccess: {},
      OnFailure: { Destination: arn('async-dlq') },
    });
    const updated = await lambda.send(
      new UpdateFunctionEventInvokeConfigCommand({
        FunctionName: 'async',
        MaximumRetryAttempts: 0,
      }),
    );
    assert.equal(updated.MaximumRetryAttempts, 0);
    assert.equal(updated.MaximumEventAgeInSeconds, 300);
    const got = await lambda.send(
      new GetFunctionEventInvokeConfigCommand({ FunctionName: 'async' }),
    );
    assert.equal(got.MaximumRetryAttempts, 0);
    const listed = await lambda.send(
      new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'async' }),
    );
    assert.equal(listed.FunctionEventInvokeConfigs?.length, 1);

    const self = await failure(
      lambda.send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: 'async',
          DestinationConfig: { OnSuccess: { Destination: arn('async') } },
        }),
      ),
    );
    assert.equal(self.message, "You can't specify the function as a destination for itself.");
    const retries = await failure(
      lambda.send(
        new PutFunctionEventInvokeConfigCommand({ FunctionName: 'async', MaximumRetryAttempts: 3 }),
      ),
    );
    assert.equal(retries.name, 'ValidationException');
    const age = await failure(
      lambda.send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: 'async',
          MaximumEventAgeInSeconds: 59,
        }),
      ),
    );
    assert.equal(age.name, 'ValidationException');
    const empty = await failure(
      lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'async' })),
    );
    assert.equal(
      empty.message,
      'You must specify at least one of error handling or destination setting.',
    );

    await lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'async' }));
    const gone = await failure(
      lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'async' })),
    );
    assert.deepEqual(gone, {
      name: 'ResourceNotFoundException',
      status: 404,
      message: `The function ${arn('async')}:$LATEST doesn't have an EventInvokeConfig`,
    });
  });

  test('function URL configs', async () => {
    await create('web');
    await lambda.send(new PublishVersionCommand({ FunctionName: 'web' }));
    await lambda.send(
      new CreateAliasCommand({ FunctionName: 'web', Name: 'prod', FunctionVersion: '1' }),
    );
    const created = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'web',
        AuthType: 'NONE',
        Cors: { AllowOrigins: ['*'], AllowMethods: ['GET'] },
      }),
    );
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.match(
      created.FunctionUrl ?? '',
      new RegExp(`^${server.endpoint}/_stratus/lambda-url/[a-z0-9]{32}/$`),
    );
    assert.equal(created.FunctionArn, arn('web'));
    assert.equal(created.AuthType, 'NONE');
    assert.equal(created.InvokeMode, 'BUFFERED');
    assert.deepEqual(created.Cors, { AllowOrigins: ['*'], AllowMethods: ['GET'] });
    const dup = await failure(
      lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'web', AuthType: 'NONE' })),
    );
    assert.equal(dup.name, 'ResourceConflictException');
    const prod = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'web',
        Qualifier: 'prod',
        AuthType: 'AWS_IAM',
      }),
    );
    assert.equal(prod.FunctionArn, `${arn('web')}:prod`);
    assert.notEqual(prod.FunctionUrl, created.FunctionUrl);
    const noAlias = await failure(
      lambda.send(
        new CreateFunctionUrlConfigCommand({
          FunctionName: 'web',
          Qualifier: 'dev',
          AuthType: 'NONE',
        }),
      ),
    );
    assert.equal(noAlias.name, 'ResourceNotFoundException');

    const updated = await lambda.send(
      new UpdateFunctionUrlConfigCommand({ FunctionName: 'web', AuthType: 'AWS_IAM' }),
    );
    assert.equal(updated.AuthType, 'AWS_IAM');
    assert.equal(updated.FunctionUrl, created.FunctionUrl);
    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'web' }));
    assert.equal(got.AuthType, 'AWS_IAM');
    assert.equal(got.CreationTime, created.CreationTime);
    const list = await lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'web' }));
    assert.deepEqual(list.FunctionUrlConfigs?.map((c) => c.FunctionArn).sort(), [
      arn('web'),
      `${arn('web')}:prod`,
    ]);
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'web' }));
    const gone = await failure(
      lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'web' })),
    );
    assert.equal(gone.status, 404);
  });

  test('ListFunctions pages, and FunctionVersion=ALL lists versions', async () => {
    for (const n of ['page-1', 'page-2', 'page-3']) await create(n);
    await lambda.send(new PublishVersionCommand({ FunctionName: 'page-2' }));
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateListFunctions({ client: lambda, pageSize: 2 }, {})) {
      pages++;
      assert.ok((page.Functions?.length ?? 0) <= 2);
      names.push(...(page.Functions ?? []).map((f) => f.FunctionName ?? ''));
    }
    assert.ok(pages >= 2);
    assert.deepEqual(
      names.filter((n) => n.startsWith('page-')),
      ['page-1', 'page-2', 'page-3'],
    );
    assert.deepEqual([...names].sort(), names, 'alphabetical');
    const all: string[] = [];
    for await (const page of paginateListFunctions(
      { client: lambda, pageSize: 3 },
      { FunctionVersion: 'ALL' },
    )) {
      all.push(...(page.Functions ?? []).map((f) => f.FunctionArn ?? ''));
    }
    assert.ok(all.includes(`${arn('page-2')}:$LATEST`));
    assert.ok(all.includes(`${arn('page-2')}:1`));
  });

  test('DeleteFunction removes the function and everything it owns', async () => {
    await create('doomed');
    await lambda.send(new PublishVersionCommand({ FunctionName: 'doomed' }));
    await lambda.send(
      new CreateAliasCommand({ FunctionName: 'doomed', Name: 'a', FunctionVersion: '1' }),
    );
    const deleted = await lambda.send(new DeleteFunctionCommand({ FunctionName: arn('doomed') }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.deepEqual(
      await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'doomed' }))),
      {
        name: 'ResourceNotFoundException',
        status: 404,
        message: `Function not found: ${arn('doomed')}`,
      },
    );
    assert.equal(
      (await failure(lambda.send(new DeleteFunctionCommand({ FunctionName: 'doomed' })))).status,
      404,
    );
    await create('doomed');
    assert.deepEqual(
      (
        await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'doomed' }))
      ).Versions?.map((v) => v.Version),
      ['$LATEST'],
    );
    const otherRegion = await failure(
      lambda.send(
        new GetFunctionCommand({
          FunctionName: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:doomed`,
        }),
      ),
    );
    assert.equal(
      otherRegion.message,
      "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
    );
  });

  test('AWS CLI: create-function, wait function-active-v2, get, update, delete', async () => {
    const zipPath = join(dir, 'fn.zip');
    await writeFile(zipPath, handlerZip('exports.handler = async () => "cli";\n'));
    const created = await awsCli(server.endpoint, [
      'lambda',
      'create-function',
      '--function-name',
      'cli-fn',
      '--runtime',
      'python3.12',
      '--handler',
      'app.handler',
      '--role',
      role,
      '--zip-file',
      `fileb://${zipPath}`,
      '--environment',
      'Variables={KEY=V}',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const conf = JSON.parse(created.stdout) as {
      FunctionName: string;
      Runtime: string;
      State: string;
    };
    assert.equal(conf.FunctionName, 'cli-fn');
    assert.equal(conf.Runtime, 'python3.12');
    const waited = await awsCli(server.endpoint, [
      'lambda',
      'wait',
      'function-active-v2',
      '--function-name',
      'cli-fn',
    ]);
    assert.equal(waited.code, 0, waited.stderr);
    const got = await awsCli(server.endpoint, [
      'lambda',
      'get-function-configuration',
      '--function-name',
      'cli-fn',
    ]);
    assert.equal((JSON.parse(got.stdout) as { State: string }).State, 'Active');
    const updated = await awsCli(server.endpoint, [
      'lambda',
      'update-function-configuration',
      '--function-name',
      'cli-fn',
      '--memory-size',
      '512',
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    const waitedUpdate = await awsCli(server.endpoint, [
      'lambda',
      'wait',
      'function-updated-v2',
      '--function-name',
      'cli-fn',
    ]);
    assert.equal(waitedUpdate.code, 0, waitedUpdate.stderr);
    const bad = await awsCli(server.endpoint, [
      'lambda',
      'create-function',
      '--function-name',
      'cli-bad',
      '--runtime',
      'nodejs12.x',
      '--handler',
      'index.handler',
      '--role',
      role,
      '--zip-file',
      `fileb://${zipPath}`,
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /InvalidParameterValueException/);
    assert.match(bad.stderr, /The runtime parameter of nodejs12\.x is no longer supported/);
    const deleted = await awsCli(server.endpoint, [
      'lambda',
      'delete-function',
      '--function-name',
      'cli-fn',
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await awsCli(server.endpoint, [
      'lambda',
      'get-function',
      '--function-name',
      'cli-fn',
    ]);
    assert.match(missing.stderr, /ResourceNotFoundException/);
  });
});
