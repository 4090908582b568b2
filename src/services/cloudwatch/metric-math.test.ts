import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluate,
  MathError,
  parseExpression,
  type MathContext,
  type MathValue,
} from './metric-math.js';
import { compileSearch } from './search.js';

const N = NaN;
const series = (label: string, values: number[]): MathValue => ({
  kind: 'series',
  s: { label, values: Float64Array.from(values) },
});
const ctx = (refs: Record<string, MathValue>): MathContext => ({
  timestamps: [0, 60_000, 120_000, 180_000],
  periodSec: 60,
  ref: (id) => refs[id],
  metrics: () => Object.values(refs).flatMap((v) => (v.kind === 'series' ? [v.s] : [])),
  search: () => [],
  band: () => {
    throw new MathError('no band');
  },
});
const run = (expr: string, refs: Record<string, MathValue>): number[] | number => {
  const v = evaluate(parseExpression(expr), ctx(refs));
  if (v.kind === 'scalar') return v.v;
  if (v.kind === 'series') return [...v.s.values];
  throw new Error(v.kind);
};

test('arithmetic on series and scalars; missing points stay missing', () => {
  const refs = { a: series('a', [1, 2, N, 4]), b: series('b', [10, 20, 30, 40]) };
  assert.deepEqual(run('a + b * 2', refs), [21, 42, N, 84]);
  assert.deepEqual(run('(a + 1) ^ 2 - -1', refs), [5, 10, N, 26]);
  assert.deepEqual(run('b / a', refs), [10, 10, N, 10]);
});

test('aggregates: one series gives a scalar, several a series', () => {
  const refs = { a: series('a', [1, 2, N, 4]), b: series('b', [10, 20, 30, 40]) };
  assert.equal(run('SUM(a)', refs), 7);
  assert.equal(run('MAX(b)', refs), 40);
  assert.deepEqual(run('SUM(METRICS())', refs), [11, 22, 30, 44]);
  assert.deepEqual(run('AVG(a, b)', refs), [5.5, 11, 30, 22]);
  assert.deepEqual(run('a / SUM(a)', refs), [1 / 7, 2 / 7, N, 4 / 7]);
});

test('FILL, IF, RATE, DIFF, comparisons', () => {
  const refs = { a: series('a', [2, N, N, 8]) };
  assert.deepEqual(run('FILL(a, 0)', refs), [2, 0, 0, 8]);
  assert.deepEqual(run('FILL(a, REPEAT)', refs), [2, 2, 2, 8]);
  assert.deepEqual(run('FILL(a, LINEAR)', refs), [2, 4, 6, 8]);
  assert.deepEqual(run('IF(a > 5, 1, 0)', refs), [0, N, N, 1]);
  assert.deepEqual(run('DIFF(a)', refs), [N, N, N, 6]);
  assert.deepEqual(run('RATE(a)', refs), [N, N, N, 6 / 180]);
  assert.deepEqual(run('a >= 2 AND a < 8', refs), [1, N, N, 0]);
});

test('syntax errors are MathErrors', () => {
  for (const bad of ['a +', '(a', 'FOO(a)', 'a $ b', "'open"]) {
    assert.throws(() => evaluate(parseExpression(bad), ctx({ a: series('a', [1, 1, 1, 1]) })));
  }
});

test('search expressions: schema, exact and partial terms, OR and NOT', () => {
  const m = (namespace: string, name: string, dims: Record<string, string>) => ({
    namespace,
    name,
    dims: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
  });
  const all = [
    m('AWS/Lambda', 'Errors', { FunctionName: 'orders' }),
    m('AWS/Lambda', 'Errors', {}),
    m('AWS/Lambda', 'Invocations', { FunctionName: 'orders-v2' }),
    m('App', 'Errors', { FunctionName: 'orders' }),
  ];
  const names = (q: string) =>
    all
      .filter(compileSearch(q))
      .map((x) => `${x.namespace}:${x.name}:${x.dims.map((d) => d.Value).join()}`);
  assert.deepEqual(names('{AWS/Lambda,FunctionName} MetricName="Errors"'), [
    'AWS/Lambda:Errors:orders',
  ]);
  assert.deepEqual(names('{AWS/Lambda,FunctionName} orders'), [
    'AWS/Lambda:Errors:orders',
    'AWS/Lambda:Invocations:orders-v2',
  ]);
  assert.deepEqual(names('FunctionName="orders" AND NOT Namespace=App'), [
    'AWS/Lambda:Errors:orders',
  ]);
  assert.deepEqual(names('Invocations OR App'), [
    'AWS/Lambda:Invocations:orders-v2',
    'App:Errors:orders',
  ]);
});
