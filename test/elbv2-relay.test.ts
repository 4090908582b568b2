/**
 * The HTTP listener's wire behaviour, byte for byte over raw sockets (and curl): the raw
 * relay's keep-alive and pipelining, the fields it adds and drops both ways, bodies in
 * each framing (Content-Length, chunked, to the close), 1xx and HEAD answers, streaming
 * of a large answer, a target that breaks off or answers garbage; and the connections it
 * hands to Node's HTTP server (a chunked request body, HTTP/1.0, a malformed request),
 * which carry on there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './helpers/backends.js';
import { httpTargetGroup } from './helpers/elbv2.js';
import { eventually } from './helpers/wait.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

/** A large answer's bytes: a pattern that does not repeat at any power-of-two stride. */
const big = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 11)) & 0xff;
  return b;
};

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** The Node target: `/echo` answers what it got; other paths answer in one framing each. */
async function nodeTarget(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (url === '/health') return void res.end();
      if (url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-pieces': '3' });
        res.write('first,');
        setTimeout(() => {
          res.write('second,');
          res.end('third');
        }, 20);
        return;
      }
      if (url.startsWith('/big')) {
        const body = big(Number(new URL(url, 'http://x').searchParams.get('n')));
        res.writeHead(200, { 'content-length': body.length });
        return void res.end(body);
      }
      if (url === '/hints') {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('after hints');
      }
      if (url === '/cut') {
        res.writeHead(200, { 'content-length': 100 });
        res.write('only ten b');
        setTimeout(() => res.destroy(), 20);
        return;
      }
      if (url === '/cookies') {
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.setHeader('keep-alive', 'timeout=1');
        res.setHeader('proxy-authenticate', 'Basic');
        return void res.end('two cookies');
      }
      const seen: Seen = {
        method: req.method ?? '',
        url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const body = Buffer.from(JSON.stringify(seen), 'utf8');
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': body.length,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A target that answers by hand: a body that runs to the close, or a malformed head. */
async function rawTarget(): Promise<{ server: ReturnType<typeof createTcpServer>; port: number }> {
  const server = createTcpServer((s) => {
    let got = '';
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      const path = got.split(' ')[1];
      got = '';
      if (path === '/raw/until-close') {
        s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody that ends with the close');
      } else if (path === '/raw/garbage') {
        s.end('HTTP/1.1 2x0 What\r\nno colon here\r\n\r\n');
      } else s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Sends `request` on a new connection (bytes, or a function that writes them once it is
 * connected) and reads until `done` says the answers are complete (or the server ends the
 * connection); `closed` tells whether it did.
 */
function raw(
  port: number,
  request: string | Buffer | ((s: Socket) => unknown),
  done: (got: Buffer) => boolean = () => false,
): Promise<{ text: string; bytes: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, '127.0.0.1', () => {
      if (typeof request === 'function') request(s);
      else s.write(request);
    });
    const chunks: Buffer[] = [];
    const finish = (closed: boolean) => {
      s.destroy();
      const all = Buffer.concat(chunks);
      resolve({ text: all.toString('latin1'), bytes: all, closed });
    };
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (done(Buffer.concat(chunks))) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('error', reject);
  });
}

/** The JSON a `/echo` answer carries (the first answer in `got`), its body read as UTF-8. */
const echoed = (got: Buffer): Seen =>
  JSON.parse(
    Buffer.from(answers(got.toString('latin1'))[0].body, 'latin1').toString('utf8'),
  ) as Seen;

/** Complete answers counted by their Content-Length (bodies without other framing). */
function answers(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const head = text.slice(at, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (text.length < end + 4 + length) return out;
    out.push({ head, body: text.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
}

const count = (n: number) => (got: Buffer) => answers(got.toString('latin1')).length >= n;

describe('ELBv2: the HTTP listener on the wire', () => {
  let server: TestServer;
  let elb: ElasticLoadBalancingV2Client;
  let target: Awaited<ReturnType<typeof nodeTarget>>;
  let handmade: Awaited<ReturnType<typeof rawTarget>>;
  let port: number;

  before(async () => {
    server = await startTestServer();
    elb = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
    target = await nodeTarget();
    handmade = await rawTarget();
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'wire' }))).LoadBalancers![0];
    const tg = await httpTargetGroup(elb, 'wire-node', [{ Id: '127.0.0.1', Port: target.port }]);
    const tgRaw = await httpTargetGroup(elb, 'wire-raw', [
      { Id: '127.0.0.1', Port: handmade.port },
    ]);
    port = await freePort();
    const listener = (
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Protocol: 'HTTP',
          Port: port,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      )
    ).Listeners![0];
    await elb.send(
      new CreateRuleCommand({
        ListenerArn: listener.ListenerArn,
        Priority: 1,
        Conditions: [{ Field: 'path-pattern', Values: ['/raw/*'] }],
        Actions: [{ Type: 'forward', TargetGroupArn: tgRaw.TargetGroupArn }],
      }),
    );
    for (const arn of [tg.TargetGroupArn, tgRaw.TargetGroupArn]) {
      await eventually('healthy targets', async () => {
        const d = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
        return d.TargetHealthDescriptions?.[0]?.TargetHealth?.State === 'healthy' || undefined;
      });
    }
  });

  after(async () => {
    elb.destroy();
    await server.stop();
    target.server.closeAllConnections();
    await new Promise((r) => target.server.close(r));
    await new Promise((r) => handmade.server.close(r));
  });

  test('pipelined requests on one connection: answers in order, fields added and dropped', async () => {
    const one =
      'GET /echo?n=1 HTTP/1.1\r\nHost: wire.example\r\nX-Forwarded-For: 203.0.113.9\r\n' +
      'Keep-Alive: timeout=5\r\nConnection: keep-alive\r\nProxy-Authorization: Basic x\r\n' +
      'X-Amzn-Trace-Id: not-a-root\r\nX-Custom:  kept  \r\nX-Custom: twice\r\n\r\n';
    const two = 'GET /echo?n=2 HTTP/1.1\r\nHost: wire.example\r\n\r\n';
    const r = await raw(port, one + two, count(2));
    const [a, b] = answers(r.text);
    assert.match(a.head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(a.head, /\r\n(keep-alive|connection|transfer-encoding):/i);
    const seenA = JSON.parse(a.body) as Seen;
    const seenB = JSON.parse(b.body) as Seen;
    assert.equal(seenA.url, '/echo?n=1');
    assert.equal(seenB.url, '/echo?n=2');
    assert.equal(seenA.headers.host, 'wire.example');
    assert.equal(seenA.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seenA.headers['x-forwarded-proto'], 'http');
    assert.equal(seenA.headers['x-forwarded-port'], String(port));
    assert.match(String(seenA.headers['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    assert.equal(seenA.headers['keep-alive'], undefined);
    assert.equal(seenA.headers['proxy-authorization'], undefined);
    // Repeated fields stay repeated, in order, with their values as sent (trimmed).
    const custom = seenA.rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1] === 'X-Custom');
    assert.deepEqual(custom, ['kept', 'twice']);
    assert.equal(seenB.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(r.closed, false);
  });

  test('repeated heads: a request sent again, and answer heads that differ by a byte', async () => {
    // The relay keeps the last head of each side and does not parse the same bytes again;
    // each request still gets its own trace id, and each answer its own length.
    const same = 'GET /echo HTTP/1.1\r\nHost: again\r\n\r\n';
    const r = await raw(port, same + same + same, count(3));
    const traces = answers(r.text).map(
      (a) => (JSON.parse(a.body) as Seen).headers['x-amzn-trace-id'],
    );
    assert.equal(traces.length, 3);
    assert.equal(new Set(traces).size, 3);
    const sizes = [5, 6, 5, 7, 5];
    const pipelined = sizes.map((n) => `GET /big?n=${n} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    const got = answers((await raw(port, pipelined, count(sizes.length))).text);
    assert.deepEqual(
      got.map((a) => a.body),
      sizes.map((n) => big(n).toString('latin1')),
    );
  });

  test('a body with Content-Length arrives byte for byte, non-ASCII included', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'Zoë ☃ 東京', n: 1 }), 'utf8');
    const head =
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${body.length}\r\n\r\n`;
    // Head and body in separate writes, the body split mid-character.
    const r = await raw(
      port,
      (s) => {
        s.write(head);
        setTimeout(() => s.write(body.subarray(0, 13)), 20);
        setTimeout(() => s.write(body.subarray(13)), 40);
      },
      count(1),
    );
    const seen = echoed(r.bytes);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, body.toString('utf8'));
    assert.equal(seen.headers['content-length'], String(body.length));
  });

  test('chunked, 1xx, HEAD and hop-by-hop answers as a client should see them', async () => {
    const chunked = await raw(
      port,
      'GET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n',
      (got) => got.toString('latin1').includes('"url":"/echo"'),
    );
    assert.match(chunked.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(chunked.text, /\r\nTransfer-Encoding: chunked\r\n/i);
    assert.match(
      chunked.text,
      /6\r\nfirst,\r\n7\r\nsecond,\r\n5\r\nthird\r\n0\r\n\r\nHTTP\/1\.1 200 OK/,
    );

    const hints = await raw(port, 'GET /hints HTTP/1.1\r\nHost: x\r\n\r\n', (got) =>
      got.toString('latin1').includes('after hints'),
    );
    assert.match(hints.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(hints.text, /103/);

    const head = await raw(
      port,
      'HEAD /big?n=5000 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n',
      (got) => got.toString('latin1').includes('"method":"GET"'),
    );
    const [first, second] = head.text.split(/(?=HTTP\/1\.1 )/);
    assert.match(first, /^HTTP\/1\.1 200 OK\r\ncontent-length: 5000\r\n.*\r\n\r\n$/is);
    assert.match(second, /^HTTP\/1\.1 200 OK/);

    const cookies = await raw(port, 'GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n', count(1));
    const [c] = answers(cookies.text);
    assert.deepEqual(c.head.match(/^set-cookie: .*$/gim), [
      'set-cookie: a=1; Path=/',
      'set-cookie: b=2; Path=/',
    ]);
    assert.doesNotMatch(c.head, /keep-alive|proxy-authenticate/i);
    assert.equal(c.body, 'two cookies');
  });

  test('a large answer streams through whole; curl sees the same bytes', async () => {
    const n = 8 * 1024 * 1024 + 13;
    const want = createHash('sha256').update(big(n)).digest('hex');
    const r = await raw(port, `GET /big?n=${n} HTTP/1.1\r\nHost: x\r\n\r\n`, count(1));
    const [a] = answers(r.text);
    const got = createHash('sha256').update(Buffer.from(a.body, 'latin1')).digest('hex');
    assert.equal(got, want);
    const viaCurl = await promisify(execFile)('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{size_download}',
      `http://127.0.0.1:${port}/big?n=${n}`,
    ]);
    assert.equal(viaCurl.stdout, `200 ${n}`);
  });

  test('an answer without a length runs to the target close, and so does the connection', async () => {
    const r = await raw(port, 'GET /raw/until-close HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(r.closed, true);
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.text, /\r\nConnection: close\r\n/);
    assert.ok(r.text.endsWith('\r\n\r\nbody that ends with the close'), r.text);
  });

  test('a malformed answer is a 502; an answer cut short cuts the connection', async () => {
    const bad = await raw(port, 'GET /raw/garbage HTTP/1.1\r\nHost: x\r\n\r\n', count(1));
    const [page] = answers(bad.text);
    assert.match(page.head, /^HTTP\/1\.1 502 Bad Gateway\r\nServer: awselb\/2\.0\r\n/);
    assert.match(page.body, /<h1>502 Bad Gateway<\/h1>/);

    const cut = await raw(port, 'GET /cut HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(cut.closed, true);
    assert.match(cut.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nonly ten b$/);
  });

  test('Connection: close is honoured: the answer says so and the connection ends', async () => {
    const r = await raw(port, 'GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.closed, true);
    const [a] = answers(r.text);
    assert.match(a.head, /\r\nConnection: close(\r\n|$)/i);
    assert.equal((JSON.parse(a.body) as Seen).headers.connection, undefined);
  });

  test('a chunked request body mid-connection goes on through Node, on the same connection', async () => {
    const r = await raw(
      port,
      'GET /echo?step=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /echo?step=2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n' +
        'GET /echo?step=3 HTTP/1.1\r\nHost: x\r\n\r\n',
      count(3),
    );
    const seen = answers(r.text).map((a) => JSON.parse(a.body) as Seen);
    assert.deepEqual(
      seen.map((s) => [s.url, s.body]),
      [
        ['/echo?step=1', ''],
        ['/echo?step=2', 'hello world'],
        ['/echo?step=3', ''],
      ],
    );
    for (const s of seen) assert.equal(s.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('a client that half-closes after its requests gets every answer, on either path', async () => {
    // As `nc` or an HTTP/1.0 client does: the requests, then the FIN, then the answers.
    const requests = [
      'GET /echo?step=1 HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /echo?step=2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      'GET /echo?step=3 HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    const both = await raw(port, (s) => s.end(requests.join('')));
    assert.equal(both.closed, true);
    const seen = answers(both.text).map((a) => JSON.parse(a.body) as Seen);
    assert.deepEqual(
      seen.map((s) => [s.url, s.body]),
      [
        ['/echo?step=1', ''],
        ['/echo?step=2', 'hi'],
        ['/echo?step=3', ''],
      ],
    );
    const old = await raw(port, (s) => s.end('GET /echo HTTP/1.0\r\nHost: x\r\n\r\n'));
    assert.equal(old.closed, true);
    assert.match(old.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(old.text, /"url":"\/echo"/);
  });

  test('a body trickling in a byte at a time arrives whole; a request cut short by the client is a 400', async () => {
    const body = 'ü'.repeat(1500);
    const bytes = Buffer.from(body, 'utf8');
    const got = await raw(
      port,
      async (s) => {
        s.write(`PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${bytes.length}\r\n\r\n`);
        for (let i = 0; i < bytes.length; i++) {
          s.write(bytes.subarray(i, i + 1));
          if (i % 500 === 0) await new Promise((r) => setTimeout(r, 5));
        }
      },
      count(1),
    );
    assert.equal(echoed(got.bytes).body, body);

    for (const cut of [
      'GET /echo HTTP/1.1\r\nHost: x\r\n',
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nonly5',
    ]) {
      const r = await raw(port, (s) => s.end(cut));
      assert.equal(r.closed, true, cut);
      assert.match(r.text, /^HTTP\/1\.1 400 Bad Request\r\nServer: awselb\/2\.0\r\n/, cut);
    }
  });

  test('HTTP/1.0 and malformed requests get the answers Node gives them', async () => {
    const old = await raw(port, 'GET /echo HTTP/1.0\r\nHost: x\r\n\r\n');
    assert.equal(old.closed, true);
    assert.match(old.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(old.text, /"url":"\/echo"/);

    for (const garbage of [
      'GET / HTTP/1.1\r\nNo colon here\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'GET / HTTP/1.1\r\n Folded: line\r\n\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n',
    ]) {
      const r = await raw(port, garbage);
      assert.equal(r.closed, true, JSON.stringify(garbage));
      assert.match(
        r.text,
        /^HTTP\/1\.1 400 Bad Request\r\nServer: awselb\/2\.0\r\n/,
        JSON.stringify(garbage),
      );
    }
  });
});
