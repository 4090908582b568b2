import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../cli.js';
import { Writable } from 'node:stream';
import { createLogger, type Logger, type LogLevel } from '../shared/log.js';
import { RuncDriver } from './runc/driver.js';
import { busyboxRootfs, runcSkipReason } from './runc/test-support.js';
import { openContainers, runcUnavailable, selectDriver } from './select.js';

/** A logger that keeps what it is told (the rest of Logger from a silent real one). */
function recorder(): Logger & { lines: [LogLevel, string][] } {
  const lines: [LogLevel, string][] = [];
  const log = (level: LogLevel, msg: string) => void lines.push([level, msg]);
  return {
    ...createLogger('error', 'json', new Writable({ write: (_c, _e, done) => done() })),
    lines,
    enabled: () => true,
    log,
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
  };
}

test('--driver and STRATUS_DRIVER choose the driver; anything else is refused', () => {
  assert.equal(parseCli([], {}).driver, 'auto');
  assert.equal(parseCli([], { STRATUS_DRIVER: 'process' }).driver, 'process');
  assert.equal(parseCli(['--driver', 'runc'], { STRATUS_DRIVER: 'process' }).driver, 'runc');
  assert.throws(() => parseCli(['--driver', 'crun'], {}), /--driver must be one of/);
  assert.throws(() => parseCli([], { STRATUS_DRIVER: 'lxc' }), /--driver must be one of/);
});

test('the process driver says once that isolation and memory limits are off', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-select-'));
  try {
    const log = recorder();
    const driver = await selectDriver({ choice: 'process', stateDir: dir, owner: dir, log });
    assert.equal(driver.name, 'process');
    const warnings = log.lines.filter(([l]) => l === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0][1], /no isolation, memory limits are not enforced/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('auto takes runc where it can run, and says why not otherwise', async () => {
  const why = await runcUnavailable();
  const log = recorder();
  const { driver, close } = await openContainers(
    { driver: 'auto', stateDir: '', ephemeral: true },
    log,
  );
  try {
    if (why === undefined) assert.equal(driver.name, 'runc');
    else assert.notEqual(driver.name, 'runc', why);
  } finally {
    await close();
  }
});

test('--driver runc where runc cannot run fails with the reason', async (t) => {
  const why = await runcUnavailable();
  if (why === undefined) return t.skip('runc runs here');
  await assert.rejects(
    selectDriver({ choice: 'runc', stateDir: tmpdir(), owner: 'x', log: recorder() }),
    new RegExp(`--driver runc: ${why}`),
  );
});

test('an ephemeral server takes down what a killed ephemeral server left', async (t) => {
  const why = runcSkipReason();
  if (why) return t.skip(why);
  // The pid of a process that has exited: the "killed server".
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  const dir = await mkdtemp(join(tmpdir(), `stratus-containers-${dead.stdout}-`));
  const work = await mkdtemp(join(tmpdir(), 'stratus-select-rootfs-'));
  try {
    const driver = new RuncDriver({ stateDir: join(dir, 'runc-driver'), owner: dir });
    const c = await driver.create(
      {
        name: 'left',
        root: { kind: 'rootfs', path: busyboxRootfs(join(work, 'busybox')) },
        command: ['/bin/sleep', '600'],
        env: {},
        network: { mode: 'none' },
        labels: {},
      },
      { onStdout: () => {}, onStderr: () => {} },
    );
    await c.start();
    assert.equal((await driver.list({})).filter((s) => s.running).length, 1);
    const { close } = await openContainers(
      { driver: 'runc', stateDir: '', ephemeral: true },
      recorder(),
    );
    await close();
    assert.equal((await c.wait()).code, 137);
    assert.ok(!existsSync(dir), `${dir} removed`);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
});
