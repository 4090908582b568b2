/**
 * Cold starts: the first invoke of a freshly created function, timed by the client from
 * sending Invoke to the answer, plus the `Init Duration` of the REPORT line in the log tail.
 * Two kinds per runtime: "pooled" (a pre-started runtime process takes the function; the
 * pool holds one per family and refills between samples) and "own process" (an
 * interpreter-start-only variable such as NODE_NO_WARNINGS keeps the pool out, see
 * src/services/lambda/execution/pool.ts). Beside them, the bare interpreter start.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { SERVER_CPU, spawnTracked } from './children.js';
import { quantile } from './load-result.js';
import { createNoop, deleteFunction, type Family, type LambdaBench } from './lambda-setup.js';

export type ColdKind = 'pooled' | 'own-process';

/** Variables that only matter at interpreter start: they make Stratus spawn a new process. */
const OWN_PROCESS_ENV: Record<Family, Record<string, string>> = {
  node: { NODE_NO_WARNINGS: '1' },
  python: { PYTHONDONTWRITEBYTECODE: '1' },
};

export interface Stats {
  samples: number;
  p50Ms: number;
  minMs: number;
  maxMs: number;
}

export interface ColdRow {
  family: Family;
  kind: ColdKind;
  /** Client side: Invoke sent → answer received. */
  client: Stats;
  /** From the REPORT line (undefined when the tail had none). */
  initDuration?: Stats;
}

export interface ColdResult {
  rows: ColdRow[];
  /** With the runtimes' few variables (the reference), and with the benchmark's own. */
  bare: Record<Family | `${Family}+env`, Stats & { command: string }>;
}

export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    minMs: sorted[0] ?? NaN,
    maxMs: sorted[sorted.length - 1] ?? NaN,
  };
}

const INIT_DURATION = /Init Duration: ([\d.]+) ms/;

async function coldSample(
  b: LambdaBench,
  name: string,
  family: Family,
  kind: ColdKind,
): Promise<{ clientMs: number; initMs?: number }> {
  await createNoop(b, name, family, {
    ...(kind === 'own-process' && { Environment: { Variables: OWN_PROCESS_ENV[family] } }),
  });
  try {
    const t0 = performance.now();
    const out = await b.lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{}'), LogType: 'Tail' }),
    );
    const clientMs = performance.now() - t0;
    if (out.StatusCode !== 200 || out.FunctionError)
      throw new Error(`${name}: ${out.FunctionError} ${Buffer.from(out.Payload ?? []).toString()}`);
    const tail = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
    const m = INIT_DURATION.exec(tail);
    return { clientMs, ...(m && { initMs: Number(m[1]) }) };
  } finally {
    // Its environment goes with it, so that warm environments do not pile up.
    await deleteFunction(b, name);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real python3 behind a shim (pyenv), as the server resolves it for its runtimes. */
function realPython(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
}

/** Bare starts, timed by a helper that sits on the server's CPU like the runtimes. */
async function bareStarts(samples: number): Promise<ColdResult['bare']> {
  const node = [process.execPath, '-e', '0'];
  const python = [realPython(), '-c', '0'];
  const commands: Record<keyof ColdResult['bare'], string[]> = {
    node,
    python,
    'node+env': node,
    'python+env': python,
  };
  const self = fileURLToPath(import.meta.url);
  const script = self.replace(/lambda-cold\.(ts|js)$/, 'spawn-timer.$1');
  const child = spawnTracked(
    process.execPath,
    [...process.execArgv, script, String(samples), JSON.stringify(commands)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
    SERVER_CPU,
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`spawn timer exited ${code}:\n${out}`);
  const times = JSON.parse(out) as Record<keyof ColdResult['bare'], number[]>;
  const bare = {} as ColdResult['bare'];
  for (const k of Object.keys(commands) as (keyof ColdResult['bare'])[])
    bare[k] = { ...stats(times[k]), command: commands[k].join(' ') };
  return bare;
}

export async function coldStarts(
  b: LambdaBench,
  samples: number,
  gapMs: number,
  say: (msg: string) => void,
): Promise<ColdResult> {
  const families: Family[] = ['node', 'python'];
  const kinds: ColdKind[] = ['own-process', 'pooled'];
  // One untimed cold start per runtime: the pool of a family fills on its first one.
  for (const f of families) await coldSample(b, `cold-prime-${f}`, f, 'own-process');
  const client = new Map<string, number[]>();
  const init = new Map<string, number[]>();
  say(`cold starts: ${samples} each of ${families.join(', ')} × ${kinds.join(', ')}`);
  for (let i = 0; i < samples; i++) {
    for (const f of families) {
      for (const k of kinds) {
        // Time for the pool to refill and for the previous function's process to go.
        await sleep(gapMs);
        const key = `${f} ${k}`;
        const s = await coldSample(b, `cold-${f}-${k}-${i}`, f, k);
        (client.get(key) ?? client.set(key, []).get(key))?.push(s.clientMs);
        if (s.initMs !== undefined) (init.get(key) ?? init.set(key, []).get(key))?.push(s.initMs);
      }
    }
  }
  say(`bare interpreter starts: ${samples} each`);
  const bare = await bareStarts(samples);
  const rows: ColdRow[] = [];
  for (const f of families)
    for (const k of kinds) {
      const key = `${f} ${k}`;
      const initMs = init.get(key);
      rows.push({
        family: f,
        kind: k,
        client: stats(client.get(key) ?? []),
        ...(initMs && { initDuration: stats(initMs) }),
      });
    }
  return { rows, bare };
}
