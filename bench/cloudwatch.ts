/**
 * CloudWatch (`npm run bench:cloudwatch`), issue 17's speed figures:
 *  - PutMetricData with 1,000 data points per call (20 metrics × 50 timestamps over the
 *    last hour), calls per second, sequential and on 4 concurrent clients, for the SDK's
 *    default protocol (awsJson 1.0, gzipped as the SDK does past 10 KB) and for rpc-v2-cbor
 *    (uncompressed: see client());
 *  - GetMetricData over 1,000,000 stored points of one metric (a day at 1-minute period:
 *    1,440 periods of ~694 values), Average and p99 per period, latency per call;
 *  - the cost of metrics on the warm invoke path: two Stratus processes, one with
 *    STRATUS_METRICS=off, wrk re-sending the same signed Invoke to each in turns
 *    (target: with metrics ≥ 0.95× without).
 *
 *   node dist/bench/cloudwatch.js [--duration 5] [--warmup 1]
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';
import { capture } from './capture.js';
import { CLIENT_CPU, enablePinning, killAllNow } from './children.js';
import { interleaved, type LoadSettings } from './http-load.js';
import { createNoop, setUp, signInvoke } from './lambda-setup.js';
import { quantile } from './load-result.js';
import { startStratus, type StratusProcess } from './stratus-process.js';
import { findWrk } from './wrk.js';

const WATCHDOG_MS = 600_000;
const MINUTE = 60_000;

function say(msg: string): void {
  process.stderr.write(`[bench:cloudwatch] ${msg}\n`);
}

function client(endpoint: string, cbor: boolean): CloudWatchClient {
  return new CloudWatchClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    // SDK v3 (3.1178) with rpc-v2-cbor gzips PutMetricData past 10 KB but sends the
    // uncompressed Content-Length, so the server waits for bytes that never come:
    // compression off for CBOR (the JSON client compresses, as by default).
    ...(cbor && { protocol: AwsSmithyRpcV2CborProtocol, disableRequestCompression: true }),
  });
}

/** 1,000 data points: 20 metrics × 50 timestamps in the last hour. */
function thousandPoints(round: number): MetricDatum[] {
  const now = Date.now();
  const out: MetricDatum[] = [];
  for (let m = 0; m < 20; m++) {
    for (let t = 0; t < 50; t++) {
      out.push({
        MetricName: `m${m}`,
        Dimensions: [{ Name: 'Host', Value: `h${m % 4}` }],
        Timestamp: new Date(now - t * 70_000),
        Value: (round * 7 + m * 13 + t) % 1000,
        Unit: 'Milliseconds',
      });
    }
  }
  return out;
}

async function putRate(
  endpoint: string,
  cbor: boolean,
  seconds: number,
  concurrency: number,
): Promise<{ calls: number; rps: number; p50Ms: number }> {
  const clients = Array.from({ length: concurrency }, () => client(endpoint, cbor));
  const lat: number[] = [];
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (c, i) => {
        let round = i;
        while (performance.now() < until) {
          const MetricData = thousandPoints(round++);
          const s = performance.now();
          await c.send(new PutMetricDataCommand({ Namespace: 'Bench', MetricData }));
          lat.push(performance.now() - s);
        }
      }),
    );
  } finally {
    for (const c of clients) c.destroy();
  }
  const ms = performance.now() - t0;
  lat.sort((a, b) => a - b);
  return { calls: lat.length, rps: lat.length / (ms / 1000), p50Ms: quantile(lat, 0.5) };
}

/** 1,000,000 values of one metric over the last day: 1,440 minutes × ~694 values. */
async function loadMillion(endpoint: string): Promise<number> {
  const c = client(endpoint, true);
  const dayStart = Math.floor(Date.now() / MINUTE) * MINUTE - 1440 * MINUTE;
  let stored = 0;
  try {
    const perMinute = Math.ceil(1_000_000 / 1440);
    let batch: MetricDatum[] = [];
    for (let i = 0; i < 1440; i++) {
      let left = perMinute;
      while (left > 0) {
        const n = Math.min(150, left);
        batch.push({
          MetricName: 'Latency',
          Dimensions: [{ Name: 'Service', Value: 'api' }],
          Timestamp: new Date(dayStart + i * MINUTE + 1000),
          Values: Array.from({ length: n }, (_, k) => ((i * 31 + k * 17) % 997) + 0.5),
          Unit: 'Milliseconds',
        });
        left -= n;
        stored += n;
        if (batch.length === 1000) {
          await c.send(new PutMetricDataCommand({ Namespace: 'Bench/Day', MetricData: batch }));
          batch = [];
        }
      }
    }
    if (batch.length) {
      await c.send(new PutMetricDataCommand({ Namespace: 'Bench/Day', MetricData: batch }));
    }
  } finally {
    c.destroy();
  }
  return stored;
}

async function getDay(endpoint: string, calls: number): Promise<{ p50Ms: number; points: number }> {
  const c = client(endpoint, true);
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const lat: number[] = [];
  let points = 0;
  try {
    for (let i = 0; i < calls; i++) {
      const metric = {
        Namespace: 'Bench/Day',
        MetricName: 'Latency',
        Dimensions: [{ Name: 'Service', Value: 'api' }],
      };
      const s = performance.now();
      const out = await c.send(
        new GetMetricDataCommand({
          StartTime: new Date(end - 1440 * MINUTE),
          EndTime: new Date(end),
          MetricDataQueries: [
            { Id: 'avg', MetricStat: { Metric: metric, Period: 60, Stat: 'Average' } },
            { Id: 'p99', MetricStat: { Metric: metric, Period: 60, Stat: 'p99' } },
          ],
        }),
      );
      lat.push(performance.now() - s);
      points = (out.MetricDataResults ?? []).reduce((a, r) => a + (r.Values?.length ?? 0), 0);
    }
  } finally {
    c.destroy();
  }
  lat.sort((a, b) => a - b);
  return { p50Ms: quantile(lat, 0.5), points };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      parts: { type: 'string', default: 'put,get,invoke' },
    },
  });
  const parts = new Set(values.parts.split(','));
  const watchdog = setTimeout(() => {
    say(`over ${WATCHDOG_MS / 1000} s: stopping everything`);
    killAllNow();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  const wrk = findWrk();
  if (!wrk) say('wrk not found: using the Node socket client, a lower bound');
  const duration = Number(values.duration);
  const settings: LoadSettings = { wrk, durationS: duration, warmupS: Number(values.warmup) };
  const lines: string[] = [];
  const servers: StratusProcess[] = [];
  try {
    say('starting Stratus with metrics on and with STRATUS_METRICS=off');
    const on = await startStratus({ auth: 'permissive', driver: 'process' });
    servers.push(on);
    const off = await startStratus({
      auth: 'permissive',
      driver: 'process',
      env: { STRATUS_METRICS: 'off' },
    });
    servers.push(off);

    for (const [name, cbor] of parts.has('put')
      ? ([
          ['awsJson 1.0', false],
          ['rpc-v2-cbor', true],
        ] as const)
      : []) {
      for (const conc of [1, 4]) {
        say(`PutMetricData, 1,000 points per call, ${name}, ${conc} client${conc > 1 ? 's' : ''}`);
        const r = await putRate(on.endpoint, cbor, duration, conc);
        lines.push(
          `PutMetricData ${name}, ${conc} client${conc > 1 ? 's' : ''}: ${r.rps.toFixed(1)} calls/s ` +
            `(${Math.round(r.rps * 1000).toLocaleString('en-US')} points/s), p50 ${r.p50Ms.toFixed(1)} ms, ${r.calls} calls`,
        );
      }
    }

    if (parts.has('get')) await dayFigures(on.endpoint, lines);
    if (parts.has('invoke')) await invokeFigures(settings, on, off, lines);
    process.stdout.write(
      [
        '',
        `CloudWatch, ${wrk ? 'wrk' : 'node-socket'}, ${duration} s per figure, load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}, ${cpus().length} CPUs${canPin ? ', client and server pinned' : ''}`,
        ...lines,
        '',
      ].join('\n'),
    );
  } finally {
    for (const s of servers) await s.stop();
  }
}

async function dayFigures(endpoint: string, lines: string[]): Promise<void> {
  say('storing 1,000,000 points of one metric over a day');
  const t0 = performance.now();
  const stored = await loadMillion(endpoint);
  const loadS = (performance.now() - t0) / 1000;
  lines.push(
    `stored ${stored.toLocaleString('en-US')} points (150 values per datum) in ${loadS.toFixed(1)} s`,
  );
  say('GetMetricData over the day, Average and p99 per minute');
  const day = await getDay(endpoint, 10);
  lines.push(
    `GetMetricData over ${stored.toLocaleString('en-US')} points, 1-minute period for a day, Average + p99: ` +
      `p50 ${day.p50Ms.toFixed(1)} ms per call, ${day.points} values returned`,
  );
}

async function invokeFigures(
  settings: LoadSettings,
  on: StratusProcess,
  off: StratusProcess,
  lines: string[],
): Promise<void> {
  const targets = [];
  for (const [name, server] of [
    ['metrics on', on],
    ['metrics off', off],
  ] as const) {
    const b = await setUp(server.endpoint);
    try {
      await createNoop(b, 'bench-noop', 'node');
    } finally {
      b.destroy();
    }
    const call = await signInvoke(server.endpoint, 'bench-noop');
    const answer = await capture(server.endpoint, call);
    if (answer.status !== 200) throw new Error(`${name}: ${answer.status} ${answer.body}`);
    targets.push({ name, url: server.endpoint, call, pid: server.child.pid });
  }
  for (const c of [1, 16]) {
    say(`warm invoke, ${c} connection${c > 1 ? 's' : ''}, metrics on and off in turns`);
    const r = await interleaved(settings, targets, c);
    const a = r.get('metrics on');
    const z = r.get('metrics off');
    if (!a || !z) continue;
    lines.push(
      `warm invoke c${c}: metrics on ${Math.round(a.rps)} req/s p50 ${a.p50Ms.toFixed(2)} ms, ` +
        `off ${Math.round(z.rps)} req/s p50 ${z.p50Ms.toFixed(2)} ms: ratio ${(a.rps / z.rps).toFixed(3)} (target ≥ 0.95)` +
        (a.non2xx || z.non2xx ? ` (non-2xx: ${a.non2xx} / ${z.non2xx})` : ''),
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
