import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EarlyWriteback } from './blob-file-writes.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-writeback-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A real file whose datasync calls are counted (and can be made to fail) on the way through. */
async function countedFile(name: string, fail?: Error) {
  const file = await open(join(dir, name), 'w');
  const real = file.datasync.bind(file);
  const calls = { started: 0, done: 0 };
  file.datasync = async () => {
    calls.started++;
    await real();
    calls.done++;
    if (fail) throw fail;
  };
  return { file, calls };
}

async function writeMb(file: FileHandle, mb: number, at: number) {
  await file.write(Buffer.alloc(mb * 1024 * 1024, mb), 0, mb * 1024 * 1024, at);
}

test('a datasync starts every `every` bytes, one at a time, and the last is awaited', async () => {
  const MB = 1024 * 1024;
  const { file, calls } = await countedFile('a');
  try {
    const writeback = new EarlyWriteback(file, 0, 4 * MB);
    let written = 0;
    for (let i = 0; i < 3; i++) {
      await writeMb(file, 1, written);
      written += MB;
      writeback.wrote(written);
    }
    assert.equal(calls.started, 0, 'under the threshold nothing is synced');
    await writeMb(file, 1, written);
    written += MB;
    writeback.wrote(written);
    assert.equal(calls.started, 1);
    // While that one runs, passing the next threshold starts no second one.
    writeback.wrote(written + 8 * MB);
    assert.equal(calls.started, 1);
    await writeback.settled();
    assert.equal(calls.done, 1);
    writeback.wrote(written + 8 * MB);
    assert.equal(calls.started, 2, 'the next threshold counts from the last sync started');
    await writeback.settled();
    assert.equal(calls.done, 2);
  } finally {
    await file.close();
  }
  assert.equal(readFileSync(join(dir, 'a')).length, 4 * 1024 * 1024);
});

test('bytes already in the file count from where the writer starts', async () => {
  const { file, calls } = await countedFile('b');
  try {
    const writeback = new EarlyWriteback(file, 100, 10);
    writeback.wrote(109);
    assert.equal(calls.started, 0);
    writeback.wrote(110);
    assert.equal(calls.started, 1);
    await writeback.settled();
  } finally {
    await file.close();
  }
});

test('a failed datasync is thrown by settled(), also after it ended', async () => {
  const { file, calls } = await countedFile('c', Object.assign(new Error('EIO'), { code: 'EIO' }));
  try {
    const writeback = new EarlyWriteback(file, 0, 1);
    writeback.wrote(1);
    await assert.rejects(writeback.settled(), /EIO/);
    assert.equal(calls.done, 1);
    // Later syncs may succeed; the first failure still fails whoever settles.
    await assert.rejects(writeback.settled(), /EIO/);
  } finally {
    await file.close();
  }
});
