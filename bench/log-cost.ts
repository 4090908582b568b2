/**
 * What the access log costs: the same signed call (DescribeLogGroups) against Stratus at
 * `--log-level warn` (no access log) and at `info` (one JSON line per call, read from a
 * pipe), taking turns. Figures: calls/s and server CPU per call, side by side.
 *
 *   npm run build && node dist/bench/log-cost.js [--duration 5] [--concurrency 1,16]
 */
import { parseArgs } from 'node:util';
import { signCall } from './calls.js';
import { interleaved, type Target } from './http-load.js';
import { startStratus, type StratusProcess } from './stratus-process.js';
import { findWrk } from './wrk.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1,16' },
  },
});

const servers: StratusProcess[] = [];
try {
  const quiet = await startStratus({ auth: 'permissive', logLevel: 'warn' });
  servers.push(quiet);
  const logged = await startStratus({ auth: 'permissive', logLevel: 'info', logFormat: 'json' });
  servers.push(logged);
  const targets: Target[] = [];
  for (const [name, s] of [
    ['warn', quiet],
    ['info', logged],
  ] as const) {
    const call = await signCall('DescribeLogGroups', s.endpoint);
    targets.push({ name, url: s.endpoint, call, pid: s.child.pid });
  }
  const settings = { wrk: findWrk(), durationS: Number(values.duration), warmupS: 1 };
  console.log(`load: ${settings.wrk ? 'wrk' : 'node socket client (a lower bound)'}`);
  for (const c of (values.concurrency ?? '1').split(',').map(Number)) {
    const results = await interleaved(settings, targets, c);
    for (const [name, r] of results) {
      const cpuUs = r.serverCpuMs !== undefined ? (r.serverCpuMs * 1000) / r.requests : NaN;
      console.log(
        `c=${c} ${name.padEnd(4)} ${r.rps.toFixed(0).padStart(6)} calls/s  ` +
          `p50 ${r.p50Ms.toFixed(3)} ms  server CPU ${cpuUs.toFixed(1)} µs/call`,
      );
    }
  }
  if (!/DescribeLogGroups 200/.test(logged.output())) throw new Error('no access-log lines');
} finally {
  for (const s of servers) await s.stop();
}
