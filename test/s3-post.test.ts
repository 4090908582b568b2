/**
 * S3 POST Object (browser form uploads): SDK v3's createPresignedPost with fetch, boto3's
 * generate_presigned_post with requests, curl -F; the answers AWS gives (204, 200, 201 with
 * PostResponse, 303 redirect) and its refusals (policy conditions, expiry, size range,
 * missing fields, a malformed body), versioning like PutObject.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutBucketMetricsConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { curl, python } from './helpers/clients.js';
import { eventually } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let s3: S3Client;
let dir: string;

async function bytesOf(key: string, bucket = 'forms'): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from((await got.Body?.transformToByteArray()) as Uint8Array);
}

async function absent(key: string): Promise<void> {
  await assert.rejects(
    s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: key })),
    (err: S3ServiceException) => err.$metadata.httpStatusCode === 404,
  );
}

/** A presigned POST form for `key`, sent by fetch with `file` last. */
async function post(
  fields: Record<string, string>,
  file: Buffer | undefined,
  extra: Record<string, string> = {},
): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries({ ...fields, ...extra })) form.append(k, v);
  if (file) form.append('file', new Blob([file]), 'upload.bin');
  return fetch(`${server.endpoint}/forms`, { method: 'POST', body: form, redirect: 'manual' });
}

function errorOf(xml: string): { code?: string; message?: string } {
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(xml)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(xml)?.[1]?.replace(/&quot;/g, '"'),
  };
}

describe('S3 POST Object (browser form uploads)', () => {
  before(async () => {
    server = await startTestServer();
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'forms' }));
    dir = await mkdtemp(join(tmpdir(), 's3-post-'));
  });
  after(async () => {
    s3.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('SDK v3 createPresignedPost: 204, bytes, content type and metadata stored', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: 'forms',
      Key: 'sdk/${filename}',
      Conditions: [
        ['starts-with', '$key', 'sdk/'],
        ['content-length-range', 1, 10 * 1024 * 1024],
        ['starts-with', '$Content-Type', 'image/'],
        { 'x-amz-meta-owner': 'alice' },
      ],
      Fields: { 'Content-Type': 'image/png', 'x-amz-meta-owner': 'alice' },
      Expires: 600,
    });
    assert.ok(url.includes('/forms'), url);
    const res = await post(fields, body);
    assert.equal(res.status, 204, await res.text());
    assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
    assert.ok(res.headers.get('location')?.endsWith('/forms/sdk/upload.bin'));
    assert.ok((await bytesOf('sdk/upload.bin')).equals(body));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'sdk/upload.bin' }));
    assert.equal(head.ContentType, 'image/png');
    assert.deepEqual(head.Metadata, { owner: 'alice' });
    assert.equal(head.ETag, res.headers.get('etag'));
  });

  test('boto3 generate_presigned_post with requests: 201 and the PostResponse XML', async () => {
    const r = await python(
      server.endpoint,
      `
import os, boto3, requests
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
p = s3.generate_presigned_post('forms', 'boto/report.txt',
    Fields={'success_action_status': '201'},
    Conditions=[{'success_action_status': '201'}, ['content-length-range', 0, 1000]],
    ExpiresIn=600)
r = requests.post(p['url'], data=p['fields'], files={'file': ('report.txt', b'from boto3')})
print(r.status_code)
print(r.text)
print(s3.get_object(Bucket='forms', Key='boto/report.txt')['Body'].read().decode())
`,
    );
    assert.equal(r.code, 0, r.stderr);
    const [status, ...rest] = r.stdout.trim().split('\n');
    assert.equal(status, '201', r.stdout);
    const xml = rest.slice(0, -1).join('\n');
    assert.match(xml, /<PostResponse><Location>[^<]*\/forms\/boto\/report\.txt<\/Location>/);
    assert.match(xml, /<Bucket>forms<\/Bucket><Key>boto\/report\.txt<\/Key>/);
    assert.match(xml, /<ETag>&quot;[0-9a-f]{32}&quot;<\/ETag>/);
    assert.equal(rest.at(-1), 'from boto3');
  });

  test('curl -F: ${filename}, a non-ASCII key, success_action_redirect answers 303', async () => {
    const path = join(dir, 'photo.jpg');
    await writeFile(path, 'jpeg bytes');
    const res = await curl([
      '-F',
      'key=uploads/été 写真/${filename}',
      '-F',
      'success_action_redirect=http://example.com/done?x=1',
      '-F',
      `file=@${path}`,
      `${server.endpoint}/forms`,
    ]);
    assert.equal(res.status, 303, res.body);
    const target = new URL(res.headers.location);
    assert.equal(target.origin + target.pathname, 'http://example.com/done');
    assert.equal(target.searchParams.get('x'), '1');
    assert.equal(target.searchParams.get('bucket'), 'forms');
    assert.equal(target.searchParams.get('key'), 'uploads/été 写真/photo.jpg');
    assert.match(target.searchParams.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal((await bytesOf('uploads/été 写真/photo.jpg')).toString(), 'jpeg bytes');
  });

  test('virtual-hosted style: POST / on <bucket>.s3.localhost', async () => {
    const port = new URL(server.endpoint).port;
    const path = join(dir, 'vhost.txt');
    await writeFile(path, 'by host');
    const res = await curl([
      '-F',
      'key=vhost/${filename}',
      '-F',
      'success_action_status=201',
      '-F',
      `file=@${path}`,
      `http://forms.s3.localhost:${port}/`,
    ]);
    assert.equal(res.status, 201, res.body);
    assert.match(res.body, /<Bucket>forms<\/Bucket><Key>vhost\/vhost\.txt<\/Key>/);
    assert.equal(res.headers.location, `http://forms.s3.localhost:${port}/vhost/vhost.txt`);
    assert.equal((await bytesOf('vhost/vhost.txt')).toString(), 'by host');
  });

  test('content-length-range: too large and too small are refused, nothing stored', async () => {
    const { fields } = await createPresignedPost(s3, {
      Bucket: 'forms',
      Key: 'ranged',
      Conditions: [['content-length-range', 10, 1024]],
      Expires: 600,
    });
    const big = await post(fields, randomBytes(256 * 1024));
    assert.equal(big.status, 400);
    const bigErr = errorOf(await big.text());
    assert.equal(bigErr.code, 'EntityTooLarge');
    assert.equal(bigErr.message, 'Your proposed upload exceeds the maximum allowed size');
    const small = await post(fields, Buffer.from('tiny'));
    assert.equal(small.status, 400);
    assert.equal(errorOf(await small.text()).code, 'EntityTooSmall');
    await absent('ranged');
    const fine = await post(fields, Buffer.from('just right'));
    assert.equal(fine.status, 204, await fine.text());
  });

  test('policy conditions: a failed one, an extra field, an expired policy', async () => {
    const { fields } = await createPresignedPost(s3, {
      Bucket: 'forms',
      Key: 'private/doc',
      Conditions: [['starts-with', '$Content-Type', 'text/']],
      Fields: { 'Content-Type': 'text/plain' },
      Expires: 600,
    });
    const wrongType = await post({ ...fields, 'Content-Type': 'image/png' }, Buffer.from('x'));
    assert.equal(wrongType.status, 403);
    assert.deepEqual(errorOf(await wrongType.text()), {
      code: 'AccessDenied',
      message:
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "text/"]',
    });
    const wrongKey = await post({ ...fields, key: 'public/doc' }, Buffer.from('x'));
    assert.equal(wrongKey.status, 403);
    assert.match(errorOf(await wrongKey.text()).message ?? '', /Policy Condition failed: .*"key"/);
    const extra = await post(fields, Buffer.from('x'), { 'x-amz-meta-sneaky': '1' });
    assert.equal(extra.status, 403);
    assert.equal(
      errorOf(await extra.text()).message,
      'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky',
    );
    const ignored = await post(fields, Buffer.from('ok'), { 'x-ignore-note': 'anything' });
    assert.equal(ignored.status, 204, await ignored.text());

    const policy = {
      expiration: new Date(Date.now() - 60_000).toISOString(),
      conditions: [{ bucket: 'forms' }, ['starts-with', '$key', '']],
    };
    const expired = await post(
      { key: 'late', policy: Buffer.from(JSON.stringify(policy)).toString('base64') },
      Buffer.from('x'),
    );
    assert.equal(expired.status, 403);
    assert.deepEqual(errorOf(await expired.text()), {
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired.',
    });
    await absent('late');
    await absent('public/doc');
  });

  test('missing key, missing file, a malformed body', async () => {
    const noKey = await post({}, Buffer.from('x'));
    assert.equal(noKey.status, 400);
    const noKeyErr = errorOf(await noKey.text());
    assert.equal(noKeyErr.code, 'InvalidArgument');
    assert.match(noKeyErr.message ?? '', /must contain a field named 'key'/);
    const noFile = await post({ key: 'nofile' }, undefined);
    assert.equal(noFile.status, 400);
    assert.deepEqual(errorOf(await noFile.text()), {
      code: 'InvalidArgument',
      message: 'POST requires exactly one file upload per request.',
    });
    const malformed = await fetch(`${server.endpoint}/forms`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--xyz\r\nbroken',
    });
    assert.equal(malformed.status, 400);
    assert.equal(errorOf(await malformed.text()).code, 'MalformedPOSTRequest');
    const noBoundary = await fetch(`${server.endpoint}/forms`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' },
      body: 'key=x',
    });
    assert.equal(noBoundary.status, 400);
    assert.equal(errorOf(await noBoundary.text()).code, 'MalformedPOSTRequest');
    await absent('nofile');
  });

  test('a missing bucket is NoSuchBucket; success_action_status 200 answers 200', async () => {
    const form = new FormData();
    form.append('key', 'k');
    form.append('file', new Blob(['x']), 'x');
    const missing = await fetch(`${server.endpoint}/no-such-forms`, { method: 'POST', body: form });
    assert.equal(missing.status, 404);
    assert.equal(errorOf(await missing.text()).code, 'NoSuchBucket');
    const ok = await post({ key: 'two-hundred', success_action_status: '200' }, Buffer.from('y'));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '');
  });

  test('a versioned bucket keeps each POST as a version, like PutObject', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'forms-versioned' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'forms-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const ids: string[] = [];
    for (const text of ['first', 'second']) {
      const form = new FormData();
      form.append('key', 'doc.txt');
      form.append('file', new Blob([text]), 'doc.txt');
      const res = await fetch(`${server.endpoint}/forms-versioned`, { method: 'POST', body: form });
      assert.equal(res.status, 204, await res.text());
      ids.push(res.headers.get('x-amz-version-id') ?? '');
    }
    assert.notEqual(ids[0], ids[1]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'forms-versioned' }));
    assert.deepEqual(versions.Versions?.map((v) => v.VersionId).sort(), [...ids].sort());
    assert.equal((await bytesOf('doc.txt', 'forms-versioned')).toString(), 'second');
  });
  test('the tagging and x-amz-checksum-* fields are honoured like PutObject headers', async () => {
    const body = Buffer.from('tagged and checksummed');
    const sha256 = createHash('sha256').update(body).digest('base64');
    const tagging =
      '<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag>' +
      '<Tag><Key>tier</Key><Value>gold</Value></Tag></TagSet></Tagging>';
    const presign = (key: string, fields: Record<string, string>) =>
      createPresignedPost(s3, {
        Bucket: 'forms',
        Key: key,
        Conditions: Object.entries(fields).map(([k, v]) => ({ [k]: v })),
        Fields: fields,
        Expires: 600,
      });
    const ok = await presign('checked/tagged.txt', {
      tagging,
      'x-amz-checksum-sha256': sha256,
    });
    const res = await post(ok.fields, body);
    assert.equal(res.status, 204, await res.text());
    assert.equal(res.headers.get('x-amz-checksum-sha256'), sha256);
    const tags = await s3.send(
      new GetObjectTaggingCommand({ Bucket: 'forms', Key: 'checked/tagged.txt' }),
    );
    assert.deepEqual(tags.TagSet, [
      { Key: 'team', Value: 'blue' },
      { Key: 'tier', Value: 'gold' },
    ]);
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: 'forms',
        Key: 'checked/tagged.txt',
        ChecksumMode: 'ENABLED',
      }),
    );
    assert.equal(head.ChecksumSHA256, sha256);

    // x-amz-checksum-algorithm alone: S3 computes the checksum and keeps it.
    const alg = await presign('checked/crc.txt', { 'x-amz-checksum-algorithm': 'CRC32' });
    const crcRes = await post(alg.fields, body);
    assert.equal(crcRes.status, 204, await crcRes.text());
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    assert.equal(crcRes.headers.get('x-amz-checksum-crc32'), crc.toString('base64'));

    // A checksum that does not match: BadDigest, nothing stored.
    const wrong = await presign('checked/wrong.txt', {
      'x-amz-checksum-sha256': createHash('sha256').update('other').digest('base64'),
    });
    const bad = await post(wrong.fields, body);
    assert.equal(bad.status, 400);
    assert.deepEqual(errorOf(await bad.text()), {
      code: 'BadDigest',
      message: 'The SHA256 you specified did not match the calculated checksum.',
    });
    await absent('checked/wrong.txt');
    // A checksum that is not one: InvalidRequest.
    const notDigest = await presign('checked/nd.txt', { 'x-amz-checksum-crc32': 'abc' });
    const nd = await post(notDigest.fields, body);
    assert.equal(nd.status, 400);
    assert.equal(errorOf(await nd.text()).code, 'InvalidRequest');
    await absent('checked/nd.txt');
    // Tagging that is not the Tagging XML: MalformedXML.
    const badTags = await presign('checked/badtags.txt', { tagging: 'team=blue' });
    const bt = await post(badTags.fields, body);
    assert.equal(bt.status, 400);
    assert.equal(errorOf(await bt.text()).code, 'MalformedXML');
    await absent('checked/badtags.txt');
  });

  test('form uploads are metered: a tier-1 request, storage, and S3 request metrics', async () => {
    const ce = new CostExplorerClient(clientConfig(server.endpoint));
    const cw = new CloudWatchClient(clientConfig(server.endpoint));
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'forms-metered' }));
      await s3.send(
        new PutBucketMetricsConfigurationCommand({
          Bucket: 'forms-metered',
          Id: 'all',
          MetricsConfiguration: { Id: 'all' },
        }),
      );
      const day = (t: number) => new Date(t).toISOString().slice(0, 10);
      const tier1 = async (): Promise<number> => {
        const now = Date.now();
        const out = await ce.send(
          new GetCostAndUsageCommand({
            TimePeriod: { Start: day(now), End: day(now + 86_400_000) },
            Granularity: 'DAILY',
            Metrics: ['UsageQuantity'],
            GroupBy: [{ Type: 'DIMENSION', Key: 'USAGE_TYPE' }],
            Filter: { Dimensions: { Key: 'SERVICE', Values: ['Amazon Simple Storage Service'] } },
          }),
        );
        const g = out.ResultsByTime?.[0]?.Groups?.find((x) => x.Keys?.[0] === 'Requests-Tier1');
        return Number(g?.Metrics?.UsageQuantity.Amount ?? 0);
      };
      // Requests are counted as they are answered; Cost Explorer flushes the counts it reads.
      const before = await tier1();
      const form = new FormData();
      form.append('key', 'metered.bin');
      form.append('file', new Blob([Buffer.alloc(1000, 1)]), 'metered.bin');
      const res = await fetch(`${server.endpoint}/forms-metered`, { method: 'POST', body: form });
      assert.equal(res.status, 204, await res.text());
      await eventually('the POST counted as a tier-1 request', async () =>
        (await tier1()) === before + 1 ? true : undefined,
      );
      const stat = async (name: string) => {
        const now = Date.now();
        const out = await cw.send(
          new GetMetricStatisticsCommand({
            Namespace: 'AWS/S3',
            MetricName: name,
            Dimensions: [
              { Name: 'BucketName', Value: 'forms-metered' },
              { Name: 'FilterId', Value: 'all' },
            ],
            StartTime: new Date(now - 1_800_000),
            EndTime: new Date(now + 1_800_000),
            Period: 3600,
            Statistics: ['Sum'],
          }),
        );
        return out.Datapoints?.[0]?.Sum;
      };
      assert.equal(await eventually('PostRequests', () => stat('PostRequests')), 1);
      assert.equal(await eventually('BytesUploaded', () => stat('BytesUploaded')), 1000);
      // The bucket's storage is recounted after the upload, as after a PutObject.
      const stored = await eventually('BucketSizeBytes', async () => {
        const now = Date.now();
        const out = await cw.send(
          new GetMetricStatisticsCommand({
            Namespace: 'AWS/S3',
            MetricName: 'BucketSizeBytes',
            Dimensions: [
              { Name: 'BucketName', Value: 'forms-metered' },
              { Name: 'StorageType', Value: 'StandardStorage' },
            ],
            StartTime: new Date(now - 1_800_000),
            EndTime: new Date(now + 1_800_000),
            Period: 3600,
            Statistics: ['Maximum'],
          }),
        );
        return out.Datapoints?.[0]?.Maximum;
      });
      assert.equal(stored, 1000);
    } finally {
      ce.destroy();
      cw.destroy();
    }
  });
});
