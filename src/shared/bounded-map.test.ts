import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedMap, BoundedSet } from './bounded-map.js';

test('a BoundedMap empties itself when a new key would pass its limit', () => {
  const m = new BoundedMap<string, number>(3);
  m.set('a', 1).set('b', 2).set('c', 3);
  m.set('b', 20); // an existing key: nothing dropped
  assert.deepEqual(
    [...m],
    [
      ['a', 1],
      ['b', 20],
      ['c', 3],
    ],
  );
  m.set('d', 4);
  assert.deepEqual([...m], [['d', 4]]);
});

test('a BoundedSet empties itself when a new value would pass its limit', () => {
  const s = new BoundedSet<number>(2);
  s.add(1).add(2).add(2);
  assert.deepEqual([...s], [1, 2]);
  s.add(3);
  assert.deepEqual([...s], [3]);
});
