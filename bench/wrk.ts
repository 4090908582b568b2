/**
 * Load with wrk (https://github.com/wg/wrk): a Lua script sets method, headers and body,
 * `--latency` prints the percentiles that are parsed here.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignedCall } from './calls.js';
import { CLIENT_CPU, isPinning, makeTempDir, removeTempDir, spawnTracked } from './children.js';
import type { LoadResult, LoadRun } from './load-result.js';

export function findWrk(): string | undefined {
  for (const p of ['/usr/bin/wrk', '/usr/local/bin/wrk']) if (existsSync(p)) return p;
  return undefined;
}

/** A Lua string literal; JSON's escapes for quote and backslash are Lua's too. */
function luaString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`non-printable byte in ${JSON.stringify(s)}`);
  return JSON.stringify(s);
}

export function wrkScript(call: SignedCall): string {
  const lines = [
    `wrk.method = ${luaString(call.method)}`,
    `wrk.path = ${luaString(call.path)}`,
    `wrk.body = ${luaString(call.body)}`,
  ];
  for (const [k, v] of call.headers) {
    // wrk adds its own "Host" unless that exact key is set.
    const name = k.toLowerCase() === 'host' ? 'Host' : k;
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(v)}`);
  }
  return lines.join('\n') + '\n';
}

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

function toMs(value: string, unit: string): number {
  const factor = UNIT_MS[unit];
  if (factor === undefined) throw new Error(`unknown wrk time unit ${unit}`);
  return Number(value) * factor;
}

/** Parses `wrk --latency` output. */
export function parseWrkOutput(out: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(out);
  const p50 = /^\s*50%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(out);
  const p90 = /^\s*90%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(out);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(out);
  if (!rps || !total || !p50 || !p99) throw new Error(`unexpected wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    seconds: toMs(total[2], total[3]) / 1000,
    p50Ms: toMs(p50[1], p50[2]),
    ...(p90 && { p90Ms: toMs(p90[1], p90[2]) }),
    p99Ms: toMs(p99[1], p99[2]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors,
  };
}

function runWrkOnce(wrk: string, script: string, run: LoadRun): Promise<string> {
  // One client thread when pinned to the single client core; otherwise two for c > 1.
  const threads = run.concurrency > 1 && !isPinning() ? 2 : 1;
  const args = [
    `-t${threads}`,
    `-c${run.concurrency}`,
    `-d${run.durationS}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    script,
    run.url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawnTracked(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] }, CLIENT_CPU);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (run.durationS + 15) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited ${code}:\n${out}`));
    });
  });
}

/** A discarded warm-up run (JIT, connection setup), then the measured one. */
export async function wrkLoad(
  wrk: string,
  call: SignedCall,
  run: LoadRun,
  warmupS: number,
): Promise<LoadResult> {
  const dir = makeTempDir('stratus-wrk-');
  try {
    const script = join(dir, 'call.lua');
    writeFileSync(script, wrkScript(call));
    if (warmupS > 0) await runWrkOnce(wrk, script, { ...run, durationS: warmupS });
    return parseWrkOutput(await runWrkOnce(wrk, script, run));
  } finally {
    removeTempDir(dir);
  }
}
