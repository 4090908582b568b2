import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStorage } from '../../storage/index.js';
import { applyLifecycle, dueAt } from './lifecycle.js';
import {
  BUCKETS,
  OBJECTS,
  UPLOADS,
  VERSIONS,
  objectKey,
  uploadKey,
  type BucketRecord,
  type ObjectRecord,
  type VersionEntry,
} from './store.js';
import { putCurrent, putDeleteMarker } from './versions.js';

const DAY = 24 * 3600 * 1000;

test('due times round up to the next midnight UTC', () => {
  assert.equal(dueAt(Date.UTC(2026, 0, 1, 13), 1), Date.UTC(2026, 0, 3));
  assert.equal(dueAt(Date.UTC(2026, 0, 1), 1), Date.UTC(2026, 0, 2));
});

test('expiration rules delete what they cover once due, and abort old uploads', async () => {
  const storage = await openStorage({ stateDir: '', ephemeral: true });
  try {
    const { store } = storage;
    const created = Date.UTC(2026, 0, 1, 12);
    const bucket: BucketRecord = {
      name: 'logs',
      account: '000000000000',
      region: 'us-east-1',
      createdAt: created,
      lifecycle: [
        { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
        {
          ID: 'tagged',
          Status: 'Enabled',
          Filter: { And: { Prefix: 'keep/', Tags: [{ Key: 'expire', Value: 'yes' }] } },
          Expiration: { Days: 1 },
        },
        { ID: 'off', Status: 'Disabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } },
        {
          ID: 'mpu',
          Status: 'Enabled',
          Filter: {},
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
        },
      ],
    };
    await store.put(BUCKETS, 'logs', bucket);
    const obj = (key: string, tags?: ObjectRecord['tags']): ObjectRecord => ({
      key,
      size: 1,
      etag: '"x"',
      lastModified: created,
      headers: {},
      metadata: {},
      storageClass: 'STANDARD',
      checksums: {},
      content: [],
      tags,
    });
    for (const o of [
      obj('tmp/a'),
      obj('keep/b'),
      obj('keep/c', [{ Key: 'expire', Value: 'yes' }]),
      obj('other'),
    ]) {
      await store.put(OBJECTS, objectKey('logs', o.key), o);
    }
    await store.put(UPLOADS, uploadKey('logs', 'u1'), {
      uploadId: 'u1',
      key: 'big',
      initiated: created,
      headers: {},
      metadata: {},
      storageClass: 'STANDARD',
    });
    // Not yet due: nothing happens.
    assert.deepEqual(await applyLifecycle(store, created + DAY / 2), { objects: 0, uploads: 0 });
    assert.deepEqual(await applyLifecycle(store, Date.UTC(2026, 0, 3)), { objects: 2, uploads: 0 });
    const left = (await store.list<ObjectRecord>(OBJECTS)).map((r) => r.value.key);
    assert.deepEqual(
      left,
      ['logs/keep/b', 'logs/other'].map((k) => k.slice(5)).map((k) => k),
    );
    assert.deepEqual(await applyLifecycle(store, Date.UTC(2026, 0, 4)), { objects: 0, uploads: 1 });
  } finally {
    await storage.close();
  }
});

test('versioned buckets: current versions get a delete marker, noncurrent ones expire after NoncurrentDays', async () => {
  const storage = await openStorage({ stateDir: '', ephemeral: true });
  try {
    const { store } = storage;
    const t0 = Date.UTC(2026, 0, 1, 12);
    const bucket: BucketRecord = {
      name: 'hist',
      account: '000000000000',
      region: 'us-east-1',
      createdAt: t0,
      versioning: 'Enabled',
      lifecycle: [
        {
          ID: 'old',
          Status: 'Enabled',
          Filter: { Prefix: 'docs/' },
          NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 },
        },
        { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
        {
          ID: 'markers',
          Status: 'Enabled',
          Filter: { Prefix: 'gone/' },
          Expiration: { ExpiredObjectDeleteMarker: true },
        },
      ],
    };
    await store.put(BUCKETS, 'hist', bucket);
    const write = (key: string, at: number) =>
      store.transaction((tx) =>
        putCurrent(
          tx,
          bucket,
          {
            key,
            size: 1,
            etag: '"x"',
            lastModified: at,
            headers: {},
            metadata: {},
            storageClass: 'STANDARD',
            checksums: {},
            content: [],
          },
          at,
        ),
      );
    // docs/a: four versions a day apart; three noncurrent.
    for (let i = 0; i < 4; i++) await write('docs/a', t0 + i * DAY);
    await write('tmp/t', t0);
    await store.transaction((tx) => putDeleteMarker(tx, bucket, 'gone/g', t0));
    const versionsOf = async (key: string) =>
      (await store.list<VersionEntry>(VERSIONS, { prefix: `hist/${key}\0` })).map((r) =>
        r.value.deleteMarker ? 'marker' : r.value.lastModified,
      );

    // Day 4 (before the newest noncurrent's day is up): the two older noncurrent versions go
    // (the newest noncurrent one is kept by NewerNoncurrentVersions); tmp/t gets a marker;
    // the lone marker goes.
    const now = t0 + 3 * DAY + DAY / 2;
    const done = await applyLifecycle(store, now);
    assert.equal(done.objects, 4);
    assert.deepEqual(await versionsOf('docs/a'), [t0 + 2 * DAY]);
    assert.ok(await store.get(OBJECTS, objectKey('hist', 'docs/a')));
    assert.equal(await store.get(OBJECTS, objectKey('hist', 'tmp/t')), undefined);
    assert.deepEqual(await versionsOf('tmp/t'), ['marker', t0]);
    assert.deepEqual(await versionsOf('gone/g'), []);
  } finally {
    await storage.close();
  }
});
