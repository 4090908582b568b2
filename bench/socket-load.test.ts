import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signCall } from './calls.js';
import { stopAll } from './children.js';
import { startRawServer } from './raw-server-process.js';
import { completeAnswer, socketLoad } from './socket-load.js';

test('socketLoad keeps N connections busy and counts error answers', async (t) => {
  t.after(stopAll);
  const call = await signCall('DescribeLogGroups', 'http://127.0.0.1:4566');
  const raw = await startRawServer({
    'Logs_20140328.DescribeLogGroups': {
      status: 200,
      headers: [['Content-Type', 'application/x-amz-json-1.1']],
      body: '{"logGroups":[]}',
    },
    '': { status: 400, headers: [['Content-Type', 'text/xml']], body: '<ErrorResponse/>' },
  });
  try {
    const ok = await socketLoad(call, { url: raw.endpoint, concurrency: 4, durationS: 0.5 }, 0.2);
    assert.ok(ok.requests > 100, `only ${ok.requests} requests`);
    assert.equal(ok.non2xx, 0);
    assert.equal(ok.errors, 0);
    assert.ok(ok.p50Ms > 0 && ok.p50Ms <= ok.p99Ms);

    // Without X-Amz-Target the raw server gives its '' answer, a 400.
    const sts = await signCall('GetCallerIdentity', 'http://127.0.0.1:4566');
    const bad = await socketLoad(sts, { url: raw.endpoint, concurrency: 1, durationS: 0.3 }, 0);
    assert.ok(bad.requests > 0);
    assert.equal(bad.non2xx, bad.requests);
  } finally {
    await raw.stop();
  }
});

test('completeAnswer frames content-length and chunked answers, partial ones not yet', () => {
  const sized = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1');
  assert.deepEqual(completeAnswer(sized), { length: 43, status: 200 });
  assert.equal(completeAnswer(sized.subarray(0, 40)), undefined);

  const chunked =
    'HTTP/1.1 502 Bad\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n';
  const next = Buffer.from(chunked + 'HTTP/1.1 200');
  assert.deepEqual(completeAnswer(next), { length: chunked.length, status: 502 });
  for (let cut = chunked.length - 1; cut > chunked.indexOf('\r\n\r\n'); cut--) {
    assert.equal(completeAnswer(Buffer.from(chunked.slice(0, cut))), undefined, `cut at ${cut}`);
  }
  const trailers = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n';
  assert.deepEqual(completeAnswer(Buffer.from(trailers)), { length: trailers.length, status: 200 });

  assert.throws(() => completeAnswer(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /cannot frame/);
});
