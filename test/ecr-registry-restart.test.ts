/**
 * Registry uploads across a `kill -9` of the server: a chunked upload resumes where the
 * disk says it stands, and a large PATCH cut off midway leaves no partial blob.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  buildImage,
  copyImage,
  imageToolsMissing,
  inspectImage,
  sha256Digest,
} from './helpers/oci-image.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { AUTHORIZATION, MB, assertError, call } from './helpers/registry-http.js';
import { clientConfig } from './helpers/server.js';

describe('ECR registry uploads across a kill -9', () => {
  let state: string;
  let server: ServerProcess | undefined;
  const REPO = 'resumable';

  async function start(): Promise<ServerProcess> {
    server = await spawnServer(['--state-dir', state]);
    return server;
  }

  async function crash(): Promise<void> {
    const running = server;
    server = undefined;
    if (!running) return;
    running.child.kill('SIGKILL');
    await running.exited;
  }

  async function uploadSize(endpoint: string, upload: URL): Promise<number> {
    const r = await call(endpoint, 'GET', upload.pathname);
    assert.equal(r.status, 204, r.body.toString());
    const range = /^0-(\d+)$/.exec(r.headers.get('range') ?? '');
    assert.ok(range, `Range ${r.headers.get('range')}`);
    const last = Number(range[1]);
    return last === 0 ? 0 : last + 1;
  }

  before(async () => {
    state = await mkdtemp(join(tmpdir(), 'ecr-restart-'));
  });

  after(async () => {
    await crash();
    if (state) await rm(state, { recursive: true, force: true });
  });

  test('a chunked upload resumes after the server was killed', async () => {
    const first = await start();
    const ecr = new ECRClient(clientConfig(first.endpoint));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: REPO }));
    ecr.destroy();

    const bytes = randomBytes(2 * MB);
    const half = MB;
    const digest = sha256Digest(bytes);
    const started = await call(first.endpoint, 'POST', `/v2/${REPO}/blobs/uploads/`);
    assert.equal(started.status, 202);
    const upload = new URL(started.headers.get('location') ?? '', first.endpoint);
    const patched = await call(first.endpoint, 'PATCH', upload.pathname, {
      body: bytes.subarray(0, half),
      headers: { 'Content-Range': `0-${half - 1}` },
    });
    assert.equal(patched.status, 202);
    await crash();

    const second = await start();
    assert.equal(await uploadSize(second.endpoint, upload), half);
    const rest = await call(second.endpoint, 'PATCH', upload.pathname, {
      body: bytes.subarray(half),
      headers: { 'Content-Range': `${half}-${bytes.length - 1}` },
    });
    assert.equal(rest.status, 202, rest.body.toString());
    const url = new URL(upload);
    url.searchParams.set('digest', digest);
    const put = await call(second.endpoint, 'PUT', url.pathname + url.search);
    assert.equal(put.status, 201, put.body.toString());
    const blob = await call(second.endpoint, 'GET', `/v2/${REPO}/blobs/${digest}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.headers.get('docker-content-digest'), digest);
    assert.equal(sha256Digest(blob.body), digest);
  });

  test('kill -9 during a large streamed PATCH leaves no partial blob; a push then completes', async (t) => {
    const running = server ?? (await start());
    const started = await call(running.endpoint, 'POST', `/v2/${REPO}/blobs/uploads/`);
    assert.equal(started.status, 202);
    const upload = new URL(started.headers.get('location') ?? '', running.endpoint);

    // 200 MB of one repeated random MB, written at most a MB every few ms so that the
    // kill lands while the body is still streaming.
    const chunk = randomBytes(MB);
    const total = 200;
    const fullHash = createHash('sha256');
    for (let i = 0; i < total; i++) fullHash.update(chunk);
    const fullDigest = `sha256:${fullHash.digest('hex')}`;

    let failed = false;
    const req = request(new URL(upload.pathname, running.endpoint), {
      method: 'PATCH',
      headers: { Authorization: AUTHORIZATION, 'Content-Type': 'application/octet-stream' },
    });
    req.on('error', () => (failed = true));
    req.on('response', (res) => res.resume());
    const pumping = (async () => {
      for (let i = 0; i < total && !failed; i++) {
        if (!req.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              req.off('drain', done).off('close', done);
              resolve();
            };
            req.on('drain', done).on('close', done);
          });
        }
        await delay(5);
      }
      if (!failed) req.end();
    })();

    const threshold = 24 * MB;
    for (let i = 0; ; i++) {
      assert.ok(i < 500, 'the upload never reached the threshold');
      if ((await uploadSize(running.endpoint, upload)) >= threshold) break;
      await delay(20);
    }
    await crash();
    await pumping;
    req.destroy();
    assert.ok(failed, 'the request was cut off by the kill');

    const restarted = await start();
    const received = await uploadSize(restarted.endpoint, upload);
    assert.ok(received > 0 && received < total * MB, `the upload holds ${received} bytes`);
    const prefix = createHash('sha256');
    for (let left = received; left > 0; left -= MB)
      prefix.update(chunk.subarray(0, Math.min(MB, left)));
    const prefixDigest = `sha256:${prefix.digest('hex')}`;
    for (const digest of [fullDigest, prefixDigest]) {
      const h = await call(restarted.endpoint, 'HEAD', `/v2/${REPO}/blobs/${digest}`);
      assert.equal(h.status, 404, `${digest} is not a blob`);
    }
    // Completing the cut-off upload as the full blob fails the digest check.
    const url = new URL(upload);
    url.searchParams.set('digest', fullDigest);
    assertError(
      await call(restarted.endpoint, 'PUT', url.pathname + url.search),
      400,
      'DIGEST_INVALID',
    );
    assert.equal(
      (await call(restarted.endpoint, 'HEAD', `/v2/${REPO}/blobs/${fullDigest}`)).status,
      404,
    );

    const missing = imageToolsMissing();
    if (missing) return t.skip(missing);
    const work = await mkdtemp(join(tmpdir(), 'ecr-restart-image-'));
    try {
      const image = await buildImage(join(work, 'image'), {
        tag: 'big',
        randomLayerBytes: 32 * MB,
        seed: 'ecr-restart',
      });
      const target = `docker://127.0.0.1:${new URL(restarted.endpoint).port}/${REPO}:big`;
      await copyImage(image.ref, target, { destCreds: 'AWS:password' });
      const there = await inspectImage(target, { creds: 'AWS:password' });
      assert.equal(there.Digest, image.digest);
      assert.deepEqual(there.Layers, (await inspectImage(image.ref)).Layers);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
