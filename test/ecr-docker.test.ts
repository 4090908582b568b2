/**
 * `docker login`, `push` and `pull` against Stratus, where a Docker daemon is reachable.
 * 127.0.0.1:<port> is an insecure registry to docker without any daemon configuration.
 * The image is imported from a busybox-static rootfs tarball: nothing is downloaded.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { awsCli } from './helpers/clients.js';
import { BUSYBOX, hasTool } from './helpers/oci-image.js';
import { startTestServer, type TestServer } from './helpers/server.js';

function dockerUnavailable(): string | undefined {
  if (!hasTool('docker')) return 'no docker client on PATH';
  if (!hasTool(BUSYBOX)) return 'busybox-static is not installed';
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeout: 60_000, // a busy daemon on a loaded machine is slow, not absent
    encoding: 'utf8',
  });
  return info.status === 0 ? undefined : 'no Docker daemon is reachable (docker info failed)';
}

/** The client's own config dir: `docker login` stores its credentials there, not in ~/.docker. */
const dockerConfig = mkdtempSync(join(tmpdir(), 'ecr-docker-config-'));
process.once('exit', () => rmSync(dockerConfig, { recursive: true, force: true }));

function docker(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
    const child = execFile('docker', args, { timeout: 120_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const skip = dockerUnavailable();

describe('docker login, push and pull', { skip }, () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'ecr-docker-'));
  let registry: string;
  /** The repositoryUri ECR reports: docker pushes to it as it is. */
  let uri: string;
  const image = () => `${uri}:v1`;

  before(async () => {
    server = await startTestServer();
    registry = `127.0.0.1:${server.port}`;
    const created = await awsCli(server.endpoint, [
      'ecr',
      'create-repository',
      '--repository-name',
      'docker/app',
    ]);
    assert.equal(created.code, 0, created.stderr);
    uri = (JSON.parse(created.stdout) as { repository: { repositoryUri: string } }).repository
      .repositoryUri;
    assert.equal(uri, `${registry}/000000000000.dkr.ecr.us-east-1/docker/app`);
  });
  after(async () => {
    await docker(['rmi', '-f', image()]);
    await docker(['logout', registry]);
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  });

  test('get-login-password | docker login, then push and pull by the repositoryUri', async () => {
    const pw = await awsCli(server.endpoint, ['ecr', 'get-login-password']);
    assert.equal(pw.code, 0, pw.stderr);
    const login = await docker(
      ['login', '--username', 'AWS', '--password-stdin', registry],
      pw.stdout.trim(),
    );
    assert.equal(login.code, 0, login.out);
    assert.match(login.out, /Login Succeeded/);

    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
    const tar = join(dir, 'rootfs.tar');
    assert.equal(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status, 0);
    const imported = await docker(['import', tar, image()]);
    assert.equal(imported.code, 0, imported.out);

    const pushed = await docker(['push', image()]);
    assert.equal(pushed.code, 0, pushed.out);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.out)?.[1];
    assert.ok(digest, pushed.out);

    await docker(['rmi', '-f', image()]);
    const pulled = await docker(['pull', image()]);
    assert.equal(pulled.code, 0, pulled.out);
    assert.match(pulled.out, new RegExp(digest));

    const described = await awsCli(server.endpoint, [
      'ecr',
      'describe-images',
      '--repository-name',
      'docker/app',
    ]);
    const details = (JSON.parse(described.stdout) as { imageDetails: { imageDigest: string }[] })
      .imageDetails;
    assert.deepEqual(
      details.map((d) => d.imageDigest),
      [digest],
    );
  });
});
