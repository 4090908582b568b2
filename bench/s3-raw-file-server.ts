/**
 * The baseline for S3's large transfers: a bare node:http server (its own process) that
 * writes a PUT body to a file and fsyncs it before answering, and streams the file back
 * on GET. What any server that stores uploads durably must at least do.
 *
 *   node dist/bench/s3-raw-file-server.js <dir>
 * Prints {"port":N} on stdout once listening on 127.0.0.1.
 */
import { createServer } from 'node:http';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: s3-raw-file-server.js <dir>\n');
  process.exit(2);
}
const fileOf = (url: string) => join(dir, Buffer.from(url).toString('base64url'));

const server = createServer({ keepAlive: true }, (req, res) => {
  const file = fileOf(req.url ?? '/');
  if (req.method === 'PUT') {
    pipeline(req, createWriteStream(file))
      .then(async () => {
        const fh = await open(file, 'r');
        await fh.sync();
        await fh.close();
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
