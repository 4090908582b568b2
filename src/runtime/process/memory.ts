/**
 * Peak memory of a host process tree from /proc (VmHWM): what the process driver reports,
 * having no cgroup to ask.
 */
import { readFileSync } from 'node:fs';

/** /proc/<pid>/task/<pid>/children is followed this deep for the memory figure. */
const MAX_CHILD_DEPTH = 3;

/** VmHWM of a process plus (best effort) its descendants, in kB. */
export function treeHighWaterKb(pid: number, depth: number): number {
  let total = 0;
  try {
    total = vmHwmKb(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return 0;
  }
  if (depth >= MAX_CHILD_DEPTH) return total;
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1');
  } catch {
    return total;
  }
  if (children.length === 0) return total;
  for (const c of children.split(' ')) {
    const child = Number(c);
    if (child > 0) total += treeHighWaterKb(child, depth + 1);
  }
  return total;
}

function vmHwmKb(status: string): number {
  const at = status.indexOf('VmHWM:');
  if (at < 0) return 0;
  let i = at + 6;
  while (status.charCodeAt(i) === 32 || status.charCodeAt(i) === 9) i++;
  let kb = 0;
  for (let c = status.charCodeAt(i); c >= 48 && c <= 57; c = status.charCodeAt(++i)) {
    kb = kb * 10 + (c - 48);
  }
  return kb;
}
