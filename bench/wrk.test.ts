import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signCall } from './calls.js';
import { stopAll } from './children.js';
import { startRawServer } from './raw-server-process.js';
import { findWrk, parseWrkOutput, wrkLoad, wrkScript } from './wrk.js';

// Output of `wrk -t1 -c2 -d1s --latency` against a server answering 500.
const SAMPLE = `Running 1s test @ http://127.0.0.1:4588/bad
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.68ms    8.73ms  71.12ms   95.17%
    Req/Sec     4.78k     1.80k    7.51k    80.00%
  Latency Distribution
     50%  229.00us
     75%    1.40ms
     90%    4.17ms
     99%   55.29ms
  4787 requests in 1.00s, 668.50KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4787
Requests/sec:   4764.33
Transfer/sec:    665.33KB
`;

test('parseWrkOutput reads rate, percentiles in any unit, bad answers and socket errors', () => {
  assert.deepEqual(parseWrkOutput(SAMPLE), {
    rps: 4764.33,
    requests: 4787,
    seconds: 1,
    p50Ms: 0.229,
    p90Ms: 4.17,
    p99Ms: 55.29,
    non2xx: 4787,
    errors: 3,
  });
  assert.throws(() => parseWrkOutput('wrk: command failed'), /unexpected wrk output/);
});

test('wrkScript sets method, path, body and the signed headers, Host under its own key', async () => {
  const call = await signCall('DescribeLogGroups', 'http://127.0.0.1:4566');
  const lua = wrkScript(call);
  assert.match(lua, /^wrk\.method = "POST"$/m);
  assert.match(lua, /^wrk\.body = "\{\}"$/m);
  assert.match(lua, /^wrk\.headers\["Host"\] = "127\.0\.0\.1:4566"$/m);
  assert.match(lua, /^wrk\.headers\["x-amz-target"\] = "Logs_20140328\.DescribeLogGroups"$/m);
  assert.match(lua, /^wrk\.headers\["authorization"\] = "AWS4-HMAC-SHA256 Credential=test\//m);
  assert.doesNotMatch(lua, /"host"/);
});

test(
  'wrkLoad drives the raw server and counts its non-2xx answers',
  { skip: !findWrk() },
  async (t) => {
    t.after(stopAll);
    const call = await signCall('GetCallerIdentity', 'http://127.0.0.1:4566');
    const answer = (status: number) => ({
      status,
      headers: [['Content-Type', 'text/xml']] as [string, string][],
      body: '<ok/>',
    });
    const good = await startRawServer({ '': answer(200) });
    const ok = await wrkLoad(
      findWrk() ?? '',
      call,
      { url: good.endpoint, concurrency: 2, durationS: 1 },
      0,
    );
    await good.stop();
    assert.ok(ok.requests > 100, `only ${ok.requests} requests`);
    assert.equal(ok.non2xx, 0);
    assert.ok(ok.p50Ms > 0 && ok.p50Ms <= ok.p99Ms);

    const bad = await startRawServer({ '': answer(503) });
    const ko = await wrkLoad(
      findWrk() ?? '',
      call,
      { url: bad.endpoint, concurrency: 1, durationS: 1 },
      0,
    );
    await bad.stop();
    assert.equal(ko.non2xx, ko.requests);
  },
);
