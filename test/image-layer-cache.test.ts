/**
 * The layer cache and rootfs assembly: OCI whiteout semantics across three layers read
 * back from the assembled rootfs, as an overlay mount and as a copy; one unpack per layer
 * however many containers start at once; references and collection; a real busybox image
 * (built offline with umoci) assembled and run with chroot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createReadStream } from 'node:fs';
import type { ResolvedImage } from '../src/runtime/container.js';
import { LayerCache } from '../src/runtime/images/layer-cache.js';
import { probeOverlay } from '../src/runtime/images/overlay.js';
import { buildImage, imageToolsMissing } from './helpers/oci-image.js';
import {
  compress,
  dir,
  file,
  imageOf,
  opaque,
  symlink,
  tarOf,
  whiteout,
  type TestImage,
} from './helpers/layers.js';

const isRoot = process.getuid?.() === 0;

let work: string;
let sentinel: string;
let threeLayers: TestImage;
let overlayWorks = false;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'layer-cache-'));
  sentinel = join(work, 'sentinel');
  overlayWorks = await probeOverlay(join(work, 'probe'));
  const l1 = await tarOf([
    dir('etc'),
    file('etc/keep', 'keep'),
    file('etc/gone', 'gone'),
    dir('opq'),
    file('opq/old1'),
    dir('opq/sub'),
    file('opq/sub/old2'),
    file('fileToDir', 'a file'),
    dir('dirToFile'),
    file('dirToFile/inner'),
    symlink('link', sentinel),
    file('changed', 'v1'),
  ]);
  const l2 = await tarOf([
    dir('etc'),
    whiteout('etc', 'gone'),
    dir('opq'),
    opaque('opq'),
    file('opq/new', 'new in l2'),
    dir('fileToDir'),
    file('fileToDir/child', 'child'),
    file('dirToFile', 'now a file'),
    file('added', 'added in l2'),
    file('changed', 'v2'),
  ]);
  const l3 = await tarOf([
    whiteout('', 'added'),
    dir('etc'),
    file('etc/new3', 'new in l3'),
    dir('opq'),
    whiteout('opq', 'new'),
    // A directory where layer 1 has a symlink out: it replaces the link.
    dir('link'),
    file('link/x', 'not in the sentinel'),
  ]);
  threeLayers = imageOf([l1, l2, l3].map((t) => compress(t, 'gzip')));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function checkThreeLayers(root: string): void {
  assert.deepEqual(readdirSync(join(root, 'etc')).sort(), ['keep', 'new3']);
  assert.equal(readFileSync(join(root, 'etc', 'keep'), 'utf8'), 'keep');
  assert.deepEqual(readdirSync(join(root, 'opq')), [], 'opaque in l2, then l2 file deleted');
  assert.ok(lstatSync(join(root, 'fileToDir')).isDirectory());
  assert.equal(readFileSync(join(root, 'fileToDir', 'child'), 'utf8'), 'child');
  assert.ok(lstatSync(join(root, 'dirToFile')).isFile());
  assert.equal(readFileSync(join(root, 'dirToFile'), 'utf8'), 'now a file');
  assert.equal(existsSync(join(root, 'added')), false);
  assert.equal(readFileSync(join(root, 'changed'), 'utf8'), 'v2');
  assert.ok(lstatSync(join(root, 'link')).isDirectory());
  assert.equal(readFileSync(join(root, 'link', 'x'), 'utf8'), 'not in the sentinel');
  assert.equal(existsSync(sentinel), false, 'nothing written through the symlink');
  assert.deepEqual(
    readdirSync(root).sort(),
    ['changed', 'dirToFile', 'etc', 'fileToDir', 'link', 'opq'].sort(),
  );
}

for (const mode of ['overlay', 'copy'] as const) {
  describe(`rootfs as ${mode}`, () => {
    let cache: LayerCache;
    before(() => {
      cache = new LayerCache(join(work, `cache-${mode}`), {
        mode: mode === 'copy' ? 'copy' : 'auto',
      });
    });

    test('whiteouts and opaque directories across three layers', async (t) => {
      if (mode === 'overlay' && !overlayWorks) return t.skip('overlayfs not available');
      const container = join(work, `c-${mode}-1`);
      const rootfs = await cache.prepareRootfs(threeLayers, container);
      try {
        assert.equal(rootfs.mode, mode);
        checkThreeLayers(rootfs.path);
        // Writes go to the container's own layer, never to the cache.
        writeFileSync(join(rootfs.path, 'etc', 'keep'), 'changed in the container');
        writeFileSync(join(rootfs.path, 'written'), 'w');
        const other = await cache.prepareRootfs(threeLayers, join(work, `c-${mode}-2`));
        assert.equal(readFileSync(join(other.path, 'etc', 'keep'), 'utf8'), 'keep');
        assert.equal(existsSync(join(other.path, 'written')), false);
        await other.release();
      } finally {
        await rootfs.release();
      }
      assert.equal(existsSync(join(container, 'rootfs')), false);
      assert.equal(existsSync(join(container, 'upper')), false);
      const mounts = readFileSync('/proc/self/mounts', 'utf8');
      assert.equal(mounts.includes(container), false, 'unmounted');
    });

    test('containers starting at once unpack each layer once; collect frees unused', async (t) => {
      if (mode === 'overlay' && !overlayWorks) return t.skip('overlayfs not available');
      const fresh = new LayerCache(join(work, `cache-${mode}-concurrent`), {
        mode: mode === 'copy' ? 'copy' : 'auto',
      });
      const image = imageOf(
        await Promise.all(
          [0, 1, 2].map(async (i) => compress(await tarOf([file(`f${i}`)]), 'gzip')),
        ),
      );
      const started = await Promise.all(
        [0, 1, 2, 3].map((i) => fresh.prepareRootfs(image, join(work, `conc-${mode}-${i}`))),
      );
      for (const layer of image.layers) assert.equal(image.opened.get(layer.digest), 1);
      for (const r of started) assert.deepEqual(readdirSync(r.path).sort(), ['f0', 'f1', 'f2']);

      const all = image.layers.map((l) => l.digest).sort();
      assert.deepEqual((await fresh.cached()).sort(), all);
      assert.deepEqual(await fresh.collect([]), [], 'in use: nothing collected');
      for (const r of started.slice(0, 3)) await r.release();
      assert.deepEqual(await fresh.collect([]), [], 'one rootfs still uses them');
      await started[3].release();
      assert.deepEqual(await fresh.collect([all[0]]), all.slice(1).sort(), 'keep is kept');
      assert.deepEqual(await fresh.cached(), [all[0]]);
      // A collected layer is unpacked again when next needed.
      const again = await fresh.prepareRootfs(image, join(work, `conc-${mode}-again`));
      assert.deepEqual(readdirSync(again.path).sort(), ['f0', 'f1', 'f2']);
      // collectIdle: nothing while in use or recently used; everything once idle long enough.
      assert.deepEqual(await fresh.collectIdle(0), [], 'in use');
      await again.release();
      assert.deepEqual(await fresh.collectIdle(60_000), [], 'used a moment ago');
      const later = Date.now() + 120_000;
      assert.deepEqual((await fresh.collectIdle(60_000, later)).sort(), all);
      assert.deepEqual(await fresh.cached(), []);
    });

    test('a hostile layer is refused; nothing is cached or mounted for it', async () => {
      const hostile = imageOf([
        compress(await tarOf([file('fine')]), 'gzip'),
        compress(await tarOf([symlink('esc', work), file('esc/pwned', 'x')]), 'gzip'),
      ]);
      const container = join(work, `hostile-${mode}`);
      await assert.rejects(cache.prepareRootfs(hostile, container), /layer refused.*symlink/);
      assert.equal(existsSync(join(work, 'pwned')), false);
      assert.equal(existsSync(join(container, 'rootfs')), false);
      assert.ok(!(await cache.cached()).includes(hostile.layers[1].digest));
    });

    test('an image of 150 layers (past the one-page limit of absolute lowerdir paths)', async () => {
      const many = imageOf(
        await Promise.all(
          Array.from({ length: 150 }, async (_, i) =>
            compress(await tarOf([file(`layer-${i}`, String(i)), file('top', String(i))]), 'gzip'),
          ),
        ),
      );
      const r = await cache.prepareRootfs(many, join(work, `many-${mode}`));
      try {
        assert.equal(readdirSync(r.path).length, 151);
        assert.equal(readFileSync(join(r.path, 'top'), 'utf8'), '149', 'the top layer wins');
        assert.equal(readFileSync(join(r.path, 'layer-0'), 'utf8'), '0');
      } finally {
        await r.release();
      }
    });

    test('a container directory left by a crash is discarded', async (t) => {
      if (mode === 'overlay' && !overlayWorks) return t.skip('overlayfs not available');
      const container = join(work, `crashed-${mode}`);
      // Prepared and never released, as a killed Stratus leaves it.
      const left = await cache.prepareRootfs(threeLayers, container);
      await LayerCache.discard(container);
      assert.equal(existsSync(left.path), false);
      assert.equal(readFileSync('/proc/self/mounts', 'utf8').includes(container), false);
    });

    test('zstd and uncompressed layers', async () => {
      const mixed: ResolvedImage = {
        ...imageOf([
          compress(await tarOf([file('a', 'zstd')]), 'zstd'),
          compress(await tarOf([file('b', 'plain')]), 'none'),
        ]),
      };
      const r = await cache.prepareRootfs(mixed, join(work, `mixed-${mode}`));
      try {
        assert.equal(readFileSync(join(r.path, 'a'), 'utf8'), 'zstd');
        // No `./` entry in these layers: `/` is still root's 0755, not the cache's 0700.
        assert.equal(statSync(r.path).mode & 0o7777, 0o755);
        assert.equal(readFileSync(join(r.path, 'b'), 'utf8'), 'plain');
      } finally {
        await r.release();
      }
    });
  });
}

describe('a busybox image built offline', { skip: imageToolsMissing() }, () => {
  test('assembles into a rootfs that runs under chroot', async (t) => {
    const built = await buildImage(join(work, 'busybox'), { tag: 'v1', randomLayerBytes: 4096 });
    const layoutBlob = (digest: string) =>
      join(built.layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
    const manifest = JSON.parse(await readFile(layoutBlob(built.digest), 'utf8')) as {
      layers: { digest: string; mediaType: string; size: number }[];
    };
    const image: ResolvedImage = {
      ...imageOf([]),
      layers: manifest.layers,
      openLayer: async (digest) => createReadStream(layoutBlob(digest)) as Readable,
    };
    const cache = new LayerCache(join(work, 'cache-busybox'));
    const r = await cache.prepareRootfs(image, join(work, 'busybox-container'));
    try {
      assert.equal(readlinkSync(join(r.path, 'bin', 'sh')), 'busybox');
      assert.equal(readFileSync(join(r.path, 'etc', 'platform'), 'utf8'), 'linux/amd64\n');
      assert.equal(lstatSync(join(r.path, 'random.bin')).size, 4096);
      if (!isRoot) return t.skip('chroot needs root');
      const run = spawnSync('chroot', [
        r.path,
        '/bin/sh',
        '-c',
        'echo hello from $(cat /etc/platform)',
      ]);
      assert.equal(run.stdout.toString(), 'hello from linux/amd64\n', run.stderr.toString());
    } finally {
      await r.release();
    }
  });
});
