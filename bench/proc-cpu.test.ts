import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cpuMs } from './proc-cpu.js';

test('cpuMs follows the CPU a process burns', { skip: !existsSync('/proc/self/stat') }, () => {
  const before = cpuMs(process.pid);
  assert.ok(before !== undefined && before >= 0);
  // Burn 200 ms of CPU (not of wall time: on a busy machine those differ).
  const start = process.cpuUsage();
  let x = 0;
  while (process.cpuUsage(start).user < 200_000) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const after = cpuMs(process.pid) ?? 0;
  // 200 ms busy; ticks are 10 ms and other threads add a little.
  assert.ok(after - before >= 150, `only ${after - before} ms counted`);
  assert.equal(cpuMs(2 ** 22 + 12345), undefined, 'no such process');
});
