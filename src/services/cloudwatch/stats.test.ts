import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSet, addValue, emptyBucket, mergeBucket, percentile, statistic } from './stats.js';

test('standard statistics and nearest-rank percentiles of exact values', () => {
  const b = emptyBucket(0);
  for (let v = 1; v <= 100; v++) addValue(b, v);
  assert.equal(statistic(b, 'SampleCount'), 100);
  assert.equal(statistic(b, 'Sum'), 5050);
  assert.equal(statistic(b, 'Average'), 50.5);
  assert.equal(statistic(b, 'p50'), 50);
  assert.equal(statistic(b, 'p99'), 99);
  assert.equal(statistic(b, 'p99.5'), 100);
  assert.equal(statistic(b, 'p0'), 1);
  assert.equal(statistic(b, 'nope'), undefined);
});

test('past 512 values a bucket keeps a histogram: percentiles within 1%, size bounded', () => {
  const b = emptyBucket(0);
  for (let i = 1; i <= 100_000; i++) addValue(b, i);
  assert.equal(b.v, undefined);
  assert.ok(Object.keys(b.h ?? {}).length < 700);
  for (const p of [50, 90, 99]) {
    const got = percentile(b, p) ?? NaN;
    assert.ok(Math.abs(got - p * 1000) / (p * 1000) < 0.01, `p${p} = ${got}`);
  }
});

test('statistic sets: no percentiles, unless they are n equal values', () => {
  const b = emptyBucket(0);
  addSet(b, 4, 10, 1, 4);
  assert.equal(statistic(b, 'Sum'), 10);
  assert.equal(statistic(b, 'p50'), undefined);
  const same = emptyBucket(0);
  addSet(same, 3, 6, 2, 2);
  assert.equal(statistic(same, 'p90'), 2);
});

test('merging buckets (roll-up) keeps counts, extremes and values', () => {
  const a = emptyBucket(0);
  const b = emptyBucket(60_000);
  addValue(a, 5, 3);
  addValue(b, 1);
  addValue(b, 9);
  const into = emptyBucket(0);
  mergeBucket(into, a);
  mergeBucket(into, b);
  assert.deepEqual([into.n, into.s, into.mn, into.mx], [5, 25, 1, 9]);
  assert.equal(percentile(into, 50), 5);
});
