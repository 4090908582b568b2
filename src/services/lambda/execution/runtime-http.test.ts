/**
 * The Runtime API's HTTP/1.1 server, spoken to over raw sockets (byte by byte where it
 * matters) and with node:http's client.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import {
  type HttpRequest,
  type HttpResponse,
  MAX_HEAD_BYTES,
  RuntimeHttpServer,
} from './runtime-http.js';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  trailers: Record<string, string | undefined>;
  body: string;
}

/** Opens a raw connection; `text()` is everything received so far, `closed` its end. */
async function rawClient(port: number): Promise<{
  socket: Socket;
  text: () => string;
  closed: Promise<void>;
  waitFor: (pattern: RegExp) => Promise<string>;
}> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const waitFor = async (pattern: RegExp): Promise<string> => {
    const until = Date.now() + 30_000;
    while (!pattern.test(received)) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}: ${received}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return received;
  };
  return { socket, text: () => received, closed, waitFor };
}

async function writeSlowly(socket: Socket, data: string): Promise<void> {
  for (const ch of data) {
    socket.write(ch, 'latin1');
    await new Promise((r) => setImmediate(r));
  }
}

describe('Runtime API HTTP server', () => {
  let server: RuntimeHttpServer;
  let port: number;
  let errors: unknown[] = [];
  let seen: Seen[];
  /** Decides the answer; by default 200 with the body echoed. */
  let answer: (req: Seen, res: HttpResponse) => void;

  beforeEach(async () => {
    seen = [];
    answer = (req, res) => res.send(200, ['Content-Type', 'text/plain'], `echo:${req.body}`);
    server = new RuntimeHttpServer(
      (req: HttpRequest, res: HttpResponse) => {
        const chunks: Buffer[] = [];
        req.body = {
          data: (c) => chunks.push(c),
          end: () => {
            const s: Seen = {
              method: req.method,
              url: req.url,
              headers: { ...req.headers },
              trailers: { ...req.trailers },
              body: Buffer.concat(chunks).toString('latin1'),
            };
            seen.push(s);
            answer(s, res);
          },
        };
      },
      (err) => errors.push(err),
    );
    port = await server.listen();
  });
  afterEach(() => server.close());

  test('node:http requests: headers lower-cased, Content-Length and chunked bodies', async () => {
    const call = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
        (resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port, method: 'POST', path: '/p?q=1', headers },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
              );
            },
          );
          req.on('error', reject);
          req.end(body);
        },
      );
    const plain = await call({ 'X-Thing': 'a' }, 'hello');
    assert.equal(plain.status, 200);
    assert.equal(plain.body, 'echo:hello');
    assert.equal(plain.headers['content-length'], '10');
    assert.equal(seen[0].url, '/p?q=1');
    assert.equal(seen[0].headers['x-thing'], 'a');
    const chunked = await call({ 'Transfer-Encoding': 'chunked' }, 'streamed');
    assert.equal(chunked.body, 'echo:streamed');
  });

  test('a request and its body arriving byte by byte', async () => {
    const c = await rawClient(port);
    await writeSlowly(
      c.socket,
      // An empty line before the request line is skipped.
      '\r\nPOST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nabcde',
    );
    const text = await c.waitFor(/echo:abcde$/);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(seen[0].headers['x-a'], '1, 2');
    c.socket.destroy();
  });

  test('chunked bodies: extensions, trailers, byte by byte', async () => {
    const c = await rawClient(port);
    await writeSlowly(
      c.socket,
      'POST /s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Error-Type: Boom\r\nX-More: yes\r\n\r\n',
    );
    await c.waitFor(/echo:abc0123456789$/);
    assert.equal(seen[0].trailers['x-error-type'], 'Boom');
    assert.equal(seen[0].trailers['x-more'], 'yes');
    c.socket.destroy();
  });

  test('pipelined requests are answered in order, ready answers in one piece', async () => {
    const held: HttpResponse[] = [];
    answer = (req, res) => {
      if (req.url === '/first') held.push(res);
      else res.send(200, [], `second:${req.body}`);
      if (held.length === 1 && req.url === '/second') {
        // The first answer is still owed: the second waits behind it.
        setTimeout(() => held[0].send(202, [], 'first'), 30);
      }
    };
    const c = await rawClient(port);
    c.socket.write(
      'POST /first HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nA' +
        'GET /second HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    const text = await c.waitFor(/second:$/);
    assert.ok(text.indexOf('first') < text.indexOf('second:'), text);
    assert.match(text, /^HTTP\/1\.1 202 Accepted\r\nContent-Length: 5\r\n\r\nfirst/);
    c.socket.destroy();
  });

  test('answers given in the same turn leave in one write', async () => {
    const held: HttpResponse[] = [];
    answer = (_req, res) => {
      held.push(res);
      if (held.length === 2) {
        held[0].send(202, [], 'one');
        held[1].send(200, [], 'two');
      }
    };
    const c = await rawClient(port);
    const chunks: string[] = [];
    c.socket.on('data', (d: Buffer) => chunks.push(d.toString('latin1')));
    c.socket.write('GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n');
    await c.waitFor(/two$/);
    assert.equal(chunks.length, 1, 'one write, one segment on loopback');
    c.socket.destroy();
  });

  test('Expect: 100-continue gets its interim answer before the body is sent', async () => {
    const c = await rawClient(port);
    c.socket.write(
      'POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n',
    );
    await c.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    c.socket.write('body');
    await c.waitFor(/echo:body$/);
    c.socket.destroy();
  });

  test('Connection: close and HTTP/1.0 end the connection after the answer', async () => {
    const c = await rawClient(port);
    c.socket.write(
      'GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n',
    );
    await c.closed;
    assert.match(c.text(), /\r\nConnection: close\r\n/);
    assert.equal(seen.length, 1, 'nothing after Connection: close is read');

    const old = await rawClient(port);
    old.socket.write('GET /old HTTP/1.0\r\n\r\n');
    await old.closed;
    assert.match(old.text(), /^HTTP\/1\.1 200 OK\r\n[^]*echo:$/);

    const kept = await rawClient(port);
    kept.socket.write('GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await kept.waitFor(/echo:$/);
    assert.match(kept.text(), /\r\nConnection: keep-alive\r\n/);
    kept.socket.write('GET /k2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await kept.waitFor(/echo:[^]*echo:$/);
    kept.socket.destroy();
  });

  test('HEAD answers carry no body', async () => {
    const c = await rawClient(port);
    c.socket.write('HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n');
    const text = await c.waitFor(/echo:$/);
    assert.match(
      text,
      /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nContent-Length: 5\r\n\r\nHTTP/,
    );
    c.socket.destroy();
  });

  for (const [name, bytes, status] of [
    ['a bad request line', 'GARBAGE\r\n\r\n', 400],
    ['a field without a colon', 'GET / HTTP/1.1\r\nNoColon\r\n\r\n', 400],
    ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n', 400],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n', 400],
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
    ],
    ['an unknown transfer coding', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 400],
    ['a bad Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n', 400],
    [
      'two different Content-Lengths',
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      400,
    ],
    ['a bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    [
      'header fields over 16 KiB',
      `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`,
      431,
    ],
  ] as const) {
    test(`${name}: ${status}, and the connection closes`, async () => {
      const c = await rawClient(port);
      c.socket.write(bytes);
      await c.closed;
      assert.match(
        c.text(),
        new RegExp(`^HTTP/1\\.1 ${status} [^\\r]+\\r\\nConnection: close\\r\\n`),
      );
      assert.equal(seen.length, 0);
    });
  }

  test('header values with control characters are refused, as node:http does', async () => {
    let thrown: unknown;
    answer = (_req, res) => {
      try {
        res.send(200, ['X-Evil', 'a\r\nInjected: 1'], '');
      } catch (err) {
        thrown = err;
        res.send(500, [], '');
      }
    };
    const c = await rawClient(port);
    c.socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await c.waitFor(/^HTTP\/1\.1 500 /);
    assert.equal((thrown as { code?: string }).code, 'ERR_INVALID_CHAR');
    assert.doesNotMatch(c.text(), /Injected/);
    c.socket.destroy();
  });

  test('a handler that throws: reported, that connection gets a 500 and closes, the server lives', async () => {
    errors = [];
    answer = () => {
      throw new Error('handler bug');
    };
    const c = await rawClient(port);
    c.socket.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi');
    await c.closed;
    assert.match(c.text(), /^HTTP\/1\.1 500 /);
    assert.equal((errors[0] as Error).message, 'handler bug');

    answer = (_req, res) => res.send(200, [], 'ok');
    const d = await rawClient(port);
    d.socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await d.waitFor(/\r\n\r\nok$/);
    d.socket.destroy();
  });

  test('a long poll: destroyed once the client goes, closed by close()', async () => {
    const held: HttpResponse[] = [];
    answer = (_req, res) => held.push(res);
    const c = await rawClient(port);
    c.socket.write('GET /wait HTTP/1.1\r\nHost: h\r\n\r\n');
    for (const until = Date.now() + 30_000; held.length === 0 && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(held[0].destroyed, false);
    c.socket.destroy();
    for (const until = Date.now() + 30_000; !held[0].destroyed && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(held[0].destroyed, true);

    const d = await rawClient(port);
    d.socket.write('GET /wait HTTP/1.1\r\nHost: h\r\n\r\n');
    for (const until = Date.now() + 30_000; held.length === 1 && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 10));
    server.close();
    await d.closed;
    assert.equal(held[1].destroyed, true);
  });
});
