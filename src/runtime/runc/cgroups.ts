/**
 * A parent cgroup per container, owned by Stratus, holding the memory limit and the
 * counters read after the container is gone. runc creates the container's own cgroup as a
 * child (`<parent>/c`) and removes that child when the container exits, so the figures
 * Stratus needs afterwards (OOM kills, peak memory, cpu time) live one level up, where
 * the limit is: the kernel counts an OOM kill in the cgroup whose limit was hit, and v1's
 * oom_kill/failcnt are not summed into parents.
 *
 * Works on cgroup v2 (unified) and on v1 or hybrid hierarchies (v1 controllers, as runc
 * uses them when /sys/fs/cgroup is not itself a cgroup2 mount). Paths are relative to
 * Stratus's own cgroup (runc resolves a relative cgroupsPath the same way), so containers
 * stay inside whatever limits the server itself runs under.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** Directory (under Stratus's own cgroup) holding one parent cgroup per container. */
export const CGROUP_GROUP = 'stratus';
const PAGE = 4096;

export interface CgroupLayout {
  unified: boolean;
  /** Absolute directories of the group, per v1 controller (or the one v2 directory). */
  memory: string;
  cpuacct: string;
  /** The group's directory in every hierarchy runc creates the container in (all v1 ones). */
  all: string[];
}

export interface CgroupLimits {
  memoryMb?: number;
  memoryReservationMb?: number;
}

/** Finds where Stratus's own cgroups are and whether the hierarchy is unified. */
export function detectCgroups(): CgroupLayout {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  const unified = mounts
    .split('\n')
    .some((l) => l.split(' ')[4] === ROOT && l.split(' - ')[1]?.startsWith('cgroup2 '));
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1] === '' ? ['unified'] : m[1].split(',')) own.set(c, m[2]);
  }
  if (unified) {
    const dir = join(ROOT, own.get('unified') ?? '/', CGROUP_GROUP);
    return { unified, memory: dir, cpuacct: dir, all: [dir] };
  }
  const v1 = (controller: string, mountName: string) =>
    join(ROOT, mountName, own.get(controller) ?? '/', CGROUP_GROUP);
  // Every hierarchy: runc makes `<group>/<id>/c` in each and removes only `c`.
  const all: string[] = [];
  for (const line of mounts.split('\n')) {
    const [before, after] = line.split(' - ');
    const point = before.split(' ')[4];
    // Hybrid: runc makes the container's cgroup in the unified hierarchy too.
    if (after?.startsWith('cgroup2 '))
      all.push(join(point, own.get('unified') ?? '/', CGROUP_GROUP));
    if (!after?.startsWith('cgroup ')) continue;
    const options = after.split(' ')[2]?.split(',') ?? [];
    const controller = options.find((o) => own.has(o));
    if (controller) all.push(join(point, own.get(controller) ?? '/', CGROUP_GROUP));
  }
  return {
    unified,
    memory: v1('memory', 'memory'),
    cpuacct: v1('cpuacct', existsDir(join(ROOT, 'cpuacct')) ? 'cpuacct' : 'cpu,cpuacct'),
    all,
  };
}

function existsDir(path: string): boolean {
  try {
    readFileSync(join(path, 'cgroup.procs'));
    return true;
  } catch {
    return false;
  }
}

/** The cgroupsPath runc gets for a container: the child of its parent cgroup. */
export function runcCgroupsPath(id: string): string {
  return `${CGROUP_GROUP}/${id}/c`;
}

export class ContainerCgroup {
  constructor(
    private readonly layout: CgroupLayout,
    readonly id: string,
  ) {}

  private dir(kind: 'memory' | 'cpuacct'): string {
    return join(this.layout[kind], this.id);
  }

  /** Creates the parent and sets its memory limits (before runc starts the child). */
  async create(limits: CgroupLimits): Promise<void> {
    const memory = this.dir('memory');
    if (this.layout.unified) {
      // Controllers must be enabled on every level above the cgroup that uses them.
      await mkdir(memory, { recursive: true });
      for (const dir of [this.layout.memory, memory]) {
        await writeFile(join(dir, '..', 'cgroup.subtree_control'), '+memory +cpu +pids').catch(
          () => undefined,
        );
      }
      await writeFile(join(memory, 'cgroup.subtree_control'), '+memory +cpu +pids');
      if (limits.memoryMb !== undefined) {
        await writeFile(join(memory, 'memory.max'), String(limits.memoryMb * 1024 * 1024));
        await writeFile(join(memory, 'memory.swap.max'), '0').catch(() => undefined);
      }
      if (limits.memoryReservationMb !== undefined)
        await writeFile(join(memory, 'memory.low'), String(limits.memoryReservationMb << 20));
      return;
    }
    await mkdir(memory, { recursive: true });
    await mkdir(this.dir('cpuacct'), { recursive: true });
    if (limits.memoryMb !== undefined) {
      const bytes = String(limits.memoryMb * 1024 * 1024);
      await writeFile(join(memory, 'memory.limit_in_bytes'), bytes);
      // No swap beyond the limit (Docker's default is twice; AWS's tasks have none).
      await writeFile(join(memory, 'memory.memsw.limit_in_bytes'), bytes).catch(() => undefined);
    }
    if (limits.memoryReservationMb !== undefined)
      await writeFile(
        join(memory, 'memory.soft_limit_in_bytes'),
        String(limits.memoryReservationMb * 1024 * 1024),
      );
  }

  /**
   * Whether the kernel's OOM killer ended the container. v2 counts oom_kill in every
   * ancestor (memory.events). v1 counts it only in the victim's own cgroup, the child runc
   * removes at exit, so on v1 the evidence is: the container died of a SIGKILL Stratus did
   * not send, and its memory reached the hard limit (max_usage_in_bytes, kept here). v1's
   * exact signal is an eventfd on memory.oom_control, which Node cannot wait on.
   */
  async oomKilled(exit: { sigkill: boolean; sentKill: boolean }): Promise<boolean> {
    const memory = this.dir('memory');
    const read = (f: string) => readFile(join(memory, f), 'utf8').catch(() => '');
    if (this.layout.unified)
      return Number(/^oom_kill (\d+)$/m.exec(await read('memory.events'))?.[1] ?? 0) > 0;
    if (Number(/^oom_kill (\d+)$/m.exec(await read('memory.oom_control'))?.[1] ?? 0) > 0)
      return true;
    if (!exit.sigkill || exit.sentKill) return false;
    const limit = Number((await read('memory.limit_in_bytes')).trim());
    const peak = Number((await read('memory.max_usage_in_bytes')).trim());
    return limit > 0 && limit < 2 ** 60 && peak >= limit - PAGE;
  }

  async stats(): Promise<{ peakMemoryMb: number; cpuTimeMs: number; memoryMb: number }> {
    const memory = this.dir('memory');
    const num = async (path: string) =>
      Number((await readFile(path, 'utf8').catch(() => '0')).trim());
    const mb = (bytes: number) => Math.ceil(bytes / 1048576);
    if (this.layout.unified) {
      const peak = await num(join(memory, 'memory.peak'));
      const current = await num(join(memory, 'memory.current'));
      const cpu = await readFile(join(memory, 'cpu.stat'), 'utf8').catch(() => '');
      const usec = Number(/^usage_usec (\d+)$/m.exec(cpu)?.[1] ?? 0);
      return { peakMemoryMb: mb(peak), cpuTimeMs: Math.round(usec / 1000), memoryMb: mb(current) };
    }
    const peak = await num(join(memory, 'memory.max_usage_in_bytes'));
    const current = await num(join(memory, 'memory.usage_in_bytes'));
    const ns = await num(join(this.dir('cpuacct'), 'cpuacct.usage'));
    return { peakMemoryMb: mb(peak), cpuTimeMs: Math.round(ns / 1e6), memoryMb: mb(current) };
  }

  /** Removes the parent in every hierarchy (and a child runc left behind). */
  async remove(): Promise<void> {
    await Promise.all(
      this.layout.all.map(async (group) => {
        const dir = join(group, this.id);
        await rmdir(join(dir, 'c')).catch(() => undefined);
        await rmdir(dir).catch(() => undefined);
      }),
    );
  }
}

/**
 * Parent cgroups in any hierarchy, by container id, older than `minAgeMs`. The group is
 * shared by every Stratus on the machine: a young one may belong to a container another
 * server is creating right now, so only old ones are candidates for a sweep.
 */
export async function listCgroups(layout: CgroupLayout, minAgeMs = 0): Promise<string[]> {
  const ids = new Set<string>();
  const before = Date.now() - minAgeMs;
  for (const group of layout.all)
    for (const e of await readdir(group, { withFileTypes: true }).catch(() => []))
      if (
        e.isDirectory() &&
        ((await stat(join(group, e.name)).catch(() => undefined))?.mtimeMs ?? Infinity) < before
      )
        ids.add(e.name);
  return [...ids];
}
