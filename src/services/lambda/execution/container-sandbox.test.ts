/**
 * Merged /opt directories of multi-layer functions: built once per set of layers (later
 * layers win), held while environments use them, removed once idle past the timeout, and
 * a previous run's left over removed by reap().
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessDriver } from '../../../runtime/process/driver.js';
import { ContainerSandbox } from './container-sandbox.js';
import { RuntimeImages } from './runtime-image.js';
import { runcSandboxNetwork } from './sandbox-network.js';

const work = await mkdtemp(join(tmpdir(), 'sandbox-layers-'));
after(() => rm(work, { recursive: true, force: true }));

async function layer(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

function sandbox(workDir: string): ContainerSandbox {
  return new ContainerSandbox({
    driver: new ProcessDriver(),
    network: runcSandboxNetwork(),
    images: new RuntimeImages({
      images: { resolve: () => Promise.reject(new Error('no images here')) },
      config: {
        defaultAccount: '000000000000',
        defaultRegion: 'us-east-1',
        rootAccessKeyId: 'test',
        rootSecretAccessKey: 'test',
      },
      endpoint: () => 'http://127.0.0.1:1',
    }),
    endpoint: () => 'http://127.0.0.1:1',
    workDir,
  });
}

test('merged /opt: later layers win, held while used, collected once idle', async () => {
  const a = await layer('a', { 'bin/tool': 'a', 'python/x.py': 'a' });
  const b = await layer('b', { 'bin/tool': 'b' });
  const workDir = join(work, 'sandbox');
  await mkdir(workDir);
  const s = sandbox(workDir);

  const single = await s.holdLayers([a]);
  assert.equal(single.dir, a, 'one layer is mounted as it is');

  const first = await s.holdLayers([a, b]);
  const second = await s.holdLayers([a, b]);
  assert.equal(first.dir, second.dir, 'one merge per set of layers');
  const dir = first.dir as string;
  assert.equal(readFileSync(join(dir, 'bin/tool'), 'utf8'), 'b');
  assert.equal(readFileSync(join(dir, 'python/x.py'), 'utf8'), 'a');

  const later = Date.now() + 60_000;
  first.release();
  await s.collectLayers(later, 1000);
  assert.ok(existsSync(dir), 'still held by the second environment');
  second.release();
  second.release(); // idempotent
  await s.collectLayers(Date.now(), 60_000);
  assert.ok(existsSync(dir), 'not idle long enough');
  await s.collectLayers(later, 1000);
  assert.equal(existsSync(dir), false, 'idle past the timeout: removed');
  assert.equal(s.mergedCount, 0);

  // Needed again: merged again.
  const again = await s.holdLayers([a, b]);
  assert.equal(readFileSync(join(again.dir as string, 'bin/tool'), 'utf8'), 'b');

  // A restart's reap removes what the previous run left.
  await s.reap();
  assert.deepEqual(
    (await readdir(workDir)).filter((n) => n.startsWith('opt-')),
    [],
  );
});
