/**
 * S3 through @aws-sdk/client-s3 (its default CRC32 checksums, aws-chunked trailers) and
 * lib-storage (multipart), presigned URLs with curl, virtual-hosted buckets with curl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  GetObjectAclCommand,
  PutObjectAclCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketTaggingCommand,
  GetBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { curl } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let s3: S3Client;

async function rejects(p: Promise<unknown>, name: string, status?: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, String(err));
    assert.equal(err.name, name);
    if (status !== undefined) assert.equal(err.$metadata.httpStatusCode, status);
    return true;
  });
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

describe('S3 objects through SDK v3', () => {
  before(async () => {
    server = await startTestServer();
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  test('buckets: create, region constraint errors, duplicates, location, tagging, not empty', async () => {
    await rejects(
      s3.send(
        new CreateBucketCommand({
          Bucket: 'elsewhere',
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      ),
      'IllegalLocationConstraintException',
      400,
    );
    const west = new S3Client({
      ...clientConfig(server.endpoint),
      region: 'eu-west-1',
      forcePathStyle: true,
    });
    // (The SDK adds the client's region as the constraint when none is given.)
    await rejects(
      west.send(
        new CreateBucketCommand({
          Bucket: 'west-bucket',
          CreateBucketConfiguration: { LocationConstraint: 'us-west-2' },
        }),
      ),
      'IllegalLocationConstraintException',
    );
    await west.send(
      new CreateBucketCommand({
        Bucket: 'west-bucket',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    assert.equal(
      (await s3.send(new GetBucketLocationCommand({ Bucket: 'west-bucket' }))).LocationConstraint,
      'eu-west-1',
    );
    await rejects(
      west.send(
        new CreateBucketCommand({
          Bucket: 'west-bucket',
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      ),
      'BucketAlreadyOwnedByYou',
      409,
    );
    west.destroy();
    await rejects(
      s3.send(new CreateBucketCommand({ Bucket: 'No_Such' })),
      'InvalidBucketName',
      400,
    );
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'west-bucket',
        Tagging: { TagSet: [{ Key: 'team', Value: 'a' }] },
      }),
    );
    assert.deepEqual(
      (await s3.send(new GetBucketTaggingCommand({ Bucket: 'west-bucket' }))).TagSet,
      [{ Key: 'team', Value: 'a' }],
    );
    await s3.send(new PutObjectCommand({ Bucket: 'west-bucket', Key: 'k', Body: 'x' }));
    await rejects(
      s3.send(new DeleteBucketCommand({ Bucket: 'west-bucket' })),
      'BucketNotEmpty',
      409,
    );
    await s3.send(new DeleteObjectCommand({ Bucket: 'west-bucket', Key: 'k' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'west-bucket' }));
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'west-bucket', Key: 'k' })),
      'NoSuchBucket',
      404,
    );
  });

  test('put and get with the default checksum, metadata, ranges, overrides', async () => {
    const body = Buffer.from('the quick brown fox jumps over the lazy dog');
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'dir/fox.txt',
        Body: body,
        ContentType: 'text/plain',
        Metadata: { author: 'me' },
        Tagging: 'a=1&b=2',
      }),
    );
    assert.equal(put.ETag, `"${md5(body)}"`);
    assert.ok(put.ChecksumCRC32, 'the CRC32 the SDK sent is verified and returned');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'dir/fox.txt' }));
    assert.equal(await got.Body?.transformToString(), body.toString());
    assert.equal(got.ContentType, 'text/plain');
    assert.deepEqual(got.Metadata, { author: 'me' });
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
    assert.equal(got.TagCount, 2);
    const part = await s3.send(
      new GetObjectCommand({ Bucket: 'photos', Key: 'dir/fox.txt', Range: 'bytes=4-8' }),
    );
    assert.equal(part.$metadata.httpStatusCode, 206);
    assert.equal(part.ContentRange, `bytes 4-8/${body.length}`);
    assert.equal(await part.Body?.transformToString(), 'quick');
    const suffix = await s3.send(
      new GetObjectCommand({ Bucket: 'photos', Key: 'dir/fox.txt', Range: 'bytes=-3' }),
    );
    assert.equal(await suffix.Body?.transformToString(), 'dog');
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'dir/fox.txt', Range: 'bytes=999-' })),
      'InvalidRange',
      416,
    );
    const over = await s3.send(
      new GetObjectCommand({
        Bucket: 'photos',
        Key: 'dir/fox.txt',
        ResponseContentType: 'application/x-fox',
        ResponseContentDisposition: 'attachment; filename="f.txt"',
      }),
    );
    assert.equal(over.ContentType, 'application/x-fox');
    assert.equal(over.ContentDisposition, 'attachment; filename="f.txt"');
    await over.Body?.transformToString();
    const tags = await s3.send(
      new GetObjectTaggingCommand({ Bucket: 'photos', Key: 'dir/fox.txt' }),
    );
    assert.deepEqual(tags.TagSet, [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ]);
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'nope' })),
      'NoSuchKey',
      404,
    );
    await rejects(
      s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'nope' })),
      'NotFound',
      404,
    );
  });

  test('conditional reads and writes', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'cond', Body: 'v1' }));
    const etag = put.ETag as string;
    await rejects(
      s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfMatch: '"nope"' })),
      'PreconditionFailed',
      412,
    );
    await assert.rejects(
      s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfNoneMatch: etag })),
      (err: S3ServiceException) => err.$metadata.httpStatusCode === 304,
    );
    await assert.rejects(
      s3.send(
        new HeadObjectCommand({
          Bucket: 'photos',
          Key: 'cond',
          IfModifiedSince: new Date(Date.now() + 60_000),
        }),
      ),
      (err: S3ServiceException) => err.$metadata.httpStatusCode === 304,
    );
    await rejects(
      s3.send(
        new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfUnmodifiedSince: new Date(0) }),
      ),
      'PreconditionFailed',
      412,
    );
    const ok = await s3.send(
      new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfMatch: etag }),
    );
    assert.equal(await ok.Body?.transformToString(), 'v1');
    // If-None-Match: * refuses to overwrite, and nothing changes.
    await rejects(
      s3.send(
        new PutObjectCommand({ Bucket: 'photos', Key: 'cond', Body: 'v2', IfNoneMatch: '*' }),
      ),
      'PreconditionFailed',
      412,
    );
    const still = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond' }));
    assert.equal(await still.Body?.transformToString(), 'v1');
    await s3.send(
      new PutObjectCommand({ Bucket: 'photos', Key: 'cond-new', Body: 'n', IfNoneMatch: '*' }),
    );
  });

  test('a corrupted checksum or Content-MD5 is refused and nothing is stored', async () => {
    await rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'bad-crc',
          Body: 'payload',
          ChecksumCRC32: 'AAAAAA==',
        }),
      ),
      'BadDigest',
      400,
    );
    await rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'bad-sha',
          Body: 'payload',
          ChecksumSHA256: createHash('sha256').update('other').digest('base64'),
        }),
      ),
      'BadDigest',
      400,
    );
    await rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'bad-md5',
          Body: 'payload',
          ContentMD5: createHash('md5').update('other').digest('base64'),
        }),
      ),
      'BadDigest',
      400,
    );
    for (const key of ['bad-crc', 'bad-sha', 'bad-md5']) {
      await rejects(
        s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: key })),
        'NotFound',
        404,
      );
    }
    // Each algorithm the SDKs offer is verified and returned.
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: `sum-${alg}`,
          Body: 'abc',
          ChecksumAlgorithm: alg,
        }),
      );
      assert.ok(put[`Checksum${alg}`], alg);
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: 'photos', Key: `sum-${alg}`, ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head[`Checksum${alg}`], put[`Checksum${alg}`], alg);
    }
  });

  test('a large body (hashed off the event loop): its MD5 is the ETag; a wrong Content-MD5 stores nothing', async () => {
    // Past OFF_THREAD_BYTES (8 MB), and not a whole number of 1 MB blocks.
    const big = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'big-md5',
        Body: big,
        ContentMD5: createHash('md5').update(big).digest('base64'),
      }),
    );
    assert.equal(put.ETag, `"${md5(big)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big-md5' }));
    assert.equal(md5(Buffer.from(await got.Body!.transformToByteArray())), md5(big));
    await rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'big-bad-md5',
          Body: big,
          ContentMD5: createHash('md5').update('other').digest('base64'),
        }),
      ),
      'BadDigest',
      400,
    );
    await rejects(
      s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'big-bad-md5' })),
      'NotFound',
      404,
    );
  });

  test('the flexible checksums of a large body are checked off the event loop too: each returned, a wrong one stores nothing', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024 + 77);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i * 31, i);
    // CRC32, SHA1 and SHA256 run on the hash workers, CRC32C beside them on the event loop.
    for (const alg of ['CRC32', 'SHA1', 'SHA256', 'CRC32C'] as const) {
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: `big-sum-${alg}`,
          Body: big,
          ChecksumAlgorithm: alg,
        }),
      );
      assert.equal(put.ETag, `"${md5(big)}"`, alg);
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: 'photos', Key: `big-sum-${alg}`, ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head[`Checksum${alg}`], put[`Checksum${alg}`], alg);
      if (alg === 'SHA256') {
        assert.equal(head.ChecksumSHA256, createHash('sha256').update(big).digest('base64'));
      }
    }
    await rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'big-bad-crc',
          Body: big,
          ChecksumCRC32: 'AAAAAA==',
        }),
      ),
      'BadDigest',
      400,
    );
    await rejects(
      s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'big-bad-crc' })),
      'NotFound',
      404,
    );
  });

  test('object ACLs: canned ACLs stored and returned; refused where the bucket enforces ownership', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'acls', ObjectOwnership: 'ObjectWriter' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'acls', Key: 'pub', Body: 'x', ACL: 'public-read' }),
    );
    const pub = await s3.send(new GetObjectAclCommand({ Bucket: 'acls', Key: 'pub' }));
    assert.equal(pub.Owner?.ID, '000000000000');
    assert.deepEqual(
      pub.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.URI ?? g.Grantee?.ID, g.Permission]),
      [
        ['CanonicalUser', '000000000000', 'FULL_CONTROL'],
        ['Group', 'http://acs.amazonaws.com/groups/global/AllUsers', 'READ'],
      ],
    );
    await s3.send(new PutObjectAclCommand({ Bucket: 'acls', Key: 'pub', ACL: 'private' }));
    const priv = await s3.send(new GetObjectAclCommand({ Bucket: 'acls', Key: 'pub' }));
    assert.deepEqual(
      priv.Grants?.map((g) => g.Permission),
      ['FULL_CONTROL'],
    );
    await s3.send(
      new PutObjectAclCommand({
        Bucket: 'acls',
        Key: 'pub',
        AccessControlPolicy: {
          Owner: { ID: '000000000000' },
          Grants: [
            {
              Grantee: {
                Type: 'Group',
                URI: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
              },
              Permission: 'READ',
            },
          ],
        },
      }),
    );
    const explicit = await s3.send(new GetObjectAclCommand({ Bucket: 'acls', Key: 'pub' }));
    assert.equal(
      explicit.Grants?.[0].Grantee?.URI,
      'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
    );
    // 'photos' was created without ObjectOwnership: BucketOwnerEnforced, as on AWS.
    await rejects(
      s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'p', Body: 'x', ACL: 'public-read' })),
      'AccessControlListNotSupported',
      400,
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'p',
        Body: 'x',
        ACL: 'bucket-owner-full-control',
      }),
    );
    await rejects(
      s3.send(new GetObjectAclCommand({ Bucket: 'acls', Key: 'missing' })),
      'NoSuchKey',
      404,
    );
  });

  test('copy with metadata directive and conditional copy; delete objects', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'photos', Key: 'src', Body: 'copy me', Metadata: { m: '1' } }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: 'photos', Key: 'dst', CopySource: 'photos/src' }),
    );
    assert.equal(copied.CopyObjectResult?.ETag, `"${md5('copy me')}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'dst' }));
    assert.deepEqual(head.Metadata, { m: '1' });
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'photos',
        Key: 'dst2',
        CopySource: 'photos/src',
        MetadataDirective: 'REPLACE',
        Metadata: { m: '2' },
        ContentType: 'text/x',
      }),
    );
    const head2 = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'dst2' }));
    assert.deepEqual(head2.Metadata, { m: '2' });
    assert.equal(head2.ContentType, 'text/x');
    await rejects(
      s3.send(
        new CopyObjectCommand({
          Bucket: 'photos',
          Key: 'dst3',
          CopySource: 'photos/src',
          CopySourceIfMatch: '"x"',
        }),
      ),
      'PreconditionFailed',
      412,
    );
    await rejects(
      s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'src', CopySource: 'photos/src' })),
      'InvalidRequest',
      400,
    );
    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'photos',
        Delete: { Objects: [{ Key: 'dst' }, { Key: 'dst2' }, { Key: 'never-was' }] },
      }),
    );
    assert.equal(deleted.Deleted?.length, 3);
    await rejects(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'dst' })), 'NotFound');
  });

  test('listings: v2 paging with delimiter, start-after, url encoding; v1 markers', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys = ['a/1', 'a/2', 'b/1', 'c', 'd e+f', 'e/x/y', 'f'];
    for (const Key of keys)
      await s3.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }));
    // Pages of 2, with the delimiter: prefixes count as keys.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: 'listing',
          Delimiter: '/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string));
      seen.push(...(page.Contents ?? []).map((c) => c.Key as string));
      assert.ok((page.KeyCount ?? 0) <= 2);
      token = page.NextContinuationToken;
    } while (token);
    assert.deepEqual(seen.sort(), ['a/', 'b/', 'c', 'd e+f', 'e/', 'f']);
    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'c', Prefix: '' }),
    );
    assert.deepEqual(
      after.Contents?.map((c) => c.Key),
      ['d e+f', 'e/x/y', 'f'],
    );
    const under = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'e/', Delimiter: '/' }),
    );
    assert.deepEqual(under.CommonPrefixes, [{ Prefix: 'e/x/' }]);
    // The SDK asks for url encoding and decodes it back.
    const encoded = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'd', EncodingType: 'url' }),
    );
    assert.ok(encoded.Contents?.[0].Key === 'd+e%2Bf' || encoded.Contents?.[0].Key === 'd e+f');
    const v1 = await s3.send(
      new ListObjectsCommand({ Bucket: 'listing', MaxKeys: 3, Delimiter: '/' }),
    );
    assert.equal(v1.IsTruncated, true);
    assert.equal(v1.NextMarker, 'c');
    const v1next = await s3.send(
      new ListObjectsCommand({ Bucket: 'listing', Marker: v1.NextMarker, Delimiter: '/' }),
    );
    assert.deepEqual(
      [
        ...(v1next.Contents ?? []).map((c) => c.Key),
        ...(v1next.CommonPrefixes ?? []).map((p) => p.Prefix),
      ],
      ['d e+f', 'f', 'e/'],
    );
  });

  test('multipart: lib-storage upload, ETag of part MD5s, list parts and uploads, abort, copy part', async () => {
    const partSize = 5 * 1024 * 1024;
    const data = Buffer.alloc(partSize * 2 + 1234);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i, i);
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'photos', Key: 'big.bin', Body: data },
      partSize,
      queueSize: 2,
    });
    const done = await upload.done();
    const partMd5s = [0, 1, 2].map((i) =>
      createHash('md5')
        .update(data.subarray(i * partSize, Math.min(data.length, (i + 1) * partSize)))
        .digest(),
    );
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
    assert.equal(done.ETag, expected);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big.bin' }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) as Uint8Array);
    assert.ok(bytes.equals(data));
    const second = await s3.send(
      new GetObjectCommand({ Bucket: 'photos', Key: 'big.bin', PartNumber: 2 }),
    );
    assert.equal(second.ContentLength, partSize);
    assert.equal(second.PartsCount, 3);
    await second.Body?.transformToByteArray();
    // A small part that is not the last is refused at completion.
    const create = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'small-parts' }),
    );
    const id = create.UploadId as string;
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: 'photos',
        Key: 'small-parts',
        UploadId: id,
        PartNumber: 1,
        Body: 'aa',
      }),
    );
    const p2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'photos',
        Key: 'small-parts',
        UploadId: id,
        PartNumber: 2,
        CopySource: 'photos/big.bin',
        CopySourceRange: 'bytes=0-9',
      }),
    );
    assert.equal(p2.CopyPartResult?.ETag, `"${md5(data.subarray(0, 10))}"`);
    const parts = await s3.send(
      new ListPartsCommand({ Bucket: 'photos', Key: 'small-parts', UploadId: id }),
    );
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, 2],
        [2, 10],
      ],
    );
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'photos' }));
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === id));
    await rejects(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'photos',
          Key: 'small-parts',
          UploadId: id,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag },
              { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
            ],
          },
        }),
      ),
      'EntityTooSmall',
      400,
    );
    await rejects(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'photos',
          Key: 'small-parts',
          UploadId: id,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0000"' }] },
        }),
      ),
      'InvalidPart',
      400,
    );
    // A single small part is allowed (it is the last).
    const one = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'photos',
        Key: 'small-parts',
        UploadId: id,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
      }),
    );
    assert.equal(
      one.ETag,
      `"${createHash('md5')
        .update(Buffer.from(md5('aa'), 'hex'))
        .digest('hex')}-1"`,
    );
    const aborted = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'gone' }),
    );
    await s3.send(
      new AbortMultipartUploadCommand({
        Bucket: 'photos',
        Key: 'gone',
        UploadId: aborted.UploadId,
      }),
    );
    await rejects(
      s3.send(
        new UploadPartCommand({
          Bucket: 'photos',
          Key: 'gone',
          UploadId: aborted.UploadId,
          PartNumber: 1,
          Body: 'x',
        }),
      ),
      'NoSuchUpload',
      404,
    );
  });

  test('presigned PUT and GET URLs work with curl', async () => {
    const putUrl = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'photos', Key: 'pre signed.txt' }),
      {
        expiresIn: 300,
      },
    );
    const put = await curl(['-X', 'PUT', '--data-binary', 'from curl', putUrl]);
    assert.equal(put.status, 200, put.body);
    assert.equal(put.headers.etag, `"${md5('from curl')}"`);
    const getUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: 'photos', Key: 'pre signed.txt' }),
    );
    const got = await curl([getUrl]);
    assert.equal(got.status, 200);
    assert.equal(got.body, 'from curl');
  });

  test('virtual-hosted style with curl and with the SDK', async () => {
    const { port } = server;
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'vh/cat.txt', Body: 'meow' }));
    const viaHost = await curl([`http://photos.s3.localhost:${port}/vh/cat.txt`]);
    assert.equal(viaHost.status, 200);
    assert.equal(viaHost.body, 'meow');
    const listing = await curl([`http://photos.s3.localhost:${port}/?list-type=2&prefix=vh/`]);
    assert.match(listing.body, /<ListBucketResult[^>]*>.*<Key>vh\/cat\.txt<\/Key>/s);
    // The SDK signs the virtual-hosted request (canonical URI without the bucket).
    const vh = new S3Client({
      ...clientConfig(`http://s3.localhost:${port}`),
      forcePathStyle: false,
    });
    try {
      const signed = await curl([
        '--aws-sigv4',
        'aws:amz:us-east-1:s3',
        '--user',
        'test:test',
        '-H',
        'x-amz-content-sha256: UNSIGNED-PAYLOAD',
        `http://photos.s3.localhost:${port}/vh/cat.txt`,
      ]);
      assert.equal(signed.status, 200);
      assert.equal(signed.body, 'meow');
    } finally {
      vh.destroy();
    }
  });
});
