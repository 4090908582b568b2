/**
 * Small objects (up to INLINE_MAX_BYTES, 16 KiB) keep their bytes in their record, not in a blob: put, get,
 * ranges, copies across the threshold, versions and delete markers, POST form uploads,
 * boto3, and a `kill -9` right after a PutObject answered (the record committed with its
 * bytes, so the object is there after the restart).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { INLINE_MAX_BYTES } from '../src/services/s3/common.js';
import { clientConfig } from './helpers/server.js';
import { python } from './helpers/clients.js';

const INLINE_MAX = INLINE_MAX_BYTES;
const BUCKET = 'inline';

let stateDir: string;
let server: ServerProcess;
let s3: S3Client;

/** Every blob file S3 keeps (sha256/<2>/<64>). */
function blobFiles(): string[] {
  const root = join(stateDir, 'blobs-s3', 'sha256');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
}

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

const md5 = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;

async function getBytes(key: string, extra: { Range?: string; VersionId?: string } = {}) {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return { got, body: Buffer.from(await got.Body!.transformToByteArray()) };
}

async function start(): Promise<void> {
  server = await spawnServer(['--state-dir', stateDir]);
  s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
}

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'stratus-s3-inline-'));
  await start();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  s3?.destroy();
  server?.child.kill('SIGKILL');
  if (server) await server.exited;
  rmSync(stateDir, { recursive: true, force: true });
});

test('objects up to the threshold hold no blob; reads, ranges and checksums as before', async () => {
  const blobsBefore = blobFiles().length;
  const small = bytes(INLINE_MAX, 1);
  const key = 'dir/ünïcødé ☃ small';
  const put = await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: small, ChecksumAlgorithm: 'SHA256' }),
  );
  assert.equal(put.ETag, md5(small));
  assert.equal(put.ChecksumSHA256, createHash('sha256').update(small).digest('base64'));
  assert.equal(blobFiles().length, blobsBefore, 'an object of INLINE_MAX_BYTES is stored inline');

  const { got, body } = await getBytes(key);
  assert.ok(body.equals(small));
  assert.equal(got.ETag, md5(small));
  const ranged = await getBytes(key, { Range: 'bytes=100-199' });
  assert.equal(ranged.got.ContentRange, `bytes 100-199/${INLINE_MAX}`);
  assert.ok(ranged.body.equals(small.subarray(100, 200)));
  const tail = await getBytes(key, { Range: 'bytes=-10' });
  assert.ok(tail.body.equals(small.subarray(INLINE_MAX - 10)));
  const head = await s3.send(
    new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }),
  );
  assert.equal(head.ContentLength, INLINE_MAX);
  assert.equal(head.ChecksumSHA256, put.ChecksumSHA256);
  await assert.rejects(
    s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, IfNoneMatch: put.ETag })),
    (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 304,
  );

  const empty = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'empty', Body: '' }));
  assert.equal(empty.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
  assert.equal((await getBytes('empty')).body.length, 0);

  const big = bytes(INLINE_MAX + 1, 2);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: big }));
  assert.equal(blobFiles().length, blobsBefore + 1, 'one byte over the threshold is a blob');
  assert.ok((await getBytes('big')).body.equals(big));
});

test('copies across the threshold: inline → inline, blob → blob, parts from inline sources', async () => {
  const small = bytes(INLINE_MAX, 3);
  const big = bytes(INLINE_MAX + 1, 4);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'c-small', Body: small }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'c-big', Body: big }));
  const blobsBefore = blobFiles().length;
  for (const [from, to, data] of [
    ['c-small', 'c-small-copy ✓', small],
    ['c-big', 'c-big-copy ✓', big],
  ] as const) {
    const copy = await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${from}` }),
    );
    assert.equal(copy.CopyObjectResult?.ETag, md5(data));
    assert.ok((await getBytes(to)).body.equals(data));
  }
  assert.equal(blobFiles().length, blobsBefore, 'copies share blobs and inline bytes alike');

  // A multipart upload from an inline source: its part becomes a blob of its own.
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'from-inline' }),
  );
  const part = await s3.send(
    new UploadPartCopyCommand({
      Bucket: BUCKET,
      Key: 'from-inline',
      UploadId,
      PartNumber: 1,
      CopySource: `${BUCKET}/c-small`,
    }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'from-inline',
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult?.ETag }] },
    }),
  );
  const whole = (await getBytes('from-inline')).body;
  assert.equal(whole.length, small.length);
  assert.equal(whole.toString('hex', 0, 40), small.toString('hex', 0, 40));
  assert.ok(whole.equals(small));
  const ranged = await getBytes('from-inline', { Range: 'bytes=5-9' });
  assert.ok(ranged.body.equals(small.subarray(5, 10)));
});

test('versioned overwrite and delete of inline objects', async () => {
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: BUCKET,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  const key = 'versions/日本語';
  const bodies = [bytes(10, 5), bytes(INLINE_MAX + 1, 6), bytes(20, 7)];
  const ids: string[] = [];
  for (const Body of bodies) {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body }));
    ids.push(put.VersionId as string);
  }
  const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.equal(marker.DeleteMarker, true);
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })));
  for (const [i, id] of ids.entries()) {
    assert.ok((await getBytes(key, { VersionId: id })).body.equals(bodies[i]));
  }
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: ids[0] }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: marker.VersionId }));
  assert.ok((await getBytes(key)).body.equals(bodies[2]));
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
  assert.deepEqual(
    listed.Versions?.map((v) => [v.VersionId, v.Size]),
    [
      [ids[2], 20],
      [ids[1], INLINE_MAX + 1],
    ],
  );
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: BUCKET,
      VersioningConfiguration: { Status: 'Suspended' },
    }),
  );
});

test('boto3: put, get, range and a POST form upload of small objects', async () => {
  const py = await python(
    server.endpoint,
    `
import os, boto3, hashlib, urllib.request, uuid
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
body = bytes((i * 7) % 256 for i in range(5000))
key = 'boto/ключ-€'
r = s3.put_object(Bucket='${BUCKET}', Key=key, Body=body, ChecksumAlgorithm='CRC32')
assert r['ETag'] == '"%s"' % hashlib.md5(body).hexdigest(), r
assert s3.get_object(Bucket='${BUCKET}', Key=key)['Body'].read() == body
assert s3.get_object(Bucket='${BUCKET}', Key=key, Range='bytes=10-19')['Body'].read() == body[10:20]
post = s3.generate_presigned_post('${BUCKET}', 'boto/posted')
boundary = uuid.uuid4().hex
parts = b''
for name, value in post['fields'].items():
    parts += ('--%s\\r\\nContent-Disposition: form-data; name="%s"\\r\\n\\r\\n%s\\r\\n' % (boundary, name, value)).encode()
parts += ('--%s\\r\\nContent-Disposition: form-data; name="file"; filename="f"\\r\\n\\r\\n' % boundary).encode() + body + ('\\r\\n--%s--\\r\\n' % boundary).encode()
req = urllib.request.Request(post['url'], data=parts, method='POST', headers={'Content-Type': 'multipart/form-data; boundary=' + boundary})
assert urllib.request.urlopen(req).status == 204
assert s3.get_object(Bucket='${BUCKET}', Key='boto/posted')['Body'].read() == body
print('ok')
`,
  );
  assert.equal(py.code, 0, py.stderr);
  assert.equal(py.stdout.trim(), 'ok');
});

test('kill -9 right after a PutObject answered: the inline object is there after restart', async () => {
  const body = bytes(1024, 8);
  const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'durable/ö', Body: body }));
  s3.destroy();
  server.child.kill('SIGKILL');
  assert.equal(await server.exited, 'SIGKILL');
  await start();
  const { got, body: read } = await getBytes('durable/ö');
  assert.ok(read.equals(body));
  assert.equal(got.ETag, put.ETag);
  // Blobs of other objects survive the collector that runs at start (they are referenced).
  assert.ok((await getBytes('big')).body.equals(bytes(INLINE_MAX + 1, 2)));
});
