import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerSpec } from '../container.js';
import { DEFAULT_PATH, buildOciSpec, mergeEnv, processArgs, resolveUser } from './bundle.js';

const spec = (extra: Partial<ContainerSpec>): ContainerSpec => ({
  name: 't',
  root: { kind: 'rootfs', path: '/' },
  env: {},
  network: { mode: 'none' },
  labels: {},
  ...extra,
});

test("entrypoint and command follow Docker's rules", () => {
  const image = { Entrypoint: ['/ep'], Cmd: ['cmd'] };
  assert.deepEqual(processArgs(spec({}), image), ['/ep', 'cmd']);
  assert.deepEqual(processArgs(spec({ command: ['x'] }), image), ['/ep', 'x']);
  assert.deepEqual(processArgs(spec({ entrypoint: ['/new'] }), image), ['/new']);
  assert.deepEqual(processArgs(spec({ entrypoint: ['/new'], command: ['y'] }), image), [
    '/new',
    'y',
  ]);
  // An empty entrypoint override clears the image's, and its Cmd with it.
  assert.throws(() => processArgs(spec({ entrypoint: [] }), image), /no command specified/);
  assert.throws(() => processArgs(spec({}), {}), /no command specified/);
});

test('the environment: the spec over the image, PATH and HOME by default', () => {
  assert.deepEqual(mergeEnv(['A=image', 'B=kept', 'C=x=y'], { A: 'spec' }, '/root'), [
    'A=spec',
    'B=kept',
    'C=x=y',
    `PATH=${DEFAULT_PATH}`,
    'HOME=/root',
  ]);
  assert.deepEqual(mergeEnv(['PATH=/bin'], { HOME: '/h' }, '/root'), ['PATH=/bin', 'HOME=/h']);
});

test('users by name or number, groups from /etc/group, the top layer first', () => {
  const root = mkdtempSync(join(tmpdir(), 'stratus-bundle-'));
  try {
    const top = join(root, 'top');
    const bottom = join(root, 'bottom');
    for (const d of [top, bottom]) mkdirSync(join(d, 'etc'), { recursive: true });
    writeFileSync(join(bottom, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(
      join(top, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n',
    );
    writeFileSync(join(top, 'etc/group'), 'root:x:0:\napp:x:1001:\nextra:x:2000:app\n');
    const roots = [top, bottom];
    assert.deepEqual(resolveUser(roots, 'app'), {
      uid: 1000,
      gid: 1001,
      additionalGids: [2000],
      home: '/home/app',
    });
    assert.equal(resolveUser(roots, '1000').home, '/home/app');
    assert.deepEqual(resolveUser(roots, '4321:extra'), {
      uid: 4321,
      gid: 2000,
      additionalGids: [],
      home: '/',
    });
    assert.equal(resolveUser(roots, undefined).uid, 0);
    assert.throws(() => resolveUser([bottom], 'app'), /unable to find user app/);
    assert.throws(() => resolveUser(roots, 'app:nogroup'), /unable to find group nogroup/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('no_new_privs unless the spec lets setuid programs (sudo) gain privileges', () => {
  const oci = (extra: Partial<ContainerSpec>) =>
    buildOciSpec({
      spec: spec({ command: ['true'], ...extra }),
      image: {},
      rootfs: '/',
      hostname: 't',
      cgroupsPath: 'stratus/t',
      etcFiles: { hosts: '/etc/hosts', resolvConf: '/etc/resolv.conf', hostname: '/etc/hostname' },
    }).process.noNewPrivileges;
  assert.equal(oci({}), true);
  assert.equal(oci({ allowPrivilegeEscalation: false }), true);
  assert.equal(oci({ allowPrivilegeEscalation: true }), false);
});
