/**
 * The OCI distribution protocol of the ECR registry (/v2/), request by request with fetch
 * (and node:http where a request must stay raw: unnormalised paths, endless bodies, a kill
 * mid-stream). https://github.com/opencontainers/distribution-spec/blob/main/spec.md
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { sha256Digest } from './helpers/oci-image.js';
import {
  AUTHORIZATION,
  MB,
  assertError,
  call,
  json,
  rawCall,
  streamedCall,
  type OciErrors,
} from './helpers/registry-http.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
}

/** The descriptor of `bytes` as a blob of `mediaType`. */
const descriptorOf = (bytes: Buffer, mediaType: string): Descriptor => ({
  mediaType,
  digest: sha256Digest(bytes),
  size: bytes.length,
});

describe('ECR registry protocol', () => {
  let server: TestServer;
  let work: string;
  let endpoint: string;
  const get = (path: string, headers?: Record<string, string>) =>
    call(endpoint, 'GET', path, { headers });
  const head = (path: string, headers?: Record<string, string>) =>
    call(endpoint, 'HEAD', path, { headers });

  async function pushBlob(repo: string, bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    const r = await call(endpoint, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(r.status, 201, r.body.toString());
    return digest;
  }

  async function startUpload(repo: string): Promise<URL> {
    const r = await call(endpoint, 'POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(r.status, 202, r.body.toString());
    const location = r.headers.get('location');
    assert.ok(location, 'Location header');
    return new URL(location, endpoint);
  }

  const withDigest = (upload: URL, digest: string): string => {
    const url = new URL(upload);
    url.searchParams.set('digest', digest);
    return url.pathname + url.search;
  };

  /** Pushes a config and a random layer; the manifest's bytes and parts. */
  async function imageManifest(
    repo: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ bytes: Buffer; digest: string; layers: Descriptor[] }> {
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }),
    );
    const layer = randomBytes(1024);
    await pushBlob(repo, config);
    await pushBlob(repo, layer);
    const layers = [descriptorOf(layer, OCI_LAYER)];
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptorOf(config, OCI_CONFIG),
        layers,
        ...extra,
      }),
    );
    return { bytes, digest: sha256Digest(bytes), layers };
  }

  const putManifest = (repo: string, ref: string, bytes: Buffer, type = OCI_MANIFEST) =>
    call(endpoint, 'PUT', `/v2/${repo}/manifests/${ref}`, {
      body: bytes,
      headers: { 'Content-Type': type },
    });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ecr-protocol-'));
    // A real state directory inside `work`, so the traversal test can see what was written.
    server = await startTestServer({ ephemeral: false, stateDir: join(work, 'state') });
    endpoint = server.endpoint;
    const ecr = new ECRClient(clientConfig(server.endpoint));
    for (const repositoryName of ['proto', 'proto-mount', 'proto-tags', 'team/app']) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName }));
    }
    ecr.destroy();
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('GET /v2/ challenges anonymous clients as ECR does and admits Basic auth', async () => {
    const anonymous = await call(endpoint, 'GET', '/v2/', { auth: false });
    assertError(anonymous, 401, 'UNAUTHORIZED');
    assert.match(
      anonymous.headers.get('www-authenticate') ?? '',
      /^Basic realm="[^"]+",service="ecr\.amazonaws\.com"$/,
    );
    assert.equal(anonymous.headers.get('docker-distribution-api-version'), 'registry/2.0');

    const admitted = await get('/v2/');
    assert.equal(admitted.status, 200);
    assert.equal(admitted.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(json(admitted), {});
  });

  test('monolithic upload: POST ?digest= stores the blob; HEAD and GET serve it', async () => {
    const bytes = randomBytes(64 * 1024);
    const digest = sha256Digest(bytes);
    const r = await call(endpoint, 'POST', `/v2/proto/blobs/uploads/?digest=${digest}`, {
      body: bytes,
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/proto/blobs/${digest}`);
    assert.equal(r.headers.get('docker-content-digest'), digest);

    const h = await head(`/v2/proto/blobs/${digest}`);
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-length'), String(bytes.length));
    assert.equal(h.headers.get('docker-content-digest'), digest);
    assert.equal(h.body.length, 0);
    const g = await get(`/v2/proto/blobs/${digest}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.body, bytes);
  });

  test('POST then PUT with the whole blob', async () => {
    const bytes = randomBytes(10_000);
    const digest = sha256Digest(bytes);
    const r = await call(endpoint, 'POST', '/v2/proto/blobs/uploads/');
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), '0-0');
    const id = r.headers.get('docker-upload-uuid');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    const upload = new URL(r.headers.get('location') ?? '', endpoint);
    assert.equal(upload.pathname, `/v2/proto/blobs/uploads/${id}`);

    const put = await call(endpoint, 'PUT', withDigest(upload, digest), { body: bytes });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), digest);
    assert.deepEqual((await get(`/v2/proto/blobs/${digest}`)).body, bytes);
    // The upload is finished: its URL is gone.
    assertError(await get(upload.pathname), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('chunked upload: three PATCHes with Content-Range, status, then PUT', async () => {
    const bytes = randomBytes(300_000);
    const digest = sha256Digest(bytes);
    const upload = await startUpload('proto');
    const bounds = [0, 100_000, 250_000, bytes.length];
    for (let i = 0; i < 3; i++) {
      const [start, end] = [bounds[i], bounds[i + 1]];
      const r = await call(endpoint, 'PATCH', upload.pathname, {
        body: bytes.subarray(start, end),
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${start}-${end - 1}`,
        },
      });
      assert.equal(r.status, 202, r.body.toString());
      assert.equal(r.headers.get('range'), `0-${end - 1}`);
      assert.equal(new URL(r.headers.get('location') ?? '', endpoint).pathname, upload.pathname);

      const status = await get(upload.pathname);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${end - 1}`);
      assert.ok(status.headers.get('docker-upload-uuid'));
    }
    const put = await call(endpoint, 'PUT', withDigest(upload, digest));
    assert.equal(put.status, 201, put.body.toString());
    const g = await get(`/v2/proto/blobs/${digest}`);
    assert.equal(g.headers.get('docker-content-digest'), digest);
    assert.equal(sha256Digest(g.body), digest);
  });

  test('DELETE cancels an upload: it is BLOB_UPLOAD_UNKNOWN from then on', async () => {
    const upload = await startUpload('proto');
    await call(endpoint, 'PATCH', upload.pathname, { body: randomBytes(100) });
    const cancelled = await call(endpoint, 'DELETE', upload.pathname);
    assert.equal(cancelled.status, 204);
    assertError(await get(upload.pathname), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(
      await call(endpoint, 'PATCH', upload.pathname, { body: randomBytes(10) }),
      404,
      'BLOB_UPLOAD_UNKNOWN',
    );
    assertError(await call(endpoint, 'DELETE', upload.pathname), 404, 'BLOB_UPLOAD_UNKNOWN');
    // An upload of one repository is unknown to another.
    const other = await startUpload('proto');
    assertError(
      await get(other.pathname.replace('/proto/', '/proto-mount/')),
      404,
      'BLOB_UPLOAD_UNKNOWN',
    );
  });

  test('blob HEAD and GET with Range', async () => {
    const bytes = randomBytes(1000);
    const digest = await pushBlob('proto', bytes);
    const path = `/v2/proto/blobs/${digest}`;
    const part = await get(path, { Range: 'bytes=10-19' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-19/${bytes.length}`);
    assert.equal(part.headers.get('content-length'), '10');
    assert.deepEqual(part.body, bytes.subarray(10, 20));

    const tail = await get(path, { Range: 'bytes=990-' });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), `bytes 990-999/${bytes.length}`);
    assert.deepEqual(tail.body, bytes.subarray(990));

    // An end past the blob is cut to it.
    const past = await get(path, { Range: 'bytes=995-5000' });
    assert.equal(past.status, 206);
    assert.deepEqual(past.body, bytes.subarray(995));

    const beyond = await get(path, { Range: 'bytes=1000-' });
    assertError(beyond, 416, 'RANGE_INVALID');
    assert.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`);

    const h = await head(path);
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('accept-ranges'), 'bytes');
    assert.equal(h.headers.get('content-length'), '1000');
    assertError(await get(`/v2/proto/blobs/${sha256Digest('nothing')}`), 404, 'BLOB_UNKNOWN');
    const missingHead = await head(`/v2/proto/blobs/${sha256Digest('nothing')}`);
    assert.equal(missingHead.status, 404);
    assert.equal(missingHead.body.length, 0);
  });

  test('cross-repository mount: 201 when the source has the blob, else an upload', async () => {
    const bytes = randomBytes(2048);
    const digest = await pushBlob('proto', bytes);
    assert.equal((await head(`/v2/proto-mount/blobs/${digest}`)).status, 404);

    const mounted = await call(
      endpoint,
      'POST',
      `/v2/proto-mount/blobs/uploads/?mount=${digest}&from=proto`,
    );
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('location'), `/v2/proto-mount/blobs/${digest}`);
    assert.equal(mounted.headers.get('docker-content-digest'), digest);
    assert.deepEqual((await get(`/v2/proto-mount/blobs/${digest}`)).body, bytes);

    // A source without the blob (or no such repository): the client gets an upload instead.
    const unknown = sha256Digest(randomBytes(16));
    for (const from of ['proto-tags', 'does-not-exist']) {
      const fallback = await call(
        endpoint,
        'POST',
        `/v2/proto-mount/blobs/uploads/?mount=${unknown}&from=${from}`,
      );
      assert.equal(fallback.status, 202);
      assert.match(fallback.headers.get('location') ?? '', /^\/v2\/proto-mount\/blobs\/uploads\//);
      assert.equal((await head(`/v2/proto-mount/blobs/${unknown}`)).status, 404);
    }
  });

  test('a wrong digest is DIGEST_INVALID and stores nothing', async () => {
    const bytes = randomBytes(4096);
    const claimed = sha256Digest('something else');
    const upload = await startUpload('proto');
    assertError(
      await call(endpoint, 'PUT', withDigest(upload, claimed), { body: bytes }),
      400,
      'DIGEST_INVALID',
    );
    assert.equal((await head(`/v2/proto/blobs/${claimed}`)).status, 404);
    assert.equal((await head(`/v2/proto/blobs/${sha256Digest(bytes)}`)).status, 404);

    assertError(
      await call(endpoint, 'POST', `/v2/proto/blobs/uploads/?digest=${claimed}`, { body: bytes }),
      400,
      'DIGEST_INVALID',
    );
    assert.equal((await head(`/v2/proto/blobs/${claimed}`)).status, 404);
    assert.equal((await head(`/v2/proto/blobs/${sha256Digest(bytes)}`)).status, 404);

    // A PUT without the digest parameter is refused too, and the upload goes on.
    const second = await startUpload('proto');
    assertError(
      await call(endpoint, 'PUT', second.pathname, { body: bytes }),
      400,
      'DIGEST_INVALID',
    );
    assert.equal((await get(second.pathname)).status, 204);
    const retried = await call(endpoint, 'PUT', withDigest(second, sha256Digest(bytes)), {
      body: bytes,
    });
    assert.equal(retried.status, 201);
  });

  test('a Content-Range that skips bytes is 416 and leaves the upload as it was', async () => {
    const upload = await startUpload('proto');
    const first = await call(endpoint, 'PATCH', upload.pathname, {
      body: randomBytes(10),
      headers: { 'Content-Range': '0-9' },
    });
    assert.equal(first.status, 202);

    const skipping = await call(endpoint, 'PATCH', upload.pathname, {
      body: randomBytes(10),
      headers: { 'Content-Range': '20-29' },
    });
    assertError(skipping, 416, 'RANGE_INVALID');
    assert.equal(skipping.headers.get('range'), '0-9');

    // A range whose length is not the body's is refused the same way.
    const mismatched = await call(endpoint, 'PATCH', upload.pathname, {
      body: randomBytes(10),
      headers: { 'Content-Range': '10-29' },
    });
    assertError(mismatched, 416, 'RANGE_INVALID');

    // A chunked body (no Content-Length) longer than its Content-Range: refused as it arrives.
    const overlong = await streamedCall(new URL(upload.pathname, endpoint), 'PATCH', 3 * MB, {
      headers: { 'Content-Range': '10-19' },
    });
    assert.equal(overlong.status, 416);
    assert.equal(overlong.headers.range, '0-9');
    assert.equal(
      (JSON.parse(overlong.body.toString()) as OciErrors).errors[0].code,
      'RANGE_INVALID',
    );

    const status = await get(upload.pathname);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-9');
  });

  test('manifests: PUT by tag and by digest, GET with Accept negotiation, HEAD', async () => {
    const { bytes, digest } = await imageManifest('proto');
    const byTag = await putManifest('proto', 'v1', bytes);
    assert.equal(byTag.status, 201, byTag.body.toString());
    assert.equal(byTag.headers.get('docker-content-digest'), digest);
    assert.equal(byTag.headers.get('location'), `/v2/proto/manifests/${digest}`);
    const byDigest = await putManifest('proto', digest, bytes);
    assert.equal(byDigest.status, 201);
    assert.equal(byDigest.headers.get('docker-content-digest'), digest);

    for (const ref of ['v1', digest]) {
      for (const accept of [OCI_MANIFEST, `${DOCKER_MANIFEST}, ${OCI_MANIFEST}`, '*/*']) {
        const r = await get(`/v2/proto/manifests/${ref}`, { Accept: accept });
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), OCI_MANIFEST);
        assert.equal(r.headers.get('docker-content-digest'), digest);
        assert.deepEqual(r.body, bytes);
      }
      const h = await head(`/v2/proto/manifests/${ref}`, { Accept: OCI_MANIFEST });
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-length'), String(bytes.length));
      assert.equal(h.headers.get('docker-content-digest'), digest);
      assert.equal(h.body.length, 0);
    }
    // A client that only reads Docker manifests is sent the OCI one converted when it asks
    // by tag, as ECR does, and nothing when it asks by digest (ECR never converts those).
    const converted = await get('/v2/proto/manifests/v1', { Accept: DOCKER_MANIFEST });
    assert.equal(converted.status, 200);
    assert.equal(converted.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(converted.headers.get('docker-content-digest'), sha256Digest(converted.body));
    assertError(
      await get(`/v2/proto/manifests/${digest}`, { Accept: DOCKER_MANIFEST }),
      404,
      'MANIFEST_UNKNOWN',
    );
    // A digest reference that is not the manifest's digest is refused.
    const other = sha256Digest('not this manifest');
    assertError(await putManifest('proto', other, bytes), 400, 'DIGEST_INVALID');
    assertError(await get(`/v2/proto/manifests/${other}`), 404, 'MANIFEST_UNKNOWN');
    assertError(await get('/v2/proto/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
  });

  test('manifest pulls are counted in CloudWatch as AWS/ECR RepositoryPullCount', async () => {
    const ecr = new ECRClient(clientConfig(endpoint));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pulls' }));
    ecr.destroy();
    const { bytes } = await imageManifest('pulls');
    assert.equal((await putManifest('pulls', 'v1', bytes)).status, 201);
    for (let i = 0; i < 3; i++) {
      assert.equal((await get('/v2/pulls/manifests/v1', { Accept: OCI_MANIFEST })).status, 200);
    }
    const cw = new CloudWatchClient(clientConfig(endpoint));
    try {
      const deadline = Date.now() + 30_000;
      let sum = 0;
      while (sum < 3 && Date.now() < deadline) {
        const out = await cw.send(
          new GetMetricStatisticsCommand({
            Namespace: 'AWS/ECR',
            MetricName: 'RepositoryPullCount',
            Dimensions: [{ Name: 'RepositoryName', Value: 'pulls' }],
            StartTime: new Date(Date.now() - 10 * 60_000),
            EndTime: new Date(Date.now() + 60_000),
            Period: 60,
            Statistics: ['Sum'],
          }),
        );
        sum = (out.Datapoints ?? []).reduce((a, d) => a + (d.Sum ?? 0), 0);
        if (sum < 3) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(sum, 3);
    } finally {
      cw.destroy();
    }
  });

  test('a manifest naming a missing blob or child is MANIFEST_BLOB_UNKNOWN; nothing stored', async () => {
    const { bytes } = await imageManifest('proto');
    const manifest = JSON.parse(bytes.toString()) as { layers: Descriptor[] };
    const missing = descriptorOf(randomBytes(32), OCI_LAYER);
    manifest.layers.push(missing);
    const broken = Buffer.from(JSON.stringify(manifest));
    const r = await putManifest('proto', 'broken', broken);
    assertError(r, 404, 'MANIFEST_BLOB_UNKNOWN');
    assertError(await get('/v2/proto/manifests/broken'), 404, 'MANIFEST_UNKNOWN');
    assertError(await get(`/v2/proto/manifests/${sha256Digest(broken)}`), 404, 'MANIFEST_UNKNOWN');

    const child = await imageManifest('proto');
    assert.equal((await putManifest('proto', child.digest, child.bytes)).status, 201);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            ...descriptorOf(child.bytes, OCI_MANIFEST),
            platform: { architecture: 'amd64', os: 'linux' },
          },
          {
            ...descriptorOf(Buffer.from('{"not":"pushed"}'), OCI_MANIFEST),
            platform: { architecture: 'arm64', os: 'linux' },
          },
        ],
      }),
    );
    assertError(
      await putManifest('proto', 'index', index, OCI_INDEX),
      404,
      'MANIFEST_BLOB_UNKNOWN',
    );
    assertError(await get('/v2/proto/manifests/index'), 404, 'MANIFEST_UNKNOWN');
  });

  test('a manifest that is not JSON is MANIFEST_INVALID', async () => {
    for (const body of ['this is not json', '{"schemaVersion":2', '[]']) {
      assertError(
        await putManifest('proto', 'garbage', Buffer.from(body)),
        400,
        'MANIFEST_INVALID',
      );
    }
    assertError(await get('/v2/proto/manifests/garbage'), 404, 'MANIFEST_UNKNOWN');
  });

  test('a 100 MB manifest is refused quickly with SIZE_INVALID; nothing stored', async () => {
    const url = new URL('/v2/proto/manifests/huge', endpoint);
    for (const declareLength of [false, true]) {
      const started = Date.now();
      const r = await streamedCall(url, 'PUT', 100 * MB, {
        declareLength,
        headers: { 'Content-Type': OCI_MANIFEST },
      });
      assert.equal(r.status, 413, r.body.toString());
      const body = JSON.parse(r.body.toString()) as OciErrors;
      assert.equal(body.errors[0].code, 'SIZE_INVALID');
      assert.ok(r.sent < 64 * MB, `the server read ${r.sent} bytes before refusing`);
      // Refused early rather than after reading 100 MB (r.sent says so); the bound is only
      // against a hang, wide enough for a loaded machine.
      assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
    }
    assertError(await get('/v2/proto/manifests/huge'), 404, 'MANIFEST_UNKNOWN');
    // The server is fine afterwards.
    assert.equal((await get('/v2/')).status, 200);
  });

  test('path traversal in names and digests is refused, never a 500 or a file', async () => {
    const hex = 'a'.repeat(64);
    const cases: [string, string, number[], string[]][] = [
      ['GET', '/v2/../etc/manifests/x', [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN']],
      ['PUT', '/v2/../../x/manifests/latest', [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN']],
      // Dot segments are not resolved: the name is refused, not taken as `proto`.
      ['GET', '/v2/proto-tags/../proto/tags/list', [400], ['NAME_INVALID']],
      ['GET', '/v2/proto-tags/%2e%2e/proto/tags/list', [400], ['NAME_INVALID']],
      ['GET', `/v2/a/..%2F..%2Fx/blobs/sha256:${hex}`, [400], ['NAME_INVALID']],
      ['POST', '/v2/a/..%2F..%2Fx/blobs/uploads/', [400], ['NAME_INVALID']],
      ['GET', `/v2/%2e%2e/%2e%2e/x/blobs/sha256:${hex}`, [400], ['NAME_INVALID']],
      ['GET', `/v2/proto%2F..%2F..%2Fx/tags/list`, [400], ['NAME_INVALID']],
      ['GET', `/v2/team%2Fapp%00/tags/list`, [400], ['NAME_INVALID']],
      ['GET', '/v2/proto/blobs/sha256:../../x', [400, 404], ['NAME_INVALID', 'DIGEST_INVALID']],
      ['GET', '/v2/proto/blobs/sha256%3A..%2F..%2Fx', [400], ['DIGEST_INVALID']],
      ['GET', '/v2/proto/blobs/..%2F..%2F..%2Fetc%2Fpasswd', [400], ['DIGEST_INVALID']],
      ['GET', `/v2/proto/blobs/sha256:${hex.toUpperCase()}`, [400], ['DIGEST_INVALID']],
      ['GET', `/v2/proto/blobs/sha512:${'a'.repeat(128)}`, [400], ['DIGEST_INVALID']],
      ['DELETE', '/v2/proto/blobs/sha256%3A..%2F..%2Fx', [400], ['DIGEST_INVALID']],
      ['GET', '/v2/proto/manifests/sha256:..%2F..%2Fx', [400], ['DIGEST_INVALID']],
      ['GET', '/v2/proto/manifests/..%2F..%2Fetc', [400], ['TAG_INVALID']],
      ['PUT', '/v2/proto/manifests/..%2F..%2Fetc', [400], ['TAG_INVALID', 'MANIFEST_INVALID']],
      ['GET', '/v2/proto/referrers/sha256:..%2Fx', [400], ['DIGEST_INVALID']],
      ['GET', '/v2/proto/blobs/uploads/..%2F..%2Fx', [404], ['BLOB_UPLOAD_UNKNOWN']],
      ['PATCH', '/v2/proto/blobs/uploads/..%2F..%2Fx', [404], ['BLOB_UPLOAD_UNKNOWN']],
      [
        'PUT',
        `/v2/proto/blobs/uploads/..%2F..%2Fx?digest=sha256:${hex}`,
        [404],
        ['BLOB_UPLOAD_UNKNOWN'],
      ],
      ['POST', `/v2/proto/blobs/uploads/?digest=sha256%3A..%2F..%2Fx`, [400], ['DIGEST_INVALID']],
      [
        'POST',
        `/v2/proto-mount/blobs/uploads/?mount=sha256:..%2F..%2Fx&from=proto`,
        [400],
        ['DIGEST_INVALID'],
      ],
    ];
    for (const [method, path, statuses, codes] of cases) {
      const r = await rawCall(endpoint, method, path);
      const what = `${method} ${path}: ${r.status} ${r.body.toString()}`;
      assert.ok(statuses.includes(r.status), what);
      const body = JSON.parse(r.body.toString()) as OciErrors;
      assert.ok(codes.includes(body.errors[0].code), what);
      assert.deepEqual(Object.keys(body.errors[0]).sort(), ['code', 'detail', 'message'], what);
    }
    // Nothing appeared next to the state directory.
    assert.deepEqual(await readdir(work), ['state']);
  });

  test('tags list pages with n and last, linking the next page', async () => {
    const { bytes } = await imageManifest('proto-tags');
    const tags = ['a1', 'b2', 'c3', 'd4', 'e5'];
    for (const tag of tags) {
      assert.equal((await putManifest('proto-tags', tag, bytes)).status, 201);
    }
    const all = await get('/v2/proto-tags/tags/list');
    assert.equal(all.status, 200);
    assert.deepEqual(json(all), { name: 'proto-tags', tags });
    assert.equal(all.headers.get('link'), null);

    const pages: string[][] = [];
    let next: string | undefined = '/v2/proto-tags/tags/list?n=2';
    while (next !== undefined) {
      const page = await get(next);
      assert.equal(page.status, 200);
      pages.push(json<{ tags: string[] }>(page).tags);
      const link = page.headers.get('link');
      next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
      if (link !== null) assert.ok(next, `malformed Link ${link}`);
    }
    assert.deepEqual(pages, [['a1', 'b2'], ['c3', 'd4'], ['e5']]);

    const after = await get('/v2/proto-tags/tags/list?n=3&last=b2');
    assert.deepEqual(json<{ tags: string[] }>(after).tags, ['c3', 'd4', 'e5']);
    // Exactly the rest: no link to an empty page.
    assert.equal(after.headers.get('link'), null);
    assertError(await get('/v2/proto-tags/tags/list?n=-1'), 400, [
      'SIZE_INVALID',
      'PAGINATION_NUMBER_INVALID',
    ]);
  });

  test('_catalog lists repositories with paging', async () => {
    const all = await get('/v2/_catalog');
    assert.equal(all.status, 200);
    const names = json<{ repositories: string[] }>(all).repositories;
    for (const name of ['proto', 'proto-mount', 'proto-tags', 'team/app']) {
      assert.ok(names.includes(name), `${name} in ${names}`);
    }
    assert.deepEqual(names, [...names].sort());

    const seen: string[] = [];
    let next: string | undefined = '/v2/_catalog?n=1';
    while (next !== undefined) {
      const page = await get(next);
      assert.equal(page.status, 200);
      const repositories = json<{ repositories: string[] }>(page).repositories;
      assert.ok(repositories.length <= 1);
      seen.push(...repositories);
      const link = page.headers.get('link');
      next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    }
    assert.deepEqual(seen, names);
  });

  test('referrers: a manifest with a subject is listed, artifactType filters', async () => {
    const subject = await imageManifest('proto');
    assert.equal((await putManifest('proto', 'subject', subject.bytes)).status, 201);
    const empty = Buffer.from('{}');
    await pushBlob('proto', empty);
    const sbom = Buffer.from('{"sbom":true}');
    await pushBlob('proto', sbom);
    const artifactType = 'application/vnd.example.sbom.v1+json';
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: descriptorOf(empty, OCI_EMPTY),
        layers: [descriptorOf(sbom, 'application/json')],
        subject: descriptorOf(subject.bytes, OCI_MANIFEST),
        annotations: { 'org.example.kind': 'sbom' },
      }),
    );
    const pushed = await putManifest('proto', sha256Digest(artifact), artifact);
    assert.equal(pushed.status, 201, pushed.body.toString());
    assert.equal(pushed.headers.get('oci-subject'), subject.digest);

    const listed = await get(`/v2/proto/referrers/${subject.digest}`);
    assert.equal(listed.status, 200);
    assert.equal(listed.headers.get('content-type'), OCI_INDEX);
    const index = json<{ schemaVersion: number; mediaType: string; manifests: Descriptor[] }>(
      listed,
    );
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(index.manifests, [
      {
        mediaType: OCI_MANIFEST,
        digest: sha256Digest(artifact),
        size: artifact.length,
        artifactType,
        annotations: { 'org.example.kind': 'sbom' },
      },
    ]);

    const filtered = await get(
      `/v2/proto/referrers/${subject.digest}?artifactType=${encodeURIComponent(artifactType)}`,
    );
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.equal(json<{ manifests: Descriptor[] }>(filtered).manifests.length, 1);
    const none = await get(`/v2/proto/referrers/${subject.digest}?artifactType=text%2Fplain`);
    assert.equal(none.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(json<{ manifests: Descriptor[] }>(none).manifests, []);
    // A digest nothing refers to has an empty list, not an error.
    const nobody = await get(`/v2/proto/referrers/${sha256Digest('nobody')}`);
    assert.equal(nobody.status, 200);
    assert.deepEqual(json<{ manifests: Descriptor[] }>(nobody).manifests, []);

    // Deleting the artifact takes it off the list.
    assert.equal(
      (await call(endpoint, 'DELETE', `/v2/proto/manifests/${sha256Digest(artifact)}`)).status,
      202,
    );
    const after = await get(`/v2/proto/referrers/${subject.digest}`);
    assert.deepEqual(json<{ manifests: Descriptor[] }>(after).manifests, []);
  });

  test('an unknown repository is NAME_UNKNOWN, for reads and pushes alike', async () => {
    const digest = sha256Digest('x');
    assertError(await get('/v2/no-such-repo/tags/list'), 404, 'NAME_UNKNOWN');
    assertError(await get('/v2/no-such-repo/manifests/latest'), 404, 'NAME_UNKNOWN');
    assert.equal((await head(`/v2/no-such-repo/blobs/${digest}`)).status, 404);
    // ECR refuses pushes to a repository that does not exist.
    assertError(
      await call(endpoint, 'POST', '/v2/no-such-repo/blobs/uploads/'),
      404,
      'NAME_UNKNOWN',
    );
    assertError(
      await call(endpoint, 'POST', `/v2/no-such-repo/blobs/uploads/?digest=${digest}`, {
        body: 'x',
      }),
      404,
      'NAME_UNKNOWN',
    );
    const { bytes } = await imageManifest('proto');
    assertError(await putManifest('no-such-repo', 'v1', bytes), 404, 'NAME_UNKNOWN');
    assertError(await get('/v2/no-such-repo/manifests/v1'), 404, 'NAME_UNKNOWN');
  });

  test('DELETE of a manifest by digest removes it and its tags', async () => {
    const { bytes, digest } = await imageManifest('proto');
    assert.equal((await putManifest('proto', 'doomed', bytes)).status, 201);
    const deleted = await call(endpoint, 'DELETE', `/v2/proto/manifests/${digest}`);
    assert.equal(deleted.status, 202);
    assertError(await get(`/v2/proto/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
    assertError(await get('/v2/proto/manifests/doomed'), 404, 'MANIFEST_UNKNOWN');
    assertError(
      await call(endpoint, 'DELETE', `/v2/proto/manifests/${digest}`),
      404,
      'MANIFEST_UNKNOWN',
    );
  });

  test('an unsupported method on a known path is UNSUPPORTED 405', async () => {
    assertError(await call(endpoint, 'POST', '/v2/proto/manifests/v1'), 405, 'UNSUPPORTED');
    assertError(await call(endpoint, 'DELETE', '/v2/_catalog'), 405, 'UNSUPPORTED');
    assertError(await call(endpoint, 'PUT', '/v2/proto/tags/list'), 405, 'UNSUPPORTED');
  });

  test('an ECR-style Host header selects that account and region', async () => {
    const catalog = async (host: string): Promise<string[]> => {
      const r = await rawCall(endpoint, 'GET', '/v2/_catalog', {
        Authorization: AUTHORIZATION,
        Host: host,
      });
      assert.equal(r.status, 200, r.body.toString());
      return (JSON.parse(r.body.toString()) as { repositories: string[] }).repositories;
    };
    const { defaultAccount, defaultRegion } = server.config;
    const own = await catalog(`${defaultAccount}.dkr.ecr.${defaultRegion}.amazonaws.com`);
    assert.ok(own.includes('proto'));
    assert.deepEqual(await catalog(`111122223333.dkr.ecr.${defaultRegion}.amazonaws.com`), []);
    assert.deepEqual(await catalog(`${defaultAccount}.dkr.ecr.eu-west-3.amazonaws.com`), []);
  });
});

describe('ECR registry protocol in --auth strict', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth: 'strict' });
  });
  after(() => server?.stop());

  test('requests without a valid token are challenged before anything else', async () => {
    const forged = `Basic ${Buffer.from('AWS:not.a-token').toString('base64')}`;
    const attempts: Record<string, string>[] = [{}, { Authorization: forged }];
    for (const headers of attempts) {
      for (const path of ['/v2/', '/v2/_catalog', '/v2/proto/tags/list', '/v2/../x/manifests/y']) {
        const r = await rawCall(server.endpoint, 'GET', path, headers);
        assert.equal(r.status, 401, `${path}: ${r.body.toString()}`);
        assert.match(
          r.headers['www-authenticate'] ?? '',
          /^Basic realm="[^"]+",service="ecr\.amazonaws\.com"$/,
        );
        const body = JSON.parse(r.body.toString()) as OciErrors;
        assert.equal(body.errors[0].code, 'UNAUTHORIZED');
      }
    }
  });
});
