import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeys } from '../../storage/key-order.js';
import { validation } from './errors.js';
import { applyUpdate, evaluate, project } from './evaluate.js';
import { ExpressionScope, parseCondition, parseProjection, parseUpdate } from './expressions.js';
import {
  addNumbers,
  canonicalNumber,
  compareScalars,
  encodeKeyValue,
  parseNumber,
} from './values.js';

test('number key encodings sort as the numbers do', () => {
  const numbers = [
    '0',
    '-0',
    '1',
    '-1',
    '10',
    '-10',
    '1.5',
    '-1.5',
    '1.05',
    '-1.05',
    '0.001',
    '-0.001',
    '9.9999999999999999999999999999999999999E+125',
    '-9.9999999999999999999999999999999999999E+125',
    '1E-130',
    '-1E-130',
    '100',
    '99.999',
    '-99.999',
    '123456789012345678901234567890',
    '2',
    '20',
    '0.2',
  ];
  const byValue = [...numbers].sort((a, b) => compareScalars({ N: a }, { N: b }) as number);
  const byKey = [...numbers].sort((a, b) =>
    compareKeys(`${encodeKeyValue({ N: a })}/`, `${encodeKeyValue({ N: b })}/`),
  );
  assert.deepEqual(byKey.map(canonicalNumber), byValue.map(canonicalNumber));
  for (const n of numbers) assert.ok(!encodeKeyValue({ N: n }).includes('/'));
});

test('string keys sort by UTF-8 bytes, a prefix first', () => {
  const strings = ['a', 'ab', 'b', '', 'A', 'é', '\u{1F600}', '\uFFFD', 'a\u0000'].filter(Boolean);
  const byBytes = [...strings].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const byKey = [...strings].sort((a, b) =>
    compareKeys(`${encodeKeyValue({ S: a })}/`, `${encodeKeyValue({ S: b })}/`),
  );
  assert.deepEqual(byKey, byBytes);
});

test('numbers: canonical form, arithmetic, AWS refusals', () => {
  assert.equal(canonicalNumber('001.500'), '1.5');
  assert.equal(canonicalNumber('1e3'), '1000');
  assert.equal(canonicalNumber('-0.0'), '0');
  assert.equal(addNumbers('0.1', '0.2'), '0.3');
  assert.equal(addNumbers('5', '7.25', true), '-2.25');
  assert.throws(
    () => parseNumber('abc'),
    validation('The parameter cannot be converted to a numeric value: abc'),
  );
  assert.throws(() => parseNumber('1E+126'), /Number overflow/);
  assert.throws(
    () => parseNumber('1234567890123456789012345678901234567890'),
    /38 significant digits/,
  );
});

test('conditions, projections and updates on nested documents', () => {
  const item = {
    a: { M: { b: { L: [{ N: '1' }, { S: 'x' }, { N: '3' }] } } },
    s: { SS: ['p', 'q'] },
    n: { N: '5' },
  };
  const scope = new ExpressionScope(
    { '#a': 'a' },
    { ':x': { S: 'x' }, ':five': { N: '5' }, ':p': { S: 'p' } },
  );
  const cond = parseCondition(
    '#a.b[1] = :x AND n >= :five AND contains(s, :p) AND NOT attribute_exists(zz) AND size(#a.b) = :three',
    'ConditionExpression',
    new ExpressionScope(
      { '#a': 'a' },
      { ':x': { S: 'x' }, ':five': { N: '5' }, ':p': { S: 'p' }, ':three': { N: '3' } },
    ),
  );
  assert.equal(evaluate(item, cond), true);
  assert.deepEqual(project(item, parseProjection('#a.b[2], #a.b[0], n', scope)), {
    a: { M: { b: { L: [{ N: '1' }, { N: '3' }] } } },
    n: { N: '5' },
  });
  const updated = applyUpdate(
    item,
    parseUpdate(
      'SET #a.b[5] = :x, n = n + :five REMOVE #a.b[0] ADD s :p',
      new ExpressionScope(
        { '#a': 'a' },
        { ':x': { S: 'x' }, ':five': { N: '5' }, ':p': { SS: ['r'] } },
      ),
    ),
  );
  assert.deepEqual(updated.a, { M: { b: { L: [{ S: 'x' }, { N: '3' }, { S: 'x' }] } } });
  assert.deepEqual(updated.n, { N: '10' });
  assert.deepEqual(updated.s, { SS: ['p', 'q', 'r'] });
  assert.deepEqual(item.n, { N: '5' }, 'the original is untouched');
  assert.throws(
    () => parseCondition('a = ', 'ConditionExpression', new ExpressionScope(undefined, undefined)),
    /^ValidationException: Invalid ConditionExpression: Syntax error; token: "<EOF>"/,
  );
});
