import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type QueuedJob } from './scheduler.js';

const MACHINE = { milliVcpus: 4000, memoryMib: 8192 };
let seq = 0;
const job = (queue: string, over: Partial<QueuedJob> = {}): QueuedJob => ({
  jobId: `j${++seq}`,
  queue,
  seq,
  priority: 0,
  milliVcpus: 1000,
  memoryMib: 512,
  ...over,
});

test('FIFO within a queue, capacity bounded by the environment and the machine', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('ce', 2000, true);
  s.setQueue('q', { priority: 1, enabled: true, environments: ['ce'] });
  const jobs = [job('q'), job('q'), job('q')];
  for (const j of jobs) s.enqueue(j);
  const first = s.dispatch();
  assert.deepEqual(
    first.map((p) => p.job.jobId),
    [jobs[0].jobId, jobs[1].jobId],
  );
  assert.deepEqual(s.dispatch(), []);
  s.release(jobs[0].jobId);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [jobs[2].jobId],
  );
});

test('the first environment in order with room takes the job; disabled ones none', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('a', 1000, true);
  s.setEnvironment('b', 4000, true);
  s.setEnvironment('off', 4000, false);
  s.setQueue('q', { priority: 1, enabled: true, environments: ['off', 'a', 'b'] });
  s.enqueue(job('q'));
  s.enqueue(job('q'));
  assert.deepEqual(
    s.dispatch().map((p) => p.environment),
    ['a', 'b'],
  );
});

test('a higher-priority queue sharing the environment starts first', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('ce', 1000, true);
  s.setQueue('low', { priority: 1, enabled: true, environments: ['ce'] });
  s.setQueue('high', { priority: 10, enabled: true, environments: ['ce'] });
  const low = job('low');
  const high = job('high');
  s.enqueue(low);
  s.enqueue(high);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [high.jobId],
  );
  s.release(high.jobId);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [low.jobId],
  );
});

test('a job no environment could hold waits without blocking the jobs behind it', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('ce', 2000, true);
  s.setQueue('q', { priority: 1, enabled: true, environments: ['ce'] });
  const big = job('q', { milliVcpus: 3000 });
  const small = job('q');
  s.enqueue(big);
  s.enqueue(small);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [small.jobId],
  );
  assert.equal(s.queuedCount, 1);
  // Growing the environment lets it start.
  s.release(small.jobId);
  s.setEnvironment('ce', 4000, true);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [big.jobId],
  );
});

test('removed (cancelled) jobs are skipped', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('ce', 4000, true);
  s.setQueue('q', { priority: 1, enabled: true, environments: ['ce'] });
  const a = job('q');
  const b = job('q');
  s.enqueue(a);
  s.enqueue(b);
  assert.equal(s.remove(a.jobId), true);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [b.jobId],
  );
});

test('fair share splits capacity by weight (lower weight, larger share) over 90 starts', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('ce', 3000, true);
  s.setQueue('fs', {
    priority: 1,
    enabled: true,
    environments: ['ce'],
    fairShare: {
      shares: [
        { shareIdentifier: 'A', weightFactor: 1 },
        { shareIdentifier: 'B', weightFactor: 0.5 },
      ],
    },
  });
  for (let i = 0; i < 200; i++) {
    s.enqueue(job('fs', { shareIdentifier: 'A' }));
    s.enqueue(job('fs', { shareIdentifier: 'B' }));
  }
  const running: QueuedJob[] = [];
  const started = { A: 0, B: 0 };
  while (started.A + started.B < 90) {
    for (const p of s.dispatch()) {
      running.push(p.job);
      started[p.job.shareIdentifier as 'A' | 'B']++;
    }
    const done = running.shift();
    if (done) s.release(done.jobId);
  }
  // B (weight 0.5) gets twice A's share: 60 of 90.
  assert.ok(Math.abs(started.B - 60) <= 3, `B started ${started.B} of 90`);
});

test('within a fair share identifier, higher schedulingPriority first', () => {
  const s = new Scheduler(MACHINE);
  s.setEnvironment('ce', 1000, true);
  s.setQueue('fs', { priority: 1, enabled: true, environments: ['ce'], fairShare: { shares: [] } });
  const low = job('fs', { shareIdentifier: 'A', priority: 1 });
  const high = job('fs', { shareIdentifier: 'A', priority: 9 });
  s.enqueue(low);
  s.enqueue(high);
  assert.deepEqual(
    s.dispatch().map((p) => p.job.jobId),
    [high.jobId],
  );
});

test('fair share remembers past usage and forgets it over shareDecaySeconds', () => {
  for (const [decay, later] of [
    [600, ['A', 'B', 'A', 'B']],
    [604_800, ['B', 'B', 'A', 'A']],
  ] as const) {
    let now = 1_000_000;
    const s = new Scheduler(MACHINE, () => now);
    s.setEnvironment('ce', 1000, true);
    s.setQueue('fs', {
      priority: 1,
      enabled: true,
      environments: ['ce'],
      fairShare: { shares: [], shareDecaySeconds: decay },
    });
    // A runs one vCPU for an hour.
    s.enqueue(job('fs', { shareIdentifier: 'A' }));
    const [first] = s.dispatch();
    now += 3_600_000;
    s.release(first.job.jobId);
    // Instant jobs (no usage of their own) from both shares, A's first.
    const order = (): string[] => {
      for (let i = 0; i < 2; i++) {
        s.enqueue(job('fs', { shareIdentifier: 'A' }));
        s.enqueue(job('fs', { shareIdentifier: 'B' }));
      }
      const out: string[] = [];
      for (let placed = s.dispatch(); placed.length > 0; placed = s.dispatch()) {
        for (const p of placed) {
          out.push(p.job.shareIdentifier ?? '');
          s.release(p.job.jobId);
        }
      }
      return out;
    };
    // Right after, B (no past usage) goes first whatever the window.
    assert.deepEqual(order(), ['B', 'B', 'A', 'A'], `decay ${decay}`);
    // 100 minutes later: gone with a 10-minute window, still counted with a week's.
    now += 6_000_000;
    assert.deepEqual(order(), later, `decay ${decay}`);
  }
});
