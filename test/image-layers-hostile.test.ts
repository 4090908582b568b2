/**
 * Hostile layers, built with tar-stream, unpacked by the layer cache's extraction: none
 * writes anything outside the layer directory (a sentinel directory beside it is compared
 * before and after), and each is either refused as a whole or unpacked with the rest of
 * its entries, as the case says. Half go through the worker thread, half inline.
 */
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LayerRefusedError, type LayerMeta } from '../src/runtime/images/extract.js';
import { unpackLayer } from '../src/runtime/images/unpack.js';
import {
  compress,
  dir,
  file,
  hardlink,
  symlink,
  tarOf,
  whiteout,
  type Entry,
} from './helpers/layers.js';

const isRoot = process.getuid?.() === 0;

describe('hostile layers write nothing outside the layer', () => {
  let work: string;
  let sentinel: string;
  let n = 0;

  /** Every path under the sentinel directory with its content or link target. */
  function snapshot(path = sentinel): string[] {
    const out: string[] = [];
    for (const name of readdirSync(path).sort()) {
      const p = join(path, name);
      const st = lstatSync(p);
      if (st.isDirectory()) out.push(`${p}/`, ...snapshot(p));
      else if (st.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(p)}`);
      else out.push(`${p} ${st.mode.toString(8)} ${readFileSync(p, 'utf8')}`);
    }
    return out;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'hostile-layers-'));
    sentinel = join(work, 'sentinel');
    mkdirSync(join(sentinel, 'sub'), { recursive: true });
    writeFileSync(join(sentinel, 'victim'), 'original');
    writeFileSync(join(sentinel, 'sub', 'victim'), 'original');
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Unpacks `entries` (plus a trailing `ok.txt`) into a fresh directory beside the sentinel. */
  async function unpack(entries: Entry[]): Promise<{ root: string; result: LayerMeta | Error }> {
    const root = join(work, `layer-${n++}`);
    mkdirSync(root);
    const before = snapshot();
    const blob = compress(await tarOf([...entries, file('ok.txt', 'ok')]), 'gzip');
    // Odd cases inline, even ones in the worker (size undefined means "large").
    const size = n % 2 === 0 ? undefined : blob.length;
    const result = await unpackLayer(Readable.from([blob]), root, { chown: isRoot, size }).catch(
      (err: Error) => err,
    );
    assert.deepEqual(snapshot(), before, 'the sentinel directory is unchanged');
    return { root, result };
  }

  async function refused(entries: Entry[], reason: RegExp): Promise<void> {
    const { result } = await unpack(entries);
    assert.ok(result instanceof LayerRefusedError, `refused, got ${String(result)}`);
    assert.match(result.reason, reason);
  }

  async function unpacked(entries: Entry[]): Promise<{ root: string; meta: LayerMeta }> {
    const { root, result } = await unpack(entries);
    if (result instanceof Error) throw result;
    assert.equal(readFileSync(join(root, 'ok.txt'), 'utf8'), 'ok', 'the rest unpacked');
    return { root, meta: result };
  }

  test('1. `../` in a file name: refused', () =>
    refused([file('../sentinel/victim', 'pwned')], /'\.\.'/));

  test('2. `a/../../` climbing out: refused', () =>
    refused([dir('a'), file('a/../../sentinel/victim', 'pwned')], /'\.\.'/));

  test('3. `..` that would stay inside is refused too', () =>
    refused([dir('a'), file('a/../b', 'x')], /'\.\.'/));

  test('4. an absolute name lands inside the layer; the rest unpacks', async () => {
    const abs = join(sentinel, 'victim');
    const { root } = await unpacked([file(abs, 'inside')]);
    assert.equal(readFileSync(join(root, abs), 'utf8'), 'inside');
  });

  test('5. symlink to the sentinel, then a file through it: refused', () =>
    refused([symlink('esc', sentinel), file('esc/victim', 'pwned')], /symlink/));

  test('6. relative symlink out, then a new file through it: refused', () =>
    refused([symlink('esc', '../sentinel'), file('esc/new', 'pwned')], /symlink/));

  test('7. symlink to /, then a directory through it: refused', () =>
    refused([symlink('esc', '/'), dir(`esc${sentinel}/made`)], /symlink/));

  test('8. nested: a symlink deep in the tree, then a file below it: refused', () =>
    refused(
      [dir('a'), dir('a/b'), symlink('a/b/c', `${sentinel}/sub`), file('a/b/c/victim', 'x')],
      /symlink/,
    ));

  test('9. a file over a symlink to the sentinel replaces the link, never writes through', async () => {
    const { root } = await unpacked([
      symlink('f', join(sentinel, 'victim')),
      file('f', 'replaced'),
    ]);
    assert.ok(lstatSync(join(root, 'f')).isFile());
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'replaced');
  });

  test('10. a directory replaced by a symlink, then a file through it: refused', () =>
    refused([dir('d'), file('d/x'), symlink('d', sentinel), file('d/victim', 'x')], /symlink/));

  test('11. hardlink to `../sentinel/victim`: refused', () =>
    refused([hardlink('h', '../sentinel/victim')], /'\.\.'/));

  test('12. hardlink to an absolute host path: refused (not a file of this layer)', () =>
    refused([hardlink('h', join(sentinel, 'victim'))], /hardlink/));

  test('13. hardlink through a symlink of the layer: refused', () =>
    refused([symlink('d', sentinel), hardlink('h', 'd/victim')], /hardlink/));

  test('14. hardlink to a symlink links the symlink itself; the rest unpacks', async () => {
    const { root } = await unpacked([
      symlink('s', join(sentinel, 'victim')),
      hardlink('h', 's'),
      file('real', 'content'),
      hardlink('h2', 'real'),
    ]);
    assert.equal(readlinkSync(join(root, 'h')), join(sentinel, 'victim'));
    assert.equal(lstatSync(join(root, 'h2')).ino, lstatSync(join(root, 'real')).ino);
  });

  test('15. device nodes and FIFOs are skipped; the rest unpacks', async () => {
    const { root, meta } = await unpacked([
      dir('dev'),
      { name: 'dev/mem', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 1 },
      { name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 },
      { name: 'dev/fifo', type: 'fifo', mode: 0o644 },
      { name: 'dev/wh', type: 'character-device', mode: 0, devmajor: 0, devminor: 0 },
    ]);
    assert.deepEqual(readdirSync(join(root, 'dev')), []);
    assert.deepEqual(
      meta.skipped.map((s) => `${s.path}:${s.type}`),
      [
        'dev/mem:character-device',
        'dev/sda:block-device',
        'dev/fifo:fifo',
        'dev/wh:character-device',
      ],
    );
  });

  test('16. a whiteout naming `..`: refused', () => refused([whiteout('', '..')], /whiteout/));

  test('17. a whiteout `a/.wh...`: refused', () =>
    refused([dir('a'), whiteout('a', '..')], /whiteout/));

  test('18. a whiteout climbing out with `../`: refused', () =>
    refused([file('../.wh.sentinel', '')], /'\.\.'/));

  test('19. an empty whiteout name: refused', () => refused([file('a/.wh.', '')], /whiteout/));

  test('20. long names (pax headers) unpack; one over NAME_MAX is refused', async () => {
    const deep = `${'d'.repeat(200)}/${'e'.repeat(200)}/${'f'.repeat(250)}`;
    const { root } = await unpacked([file(deep, 'deep')]);
    assert.equal(readFileSync(join(root, deep), 'utf8'), 'deep');
    await refused([file('x'.repeat(300), 'long')], /ENAMETOOLONG/);
  });

  test('21. a file replaced by a directory and a directory by a file', async () => {
    const { root } = await unpacked([
      file('x', 'file first'),
      dir('x'),
      file('x/y', 'in the directory'),
      dir('d'),
      file('d/inner'),
      file('d', 'file last'),
    ]);
    assert.equal(readFileSync(join(root, 'x', 'y'), 'utf8'), 'in the directory');
    assert.equal(readFileSync(join(root, 'd'), 'utf8'), 'file last');
  });

  test('22. an entry below a file of the layer: refused', () =>
    refused([file('f'), file('f/g')], /not a directory/));

  test('23. symlinks pointing anywhere are kept as they are', async () => {
    const { root } = await unpacked([
      symlink('shadow', '/etc/shadow'),
      symlink('up', '../../../../'),
      symlink('loop', 'loop'),
    ]);
    assert.equal(readlinkSync(join(root, 'shadow')), '/etc/shadow');
    assert.equal(readlinkSync(join(root, 'up')), '../../../../');
    assert.equal(readlinkSync(join(root, 'loop')), 'loop');
  });

  test('24. setuid, sticky, owners and times are kept', async () => {
    const mtime = new Date('2020-02-02T02:02:02Z');
    const { root } = await unpacked([
      dir('bin', { mtime }),
      file('bin/su', 'su', { mode: 0o4755, uid: 0, gid: 0, mtime }),
      file('bin/wall', 'wall', { mode: 0o2755, uid: 0, gid: 5, mtime }),
      dir('tmp', { mode: 0o1777 }),
      file('home', 'h', { mode: 0o600, uid: 1234, gid: 5678 }),
      file('ro', 'r', { mode: 0o444 }),
    ]);
    assert.equal(statSync(join(root, 'bin', 'su')).mode & 0o7777, 0o4755);
    assert.equal(statSync(join(root, 'bin', 'wall')).mode & 0o7777, 0o2755);
    assert.equal(statSync(join(root, 'tmp')).mode & 0o7777, 0o1777);
    assert.equal(statSync(join(root, 'ro')).mode & 0o7777, 0o444);
    assert.equal(statSync(join(root, 'bin', 'su')).mtime.getTime(), mtime.getTime());
    assert.equal(statSync(join(root, 'bin')).mtime.getTime(), mtime.getTime());
    if (isRoot) {
      assert.equal(statSync(join(root, 'home')).uid, 1234);
      assert.equal(statSync(join(root, 'home')).gid, 5678);
      assert.equal(statSync(join(root, 'bin', 'wall')).gid, 5);
    }
  });

  test('25. the same name twice: the last entry wins', async () => {
    const { root } = await unpacked([file('twice', 'first'), file('twice', 'second')]);
    assert.equal(readFileSync(join(root, 'twice'), 'utf8'), 'second');
  });

  test('26. whiteouts become metadata, not files; one of its own file is dropped', async () => {
    const { root, meta } = await unpacked([
      dir('etc'),
      whiteout('etc', 'passwd'),
      whiteout('', 'gone'),
      file('.wh..wh..opq', ''),
      file('.wh..wh.plnk', ''),
      file('kept', 'k'),
      whiteout('', 'kept'),
      { name: 'lower/.wh..wh..opq', type: 'file', mode: 0o644, body: '' },
    ]);
    assert.deepEqual(meta.whiteouts, ['etc/passwd', 'gone']);
    assert.deepEqual(meta.opaque, ['', 'lower']);
    assert.deepEqual(readdirSync(root).sort(), ['etc', 'kept', 'lower', 'ok.txt']);
    assert.deepEqual(readdirSync(join(root, 'etc')), []);
  });

  test('27. something that is not a tar is refused with an error, not a hang', async () => {
    const root = join(work, 'garbage');
    mkdirSync(root);
    const blob = compress(Buffer.from('x'.repeat(5000)), 'gzip');
    await assert.rejects(
      unpackLayer(Readable.from([blob]), root, { chown: isRoot }),
      /Invalid tar header|invalid|unexpected/i,
    );
    const truncated = compress(await tarOf([file('a', 'y'.repeat(100000))]), 'gzip');
    await assert.rejects(
      unpackLayer(Readable.from([truncated.subarray(0, truncated.length / 2)]), root, {
        chown: isRoot,
      }),
    );
    // Cut inside a file's content: an error, never a short file taken as whole.
    const plain = await tarOf([file('a', 'y'.repeat(100000)), file('b')]);
    mkdirSync(join(work, 'cut'));
    await assert.rejects(
      unpackLayer(Readable.from([plain.subarray(0, 50000)]), join(work, 'cut'), {
        chown: isRoot,
        size: 1,
      }),
      /Unexpected end of data/,
    );
  });
});
