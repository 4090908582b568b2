/** One measured load run against a URL, with wrk when installed, else the socket client. */
import type { SignedCall } from './calls.js';
import type { LoadResult } from './load-result.js';
import { socketLoad } from './socket-load.js';
import { wrkLoad } from './wrk.js';

export interface LoadSettings {
  /** Path to wrk, or undefined for the Node socket client. */
  wrk: string | undefined;
  durationS: number;
  warmupS: number;
}

export function load(
  s: LoadSettings,
  call: SignedCall,
  url: string,
  concurrency: number,
): Promise<LoadResult> {
  const run = { url, concurrency, durationS: s.durationS };
  return s.wrk ? wrkLoad(s.wrk, call, run, s.warmupS) : socketLoad(call, run, s.warmupS);
}
