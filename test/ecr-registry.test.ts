/**
 * The ECR registry (/v2/) through skopeo, as users push and pull: images built offline
 * (test/helpers/oci-image.ts) copied into Stratus and back out keep every digest; tags,
 * cross-repository blob reuse, a two-platform OCI index, Docker schema 2 and deletes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  ListImagesCommand,
} from '@aws-sdk/client-ecr';
import {
  MEDIA_TYPE_OCI_INDEX,
  buildImage,
  buildIndex,
  copyImage,
  imageToolsMissing,
  inspectImage,
  layoutDescriptor,
  plainHttpFlags,
  rawManifest,
  sha256Digest,
  skopeo,
  type BuiltImage,
  type BuiltIndex,
} from './helpers/oci-image.js';
import { AUTHORIZATION, CREDS } from './helpers/registry-http.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

interface ManifestJson {
  mediaType: string;
  config: { digest: string; mediaType: string };
  layers: { digest: string; mediaType: string }[];
}

interface IndexJson {
  mediaType: string;
  manifests: { digest: string; platform?: { architecture: string; os: string } }[];
}

describe('ECR registry through skopeo', { skip: imageToolsMissing() }, () => {
  let server: TestServer;
  let work: string;
  let image: BuiltImage;
  let sibling: BuiltImage;
  let index: BuiltIndex;
  let registry: string;

  const remote = (ref: string): string => `docker://${registry}/${ref}`;
  const creds = { srcCreds: CREDS, destCreds: CREDS };

  async function listTags(repository: string): Promise<string[]> {
    const r = await skopeo([
      'list-tags',
      ...plainHttpFlags('list-tags'),
      '--creds',
      CREDS,
      remote(repository),
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { Tags: string[] }).Tags;
  }

  async function headBlob(repository: string, digest: string): Promise<number> {
    const res = await fetch(`${server.endpoint}/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
      headers: { Authorization: AUTHORIZATION },
    });
    return res.status;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ecr-registry-'));
    server = await startTestServer();
    registry = `127.0.0.1:${server.port}`;
    const ecr = new ECRClient(clientConfig(server.endpoint));
    for (const repositoryName of ['app', 'other', 'multi', 'legacy']) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName }));
    }
    ecr.destroy();
    image = await buildImage(join(work, 'image'), {
      tag: 'v1',
      randomLayerBytes: 20 * 1024 * 1024,
      seed: 'ecr-registry/app',
    });
    sibling = await buildImage(join(work, 'sibling'), {
      tag: 'v1',
      randomLayerBytes: 4096,
      seed: 'ecr-registry/other',
    });
    index = await buildIndex(join(work, 'index'), {
      tag: 'multi',
      randomLayerBytes: 4096,
      seed: 'ecr-registry/multi',
    });
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a multi-layer image copied in and back out keeps its digests', async () => {
    await copyImage(image.ref, remote('app:v1'), creds);
    await copyImage(image.ref, remote('app:v2'), creds);

    const local = await inspectImage(image.ref);
    const there = await inspectImage(remote('app:v1'), { creds: CREDS });
    assert.equal(there.Digest, image.digest);
    assert.deepEqual(there.Layers, local.Layers);
    assert.equal(there.Layers.length, 2);
    assert.deepEqual([...(there.RepoTags ?? [])].sort(), ['v1', 'v2']);
    assert.equal(sha256Digest(await rawManifest(remote('app:v2'), { creds: CREDS })), image.digest);
    assert.deepEqual(await listTags('app'), ['v1', 'v2']);

    // What skopeo sees is what the ECR API reports.
    const ecr = new ECRClient(clientConfig(server.endpoint));
    const listed = await ecr.send(new ListImagesCommand({ repositoryName: 'app' }));
    assert.deepEqual((listed.imageIds ?? []).map((i) => `${i.imageDigest}:${i.imageTag}`).sort(), [
      `${there.Digest}:v1`,
      `${there.Digest}:v2`,
    ]);
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: 'app' }));
    ecr.destroy();
    assert.equal(described.imageDetails?.length, 1);
    const detail = described.imageDetails?.[0];
    assert.equal(detail?.imageDigest, there.Digest);
    assert.deepEqual([...(detail?.imageTags ?? [])].sort(), [...(there.RepoTags ?? [])].sort());
    assert.equal(detail?.imageManifestMediaType, 'application/vnd.oci.image.manifest.v1+json');
    const pushed = JSON.parse(await rawManifest(remote('app:v1'), { creds: CREDS })) as {
      config: { size: number };
      layers: { size: number }[];
    };
    const size = pushed.config.size + pushed.layers.reduce((n, l) => n + l.size, 0);
    assert.equal(detail?.imageSizeInBytes, size);

    const layout = join(work, 'pulled');
    await copyImage(remote('app:v1'), `oci:${layout}:v1`, creds);
    assert.equal((await layoutDescriptor(layout, 'v1')).digest, image.digest);
    const pulled = await inspectImage(`oci:${layout}:v1`);
    assert.deepEqual(pulled.Layers, local.Layers);
    // Every blob skopeo wrote hashes to its name: the registry served the bytes it was given.
    const manifest = JSON.parse(await rawManifest(`oci:${layout}:v1`)) as ManifestJson;
    for (const { digest } of [manifest.config, ...manifest.layers]) {
      const bytes = await readFile(join(layout, 'blobs', 'sha256', digest.slice(7)));
      assert.equal(sha256Digest(bytes), digest);
    }
  });

  test('an image sharing the busybox layer goes to another repository', async () => {
    const [mine, theirs] = await Promise.all([inspectImage(image.ref), inspectImage(sibling.ref)]);
    assert.equal(mine.Layers[0], theirs.Layers[0], 'the images share their busybox layer');
    assert.equal(await headBlob('other', theirs.Layers[0]), 404);

    // skopeo may mount the shared layer from `app` (its blob info cache knows it is there).
    await copyImage(sibling.ref, remote('other:v1'), creds);
    const there = await inspectImage(remote('other:v1'), { creds: CREDS });
    assert.equal(there.Digest, sibling.digest);
    assert.deepEqual(there.Layers, theirs.Layers);
    assert.equal(await headBlob('other', theirs.Layers[0]), 200);
    // The random layer of `app` was never pushed to `other`: repositories stay apart.
    assert.equal(await headBlob('other', mine.Layers[1]), 404);

    const layout = join(work, 'pulled-sibling');
    await copyImage(remote('other:v1'), `oci:${layout}:v1`, creds);
    assert.equal((await layoutDescriptor(layout, 'v1')).digest, sibling.digest);
  });

  test('a two-platform OCI index round-trips with both children', async () => {
    await copyImage(index.ref, remote('multi:multi'), { ...creds, all: true });

    const raw = await rawManifest(remote('multi:multi'), { creds: CREDS });
    assert.equal(sha256Digest(raw), index.digest);
    const parsed = JSON.parse(raw) as IndexJson;
    assert.equal(parsed.mediaType, MEDIA_TYPE_OCI_INDEX);
    assert.deepEqual(
      parsed.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
    for (const child of index.children) {
      const byDigest = await rawManifest(remote(`multi@${child.digest}`), { creds: CREDS });
      assert.equal(sha256Digest(byDigest), child.digest);
    }
    const arm = await inspectImage(remote('multi:multi'), { creds: CREDS, arch: 'arm64' });
    assert.equal(arm.Architecture, 'arm64');
    assert.equal(arm.Digest, index.digest);

    const layout = join(work, 'pulled-index');
    await copyImage(remote('multi:multi'), `oci:${layout}:multi`, { ...creds, all: true });
    assert.equal(sha256Digest(await rawManifest(`oci:${layout}:multi`)), index.digest);
    const pulledArm = await inspectImage(`oci:${layout}:multi`, { arch: 'arm64' });
    assert.deepEqual(pulledArm.Layers, (await inspectImage(index.ref, { arch: 'arm64' })).Layers);
  });

  test('a Docker schema 2 manifest round-trips, and skopeo delete removes it', async () => {
    await copyImage(image.ref, remote('legacy:s2'), { ...creds, args: ['--format', 'v2s2'] });
    const raw = await rawManifest(remote('legacy:s2'), { creds: CREDS });
    const manifest = JSON.parse(raw) as ManifestJson;
    assert.equal(manifest.mediaType, DOCKER_MANIFEST);
    assert.ok(manifest.layers.every((l) => l.mediaType.startsWith('application/vnd.docker.')));
    const digest = sha256Digest(raw);

    // The registry answers the Docker type to a client asking for it.
    const res = await fetch(`${server.endpoint}/v2/legacy/manifests/s2`, {
      headers: { Authorization: AUTHORIZATION, Accept: DOCKER_MANIFEST },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.equal(await res.text(), raw);

    // `dir:` keeps the manifest bytes, so out and in again gives the same digest.
    const dir = join(work, 'legacy-dir');
    await copyImage(remote('legacy:s2'), `dir:${dir}`, creds);
    assert.equal(sha256Digest(await readFile(join(dir, 'manifest.json'))), digest);
    await copyImage(`dir:${dir}`, remote('legacy:again'), creds);
    assert.equal((await inspectImage(remote('legacy:again'), { creds: CREDS })).Digest, digest);
    assert.deepEqual(await listTags('legacy'), ['again', 's2']);

    // skopeo delete resolves the tag and deletes the manifest by digest: both tags go.
    const deleted = await skopeo([
      'delete',
      ...plainHttpFlags('delete'),
      '--creds',
      CREDS,
      remote('legacy:again'),
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(await listTags('legacy'), []);
    const gone = await skopeo([
      'inspect',
      ...plainHttpFlags('inspect'),
      '--creds',
      CREDS,
      remote('legacy:s2'),
    ]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/i);
    // Other repositories keep their images.
    assert.equal((await inspectImage(remote('app:v1'), { creds: CREDS })).Digest, image.digest);
  });
});
