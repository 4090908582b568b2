/** The benchmark's figures: one table for HTTP load, one for boto3, and the JSON of both. */
import type { Boto3Rates } from './boto3-ratio.js';
import type { CallName } from './calls.js';
import type { LoadResult } from './load-result.js';
import type { ProfileSummary } from './cpu-profile.js';

/** Targets from the issue. */
export const TARGET_RATIO = 0.4;
export const TARGET_P50_MS_C1 = 1;
export const TARGET_BOTO3_RATIO = 0.9;

export interface LoadRow {
  call: CallName;
  auth: 'permissive' | 'strict';
  concurrency: number;
  stratus: LoadResult;
  raw: LoadResult;
}

export interface Boto3Row {
  auth: 'permissive' | 'strict';
  call: CallName;
  stratus: number;
  stub: number;
  moto?: number;
}

export interface BenchReport {
  date: string;
  machine: {
    cpus: number;
    node: string;
    pinned: boolean;
    loadGenerator: 'wrk' | 'node-socket';
    /** 1-minute load average: above ~1 other processes compete with the benchmark. */
    loadAvgBefore: number;
    loadAvgAfter?: number;
    /** `--nice`: the niceness servers and clients ran with. */
    nice?: number;
  };
  settings: { durationS: number; warmupS: number; boto3Calls: number; boto3Seconds: number };
  load: LoadRow[];
  /** Per target: stratus-permissive, stratus-strict, stub, moto. */
  boto3Rates: Record<string, Boto3Rates>;
  boto3: Boto3Row[];
  /** Calls a server answered with something other than 2xx, or other failures. */
  problems: string[];
  profile?: ProfileSummary;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 1 ? n.toFixed(3) : n.toFixed(2));
/** Rounded down, so a shown 0.90 never stands for 0.8996 next to a "<0.9". */
const ratio2 = (n: number) => (Math.floor(n * 100) / 100).toFixed(2);
const pct = (a: LoadResult) => `${ms(a.p50Ms)} / ${ms(a.p99Ms)} ms`;

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

function cpuPair(r: LoadRow): string {
  const a = r.stratus.cpuUsPerCall;
  const b = r.raw.cpuUsPerCall;
  return a === undefined || b === undefined ? '-' : `${a.toFixed(0)} / ${b.toFixed(0)}`;
}

/**
 * One row per scenario. "CPU ratio" is raw CPU per call ÷ Stratus CPU per call: the
 * throughput ratio the two would reach each on a core of its own, whatever else runs.
 */
export function loadTable(rows: LoadRow[]): string {
  return table(
    [
      'scenario',
      'stratus calls/s',
      'raw calls/s',
      'ratio',
      'stratus p50 / p99',
      'raw p50 / p99',
      'CPU µs/call stratus / raw',
      'CPU ratio',
      'targets',
    ],
    rows.map((r) => {
      const ratio = r.stratus.rps / r.raw.rps;
      const misses: string[] = [];
      if (ratio < TARGET_RATIO) misses.push(`ratio<${TARGET_RATIO}`);
      if (r.concurrency === 1 && r.stratus.p50Ms >= TARGET_P50_MS_C1) misses.push('p50>=1ms');
      if (r.stratus.non2xx || r.stratus.errors)
        misses.push(`${r.stratus.non2xx + r.stratus.errors} bad`);
      return [
        `${r.call} c${r.concurrency} ${r.auth}`,
        int(r.stratus.rps),
        int(r.raw.rps),
        ratio2(ratio),
        pct(r.stratus),
        pct(r.raw),
        cpuPair(r),
        r.stratus.cpuUsPerCall && r.raw.cpuUsPerCall
          ? ratio2(r.raw.cpuUsPerCall / r.stratus.cpuUsPerCall)
          : '-',
        misses.length ? misses.join(' ') : 'met',
      ];
    }),
  );
}

export function boto3Table(rows: Boto3Row[], title: string): string {
  return table(
    [title, 'stratus calls/s', 'stub calls/s', 'ratio', 'moto calls/s', 'moto ratio', 'target'],
    rows.map((r) => [
      `${r.call} ${r.auth}`,
      int(r.stratus),
      int(r.stub),
      ratio2(r.stratus / r.stub),
      r.moto === undefined ? '-' : int(r.moto),
      r.moto === undefined ? '-' : ratio2(r.moto / r.stub),
      r.stratus / r.stub >= TARGET_BOTO3_RATIO ? 'met' : `<${TARGET_BOTO3_RATIO}`,
    ]),
  );
}

export function boto3Rows(
  auth: 'permissive' | 'strict',
  stratus: Boto3Rates,
  stub: Boto3Rates,
  moto: Boto3Rates | undefined,
): Boto3Row[] {
  const rows: Boto3Row[] = [];
  for (const call of Object.keys(stratus) as CallName[]) {
    const s = stratus[call];
    const b = stub[call];
    if (!s || !b) continue;
    rows.push({
      auth,
      call,
      stratus: s.callsPerSec,
      stub: b.callsPerSec,
      moto: moto?.[call]?.callsPerSec,
    });
  }
  return rows;
}

export function profileText(p: ProfileSummary): string {
  const busy = p.totalMs - p.idleMs;
  const lines = [
    `CPU profile of the server: ${int(p.totalMs)} ms sampled, ${int(busy)} ms busy ` +
      `(${((busy / p.totalMs) * 100).toFixed(0)}%), GC ${int(p.gcMs)} ms, ` +
      `in src/ ${int(p.srcMs)} ms (${((p.srcMs / busy) * 100).toFixed(0)}% of busy)`,
    'top self time:',
    ...p.top.map(
      (h) =>
        `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${ms(h.selfMs).padStart(8)} ms  ${h.where}`,
    ),
    'by file:',
    ...p.byFile.map((h) => `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.where}`),
  ];
  return lines.join('\n');
}
