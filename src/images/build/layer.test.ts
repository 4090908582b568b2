import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BuildCache, hashKey } from './cache.js';
import { parentDirs, storeEntries, walkDirectory } from './layer.js';
import { runtimeEntries } from './runtime-files.js';

let dir: string;
let cache: BuildCache;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layer-test-'));
  cache = await BuildCache.open(join(dir, 'cache'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function makeTree(root: string, mtime: Date): Promise<void> {
  await mkdir(join(root, 'b', 'c'), { recursive: true });
  await writeFile(join(root, 'b', 'c', 'file.txt'), 'hello');
  await writeFile(join(root, 'a.js'), 'module.exports = 1;\n', { mode: 0o755 });
  await symlink('b/c/file.txt', join(root, 'link'));
  for (const p of ['a.js', 'b/c/file.txt', 'b/c', 'b']) await utimes(join(root, p), mtime, mtime);
}

function layerOf(root: string) {
  return storeEntries(
    (async function* () {
      yield* parentDirs('var/runtime');
      yield* walkDirectory(root, 'var/runtime');
    })(),
    cache,
    'test',
  );
}

test('the same tree gives the same digests, whatever its mtimes', async () => {
  const one = join(dir, 'one');
  const two = join(dir, 'two');
  await makeTree(one, new Date('2020-05-05T00:00:00Z'));
  await makeTree(two, new Date('2025-09-09T00:00:00Z'));
  const a = await layerOf(one);
  const b = await layerOf(two);
  assert.equal(a.digest, b.digest);
  assert.equal(a.diffId, b.diffId);
  assert.ok(await cache.hasBlob(a.digest));
  // GNU tar reads it: sorted entries, root-owned, fixed mtime, the symlink kept.
  const listing = execFileSync('tar', ['-tzvf', cache.blobPath(a.digest)], { encoding: 'utf8' });
  const lines = listing.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(/\s+/).slice(5).join(' ')),
    [
      'var/',
      'var/runtime/',
      'var/runtime/a.js',
      'var/runtime/b/',
      'var/runtime/b/c/',
      'var/runtime/b/c/file.txt',
      'var/runtime/link -> b/c/file.txt',
    ],
  );
  for (const l of lines) {
    assert.match(l, /^\S+ root\/root|^\S+ 0\/0/);
    assert.match(l, /2024-01-01 00:00/);
  }
  assert.match(lines[2], /^-rwxr-xr-x/);
});

test('a changed file changes the digest', async () => {
  const three = join(dir, 'three');
  await makeTree(three, new Date());
  await writeFile(join(three, 'a.js'), 'module.exports = 2;\n', { mode: 0o755 });
  const before = await layerOf(join(dir, 'one'));
  const changed = await layerOf(three);
  assert.notEqual(changed.digest, before.digest);
});

test('the runtime layer is the same for every build, and its key follows the bootstrap', async () => {
  const a = await storeEntries(await runtimeEntries('node'), cache, 'rt');
  const b = await storeEntries(await runtimeEntries('node'), cache, 'rt');
  assert.equal(a.digest, b.digest);
  const python = await storeEntries(await runtimeEntries('python'), cache, 'rt');
  assert.notEqual(python.digest, a.digest);
  assert.equal(hashKey({ b: 1, a: [1, 2] }), hashKey({ a: [1, 2], b: 1 }));
});

test('no runtime layer names a path twice (Docker refuses such a layer)', async () => {
  for (const family of ['node', 'python', 'provided'] as const) {
    const names = [...(await runtimeEntries(family))].map((e) => e.name);
    assert.deepEqual(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      family,
    );
  }
});
