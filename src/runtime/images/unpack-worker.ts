/**
 * Worker thread body of unpack.ts: decompresses and extracts layers with synchronous
 * file system calls (several times faster than a thread-pool round trip per call) without
 * blocking the server's event loop. One layer at a time; the worker stays for the next
 * one (warm code). Chunks of the compressed layer arrive as messages; each is
 * acknowledged once the extraction wants more, which bounds what is in flight.
 */
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { decompressed } from './decompress.js';
import { extractLayer, LayerRefusedError } from './extract.js';
import type { FromWorker, ToWorker } from './unpack.js';

const port = parentPort;
if (!port) throw new Error('unpack-worker runs as a worker thread');

function send(message: FromWorker): void {
  port?.postMessage(message);
}

let source: Readable | undefined;
let owed = 0;

async function run(dir: string, chown: boolean, input: Readable): Promise<void> {
  try {
    const meta = await extractLayer(await decompressed(input), dir, { chown });
    send({ kind: 'done', meta });
  } catch (err) {
    send(
      err instanceof LayerRefusedError
        ? { kind: 'refused', path: err.path, reason: err.reason }
        : { kind: 'failed', message: err instanceof Error ? err.message : String(err) },
    );
  } finally {
    if (source === input) source = undefined;
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.kind) {
    case 'start': {
      owed = 0;
      const input = new Readable({
        highWaterMark: 4 * 1024 * 1024,
        read() {
          for (; owed > 0; owed--) send({ kind: 'ack' });
        },
      });
      source = input;
      void run(message.dir, message.chown, input);
      break;
    }
    case 'chunk':
      if (!source) break;
      if (
        source.push(
          Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.length),
        )
      ) {
        send({ kind: 'ack' });
      } else owed++;
      break;
    case 'end':
      source?.push(null);
      break;
    case 'abort':
      source?.destroy(new Error(message.message));
      break;
  }
});
