/**
 * ECR's ImageSource: images pushed with skopeo (built offline from busybox-static) resolve by
 * tag, by digest, through an index and in Docker schema 2, in AWS's reference form and the
 * local ones; the missing cases reject with ImageNotFoundError and containerd's words; the
 * pull reference and credentials work for a registry client (skopeo, in strict mode).
 *
 * Images are pushed through a real server, which is then stopped; the ECR plugin is opened
 * again over the same state directory (the image source is a plugin member, not an HTTP
 * API), serving its own /v2/ data plane so that the pull credentials can be tried.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { defaultConfig } from '../src/config.js';
import { ImageNotFoundError, type ResolvedImage } from '../src/runtime/container.js';
import { RouteTable } from '../src/gateway/routes.js';
import { createEcr, type EcrServiceInstance } from '../src/services/ecr/plugin.js';
import type { PluginDeps } from '../src/services/plugin.js';
import { openStorage, type Storage } from '../src/storage/index.js';
import {
  buildImage,
  buildIndex,
  copyImage,
  imageToolsMissing,
  inspectImage,
  rawManifest,
  type BuiltImage,
  type BuiltIndex,
} from './helpers/oci-image.js';
import { call, CREDS } from './helpers/registry-http.js';
import { clientConfig, startTestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const AWS_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

describe('ECR image source', { skip: imageToolsMissing() }, () => {
  let work: string;
  let image: BuiltImage;
  let index: BuiltIndex;
  let storage: Storage | undefined;
  let ecr: EcrServiceInstance | undefined;
  let plane: Server | undefined;
  let host: string;
  let schema2Digest: string;

  const resolve = (ref: string, account = ACCOUNT): Promise<ResolvedImage> => {
    if (!ecr) throw new Error('not started');
    return ecr.imageSource.resolve(ref, account, REGION);
  };

  async function rejects(ref: string, reason: RegExp): Promise<void> {
    await assert.rejects(resolve(ref), (err: unknown) => {
      assert.ok(err instanceof ImageNotFoundError, String(err));
      assert.equal(err.reference, ref);
      assert.match(err.reason, reason);
      return true;
    });
  }

  async function digestOf(stream: NodeJS.ReadableStream): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}`;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ecr-image-source-'));
    const stateDir = join(work, 'state');
    image = await buildImage(join(work, 'image'), {
      tag: 'v1',
      randomLayerBytes: 64 * 1024,
      seed: 'image-source/app',
    });
    index = await buildIndex(join(work, 'index'), { tag: 'multi', seed: 'image-source/multi' });

    const server = await startTestServer({ ephemeral: false, stateDir });
    try {
      const api = new ECRClient(clientConfig(server.endpoint));
      for (const repositoryName of ['apps/web', 'multi', 'legacy']) {
        await api.send(new CreateRepositoryCommand({ repositoryName }));
      }
      api.destroy();
      const remote = (ref: string) => `docker://127.0.0.1:${server.port}/${ref}`;
      const creds = { destCreds: CREDS };
      await copyImage(image.ref, remote('apps/web:v1'), creds);
      await copyImage(image.ref, remote('apps/web:latest'), creds);
      await copyImage(index.ref, remote('multi:multi'), { ...creds, all: true });
      await copyImage(image.ref, remote('legacy:s2'), { ...creds, args: ['--format', 'v2s2'] });
      schema2Digest = (await inspectImage(remote('legacy:s2'), { creds: CREDS })).Digest;
      // An index whose only platform is linux/arm64 (its child is in the repository).
      const arm = index.children.find((c) => c.platform === 'linux/arm64');
      const armOnly = JSON.parse(await rawManifest(index.ref)) as {
        manifests: { platform?: { architecture: string } }[];
      };
      armOnly.manifests = armOnly.manifests.filter((m) => m.platform?.architecture === 'arm64');
      assert.equal(armOnly.manifests.length, 1, String(arm?.digest));
      const put = await call(server.endpoint, 'PUT', '/v2/multi/manifests/arm-only', {
        headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
        body: JSON.stringify(armOnly),
      });
      assert.equal(put.status, 201, put.body.toString());
    } finally {
      await server.stop();
    }

    // The same state, opened again by the ECR plugin alone, in strict mode.
    storage = await openStorage({ stateDir, ephemeral: false });
    const deps: PluginDeps = {
      config: { ...defaultConfig({}), stateDir, port: 0, auth: 'strict', logLevel: 'warn' },
      store: storage.store,
      blobs: storage.blobs,
      blobNamespace: (name) => (storage as Storage).namespace(name),
      links: {},
    };
    ecr = await createEcr(deps, {});
    const routes = new RouteTable(ecr.dataPlanes ?? []);
    plane = createServer((req, res) => {
      const found = routes.route(req.method ?? 'GET', req.url ?? '/', req.headers);
      if (found.kind === 'plane') void found.plane.handle(req, res, found.match);
      else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => plane?.listen(0, '127.0.0.1', ok));
    host = `127.0.0.1:${(plane.address() as AddressInfo).port}`;
    await ecr.start?.({ endpoint: `http://${host}` });
  });

  after(async () => {
    await ecr?.stop?.();
    await new Promise<void>((ok) => (plane ? plane.close(() => ok()) : ok()));
    await storage?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('by tag in AWS form: manifest, config, layers and their bytes', async () => {
    const ref = `${AWS_HOST}/apps/web:v1`;
    const resolved = await resolve(ref);
    assert.equal(resolved.reference, ref);
    assert.equal(resolved.account, ACCOUNT);
    assert.equal(resolved.region, REGION);
    assert.equal(resolved.repository, 'apps/web');
    assert.equal(resolved.manifestDigest, image.digest);
    assert.deepEqual(resolved.config.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(resolved.config.Cmd, ['echo hello from stratus']);
    const local = await inspectImage(image.ref);
    assert.deepEqual(
      resolved.layers.map((l) => l.digest),
      local.Layers,
    );
    for (const layer of resolved.layers) {
      assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.equal(await digestOf(await resolved.openLayer(layer.digest)), layer.digest);
    }
    // Only the image's own layers open.
    await assert.rejects(resolved.openLayer(image.digest), ImageNotFoundError);
  });

  test('by digest and in the local forms, the tag defaulting to latest', async () => {
    const port = host.split(':')[1];
    for (const ref of [
      `${AWS_HOST}/apps/web@${image.digest}`,
      `${AWS_HOST}/apps/web:v1@${image.digest}`,
      `127.0.0.1:${port}/apps/web:v1`,
      `localhost:${port}/apps/web@${image.digest}`,
      // The repositoryUri ECR reports (the local form naming account and region).
      `127.0.0.1:${port}/${ACCOUNT}.dkr.ecr.${REGION}/apps/web:v1`,
      'apps/web',
      'apps/web:latest',
    ]) {
      const resolved = await resolve(ref);
      assert.equal(resolved.manifestDigest, image.digest, ref);
      assert.equal(resolved.layers.length, 2, ref);
    }
  });

  test('an index resolves to its linux/amd64 image', async () => {
    const amd64 = index.children.find((c) => c.platform === 'linux/amd64');
    for (const ref of [`${AWS_HOST}/multi:multi`, `multi@${index.digest}`]) {
      const resolved = await resolve(ref);
      assert.equal(resolved.manifestDigest, amd64?.digest, ref);
      assert.equal(resolved.pull.reference, `${host}/multi@${amd64?.digest}`);
    }
  });

  test('a Docker schema 2 image resolves with its Docker layer media type', async () => {
    const resolved = await resolve(`${AWS_HOST}/legacy:s2`);
    assert.equal(resolved.manifestDigest, schema2Digest);
    assert.deepEqual(resolved.config.Entrypoint, ['/bin/sh', '-c']);
    for (const layer of resolved.layers) {
      assert.equal(layer.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
      assert.equal(await digestOf(await resolved.openLayer(layer.digest)), layer.digest);
    }
  });

  test('the pull reference and credentials work for a registry client', async () => {
    const resolved = await resolve(`${AWS_HOST}/apps/web:v1`);
    assert.equal(resolved.pull.reference, `${host}/apps/web@${image.digest}`);
    assert.equal(resolved.pull.username, 'AWS');
    const creds = `${resolved.pull.username}:${resolved.pull.password}`;
    const seen = await inspectImage(`docker://${resolved.pull.reference}`, { creds });
    assert.equal(seen.Digest, image.digest);
    // Strict mode: the registry refuses what is not a token.
    await assert.rejects(
      inspectImage(`docker://${resolved.pull.reference}`, { creds: 'AWS:forged' }),
    );
  });

  test('missing repository, tag, digest or platform: ImageNotFoundError, "not found"', async () => {
    const missingDigest = `sha256:${'0'.repeat(64)}`;
    await rejects(`${AWS_HOST}/nope:v1`, /^not found$/);
    await rejects(`${AWS_HOST}/apps/web:v9`, /^not found$/);
    await rejects(`${AWS_HOST}/apps/web@${missingDigest}`, /^not found$/);
    await rejects('apps/web:v9', /^not found$/);
    // Another account's registry, another region's: separate registries.
    await rejects(`111111111111.dkr.ecr.${REGION}.amazonaws.com/apps/web:v1`, /^not found$/);
    await rejects(`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/apps/web:v1`, /^not found$/);
    await rejects(`${host}/111111111111.dkr.ecr.${REGION}/apps/web:v1`, /^not found$/);
    await rejects(
      'multi:arm-only',
      /^image Manifest does not contain descriptor matching platform 'linux\/amd64'$/,
    );
  });

  test('other registries and malformed references are refused, never fetched', async () => {
    await rejects('docker.io/library/busybox:latest', /^not found: docker\.io is not Stratus/);
    await rejects('127.0.0.1:1/apps/web:v1', /^not found: 127\.0\.0\.1:1 is not Stratus/);
    for (const bad of ['', 'Apps/Web', 'apps/web:', 'apps/web@sha256:abc', 'apps//web', 'a']) {
      await rejects(bad, /^invalid reference format$/);
    }
  });
});
