/**
 * Bucket notifications to Lambda: refused without the function's permission for
 * s3.amazonaws.com, then one asynchronous invocation per matching object with AWS's event
 * shape, none for keys the prefix/suffix filter leaves out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  clients,
  createRole,
  destroy,
  eventually,
  logMessages,
  nodeZip,
  type Clients,
} from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let c: Clients;
let s3: S3Client;
let fnArn: string;

const HANDLER = `exports.handler = async (event) => {
  for (const r of event.Records) console.log('EVENT ' + JSON.stringify(r));
  return {};
};
`;

interface EventRecord {
  eventVersion: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  s3: {
    bucket: { name: string; arn: string };
    object: { key: string; size?: number; eTag?: string; sequencer: string };
    configurationId: string;
  };
}

async function events(): Promise<EventRecord[]> {
  return (await logMessages(c.logs, '/aws/lambda/thumbs'))
    .filter((m) => m.includes('EVENT '))
    .map((m) => JSON.parse(m.slice(m.indexOf('EVENT ') + 6)) as EventRecord);
}

describe('S3 notifications to Lambda', () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'images' }));
    const role = await createRole(c.iam, 'thumbs');
    const fn = await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'thumbs',
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: nodeZip(HANDLER) },
      }),
    );
    fnArn = fn.FunctionArn as string;
    await waitUntilFunctionActiveV2(
      { client: c.lambda, maxWaitTime: 60 },
      { FunctionName: 'thumbs' },
    );
  });
  after(async () => {
    destroy(c);
    s3.destroy();
    await server.stop();
  });

  const config = () => ({
    LambdaFunctionConfigurations: [
      {
        Id: 'jpg-uploads',
        LambdaFunctionArn: fnArn,
        Events: ['s3:ObjectCreated:*' as const, 's3:ObjectRemoved:*' as const],
        Filter: {
          Key: {
            FilterRules: [
              { Name: 'prefix' as const, Value: 'uploads/' },
              { Name: 'suffix' as const, Value: '.jpg' },
            ],
          },
        },
      },
    ],
  });

  test('a function whose policy does not allow s3.amazonaws.com is refused', async () => {
    await assert.rejects(
      s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: 'images',
          NotificationConfiguration: config(),
        }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof S3ServiceException);
        assert.equal(err.name, 'InvalidArgument');
        assert.equal(err.message, 'Unable to validate the following destination configurations');
        return true;
      },
    );
  });

  test('matching uploads invoke the function once each, with the event as AWS sends it', async () => {
    await c.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'thumbs',
        StatementId: 's3',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        SourceArn: 'arn:aws:s3:::images',
      }),
    );
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: 'images',
        NotificationConfiguration: config(),
      }),
    );
    const stored = await s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: 'images' }),
    );
    assert.equal(stored.LambdaFunctionConfigurations?.[0].Id, 'jpg-uploads');

    await s3.send(new PutObjectCommand({ Bucket: 'images', Key: 'uploads/cat.jpg', Body: 'meow' }));
    await s3.send(new PutObjectCommand({ Bucket: 'images', Key: 'uploads/dog.png', Body: 'woof' }));
    await s3.send(new PutObjectCommand({ Bucket: 'images', Key: 'other/cat.jpg', Body: 'meow' }));
    await s3.send(new PutObjectCommand({ Bucket: 'images', Key: 'uploads/my pic.jpg', Body: 'x' }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'images',
        Key: 'uploads/copy.jpg',
        CopySource: 'images/uploads/cat.jpg',
      }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: 'images', Key: 'uploads/cat.jpg' }));
    // A browser form upload (POST Object) is ObjectCreated:Post.
    const form = new FormData();
    form.append('key', 'uploads/${filename}');
    form.append('file', new Blob(['form']), 'posted.jpg');
    const posted = await fetch(`${server.endpoint}/images`, { method: 'POST', body: form });
    assert.equal(posted.status, 204, await posted.text());

    const all = await eventually('five events', async () => {
      const got = await events();
      return got.length >= 5 ? got : undefined;
    });
    const seen = all.map((e) => `${e.eventName} ${e.s3.object.key}`).sort();
    assert.deepEqual(seen, [
      'ObjectCreated:Copy uploads/copy.jpg',
      'ObjectCreated:Post uploads/posted.jpg',
      'ObjectCreated:Put uploads/cat.jpg',
      'ObjectCreated:Put uploads/my+pic.jpg',
      'ObjectRemoved:Delete uploads/cat.jpg',
    ]);
    const put = all.find(
      (e) => e.eventName === 'ObjectCreated:Put' && e.s3.object.key === 'uploads/cat.jpg',
    );
    assert.ok(put);
    assert.equal(put.eventVersion, '2.1');
    assert.equal(put.eventSource, 'aws:s3');
    assert.equal(put.awsRegion, 'us-east-1');
    assert.equal(put.s3.bucket.name, 'images');
    assert.equal(put.s3.bucket.arn, 'arn:aws:s3:::images');
    assert.equal(put.s3.configurationId, 'jpg-uploads');
    assert.equal(put.s3.object.size, 4);
    assert.match(put.s3.object.eTag ?? '', /^[0-9a-f]{32}$/);
    assert.match(put.s3.object.sequencer, /^[0-9A-F]+$/);
  });
});
