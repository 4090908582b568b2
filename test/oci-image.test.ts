/**
 * The offline image builders (test/helpers/oci-image.ts): what skopeo reads from the OCI
 * layouts they write, and a round trip through the CNCF distribution registry
 * (bench/registry-peer.ts) that must give back the same digests.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  registryPeerMissing,
  startRegistryPeer,
  type RegistryPeer,
} from '../bench/registry-peer.js';
import {
  MEDIA_TYPE_OCI_INDEX,
  buildImage,
  buildIndex,
  copyImage,
  imageConfig,
  imageToolsMissing,
  inspectImage,
  rawManifest,
  sha256Digest,
  skopeo,
  plainHttpFlags,
  type BuiltImage,
  type BuiltIndex,
} from './helpers/oci-image.js';

const RANDOM_BYTES = 1 << 20;
const toolsMissing = imageToolsMissing();

interface IndexJson {
  mediaType: string;
  manifests: { digest: string; platform?: { architecture: string; os: string } }[];
}

describe('offline OCI images', { skip: toolsMissing }, () => {
  let work: string;
  let image: BuiltImage;
  let index: BuiltIndex;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-image-test-'));
    image = await buildImage(join(work, 'image'), {
      tag: 'v1',
      randomLayerBytes: RANDOM_BYTES,
      seed: 'one',
    });
    index = await buildIndex(join(work, 'index'), { tag: 'multi', randomLayerBytes: 4096 });
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('buildImage writes a two-layer busybox image skopeo reads', async () => {
    assert.equal(image.ref, `oci:${join(work, 'image')}:v1`);
    const info = await inspectImage(image.ref);
    assert.equal(info.Digest, image.digest);
    assert.equal(info.Layers.length, 2);
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
    const raw = await rawManifest(image.ref);
    assert.equal(sha256Digest(raw), image.digest);
    const manifest = JSON.parse(raw) as { layers: { size: number }[] };
    // Random bytes do not compress: gzip makes the layer a little larger.
    assert.ok(manifest.layers[1].size > RANDOM_BYTES, `random layer ${manifest.layers[1].size}`);
    const config = (await imageConfig(image.ref)) as {
      config: { Entrypoint: string[]; Cmd: string[] };
    };
    assert.deepEqual(config.config.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(config.config.Cmd, ['echo hello from stratus']);
  });

  test('the same seed gives the same image, another seed another random layer', async () => {
    const same = await buildImage(join(work, 'same'), {
      tag: 'v1',
      randomLayerBytes: RANDOM_BYTES,
      seed: 'one',
    });
    assert.equal(same.digest, image.digest);
    const other = await buildImage(join(work, 'same'), {
      tag: 'v2',
      randomLayerBytes: RANDOM_BYTES,
      seed: 'two',
    });
    assert.notEqual(other.digest, image.digest);
    const [a, b] = await Promise.all([inspectImage(image.ref), inspectImage(other.ref)]);
    assert.equal(a.Layers[0], b.Layers[0], 'the busybox layer is shared');
    assert.notEqual(a.Layers[1], b.Layers[1]);
    // Both tags live in one layout.
    assert.equal((await inspectImage(same.ref)).Digest, image.digest);
  });

  test('buildIndex writes an index of linux/amd64 and linux/arm64', async () => {
    const raw = await rawManifest(index.ref);
    assert.equal(sha256Digest(raw), index.digest);
    const parsed = JSON.parse(raw) as IndexJson;
    assert.equal(parsed.mediaType, MEDIA_TYPE_OCI_INDEX);
    assert.deepEqual(
      parsed.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
    assert.deepEqual(
      parsed.manifests.map((m) => m.digest),
      index.children.map((c) => c.digest),
    );
    assert.notEqual(index.children[0].digest, index.children[1].digest);
    // skopeo inspect picks the child by --override-arch but reports the index's digest.
    const [amd, arm] = await Promise.all(
      ['amd64', 'arm64'].map((arch) => inspectImage(index.ref, { arch })),
    );
    assert.equal(amd.Digest, index.digest);
    assert.equal(amd.Architecture, 'amd64');
    assert.equal(arm.Architecture, 'arm64');
    assert.equal(amd.Layers.length, 2);
    assert.notEqual(amd.Layers[0], arm.Layers[0], 'each platform has its own rootfs layer');
  });

  test('plainHttpFlags names the flags each subcommand takes', () => {
    assert.deepEqual(plainHttpFlags('copy'), ['--src-tls-verify=false', '--dest-tls-verify=false']);
    assert.deepEqual(plainHttpFlags('inspect'), ['--tls-verify=false']);
    assert.deepEqual(plainHttpFlags('list-tags'), ['--tls-verify=false']);
  });

  describe('through the distribution registry', { skip: registryPeerMissing() }, () => {
    let peer: RegistryPeer;
    before(async () => {
      peer = await startRegistryPeer();
    });
    after(() => peer?.stop());

    test('an image copied in and back out keeps its digests', async () => {
      const remote = `docker://${peer.host}/test/busybox:v1`;
      await copyImage(image.ref, remote);
      const there = await inspectImage(remote);
      const here = await inspectImage(image.ref);
      assert.equal(there.Digest, image.digest);
      assert.deepEqual(there.Layers, here.Layers);
      assert.equal(sha256Digest(await rawManifest(remote)), image.digest);

      const tags = await skopeo([
        'list-tags',
        ...plainHttpFlags('list-tags'),
        `docker://${peer.host}/test/busybox`,
      ]);
      assert.equal(tags.code, 0, tags.stderr);
      assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);

      const back = `oci:${join(work, 'pulled')}:v1`;
      await copyImage(remote, back);
      const pulled = await inspectImage(back);
      assert.equal(pulled.Digest, image.digest);
      assert.deepEqual(pulled.Layers, here.Layers);
    });

    test('an index copied with --all keeps its digest and both children', async () => {
      const remote = `docker://${peer.host}/test/multi:multi`;
      await copyImage(index.ref, remote, { all: true });
      assert.equal(sha256Digest(await rawManifest(remote)), index.digest);
      for (const child of index.children) {
        const byDigest = `docker://${peer.host}/test/multi@${child.digest}`;
        assert.equal(sha256Digest(await rawManifest(byDigest)), child.digest);
      }

      const back = `oci:${join(work, 'pulled-index')}:multi`;
      await copyImage(remote, back, { all: true });
      assert.equal(sha256Digest(await rawManifest(back)), index.digest);
      const arm = await inspectImage(back, { arch: 'arm64' });
      assert.equal(arm.Architecture, 'arm64');
      assert.deepEqual(arm.Layers, (await inspectImage(index.ref, { arch: 'arm64' })).Layers);
    });
  });
});
