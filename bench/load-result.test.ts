import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combine, quantile, type LoadResult } from './load-result.js';

const slice = (requests: number, p50Ms: number, p99Ms: number, cpu?: number): LoadResult => ({
  rps: requests,
  requests,
  seconds: 1,
  p50Ms,
  p99Ms,
  non2xx: 1,
  errors: 0,
  ...(cpu === undefined ? {} : { serverCpuMs: cpu }),
});

test('combine: rate over all slices, median percentiles, summed failures, CPU per call', () => {
  const c = combine(
    [slice(1000, 0.2, 1), slice(3000, 0.3, 50), slice(2000, 0.25, 2)].map((s) => s),
  );
  assert.equal(c.requests, 6000);
  assert.equal(c.seconds, 3);
  assert.equal(c.rps, 2000);
  assert.equal(c.p50Ms, 0.25);
  assert.equal(c.p99Ms, 2, 'one disturbed slice does not decide the p99');
  assert.equal(c.non2xx, 3);
  assert.equal(c.cpuUsPerCall, undefined, 'no CPU figures, no CPU per call');

  const withCpu = combine([slice(1000, 0.2, 1, 100), slice(3000, 0.3, 2, 200)]);
  assert.equal(withCpu.serverCpuMs, 300);
  assert.equal(withCpu.cpuUsPerCall, 75);
  assert.equal(withCpu.ownCpuUsPerCall, undefined, 'no split: no server share');

  const split = combine([
    { ...slice(1000, 0.2, 1, 100), ownCpuMs: 60 },
    { ...slice(3000, 0.3, 2, 200), ownCpuMs: 90 },
  ]);
  assert.equal(split.ownCpuMs, 150);
  assert.equal(split.ownCpuUsPerCall, 37.5, 'the server process alone, of the tree');
});

test('quantile picks from an ascending list', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(xs, 0.5), 51);
  assert.equal(quantile(xs, 0.99), 100);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});
