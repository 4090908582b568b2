/**
 * Load runs against several servers taking turns: each target gets a warm-up, then
 * one-second slices in rotation (A, B, C, A, B, C, ...), so outside load on the machine
 * falls on all of them alike and their ratio stays meaningful.
 * wrk when installed, else the Node socket client.
 */
import type { SignedCall } from './calls.js';
import { combine, type LoadResult } from './load-result.js';
import { cpuMs, treeCpuMs } from './proc-cpu.js';
import { socketLoad } from './socket-load.js';
import { wrkLoad } from './wrk.js';

export interface LoadSettings {
  /** Path to wrk, or undefined for the Node socket client. */
  wrk: string | undefined;
  /** Measured seconds per target (in one-second slices). */
  durationS: number;
  warmupS: number;
}

export interface Target {
  name: string;
  url: string;
  call: SignedCall;
  /** The server's process, for its CPU time per call (Linux). */
  pid?: number;
  /** Count the CPU of the processes it spawned too (function runtimes). */
  tree?: boolean;
}

function once(
  s: LoadSettings,
  t: Target,
  concurrency: number,
  durationS: number,
  warmupS: number,
): Promise<LoadResult> {
  const run = { url: t.url, concurrency, durationS };
  return s.wrk ? wrkLoad(s.wrk, t.call, run, warmupS) : socketLoad(t.call, run, warmupS);
}

/** One warm-up per target, then `durationS` one-second slices each, in rotation. */
export async function interleaved(
  s: LoadSettings,
  targets: readonly Target[],
  concurrency: number,
): Promise<Map<string, LoadResult>> {
  const slices = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  if (s.warmupS > 0) for (const t of targets) await once(s, t, concurrency, s.warmupS, 0);
  const rounds = Math.max(1, Math.round(s.durationS));
  for (let i = 0; i < rounds; i++)
    for (const t of targets) {
      const cpu = t.tree ? treeCpuMs : cpuMs;
      const before = cpu(t.pid);
      const ownBefore = t.tree ? cpuMs(t.pid) : undefined;
      const r = await once(s, t, concurrency, 1, 0);
      const after = cpu(t.pid);
      const ownAfter = t.tree ? cpuMs(t.pid) : undefined;
      if (before !== undefined && after !== undefined) r.serverCpuMs = after - before;
      if (ownBefore !== undefined && ownAfter !== undefined) r.ownCpuMs = ownAfter - ownBefore;
      slices.get(t.name)?.push(r);
    }
  return new Map([...slices].map(([name, list]) => [name, combine(list)]));
}

/** A single run of `durationS` after a warm-up (profiling). */
export function loadOne(s: LoadSettings, t: Target, concurrency: number): Promise<LoadResult> {
  return once(s, t, concurrency, s.durationS, s.warmupS);
}
