import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { model as logs } from '../api/logs/model.js';
import {
  crc32,
  decodeMessages,
  encodeMessage,
  EVENT_STREAM_CONTENT_TYPE,
  eventMessage,
} from './event-stream.js';
import { jsonCodec } from './json.js';

test('crc32 is the IEEE CRC-32', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('messages frame headers and payload with both CRCs', () => {
  const payload = Buffer.from('{"hello":"world"}');
  const msg = eventMessage('PayloadChunk', 'application/octet-stream', payload);
  // prelude (12) + headers + payload + message CRC (4)
  const headersLength = msg.readUInt32BE(4);
  assert.equal(msg.readUInt32BE(0), msg.length);
  assert.equal(msg.length, 12 + headersLength + payload.length + 4);
  const [decoded] = decodeMessages(msg);
  assert.deepEqual(decoded.headers, {
    ':event-type': 'PayloadChunk',
    ':content-type': 'application/octet-stream',
    ':message-type': 'event',
  });
  assert.deepEqual(decoded.payload, payload);
});

test('several messages decode in order; a flipped bit is caught', () => {
  const a = encodeMessage({ ':event-type': 'A' }, Buffer.from('1'));
  const b = encodeMessage({ ':event-type': 'B' }, Buffer.alloc(0));
  const both = Buffer.concat([a, b]);
  assert.deepEqual(
    decodeMessages(both).map((m) => m.headers[':event-type']),
    ['A', 'B'],
  );
  const bad = Buffer.from(a);
  bad[bad.length - 6] ^= 1;
  assert.throws(() => decodeMessages(bad), /CRC/);
});

test('an eventstream output member goes out as initial-response, events and exceptions', async () => {
  async function* stream() {
    yield { sessionStart: { sessionId: 's-1', logGroupIdentifiers: ['/g'] } };
    yield { sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: [] } };
    yield { SessionTimeoutException: { message: 'timed out' } };
  }
  const output = { responseStream: stream() };
  const wire = jsonCodec.serializeOutput(output, logs.operations.StartLiveTail, logs, {
    requestId: 'r',
  });
  assert.equal(wire.headers['Content-Type'], EVENT_STREAM_CONTENT_TYPE);
  assert.ok(wire.body instanceof Readable);
  const chunks: Buffer[] = [];
  for await (const chunk of wire.body) chunks.push(chunk as Buffer);
  const messages = decodeMessages(Buffer.concat(chunks));
  assert.deepEqual(
    messages.map((m) => [
      m.headers[':message-type'],
      m.headers[':event-type'] ?? m.headers[':exception-type'],
      JSON.parse(m.payload.toString('utf8')) as unknown,
    ]),
    [
      ['event', 'initial-response', {}],
      ['event', 'sessionStart', { sessionId: 's-1', logGroupIdentifiers: ['/g'] }],
      ['event', 'sessionUpdate', { sessionMetadata: { sampled: false }, sessionResults: [] }],
      ['exception', 'SessionTimeoutException', { message: 'timed out' }],
    ],
  );
});
