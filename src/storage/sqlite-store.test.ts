import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { runMetadataConformance } from './metadata-conformance.js';
import { listSql, MIGRATIONS, SqliteMetadataStore } from './sqlite-store.js';
import type { Migration } from './sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'stratus-sqlite-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dbCount = 0;
const freshPath = () => join(root, `db-${++dbCount}.db`);

runMetadataConformance('sqlite :memory:', async () => new SqliteMetadataStore(':memory:'));
runMetadataConformance('sqlite file (WAL)', async () => new SqliteMetadataStore(freshPath()));

test('a plain read issued during a transaction waits for the commit, then sees it', async () => {
  const store = new SqliteMetadataStore(':memory:');
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  let gateOpened = false;
  const done = store.transaction(async (tx) => {
    await tx.put('t', 'k', 'v');
    await gate;
  });
  const read = store.get('t', 'k').then((value) => ({ value, late: gateOpened }));
  const tx2 = store
    .transaction((tx) => tx.get('t', 'k'))
    .then((value) => ({ value, late: gateOpened }));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  gateOpened = true;
  openGate();
  await done;
  assert.deepEqual(await read, { value: 'v', late: true });
  assert.deepEqual(await tx2, { value: 'v', late: true });
  await store.close();
});

test('close waits for the open transaction, which still commits', async () => {
  const path = freshPath();
  const store = new SqliteMetadataStore(path);
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const done = store.transaction(async (tx) => {
    await tx.put('t', 'k', 1);
    await gate;
    await tx.put('t', 'k2', 2);
  });
  const closed = store.close();
  openGate();
  await done;
  await closed;
  await assert.rejects(store.get('t', 'k'));
  const reopened = new SqliteMetadataStore(path);
  assert.equal(await reopened.get('t', 'k2'), 2);
  await reopened.close();
});

test('releaseMemory gives the page cache back; the data stays, also inside a transaction', async () => {
  const store = new SqliteMetadataStore(freshPath());
  for (let i = 0; i < 200; i++) await store.put('t', `k${i}`, 'v'.repeat(1000));
  await store.releaseMemory();
  assert.equal(await store.get('t', 'k7'), 'v'.repeat(1000));
  let released: Promise<void> | undefined;
  await store.transaction(async (tx) => {
    await tx.put('t', 'k', 1);
    released = store.releaseMemory(); // waits for the commit
  });
  await released;
  assert.equal(await store.get('t', 'k'), 1);
  await store.close();
});

test('data persists across reopen; the file is in WAL mode', async () => {
  const path = freshPath();
  const store = new SqliteMetadataStore(path);
  const when = new Date();
  await store.put('t', 'k', { when });
  await store.close();
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(raw.pragma('user_version', { simple: true }), MIGRATIONS.length);
  raw.close();
  const reopened = new SqliteMetadataStore(path);
  const back = await reopened.get<{ when: Date }>('t', 'k');
  assert.equal(back?.when.getTime(), when.getTime());
  await reopened.close();
});

test('a second connection to an open database file is refused (exclusive lock)', async () => {
  const path = freshPath();
  const store = new SqliteMetadataStore(path);
  assert.throws(
    () => new SqliteMetadataStore(path),
    (err: unknown) => (err as { code?: unknown }).code === 'SQLITE_BUSY',
  );
  await store.close();
  const again = new SqliteMetadataStore(path);
  await again.close();
});

test('undefined cannot be stored', async () => {
  const store = new SqliteMetadataStore(':memory:');
  await assert.rejects(store.put('t', 'k', undefined), TypeError);
  await assert.rejects(store.list('t', { limit: -1 }), RangeError);
  await store.close();
});

test('opening an older database runs the missing migrations in order', async () => {
  const path = freshPath();
  const v1 = new SqliteMetadataStore(path, { migrations: MIGRATIONS.slice(0, 1) });
  await v1.put('fn', 'a', { name: 'a' });
  await v1.put('fn', 'b', { name: 'b', when: new Date(5) });
  await v1.close();

  const steps: string[] = [];
  const addRevision: Migration = (db) => {
    steps.push('revision');
    db.exec(`UPDATE items SET value = json_set(value, '$.revision', 1) WHERE tbl = 'fn'`);
  };
  const addIndex: Migration = (db) => {
    steps.push('index');
    db.exec(`CREATE INDEX items_by_value_name ON items (json_extract(value, '$.name'))`);
  };
  const v3 = new SqliteMetadataStore(path, {
    migrations: [...MIGRATIONS.slice(0, 1), addRevision, addIndex],
  });
  assert.deepEqual(steps, ['revision', 'index']);
  assert.deepEqual(await v3.get('fn', 'a'), { name: 'a', revision: 1 });
  const b = await v3.get<{ when: Date; revision: number }>('fn', 'b');
  assert.equal(b?.when.getTime(), 5);
  assert.equal(b?.revision, 1);
  await v3.close();

  // Up to date: nothing runs again.
  const again = new SqliteMetadataStore(path, {
    migrations: [...MIGRATIONS.slice(0, 1), addRevision, addIndex],
  });
  assert.deepEqual(steps, ['revision', 'index']);
  await again.close();
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('user_version', { simple: true }), 3);
  raw.close();
});

test('a failing migration changes nothing; a newer schema is refused', async () => {
  const path = freshPath();
  const v1 = new SqliteMetadataStore(path, { migrations: MIGRATIONS.slice(0, 1) });
  await v1.put('t', 'k', 1);
  await v1.close();
  const broken: Migration = (db) => {
    db.exec(`DELETE FROM items`);
    throw new Error('broken migration');
  };
  assert.throws(
    () => new SqliteMetadataStore(path, { migrations: [...MIGRATIONS.slice(0, 1), broken] }),
    /broken migration/,
  );
  const store = new SqliteMetadataStore(path, { migrations: MIGRATIONS.slice(0, 1) });
  assert.equal(await store.get('t', 'k'), 1);
  await store.close();

  assert.throws(() => new SqliteMetadataStore(path, { migrations: [] }), /newer than this Stratus/);
});

test('an empty database file (version 0) is initialised', async () => {
  const path = freshPath();
  new Database(path).close();
  const store = new SqliteMetadataStore(path);
  await store.put('t', 'k', 'v');
  assert.equal(await store.get('t', 'k'), 'v');
  await store.close();
});

test('list queries are index range scans in both directions (no table scan, no sort)', () => {
  const db = new Database(':memory:');
  for (const migration of MIGRATIONS) migration(db);
  for (const lowerInclusive of [true, false]) {
    for (const hasUpper of [true, false]) {
      for (const reverse of [true, false]) {
        const sql = listSql(lowerInclusive, hasUpper, reverse, 10);
        const params = hasUpper ? ['t', 'a', 'b'] : ['t', 'a'];
        const plan = (
          db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]
        )
          .map((row) => row.detail)
          .join('; ');
        assert.match(plan, /SEARCH items USING INDEX items_by_key \(tbl=\? AND key>\?/, sql);
        if (hasUpper) assert.match(plan, /AND key<\?\)/, sql);
        assert.doesNotMatch(plan, /TEMP B-TREE|SCAN/, sql);
      }
    }
  }
  db.close();
});
