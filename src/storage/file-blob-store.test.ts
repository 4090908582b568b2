import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { runBlobConformance } from './blob-conformance.js';
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
