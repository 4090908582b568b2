/**
 * What metering costs the warm invoke path (issue 17, "Speed"): warm invokes of a no-op
 * Node function against two Stratus servers started alike, one metering (the default) and
 * one with STRATUS_METERING=off, in one-second turns (wrk, or the Node socket client), at
 * 1 and 10 connections. The target: metered throughput at least 0.95× the unmetered one.
 * Afterwards the metered server's bill must count every invocation the load made.
 *
 * `--path apigateway`: the same through an HTTP API in front of the function (quick create,
 * `GET /noop` on the invoke host), the "off" server with both STRATUS_METERING=off and
 * STRATUS_METRICS=off, so the ratio is what API Gateway's AWS/ApiGateway metrics and its
 * request metering (and Lambda's) cost together; the bill must count the API's requests.
 *
 *   npm run build && node dist/bench/metering.js [--duration 10] [--warmup 1] [--path invoke|apigateway]
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CLIENT_CPU, enablePinning, isPinning, runBench } from './children.js';
import type { SignedCall } from './calls.js';
import { capture } from './capture.js';
import { interleaved, type LoadSettings, type Target } from './http-load.js';
import { combine } from './load-result.js';
import { createNoop, quickHttpApi, setUp, signInvoke, type LambdaBench } from './lambda-setup.js';
import { startStratus, type StratusProcess } from './stratus-process.js';
import { findWrk } from './wrk.js';

const FUNCTION = 'bench-metered';

function say(msg: string): void {
  process.stderr.write(`[metering-bench] ${msg}\n`);
}

async function prepare(
  s: StratusProcess,
  b: LambdaBench,
  name: string,
  path: Path,
): Promise<Target> {
  await createNoop(b, FUNCTION, 'node');
  const call = path === 'invoke' ? await signInvoke(s.endpoint, FUNCTION) : await httpApi(s, b);
  const answer = await capture(s.endpoint, call);
  if (answer.status !== 200) throw new Error(`${name}: Invoke answered ${answer.status}`);
  return { name, url: s.endpoint, call, pid: s.child.pid };
}

type Path = 'invoke' | 'apigateway';

/** An HTTP API whose `$default` route is the function; the call to its invoke host. */
async function httpApi(s: StratusProcess, b: LambdaBench): Promise<SignedCall> {
  const fn = `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}`;
  const apiId = await quickHttpApi(b, s.endpoint, fn);
  return {
    name: 'http-api',
    method: 'GET',
    path: '/noop',
    headers: [['host', `${apiId}.execute-api.localhost:${s.port}`]],
    body: '',
  };
}

/** Requests the metered server's bill counted (all of them, once flushed). */
async function billedRequests(endpoint: string, path: Path): Promise<number> {
  const res = await fetch(`${endpoint}/_stratus/cost?format=json`);
  const report = (await res.json()) as {
    services: { code: string; usage: { usageType: string; quantity: number }[] }[];
  };
  const [code, type] =
    path === 'invoke' ? ['AWSLambda', 'Request'] : ['AmazonApiGateway', 'ApiGatewayHttpRequest'];
  const service = report.services.find((s) => s.code === code);
  return service?.usage.find((u) => u.usageType === type)?.quantity ?? 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '1' },
      path: { type: 'string', default: 'invoke' },
    },
    strict: true,
  });
  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  const wrk = findWrk();
  const settings: LoadSettings = {
    wrk,
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
  };
  const path: Path = values.path === 'apigateway' ? 'apigateway' : 'invoke';
  const load0 = loadavg()[0];
  const on = await startStratus({ auth: 'permissive', driver: 'process' });
  const off = await startStratus({
    auth: 'permissive',
    driver: 'process',
    env: { STRATUS_METERING: 'off', ...(path === 'apigateway' && { STRATUS_METRICS: 'off' }) },
  });
  const clients = [await setUp(on.endpoint), await setUp(off.endpoint)];
  try {
    const targets = [
      await prepare(on, clients[0], 'metering on', path),
      await prepare(off, clients[1], 'metering off', path),
    ];
    const before = await billedRequests(on.endpoint, path);
    let sent = 0;
    const rows: string[] = [];
    for (const c of [1, 10]) {
      say(`warm invokes, ${c} connection(s), on and off in turns, ${settings.durationS} s each`);
      // Half the turns each way round: neither server always goes first.
      const half = { ...settings, durationS: Math.max(1, Math.round(settings.durationS / 2)) };
      const r1 = await interleaved(half, targets, c);
      const r2 = await interleaved(half, [...targets].reverse(), c);
      const a = combine([r1.get('metering on')!, r2.get('metering on')!]);
      const b = combine([r1.get('metering off')!, r2.get('metering off')!]);
      // Warm-up and measured requests all reached the metered server.
      sent += a.requests;
      const problems = a.non2xx + a.errors + b.non2xx + b.errors;
      rows.push(
        `| ${c} | ${a.rps.toFixed(0)} | ${b.rps.toFixed(0)} | **${(a.rps / b.rps).toFixed(3)}×** | ` +
          `${a.p50Ms.toFixed(2)} / ${b.p50Ms.toFixed(2)} | ${a.cpuUsPerCall?.toFixed(0) ?? '–'} / ${b.cpuUsPerCall?.toFixed(0) ?? '–'} |` +
          (problems ? ` ${problems} errors` : ''),
      );
    }
    const billed = (await billedRequests(on.endpoint, path)) - before;
    process.stdout.write(
      [
        `Metering overhead on the ${path === 'invoke' ? 'warm invoke path' : 'HTTP API → Lambda path (metrics and metering)'} (${new Date().toISOString()}, ${cpus().length} CPUs, ` +
          `load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}, ${wrk ? 'wrk' : 'node socket client'}, ` +
          `${isPinning() ? 'pinned' : 'not pinned'})`,
        '',
        '| connections | on (req/s) | off (req/s) | on ÷ off | p50 ms on / off | server µs/call on / off |',
        '|---|---|---|---|---|---|',
        ...rows,
        '',
        `The metered server's bill counts ${billed} requests for the measured runs ` +
          `(${sent} measured; warm-ups add the rest).`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const c of clients) c.destroy();
    await on.stop();
    await off.stop();
  }
}

runBench(main, say);
