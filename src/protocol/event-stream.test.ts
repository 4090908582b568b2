import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, decodeMessages, encodeMessage, eventMessage } from './event-stream.js';

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
