/**
 * kill -9 of Stratus with a Lightsail instance running (`--driver runc`, a real server
 * process on a state directory): the next start boots it again on its own disk and
 * address, so it is `running` with the same IP, answers ssh with the same key, and keeps
 * the files written before the kill. Its containers from the dead run are reaped, and
 * deleting the instance at the end leaves no network namespace behind.
 * Skipped where runc cannot run or the blueprint image cannot be built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IMAGE_CACHE,
  lightsail,
  lightsailSkipReason,
  ssh,
  until,
  waitState,
} from './helpers/lightsail.js';
import { RuncDriver } from '../src/runtime/runc/driver.js';
import { addressesOf } from '../src/runtime/runc/network.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const skip = await lightsailSkipReason('debian_12');
if (skip) console.log(`# skipped: ${skip}`);

test(
  'kill -9 of Stratus: a running instance comes back with its state, address and files',
  { skip: skip ?? false, timeout: 900_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'stratus-lightsail-restart-'));
    const state = join(work, 'state');
    const env = { STRATUS_DRIVER: 'runc', STRATUS_IMAGE_CACHE: IMAGE_CACHE };
    let server: ServerProcess | undefined;
    try {
      server = await spawnServer(['--state-dir', state], env);
      let ep = server.endpoint;
      const pair = await lightsail(ep, ['create-key-pair', '--key-pair-name', 'kk']);
      const key = join(work, 'kk.pem');
      writeFileSync(key, pair.privateKeyBase64 as string, { mode: 0o600 });
      await lightsail(ep, [
        'create-instances',
        '--instance-names',
        'box',
        '--availability-zone',
        'us-east-1a',
        '--blueprint-id',
        'debian_12',
        '--bundle-id',
        'micro_3_0',
        '--key-pair-name',
        'kk',
      ]);
      await waitState(ep, 'box', 'running');
      const access = (
        await lightsail(ep, ['get-instance-access-details', '--instance-name', 'box'])
      ).accessDetails as { username: string; ipAddress: string };
      assert.equal(access.username, 'admin');
      const ip = access.ipAddress;
      await until('ssh', async () =>
        (await ssh(key, 'admin', ip, 'echo before-kill > ~/f && sync')).code === 0
          ? true
          : undefined,
      );

      server.child.kill('SIGKILL');
      await server.exited;
      server = await spawnServer(['--state-dir', state], env);
      ep = server.endpoint;
      await waitState(ep, 'box', 'running');
      const after = (await lightsail(ep, ['get-instance', '--instance-name', 'box'])).instance as {
        publicIpAddress: string;
      };
      assert.equal(after.publicIpAddress, ip);
      const r = await until('ssh after the restart', async () => {
        const x = await ssh(key, 'admin', ip, 'cat ~/f');
        return x.code === 0 ? x.stdout : undefined;
      });
      assert.equal(r.trim(), 'before-kill');

      await lightsail(ep, ['delete-instance', '--instance-name', 'box']);
      await until('the instance to go', async () => {
        const out = await lightsail(ep, ['get-instances']);
        return (out.instances as unknown[]).length === 0 ? true : undefined;
      });
      // Its network namespace and address are gone with it.
      await until('its address to be free', async () =>
        existsSync(join('/run/stratus/ipam', ip)) ? undefined : true,
      );
    } finally {
      if (server) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      // A failed run may leave containers, held addresses and overlays behind: take them
      // down as the next server's reaper would.
      const driver = new RuncDriver({
        stateDir: join(state, 'containers', 'runc-driver'),
        owner: state,
      });
      for (const c of await driver.list({})) await driver.destroy(c.id).catch(() => undefined);
      for (const [holder, ip] of await addressesOf(`${state}#held`))
        await driver.addresses.release(ip, holder);
      // A failed run may leave an instance's overlay mounted under the state directory.
      execFileSync('sh', [
        '-c',
        `awk '{print $5}' /proc/self/mountinfo | grep '^${work}/' | sort -r | xargs -r -n1 umount -l`,
      ]);
      rmSync(work, { recursive: true, force: true });
    }
  },
);
