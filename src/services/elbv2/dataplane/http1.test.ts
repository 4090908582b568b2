import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChunkedEnd,
  clientResponseHead,
  parseRequestHead,
  parseResponseHead,
  requestFields,
  withoutLines,
} from './http1.js';

test('a chunked body ends after its last chunk, trailers and blank line, however it is split', () => {
  const body = Buffer.from(
    '4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT',
    'latin1',
  );
  const end = body.length - 4;
  assert.equal(new ChunkedEnd().feed(body, 0, body.length), end);
  for (const step of [1, 2, 3, 7]) {
    const c = new ChunkedEnd();
    let got = -1;
    for (let at = 0; at < body.length && got === -1; at += step) {
      got = c.feed(body, at, Math.min(at + step, body.length));
    }
    assert.equal(got, end, `fed ${step} bytes at a time`);
  }
  const malformed = ['x\r\n', '4\r\nWikiXX', '4\nWiki\r\n', '\r\n', '1234567890abc\r\n'];
  for (const m of malformed) {
    assert.equal(new ChunkedEnd().feed(Buffer.from(m), 0, m.length), -2, JSON.stringify(m));
  }
  assert.equal(new ChunkedEnd().feed(Buffer.from('5\r\nhel'), 0, 7), -1);
});

test('request heads: only plain HTTP/1.1 in origin-form takes the relay', () => {
  const ok = parseRequestHead(
    'POST /a?b=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n' +
      'Cookie: a=1\r\ncookie: b=2\r\nX-Forwarded-For: 1.2.3.4\r\nKeep-Alive: 5\r\nX-Other: é',
  );
  assert.ok(ok);
  assert.equal(ok.method, 'POST');
  assert.equal(ok.target, '/a?b=1');
  assert.equal(ok.contentLength, 3);
  assert.equal(ok.close, true);
  assert.equal(ok.host, 'h');
  assert.equal(ok.cookie, 'a=1; b=2');
  assert.equal(ok.xff, '1.2.3.4');
  assert.equal(
    withoutLines(ok.text, 0, ok.skip),
    'POST /a?b=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nCookie: a=1\r\ncookie: b=2\r\nX-Other: é',
  );
  assert.deepEqual(requestFields(ok).cookie, 'a=1; b=2');
  assert.equal(requestFields(ok)['x-other'], 'é');

  for (const head of [
    'GET / HTTP/1.0\r\nHost: h',
    'GET http://h/ HTTP/1.1\r\nHost: h',
    'GET * HTTP/1.1',
    'GET / HTTP/1.1\r\nTransfer-Encoding: chunked',
    'GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade',
    'POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1',
    'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1',
    'GET / HTTP/1.1\r\nContent-Length: -1',
    'GET / HTTP/1.1\r\n Folded: x',
    'GET / HTTP/1.1\r\nBad Name: x',
    'GET / HTTP/1.1\r\nX: a\rb',
    'GET / HTTP/1.1\r\nX: a\x00b',
    'GET /a b HTTP/1.1',
    'G@T / HTTP/1.1',
  ]) {
    assert.equal(parseRequestHead(head), undefined, JSON.stringify(head));
  }
});

test('response heads: framing, the close, and the fields a client gets', () => {
  const r = parseResponseHead(
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A: 1',
  );
  assert.ok(r);
  assert.equal(r.contentLength, 2);
  assert.equal(r.close, false);
  assert.equal(
    clientResponseHead(r, 'Set-Cookie: s=1\r\n'),
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nSet-Cookie: s=1\r\n\r\n',
  );

  const old = parseResponseHead('HTTP/1.0 404 Not Found\r\nContent-Length: 0');
  assert.equal(old?.close, true);
  assert.equal(clientResponseHead(old!, ''), 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  assert.equal(parseResponseHead('HTTP/1.0 200 OK\r\nConnection: keep-alive')?.close, false);

  const chunked = parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked');
  assert.equal(chunked?.chunked, true);
  assert.equal(
    clientResponseHead(chunked!, ''),
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
  );
  const gzipOnly = parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip');
  assert.equal(gzipOnly?.chunked, false);
  assert.equal(gzipOnly?.close, true);
  assert.equal(parseResponseHead('HTTP/1.1 204')?.status, 204);

  for (const head of [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4',
    'HTTP/1.1 2x0 OK',
    'HTTP/2 200 OK',
    'HTTP/1.1 200 OK\r\nno colon',
  ]) {
    assert.equal(parseResponseHead(head), undefined, JSON.stringify(head));
  }
});
