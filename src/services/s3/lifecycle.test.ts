import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStorage } from '../../storage/index.js';
import { applyLifecycle, dueAt } from './lifecycle.js';
import {
  BUCKETS,
  OBJECTS,
  UPLOADS,
  objectKey,
  uploadKey,
  type BucketRecord,
  type ObjectRecord,
} from './store.js';

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
