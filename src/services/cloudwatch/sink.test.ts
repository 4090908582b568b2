import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteMetadataStore } from '../../storage/sqlite-store.js';
import { AlarmEngine } from './alarm-engine.js';
import { MetricStore } from './series.js';
import { CloudwatchSink } from './sink.js';

test('a frozen dimension list lands in the right minute, scope and unit across flushes', async () => {
  const store = new SqliteMetadataStore(':memory:');
  try {
    const series = new MetricStore(store);
    const alarms = new AlarmEngine({
      store,
      metrics: series,
      now: Date.now,
      warn: () => undefined,
    });
    const sink = new CloudwatchSink(series, alarms, (err) => assert.fail(String(err)));
    const a = { account: '111111111111', region: 'us-east-1' };
    const b = { account: '222222222222', region: 'us-east-1' };
    const dims = Object.freeze([Object.freeze({ Name: 'JobQueueName', Value: 'q' })]);
    const minute = 60_000 * 29_000_000;
    sink.put(a, 'AWS/Batch', 'JobsSubmitted', dims, 1, 'Count', minute + 1_000);
    sink.put(a, 'AWS/Batch', 'JobsSubmitted', dims, 3, 'Count', minute + 2_000);
    sink.put(b, 'AWS/Batch', 'JobsSubmitted', dims, 7, 'Count', minute + 3_000);
    await sink.flush();
    // After a flush the remembered aggregate is gone: these go to new ones.
    sink.put(a, 'AWS/Batch', 'JobsSubmitted', dims, 1, 'Count', minute + 4_000);
    sink.put(a, 'AWS/Batch', 'JobsSubmitted', dims, 5, 'Count', minute + 60_000);
    sink.put(a, 'AWS/Batch', 'JobsSubmitted', dims, 9, 'Milliseconds', minute + 60_500);
    await sink.flush();

    const sums = async (scope: typeof a, unit: string): Promise<number[]> => {
      const s = await series.find(scope, 'AWS/Batch', 'JobsSubmitted', dims);
      assert.ok(s);
      const buckets = series.aggregate(s, minute, minute + 120_000, 60, unit);
      return [...buckets.values()].sort((x, y) => x.t - y.t).map((x) => x.s);
    };
    assert.deepEqual(await sums(a, 'Count'), [5, 5]);
    assert.deepEqual(await sums(a, 'Milliseconds'), [9]);
    assert.deepEqual(await sums(b, 'Count'), [7]);
  } finally {
    await store.close();
  }
});
