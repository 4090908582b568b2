/**
 * `stratus image build` through a real server: the Node.js 20 runtime image built from an
 * empty cache (mmdebstrap against Debian's mirror, npm's registry) and pushed into ECR;
 * skopeo and DescribeImages see it; its layers, pulled back with skopeo and unpacked, run
 * `node --version` (v20.x) and reach the SDK by `import` and `require` (chroot, no mounts);
 * a second build, through the CLI, is a cache hit with the same digest.
 *
 * Costs a cold build (~40 MB of .debs, ~43 MB of Node.js, the SDK from npm): skipped where
 * mmdebstrap or root are missing, or with STRATUS_SKIP_IMAGE_BUILD=1. The Python images
 * (another mmdebstrap each) only with STRATUS_TEST_PYTHON_IMAGES=1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { buildImage, type BuildResult } from '../src/images/build/builder.js';
import { createProgress } from '../src/images/build/progress.js';
import { hasTool, imageConfig, inspectImage, plainHttpFlags, skopeo } from './helpers/oci-image.js';
import { repoRoot } from './helpers/process.js';
import { CREDS } from './helpers/registry-http.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

function skipReason(): string | false {
  if (process.env.STRATUS_SKIP_IMAGE_BUILD === '1') return 'STRATUS_SKIP_IMAGE_BUILD=1';
  if (process.getuid?.() !== 0) return 'mmdebstrap and chroot need root';
  const missing = ['mmdebstrap', 'skopeo', 'npm', 'chroot'].filter((t) => !hasTool(t));
  return missing.length ? `${missing.join(', ')} not installed` : false;
}

function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Pulls `ref` with skopeo into a `dir:` copy and unpacks its layers in order into a rootfs. */
async function unpack(ref: string, work: string): Promise<string> {
  await mkdir(work, { recursive: true });
  const pulled = join(work, 'pulled');
  const copy = await skopeo([
    'copy',
    '--quiet',
    ...plainHttpFlags('copy'),
    '--src-creds',
    CREDS,
    `docker://${ref}`,
    `dir:${pulled}`,
  ]);
  assert.equal(copy.code, 0, copy.stderr);
  const manifest = JSON.parse(await readFile(join(pulled, 'manifest.json'), 'utf8')) as {
    layers: { digest: string }[];
  };
  const rootfs = join(work, 'rootfs');
  await mkdir(rootfs);
  for (const layer of manifest.layers) {
    const file = join(pulled, layer.digest.replace('sha256:', ''));
    const x = await run('tar', ['-xzf', file, '-C', rootfs, '--numeric-owner']);
    assert.equal(x.code, 0, x.stderr);
  }
  return rootfs;
}

/** Runs `args` chrooted in `rootfs` with the image's environment only. */
function inImage(rootfs: string, env: string[], args: string[]) {
  return run('chroot', [rootfs, '/usr/bin/env', '-i', ...env, ...args]);
}

const skip = skipReason();
const STRATUS = join(repoRoot(), 'bin', 'stratus.js');

describe('stratus image (no build)', () => {
  test('list names every recipe; a Python minor Debian lacks fails with its reason', async () => {
    const list = await run(process.execPath, [STRATUS, 'image', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^lambda-nodejs:20 +stratus\/lambda-nodejs:20 +\(nodejs20\.x: node v20\./m,
    );
    assert.match(list.stdout, /^debian:bookworm /m);
    const py = await run(process.execPath, [STRATUS, 'image', 'build', 'python3.12']);
    assert.equal(py.code, 1);
    assert.match(
      py.stderr,
      /python3\.12 cannot be built offline: no Debian suite .* ships Python 3\.12/,
    );
    const bad = await run(process.execPath, [STRATUS, 'image', 'frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Usage: stratus image build/);
  });
});

describe('stratus image build', { skip }, () => {
  let server: TestServer;
  let work: string;
  let cacheDir: string;
  let first: BuildResult;
  const lines: string[] = [];

  before(async () => {
    server = await startTestServer();
    work = await mkdtemp(join(tmpdir(), 'image-build-'));
    cacheDir = join(work, 'cache');
    first = await buildImage('nodejs20.x', {
      endpoint: server.endpoint,
      cacheDir,
      progress: createProgress((l) => lines.push(l)),
    });
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('builds from an empty cache with progress (step, bytes, elapsed) and pushes to ECR', async () => {
    assert.equal(first.cached, false);
    assert.equal(first.layersBuilt, 4);
    assert.equal(first.reference, `127.0.0.1:${server.port}/stratus/lambda-nodejs:20`);
    assert.match(
      first.repositoryUri ?? '',
      /^127\.0\.0\.1:\d+\/\d{12}\.dkr\.ecr\.us-east-1\/stratus\/lambda-nodejs$/,
    );
    assert.equal(first.push?.uploaded, 5); // config + 4 layers
    const text = lines.join('\n');
    assert.match(text, /layer Debian bookworm minbase: [\d.]+ MiB, [\d.]+ s/);
    assert.match(text, /layer Node\.js v20\.\d+\.\d+ .*: [\d.]+ MiB, [\d.]+ s/);
    assert.match(text, /mmdebstrap: I: /);
    assert.match(
      text,
      /push 127\.0\.0\.1:\d+\/stratus\/lambda-nodejs:20: 5 uploaded, .* MiB, [\d.]+ s/,
    );

    const ecr = new ECRClient(clientConfig(server.endpoint));
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'stratus/lambda-nodejs' }),
    );
    assert.deepEqual(
      described.imageDetails?.map((d) => [d.imageDigest, d.imageTags]),
      [[first.manifestDigest, ['20']]],
    );

    const inspected = await inspectImage(`docker://${first.reference}`, { creds: CREDS });
    assert.equal(inspected.Digest, first.manifestDigest);
    assert.deepEqual(
      inspected.Layers,
      first.layers.map((l) => l.digest),
    );
    const config = (await imageConfig(`docker://${first.reference}`, { creds: CREDS })) as {
      config: {
        Entrypoint: string[];
        Env: string[];
        WorkingDir: string;
        Labels: Record<string, string>;
      };
    };
    assert.deepEqual(config.config.Entrypoint, ['/lambda-entrypoint.sh']);
    assert.equal(config.config.WorkingDir, '/var/task');
    assert.ok(config.config.Env.includes('LAMBDA_TASK_ROOT=/var/task'));
    assert.match(config.config.Labels['dev.stratus.interpreter'], /^node v20\./);
  });

  test('its layers run node v20.x and reach the SDK by import and require', async () => {
    const rootfs = await unpack(first.reference, join(work, 'run'));
    const config = (await imageConfig(`docker://${first.reference}`, { creds: CREDS })) as {
      config: { Env: string[] };
    };
    const env = config.config.Env;
    const version = await inImage(rootfs, env, ['/var/lang/bin/node', '--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout.trim(), /^v20\.\d+\.\d+$/);

    await writeFile(
      join(rootfs, 'var/task/esm.mjs'),
      "import { STSClient } from '@aws-sdk/client-sts';\nconsole.log(typeof STSClient);\n",
    );
    await writeFile(
      join(rootfs, 'var/task/cjs.js'),
      "console.log(typeof require('@aws-sdk/client-s3').S3Client);\n",
    );
    for (const file of ['/var/task/esm.mjs', '/var/task/cjs.js']) {
      const r = await inImage(rootfs, env, ['/var/lang/bin/node', file]);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'function', file);
    }
    // The entrypoint hands the handler to Stratus's bootstrap, which needs a Runtime API.
    const bootstrap = await readFile(join(rootfs, 'var/runtime/bootstrap.cjs'), 'utf8');
    assert.match(bootstrap, /AWS_LAMBDA_RUNTIME_API/);
  });

  test('a second build (the CLI, same cache) hits the cache and gives the same digest', async () => {
    const r = await run(process.execPath, [
      STRATUS,
      'image',
      'build',
      'lambda-nodejs:20',
      '--endpoint',
      server.endpoint,
      '--cache',
      cacheDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${first.reference}@${first.manifestDigest}\n`);
    assert.match(r.stderr, new RegExp(`cache hit: ${first.manifestDigest}`));
    assert.match(r.stderr, /0 uploaded, 0 mounted, 5 present/);
  });

  test('debian:bookworm shares the base layer: mounted in ECR, not uploaded again', async () => {
    const debian = await buildImage('debian:bookworm', {
      endpoint: server.endpoint,
      cacheDir,
      progress: createProgress(() => {}),
    });
    assert.equal(debian.layers[0].digest, first.layers[0].digest);
    assert.equal(debian.layersBuilt, 0);
    assert.deepEqual(
      { uploaded: debian.push?.uploaded, mounted: debian.push?.mounted },
      { uploaded: 1, mounted: 1 }, // its own config; the base layer from lambda-nodejs
    );
  });
});

describe(
  'stratus image build (Python)',
  {
    skip:
      skip ||
      (process.env.STRATUS_TEST_PYTHON_IMAGES !== '1' && 'set STRATUS_TEST_PYTHON_IMAGES=1'),
  },
  () => {
    let server: TestServer;
    let work: string;

    before(async () => {
      server = await startTestServer();
      work = await mkdtemp(join(tmpdir(), 'image-build-py-'));
    });
    after(async () => {
      await server?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    for (const minor of ['3.11', '3.13', '3.14']) {
      test(`python${minor}: Debian's python3 ${minor}.x with boto3`, async () => {
        const built = await buildImage(`python${minor}`, {
          endpoint: server.endpoint,
          cacheDir: process.env.STRATUS_IMAGE_CACHE ?? join(work, 'cache'),
          progress: createProgress(() => {}),
        });
        assert.match(
          built.labels['dev.stratus.interpreter'],
          new RegExp(`^python ${minor.replace('.', '\\.')}\\.\\d+$`),
        );
        const rootfs = await unpack(built.reference, join(work, minor));
        const r = await inImage(
          rootfs,
          ['PATH=/var/lang/bin:/usr/bin:/bin'],
          [
            'python3',
            '-c',
            'import sys, boto3; print("%d.%d" % sys.version_info[:2], boto3.__name__)',
          ],
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), `${minor} boto3`);
      });
    }
  },
);
