/**
 * The serverless thumbnail example (examples/thumbnail): a real JPEG uploaded under
 * uploads/ invokes the function through the bucket's notification; the function (its zip
 * carries sharp and its linux-x64 binaries from npm) writes a 128-pixel-wide thumbnail to
 * the second bucket and the image's name, size and creation date to a DynamoDB table.
 * The zip is built from the packages installed here and cached under
 * $TMPDIR/stratus-test-images; the file is skipped with a printed reason where sharp
 * cannot load.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { clients, createRole, destroy, eventually, type Clients } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { createZip, type ZipWriterEntry } from './helpers/zip-writer.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = existsSync(join(here, '..', 'package.json'))
  ? join(here, '..')
  : join(here, '..', '..');
const FUNCTION_DIR = join(repo, 'examples', 'thumbnail', 'function');
const IMAGE_CACHE = join(tmpdir(), 'stratus-test-images');

type Sharp = typeof import('sharp').default;

async function loadSharp(): Promise<{ sharp?: Sharp; reason?: string }> {
  try {
    return { sharp: (await import('sharp')).default };
  } catch (err) {
    return { reason: `sharp cannot load here: ${(err as Error).message.split('\n')[0]}` };
  }
}

const { sharp, reason } = await loadSharp();
if (reason) console.log(`# skipping the thumbnail example: ${reason}`);

/** A package and, recursively, the installed packages it depends on (optional ones too). */
function closure(name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  const dir = join(repo, 'node_modules', name);
  if (!existsSync(join(dir, 'package.json'))) return [];
  seen.add(name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const deps = [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ];
  return [name, ...deps.flatMap((d) => closure(d, seen))];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The deployment package: index.js and node_modules/ with sharp's closure, cached. */
function functionZip(): Buffer {
  const packages = closure('sharp');
  const code = readFileSync(join(FUNCTION_DIR, 'index.js'));
  const versions = packages.map((p) => {
    const v = (
      JSON.parse(readFileSync(join(repo, 'node_modules', p, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    return `${p}@${v}`;
  });
  const id = createHash('sha256')
    .update(code)
    .update(versions.join(','))
    .digest('hex')
    .slice(0, 16);
  const cached = join(IMAGE_CACHE, `thumbnail-function-${id}.zip`);
  if (existsSync(cached)) return readFileSync(cached);
  const entries: ZipWriterEntry[] = [{ name: 'index.js', data: code }];
  for (const p of packages) {
    const root = join(repo, 'node_modules', p);
    for (const file of filesUnder(root)) {
      entries.push({
        name: `node_modules/${p}/${relative(root, file)}`,
        data: readFileSync(file),
        mode: statSync(file).mode & 0o777,
      });
    }
  }
  const zip = createZip(entries);
  mkdirSync(IMAGE_CACHE, { recursive: true });
  writeFileSync(cached, zip);
  return zip;
}

let server: TestServer;
let c: Clients;
let s3: S3Client;
let ddb: DynamoDBClient;

describe('serverless thumbnail example', { skip: reason }, () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    ddb = new DynamoDBClient(clientConfig(server.endpoint));
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'photo-thumbnails' }));
    await ddb.send(
      new CreateTableCommand({
        TableName: 'thumbnails',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
      }),
    );
    const role = await createRole(c.iam, 'thumbnail-fn');
    const fn = await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'thumbnail',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Timeout: 60,
        MemorySize: 512,
        Code: { ZipFile: functionZip() },
        Environment: { Variables: { DEST_BUCKET: 'photo-thumbnails', TABLE_NAME: 'thumbnails' } },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: c.lambda, maxWaitTime: 120 },
      { FunctionName: 'thumbnail' },
    );
    await c.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'thumbnail',
        StatementId: 's3',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        SourceArn: 'arn:aws:s3:::photos',
      }),
    );
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: 'photos',
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              LambdaFunctionArn: fn.FunctionArn,
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } },
            },
          ],
        },
      }),
    );
  });
  after(async () => {
    destroy(c);
    s3.destroy();
    ddb.destroy();
    await server.stop();
  });

  test('an uploaded JPEG becomes a 128-pixel-wide thumbnail and a table row', async () => {
    const make = sharp as Sharp;
    // A real 640×480 JPEG: a colour gradient, so the encoder has something to compress.
    const raw = Buffer.alloc(640 * 480 * 3);
    for (let y = 0; y < 480; y++) {
      for (let x = 0; x < 640; x++) {
        const i = (y * 640 + x) * 3;
        raw[i] = x % 256;
        raw[i + 1] = y % 256;
        raw[i + 2] = (x + y) % 256;
      }
    }
    const jpeg = await make(raw, { raw: { width: 640, height: 480, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer();
    const uploadedAt = Date.now();
    await s3.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'uploads/sunset beach.jpg',
        Body: jpeg,
        ContentType: 'image/jpeg',
      }),
    );
    // Not under uploads/: no thumbnail.
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'other/x.jpg', Body: jpeg }));

    const thumbnail = await eventually(
      'the thumbnail object',
      async () => {
        try {
          const out = await s3.send(
            new GetObjectCommand({
              Bucket: 'photo-thumbnails',
              Key: 'thumbnails/sunset beach.jpg',
            }),
          );
          return Buffer.from(
            await (
              out.Body as { transformToByteArray(): Promise<Uint8Array> }
            ).transformToByteArray(),
          );
        } catch (err) {
          if ((err as Error).name === 'NoSuchKey') return undefined;
          throw err;
        }
      },
      180_000,
    );
    const meta = await make(thumbnail).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 128);
    assert.equal(meta.height, 96);

    const doc = DynamoDBDocumentClient.from(ddb);
    const row = await eventually('the table row', async () => {
      const out = await doc.send(
        new GetCommand({ TableName: 'thumbnails', Key: { name: 'sunset beach.jpg' } }),
      );
      return out.Item;
    });
    assert.equal(row.size, jpeg.length);
    assert.equal(row.width, 640);
    assert.equal(row.height, 480);
    assert.equal(row.thumbnail, 's3://photo-thumbnails/thumbnails/sunset beach.jpg');
    const created = Date.parse(row.createdAt as string);
    assert.ok(Math.abs(created - uploadedAt) < 10 * 60_000, `createdAt ${String(row.createdAt)}`);

    const other = await doc.send(
      new GetCommand({ TableName: 'thumbnails', Key: { name: 'x.jpg' } }),
    );
    assert.equal(other.Item, undefined);
  });
});
