import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { runBlobConformance } from './blob-conformance.js';
import { PayloadChecks, PayloadStream } from '../protocol/payload.js';
import { DigestMismatchError, FileBlobStore } from './file-blob-store.js';
import type { BlobStore } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'stratus-blob-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const freshDir = () => join(root, `store-${++count}`);

runBlobConformance('file', () => FileBlobStore.open(freshDir()));
runBlobConformance(
  'file (temporary)',
  () => FileBlobStore.openTemporary(),
  async (store) => {
    const dir = (store as FileBlobStore).root;
    await (store as FileBlobStore).close();
    assert.equal(existsSync(dir), false, 'temporary store directory is removed on close');
  },
);

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

test('layout: <root>/sha256/<2 hex>/<64 hex>, temp directory left empty', async () => {
  const dir = freshDir();
  const store = await FileBlobStore.open(dir);
  const data = randomBytes(5000);
  const { digest } = await store.put(Readable.from([data]));
  const hex = digest.slice(7);
  assert.ok(existsSync(join(dir, 'sha256', hex.slice(0, 2), hex)));
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);

  await assert.rejects(
    store.put(Readable.from([data]), sha256(Buffer.from('x'))),
    DigestMismatchError,
  );
  async function* broken() {
    yield data;
    throw new Error('broken');
  }
  await assert.rejects(store.put(Readable.from(broken())), /broken/);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'failed puts leave no temp files');
});

test('temp files left by a crash are removed on open; complete blobs stay', async () => {
  const dir = freshDir();
  const first = await FileBlobStore.open(dir);
  const kept = await first.put(Buffer.from('complete'));
  writeFileSync(join(dir, 'tmp', 'half-written'), randomBytes(1000));
  const second = await FileBlobStore.open(dir);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  assert.deepEqual(await second.read(kept.digest), Buffer.from('complete'));
});

test('a stream opened before delete still reads the whole blob', async () => {
  const store: BlobStore = await FileBlobStore.open(freshDir());
  const data = randomBytes(300_000);
  const { digest } = await store.put(data);
  const stream = await store.get(digest);
  assert.ok(stream);
  assert.equal(await store.delete(digest), true);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(chunks), data);
});

test('temporary stores of dead processes are swept; live ones are kept', async () => {
  const child = spawn(process.execPath, ['-e', '']);
  const deadPid = child.pid as number;
  await once(child, 'exit');
  const dead = join(tmpdir(), `stratus-blobs-${deadPid}-leftover`);
  const live = join(tmpdir(), `stratus-blobs-${process.pid}-in-use`);
  mkdirSync(join(dead, 'sha256'), { recursive: true });
  mkdirSync(live, { recursive: true });
  try {
    const store = await FileBlobStore.openTemporary();
    assert.equal(existsSync(dead), false);
    assert.equal(existsSync(live), true);
    await store.close();
  } finally {
    rmSync(dead, { recursive: true, force: true });
    rmSync(live, { recursive: true, force: true });
  }
});

test('uploads survive a restart: not swept on open, resumed and committed with a rebuilt hash', async () => {
  const dir = freshDir();
  const before = await FileBlobStore.open(dir);
  const parts = [randomBytes(300_000), randomBytes(200_000), randomBytes(1234)];
  const whole = Buffer.concat(parts);

  // One upload resumed after the restart (hash rebuilt by the next append) ...
  const resumed = await before.uploads.create();
  await before.uploads.append(resumed, parts[0], 0);
  // ... one committed straight away (hash rebuilt by commit) ...
  const committed = await before.uploads.create();
  await before.uploads.append(committed, Readable.from(parts), 0);
  // ... and one whose digest check fails first.
  const mismatched = await before.uploads.create();
  await before.uploads.append(mismatched, parts[1], 0);
  writeFileSync(join(dir, 'tmp', 'half-written'), randomBytes(10));

  const after = await FileBlobStore.open(dir);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'tmp is swept');
  assert.deepEqual(
    readdirSync(join(dir, 'uploads')).sort(),
    [resumed, committed, mismatched].sort(),
  );
  assert.deepEqual(
    (await after.uploads.list()).map((u) => [u.id, u.size]).sort(),
    [
      [resumed, parts[0].length],
      [committed, whole.length],
      [mismatched, parts[1].length],
    ].sort(),
  );

  assert.equal(await after.uploads.size(resumed), parts[0].length);
  await after.uploads.append(resumed, Readable.from(parts.slice(1)), parts[0].length);
  assert.deepEqual(await after.uploads.commit(resumed, sha256(whole)), {
    digest: sha256(whole),
    size: whole.length,
  });
  assert.deepEqual(await after.read(sha256(whole)), whole);

  const other = Buffer.concat([whole, Buffer.from('!')]);
  await after.uploads.append(committed, Buffer.from('!'), whole.length);
  assert.deepEqual(await after.uploads.commit(committed, sha256(other)), {
    digest: sha256(other),
    size: other.length,
  });

  await assert.rejects(after.uploads.commit(mismatched, sha256(whole)), DigestMismatchError);
  assert.equal((await after.uploads.commit(mismatched)).digest, sha256(parts[1]));
  assert.deepEqual(readdirSync(join(dir, 'uploads')), []);
});

test('commit renames the upload into place (no copy); content already stored just drops it', async () => {
  const dir = freshDir();
  const store = await FileBlobStore.open(dir);
  const data = randomBytes(100_000);
  const id = await store.uploads.create();
  await store.uploads.append(id, data, 0);
  const inode = statSync(join(dir, 'uploads', id)).ino;
  const { digest } = await store.uploads.commit(id);
  const hex = digest.slice(7);
  const blobPath = join(dir, 'sha256', hex.slice(0, 2), hex);
  assert.equal(statSync(blobPath).ino, inode);

  const duplicate = await store.uploads.create();
  await store.uploads.append(duplicate, data, 0);
  assert.deepEqual(await store.uploads.commit(duplicate, digest), { digest, size: data.length });
  assert.equal(statSync(blobPath).ino, inode, 'the stored blob is left as it was');
  assert.deepEqual(readdirSync(join(dir, 'uploads')), []);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
});

test('an upload id cannot name a file outside the uploads directory', async () => {
  const dir = freshDir();
  const store = await FileBlobStore.open(dir);
  writeFileSync(join(dir, 'x'), 'precious');
  assert.equal(await store.uploads.size('../x'), undefined);
  await assert.rejects(store.uploads.append('../x', Buffer.from('!'), 8), {
    code: 'UPLOAD_NOT_FOUND',
  });
  await assert.rejects(store.uploads.commit('../x'), { code: 'UPLOAD_NOT_FOUND' });
  assert.equal(await store.uploads.abort('../x'), false);
  assert.equal(readFileSync(join(dir, 'x'), 'utf8'), 'precious');
  // Stray files in the uploads directory are not uploads.
  writeFileSync(join(dir, 'uploads', 'stray'), 'x');
  assert.deepEqual(await store.uploads.list(), []);
});

/**
 * A large payload as the gateway hands it over (its checks' PayloadStream): the store asks
 * for its SHA-256, which the hash workers compute with its MD5.
 */
function checkedPayload(chunks: Buffer[], failAfter?: number): PayloadStream {
  let sent = 0;
  const source = new Readable({
    read() {
      if (failAfter !== undefined && sent === failAfter) {
        this.destroy(new Error('client went away'));
        return;
      }
      this.push(sent < chunks.length ? chunks[sent++] : null);
    },
  });
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const payload = new PayloadStream(new PayloadChecks({ headers: {}, errorStyle: 's3' }), size);
  source.on('error', (err) => payload.destroy(err));
  return source.pipe(payload);
}

test('a large checked payload is hashed off-thread: same digest, mismatch refused, failure leaves nothing', async () => {
  const store = await FileBlobStore.open(freshDir());
  // 9 MB plus an odd tail in uneven chunks (past the off-thread threshold, across slabs).
  const chunks = Array.from({ length: 40 }, (_, i) => randomBytes(230_000 + i * 17));
  const whole = Buffer.concat(chunks);
  assert.ok(whole.length >= 8 * 1024 * 1024);
  const payload = checkedPayload(chunks);
  const info = await store.put(payload);
  assert.deepEqual(info, { digest: sha256(whole), size: whole.length });
  assert.equal(payload.digests?.sha256, sha256(whole).slice('sha256:'.length), 'from the workers');
  assert.deepEqual(await store.read(info.digest), whole);

  const other = chunks.map((c) => Buffer.from(c).fill(7, 0, 1));
  await assert.rejects(store.put(checkedPayload(other), info.digest), DigestMismatchError);
  assert.equal(await store.stat(sha256(Buffer.concat(other))), undefined);

  await assert.rejects(store.put(checkedPayload(other, 20)), /client went away/);
  assert.equal(await store.stat(sha256(Buffer.concat(other))), undefined);
  assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
});

test('a stream of odd-sized chunks is stored byte for byte (writes cut at WRITE_BATCH)', async () => {
  const store = await FileBlobStore.open(freshDir());
  // Chunks that straddle, fill exactly and overshoot the 128 KB batches, one of them several
  // batches long, and single bytes between.
  const sizes = [7, 131_065, 1, 131_072, 300_000, 1, 65_536, 65_535, 2, 524_288, 3];
  const chunks = sizes.map((n) => randomBytes(n));
  const whole = Buffer.concat(chunks);
  const { digest, size } = await store.put(Readable.from(chunks));
  assert.equal(size, whole.length);
  assert.equal(digest, sha256(whole));
  assert.deepEqual(await store.read(digest), whole);
});
