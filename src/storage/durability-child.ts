/**
 * Child process for durability.test.ts (run as `node --import tsx durability-child.ts <mode>
 * <stateDir>`); the test kills it with SIGKILL at an arbitrary point. Every line it prints
 * is written only after the operation it reports has been committed.
 *
 *   rows   transactions forever: rows/<i> and meta/last = i together; prints "tx <i>",
 *          and a plain put of plain/<i> after each, printing "plain <i>"
 *   blob   puts one complete blob (prints "blob <digest>"), then streams an endless blob
 *          slowly (prints "streaming" once some of it is on disk)
 *   hold   opens the state directory and waits (prints "ready")
 *   ephemeral-exit  opens ephemeral storage, prints "blobs <dir>", exits without close()
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openStorage } from './index.js';
import type { FileBlobStore } from './file-blob-store.js';

const rowKey = (i: number): string => String(i).padStart(8, '0');

function completeBlob(): Buffer {
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  return data;
}

async function main(mode: string, stateDir: string): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (mode === 'ephemeral-exit') {
    const { blobs } = await openStorage({ stateDir, ephemeral: true });
    await blobs.put(Buffer.from('x'));
    out(`blobs ${(blobs as FileBlobStore).root}`);
    return;
  }
  const storage = await openStorage({ stateDir, ephemeral: false });
  switch (mode) {
    case 'rows': {
      for (let i = 0; ; i++) {
        await storage.store.transaction(async (tx) => {
          await tx.put('rows', rowKey(i), { i, at: new Date() });
          await tx.put('meta', 'last', i);
        });
        out(`tx ${i}`);
        await storage.store.put('plain', rowKey(i), i);
        out(`plain ${i}`);
        // The store resolves synchronously (better-sqlite3), so without this the loop never
        // lets the event loop turn: once the pipe to the test is full (a loaded machine
        // reads it late), stdout's pending write never completes, every later line piles up
        // in memory, and the test waits for lines that never come (its 600 s timeout).
        await new Promise((r) => setImmediate(r));
      }
    }
    case 'blob': {
      const { digest } = await storage.blobs.put(Readable.from([completeBlob()]));
      out(`blob ${digest}`);
      const chunk = Buffer.alloc(256 * 1024, 7);
      const tmpDir = join(stateDir, 'blobs', 'tmp');
      // Readable.from pulls up to 16 chunks ahead of the store, so a count of chunks yielded
      // says nothing about what reached the disk: "streaming" waits until the temp file has
      // bytes in it.
      let reported = false;
      const written = () =>
        readdirSync(tmpDir).some((name) => statSync(join(tmpDir, name)).size > 0);
      async function* endless() {
        for (;;) {
          yield chunk;
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (!reported && written()) {
            reported = true;
            out('streaming');
          }
        }
      }
      await storage.blobs.put(Readable.from(endless()));
      return;
    }
    case 'hold':
      out('ready');
      await new Promise(() => setInterval(() => {}, 60_000));
      return;
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

const [mode, stateDir] = process.argv.slice(2);
if (mode !== undefined && stateDir !== undefined) {
  main(mode, stateDir).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
