/**
 * The what-if's arithmetic: Lambda's monthly bill with the free tier, the break-even rate
 * against a server, the peak of concurrent invocations and the sizes it picks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  breakEvenRequests,
  fargateFor,
  lambdaMonthly,
  peakOf,
  whatIf,
  type Invocation,
} from './what-if.js';

const cents = (n: number) => Math.round(n * 100) / 100;

test("Lambda's month: AWS's page example (30M × 200 ms at 128 MB) is $11.63", () => {
  assert.equal(cents(lambdaMonthly(30_000_000, 0.2 * 0.125, false)), 11.63);
  assert.equal(lambdaMonthly(1_000_000, 0.4, false), 0, 'inside the free tier');
});

test('the break-even is where Lambda costs what the server does', () => {
  const g = 0.3; // 300 ms at 1 GB
  const r = breakEvenRequests(24, g, false);
  assert.ok(Math.abs(lambdaMonthly(r, g, false) - 24) < 0.01);
  assert.ok(lambdaMonthly(r * 0.9, g, false) < 24 && lambdaMonthly(r * 1.1, g, false) > 24);
});

test('the peak counts invocations that overlap, and their memory', () => {
  const rows: Invocation[] = [
    {
      functionName: 'a',
      timestamp: 1000,
      billedDurationMs: 1000,
      memoryMb: 512,
      architecture: 'x86_64',
    },
    {
      functionName: 'a',
      timestamp: 1500,
      billedDurationMs: 1000,
      memoryMb: 512,
      architecture: 'x86_64',
    },
    {
      functionName: 'b',
      timestamp: 1000,
      billedDurationMs: 100,
      memoryMb: 1024,
      architecture: 'x86_64',
    },
    {
      functionName: 'a',
      timestamp: 5000,
      billedDurationMs: 10,
      memoryMb: 512,
      architecture: 'x86_64',
    },
  ];
  assert.deepEqual(peakOf(rows), { concurrency: 3, gb: 2 });
  // One that ends as the next starts does not overlap it.
  assert.equal(peakOf([rows[0], { ...rows[0], timestamp: 2000 }]).concurrency, 1);
});

test('Fargate picks the cheapest valid size with the memory and CPU asked', () => {
  assert.match(fargateFor(0.5, 0.25).what, /^1 × 0.25 vCPU \/ 0.5 GB task/);
  assert.match(fargateFor(3, 1).what, /^1 × 1 vCPU \/ 3 GB task/);
  assert.match(fargateFor(200, 4).what, /^2 × /, 'beyond the largest task: two of them');
});

test('a trickle picks Lambda, a flood picks the server', () => {
  const hour = 3_600_000;
  const trickle: Invocation[] = Array.from({ length: 10 }, (_, i) => ({
    functionName: 'f',
    timestamp: i * 60_000 + 100,
    billedDurationMs: 100,
    memoryMb: 128,
    architecture: 'x86_64',
  }));
  const t = whatIf(trickle, 0, hour);
  assert.equal(t.cheapest, 'lambda');
  assert.ok(t.breakEven && t.monthlyRequests < t.breakEven.requestsPerMonth);
  // 50 requests a second of 200 ms at 512 MB, for a minute: ~131M requests a month.
  const flood: Invocation[] = Array.from({ length: 3000 }, (_, i) => ({
    functionName: 'f',
    timestamp: 200 + i * 20,
    billedDurationMs: 200,
    memoryMb: 512,
    architecture: 'x86_64',
  }));
  const f = whatIf(flood, 0, 60_000);
  assert.notEqual(f.cheapest, 'lambda');
  assert.ok(f.breakEven && f.monthlyRequests > f.breakEven.requestsPerMonth);
  assert.equal(f.observed.peakConcurrency, 10);
});

test('no invocations: nothing is priced, and it says why', () => {
  const w = whatIf([], 0, 1000);
  assert.equal(w.options.length, 0);
  assert.match(w.empty ?? '', /no Lambda invocations/);
});
