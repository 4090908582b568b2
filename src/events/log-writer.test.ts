import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogBatch, LogEventInput, LogSink } from './logs.js';
import { LogWriter } from './log-writer.js';

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
