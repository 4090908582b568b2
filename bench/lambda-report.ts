/** The Lambda benchmark's figures as tables, with the issue's targets beside them. */
import type { ColdResult } from './lambda-cold.js';
import type { MemoryResult } from './lambda-memory.js';
import type { RssRun, WarmResult } from './lambda-warm.js';

/** Targets from the issue ("Speed"). */
export const TARGET_RAW_SHARE = 0.15;
export const TARGET_P50_MS = 2;
export const TARGET_COLD_FACTOR = 1.5;

export interface LambdaReport {
  date: string;
  machine: {
    cpus: number;
    node: string;
    pinned: boolean;
    loadGenerator: 'wrk' | 'node-socket';
    loadAvgBefore: number;
    loadAvgAfter?: number;
  };
  settings: Record<string, number>;
  /** Where the server's SQLite lives: `ephemeral` (a temporary file) or the `--state-dir`. */
  storage?: string;
  warm?: WarmResult;
  rss?: RssRun;
  cold?: ColdResult;
  memory?: MemoryResult;
  problems: string[];
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 1 ? n.toFixed(3) : n < 100 ? n.toFixed(2) : n.toFixed(1));
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
const yes = (ok: boolean) => (ok ? 'yes' : 'NO');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

function warmTable(w: WarmResult): string {
  const rows: string[][] = [];
  for (const h of w.http) {
    const share = h.stratus.rps / h.raw.rps;
    rows.push([
      `wrk c${h.concurrency}`,
      int(h.stratus.rps),
      `${ms(h.stratus.p50Ms)} / ${ms(h.stratus.p99Ms)}`,
      int(h.raw.rps),
      `${ms(h.raw.p50Ms)} / ${ms(h.raw.p99Ms)}`,
      `${(share * 100).toFixed(1)}%`,
      h.stratus.cpuUsPerCall !== undefined ? `${int(h.stratus.cpuUsPerCall)} µs` : '-',
      yes(share >= TARGET_RAW_SHARE && h.stratus.p50Ms < TARGET_P50_MS),
    ]);
  }
  const s = w.sdk;
  rows.push([
    'SDK c1 (sequential)',
    int(s.stratus.rps),
    `${ms(s.stratus.p50Ms)} / ${ms(s.stratus.p99Ms)}`,
    int(s.raw.rps),
    `${ms(s.raw.p50Ms)} / ${ms(s.raw.p99Ms)}`,
    `${((s.stratus.rps / s.raw.rps) * 100).toFixed(1)}%`,
    '-',
    yes(s.stratus.p50Ms < TARGET_P50_MS),
  ]);
  return table(
    [
      'warm invoke (no-op Node)',
      'Stratus/s',
      'p50 / p99 ms',
      'raw/s',
      'raw p50 / p99',
      'of raw',
      'server CPU/call',
      `≥${TARGET_RAW_SHARE * 100}%, p50<${TARGET_P50_MS}ms`,
    ],
    rows,
  );
}

function rssText(r: RssRun, storage = 'ephemeral'): string {
  const grow = (r.lastKb - r.firstKb) / r.firstKb;
  return [
    `server RSS (SQLite ${storage}) over ${r.durationS} s of wrk c${r.concurrency} ` +
      `(${int(r.load.rps)} invokes/s, p50 ${ms(r.load.p50Ms)} ms, ${r.load.non2xx} non-2xx): ` +
      `first ${mb(r.firstKb)}, last ${mb(r.lastKb)}, max ${mb(r.maxKb)} ` +
      `(${grow >= 0 ? '+' : ''}${(grow * 100).toFixed(1)}%)`,
    `  samples (s: MB) ${r.samples.map(([t, kb]) => `${t}: ${(kb / 1024).toFixed(1)}`).join(', ')}`,
  ].join('\n');
}

function coldTable(c: ColdResult): string {
  const rows = c.rows.map((r) => {
    const bare = c.bare[r.family].p50Ms;
    const factor = r.client.p50Ms / bare;
    return [
      `${r.family} ${r.kind}`,
      String(r.client.samples),
      ms(r.client.p50Ms),
      `${ms(r.client.minMs)}–${ms(r.client.maxMs)}`,
      r.initDuration ? ms(r.initDuration.p50Ms) : '-',
      ms(bare),
      `${factor.toFixed(2)}×`,
      yes(factor < TARGET_COLD_FACTOR),
    ];
  });
  return table(
    [
      'cold start',
      'n',
      'p50 ms (client)',
      'min–max',
      'Init Duration p50',
      'bare start p50',
      '÷ bare',
      `<${TARGET_COLD_FACTOR}×`,
    ],
    rows,
  );
}

function bareText(c: ColdResult): string {
  return Object.entries(c.bare)
    .map(
      ([k, b]) =>
        `  bare: \`${b.command}\` p50 ${ms(b.p50Ms)} ms (${b.samples} samples, ` +
        `${k.endsWith('+env') ? "the benchmark's environment" : "the runtimes' PATH/LANG/TZ only"})`,
    )
    .join('\n');
}

function memoryText(m: MemoryResult): string {
  const pss = m.perEnvironment.pssKb;
  return [
    `memory: ${m.functions} functions created, ${m.warm} environments warmed at once ` +
      `(${int(m.warmUpMs)} ms for all), then idle`,
    `  per idle warm environment: RSS ${mb(m.perEnvironment.rssKb)}` +
      (pss !== undefined ? `, PSS ${mb(pss)}` : ''),
    `  runtime processes: ${m.runtimesBefore.processes} before (${mb(m.runtimesBefore.rssKb)} RSS), ` +
      `${m.runtimesAfter.processes} after (${mb(m.runtimesAfter.rssKb)} RSS` +
      (m.runtimesAfter.pssKb !== undefined ? `, ${mb(m.runtimesAfter.pssKb)} PSS` : '') +
      ')',
    `  server RSS: ${mb(m.serverKb.before)} before, ${mb(m.serverKb.afterCreate)} with ` +
      `${m.functions} functions, ${mb(m.serverKb.afterWarm)} with ${m.warm} warm environments`,
  ].join('\n');
}

export function lambdaReportText(r: LambdaReport, note: string): string {
  const m = r.machine;
  const out = [
    '',
    `Stratus Lambda benchmark ${note}`.trim(),
    `${r.date}, ${m.cpus} CPUs, Node ${m.node}, ${m.loadGenerator}` +
      `${m.pinned ? ', server and runtimes on CPU 0 / clients on CPU 1' : ''}, load average ` +
      `${m.loadAvgBefore.toFixed(1)} before, ${(m.loadAvgAfter ?? NaN).toFixed(1)} after`,
    '',
  ];
  if (r.warm) out.push(warmTable(r.warm), '');
  if (r.rss) out.push(rssText(r.rss, r.storage), '');
  if (r.cold) out.push(coldTable(r.cold), bareText(r.cold), '');
  if (r.memory) out.push(memoryText(r.memory), '');
  if (r.problems.length) out.push('problems:', ...r.problems.map((p) => `  ${p}`), '');
  out.push('JSON:', JSON.stringify(r), '');
  return out.join('\n');
}
