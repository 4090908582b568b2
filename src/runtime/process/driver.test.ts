import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDriverConformance } from '../conformance.js';
import { runContainerConformance } from '../container-conformance.js';
import { ProcessDriver } from './driver.js';

runDriverConformance('process', new ProcessDriver());
// The host's own shell and tools stand in for busybox: the suite uses POSIX commands only
// where the driver has no isolation or limits.
runContainerConformance('process', () => new ProcessDriver(), {
  busyboxRoot: () => ({ kind: 'host' }),
});

test('process containers a killed server left are found by their record and destroyed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-process-reap-'));
  try {
    // A stand-in server: starts a container through the driver, prints its id, is killed.
    const driverUrl = new URL('./driver.js', import.meta.url).href;
    const script = `
      const { ProcessDriver } = await import(${JSON.stringify(driverUrl)});
      const d = new ProcessDriver({ stateDir: ${JSON.stringify(dir)} });
      const c = await d.create({ name: 'left', root: { kind: 'host' }, command: ['sh', '-c', 'echo $$ > ' + ${JSON.stringify(join(dir, 'pid'))} + '; exec sleep 600'],
        env: {}, network: { mode: 'host' }, labels: { case: 'reap' } },
        { onStdout() {}, onStderr() {} });
      await c.start();
      process.stdout.write(c.id + '\\n');
      setInterval(() => {}, 1 << 30);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const id = await new Promise<string>((resolve) =>
      child.stdout.on('data', (c: Buffer) => resolve(c.toString().trim())),
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const driver = new ProcessDriver({ stateDir: dir });
    const [left] = await driver.list({ case: 'reap' });
    assert.equal(left?.id, id);
    assert.equal(left.running, true);
    // The container's shell writes its pid as it starts; wait for it.
    let pid = 0;
    for (const until = Date.now() + 30_000; !pid && Date.now() < until;) {
      pid = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => '0'));
      if (!pid) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(existsSync(`/proc/${pid}`), 'the container outlived its server');
    await driver.destroy(id);
    const gone = () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z');
      } catch {
        return true;
      }
    };
    const end = Date.now() + 30_000;
    while (Date.now() < end && !gone()) await new Promise((r) => setTimeout(r, 20));
    assert.ok(gone(), `pid ${pid} killed`);
    assert.deepEqual(await driver.list({}), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
