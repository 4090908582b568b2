/**
 * API Gateway HTTP API → no-op Lambda (issue 11, "Speed"): requests per second, p50 and
 * p99 at 10 connections through the invoke host (`<api-id>.execute-api.localhost`),
 * beside a raw node:http server replaying the same answer and, when `--sls-dir` names a
 * directory where `npm install serverless@3 serverless-offline@13` ran, serverless-offline
 * serving the same handler in its default and `--useInProcess` modes; all in one run,
 * in turns (bench/http-load.ts).
 *
 *   npm run build && node dist/bench/apigatewayv2.js [--duration 5] [--warmup 1]
 *     [--connections 10] [--sls-dir /tmp/sls-bench]
 *     [--profile http-api|function-url [--profile-dir DIR]]   (one target under --cpu-prof)
 *     [--baseline-root DIR]   (another checkout, built: its HTTP API and function URL too)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateFunctionUrlConfigCommand } from '@aws-sdk/client-lambda';
import type { SignedCall } from './calls.js';
import { capture } from './capture.js';
import {
  CLIENT_CPU,
  enablePinning,
  freePort,
  isPinning,
  makeTempDir,
  removeTempDir,
  runBench,
  SERVER_CPU,
  spawnTracked,
  stopChild,
  waitForPort,
} from './children.js';
import { readProfile, summarizeProfile } from './cpu-profile.js';
import { interleaved, loadOne, type LoadSettings, type Target } from './http-load.js';
import type { LoadResult } from './load-result.js';
import { createNoop, NODE_NOOP, quickHttpApi, setUp } from './lambda-setup.js';
import { startRawServer } from './raw-server-process.js';
import { repoRoot, startStratus } from './stratus-process.js';
import { findWrk } from './wrk.js';

function say(msg: string): void {
  process.stderr.write(`[apigatewayv2-bench] ${msg}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '10' },
      'sls-dir': { type: 'string' },
      /** 'http-api' or 'function-url': profile that target alone (node --cpu-prof). */
      profile: { type: 'string' },
      /** Keep the .cpuprofile here (for a flame graph) instead of a temporary directory. */
      'profile-dir': { type: 'string' },
      /** A built checkout of another commit: measured in the same turns (before/after). */
      'baseline-root': { type: 'string' },
    },
    strict: true,
  });
  return {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    connections: Number(values.connections),
    slsDir: values['sls-dir'],
    profile: values.profile,
    profileDir: values['profile-dir'],
    baselineRoot: values['baseline-root'],
  };
}

const get = (host: string, path: string): SignedCall => ({
  name: 'http-api',
  method: 'GET',
  path,
  headers: [['host', host]],
  body: '',
});

/** serverless.yml and handler.js for serverless-offline: one httpApi route, the no-op. */
function slsProject(): string {
  const dir = makeTempDir('stratus-bench-sls-');
  writeFileSync(join(dir, 'handler.js'), NODE_NOOP.replace('exports.handler', 'exports.noop'));
  writeFileSync(
    join(dir, 'serverless.yml'),
    [
      'service: bench',
      "frameworkVersion: '3'",
      'provider:',
      '  name: aws',
      '  runtime: nodejs20.x',
      'plugins:',
      '  - serverless-offline',
      'functions:',
      '  noop:',
      '    handler: handler.noop',
      '    events:',
      '      - httpApi:',
      '          method: GET',
      '          path: /noop',
      '',
    ].join('\n'),
  );
  return dir;
}

async function startOffline(slsDir: string, project: string, inProcess: boolean) {
  const port = await freePort();
  const lambdaPort = await freePort();
  const bin = join(slsDir, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const child = spawnTracked(
    process.execPath,
    [
      bin,
      'offline',
      '--httpPort',
      String(port),
      '--lambdaPort',
      String(lambdaPort),
      '--noPrependStageInUrl',
      ...(inProcess ? ['--useInProcess'] : []),
    ],
    {
      cwd: project,
      env: {
        ...process.env,
        NODE_PATH: join(slsDir, 'node_modules'),
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
    SERVER_CPU,
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  child.stderr?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  try {
    await waitForPort(port, 120_000, child);
  } catch (err) {
    throw new Error(`serverless-offline did not start: ${String(err)}\n${out}`);
  }
  return { child, endpoint: `http://127.0.0.1:${port}`, port };
}

function row(name: string, r: LoadResult): string {
  const own =
    r.ownCpuUsPerCall === undefined || r.cpuUsPerCall === undefined
      ? ''
      : ` (server ${r.ownCpuUsPerCall.toFixed(0)} + runtimes ${(r.cpuUsPerCall - r.ownCpuUsPerCall).toFixed(0)})`;
  const cpu = r.cpuUsPerCall === undefined ? '' : `  CPU ${r.cpuUsPerCall.toFixed(0)} µs/req${own}`;
  return (
    `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  ` +
    (r.p90Ms === undefined ? '' : `p90 ${r.p90Ms.toFixed(2)} ms  `) +
    `p99 ${r.p99Ms.toFixed(2)} ms  non-2xx ${r.non2xx}  errors ${r.errors}${cpu}`
  );
}

/** The no-op function, its HTTP API and its URL; the two calls, checked once. */
async function deploy(endpoint: string, port: number) {
  const b = await setUp(endpoint);
  await createNoop(b, 'bench-apigw-noop', 'node');
  const fn = 'arn:aws:lambda:us-east-1:000000000000:function:bench-apigw-noop';
  const apiId = await quickHttpApi(b, endpoint, fn);
  const fnUrl = await b.lambda.send(
    new CreateFunctionUrlConfigCommand({ FunctionName: fn, AuthType: 'NONE' }),
  );
  b.destroy();
  const call = get(`${apiId}.execute-api.localhost:${port}`, '/noop');
  // The same function through its URL, on the same server and connections: what API
  // Gateway's own work costs on top of the Lambda invoke both share.
  // FunctionUrl is the path form; the host form matches the API's.
  const urlId = /\/lambda-url\/([a-z0-9]+)\//.exec(fnUrl.FunctionUrl ?? '')?.[1];
  if (!urlId) throw new Error(`unexpected function URL ${fnUrl.FunctionUrl}`);
  const urlCall = get(`${urlId}.lambda-url.us-east-1.localhost:${port}`, '/noop');
  const urlAnswer = await capture(endpoint, urlCall);
  if (urlAnswer.status !== 200) {
    throw new Error(`the function URL answered ${urlAnswer.status}: ${urlAnswer.body}`);
  }
  const answer = await capture(endpoint, call);
  if (answer.status !== 200 || answer.body !== '{"ok":true}') {
    throw new Error(`the HTTP API answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  }
  return { call, urlCall };
}

async function main(): Promise<void> {
  const opts = options();
  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  const wrk = findWrk();
  const settings: LoadSettings = { wrk, durationS: opts.durationS, warmupS: opts.warmupS };
  const loadBefore = loadavg()[0];

  if (opts.profile !== undefined && !['http-api', 'function-url'].includes(opts.profile)) {
    throw new Error(`--profile takes http-api or function-url, not ${opts.profile}`);
  }
  const profileDir =
    opts.profile === undefined ? undefined : (opts.profileDir ?? makeTempDir('stratus-prof-'));
  const stratus = await startStratus({
    auth: 'permissive',
    driver: 'process',
    ...(profileDir && { cpuProfDir: profileDir }),
  });
  const { call, urlCall } = await deploy(stratus.endpoint, stratus.port);
  const answer = await capture(stratus.endpoint, call);
  if (profileDir) {
    const profiled: Target = {
      name: opts.profile as string,
      url: stratus.endpoint,
      call: opts.profile === 'http-api' ? call : urlCall,
    };
    const r = await loadOne(settings, profiled, opts.connections);
    await stratus.stop();
    process.stdout.write(row(profiled.name, r) + '\n');
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the server wrote no .cpuprofile');
    const summary = summarizeProfile(readProfile(join(profileDir, file)), repoRoot(), 40);
    const busy = summary.totalMs - summary.idleMs;
    say(
      `busy ${busy.toFixed(0)} ms, GC ${summary.gcMs.toFixed(0)} ms, src ${summary.srcMs.toFixed(0)} ms`,
    );
    for (const h of summary.byFile) say(`${(h.share * 100).toFixed(1)}%  ${h.where}`);
    say('---');
    for (const h of summary.top) say(`${(h.share * 100).toFixed(1)}%  ${h.where}`);
    if (opts.profileDir) say(`profile kept: ${join(profileDir, file)}`);
    else removeTempDir(profileDir);
    return;
  }
  const raw = await startRawServer({ '': answer });
  const pid = stratus.child.pid;
  const targets: Target[] = [
    { name: 'Stratus HTTP API → Lambda', url: stratus.endpoint, call, pid, tree: true },
    {
      name: 'Stratus function URL → Lambda',
      url: stratus.endpoint,
      call: urlCall,
      pid,
      tree: true,
    },
    { name: 'raw node:http (same answer)', url: raw.endpoint, call, pid: raw.child.pid },
  ];
  let baseline: Awaited<ReturnType<typeof startStratus>> | undefined;
  if (opts.baselineRoot) {
    baseline = await startStratus({
      auth: 'permissive',
      driver: 'process',
      root: opts.baselineRoot,
    });
    const calls = await deploy(baseline.endpoint, baseline.port);
    const bpid = baseline.child.pid;
    const url = baseline.endpoint;
    targets.push(
      { name: 'baseline HTTP API → Lambda', url, call: calls.call, pid: bpid, tree: true },
      { name: 'baseline function URL → Lambda', url, call: calls.urlCall, pid: bpid, tree: true },
    );
  }
  const offline: { stop(): Promise<void> }[] = [];
  if (opts.slsDir) {
    if (!existsSync(join(opts.slsDir, 'node_modules', 'serverless-offline'))) {
      throw new Error(`${opts.slsDir} has no node_modules/serverless-offline`);
    }
    const project = slsProject();
    for (const inProcess of [false, true]) {
      say(`starting serverless-offline${inProcess ? ' --useInProcess' : ''}`);
      const o = await startOffline(opts.slsDir, project, inProcess);
      offline.push({ stop: () => stopChild(o.child) });
      const c = get(`127.0.0.1:${o.port}`, '/noop');
      const a = await capture(o.endpoint, c);
      if (a.status !== 200) throw new Error(`serverless-offline answered ${a.status}: ${a.body}`);
      targets.push({
        name: `serverless-offline 13${inProcess ? ' --useInProcess' : ''}`,
        url: o.endpoint,
        call: c,
        pid: o.child.pid,
        tree: true,
      });
    }
  } else {
    say('serverless-offline not measured: pass --sls-dir (see the header)');
  }
  say(`${opts.connections} connections, ${targets.length} targets in turns`);
  const results = await interleaved(settings, targets, opts.connections);
  for (const o of offline) await o.stop();
  await raw.stop();
  await baseline?.stop();
  await stratus.stop();

  const base = results.get(targets[0].name) as LoadResult;
  const lines = [
    `# API Gateway HTTP API → no-op Lambda, ${new Date().toISOString()}`,
    `${cpus().length} CPUs, node ${process.version}, ${wrk ? 'wrk' : 'node socket client'}, ` +
      `${isPinning() ? 'server on CPU 0 / client on CPU 1, ' : ''}` +
      `${opts.connections} connections, ${opts.durationS} s each after ${opts.warmupS} s warm-up, ` +
      `load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
    '(CPU: the server and the processes it spawned, per request; ratio: Stratus HTTP API ÷ each)',
    ...targets.map((t) => {
      const r = results.get(t.name) as LoadResult;
      return t === targets[0]
        ? row(t.name, r)
        : row(t.name, r) + `  HTTP API ${(base.rps / r.rps).toFixed(2)}×`;
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

runBench(main, say);
