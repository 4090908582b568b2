import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { FileBlobStore, openStorage, StateDirLockedError } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'stratus-storage-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const freshDir = () => join(root, `state-${++count}`, 'nested');

const isLocked = (pid?: number) => (err: unknown) =>
  err instanceof StateDirLockedError && err.code === 'STATE_DIR_LOCKED' && err.pid === pid;

test('creates the state directory, database, blobs and lock; data survives reopen', async () => {
  const dir = freshDir();
  const storage = await openStorage({ stateDir: dir, ephemeral: false });
  assert.ok(existsSync(join(dir, 'stratus.db')));
  assert.ok(existsSync(join(dir, 'blobs', 'sha256')));
  assert.equal(readFileSync(join(dir, 'stratus.lock'), 'utf8').trim(), String(process.pid));
  await storage.store.put('t', 'k', { v: 1 });
  const blob = await storage.blobs.put(Buffer.from('blob'));
  await storage.close();
  await storage.close(); // idempotent
  assert.equal(existsSync(join(dir, 'stratus.lock')), false);

  const again = await openStorage({ stateDir: dir, ephemeral: false });
  assert.deepEqual(await again.store.get('t', 'k'), { v: 1 });
  assert.deepEqual(await again.blobs.read(blob.digest), Buffer.from('blob'));
  await again.close();
});

test('a state directory in use is refused; it is free again after close', async () => {
  const dir = freshDir();
  const storage = await openStorage({ stateDir: dir, ephemeral: false });
  await assert.rejects(openStorage({ stateDir: dir, ephemeral: false }), isLocked(process.pid));
  await storage.close();
  const again = await openStorage({ stateDir: dir, ephemeral: false });
  await again.close();
});

test('a lock left by a dead process is taken over', async () => {
  const dir = freshDir();
  const child = spawn(process.execPath, ['-e', '']);
  const deadPid = child.pid as number;
  await once(child, 'exit');
  await (await openStorage({ stateDir: dir, ephemeral: false })).close();
  writeFileSync(join(dir, 'stratus.lock'), `${deadPid}\n`);
  const storage = await openStorage({ stateDir: dir, ephemeral: false });
  assert.equal(readFileSync(join(dir, 'stratus.lock'), 'utf8').trim(), String(process.pid));
  await storage.close();
});

test('a lock naming our own pid that we do not hold (pid reuse after a restart) is taken over', async () => {
  const dir = freshDir();
  await (await openStorage({ stateDir: dir, ephemeral: false })).close();
  writeFileSync(join(dir, 'stratus.lock'), `${process.pid}\n`);
  const storage = await openStorage({ stateDir: dir, ephemeral: false });
  await storage.close();
});

test('a lock held by a live process is respected', async () => {
  const dir = freshDir();
  await (await openStorage({ stateDir: dir, ephemeral: false })).close();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
  try {
    const pid = child.pid as number;
    writeFileSync(join(dir, 'stratus.lock'), `${pid}\n`);
    await assert.rejects(openStorage({ stateDir: dir, ephemeral: false }), isLocked(pid));
    assert.equal(readFileSync(join(dir, 'stratus.lock'), 'utf8').trim(), String(pid));
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});

test('ephemeral storage touches no state directory and cleans up on close', async () => {
  const dir = freshDir();
  const storage = await openStorage({ stateDir: dir, ephemeral: true });
  await storage.store.put('t', 'k', 1);
  const blob = await storage.blobs.put(Buffer.from('x'));
  assert.deepEqual(await storage.blobs.read(blob.digest), Buffer.from('x'));
  assert.ok(storage.blobs instanceof FileBlobStore);
  const blobRoot = storage.blobs.root;
  assert.ok(blobRoot.startsWith(tmpdir()));
  await storage.close();
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(blobRoot), false);
  // A second ephemeral store is independent.
  const other = await openStorage({ stateDir: dir, ephemeral: true });
  assert.equal(await other.store.get('t', 'k'), undefined);
  await other.close();
});

test('ephemeral metadata is a temporary file, not heap: it grows on disk and goes on close', async () => {
  const storage = await openStorage({ stateDir: freshDir(), ephemeral: true });
  assert.ok(storage.blobs instanceof FileBlobStore);
  const db = join(storage.blobs.root, 'stratus.db');
  assert.ok(existsSync(db), 'the database is a file in the temporary directory');
  // 8 MiB of rows (a few thousand invokes' log events): they land in the file and its WAL.
  const row = 'x'.repeat(2048);
  for (let i = 0; i < 4096; i++) await storage.store.put('events', `k${i}`, row);
  const onDisk = ['', '-wal']
    .map((suffix) => db + suffix)
    .filter((f) => existsSync(f))
    .reduce((sum, f) => sum + statSync(f).size, 0);
  assert.ok(onDisk >= 8 * 1024 * 1024, `only ${onDisk} bytes on disk`);
  await storage.close();
  assert.equal(existsSync(db), false);
});

test('blob namespaces: separate stores, opened once, persistent or ephemeral, closed with storage', async () => {
  const dir = freshDir();
  const storage = await openStorage({ stateDir: dir, ephemeral: false });
  const [ecr, same] = await Promise.all([storage.namespace('ecr'), storage.namespace('ecr')]);
  assert.equal(ecr, same);
  assert.equal(await storage.namespace('ecr'), ecr);
  assert.notEqual(ecr, storage.blobs);
  assert.ok(existsSync(join(dir, 'blobs-ecr', 'sha256')));
  assert.ok(existsSync(join(dir, 'blobs-ecr', 'uploads')));

  // The same content in both: deleting it from one leaves the other's copy.
  const shared = await storage.blobs.put(Buffer.from('zip or layer'));
  assert.deepEqual(await ecr.put(Buffer.from('zip or layer')), shared);
  assert.equal(await ecr.delete(shared.digest), true);
  assert.deepEqual(await storage.blobs.read(shared.digest), Buffer.from('zip or layer'));
  const kept = await ecr.put(Buffer.from('layer'));
  assert.equal(await storage.blobs.stat(kept.digest), undefined);

  for (const name of ['', 'ECR', '1ecr', '-ecr', 'e_cr', 'e.cr', '../x', 'a/b', 'a'.repeat(32)]) {
    await assert.rejects(storage.namespace(name), RangeError, name);
  }
  assert.ok(await storage.namespace(`a${'-'.repeat(30)}`));
  await storage.close();
  await assert.rejects(storage.namespace('ecr'), /closed/);

  const again = await openStorage({ stateDir: dir, ephemeral: false });
  assert.deepEqual(await (await again.namespace('ecr')).read(kept.digest), Buffer.from('layer'));
  await again.close();

  const ephemeral = await openStorage({ stateDir: freshDir(), ephemeral: true });
  const temp = await ephemeral.namespace('ecr');
  assert.ok(temp instanceof FileBlobStore);
  assert.ok(temp.root.startsWith(tmpdir()));
  assert.notEqual(temp.root, (ephemeral.blobs as FileBlobStore).root);
  assert.equal(await ephemeral.namespace('ecr'), temp);
  await temp.put(Buffer.from('x'));
  await ephemeral.close();
  assert.equal(existsSync(temp.root), false);
});
