/**
 * The Lambda speed benchmark (issue 3, "Speed"): warm invokes of a no-op Node function
 * beside a raw node:http server replaying the same answer (wrk and the SDK), the server's
 * RSS over a long wrk run, cold starts of Node and Python against the bare interpreter
 * start, and memory with 100 functions / 50 warm environments. See bench/README.md.
 *
 *   npm run build && node dist/bench/lambda.js [--duration 5] [--warmup 1] [--rss-seconds 60]
 *     [--sdk-seconds 5] [--cold-samples 10] [--cold-gap-ms 400] [--functions 100]
 *     [--warm-envs 50] [--skip warm,rss,cold,memory] [--state-dir D] [--node-flags '...']
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CLIENT_CPU, enablePinning, isPinning, killAllNow, runBench } from './children.js';
import type { LoadSettings, Target } from './http-load.js';
import { coldStarts } from './lambda-cold.js';
import { memoryWithEnvironments } from './lambda-memory.js';
import { descendants } from './proc-mem.js';
import { lambdaReportText, type LambdaReport } from './lambda-report.js';
import { setUp, type LambdaBench } from './lambda-setup.js';
import { rssUnderLoad, warmInvokes } from './lambda-warm.js';
import { startStratus, type StratusProcess } from './stratus-process.js';
import { findWrk } from './wrk.js';

const PHASES = ['warm', 'rss', 'cold', 'memory'] as const;
type Phase = (typeof PHASES)[number];

function say(msg: string): void {
  process.stderr.write(`[lambda-bench] ${msg}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'rss-seconds': { type: 'string', default: '60' },
      'sdk-seconds': { type: 'string', default: '5' },
      'cold-samples': { type: 'string', default: '10' },
      'cold-gap-ms': { type: 'string', default: '400' },
      functions: { type: 'string', default: '100' },
      'warm-envs': { type: 'string', default: '50' },
      skip: { type: 'string', default: '' },
      'state-dir': { type: 'string' },
      'node-flags': { type: 'string', default: '' },
    },
    strict: true,
  });
  const num = (k: keyof typeof values) => {
    const n = Number(values[k]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} takes a number`);
    return n;
  };
  const skip = new Set(values.skip ? values.skip.split(',') : []);
  for (const s of skip)
    if (!PHASES.includes(s as Phase)) throw new Error(`--skip takes ${PHASES.join(',')}`);
  const opts = {
    durationS: num('duration'),
    warmupS: num('warmup'),
    rssSeconds: num('rss-seconds'),
    sdkSeconds: num('sdk-seconds'),
    coldSamples: num('cold-samples'),
    coldGapMs: num('cold-gap-ms'),
    functions: num('functions'),
    warmEnvs: num('warm-envs'),
  };
  if (opts.warmEnvs > opts.functions) throw new Error('--warm-envs exceeds --functions');
  return {
    ...opts,
    stateDir: values['state-dir'],
    nodeFlags: values['node-flags'] ? values['node-flags'].split(' ') : [],
    run: (p: Phase) => !skip.has(p),
  };
}

let report: LambdaReport | undefined;
/** The server's pid: its runtime processes are killed by pid too, should it not stop them. */
let serverPid: number | undefined;

function killRuntimes(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function killEverything(): void {
  const left = serverPid === undefined ? [] : descendants(serverPid);
  killAllNow();
  killRuntimes(left);
}

let printed = false;

function print(note = ''): void {
  if (!report || printed) return;
  printed = true;
  report.machine.loadAvgAfter = loadavg()[0];
  process.stdout.write(lambdaReportText(report, note));
}

async function main(): Promise<void> {
  const opts = options();
  // Everything but the RSS run takes well under 2 minutes with the defaults.
  const watchdogMs = (opts.rssSeconds + 170) * 1000;
  const watchdog = setTimeout(() => {
    say(`over ${watchdogMs / 1000} s: stopping everything`);
    print('(stopped by the watchdog: partial figures)');
    killEverything();
    process.exit(1);
  }, watchdogMs);
  watchdog.unref();

  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  say(canPin ? 'server (and its runtimes) on CPU 0, clients on CPU 1' : 'no CPU pinning');
  const wrk = findWrk();
  if (!wrk) say('wrk not found (apt-get install wrk): using the Node socket client');
  const settings: LoadSettings = { wrk, durationS: opts.durationS, warmupS: opts.warmupS };
  const r: LambdaReport = (report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      node: process.version,
      pinned: isPinning(),
      loadGenerator: wrk ? 'wrk' : 'node-socket',
      loadAvgBefore: loadavg()[0],
    },
    settings: {
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      rssSeconds: opts.rssSeconds,
      sdkSeconds: opts.sdkSeconds,
      coldSamples: opts.coldSamples,
      coldGapMs: opts.coldGapMs,
      functions: opts.functions,
      warmEnvs: opts.warmEnvs,
    },
    storage: opts.stateDir ?? 'ephemeral',
    problems: [],
  });

  let stratus: StratusProcess | undefined;
  let b: LambdaBench | undefined;
  try {
    say(`starting Stratus (${opts.stateDir ? `--state-dir ${opts.stateDir}` : '--ephemeral'})`);
    stratus = await startStratus({
      auth: 'permissive',
      stateDir: opts.stateDir,
      nodeFlags: opts.nodeFlags,
    });
    const pid = (serverPid = stratus.child.pid as number);
    b = await setUp(stratus.endpoint);
    let target: Target | undefined;
    if (opts.run('warm') || opts.run('rss')) {
      const warm = await warmInvokes(
        stratus,
        b,
        opts.run('warm') ? settings : { ...settings, durationS: 0, warmupS: 0 },
        opts.run('warm') ? [10, 1] : [],
        opts.run('warm') ? opts.sdkSeconds : 0,
        say,
      );
      if (opts.run('warm')) r.warm = warm.result;
      target = warm.target;
      for (const h of warm.result.http)
        for (const [who, x] of [
          ['Stratus', h.stratus],
          ['raw', h.raw],
        ] as const)
          if (x.non2xx || x.errors)
            r.problems.push(`c${h.concurrency} ${who}: ${x.non2xx} non-2xx, ${x.errors} errors`);
    }
    if (opts.run('rss') && target && opts.rssSeconds > 0) {
      say(`RSS: wrk c10 for ${opts.rssSeconds} s, VmRSS every 5 s`);
      r.rss = await rssUnderLoad(settings, target, 10, opts.rssSeconds);
      if (r.rss.load.non2xx || r.rss.load.errors)
        r.problems.push(`RSS run: ${r.rss.load.non2xx} non-2xx, ${r.rss.load.errors} errors`);
    }
    if (opts.run('cold') && opts.coldSamples > 0)
      r.cold = await coldStarts(b, opts.coldSamples, opts.coldGapMs, say);
    if (opts.run('memory') && opts.functions > 0)
      r.memory = await memoryWithEnvironments(b, pid, opts.functions, opts.warmEnvs, say);
    if (stratus.child.exitCode !== null) r.problems.push('Stratus exited during the run');
  } catch (err) {
    r.problems.push(`failed: ${err instanceof Error ? err.message : String(err)}`);
    if (stratus) r.problems.push(`server output: ${stratus.output().slice(-1500)}`);
    process.exitCode = 1;
  } finally {
    b?.destroy();
    const runtimes = serverPid === undefined ? [] : descendants(serverPid);
    await stratus?.stop();
    // The server stops its runtimes itself; any left behind are killed here.
    killRuntimes(runtimes);
    serverPid = undefined;
  }
  print();
}

runBench(main, say, {
  killNow: killEverything,
  onInterrupt: () => print('(interrupted: partial figures)'),
});
