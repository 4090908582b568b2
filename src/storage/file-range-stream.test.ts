import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { FileRangeStream, sendStream } from './file-range-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-range-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// Larger than the reused buffers together (3 × 1 MB), and not a multiple of them.
const data = randomBytes(5 * 1024 * 1024 + 12345);
const path = join(dir, 'blob');
writeFileSync(path, data);

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A server that sends `range` of the file with sendStream; `sent` settles with its outcome. */
async function serve(range: { start?: number; end?: number }) {
  let settle: (outcome: Error | undefined) => void = () => {};
  const sent = new Promise<Error | undefined>((resolve) => (settle = resolve));
  const server: Server = createServer((_req, res) => {
    void open(path, 'r').then((fh) => {
      const body = new FileRangeStream(fh, range.start, range.end);
      res.writeHead(200);
      sendStream(body, res).then(
        () => settle(undefined),
        (err: Error) => {
          res.destroy();
          settle(err);
        },
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  after(() => server.close());
  return { url, sent };
}

async function fetchRaw(url: string): Promise<IncomingMessage> {
  const req = get(url);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return res;
}

describe('FileRangeStream', () => {
  test('read as a stream: the whole file, a range, and a range past the end', async () => {
    const whole = new FileRangeStream(await open(path, 'r'));
    assert.ok((await collect(whole)).equals(data));
    const part = new FileRangeStream(await open(path, 'r'), 5, 2_500_000);
    assert.ok((await collect(part)).equals(data.subarray(5, 2_500_001)));
    const none = new FileRangeStream(await open(path, 'r'), data.length + 10, data.length + 20);
    assert.equal((await collect(none)).length, 0);
  });

  test('sent to a slow HTTP client through reused buffers: every byte in order', async () => {
    const { url, sent } = await serve({ start: 7, end: data.length - 3 });
    const res = await fetchRaw(url);
    const chunks: Buffer[] = [];
    // Paused reads make the server wait on its writes, so each buffer is reused many times.
    for await (const c of res as AsyncIterable<Buffer>) {
      chunks.push(c);
      if (chunks.length % 16 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(Buffer.concat(chunks).equals(data.subarray(7, data.length - 2)));
    assert.equal(await sent, undefined);
  });

  test('a client that goes away mid-transfer ends the send with an error, not a hang', async () => {
    const { url, sent } = await serve({});
    const res = await fetchRaw(url);
    await once(res, 'data');
    res.destroy();
    const outcome = await sent;
    assert.ok(outcome instanceof Error);
  });

  test('an end past the end of the file is cut to it', async () => {
    const { url, sent } = await serve({ start: 100, end: data.length + 1000 });
    const res = await fetchRaw(url);
    assert.ok((await collect(res)).equals(data.subarray(100)));
    assert.equal(await sent, undefined);
  });

  test('the file is closed after a send', async () => {
    const fh = await open(path, 'r');
    const body = new FileRangeStream(fh, 0, 99);
    const sink = new PassThrough();
    const got = collect(sink);
    await sendStream(body, sink);
    assert.ok((await got).equals(data.subarray(0, 100)));
    assert.equal(fh.fd, -1);
  });
});
