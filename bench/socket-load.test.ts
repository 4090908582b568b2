import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signCall } from './calls.js';
import { stopAll } from './children.js';
import { startRawServer } from './raw-server-process.js';
import { socketLoad } from './socket-load.js';

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
