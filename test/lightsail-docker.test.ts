/**
 * Lightsail instances on the Docker driver (`--driver docker`), through the AWS CLI v2,
 * ssh and curl: the instance's public IP is 127.0.0.1 and its open ports are published
 * there, the host ports in its networking details (each port's commonName); ssh -p and
 * curl work with them; closing port 80 unpublishes it and reopening publishes it again,
 * and files written over ssh survive that, a stop and start, and a kill -9 of Stratus (the
 * next start on the same state directory boots the instance again). The login user has
 * passwordless sudo. One server process (two after the kill), one nginx instance.
 * Skipped where no Docker daemon answers or the blueprint image cannot be built.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IMAGE_CACHE,
  curl,
  lightsail,
  lightsailSkipReason,
  ssh,
  until,
  waitState,
} from './helpers/lightsail.js';
import { DockerDriver } from '../src/runtime/docker/driver.js';
import { OWNER_LABEL } from '../src/runtime/container.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const skip = await lightsailSkipReason('nginx', 'docker');
if (skip) console.log(`# skipped: ${skip}`);

interface PortInfo {
  fromPort: number;
  protocol: string;
  commonName: string;
}

describe('Lightsail instances (docker, AWS CLI v2, ssh -p, curl)', { skip: skip ?? false }, () => {
  let server: ServerProcess | undefined;
  let ep: string;
  let work: string;
  let state: string;
  let key: string;
  const env = { STRATUS_DRIVER: 'docker', STRATUS_IMAGE_CACHE: IMAGE_CACHE };

  /** The loopback host:port the instance's port is published at, once it is. */
  async function published(port: number): Promise<string> {
    return until(`port ${port} to be published`, async () => {
      const inst = (await lightsail(ep, ['get-instance', '--instance-name', 'box'])).instance as {
        publicIpAddress?: string;
        networking: { ports: PortInfo[] };
      };
      const info = inst.networking.ports.find((p) => p.fromPort === port && p.protocol === 'tcp');
      const at = /^127\.0\.0\.1:(\d+)$/.exec(info?.commonName ?? '');
      return inst.publicIpAddress === '127.0.0.1' && at ? at[0] : undefined;
    });
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'stratus-lightsail-docker-'));
    state = join(work, 'state');
    server = await spawnServer(['--state-dir', state], env);
    ep = server.endpoint;
  });

  after(async () => {
    await lightsail(ep, ['delete-instance', '--instance-name', 'box']).catch(() => undefined);
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    // A failed run may leave the instance's container behind: take it down as the next
    // server's reaper would (the server labels its containers with its state directory).
    const driver = new DockerDriver({ owner: state });
    for (const c of await driver.list({ [OWNER_LABEL]: state }).catch(() => []))
      await driver.destroy(c.id).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  test('ssh -p and curl reach the ports published on 127.0.0.1', { timeout: 600_000 }, async () => {
    const pair = await lightsail(ep, ['create-key-pair', '--key-pair-name', 'dockerkey']);
    key = join(work, 'dockerkey.pem');
    writeFileSync(key, pair.privateKeyBase64 as string, { mode: 0o600 });
    await lightsail(ep, [
      'create-instances',
      '--instance-names',
      'box',
      '--availability-zone',
      'us-east-1a',
      '--blueprint-id',
      'nginx',
      '--bundle-id',
      'nano_3_0',
      '--key-pair-name',
      'dockerkey',
    ]);
    await waitState(ep, 'box', 'running');
    const access = (await lightsail(ep, ['get-instance-access-details', '--instance-name', 'box']))
      .accessDetails as { username: string; ipAddress: string };
    assert.equal(access.ipAddress, '127.0.0.1');
    const sshAt = Number((await published(22)).split(':')[1]);
    const uname = await until('ssh to answer', async () => {
      const r = await ssh(key, access.username, access.ipAddress, 'uname -a', sshAt);
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.match(uname, /^Linux /);
    const w = await ssh(key, access.username, '127.0.0.1', 'echo kept > ~/note', sshAt);
    assert.equal(w.code, 0, w.stderr);
    // The login user has passwordless sudo, as on AWS.
    const root = await ssh(key, access.username, '127.0.0.1', 'sudo -n id -un', sshAt);
    assert.equal(root.stdout.trim(), 'root', root.stderr);
    const web = await published(80);
    assert.match(await until('nginx to answer', () => curl(web)), /Welcome to nginx/);
  });

  test(
    'closing port 80 unpublishes it; reopening publishes it again',
    { timeout: 600_000 },
    async () => {
      const web = await published(80);
      await lightsail(ep, [
        'close-instance-public-ports',
        '--instance-name',
        'box',
        '--port-info',
        'fromPort=80,toPort=80,protocol=tcp',
      ]);
      await until('port 80 to close', async () =>
        (await curl(web)) === undefined ? true : undefined,
      );
      await lightsail(ep, [
        'open-instance-public-ports',
        '--instance-name',
        'box',
        '--port-info',
        'fromPort=80,toPort=80,protocol=tcp',
      ]);
      const again = await published(80);
      assert.match(await until('port 80 to open', () => curl(again)), /nginx/);
      // The container was made again with the new ports; the instance's files stayed.
      const sshAt = Number((await published(22)).split(':')[1]);
      const note = await until('ssh after the port change', async () => {
        const r = await ssh(key, 'bitnami', '127.0.0.1', 'cat ~/note', sshAt);
        return r.code === 0 ? r.stdout : undefined;
      });
      assert.equal(note, 'kept\n');
    },
  );

  test(
    'stop and start keep the files and the published host ports',
    { timeout: 600_000 },
    async () => {
      const before = await published(22);
      await lightsail(ep, ['stop-instance', '--instance-name', 'box']);
      await waitState(ep, 'box', 'stopped');
      await lightsail(ep, ['start-instance', '--instance-name', 'box']);
      await waitState(ep, 'box', 'running');
      const afterStart = await published(22);
      assert.equal(afterStart, before);
      const note = await until('ssh after start', async () => {
        const r = await ssh(
          key,
          'bitnami',
          '127.0.0.1',
          'cat ~/note',
          Number(afterStart.split(':')[1]),
        );
        return r.code === 0 ? r.stdout : undefined;
      });
      assert.equal(note, 'kept\n');
    },
  );

  test(
    'kill -9 of Stratus: the instance comes back running, same host ports, its files',
    { timeout: 600_000 },
    async () => {
      assert.ok(server);
      const before = await published(22);
      server.child.kill('SIGKILL');
      await server.exited;
      server = undefined;
      server = await spawnServer(['--state-dir', state], env);
      ep = server.endpoint;
      await waitState(ep, 'box', 'running');
      const afterRestart = await published(22);
      assert.equal(afterRestart, before);
      const sshAt = Number(afterRestart.split(':')[1]);
      const note = await until('ssh after the restart', async () => {
        const r = await ssh(key, 'bitnami', '127.0.0.1', 'cat ~/note', sshAt);
        return r.code === 0 ? r.stdout : undefined;
      });
      assert.equal(note, 'kept\n');
      // One container for the instance: the dead run's was reaped or taken over.
      const driver = new DockerDriver({ owner: state });
      await until('one container for the instance', async () =>
        (await driver.list({ [OWNER_LABEL]: state })).length === 1 ? true : undefined,
      );
      const web = await published(80);
      assert.match(await until('nginx after the restart', () => curl(web)), /Welcome to nginx/);
    },
  );
});
