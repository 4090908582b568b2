/**
 * S3 across a `kill -9`: an upload cut off mid-body leaves no partial object and no temp
 * file, a multipart upload can be completed (or aborted) after the restart, and the
 * collector leaves only the blobs objects reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { clientConfig } from './helpers/server.js';

const PART = 5 * 1024 * 1024;

/** Every blob file S3 keeps (sha256/<2>/<64>). */
function blobFiles(stateDir: string): string[] {
  const root = join(stateDir, 'blobs-s3', 'sha256');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
}

/** Starts a PUT of `declared` bytes, sends `sent` of them and never finishes. */
async function startCutOffPut(endpoint: string, path: string, declared: number, sent: number) {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    sha256: Sha256,
  });
  const [p, q] = path.split('?');
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: p,
    query: Object.fromEntries(new URLSearchParams(q ?? '')),
    headers: {
      host: url.host,
      'content-length': String(declared),
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    },
  });
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path,
    headers: signed.headers,
  });
  req.on('error', () => undefined);
  req.write(Buffer.alloc(sent, 7));
  return req;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('kill -9 during uploads: no partial object, the multipart upload completes after restart, nothing leaks', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-s3-restart-'));
  const env = { STRATUS_S3_BLOB_GRACE_SECONDS: '0' };
  const args = ['--state-dir', stateDir];
  let server: ServerProcess | undefined;
  try {
    server = await spawnServer(args, env);
    let s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'durable' }));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'durable', Key: 'big' }),
    );
    const part1 = Buffer.alloc(PART, 1);
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: 'durable',
        Key: 'big',
        UploadId,
        PartNumber: 1,
        Body: part1,
      }),
    );
    // A part and a whole object, each cut off mid-body by the kill.
    const tmp = join(stateDir, 'blobs-s3', 'tmp');
    await startCutOffPut(
      server.endpoint,
      `/durable/big?partNumber=2&uploadId=${UploadId}`,
      4 * PART,
      PART,
    );
    await startCutOffPut(server.endpoint, '/durable/half', 4 * PART, PART);
    await waitFor(
      () => existsSync(tmp) && readdirSync(tmp).length === 2,
      'both uploads to reach the disk',
    );
    s3.destroy();
    server.child.kill('SIGKILL');
    assert.equal(await server.exited, 'SIGKILL');

    server = await spawnServer(args, env);
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    assert.deepEqual(readdirSync(tmp), [], 'temp files of the cut-off uploads are gone');
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'durable', Key: 'half' })));
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'durable', Key: 'big', UploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => p.PartNumber),
      [1],
    );
    const part2 = Buffer.from('the end');
    const p2 = await s3.send(
      new UploadPartCommand({
        Bucket: 'durable',
        Key: 'big',
        UploadId,
        PartNumber: 2,
        Body: part2,
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'durable',
        Key: 'big',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'durable', Key: 'big' }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) as Uint8Array);
    assert.ok(bytes.equals(Buffer.concat([part1, part2])));

    // An aborted upload and an overwritten object leave blobs nobody references.
    const other = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'durable', Key: 'x' }));
    await s3.send(
      new UploadPartCommand({
        Bucket: 'durable',
        Key: 'x',
        UploadId: other.UploadId,
        PartNumber: 1,
        Body: 'abandoned',
      }),
    );
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: 'durable', Key: 'x', UploadId: other.UploadId }),
    );
    // Over the inline threshold (16 KiB), so each version is a blob; 'tiny' is inline: none.
    const first = Buffer.alloc(70_000, 'f');
    const second = Buffer.alloc(70_000, 's');
    await s3.send(new PutObjectCommand({ Bucket: 'durable', Key: 'small', Body: first }));
    await s3.send(new PutObjectCommand({ Bucket: 'durable', Key: 'small', Body: second }));
    await s3.send(new PutObjectCommand({ Bucket: 'durable', Key: 'tiny', Body: 'inline' }));
    s3.destroy();
    server.child.kill('SIGKILL');
    await server.exited;

    // The collector runs at start: only the blobs of big (two parts) and small remain.
    server = await spawnServer(args, env);
    await waitFor(() => blobFiles(stateDir).length === 3, 'the collector');
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    const small = await s3.send(new GetObjectCommand({ Bucket: 'durable', Key: 'small' }));
    assert.ok(Buffer.from(await small.Body!.transformToByteArray()).equals(second));
    const tiny = await s3.send(new GetObjectCommand({ Bucket: 'durable', Key: 'tiny' }));
    assert.equal(await tiny.Body?.transformToString(), 'inline');
    s3.destroy();
  } finally {
    server?.child.kill('SIGKILL');
    if (server) await server.exited;
    rmSync(stateDir, { recursive: true, force: true });
  }
});
