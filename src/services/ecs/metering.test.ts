import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelHours, priceRows } from '../../billing/bill.js';
import type { Level, Meter, Usage } from '../../billing/meter.js';
import { meterFargate } from './metering.js';
import type { TaskRecord } from './store.js';

/** The levels a task's records leave, as the ledger would hold them (one per key). */
function recorder(): Meter & { levels: Map<string, Level>; counts: Usage[] } {
  const levels = new Map<string, Level>();
  const counts: Usage[] = [];
  return {
    enabled: true,
    levels,
    counts,
    count: (u) => void counts.push(u),
    level: (l) => void levels.set(`${l.series}|${l.at}|${l.usageType}`, l),
  };
}

const T0 = Date.UTC(2026, 5, 1, 12);

function task(
  over: Partial<TaskRecord> = {},
  times: TaskRecord['report']['times'] = {},
): TaskRecord {
  return {
    account: '000000000000',
    region: 'us-east-1',
    taskId: 'abc',
    cluster: 'default',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/web:3',
    launchType: 'FARGATE',
    cpu: '1024',
    memory: '2048',
    overrides: {},
    tags: [],
    createdAt: T0,
    desiredStatus: 'RUNNING',
    report: {
      taskId: 'abc',
      lastStatus: 'RUNNING',
      healthStatus: 'UNKNOWN',
      containers: [],
      times,
    },
    images: {},
    containerIds: {},
    version: 1,
    ...over,
  } as TaskRecord;
}

test('a Fargate task is billed from its image pull to its stop, rounded up to the second', () => {
  const m = recorder();
  const running = task({}, { pullStartedAt: T0, startedAt: T0 + 2000 });
  meterFargate(m, running);
  meterFargate(m, running); // every state change reports again: nothing doubles
  const stopped = task(
    { desiredStatus: 'STOPPED' },
    { pullStartedAt: T0, startedAt: T0 + 2000, stoppedAt: T0 + 3_600_000 + 400 },
  );
  stopped.report.lastStatus = 'STOPPED';
  meterFargate(m, stopped);
  const levels = [...m.levels.values()];
  assert.equal(levels.length, 4);
  assert.deepEqual(
    levels.map((l) => [l.usageType, l.value, l.at - T0, l.resource]),
    [
      ['Fargate-vCPU-Hours:perCPU', 1, 0, 'arn:aws:ecs:us-east-1:000000000000:task-definition/web'],
      ['Fargate-GB-Hours', 2, 0, 'arn:aws:ecs:us-east-1:000000000000:task-definition/web'],
      [
        'Fargate-vCPU-Hours:perCPU',
        0,
        3_601_000,
        'arn:aws:ecs:us-east-1:000000000000:task-definition/web',
      ],
      ['Fargate-GB-Hours', 0, 3_601_000, 'arn:aws:ecs:us-east-1:000000000000:task-definition/web'],
    ],
  );
  const end = T0 + 2 * 3_600_000;
  const bill = priceRows(levelHours(levels, T0, end, end), { freeTier: 'none', now: end });
  const cost = bill.lines.reduce((s, l) => s + l.cost, 0);
  // 3,601 s × ($0.04048 + 2 × $0.004445) / 3,600
  assert.ok(Math.abs(cost - (3601 / 3600) * (0.04048 + 2 * 0.004445)) < 1e-9);
});

test('FARGATE_SPOT and ARM64 have their own usage types; EC2 tasks and unstarted ones none', () => {
  const spot = recorder();
  meterFargate(spot, task({ capacityProviderName: 'FARGATE_SPOT' }, { pullStartedAt: T0 }));
  assert.deepEqual(
    [...spot.levels.values()].map((l) => l.usageType),
    ['SpotUsage-Fargate-vCPU-Hours:perCPU', 'SpotUsage-Fargate-GB-Hours'],
  );
  const arm = recorder();
  meterFargate(arm, task({ cpuArchitecture: 'ARM64' }, { pullStartedAt: T0 }));
  assert.deepEqual(
    [...arm.levels.values()].map((l) => l.usageType),
    ['Fargate-ARM-vCPU-Hours:perCPU', 'Fargate-ARM-GB-Hours'],
  );
  const none = recorder();
  meterFargate(none, task({ launchType: 'EC2' }, { pullStartedAt: T0 }));
  meterFargate(none, task({}, {}));
  assert.equal(none.levels.size, 0);
});
