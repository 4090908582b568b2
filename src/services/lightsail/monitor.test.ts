import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, type Datapoint } from './monitor.js';
import type { AlarmRecord } from './store.js';
import { portRecord } from './views.js';

const alarm = (over: Partial<AlarmRecord> = {}): AlarmRecord => ({
  account: '000000000000',
  region: 'us-east-1',
  name: 'a',
  createdAt: 0,
  metricName: 'CPUUtilization',
  monitoredResourceName: 'i',
  comparisonOperator: 'GreaterThanThreshold',
  threshold: 50,
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
  treatMissingData: 'missing',
  contactProtocols: [],
  notificationTriggers: ['ALARM'],
  notificationEnabled: true,
  state: 'INSUFFICIENT_DATA',
  tags: [],
  ...over,
});

const points = (...values: number[]): Datapoint[] => values.map((value, at) => ({ at, value }));

test('M out of N: ALARM when datapointsToAlarm of the last periods breach', () => {
  assert.equal(evaluate(alarm(), points(10, 60, 70)), 'ALARM');
  assert.equal(evaluate(alarm(), points(10, 20, 70)), 'OK');
  // Equal to the threshold is no breach for GreaterThanThreshold, one for GreaterThanOrEqual.
  assert.equal(evaluate(alarm(), points(50, 50, 50)), 'OK');
  assert.equal(
    evaluate(alarm({ comparisonOperator: 'GreaterThanOrEqualToThreshold' }), points(50, 50, 0)),
    'ALARM',
  );
  assert.equal(
    evaluate(alarm({ comparisonOperator: 'LessThanThreshold', threshold: 5 }), points(1, 2, 9)),
    'ALARM',
  );
});

test('missing data is treated as the alarm says', () => {
  assert.equal(evaluate(alarm(), []), 'INSUFFICIENT_DATA');
  assert.equal(evaluate(alarm({ treatMissingData: 'breaching' }), []), 'ALARM');
  assert.equal(evaluate(alarm({ treatMissingData: 'notBreaching' }), []), 'OK');
  assert.equal(evaluate(alarm({ treatMissingData: 'ignore', state: 'ALARM' }), []), 'ALARM');
  // One breaching point and two missing ones that count as breaching.
  assert.equal(evaluate(alarm({ treatMissingData: 'breaching' }), points(90)), 'ALARM');
  assert.equal(evaluate(alarm(), points(90)), 'OK');
});

test('port rules: no source means anywhere; bad ranges are refused', () => {
  assert.deepEqual(portRecord({ fromPort: 80, toPort: 80, protocol: 'tcp' }).cidrs, ['0.0.0.0/0']);
  assert.deepEqual(
    portRecord({ fromPort: 22, toPort: 22, protocol: 'tcp', cidrs: ['10.0.0.0/8'] }).ipv6Cidrs,
    [],
  );
  assert.throws(() => portRecord({ fromPort: 90, toPort: 80, protocol: 'tcp' }), /not valid/);
  assert.throws(() => portRecord({ fromPort: 1, toPort: 70000, protocol: 'udp' }), /not valid/);
  assert.throws(
    () => portRecord({ fromPort: 1, toPort: 2, protocol: 'tcp', cidrs: ['nonsense'] }),
    /Invalid CIDR/,
  );
});
