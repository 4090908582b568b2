import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../shared/log.js';
import { openStorage, type Storage } from '../../storage/index.js';
import { BlobGuard } from './blob-guard.js';
import { MediaTypes } from './manifest.js';
import { convertManifest } from './manifest-convert.js';
import { Registry, keyOf } from './registry.js';
import {
  ReplicationRunner,
  destinationsFor,
  replicationKey,
  replicationSettingKey,
} from './replication.js';
import { T, type ReplicationRecord, type RepositoryRecord } from './store.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const repoRecord = (account: string, region: string, name: string): RepositoryRecord => ({
  account,
  region,
  name,
  createdAt: 0,
  imageTagMutability: 'MUTABLE',
  scanOnPush: false,
  encryption: { encryptionType: 'AES256' },
  tags: [],
});

describe('ECR replication rules', () => {
  test('PREFIX_MATCH filters select repositories; no filter selects every one; destinations once', () => {
    const config = {
      rules: [
        {
          destinations: [{ region: 'us-west-2', registryId: '000000000000' }],
          repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' as const }],
        },
        {
          destinations: [
            { region: 'us-west-2', registryId: '000000000000' },
            { region: 'eu-west-1', registryId: '111111111111' },
          ],
        },
      ],
    };
    assert.deepEqual(destinationsFor(config, 'prod/app'), [
      { region: 'us-west-2', registryId: '000000000000' },
      { region: 'eu-west-1', registryId: '111111111111' },
    ]);
    assert.deepEqual(destinationsFor({ rules: [config.rules[0]] }, 'dev/app'), []);
  });
});

describe('ECR manifest conversion', () => {
  const docker = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: sha('c'),
      size: 1,
    },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: sha('l'),
        size: 1,
      },
    ],
  });

  test('Docker schema 2 → OCI → Docker schema 2 keeps every descriptor', () => {
    const oci = convertManifest(docker, MediaTypes.dockerManifest, MediaTypes.ociManifest);
    assert.ok(oci);
    assert.equal(oci.digest, sha(oci.bytes));
    const back = convertManifest(
      oci.bytes.toString(),
      MediaTypes.ociManifest,
      MediaTypes.dockerManifest,
    );
    assert.deepEqual(JSON.parse(back?.bytes.toString() ?? ''), JSON.parse(docker));
  });

  test('artifacts, zstd layers and indexes are not converted', () => {
    const artifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 },
      layers: [],
    });
    const zstd = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('c'), size: 1 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha('l'), size: 1 },
      ],
    });
    for (const m of [artifact, zstd]) {
      assert.equal(
        convertManifest(m, MediaTypes.ociManifest, MediaTypes.dockerManifest),
        undefined,
      );
    }
    assert.equal(convertManifest('{}', MediaTypes.ociIndex, MediaTypes.dockerList), undefined);
  });
});

describe('ECR replication after a restart', () => {
  let storage: Storage;
  let registry: Registry;
  const source = repoRecord('000000000000', 'us-east-1', 'prod/app');

  before(async () => {
    storage = await openStorage({ stateDir: '', ephemeral: true });
    registry = new Registry({
      store: storage.store,
      blobs: await storage.namespace('ecr'),
      guard: new BlobGuard(60_000, Date.now),
      now: Date.now,
      onImagesDeleted: () => undefined,
      onPush: () => undefined,
    });
    await registry.createRepository(source);
  });
  after(() => storage.close());

  test('a copy left IN_PROGRESS (a crash mid-replication) is resumed when the runner starts', async () => {
    const push = async (data: Buffer) => {
      const id = await registry.uploads.start(source);
      await registry.uploads.complete(source, id, sha(data), data);
      return { digest: sha(data), size: data.length };
    };
    const config = await push(Buffer.from('{"architecture":"amd64","os":"linux"}'));
    const layer = await push(randomBytes(100));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    );
    const { digest } = await registry.putManifest(source, 'v1', manifest, undefined);
    const dest = { region: 'us-west-2', registryId: '000000000000' };
    await storage.store.put(T.registry, replicationSettingKey(source), {
      rules: [{ destinations: [dest] }],
    });
    // What a crash leaves: the status row of a copy that never ran.
    const key = replicationKey(keyOf(source), digest, dest);
    await storage.store.put<ReplicationRecord>(T.replication, key, {
      ...dest,
      status: 'IN_PROGRESS',
      updatedAt: 0,
    });
    const runner = new ReplicationRunner({
      store: storage.store,
      registry,
      now: Date.now,
      log: createLogger('error'),
    });
    await runner.start();
    await runner.idle();
    assert.equal(
      (await storage.store.get<ReplicationRecord>(T.replication, key))?.status,
      'COMPLETE',
    );
    const replica = await registry.repository(
      { account: dest.registryId, region: dest.region },
      'prod/app',
    );
    const image = await registry.image(replica, 'v1');
    assert.equal(image.digest, digest);
    assert.equal(await registry.blobSize(replica, layer.digest), 100);
    await runner.stop();
  });
});
