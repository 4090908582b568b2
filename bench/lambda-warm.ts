/**
 * Warm invokes of a no-op Node function: wrk on keep-alive connections and the SDK one call
 * at a time, against Stratus and the raw node:http server replaying Stratus's answer; then
 * one long wrk run while the server's RSS is sampled.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { capture } from './capture.js';
import { interleaved, loadOne, type LoadSettings, type Target } from './http-load.js';
import { quantile, type LoadResult } from './load-result.js';
import { rssKb } from './proc-mem.js';
import { createNoop, lambdaClient, signInvoke, type LambdaBench } from './lambda-setup.js';
import { startRawServer, type RawServerProcess } from './raw-server-process.js';
import type { StratusProcess } from './stratus-process.js';

export const WARM_FUNCTION = 'bench-noop';

export interface SdkResult {
  calls: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface WarmResult {
  /** wrk (or the socket client) per concurrency: Stratus and raw. */
  http: { concurrency: number; stratus: LoadResult; raw: LoadResult }[];
  sdk: { stratus: SdkResult; raw: SdkResult };
}

export interface Warm {
  result: WarmResult;
  /** The signed call and the Stratus target, reused by the RSS run. */
  target: Target;
}

async function sdkSlice(client: LambdaClient, seconds: number, latencies: number[]) {
  const payload = Buffer.from('{}');
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < until) {
    const s = performance.now();
    const out = await client.send(
      new InvokeCommand({ FunctionName: WARM_FUNCTION, Payload: payload }),
    );
    latencies.push(performance.now() - s);
    if (out.StatusCode !== 200 || out.FunctionError) throw new Error('SDK invoke failed');
    n++;
  }
  return { n, ms: performance.now() - t0 };
}

function sdkResult(latencies: number[], ms: number): SdkResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    calls: latencies.length,
    seconds: ms / 1000,
    rps: latencies.length / (ms / 1000),
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}

/** Sequential InvokeCommand calls, in one-second turns between the two servers. */
async function sdkSequential(
  endpoints: { stratus: string; raw: string },
  seconds: number,
): Promise<WarmResult['sdk']> {
  const names = ['stratus', 'raw'] as const;
  const clients = { stratus: lambdaClient(endpoints.stratus), raw: lambdaClient(endpoints.raw) };
  const lat = { stratus: [] as number[], raw: [] as number[] };
  const time = { stratus: 0, raw: 0 };
  try {
    for (const n of names) await sdkSlice(clients[n], 0.3, []); // warm-up: connection, JIT
    for (let i = 0; i < Math.max(1, Math.round(seconds)); i++)
      for (const n of names) time[n] += (await sdkSlice(clients[n], 1, lat[n])).ms;
    return {
      stratus: sdkResult(lat.stratus, time.stratus),
      raw: sdkResult(lat.raw, time.raw),
    };
  } finally {
    clients.stratus.destroy();
    clients.raw.destroy();
  }
}

export async function warmInvokes(
  stratus: StratusProcess,
  b: LambdaBench,
  settings: LoadSettings,
  concurrencies: readonly number[],
  sdkSeconds: number,
  say: (msg: string) => void,
): Promise<Warm> {
  await createNoop(b, WARM_FUNCTION, 'node');
  const call = await signInvoke(stratus.endpoint, WARM_FUNCTION);
  const answer = await capture(stratus.endpoint, call);
  if (answer.status !== 200 || answer.body !== '{"ok":true}')
    throw new Error(`Invoke answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  let raw: RawServerProcess | undefined;
  try {
    raw = await startRawServer({ '': answer });
    const target: Target = { name: 'stratus', url: stratus.endpoint, call, pid: stratus.child.pid };
    const rawTarget: Target = { name: 'raw', url: raw.endpoint, call, pid: raw.child.pid };
    const http: WarmResult['http'] = [];
    for (const c of concurrencies) {
      say(`warm invoke, ${c} connection${c > 1 ? 's' : ''}, Stratus and raw in turns`);
      const r = await interleaved(settings, [target, rawTarget], c);
      http.push({
        concurrency: c,
        stratus: r.get('stratus') as LoadResult,
        raw: r.get('raw') as LoadResult,
      });
    }
    say(`SDK InvokeCommand, sequential, ${sdkSeconds} s each`);
    const sdk = await sdkSequential({ stratus: stratus.endpoint, raw: raw.endpoint }, sdkSeconds);
    return { result: { http, sdk }, target };
  } finally {
    await raw?.stop();
  }
}

export interface RssRun {
  durationS: number;
  concurrency: number;
  /** [seconds since start, VmRSS KiB] every 5 s, first at 0 and last at the end. */
  samples: [number, number][];
  firstKb: number;
  lastKb: number;
  maxKb: number;
  load: LoadResult;
}

/** One long load run on `target`, sampling the server's VmRSS every `everyS` seconds. */
export async function rssUnderLoad(
  settings: LoadSettings,
  target: Target,
  concurrency: number,
  durationS: number,
  everyS = 5,
): Promise<RssRun> {
  const pid = target.pid;
  const samples: [number, number][] = [];
  const t0 = performance.now();
  const sample = () => {
    const kb = rssKb(pid);
    if (kb !== undefined) samples.push([Math.round((performance.now() - t0) / 100) / 10, kb]);
  };
  sample();
  const timer = setInterval(sample, everyS * 1000);
  let load: LoadResult;
  try {
    load = await loadOne({ ...settings, durationS, warmupS: 0 }, target, concurrency);
  } finally {
    clearInterval(timer);
  }
  sample();
  const kbs = samples.map((s) => s[1]);
  return {
    durationS,
    concurrency,
    samples,
    firstKb: kbs[0],
    lastKb: kbs[kbs.length - 1],
    maxKb: Math.max(...kbs),
    load,
  };
}
