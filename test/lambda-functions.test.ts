/**
 * Lambda functions through the real clients (SDK v3 and the AWS CLI): creation and states
 * (the SDK waiters), Code.Location, validation with AWS's messages, unsafe packages,
 * updates with RevisionId preconditions, listing and deletion.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  paginateListFunctions,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type CreateFunctionCommandInput,
  type LambdaClient,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { createZip } from './helpers/zip-writer.js';
import { awsCli } from './helpers/clients.js';
import { failure } from './helpers/failure.js';
import {
  ACCOUNT,
  EC2_TRUST,
  REGION,
  arn,
  createRole,
  handlerZip,
  openControlFixture,
  sha256b64,
  type ControlFixture,
} from './helpers/lambda.js';
import type { TestServer } from './helpers/server.js';

describe('Lambda functions', () => {
  let fx: ControlFixture;
  let lambda: LambdaClient;
  let server: TestServer;
  let role: string;
  let untrusting: string;
  let dir: string;
  const create = (...args: Parameters<ControlFixture['create']>) => fx.create(...args);

  before(async () => {
    fx = await openControlFixture();
    ({ server, lambda, role } = fx);
    untrusting = await createRole(fx.iam, 'ec2-role', EC2_TRUST);
    dir = await mkdtemp(join(tmpdir(), 'stratus-lambda-cli-'));
  });
  after(async () => {
    await fx.close();
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
        { Runtime: 'dotnet8' },
        'InvalidParameterValueException',
        400,
        /dotnet8 is valid in AWS Lambda but Stratus cannot run it/,
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
        "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.",
      ],
      [
        // The process driver cannot run images: the error names the flag that can.
        {
          PackageType: 'Image',
          Runtime: undefined,
          Handler: undefined,
          Code: { ImageUri: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/x:latest` },
        },
        'InvalidParameterValueException',
        400,
        /\(--driver process\)\. Start Stratus with --driver runc/,
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
