/**
 * Lambda deployment packages from S3: CreateFunction, UpdateFunctionCode and
 * PublishLayerVersion with S3Bucket/S3Key/S3ObjectVersion, through SDK v3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaServiceException,
  PublishLayerVersionCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { clients, createRole, destroy, json, nodeZip, type Clients } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let c: Clients;
let s3: S3Client;
let role: string;

describe('Lambda code from S3', () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    role = await createRole(c.iam, 'from-s3');
    await s3.send(new CreateBucketCommand({ Bucket: 'deploy' }));
  });
  after(async () => {
    destroy(c);
    s3.destroy();
    await server.stop();
  });

  test('a function created from S3Bucket/S3Key runs; UpdateFunctionCode from S3 replaces it', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'deploy',
        Key: 'fn/v1.zip',
        Body: nodeZip('exports.handler = async (e) => ({ from: "s3", v: 1, e });\n'),
      }),
    );
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 's3fn',
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { S3Bucket: 'deploy', S3Key: 'fn/v1.zip' },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: c.lambda, maxWaitTime: 60 },
      { FunctionName: 's3fn' },
    );
    const out = await c.lambda.send(
      new InvokeCommand({ FunctionName: 's3fn', Payload: Buffer.from('{"n":1}') }),
    );
    assert.deepEqual(json(out.Payload), { from: 's3', v: 1, e: { n: 1 } });

    await s3.send(
      new PutObjectCommand({
        Bucket: 'deploy',
        Key: 'fn/v2.zip',
        Body: nodeZip('exports.handler = async () => ({ v: 2 });\n'),
      }),
    );
    await c.lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 's3fn',
        S3Bucket: 'deploy',
        S3Key: 'fn/v2.zip',
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: c.lambda, maxWaitTime: 60 },
      { FunctionName: 's3fn' },
    );
    const second = await c.lambda.send(new InvokeCommand({ FunctionName: 's3fn' }));
    assert.deepEqual(json(second.Payload), { v: 2 });
  });

  test("a missing object or bucket is refused with Lambda's wording of S3's error", async () => {
    for (const [Code, code] of [
      [{ S3Bucket: 'deploy', S3Key: 'nope.zip' }, 'NoSuchKey'],
      [{ S3Bucket: 'no-such-bucket', S3Key: 'x.zip' }, 'NoSuchBucket'],
      [
        { S3Bucket: 'deploy', S3Key: 'fn/v1.zip', S3ObjectVersion: 'A'.repeat(32) },
        'NoSuchVersion',
      ],
      [{ S3Bucket: 'deploy', S3Key: 'fn/v1.zip', S3ObjectVersion: 'v9' }, 'InvalidArgument'],
    ] as const) {
      await assert.rejects(
        c.lambda.send(
          new CreateFunctionCommand({
            FunctionName: 'missing',
            Timeout: 30, // not the 3 s default: CI load must not time a test function out
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            Role: role,
            Code,
          }),
        ),
        (err: unknown) => {
          assert.ok(err instanceof LambdaServiceException);
          assert.equal(err.name, 'InvalidParameterValueException');
          assert.equal(err.$metadata.httpStatusCode, 400);
          assert.match(
            err.message,
            new RegExp(
              `^Error occurred while GetObject\\. S3 Error Code: ${code}\\. S3 Error Message: `,
            ),
          );
          return true;
        },
      );
    }
  });

  test('S3ObjectVersion picks an older version of the package in a versioned bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'deploy-versioned' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'deploy-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const put = (v: number) =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'deploy-versioned',
          Key: 'fn.zip',
          Body: nodeZip(`exports.handler = async () => ({ v: ${v} });\n`),
        }),
      );
    const first = await put(1);
    await put(2);
    assert.ok(first.VersionId);
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 's3fn-versioned',
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { S3Bucket: 'deploy-versioned', S3Key: 'fn.zip', S3ObjectVersion: first.VersionId },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: c.lambda, maxWaitTime: 60 },
      { FunctionName: 's3fn-versioned' },
    );
    const out = await c.lambda.send(new InvokeCommand({ FunctionName: 's3fn-versioned' }));
    assert.deepEqual(json(out.Payload), { v: 1 });
  });

  test('PublishLayerVersion from S3', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'deploy',
        Key: 'layer.zip',
        Body: nodeZip('module.exports = 1;\n'),
      }),
    );
    const layer = await c.lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'from-s3',
        Content: { S3Bucket: 'deploy', S3Key: 'layer.zip' },
      }),
    );
    assert.equal(layer.Version, 1);
    assert.ok((layer.Content?.CodeSize ?? 0) > 0);
  });
});
