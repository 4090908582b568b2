/**
 * Memory of a process and of its descendants, from /proc (Linux): VmRSS from
 * /proc/<pid>/status, and PSS from /proc/<pid>/smaps_rollup (RSS counts shared pages, such
 * as the interpreter's code, once per process; PSS splits them between the sharers, so
 * summed over processes it is what they really cost together).
 */
import { readFileSync, readdirSync } from 'node:fs';

const VM_RSS = /^VmRSS:\s+(\d+) kB/m;
const VM_HWM = /^VmHWM:\s+(\d+) kB/m;
const PSS = /^Pss:\s+(\d+) kB/m;

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Resident set size in KiB, or undefined when the process is gone or /proc is missing. */
export function rssKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const m = VM_RSS.exec(readOr(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The peak resident set size in KiB (VmHWM), or undefined when the process is gone. */
export function peakRssKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const m = VM_HWM.exec(readOr(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Proportional set size in KiB (undefined without smaps_rollup, Linux < 4.14). */
export function pssKb(pid: number): number | undefined {
  const m = PSS.exec(readOr(`/proc/${pid}/smaps_rollup`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Parent pid from /proc/<pid>/stat (field 4, counted after the command's last ')'). */
function parentPid(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Every live descendant of `root` (children, their children, ...). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentPid(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const c of children.get(todo.pop() as number) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

export interface TreeMemory {
  processes: number;
  rssKb: number;
  /** Undefined when any process lacked smaps_rollup. */
  pssKb?: number;
}

/** Summed memory of `root`'s descendants (not `root` itself). */
export function descendantMemory(root: number): TreeMemory {
  let rss = 0;
  let pss: number | undefined = 0;
  let n = 0;
  for (const pid of descendants(root)) {
    const r = rssKb(pid);
    if (r === undefined) continue; // exited meanwhile
    n++;
    rss += r;
    const p = pssKb(pid);
    pss = p === undefined || pss === undefined ? undefined : pss + p;
  }
  return { processes: n, rssKb: rss, ...(pss !== undefined ? { pssKb: pss } : {}) };
}

/**
 * Resident memory by kind of mapping, in KiB, from /proc/<pid>/smaps: `brk` is malloc's
 * main arena (glibc's heap, which only shrinks from its top), `anon` every other anonymous
 * mapping (V8's heap pages, malloc's mmapped chunks and thread arenas, stacks), `file`
 * mapped files (the node binary, shared libraries, native addons). Which one grows tells
 * a leak in JavaScript from fragmentation in the allocator.
 */
export function rssByKind(pid: number): { brk: number; anon: number; file: number } | undefined {
  const smaps = readOr(`/proc/${pid}/smaps`);
  if (smaps === undefined) return undefined;
  const out = { brk: 0, anon: 0, file: 0 };
  let kind: keyof typeof out = 'anon';
  for (const line of smaps.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1] ?? '';
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'anon';
    } else if (line.startsWith('Rss:')) {
      out[kind] += Number(line.slice(4).trim().split(/\s+/)[0]);
    }
  }
  return out;
}
