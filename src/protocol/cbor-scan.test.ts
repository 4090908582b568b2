import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cbor, tag } from '@smithy/core/cbor';
import { cborProblem } from './cbor-scan.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

test('what the SDK encodes passes: maps, lists, strings, numbers, timestamps, blobs', () => {
  const doc = {
    a: [1, -2, 3.5, 2 ** 40, 'x'.repeat(300)],
    t: tag({ tag: 1, value: 1700000000.5 }),
    b: Uint8Array.from([1, 2, 3]),
    nested: { ok: true, none: null },
  };
  assert.equal(cborProblem(cbor.serialize(doc)), undefined);
  // Indefinite-length map and text chunks.
  assert.equal(
    cborProblem(bytes(0xbf, 0x61, 0x61, 0x7f, 0x61, 0x62, 0x61, 0x63, 0xff, 0xff)),
    undefined,
  );
});

test('truncated, trailing, reserved and oversized input is refused before decoding', () => {
  assert.match(String(cborProblem(bytes(0xa1, 0x61))), /end of CBOR/);
  assert.match(String(cborProblem(bytes(0x01, 0x02))), /after the CBOR item/);
  assert.match(String(cborProblem(bytes(0x1c))), /Reserved/);
  assert.match(
    String(cborProblem(bytes(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))),
    /end of CBOR/,
  );
  assert.match(String(cborProblem(bytes(0xff))), /break/);
  assert.match(String(cborProblem(bytes(0x7f, 0x41, 0x00, 0xff))), /chunk/);
});

test('deep nesting, foreign tags and huge decimal exponents are refused', () => {
  assert.match(String(cborProblem(new Uint8Array(2000).fill(0x81))), /too deep/);
  assert.match(String(cborProblem(new Uint8Array(2000).fill(0x9f))), /too deep/);
  assert.match(String(cborProblem(bytes(0xd8, 0x1b, 0x80))), /tag 27/);
  assert.match(String(cborProblem(bytes(0xc4, 0x82, 0x1a, 0x10, 0, 0, 0, 0x01))), /exponent/);
  assert.equal(cborProblem(bytes(0xc4, 0x82, 0x21, 0x19, 0x6a, 0xb3)), undefined);
});
