/**
 * The long fuzz run: the generator of test/helpers/fuzz.ts (the CI test runs it briefly)
 * against Stratus as its own process, up to --requests per protocol and data plane,
 * bounded by --seconds. Prints, per protocol: requests, answers by status, 5xx and hangs;
 * then process exits, hangs, 500s and the server's RSS before and after.
 *
 *   npm run bench:fuzz -- [--requests 100000] [--seconds 3600] [--seed N] [--auth strict]
 *                         [--concurrency 16]
 *
 * Pass criteria (issue 8): 0 process exits, 0 hangs (an answer or a closed connection
 * within 10 s), 0 status 500 answers, RSS back within 10% of its start after the run.
 */
import { GROUPS, describeFailure, prepareTargets, runFuzz, seeds } from '../test/helpers/fuzz.js';
import { makeTempDir, removeTempDir, runBench } from './children.js';
import { rssKb } from './proc-mem.js';
import { startStratus, type AuthMode } from './stratus-process.js';

interface Options {
  requests: number;
  seconds: number;
  seed: number;
  auth: AuthMode;
  concurrency: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    requests: 100_000,
    seconds: 3600,
    seed: Math.floor(Math.random() * 2 ** 31),
    auth: 'permissive',
    concurrency: 16,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--requests':
        o.requests = Number(v);
        break;
      case '--seconds':
        o.seconds = Number(v);
        break;
      case '--seed':
        o.seed = Number(v);
        break;
      case '--auth':
        o.auth = v === 'strict' ? 'strict' : 'permissive';
        break;
      case '--concurrency':
        o.concurrency = Number(v);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

const say = (msg: string) => process.stdout.write(`${msg}\n`);
const mb = (kb: number | undefined) => (kb === undefined ? '?' : `${(kb / 1024).toFixed(1)} MB`);

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  say(
    `fuzz: seed ${o.seed}, up to ${o.requests} requests per protocol (${GROUPS.length}), ` +
      `${o.seconds} s at most, ${o.auth} auth, ${o.concurrency} connections`,
  );
  // State on disk (SQLite and blob files in a temporary directory): log events and other
  // data the fuzz stores would otherwise sit in the process's memory (`--ephemeral`), and
  // the RSS figure would measure the data rather than the server.
  const stateDir = makeTempDir('stratus-fuzz-');
  const server = await startStratus({ auth: o.auth, stateDir });
  const pid = server.child.pid;
  const alive = () => server.child.exitCode === null && server.child.signalCode === null;
  const all = seeds(await prepareTargets(server.endpoint));

  // Warm-up (JIT, caches, the function's environments), then the RSS baseline.
  const warm = await runFuzz({
    port: server.port,
    seeds: all,
    seed: o.seed,
    perGroup: 200,
    concurrency: o.concurrency,
    startIndex: -1_000_000,
    alive,
  });
  await new Promise((r) => setTimeout(r, 2000));
  const rssStart = rssKb(pid);
  say(`warm-up: ${Math.round(warm.ms)} ms; server RSS ${mb(rssStart)}`);

  let lastReport = performance.now();
  const result = await runFuzz({
    port: server.port,
    seeds: all,
    seed: o.seed,
    perGroup: o.requests,
    concurrency: o.concurrency,
    deadlineMs: o.seconds * 1000,
    alive,
    onProgress(done, total) {
      if (performance.now() - lastReport < 30_000) return;
      lastReport = performance.now();
      say(`  ${done}/${total} sent, server RSS ${mb(rssKb(pid))}`);
    },
  });

  // Idle, then a few plain requests, so that the server's heap can shrink back.
  await new Promise((r) => setTimeout(r, 5000));
  for (let i = 0; i < 200; i++) await fetch(`${server.endpoint}/_stratus/health`).catch(() => {});
  await new Promise((r) => setTimeout(r, 5000));
  const rssEnd = rssKb(pid);
  const exited = !alive() || result.serverGone;

  say('');
  say('protocol        requests   req/s   5xx(not 501)  hangs  closed  statuses');
  let sent = 0;
  let hangs = 0;
  let fives = 0;
  let status500 = 0;
  for (const g of GROUPS) {
    const s = result.stats[g];
    sent += s.sent;
    const h = s.statuses.hang ?? 0;
    const five = Object.entries(s.statuses)
      .filter(([k]) => /^5\d\d$/.test(k) && k !== '501')
      .reduce((n, [, v]) => n + v, 0);
    hangs += h;
    fives += five;
    status500 += s.statuses['500'] ?? 0;
    say(
      `${g.padEnd(15)} ${String(s.sent).padStart(8)} ${(s.sent / (result.ms / 1000)).toFixed(0).padStart(7)}` +
        ` ${String(five).padStart(13)} ${String(h).padStart(6)} ${String(s.statuses.closed ?? 0).padStart(7)}  ` +
        JSON.stringify(s.statuses),
    );
  }
  const growth = rssStart && rssEnd ? (rssEnd - rssStart) / rssStart : undefined;
  say('');
  say(
    `requests: ${sent} in ${(result.ms / 1000).toFixed(0)} s (${(sent / (result.ms / 1000)).toFixed(0)}/s)`,
  );
  say(`process exits: ${exited ? 1 : 0}`);
  say(`hangs (> 10 s): ${hangs}`);
  say(`status 500: ${status500}; other 5xx but 501: ${fives - status500}`);
  say(
    `server RSS: ${mb(rssStart)} after warm-up, ${mb(rssEnd)} after the run` +
      (growth === undefined ? '' : ` (${(growth * 100).toFixed(1)}%)`),
  );
  for (const f of result.failures.slice(0, 10)) say(`\n${describeFailure(result.seed, f)}`);
  say(
    JSON.stringify({
      seed: o.seed,
      auth: o.auth,
      requests: sent,
      seconds: Math.round(result.ms / 1000),
      exits: exited ? 1 : 0,
      hangs,
      status500,
      other5xx: fives - status500,
      rssStartKb: rssStart,
      rssEndKb: rssEnd,
      perProtocol: Object.fromEntries(GROUPS.map((g) => [g, result.stats[g].sent])),
    }),
  );
  const ok = !exited && hangs === 0 && fives === 0 && (growth === undefined || growth <= 0.1);
  say(ok ? 'PASS' : 'FAIL');
  if (!ok) process.exitCode = 1;
  await server.stop();
  removeTempDir(stateDir);
}

runBench(main, say);
