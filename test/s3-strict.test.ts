/**
 * S3 in `--auth strict`: signed payload hashes and aws-chunked uploads verified as they
 * stream, presigned URLs with their expiry enforced.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { curl } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let s3: S3Client;

describe('S3 in strict mode', () => {
  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'strict' }));
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  test('signed bodies and aws-chunked streams with checksum trailers are accepted', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'strict', Key: 'buf', Body: 'signed sha256' }));
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(16 * 1024, i));
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'strict',
        Key: 'stream',
        Body: Readable.from(chunks),
        ContentLength: 40 * 16 * 1024,
      }),
    );
    assert.ok(put.ChecksumCRC32);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'strict', Key: 'stream' }));
    assert.ok(
      Buffer.from((await got.Body?.transformToByteArray()) as Uint8Array).equals(
        Buffer.concat(chunks),
      ),
    );
  });

  test('a large signed body: its x-amz-content-sha256 is checked off the event loop; another body under that hash is refused', async () => {
    // Past the 8 MB from which a payload is hashed on the workers.
    const big = Buffer.alloc(9 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i ^ 0x5a5a, i);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'strict', Key: 'big', Body: big }));
    assert.ok(put.ETag);
    // The request is signed for `big`, then its body swapped for other bytes of that length.
    const tampering = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: unknown };
        if (req.body instanceof Uint8Array) req.body = Buffer.from(req.body).fill(1, 0, 10);
        return next(args);
      },
      { step: 'deserialize', name: 'swapBodyAfterSigning' },
    );
    try {
      await assert.rejects(
        tampering.send(new PutObjectCommand({ Bucket: 'strict', Key: 'swapped', Body: big })),
        (err: S3ServiceException) =>
          err.name === 'XAmzContentSHA256Mismatch' && err.$metadata.httpStatusCode === 400,
      );
    } finally {
      tampering.destroy();
    }
    await assert.rejects(
      s3.send(new HeadObjectCommand({ Bucket: 'strict', Key: 'swapped' })),
      (err: S3ServiceException) => err.$metadata.httpStatusCode === 404,
    );
  });

  test('a wrong secret is refused and nothing is stored', async () => {
    const wrong = new S3Client({
      ...clientConfig(server.endpoint),
      credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' },
      forcePathStyle: true,
    });
    try {
      await assert.rejects(
        wrong.send(new PutObjectCommand({ Bucket: 'strict', Key: 'forged', Body: 'x' })),
        (err: S3ServiceException) => err.name === 'SignatureDoesNotMatch',
      );
    } finally {
      wrong.destroy();
    }
    await assert.rejects(
      s3.send(new HeadObjectCommand({ Bucket: 'strict', Key: 'forged' })),
      (err: S3ServiceException) => err.$metadata.httpStatusCode === 404,
    );
  });

  test('a presigned PUT works with curl; an expired one is refused', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'strict', Key: 'pre' }), {
      expiresIn: 600,
    });
    const ok = await curl(['-X', 'PUT', '--data-binary', 'presigned', url]);
    assert.equal(ok.status, 200, ok.body);
    const expired = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'strict', Key: 'late' }),
      {
        expiresIn: 60,
        signingDate: new Date(Date.now() - 3600_000),
      },
    );
    const refused = await curl(['-X', 'PUT', '--data-binary', 'late', expired]);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);
    await assert.rejects(
      s3.send(new HeadObjectCommand({ Bucket: 'strict', Key: 'late' })),
      (err: S3ServiceException) => err.$metadata.httpStatusCode === 404,
    );
  });

  test('POST Object: a signed policy is accepted; a tampered or unsigned one refused', async () => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: 'strict',
      Key: 'form/${filename}',
      Conditions: [['starts-with', '$key', 'form/']],
      Expires: 600,
    });
    const send = (f: Record<string, string>) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(f)) form.append(k, v);
      form.append('file', new Blob(['posted']), 'a.txt');
      return fetch(url, { method: 'POST', body: form });
    };
    const code = async (res: Response) => /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1];
    const ok = await send(fields);
    assert.equal(ok.status, 204, await ok.text());
    // The policy widened to any key, the signature left as it was.
    const doc = JSON.parse(Buffer.from(fields.Policy, 'base64').toString()) as {
      conditions: unknown[];
    };
    doc.conditions = doc.conditions.map((c) =>
      Array.isArray(c) && c[1] === '$key' ? ['starts-with', '$key', ''] : c,
    );
    const tampered = await send({
      ...fields,
      key: 'elsewhere',
      Policy: Buffer.from(JSON.stringify(doc)).toString('base64'),
    });
    assert.equal(tampered.status, 403);
    assert.equal(await code(tampered), 'SignatureDoesNotMatch');
    const anonymous = await send({ key: 'form/anon' });
    assert.equal(anonymous.status, 403);
    assert.equal(await code(anonymous), 'AccessDenied');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'strict', Key: 'form/a.txt' }));
    assert.equal(await got.Body?.transformToString(), 'posted');
    for (const key of ['elsewhere', 'form/anon']) {
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: 'strict', Key: key })),
        (err: S3ServiceException) => err.$metadata.httpStatusCode === 404,
      );
    }
  });

  test('POST Object: IAM decides as for PutObject (a user without s3:PutObject is refused)', async () => {
    const iam = new IAMClient(clientConfig(server.endpoint));
    try {
      await iam.send(new CreateUserCommand({ UserName: 'poster' }));
      const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'poster' }))).AccessKey;
      const user = new S3Client({
        ...clientConfig(server.endpoint),
        credentials: {
          accessKeyId: key?.AccessKeyId ?? '',
          secretAccessKey: key?.SecretAccessKey ?? '',
        },
        forcePathStyle: true,
      });
      const { url, fields } = await createPresignedPost(user, {
        Bucket: 'strict',
        Key: 'by-user',
        Expires: 600,
      });
      user.destroy();
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append('file', new Blob(['x']), 'x');
      const res = await fetch(url, { method: 'POST', body: form });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: 'strict', Key: 'by-user' })),
        (err: S3ServiceException) => err.$metadata.httpStatusCode === 404,
      );
    } finally {
      iam.destroy();
    }
  });
});
