/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, mapped
 * back to the TypeScript source through the compiled files' source maps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  /** `name (file:line)`, the file relative to the repository when it is ours. */
  where: string;
  selfMs: number;
  /** Share of the non-idle time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  gcMs: number;
  /** Self time in the repository's own src/ files (the rest is Node, V8, the kernel). */
  srcMs: number;
  top: HotSpot[];
  /** Self time per source file (node internals grouped as `node:…`). */
  byFile: HotSpot[];
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  let map = maps.get(url);
  if (map !== undefined) return map;
  map = null;
  if (url.startsWith('file://')) {
    const file = fileURLToPath(url) + '.map';
    if (existsSync(file))
      map = new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as SourceMapPayload);
  }
  maps.set(url, map);
  return map;
}

function location(frame: CallFrame, root: string): string {
  if (!frame.url) return '';
  const map = sourceMapFor(frame.url);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry && 'originalSource' in entry && entry.originalSource) {
    // `sources` in tsc's maps are relative to the compiled file's directory.
    const src = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(fileURLToPath(frame.url)), entry.originalSource);
    return `${shorten(src, root)}:${entry.originalLine + 1}`;
  }
  const file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  return `${shorten(file, root)}:${frame.lineNumber + 1}`;
}

function shorten(file: string, root: string): string {
  if (file.startsWith(root)) return file.slice(root.length).replace(/^\/+/, '');
  const nm = file.lastIndexOf('node_modules/');
  return nm >= 0 ? file.slice(nm) : file;
}

/** Self time per node id, from samples × time deltas (hit counts when absent). */
function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas && p.samples.length === p.timeDeltas.length) {
    // timeDeltas[i] is the gap before sample i; it is charged to the sample that follows it.
    for (let i = 0; i < p.samples.length; i++) {
      const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
      self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
    }
    return self;
  }
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  const per = (p.endTime - p.startTime) / 1000 / hits;
  for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  return self;
}

export function summarizeProfile(p: CpuProfile, root: string, topN = 25): ProfileSummary {
  const self = selfTimes(p);
  const byWhere = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  let srcMs = 0;
  let totalMs = 0;
  for (const node of p.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    totalMs += ms;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (name === '(garbage collector)') gcMs += ms;
    const loc = location(node.callFrame, root);
    const where = loc ? `${name} (${loc})` : name;
    byWhere.set(where, (byWhere.get(where) ?? 0) + ms);
    const file = loc ? loc.replace(/:\d+$/, '') : name;
    if (file.startsWith('src/')) srcMs += ms;
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
  }
  const busy = totalMs - idleMs || 1;
  const rank = (m: Map<string, number>, n: number): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([where, selfMs]) => ({ where, selfMs, share: selfMs / busy }));
  return { totalMs, idleMs, gcMs, srcMs, top: rank(byWhere, topN), byFile: rank(byFile, 15) };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}
