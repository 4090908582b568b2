/**
 * S3 versioning through SDK v3, boto3 and `aws s3api`: versions made by every write,
 * delete markers, reads and deletes by version id, ListObjectVersions paging, suspended
 * buckets' `null` version.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { awsCli, python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let s3: S3Client;

async function rejects(
  p: Promise<unknown>,
  name: string,
  status: number,
  headers: Record<string, string> = {},
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, String(err));
    assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, status);
    for (const [h, v] of Object.entries(headers)) assert.equal(err.$response?.headers[h], v, h);
    return true;
  });
}

async function body(Bucket: string, Key: string, VersionId?: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  return (await out.Body?.transformToString()) ?? '';
}

async function versioned(Bucket: string, Status: 'Enabled' | 'Suspended' = 'Enabled') {
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
}

const put = (Bucket: string, Key: string, Body: string) =>
  s3.send(new PutObjectCommand({ Bucket, Key, Body }));

describe('S3 versioning', () => {
  before(async () => {
    server = await startTestServer();
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  test('every write makes a version; reads by version id; delete markers hide and reveal', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'ver' }));
    const before = await put('ver', 'doc', 'zero');
    assert.equal(before.VersionId, undefined, 'no version id before versioning is configured');
    await versioned('ver');
    const one = await put('ver', 'doc', 'one');
    const two = await put('ver', 'doc', 'two');
    assert.match(one.VersionId ?? '', /^[0-9A-Za-z]{32}$/);
    assert.notEqual(one.VersionId, two.VersionId);
    assert.equal(await body('ver', 'doc'), 'two');
    assert.equal(await body('ver', 'doc', one.VersionId), 'one');
    assert.equal(await body('ver', 'doc', 'null'), 'zero', 'the pre-versioning object is null');
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: one.VersionId }),
    );
    assert.equal(head.VersionId, one.VersionId);
    assert.equal(head.ContentLength, 3);

    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc' }));
    assert.equal(del.DeleteMarker, true);
    assert.match(del.VersionId ?? '', /^[0-9A-Za-z]{32}$/);
    await rejects(s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc' })), 'NoSuchKey', 404, {
      'x-amz-delete-marker': 'true',
      'x-amz-version-id': del.VersionId as string,
    });
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: del.VersionId })),
      'MethodNotAllowed',
      405,
      { 'x-amz-delete-marker': 'true', allow: 'DELETE' },
    );
    // Older versions stay readable under the marker.
    assert.equal(await body('ver', 'doc', two.VersionId), 'two');

    // Deleting the marker by id brings the object back.
    const unmark = await s3.send(
      new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: del.VersionId }),
    );
    assert.equal(unmark.DeleteMarker, true);
    assert.equal(unmark.VersionId, del.VersionId);
    assert.equal(await body('ver', 'doc'), 'two');

    // Deleting the current version by id makes the next newest current.
    const gone = await s3.send(
      new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: two.VersionId }),
    );
    assert.equal(gone.DeleteMarker, undefined);
    assert.equal(await body('ver', 'doc'), 'one');
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: two.VersionId })),
      'NoSuchVersion',
      404,
    );
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: 'not-a-version' })),
      'InvalidArgument',
      400,
    );
  });

  test('ListObjectVersions: newest first per key, IsLatest, paging by key and version markers', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'pages' }));
    await versioned('pages');
    const written: string[] = [];
    for (const key of ['a', 'b/x', 'b/y', 'c']) {
      for (let i = 0; i < 3; i++) {
        written.push(`${key}@${(await put('pages', key, `${key}${i}`)).VersionId}`);
      }
    }
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'pages', Key: 'c' }));

    const all = await s3.send(new ListObjectVersionsCommand({ Bucket: 'pages' }));
    assert.equal(all.Versions?.length, 12);
    assert.deepEqual(
      all.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest]),
      [['c', marker.VersionId, true]],
    );
    const a = all.Versions?.filter((v) => v.Key === 'a') ?? [];
    assert.deepEqual(
      a.map((v) => v.IsLatest),
      [true, false, false],
    );
    assert.deepEqual(
      a.map((v) => `a@${v.VersionId}`),
      written.slice(0, 3).reverse(),
      'newest first',
    );
    assert.ok(all.Versions?.filter((v) => v.Key === 'c').every((v) => !v.IsLatest));

    // One entry per page: every version and the marker exactly once, in order.
    const seen: string[] = [];
    let page: ListObjectVersionsCommandOutput | undefined;
    let pages = 0;
    do {
      page = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: 'pages',
          MaxKeys: 1,
          KeyMarker: page?.NextKeyMarker,
          VersionIdMarker: page?.NextVersionIdMarker,
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
        seen.push(`${v.Key}@${v.VersionId}@${v.IsLatest}`);
      pages++;
    } while (page.IsTruncated && pages < 50);
    const expected = [
      ...(all.Versions ?? []).filter((v) => v.Key !== 'c'),
      ...(all.DeleteMarkers ?? []),
      ...(all.Versions ?? []).filter((v) => v.Key === 'c'),
    ].map((v) => `${v.Key}@${v.VersionId}@${v.IsLatest}`);
    assert.deepEqual(seen, expected);
    assert.equal(pages, 13);

    const rolled = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'pages', Delimiter: '/' }),
    );
    assert.deepEqual(
      rolled.CommonPrefixes?.map((p) => p.Prefix),
      ['b/'],
    );
    assert.equal(rolled.Versions?.length, 6);
    const afterA = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'pages', KeyMarker: 'a', Prefix: 'b/' }),
    );
    assert.deepEqual([...new Set(afterA.Versions?.map((v) => v.Key))], ['b/x', 'b/y']);
  });

  test('tagging, copy and multipart address versions', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'more' }));
    await versioned('more');
    const old = await put('more', 'k', 'old');
    const cur = await put('more', 'k', 'new');
    const tagged = await s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'more',
        Key: 'k',
        VersionId: old.VersionId,
        Tagging: { TagSet: [{ Key: 'age', Value: 'old' }] },
      }),
    );
    assert.equal(tagged.VersionId, old.VersionId);
    const oldTags = await s3.send(
      new GetObjectTaggingCommand({ Bucket: 'more', Key: 'k', VersionId: old.VersionId }),
    );
    assert.deepEqual(oldTags.TagSet, [{ Key: 'age', Value: 'old' }]);
    const curTags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'more', Key: 'k' }));
    assert.deepEqual(curTags.TagSet, []);
    assert.equal(curTags.VersionId, cur.VersionId);

    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: 'more',
        Key: 'copy',
        CopySource: `more/k?versionId=${old.VersionId}`,
      }),
    );
    assert.equal(copy.CopySourceVersionId, old.VersionId);
    assert.match(copy.VersionId ?? '', /^[0-9A-Za-z]{32}$/);
    assert.equal(await body('more', 'copy'), 'old');
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'more', Key: 'k' }));
    await rejects(
      s3.send(
        new CopyObjectCommand({
          Bucket: 'more',
          Key: 'copy2',
          CopySource: `more/k?versionId=${marker.VersionId}`,
        }),
      ),
      'InvalidRequest',
      400,
    );
    await rejects(
      s3.send(new CopyObjectCommand({ Bucket: 'more', Key: 'copy2', CopySource: 'more/k' })),
      'NoSuchKey',
      404,
    );

    const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'more', Key: 'k' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'more',
        Key: 'k',
        UploadId: mpu.UploadId,
        PartNumber: 1,
        Body: 'multi',
      }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'more',
        Key: 'k',
        UploadId: mpu.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    assert.match(done.VersionId ?? '', /^[0-9A-Za-z]{32}$/);
    assert.equal(await body('more', 'k'), 'multi');
    assert.equal(await body('more', 'k', old.VersionId), 'old');
    // Restoring an older version: a copy of it onto its own key becomes the latest.
    const restored = await s3.send(
      new CopyObjectCommand({
        Bucket: 'more',
        Key: 'k',
        CopySource: `more/k?versionId=${old.VersionId}`,
      }),
    );
    assert.notEqual(restored.VersionId, old.VersionId);
    assert.equal(await body('more', 'k'), 'old');
  });

  test('suspended: writes replace the null version; deletes leave a null marker; buckets empty only without versions', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sus' }));
    await versioned('sus');
    const kept = await put('sus', 'k', 'kept');
    await versioned('sus', 'Suspended');
    const n1 = await put('sus', 'k', 'null-1');
    assert.equal(n1.VersionId, 'null');
    await put('sus', 'k', 'null-2');
    let list = await s3.send(new ListObjectVersionsCommand({ Bucket: 'sus' }));
    assert.deepEqual(
      list.Versions?.map((v) => [v.VersionId, v.IsLatest]),
      [
        ['null', true],
        [kept.VersionId, false],
      ],
    );
    assert.equal(await body('sus', 'k', 'null'), 'null-2');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'sus', Key: 'k' }));
    assert.deepEqual([del.DeleteMarker, del.VersionId], [true, 'null']);
    list = await s3.send(new ListObjectVersionsCommand({ Bucket: 'sus' }));
    assert.deepEqual(
      list.Versions?.map((v) => v.VersionId),
      [kept.VersionId],
      'the null object went with the null marker',
    );
    assert.equal(list.DeleteMarkers?.[0].VersionId, 'null');

    await rejects(s3.send(new DeleteBucketCommand({ Bucket: 'sus' })), 'BucketNotEmpty', 409);
    const many = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'sus',
        Delete: {
          Objects: [
            { Key: 'k', VersionId: kept.VersionId },
            { Key: 'k', VersionId: 'null' },
            { Key: 'other' },
          ],
        },
      }),
    );
    assert.deepEqual(
      many.Deleted?.map((d) => [d.Key, d.VersionId, d.DeleteMarker]),
      [
        ['k', kept.VersionId, undefined],
        ['k', 'null', true],
        ['other', undefined, true],
      ],
    );
    assert.equal(many.Deleted?.[2].DeleteMarkerVersionId, 'null');
    await s3.send(new DeleteObjectCommand({ Bucket: 'sus', Key: 'other', VersionId: 'null' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'sus' }));
  });

  test('object lock: configuration, default and explicit retention, legal hold protect versions', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-lock' }));
    await rejects(
      s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'plain-lock' })),
      'ObjectLockConfigurationNotFoundError',
      404,
    );
    await rejects(
      s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: 'plain-lock',
          ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
        }),
      ),
      'InvalidBucketState',
      409,
    );
    await rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'plain-lock',
          Key: 'k',
          Body: 'x',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
        }),
      ),
      'InvalidRequest',
      400,
    );

    await s3.send(new CreateBucketCommand({ Bucket: 'vault', ObjectLockEnabledForBucket: true }));
    const status = await s3.send(new GetBucketVersioningCommand({ Bucket: 'vault' }));
    assert.equal(status.Status, 'Enabled');
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: 'vault',
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
        },
      }),
    );
    const config = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'vault' }));
    assert.deepEqual(config.ObjectLockConfiguration?.Rule?.DefaultRetention, {
      Mode: 'GOVERNANCE',
      Days: 1,
    });
    await rejects(versioned('vault', 'Suspended'), 'InvalidBucketState', 409);

    const doc = await put('vault', 'doc', 'kept');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'doc' }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assert.ok((head.ObjectLockRetainUntilDate?.getTime() ?? 0) > Date.now());
    await rejects(
      s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'doc', VersionId: doc.VersionId })),
      'AccessDenied',
      403,
    );
    // A delete without a version id only adds a marker.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'doc' }));
    assert.equal(marker.DeleteMarker, true);
    assert.equal(await body('vault', 'doc', doc.VersionId), 'kept');

    const strict = await s3.send(
      new PutObjectCommand({
        Bucket: 'vault',
        Key: 'legal',
        Body: 'x',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 3_600_000),
      }),
    );
    const retention = await s3.send(
      new GetObjectRetentionCommand({ Bucket: 'vault', Key: 'legal', VersionId: strict.VersionId }),
    );
    assert.equal(retention.Retention?.Mode, 'COMPLIANCE');
    await rejects(
      s3.send(
        new PutObjectRetentionCommand({
          Bucket: 'vault',
          Key: 'legal',
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 60_000) },
          BypassGovernanceRetention: true,
        }),
      ),
      'AccessDenied',
      403,
    );

    // GOVERNANCE gives way to the bypass header; a legal hold does not.
    await s3.send(
      new PutObjectLegalHoldCommand({
        Bucket: 'vault',
        Key: 'doc',
        VersionId: doc.VersionId,
        LegalHold: { Status: 'ON' },
      }),
    );
    const hold = await s3.send(
      new GetObjectLegalHoldCommand({ Bucket: 'vault', Key: 'doc', VersionId: doc.VersionId }),
    );
    assert.equal(hold.LegalHold?.Status, 'ON');
    const bypass = {
      Bucket: 'vault',
      Key: 'doc',
      VersionId: doc.VersionId,
      BypassGovernanceRetention: true,
    };
    await rejects(s3.send(new DeleteObjectCommand(bypass)), 'AccessDenied', 403);
    await s3.send(
      new PutObjectLegalHoldCommand({
        Bucket: 'vault',
        Key: 'doc',
        VersionId: doc.VersionId,
        LegalHold: { Status: 'OFF' },
      }),
    );
    await s3.send(new DeleteObjectCommand(bypass));
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'doc', VersionId: doc.VersionId })),
      'NoSuchVersion',
      404,
    );
  });

  test('boto3 pages ListObjectVersions; aws s3api reads and deletes by version id', async () => {
    const py = await python(
      server.endpoint,
      `
import os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
s3.create_bucket(Bucket='boto-versions')
s3.put_bucket_versioning(Bucket='boto-versions', VersioningConfiguration={'Status': 'Enabled'})
ids = {}
for i in range(5):
    for key in ('x', 'y'):
        ids.setdefault(key, []).append(s3.put_object(Bucket='boto-versions', Key=key, Body=b'%d' % i)['VersionId'])
s3.delete_object(Bucket='boto-versions', Key='y')
seen = []
for page in s3.get_paginator('list_object_versions').paginate(Bucket='boto-versions', PaginationConfig={'PageSize': 3}):
    seen += [(v['Key'], v['VersionId'], v['IsLatest']) for v in page.get('Versions', [])]
    seen += [(m['Key'], 'marker', m['IsLatest']) for m in page.get('DeleteMarkers', [])]
assert [s for s in seen if s[0] == 'x'] == [('x', v, v == ids['x'][-1]) for v in reversed(ids['x'])], seen
assert ('y', 'marker', True) in seen and len(seen) == 11, seen
old = s3.get_object(Bucket='boto-versions', Key='x', VersionId=ids['x'][0])
assert old['Body'].read() == b'0' and old['VersionId'] == ids['x'][0]
print('ok')
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), 'ok');

    const cli = async (args: string[]) => {
      const r = await awsCli(server.endpoint, ['s3api', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout || '{}') as Record<string, unknown>;
    };
    const listed = (
      await cli(['list-object-versions', '--bucket', 'boto-versions', '--prefix', 'x'])
    ).Versions as { VersionId: string }[];
    const oldest = listed[listed.length - 1].VersionId;
    const removed = await cli([
      'delete-object',
      '--bucket',
      'boto-versions',
      '--key',
      'x',
      '--version-id',
      oldest,
    ]);
    assert.equal(removed.VersionId, oldest);
    const r = await awsCli(server.endpoint, [
      's3api',
      'head-object',
      '--bucket',
      'boto-versions',
      '--key',
      'x',
      '--version-id',
      oldest,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /404/);
    const head = await cli(['head-object', '--bucket', 'boto-versions', '--key', 'x']);
    assert.equal(head.VersionId, listed[0].VersionId);
  });
});
