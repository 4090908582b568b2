/**
 * The core speed benchmark (`npm run bench`): signed STS GetCallerIdentity (query) and
 * CloudWatch Logs DescribeLogGroups (json 1.1) against Stratus in permissive and strict
 * auth, beside a raw node:http server answering the same bytes; then boto3's sequential
 * rate against Stratus, a stub with Stratus's bytes and moto_server. See bench/README.md.
 *
 *   node dist/bench/run.js [--duration 5] [--warmup 1] [--boto3-calls 2000] [--no-boto3]
 *                          [--no-moto] [--profile GetCallerIdentity|DescribeLogGroups]
 *                          [--profile-auth permissive|strict] [--profile-concurrency 16]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { boto3Missing, runBoto3, startMoto, type Boto3Rates } from './boto3-ratio.js';
import { CALLS, signCall, type CallName, type SignedCall } from './calls.js';
import { capture, type CannedResponse } from './capture.js';
import { CLIENT_CPU, enablePinning, isPinning, killAllNow, stopAll } from './children.js';
import { readProfile, summarizeProfile } from './cpu-profile.js';
import { load, type LoadSettings } from './http-load.js';
import type { LoadResult } from './load-result.js';
import { startRawServer } from './raw-server-process.js';
import {
  boto3Rows,
  boto3Table,
  loadTable,
  profileText,
  type BenchReport,
  type LoadRow,
} from './report.js';
import { repoRoot, startStratus, type AuthMode } from './stratus-process.js';
import { findWrk } from './wrk.js';

const CONCURRENCY = [1, 16] as const;
const AUTH_MODES: readonly AuthMode[] = ['permissive', 'strict'];
/** The whole benchmark must stay under three minutes. */
const WATCHDOG_MS = 175_000;

const TARGETS: Record<CallName, string> = {
  GetCallerIdentity: '',
  DescribeLogGroups: 'Logs_20140328.DescribeLogGroups',
};

function say(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'boto3-calls': { type: 'string', default: '2000' },
      'boto3-seconds': { type: 'string', default: '5' },
      'no-boto3': { type: 'boolean', default: false },
      'no-moto': { type: 'boolean', default: false },
      profile: { type: 'string' },
      'profile-auth': { type: 'string', default: 'permissive' },
      'profile-concurrency': { type: 'string', default: '16' },
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
  };
}

type Options = ReturnType<typeof options>;

/** Signs and captures both calls; a non-2xx answer means there is nothing to benchmark. */
async function prepareCalls(
  endpoint: string,
  auth: AuthMode,
): Promise<Map<CallName, { signed: SignedCall; answer: CannedResponse }>> {
  const out = new Map<CallName, { signed: SignedCall; answer: CannedResponse }>();
  for (const name of CALLS) {
    const signed = await signCall(name, endpoint);
    const answer = await capture(endpoint, signed);
    if (answer.status < 200 || answer.status > 299)
      throw new Error(`${name} (${auth}) answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    out.set(name, { signed, answer });
  }
  return out;
}

function newReport(opts: Options, settings: LoadSettings): BenchReport {
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      node: process.version,
      pinned: isPinning(),
      loadGenerator: settings.wrk ? 'wrk' : 'node-socket',
      loadAvgBefore: loadavg()[0],
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

/** Fills `report` as it goes, so a watchdog stop can still print what was measured. */
async function benchmark(
  opts: Options,
  settings: LoadSettings,
  report: BenchReport,
): Promise<void> {
  const noBoto3 = opts.boto3 ? boto3Missing() : 'skipped (--no-boto3)';
  if (noBoto3) report.problems.push(`boto3: ${noBoto3}`);

  let raw: Awaited<ReturnType<typeof startRawServer>> | undefined;
  let rawAnswers: Record<string, CannedResponse> | undefined;
  const rawResults = new Map<string, LoadResult>();
  const boto3Stratus = new Map<AuthMode, Boto3Rates>();

  for (const auth of AUTH_MODES) {
    say(`Stratus, --auth ${auth}`);
    const stratus = await startStratus({ auth });
    try {
      const calls = await prepareCalls(stratus.endpoint, auth);
      if (!raw) {
        rawAnswers = {};
        for (const [name, c] of calls) rawAnswers[TARGETS[name]] = c.answer;
        raw = await startRawServer(rawAnswers);
      } else {
        for (const [name, c] of calls) {
          const first = rawAnswers?.[TARGETS[name]];
          // Bodies carry the request id, so only their size is compared.
          if (first && first.body.length !== c.answer.body.length)
            say(`note: ${name} answer size differs in ${auth} mode (raw keeps the permissive one)`);
        }
      }
      for (const [name, { signed }] of calls) {
        for (const c of CONCURRENCY) {
          const s = await load(settings, signed, stratus.endpoint, c);
          const key = `${name} ${c}`;
          // The raw server is measured once per call and concurrency, next to the first
          // Stratus run of that scenario; its bytes are the same in both auth modes.
          let r = rawResults.get(key);
          if (!r) {
            r = await load(settings, signed, raw.endpoint, c);
            rawResults.set(key, r);
          }
          const row: LoadRow = { call: name, auth, concurrency: c, stratus: s, raw: r };
          report.load.push(row);
          if (s.non2xx || s.errors)
            report.problems.push(`${key} ${auth}: ${s.non2xx} non-2xx, ${s.errors} socket errors`);
          say(`${name} c${c} ${auth}: ${Math.round(s.rps)} calls/s (raw ${Math.round(r.rps)})`);
        }
      }
      if (!noBoto3) {
        say(`boto3 × ${opts.boto3Calls} against Stratus (${auth})`);
        const rates = await runBoto3(stratus.endpoint, CALLS, opts.boto3Calls, opts.boto3Seconds);
        boto3Stratus.set(auth, rates);
        report.boto3Rates[`stratus-${auth}`] = rates;
      }
    } finally {
      await stratus.stop();
    }
  }

  if (!noBoto3 && raw) {
    say(`boto3 × ${opts.boto3Calls} against the stub`);
    const stub = await runBoto3(raw.endpoint, CALLS, opts.boto3Calls, opts.boto3Seconds);
    report.boto3Rates.stub = stub;
    let moto: Boto3Rates | undefined;
    if (opts.moto) {
      const m = await startMoto();
      if (!m) report.problems.push('moto_server not installed: no reference figures');
      else {
        try {
          // moto is 3–4× slower; half the calls keep the run short and the rate as stable.
          const n = Math.max(100, Math.round(opts.boto3Calls / 2));
          say(`boto3 × ${n} against moto_server`);
          moto = await runBoto3(m.endpoint, CALLS, n, opts.boto3Seconds);
          report.boto3Rates.moto = moto;
        } finally {
          await m.stop();
        }
      }
    }
    for (const auth of AUTH_MODES) {
      const s = boto3Stratus.get(auth);
      if (s) report.boto3.push(...boto3Rows(auth, s, stub, moto));
    }
  }
  await raw?.stop();
}

/** A CPU profile of the server under `--profile` load, summarised by self time. */
async function profile(opts: Options, settings: LoadSettings, call: CallName) {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-prof-'));
  try {
    const stratus = await startStratus({ auth: opts.profileAuth, cpuProfDir: dir });
    let result: LoadResult;
    try {
      const signed = await signCall(call, stratus.endpoint);
      const answer = await capture(stratus.endpoint, signed);
      if (answer.status !== 200) throw new Error(`${call} answered ${answer.status}`);
      say(`profiling ${call} c${opts.profileConcurrency} ${opts.profileAuth}`);
      result = await load(settings, signed, stratus.endpoint, opts.profileConcurrency);
    } finally {
      await stratus.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the server wrote no .cpuprofile (did it exit cleanly?)');
    return { result, summary: summarizeProfile(readProfile(join(dir, file)), repoRoot()) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  say(canPin ? 'servers on CPU 0, clients on CPU 1 (taskset)' : 'no CPU pinning');

  const wrk = findWrk();
  if (!wrk) say('wrk not found (apt-get install wrk): using the Node socket client, a lower bound');
  const settings: LoadSettings = { wrk, durationS: opts.durationS, warmupS: opts.warmupS };

  if (opts.profile) {
    const { result, summary } = await profile(opts, settings, opts.profile);
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
  watchdog.refresh();
  onWatchdog = () => printReport(report, '(stopped by the watchdog: partial figures)');
  await benchmark(opts, settings, report);
  printReport(report);
}

function printReport(report: BenchReport, note = ''): void {
  report.machine.loadAvgAfter = loadavg()[0];
  const m = report.machine;
  const s = report.settings;
  const out = [
    '',
    `Stratus core benchmark ${note}`.trim(),
    `${report.date}, ${m.cpus} CPUs, Node ${m.node}, ${m.loadGenerator}, ${s.durationS} s per run ` +
      `after ${s.warmupS} s warm-up${m.pinned ? ', server on CPU 0 / client on CPU 1' : ''}, ` +
      `load average ${m.loadAvgBefore.toFixed(1)} before, ${m.loadAvgAfter.toFixed(1)} after`,
    '',
    loadTable(report.load),
    '',
    report.boto3.length
      ? boto3Table(report.boto3, `boto3 sequential (≤${s.boto3Calls} calls or ${s.boto3Seconds} s)`)
      : 'boto3: not measured',
    '',
    ...(report.problems.length ? ['problems:', ...report.problems.map((p) => `  ${p}`), ''] : []),
    'JSON:',
    JSON.stringify(report),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

process.on('SIGINT', () => {
  killAllNow();
  process.exit(130);
});
process.on('SIGTERM', () => {
  killAllNow();
  process.exit(143);
});
process.on('exit', killAllNow);

main()
  .then(() => stopAll())
  .catch(async (err: unknown) => {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stopAll();
    process.exitCode = 1;
  });
