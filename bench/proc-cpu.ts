/**
 * CPU time a process has used (user + system, all threads), from /proc/<pid>/stat.
 * CPU per call is the figure outside load disturbs least: a neighbour can delay the
 * server, but hardly makes each call cost more cycles.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    } catch {
      ticksPerSecond = 100; // USER_HZ on every mainstream Linux build
    }
  }
  return ticksPerSecond;
}

/**
 * The fields of a /proc stat file after the command name (fields[0] is field 3, state),
 * or undefined when it cannot be read (no /proc, or the process or thread is gone).
 */
function statFields(path: string): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Milliseconds of CPU used so far, or undefined where /proc is not available. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const fields = statFields(`/proc/${pid}/stat`);
  if (fields === undefined) return undefined;
  const ticks = Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
  return Number.isFinite(ticks) ? (ticks * 1000) / clockTicks() : undefined;
}

/**
 * CPU used so far by a process and every process below it (a server and the function
 * runtimes it spawned), plus what its reaped children used; undefined without /proc.
 */
export function treeCpuMs(pid: number | undefined): number | undefined {
  const own = cpuMs(pid);
  if (pid === undefined || own === undefined) return undefined;
  let total = own + reapedMs(pid);
  for (const child of childrenOf(pid)) total += treeCpuMs(child) ?? 0;
  return total;
}

function reapedMs(pid: number): number {
  const fields = statFields(`/proc/${pid}/stat`);
  if (fields === undefined) return 0;
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime (16), cstime (17)
  return Number.isFinite(ticks) ? (ticks * 1000) / clockTicks() : 0;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list) for (const c of list.split(' ')) out.push(Number(c));
    }
  } catch {
    // gone, or no CONFIG_PROC_CHILDREN: its own time only
  }
  return out;
}

/** CPU a thread has used so far, in ms. */
export interface ThreadCpu {
  user: number;
  system: number;
}

/**
 * CPU used so far by each thread of a process, by thread id (the main thread's id is the
 * pid); undefined without /proc. Tells which thread a transfer's time went to: the event
 * loop, libuv's pool (file writes: their system time is the kernel's copy into the page
 * cache), or a worker.
 */
export function threadCpuMs(pid: number): Map<number, ThreadCpu> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<number, ThreadCpu>();
  const ms = (ticks: string) => (Number(ticks) * 1000) / clockTicks();
  for (const tid of tids) {
    const fields = statFields(`/proc/${pid}/task/${tid}/stat`);
    // A thread gone since the listing ends the reading: what was read so far stands.
    if (fields === undefined) return out.size ? out : undefined;
    out.set(Number(tid), { user: ms(fields[11]), system: ms(fields[12]) });
  }
  return out;
}

/**
 * What each thread used between two readings, largest first, threads that used less
 * than `minMs` left out: `main 0.85+0.42, 1.27+0.01, …` (seconds, user+system).
 */
export function threadCpuDelta(
  pid: number,
  before: Map<number, ThreadCpu>,
  after: Map<number, ThreadCpu>,
  minMs = 50,
): string {
  const used = [...after]
    .map(([tid, a]) => {
      const b = before.get(tid) ?? { user: 0, system: 0 };
      return { tid, user: a.user - b.user, system: a.system - b.system };
    })
    .filter((t) => t.user + t.system >= minMs)
    .sort((x, y) =>
      x.tid === pid ? -1 : y.tid === pid ? 1 : y.user + y.system - (x.user + x.system),
    );
  const s = (ms: number) => (ms / 1000).toFixed(2);
  return used.map((t) => `${t.tid === pid ? 'main ' : ''}${s(t.user)}+${s(t.system)}`).join(', ');
}
