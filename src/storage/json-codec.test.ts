import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDocument, encodeDocument } from './json-codec.js';

test('documents without Dates or bytes are plain JSON', () => {
  const doc = { a: 1, b: ['x', { c: null }], d: 'text with {"$date":1} inside' };
  assert.equal(encodeDocument(doc), JSON.stringify(doc));
  assert.deepEqual(decodeDocument(encodeDocument(doc)), doc);
});

test('Dates and byte arrays are tagged and revived', () => {
  const doc = {
    at: new Date(1_700_000_000_123),
    list: [new Date(0), 'x', Buffer.from('hi')],
    bytes: new Uint8Array([1, 2, 3]),
    nested: { deeper: { at: new Date(42) } },
  };
  const text = encodeDocument(doc);
  assert.equal(
    text,
    '{"at":{"$date":1700000000123},"list":[{"$date":0},"x",{"$b64":"aGk="}],' +
      '"bytes":{"$b64":"AQID"},"nested":{"deeper":{"at":{"$date":42}}}}',
  );
  const back = decodeDocument<typeof doc>(text);
  assert.deepEqual(back.at, doc.at);
  assert.deepEqual(back.list[0], new Date(0));
  assert.deepEqual(back.list[2], Buffer.from('hi'));
  assert.deepEqual(back.bytes, Buffer.from([1, 2, 3]));
  assert.deepEqual(back.nested.deeper.at, new Date(42));
  assert.deepEqual(decodeDocument(encodeDocument(new Date(7))), new Date(7));
});

test('edge cases: invalid Date, __proto__ keys, toJSON, look-alike objects, undefined', () => {
  assert.equal(encodeDocument({ d: new Date(NaN) }), '{"d":null}');
  const tricky = JSON.parse('{"__proto__":{"polluted":true},"at":0}') as Record<string, unknown>;
  tricky.at = new Date(1);
  const back = decodeDocument<Record<string, unknown>>(encodeDocument(tricky));
  assert.deepEqual(Object.keys(back), ['__proto__', 'at']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const custom = { toJSON: () => 'custom', when: new Date(3) };
  assert.equal(encodeDocument({ custom, at: new Date(1) }), '{"custom":"custom","at":{"$date":1}}');
  // Only single-key objects are tags.
  assert.deepEqual(decodeDocument('{"x":{"$date":1,"other":2}}'), { x: { $date: 1, other: 2 } });
  assert.throws(() => encodeDocument(undefined), TypeError);
});
