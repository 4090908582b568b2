/**
 * The parent cgroup's files on cgroup v2 (unified) and v1, over a directory laid out as
 * the kernel lays them out: limits written where runc's child will find them, OOM kills
 * read from memory.events (v2: hierarchical, so the parent sees the child's) or
 * memory.oom_control and the v1 evidence, peak memory and cpu time. This machine's
 * hierarchy is hybrid (v1 controllers), so the v2 path is checked here by its files.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerCgroup, type CgroupLayout } from './cgroups.js';

const work = await mkdtemp(join(tmpdir(), 'cgroups-'));
after(() => rm(work, { recursive: true, force: true }));

function v2Layout(name: string): CgroupLayout {
  const dir = join(work, name, 'stratus');
  return { unified: true, memory: dir, cpuacct: dir, all: [dir] };
}

test('cgroup v2: limits in memory.max, OOM from memory.events, peak and cpu from v2 files', async () => {
  const layout = v2Layout('v2');
  const cg = new ContainerCgroup(layout, 'c1');
  await cg.create({ memoryMb: 128, memoryReservationMb: 64 });
  const dir = join(layout.memory, 'c1');
  assert.equal(await readFile(join(dir, 'memory.max'), 'utf8'), String(128 * 1024 * 1024));
  assert.equal(await readFile(join(dir, 'memory.swap.max'), 'utf8'), '0');
  assert.equal(await readFile(join(dir, 'memory.low'), 'utf8'), String(64 << 20));
  assert.equal(await readFile(join(dir, 'cgroup.subtree_control'), 'utf8'), '+memory +cpu +pids');

  const events = (oomKills: number) =>
    writeFile(
      join(dir, 'memory.events'),
      `low 0\nhigh 0\nmax 12\noom 1\noom_kill ${oomKills}\noom_group_kill 0\n`,
    );
  await events(0);
  assert.equal(await cg.oomKilled({ sigkill: true, sentKill: false }), false);
  await events(1);
  // The kernel's count decides on v2, whatever the exit looked like.
  assert.equal(await cg.oomKilled({ sigkill: true, sentKill: false }), true);
  assert.equal(await cg.oomKilled({ sigkill: false, sentKill: false }), true);

  await writeFile(join(dir, 'memory.peak'), String(100 * 1024 * 1024 + 1));
  await writeFile(join(dir, 'memory.current'), String(40 * 1024 * 1024));
  await writeFile(join(dir, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n');
  assert.deepEqual(await cg.stats(), { peakMemoryMb: 101, cpuTimeMs: 3, memoryMb: 40 });
});

test('cgroup v1: oom_control counts, else a SIGKILL Stratus did not send at the limit', async () => {
  const base = join(work, 'v1');
  const layout: CgroupLayout = {
    unified: false,
    memory: join(base, 'memory', 'stratus'),
    cpuacct: join(base, 'cpuacct', 'stratus'),
    all: [join(base, 'memory', 'stratus'), join(base, 'cpuacct', 'stratus')],
  };
  const cg = new ContainerCgroup(layout, 'c1');
  await cg.create({ memoryMb: 128 });
  const dir = join(layout.memory, 'c1');
  assert.equal(await readFile(join(dir, 'memory.limit_in_bytes'), 'utf8'), String(128 << 20));
  await writeFile(join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
  await writeFile(join(dir, 'memory.max_usage_in_bytes'), String((128 << 20) - 100));
  assert.equal(await cg.oomKilled({ sigkill: true, sentKill: false }), true, 'at the limit');
  assert.equal(await cg.oomKilled({ sigkill: true, sentKill: true }), false, 'we killed it');
  assert.equal(await cg.oomKilled({ sigkill: false, sentKill: false }), false, 'no SIGKILL');
  await writeFile(join(dir, 'memory.max_usage_in_bytes'), String(10 << 20));
  assert.equal(await cg.oomKilled({ sigkill: true, sentKill: false }), false, 'far below');
  await writeFile(join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  assert.equal(await cg.oomKilled({ sigkill: false, sentKill: false }), true, 'counted');

  await mkdir(join(layout.cpuacct, 'c1'), { recursive: true });
  await writeFile(join(layout.cpuacct, 'c1', 'cpuacct.usage'), String(7_000_000));
  await writeFile(join(dir, 'memory.usage_in_bytes'), String(6 << 20));
  assert.deepEqual(await cg.stats(), { peakMemoryMb: 10, cpuTimeMs: 7, memoryMb: 6 });
  await cg.remove();
});
