import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../shared/log.js';
import { openStorage, type Storage } from '../../storage/index.js';
import type { BlobStore } from '../../storage/types.js';
import { BlobGuard } from './blob-guard.js';
import { BlobCollector } from './gc.js';
import { MediaTypes } from './manifest.js';
import { Registry } from './registry.js';
import { T, repositoryKey, type RepositoryRecord } from './store.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ECR blob garbage collection', () => {
  let storage: Storage;
  let blobs: BlobStore;
  let clock = 1_000_000;
  let guard: BlobGuard;
  let registry: Registry;
  let collector: BlobCollector;
  const repo: RepositoryRecord = {
    account: '000000000000',
    region: 'us-east-1',
    name: 'gc/app',
    createdAt: 0,
    imageTagMutability: 'MUTABLE',
    scanOnPush: false,
    encryption: { encryptionType: 'AES256' },
    tags: [],
  };

  before(async () => {
    storage = await openStorage({ stateDir: '', ephemeral: true });
    blobs = await storage.namespace('ecr');
    guard = new BlobGuard(60_000, () => clock);
    collector = new BlobCollector({
      store: storage.store,
      blobs,
      guard,
      now: () => clock,
      log: createLogger('error'),
      uploadLifetimeMs: 3_600_000,
    });
    registry = new Registry({
      store: storage.store,
      blobs,
      guard,
      now: () => clock,
      onImagesDeleted: () => undefined,
      onPush: () => undefined,
    });
    await storage.store.put(T.repositories, repositoryKey(repo, repo.name), repo);
  });
  after(() => storage.close());

  async function pushBlob(data: Buffer): Promise<string> {
    const id = await registry.uploads.start(repo);
    await registry.uploads.complete(repo, id, sha(data), data);
    return sha(data);
  }

  function manifest(config: string, layers: string[], sizes: number[]): Buffer {
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
        layers: layers.map((d, i) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: d,
          size: sizes[i],
        })),
      }),
    );
  }

  test('an uploaded blob waits for its manifest through the grace period, then goes', async () => {
    const orphan = await pushBlob(randomBytes(1000));
    assert.equal((await collector.collect()).blobs, 0, 'pinned by the upload');
    clock += 61_000;
    const result = await collector.collect();
    assert.equal(result.blobs, 1);
    assert.equal(result.bytes, 1000);
    assert.equal(await blobs.stat(orphan), undefined);
    assert.equal(await registry.blobSize(repo, orphan), undefined);
  });

  test('referenced blobs stay; deleting the image frees exactly its own blobs', async () => {
    const config = await pushBlob(Buffer.from('{}'));
    const shared = randomBytes(500);
    const sharedDigest = await pushBlob(shared);
    const own = randomBytes(700);
    const ownDigest = await pushBlob(own);
    const a = await registry.putManifest(
      repo,
      'a',
      manifest(config, [sharedDigest, ownDigest], [500, 700]),
      MediaTypes.ociManifest,
    );
    await registry.putManifest(
      repo,
      'b',
      manifest(config, [sharedDigest], [500]),
      MediaTypes.ociManifest,
    );
    clock += 61_000;
    assert.equal((await collector.collect()).blobs, 0, 'everything is referenced');

    await registry.deleteImage(repo, a.digest);
    const result = await collector.collect();
    assert.equal(result.blobs, 1, 'only the layer image a alone used');
    assert.equal(await blobs.stat(ownDigest), undefined);
    assert.ok(await blobs.stat(sharedDigest));
    assert.ok(await blobs.stat(config));
  });

  test('a HEAD during a push pins an unreferenced blob until its manifest lands', async () => {
    const config = await pushBlob(Buffer.from('{}'));
    const layer = randomBytes(300);
    const layerDigest = await pushBlob(layer);
    const first = await registry.putManifest(
      repo,
      'c',
      manifest(config, [layerDigest], [300]),
      MediaTypes.ociManifest,
    );
    clock += 61_000;
    // A second push finds the layer by HEAD, then the first image is deleted before the
    // second manifest arrives: the collector must leave the layer alone.
    assert.equal(await registry.blobSize(repo, layerDigest, true), 300);
    await registry.deleteImage(repo, first.digest);
    await collector.collect();
    assert.ok(await blobs.stat(layerDigest), 'pinned by the HEAD');
    await registry.putManifest(
      repo,
      'd',
      manifest(config, [layerDigest], [300]),
      MediaTypes.ociManifest,
    );
    await collector.collect();
    assert.ok(await blobs.stat(layerDigest), 'referenced again');
  });

  test('a collection racing an upload of the same content never loses the new blob', async () => {
    const data = randomBytes(2000);
    await pushBlob(data);
    clock += 61_000;
    // Collection and a re-upload of the same bytes run at once, many times.
    for (let i = 0; i < 20; i++) {
      const [, uploaded] = await Promise.all([collector.collect(), pushBlob(data)]);
      assert.ok(await blobs.stat(uploaded), `round ${i}: the re-uploaded blob is on disk`);
      assert.equal(await registry.blobSize(repo, uploaded), 2000);
      clock += 61_000;
    }
  });

  test('a blob file without a metadata row (a crash between the two) is swept once old', async () => {
    const data = randomBytes(321);
    const { digest } = await blobs.put(data);
    const young = new BlobCollector({
      store: storage.store,
      blobs,
      guard: new BlobGuard(60_000, Date.now),
      now: Date.now,
      log: createLogger('error'),
      uploadLifetimeMs: 3_600_000,
    });
    assert.equal(await young.sweepOrphans(), 0, 'younger than the grace period');
    const later = new BlobCollector({
      store: storage.store,
      blobs,
      guard: new BlobGuard(60_000, () => Date.now() + 61_000),
      now: () => Date.now() + 61_000,
      log: createLogger('error'),
      uploadLifetimeMs: 3_600_000,
    });
    const kept = await pushBlob(randomBytes(50)); // recorded: never an orphan
    assert.equal(await later.sweepOrphans(), 1);
    assert.equal(await blobs.stat(digest), undefined);
    assert.ok(await blobs.stat(kept));
  });

  test('abandoned uploads are discarded after their lifetime', async () => {
    const id = await registry.uploads.start(repo);
    await registry.uploads.append(repo, id, randomBytes(100));
    assert.equal((await collector.collect()).uploads, 0);
    const lifetime = new BlobCollector({
      store: storage.store,
      blobs,
      guard,
      now: () => Date.now() + 3_600_001,
      log: createLogger('error'),
      uploadLifetimeMs: 3_600_000,
    });
    assert.equal((await lifetime.collect()).uploads, 1);
    await assert.rejects(registry.uploads.size(repo, id), { kind: 'upload-unknown' });
  });
});
