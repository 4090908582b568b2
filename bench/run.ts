/**
 * The core speed benchmark (`npm run bench`): signed STS GetCallerIdentity (query) and
 * CloudWatch Logs DescribeLogGroups (json 1.1) against Stratus in permissive and strict
 * auth, beside a raw node:http server answering the same bytes; then boto3's sequential
 * rate against Stratus, a stub with Stratus's bytes and moto_server. See bench/README.md.
 *
 *   node dist/bench/run.js [--duration 5] [--warmup 1] [--boto3-calls 2000] [--no-boto3]
 *                          [--no-moto] [--profile GetCallerIdentity|DescribeLogGroups]
 *                          [--profile-auth permissive|strict] [--profile-concurrency 16]
 *                          [--boto3-seconds 10] [--nice=-10]
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { boto3Missing } from './boto3-ratio.js';
import { CALLS, type CallName } from './calls.js';
import {
  CLIENT_CPU,
  enablePinning,
  isPinning,
  killAllNow,
  setNiceness,
  runBench,
} from './children.js';
import { coreBenchmark } from './core-bench.js';
import type { LoadSettings } from './http-load.js';
import { profileServer } from './profile-run.js';
import { boto3Table, loadTable, profileText, type BenchReport } from './report.js';
import type { AuthMode } from './stratus-process.js';
import { findWrk } from './wrk.js';

/** The whole benchmark must stay under three minutes. */
const WATCHDOG_MS = 175_000;

function say(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'boto3-calls': { type: 'string', default: '2000' },
      'boto3-seconds': { type: 'string', default: '10' },
      'no-boto3': { type: 'boolean', default: false },
      'no-moto': { type: 'boolean', default: false },
      profile: { type: 'string' },
      'profile-auth': { type: 'string', default: 'permissive' },
      'profile-concurrency': { type: 'string', default: '16' },
      nice: { type: 'string' },
    },
    strict: true,
  });
  const profile = values.profile;
  if (profile !== undefined && !CALLS.includes(profile as CallName))
    throw new Error(`--profile takes one of ${CALLS.join(', ')}`);
  const profileAuth = values['profile-auth'];
  if (profileAuth !== 'permissive' && profileAuth !== 'strict')
    throw new Error('--profile-auth is permissive or strict');
  return {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    boto3Calls: Number(values['boto3-calls']),
    boto3Seconds: Number(values['boto3-seconds']),
    boto3: !values['no-boto3'],
    moto: !values['no-moto'],
    profile: profile as CallName | undefined,
    profileAuth: profileAuth as AuthMode,
    profileConcurrency: Number(values['profile-concurrency']),
    nice: values.nice === undefined ? undefined : Number(values.nice),
  };
}

type Options = ReturnType<typeof options>;

function newReport(opts: Options, settings: LoadSettings): BenchReport {
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      node: process.version,
      pinned: isPinning(),
      loadGenerator: settings.wrk ? 'wrk' : 'node-socket',
      loadAvgBefore: loadavg()[0],
      nice: opts.nice,
    },
    settings: {
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      boto3Calls: opts.boto3Calls,
      boto3Seconds: opts.boto3Seconds,
    },
    load: [],
    boto3Rates: {},
    boto3: [],
    problems: [],
  };
}

let onWatchdog = (): void => {};

async function main(): Promise<void> {
  const opts = options();
  const watchdog = setTimeout(() => {
    say(`over ${WATCHDOG_MS / 1000} s: stopping everything`);
    killAllNow();
    onWatchdog();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  if (opts.nice !== undefined) {
    if (!Number.isInteger(opts.nice)) throw new Error('--nice takes an integer');
    setNiceness(opts.nice);
    say(`children run under nice -n ${opts.nice}`);
  }
  say(canPin ? 'servers on CPU 0, clients on CPU 1 (taskset)' : 'no CPU pinning');

  const wrk = findWrk();
  if (!wrk) say('wrk not found (apt-get install wrk): using the Node socket client, a lower bound');
  const settings: LoadSettings = { wrk, durationS: opts.durationS, warmupS: opts.warmupS };

  if (opts.profile) {
    say(`profiling ${opts.profile} c${opts.profileConcurrency} ${opts.profileAuth}`);
    const { result, summary } = await profileServer(
      settings,
      opts.profile,
      opts.profileAuth,
      opts.profileConcurrency,
    );
    process.stdout.write(
      `${opts.profile} c${opts.profileConcurrency} ${opts.profileAuth} under the profiler: ` +
        `${Math.round(result.rps)} calls/s, p50 ${result.p50Ms.toFixed(3)} ms\n\n` +
        profileText(summary) +
        '\n',
    );
    return;
  }

  const report = newReport(opts, settings);
  if (report.machine.loadAvgBefore > 1)
    say(
      `load average ${report.machine.loadAvgBefore.toFixed(1)}: other processes are busy, ` +
        'figures will be low and noisy',
    );
  onWatchdog = () => printReport(report, '(stopped by the watchdog: partial figures)');
  const noBoto3 = opts.boto3 ? boto3Missing() : 'skipped (--no-boto3)';
  if (noBoto3) report.problems.push(`boto3: ${noBoto3}`);
  await coreBenchmark({ ...opts, boto3: !noBoto3 }, settings, report, say);
  printReport(report);
}

function printReport(report: BenchReport, note = ''): void {
  const after = (report.machine.loadAvgAfter = loadavg()[0]);
  const m = report.machine;
  const s = report.settings;
  const out = [
    '',
    `Stratus core benchmark ${note}`.trim(),
    `${report.date}, ${m.cpus} CPUs, Node ${m.node}, ${m.loadGenerator}, ${s.durationS} s per run ` +
      `after ${s.warmupS} s warm-up${m.pinned ? ', server on CPU 0 / client on CPU 1' : ''}, ` +
      `load average ${m.loadAvgBefore.toFixed(1)} before, ${after.toFixed(1)} after` +
      (m.nice !== undefined ? `, nice ${m.nice}` : ''),
    '',
    loadTable(report.load),
    '',
    report.boto3.length
      ? boto3Table(
          report.boto3,
          `boto3, sequential, in turns (≤${s.boto3Calls} calls or ${s.boto3Seconds} s a call)`,
        )
      : 'boto3: not measured',
    '',
    ...(report.problems.length ? ['problems:', ...report.problems.map((p) => `  ${p}`), ''] : []),
    'JSON:',
    JSON.stringify(report),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

runBench(main, say);
