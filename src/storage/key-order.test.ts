import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareKeys, prefixUpperBound } from './key-order.js';

const utf8Compare = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Random well-formed strings over code points chosen to straddle the tricky ranges. */
function randomKeys(count: number): string[] {
  const alphabet = [
    0x61, 0x62, 0x7f, 0xe9, 0xd7ff, 0xe000, 0xfffe, 0xffff, 0x10000, 0x1f600, 0x10ffff,
  ];
  let state = 7;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  return Array.from({ length: count }, () =>
    String.fromCodePoint(
      ...Array.from({ length: next() % 4 }, () => alphabet[next() % alphabet.length] as number),
    ),
  );
}

test('compareKeys orders like UTF-8 bytes, unlike JavaScript <', () => {
  const keys = randomKeys(300);
  for (const a of keys) {
    for (const b of keys.slice(0, 60)) {
      assert.equal(
        Math.sign(compareKeys(a, b)),
        Math.sign(utf8Compare(a, b)),
        `${escape(a)} vs ${escape(b)}`,
      );
    }
  }
  // The case JavaScript gets "wrong": U+FFFF sorts before U+10000 in UTF-8.
  assert.ok('\u{10000}' < '\uffff');
  assert.ok(compareKeys('\uffff', '\u{10000}') < 0);
});

test('prefixUpperBound is the tightest exclusive bound of a prefix range', () => {
  assert.equal(prefixUpperBound(''), undefined);
  assert.equal(prefixUpperBound('a'), 'b');
  assert.equal(prefixUpperBound('fn/'), 'fn0');
  assert.equal(prefixUpperBound('a\u{10ffff}'), 'b');
  assert.equal(prefixUpperBound('\u{10ffff}\u{10ffff}'), undefined);
  assert.equal(prefixUpperBound('\ud7ff'), '\ue000');
  assert.equal(prefixUpperBound('\uffff'), '\u{10000}');
  assert.equal(prefixUpperBound('x\u{1f600}'), 'x\u{1f601}');

  const keys = randomKeys(400);
  for (const prefix of keys.slice(0, 80)) {
    const bound = prefixUpperBound(prefix);
    for (const key of keys) {
      const inRange =
        utf8Compare(key, prefix) >= 0 && (bound === undefined || utf8Compare(key, bound) < 0);
      assert.equal(inRange, key.startsWith(prefix), `${escape(key)} / prefix ${escape(prefix)}`);
    }
  }
});
