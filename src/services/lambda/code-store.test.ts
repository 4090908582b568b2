import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsError } from '../../shared/errors.js';
import { FileBlobStore } from '../../storage/file-blob-store.js';
import { CODE_URL_TTL_SECONDS, CodeStore, codeSha256 } from './code-store.js';
import { createZip } from '../../../test/helpers/zip-writer.js';

const blobs = await FileBlobStore.openTemporary();
const code = new CodeStore(blobs, undefined);
after(async () => {
  await code.close();
  await blobs.close();
});

test('ingest stores, extracts and describes a package', async () => {
  const zip = createZip([{ name: 'index.js', data: 'x'.repeat(500) }]);
  const lease = await code.ingest(zip);
  lease.release();
  assert.equal(lease.code.size, zip.length);
  assert.equal(lease.code.unzippedSize, 500);
  assert.match(lease.code.sha, /^[0-9a-f]{64}$/);
  assert.equal(
    codeSha256(lease.code.sha),
    (await import('node:crypto')).createHash('sha256').update(zip).digest('base64'),
  );
  assert.deepEqual(await code.read(lease.code.sha), zip);
  const dir = await code.directory(lease.code.sha);
  assert.equal(await readFile(join(dir, 'index.js'), 'utf8'), 'x'.repeat(500));
});

test('a zip over 50 MB is RequestEntityTooLargeException', async () => {
  await assert.rejects(code.ingest(Buffer.alloc(52_428_801)), (err: unknown) => {
    assert.ok(err instanceof AwsError);
    assert.equal(err.code, 'RequestEntityTooLargeException');
    assert.equal(err.status, 413);
    assert.equal(err.message, 'Zipped size must be smaller than 52428800 bytes');
    return true;
  });
});

test('download URLs expire after 10 minutes and cannot be forged', async () => {
  const zip = createZip([{ name: 'a.txt', data: 'a' }]);
  const lease = await code.ingest(zip);
  lease.release();
  const now = Date.now();
  const path = new URL(await code.downloadUrl('http://127.0.0.1:4566', lease.code.sha, now))
    .pathname;
  assert.equal((await code.serveDownload(path, now))?.status, 200);
  assert.equal((await code.serveDownload(`${path}?x=1`, now))?.status, 200);
  const expired = await code.serveDownload(path, now + (CODE_URL_TTL_SECONDS + 1) * 1000);
  assert.equal(expired?.status, 403);
  assert.match(expired?.body.toString() ?? '', /<Message>Request has expired<\/Message>/);
  // `<base64url JSON claims>.<signature>`: rewrite the claims, keep the signature.
  const [payload, sig] = path.split('/').pop()?.split('.') ?? [];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
    s: string;
    x: number;
  };
  const forge = (c: object) =>
    path.replace(payload, Buffer.from(JSON.stringify(c)).toString('base64url'));
  const later = await code.serveDownload(forge({ ...claims, x: claims.x + 3600 }), now);
  assert.equal(later?.status, 403, 'the expiry is signed');
  assert.match(later?.body.toString() ?? '', /SignatureDoesNotMatch/);
  const other = 'f'.repeat(64);
  assert.equal((await code.serveDownload(forge({ ...claims, s: other }), now))?.status, 403);
  assert.ok(sig);
});

test('collect keeps what is still used and deletes the rest', async () => {
  const zip = createZip([{ name: 'c.txt', data: 'c' }]);
  const lease = await code.ingest(zip);
  lease.release();
  await code.collect([lease.code.sha], async () => true);
  assert.ok(await code.read(lease.code.sha));
  await code.collect([lease.code.sha], async () => false);
  assert.equal(await code.read(lease.code.sha), undefined);
  await assert.rejects(code.directory(lease.code.sha), /missing from the blob store/);
});
