/**
 * Lambda function settings through SDK v3: reserved concurrency and account settings,
 * resource policies, tags, async invocation settings and function URL configs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionConcurrencyCommand,
  DeleteFunctionEventInvokeConfigCommand,
  DeleteFunctionUrlConfigCommand,
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  ListFunctionEventInvokeConfigsCommand,
  ListFunctionUrlConfigsCommand,
  ListTagsCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  RemovePermissionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionEventInvokeConfigCommand,
  UpdateFunctionUrlConfigCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { failure } from './helpers/failure.js';
import { ACCOUNT, arn, openControlFixture, type ControlFixture } from './helpers/lambda.js';
import type { TestServer } from './helpers/server.js';

describe('Lambda function settings', () => {
  let fx: ControlFixture;
  let lambda: LambdaClient;
  let server: TestServer;
  const create = (...args: Parameters<ControlFixture['create']>) => fx.create(...args);

  before(async () => {
    fx = await openControlFixture();
    ({ server, lambda } = fx);
  });
  after(async () => {
    await fx.close();
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
});
