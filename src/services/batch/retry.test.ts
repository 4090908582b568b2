import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatches, shouldRetry } from './retry.js';
import { substitute } from './jobs-api.js';

test('patterns match whole values or prefixes with a trailing *', () => {
  assert.equal(globMatches('1', '1'), true);
  assert.equal(globMatches('1', '10'), false);
  assert.equal(globMatches('1*', '10'), true);
  assert.equal(globMatches('Host EC2*', 'Host EC2 (instance i-1) terminated.'), true);
  assert.equal(globMatches('*', undefined), true);
  assert.equal(globMatches('1', undefined), false);
});

test('attempts bound retries; the first matching condition decides; none matching retries', () => {
  const retryOn1 = {
    attempts: 3,
    evaluateOnExit: [
      { onExitCode: '1', action: 'RETRY' as const },
      { onExitCode: '*', action: 'EXIT' as const },
    ],
  };
  assert.equal(shouldRetry(retryOn1, 1, { exitCode: 1 }), true);
  assert.equal(shouldRetry(retryOn1, 3, { exitCode: 1 }), false);
  assert.equal(shouldRetry(retryOn1, 1, { exitCode: 2 }), false);
  const exitOn1 = { attempts: 3, evaluateOnExit: [{ onExitCode: '1', action: 'EXIT' as const }] };
  assert.equal(shouldRetry(exitOn1, 1, { exitCode: 1 }), false);
  assert.equal(shouldRetry(exitOn1, 1, { exitCode: 2 }), true);
  assert.equal(shouldRetry(undefined, 1, { exitCode: 1 }), false);
  assert.equal(
    shouldRetry({ attempts: 2 }, 1, { statusReason: 'Host EC2 (instance i-1) terminated.' }),
    true,
  );
  const lowerCase = {
    attempts: 2,
    evaluateOnExit: [{ onReason: 'OutOfMemory*', action: 'retry' as 'RETRY' }],
  };
  assert.equal(
    shouldRetry(lowerCase, 1, { reason: 'OutOfMemoryError: Container killed due to memory usage' }),
    true,
  );
});

test('Ref:: placeholders take parameter values; unknown ones stay', () => {
  assert.deepEqual(substitute(['echo', 'Ref::a', 'x-Ref::b', 'Ref::zz'], { a: '1', b: '2' }), [
    'echo',
    '1',
    'x-2',
    'Ref::zz',
  ]);
});
