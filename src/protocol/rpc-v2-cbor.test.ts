import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cbor, tag } from '@smithy/core/cbor';
import { model } from '../api/cloudwatch/model.js';
import { rpcV2CborCodec } from './rpc-v2-cbor.js';
import type { WireRequest } from './types.js';

const wire = (path: string, body = Buffer.alloc(0)): WireRequest => ({
  method: 'POST',
  path,
  rawQuery: '',
  query: new URLSearchParams(),
  headers: {},
  body,
});

test('the codec names no operation for an escaped or malformed path', () => {
  for (const path of [
    '/service/GraniteServiceVersion20100801/operation/ListMetrics%zz',
    '/service/GraniteServiceVersion20100801/operation/ListMetrics%E0%A4%A',
    '/service/GraniteServiceVersion20100801/operation/List%4Detrics',
    '/service/x/operation/',
  ]) {
    const r = rpcV2CborCodec.resolveOperation(
      {
        method: 'POST',
        path,
        rawQuery: '',
        query: new URLSearchParams(),
        headers: {},
        body: Buffer.alloc(0),
      },
      model,
    );
    assert.equal((r as { code?: string }).code, 'UnknownOperationException', path);
  }
});

test('input is read by the model: timestamps from tag 1, unknown members dropped', () => {
  const op = rpcV2CborCodec.resolveOperation(
    wire('/service/GraniteServiceVersion20100801/operation/GetMetricStatistics'),
    model,
  );
  assert.ok(!('code' in op));
  const body = Buffer.from(
    cbor.serialize({
      Namespace: 'n',
      MetricName: 'm',
      StartTime: tag({ tag: 1, value: 1700000000.5 }),
      EndTime: 1700000060,
      Period: 60,
      Statistics: ['Sum'],
      Extra: { anything: 1 },
    }),
  );
  const input = rpcV2CborCodec.parseInput(wire('/', body), op as never, model);
  assert.deepEqual(input, {
    Namespace: 'n',
    MetricName: 'm',
    StartTime: new Date(1700000000500),
    EndTime: new Date(1700000060000),
    Period: 60,
    Statistics: ['Sum'],
  });
  const bad = Buffer.from(cbor.serialize({ Namespace: ['not', 'a', 'string'] }));
  assert.throws(
    () => rpcV2CborCodec.parseInput(wire('/', bad), op as never, model),
    (e: { code?: string }) => e.code === 'SerializationException',
  );
});
