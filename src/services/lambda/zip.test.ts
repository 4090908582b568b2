import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { AwsError } from '../../shared/errors.js';
import { createZip } from '../../../test/helpers/zip-writer.js';
import { DEFAULT_LIMITS, UNZIP_FAILED, extractZip, linkStaysInside, listEntries } from './zip.js';

let root: string;
let n = 0;
const fresh = async () => {
  const dir = join(root, `x${n++}`);
  await mkdir(dir);
  return dir;
};

/** Extraction must fail with InvalidParameterValueException and leave `dest` empty. */
async function refused(zip: Buffer, pattern: RegExp, limits = DEFAULT_LIMITS): Promise<void> {
  const dest = await fresh();
  await assert.rejects(extractZip(zip, dest, limits), (err: unknown) => {
    assert.ok(err instanceof AwsError, String(err));
    assert.equal(err.code, 'InvalidParameterValueException');
    assert.equal(err.status, 400);
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual(await readdir(dest), []);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'stratus-zip-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('extractZip', () => {
  test('extracts files, directories, modes and in-tree links', async () => {
    const big = 'console.log("hello");\n'.repeat(200);
    const zip = createZip([
      { name: 'bootstrap', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { name: 'lib/', mode: 0o755 },
      { name: 'lib/deep/index.js', data: big },
      { name: 'lib/stored.txt', data: 'plain', method: 'store' },
      { name: 'current', symlink: 'lib/deep' },
      { name: 'lib/deep/up', symlink: '../stored.txt' },
    ]);
    const dest = await fresh();
    const result = await extractZip(zip, dest);
    assert.equal(result.files, 3);
    assert.equal(await readFile(join(dest, 'lib/deep/index.js'), 'utf8'), big);
    assert.equal(await readFile(join(dest, 'lib/stored.txt'), 'utf8'), 'plain');
    assert.equal((await stat(join(dest, 'bootstrap'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(dest, 'lib/stored.txt'))).mode & 0o111, 0);
    assert.equal(await readlink(join(dest, 'current')), 'lib/deep');
    assert.ok((await lstat(join(dest, 'current'))).isSymbolicLink());
    assert.equal(await readFile(join(dest, 'current/up'), 'utf8'), 'plain');
  });

  test('refuses ../ entries, absolute paths and backslash variants (zip slip)', async () => {
    for (const name of [
      '../evil.js',
      'a/../../evil.js',
      '/tmp/evil.js',
      '..\\..\\evil.js',
      'C:\\evil.js',
      'a\\..\\..\\b',
    ]) {
      await refused(
        createZip([
          { name: 'ok.js', data: 'x' },
          { name, data: 'pwned' },
        ]),
        /would be written outside the function's directory/,
      );
    }
  });

  test('refuses links that leave the tree, directly or through other links', async () => {
    await refused(createZip([{ name: 'l', symlink: '../../etc/passwd' }]), /points outside/);
    await refused(createZip([{ name: 'l', symlink: '/etc/passwd' }]), /points outside/);
    // a/b/s resolves to the root itself (allowed); t = a/b/s/../x then climbs above it.
    await refused(
      createZip([
        { name: 'a/b/s', symlink: '../..' },
        { name: 'a/b/t', symlink: 's/../x' },
      ]),
      /symbolic link 'a\/b\/t' points outside/,
    );
    await refused(
      createZip([
        { name: 'loop1', symlink: 'loop2/x' },
        { name: 'loop2', symlink: 'loop1/x' },
      ]),
      /points outside/,
    );
  });

  test('refuses writing through a link of the archive', async () => {
    await refused(
      createZip([
        { name: 'sub/', mode: 0o755 },
        { name: 'lib', symlink: 'sub' },
        { name: 'lib/x.js', data: 'x' },
      ]),
      /written through the symbolic link 'lib'/,
    );
  });

  test('refuses an entry that inflates past its declared size', async () => {
    const zeros = Buffer.alloc(2 << 20);
    await refused(
      createZip([{ name: 'bomb.bin', data: zeros, declaredSize: 100 }]),
      /inflates beyond its declared size/,
    );
  });

  test('refuses a declared total above the unzipped limit', async () => {
    const zip = createZip([
      { name: 'a.bin', data: Buffer.alloc(1000), declaredSize: 200_000_000 },
      { name: 'b.bin', data: Buffer.alloc(1000), declaredSize: 100_000_000 },
    ]);
    await refused(zip, /^Unzipped size must be smaller than 262144000 bytes$/);
  });

  test('refuses overlapping entries, excessive ratios and too many entries', async () => {
    const payload = Buffer.alloc(4 << 20, 7);
    await refused(
      createZip([
        { name: 'one.bin', data: payload },
        { name: 'one.bin', data: payload, reuseLocalHeaderOf: 0 },
      ]),
      /overlap/,
    );
    await refused(
      createZip([
        { name: 'one.bin', data: payload },
        { name: 'two.bin', data: payload, reuseLocalHeaderOf: 0 },
      ]),
      /different name in its local header/,
    );
    await refused(createZip([{ name: 'z.bin', data: payload }]), /zip bomb/, {
      ...DEFAULT_LIMITS,
      maxRatio: 10,
    });
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    await refused(createZip(many), /11 entries, more than the limit of 10/, {
      ...DEFAULT_LIMITS,
      maxEntries: 10,
    });
  });

  test('refuses corrupt archives with AWS message', async () => {
    const good = createZip([
      { name: 'index.js', data: 'exports.handler = async () => 1;\n'.repeat(10) },
    ]);
    const corruptMessage = new RegExp(`^${UNZIP_FAILED.replace(/\./g, '\\.')}`);
    await refused(Buffer.from('this is not a zip file at all, sorry'), corruptMessage);
    await refused(good.subarray(0, good.length - 5), corruptMessage);
    const flipped = Buffer.from(good);
    flipped[40] ^= 0xff; // inside the deflated data
    await refused(flipped, corruptMessage);
    await refused(createZip([]), corruptMessage);
  });

  test('a stored entry whose sizes disagree is corrupt', async () => {
    const zip = createZip([{ name: 'a.txt', data: 'abc', method: 'store', declaredSize: 10 }]);
    await refused(zip, /Could not unzip uploaded file/);
  });

  test('listEntries reports sizes without extracting', () => {
    const data = Buffer.from('x'.repeat(1000));
    const entries = listEntries(createZip([{ name: 'dir/a.txt', data }, { name: 'dir/' }]));
    const file = entries.find((e) => e.path === 'dir/a.txt');
    assert.equal(file?.size, 1000);
    assert.equal(file?.kind, 'file');
    assert.ok((file?.compressedSize ?? 0) < 100);
    assert.equal(deflateRawSync(data).length, file?.compressedSize);
    assert.equal(entries.find((e) => e.path === 'dir')?.kind, 'directory');
  });
});

describe('linkStaysInside', () => {
  const none = new Map<string, string>();
  test('resolves relative targets against the link directory', () => {
    assert.equal(linkStaysInside('a/b/l', '../c', none), true);
    assert.equal(linkStaysInside('a/b/l', '../../c', none), true);
    assert.equal(linkStaysInside('a/b/l', '../../../c', none), false);
    assert.equal(linkStaysInside('l', '.', none), true);
    assert.equal(linkStaysInside('l', '/abs', none), false);
  });
  test('follows other links of the archive', () => {
    const links = new Map([['up', '..']]);
    assert.equal(linkStaysInside('l', 'up/x', links), false);
    const inner = new Map([['d', 'x/y']]);
    assert.equal(linkStaysInside('l', 'd/../..', inner), true);
  });
});
