/**
 * The baseline for S3's large transfers: a bare node:http server (its own process) that
 * writes a PUT body to a file and fsyncs it before answering, and streams the file back
 * on GET. What any server that stores uploads durably must at least do.
 *
 *   node dist/bench/s3-raw-file-server.js <dir> [replace|in-place]
 * Prints {"port":N} on stdout once listening on 127.0.0.1.
 *
 * `replace` (the default) writes each body to a new file and renames it over the old one
 * once synced, as a store must that keeps the previous object until the new one is whole
 * (and as Stratus does: a new blob, the old one released after). `in-place` truncates the
 * existing file and writes into it: not crash-safe, and the truncation frees the old
 * content's page cache just before the write needs as much again (bench/README.md, S3,
 * "Fresh memory").
 */
import { createServer } from 'node:http';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: s3-raw-file-server.js <dir> [replace|in-place]\n');
  process.exit(2);
}
const inPlace = process.argv[3] === 'in-place';
const fileOf = (url: string) => join(dir, Buffer.from(url).toString('base64url'));
let uploads = 0;

const server = createServer({ keepAlive: true }, (req, res) => {
  const file = fileOf(req.url ?? '/');
  if (req.method === 'PUT') {
    const written = inPlace ? file : `${file}.${++uploads}.tmp`;
    pipeline(req, createWriteStream(written))
      .then(async () => {
        const fh = await open(written, 'r');
        await fh.sync();
        await fh.close();
        if (written !== file) await rename(written, file);
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      })
      .catch(() => res.destroy());
    return;
  }
  req.resume();
  const size = statSync(file).size;
  res.writeHead(200, { 'content-length': String(size) });
  pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), res).catch(() => res.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
