import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogBatch, LogEventInput, LogSink } from './logs.js';
import { EVENTS_PER_APPEND, LogWriter } from './log-writer.js';

const scope = { account: '000000000000', region: 'us-east-1' };

test('a flush hands every stream to appendMany in one call, in order', async () => {
  const calls: LogBatch[][] = [];
  const sink: LogSink = {
    append: () => Promise.reject(new Error('append is not used when appendMany exists')),
    appendMany: (batches) => {
      calls.push(batches.map((b) => ({ ...b, events: [...b.events] })));
      return Promise.resolve();
    },
  };
  const writer = new LogWriter(sink, 60_000, (err) => assert.fail(String(err)));
  const a = writer.open(scope, '/aws/lambda/f', 'a');
  const b = writer.open(scope, '/aws/lambda/f', 'b');
  a.push(1, 'START a');
  b.push(2, 'START b');
  a.push(3, 'END a');
  await writer.flush();
  assert.equal(calls.length, 1);
  assert.deepEqual(
    calls[0].map((c) => [c.logStreamName, c.events.map((e) => e.message)]),
    [
      ['a', ['START a', 'END a']],
      ['b', ['START b']],
    ],
  );
  await writer.flush();
  assert.equal(calls.length, 1, 'nothing new: no call');
});

test('a large flush goes in slices of EVENTS_PER_APPEND events, the event loop turning between', async () => {
  const calls: (readonly LogBatch[])[] = [];
  const turns: number[] = [];
  const sink: LogSink = {
    append: () => Promise.reject(new Error('append is not used when appendMany exists')),
    appendMany: (batches) => {
      calls.push(batches);
      // Queued behind this slice: it runs before the next slice only if the loop turns.
      setImmediate(() => turns.push(calls.length));
      return Promise.resolve();
    },
  };
  const writer = new LogWriter(sink, 60_000, (err) => assert.fail(String(err)));
  const sizes = { a: EVENTS_PER_APPEND + 10, b: 3, c: 2 * EVENTS_PER_APPEND };
  for (const [name, n] of Object.entries(sizes)) {
    const stream = writer.open(scope, '/aws/lambda/f', name);
    for (let i = 0; i < n; i++) stream.push(i, `${name} ${i}`);
  }
  await writer.flush();
  const total = sizes.a + sizes.b + sizes.c;
  assert.equal(calls.length, Math.ceil(total / EVENTS_PER_APPEND));
  for (const slice of calls.slice(0, -1)) {
    assert.equal(
      slice.reduce((n, b) => n + b.events.length, 0),
      EVENTS_PER_APPEND,
    );
  }
  // Each stream's events arrive whole and in order across the slices.
  for (const [name, n] of Object.entries(sizes)) {
    const got = calls.flat().filter((b) => b.logStreamName === name);
    assert.deepEqual(
      got.flatMap((b) => b.events.map((e) => e.message)),
      Array.from({ length: n }, (_, i) => `${name} ${i}`),
    );
  }
  assert.deepEqual(
    turns.slice(0, calls.length - 1),
    Array.from({ length: calls.length - 1 }, (_, i) => i + 1),
  );
});

test('a sink without appendMany gets one append per stream', async () => {
  const seen: [string, LogEventInput[]][] = [];
  const sink: LogSink = {
    append: (_scope, _group, stream, events) => {
      seen.push([stream, events]);
      return Promise.resolve();
    },
  };
  const writer = new LogWriter(sink, 60_000, (err) => assert.fail(String(err)));
  writer.open(scope, '/g', 'x').push(1, 'one');
  writer.open(scope, '/g', 'y').push(2, 'two');
  await writer.flush();
  assert.deepEqual(
    seen.map(([s, e]) => [s, e.length]),
    [
      ['x', 1],
      ['y', 1],
    ],
  );
});
