import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyGate, throttled, type Lease } from './throttle.js';

const SCOPE = '000000000000:us-east-1:';
const lease = (l: Lease | string): Lease => {
  if (typeof l === 'string') throw new Error(`throttled: ${l}`);
  return l;
};

test('a reservation caps its function; 0 throttles every call', () => {
  const gate = new ConcurrencyGate(1000);
  const held = [1, 2, 3].map(() => lease(gate.acquire(SCOPE, SCOPE + 'f', 3, 3)));
  assert.equal(
    gate.acquire(SCOPE, SCOPE + 'f', 3, 3),
    'ReservedFunctionConcurrentInvocationLimitExceeded',
  );
  held[0].release();
  held[0].release(); // twice is once
  assert.equal(gate.running(SCOPE + 'f'), 2);
  lease(gate.acquire(SCOPE, SCOPE + 'f', 3, 3));
  assert.equal(
    gate.acquire(SCOPE, SCOPE + 'zero', 0, 3),
    'ReservedFunctionConcurrentInvocationLimitExceeded',
  );
});

test('functions without a reservation share the limit minus every reservation', () => {
  const gate = new ConcurrencyGate(10);
  // 7 reserved elsewhere in the region: 3 left for everybody else, across functions.
  lease(gate.acquire(SCOPE, SCOPE + 'a', undefined, 7));
  const b = lease(gate.acquire(SCOPE, SCOPE + 'b', undefined, 7));
  lease(gate.acquire(SCOPE, SCOPE + 'c', undefined, 7));
  assert.equal(gate.acquire(SCOPE, SCOPE + 'a', undefined, 7), 'ConcurrentInvocationLimitExceeded');
  // Reserved functions do not draw on the shared pool, other regions have their own.
  lease(gate.acquire(SCOPE, SCOPE + 'r', 7, 7));
  lease(gate.acquire('000000000000:eu-west-1:', '000000000000:eu-west-1:a', undefined, 0));
  b.release();
  lease(gate.acquire(SCOPE, SCOPE + 'a', undefined, 7));
});

test("the throttle error carries AWS's Reason, Type and message", () => {
  const err = throttled('ConcurrentInvocationLimitExceeded');
  assert.equal(err.code, 'TooManyRequestsException');
  assert.equal(err.status, 429);
  assert.equal(err.message, 'Rate Exceeded.');
  assert.deepEqual(err.fields, { Reason: 'ConcurrentInvocationLimitExceeded', Type: 'User' });
});
