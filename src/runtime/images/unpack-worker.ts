/**
 * Worker thread body of unpack.ts: decompresses and extracts one layer with synchronous
 * file system calls (several times faster than a thread-pool round trip per call) without
 * blocking the server's event loop. Chunks of the compressed layer arrive as messages;
 * each is acknowledged once the extraction wants more, which bounds what is in flight.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { decompressed } from './decompress.js';
import { extractLayer, LayerRefusedError } from './extract.js';
import type { ToWorker, FromWorker } from './unpack.js';

const port = parentPort;
if (!port) throw new Error('unpack-worker runs as a worker thread');
const { dir, chown } = workerData as { dir: string; chown: boolean };

let owed = 0;
const source = new Readable({
  highWaterMark: 4 * 1024 * 1024,
  read() {
    for (; owed > 0; owed--) send({ kind: 'ack' });
  },
});

function send(message: FromWorker): void {
  port?.postMessage(message);
}

port.on('message', (message: ToWorker) => {
  switch (message.kind) {
    case 'chunk':
      if (source.push(Buffer.from(message.bytes))) send({ kind: 'ack' });
      else owed++;
      break;
    case 'end':
      source.push(null);
      break;
    case 'abort':
      source.destroy(new Error(message.message));
      break;
  }
});

try {
  const meta = await extractLayer(await decompressed(source), dir, { chown });
  send({ kind: 'done', meta });
} catch (err) {
  send(
    err instanceof LayerRefusedError
      ? { kind: 'refused', path: err.path, reason: err.reason }
      : { kind: 'failed', message: err instanceof Error ? err.message : String(err) },
  );
}
port.close();
