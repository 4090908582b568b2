import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCallbackId,
  decodeToken,
  encodeCallbackId,
  encodeToken,
  eventView,
  executionArn,
  operationView,
  parseExecutionArn,
} from './records.js';

const scope = { account: '123456789012', region: 'eu-west-1' };

describe('durable execution records', () => {
  test('execution ARNs follow the model pattern and parse back', () => {
    const arn = executionArn(scope, 'orders', '3', 'run-1', 'abc-123');
    assert.equal(
      arn,
      'arn:aws:lambda:eu-west-1:123456789012:function:orders:3/durable-execution/run-1/abc-123',
    );
    assert.deepEqual(parseExecutionArn(arn), { scope, functionName: 'orders', name: 'run-1' });
    const latest = executionArn(scope, 'orders', '$LATEST', 'x', 'y');
    assert.equal(parseExecutionArn(latest)?.name, 'x');
    assert.equal(
      parseExecutionArn('arn:aws:lambda:eu-west-1:123456789012:function:orders'),
      undefined,
    );
  });

  test('checkpoint tokens and callback ids are base64 and round-trip', () => {
    const token = encodeToken('inv-1', 42);
    assert.match(token, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.deepEqual(decodeToken(token), { invocation: 'inv-1', seq: 42 });
    assert.equal(decodeToken('bm9wZQ=='), undefined);
    const id = encodeCallbackId('123456789012:eu-west-1:orders:run-1', 'op7');
    assert.match(id, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.deepEqual(decodeCallbackId(id), {
      key: '123456789012:eu-west-1:orders:run-1',
      opId: 'op7',
    });
    assert.equal(decodeCallbackId('bm9wZQ=='), undefined);
  });

  test('operation views carry the details of their type with Date timestamps', () => {
    const wait = operationView({
      Id: 'w',
      Type: 'WAIT',
      Status: 'STARTED',
      start: 1000,
      waitEndsAt: 6000,
      seq: 2,
    });
    assert.deepEqual(wait.WaitDetails, { ScheduledEndTimestamp: new Date(6000) });
    assert.deepEqual(wait.StartTimestamp, new Date(1000));
    const step = operationView({
      Id: 's',
      Type: 'STEP',
      Status: 'SUCCEEDED',
      start: 1,
      end: 2,
      result: '42',
      attempt: 1,
      seq: 3,
    });
    assert.equal(step.StepDetails?.Result, '42');
    assert.equal(step.StepDetails?.Attempt, 1);
  });

  test('history payloads appear only with IncludeExecutionData', () => {
    const e = {
      EventType: 'StepSucceeded' as const,
      EventId: 3,
      at: 5000,
      Id: 's',
      Name: 'double',
      details: {
        member: 'StepSucceededDetails',
        value: { Result: { Payload: '42' }, RetryDetails: { CurrentAttempt: 1 } },
      },
    };
    assert.deepEqual(eventView(e, true).StepSucceededDetails, {
      Result: { Payload: '42' },
      RetryDetails: { CurrentAttempt: 1 },
    });
    assert.deepEqual(eventView(e, false).StepSucceededDetails, {
      Result: {},
      RetryDetails: { CurrentAttempt: 1 },
    });
  });
});
