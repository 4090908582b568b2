/**
 * The pre-start pool's refill: a taken process is replaced only once its cold start is over,
 * so that the replacement's spawn and interpreter start-up do not share the CPU with it.
 * The warm pool's sweep: which idle environments end.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  json,
  request,
  spec,
  useExecutorHarness,
  waitForPrestart,
} from '../../../../test/helpers/lambda-executor.js';
import type { Environment } from './environment.js';
import { WarmPool } from './pool.js';

const harness = useExecutorHarness();

/**
 * The runtime pids recorded under a tmp root (one owner file per environment), read
 * synchronously: called right after an awaited answer, it sees the tree as it was when the
 * answer was handed on, before any setImmediate callback (the refill) ran.
 */
function runtimePidsNow(root: string): number[] {
  return readdirSync(root).flatMap((d) => {
    const owner = readFileSync(join(root, d, 'owner'), 'utf8');
    return [Number(owner.trim().split(' ')[1])];
  });
}

describe('pre-start pool refill', () => {
  test('the replacement starts after the first answer, and serves the next cold start', async () => {
    const root = join(harness.ws.root, 'refill-envs');
    const ex = harness.executor({ prestart: { node: 1 }, prestartNow: true, tmpRoot: root });
    const code = await harness.ws.dir('refill-node', {
      'index.js': 'exports.handler = async () => ({ pid: process.pid });',
    });
    const [first] = await waitForPrestart(root, 1);

    const a = await ex.invoke(spec(code, { functionName: 'refill-a' }), request());
    assert.equal(a.kind, 'success', a.payload.toString());
    assert.equal((json(a) as { pid: number }).pid, first);
    // The answer is back and no replacement has been spawned yet.
    assert.deepEqual(runtimePidsNow(root), [first]);

    const both = await waitForPrestart(root, 2);
    const [second] = [...both].filter((p) => p !== first);
    const b = await ex.invoke(spec(code, { functionName: 'refill-b' }), request());
    assert.equal(b.kind, 'success', b.payload.toString());
    assert.equal((json(b) as { pid: number }).pid, second, 'served by the replacement');
  });
});

describe('warm pool sweep', () => {
  test('idle environments past the keep-alive or the lifetime end; provisioned ones stay', () => {
    const now = 1_000_000;
    // The fields the pool reads, on stand-ins: no runtime process is involved.
    type Named = Environment & { name: string };
    const env = (name: string, idleFor: number, age: number, provisioned = false): Named =>
      ({
        name,
        spec: { revisionId: 'r1' },
        lastUsedAt: now - idleFor,
        startedAt: now - age,
        provisioned,
      }) as unknown as Named;
    const pool = new WarmPool();
    const g = pool.group(WarmPool.key('000000000000', 'us-east-1', 'f'));
    const stack = [
      env('idle-too-long', 600, 700),
      env('provisioned-old', 600, 9000, true),
      env('too-old', 10, 5000),
      env('young', 10, 100),
      env('recent', 0, 300),
    ];
    for (const e of stack) g.putBack(e);
    const gone = pool.expired(now, 500, 1000) as Named[];
    assert.deepEqual(
      gone.map((e) => e.name),
      ['idle-too-long', 'too-old'],
    );
    assert.deepEqual(
      (g.idle.get('r1') as Named[]).map((e) => e.name),
      ['provisioned-old', 'young', 'recent'],
      'the rest keep their order (the most recently used on top)',
    );
    assert.deepEqual(pool.expired(now, 500, 1000), []);
  });
});
