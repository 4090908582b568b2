/**
 * The long fuzz run: the generator of test/helpers/fuzz.ts (the CI test runs it briefly)
 * against Stratus as its own process, up to --requests per protocol and data plane,
 * bounded by --seconds. Prints, per protocol: requests, answers by status, 5xx and hangs;
 * then process exits, hangs, 500s and the server's memory before and after.
 *
 *   npm run bench:fuzz -- [--requests 100000] [--seconds 3600] [--seed N] [--auth strict]
 *                         [--concurrency 64] [--driver process|runc] [--nice -5]
 *                         [--node-flags '--flag …']  (extra V8/node flags for the server)
 *
 * Pass criteria (issue 8): 0 process exits, 0 hangs (an answer or a closed connection
 * within 10 s), 0 status 500 answers, RSS back within 10% of its start after the run.
 *
 * "Start" is measured after a warm-up batch (200 requests per protocol: JIT, caches, the
 * function's environments, the allocator's first megabyte bodies), and "end" after the run,
 * both the same way: once the server settled (rounds of a full garbage collection, the
 * server running with --expose-gc, POST /_stratus/gc, then 12 s idle so that V8's memory
 * reducer can compact, until RSS moves by less than 1% twice running). Besides RSS, the
 * V8 heap in use, external and array-buffer memory, and live handles tell a leak (they
 * grow) from a high-water mark of the allocator (they do not, RSS does).
 */
import { setPriority } from 'node:os';
import { GROUPS, describeFailure, prepareTargets, runFuzz, seeds } from '../test/helpers/fuzz.js';
import { signedFetch } from '../test/helpers/sign.js';
import { makeTempDir, removeTempDir, runBench } from './children.js';
import { peakRssKb, rssByKind, rssKb } from './proc-mem.js';
import { startStratus, type AuthMode, type StratusProcess } from './stratus-process.js';

interface Options {
  requests: number;
  seconds: number;
  seed: number;
  auth: AuthMode;
  concurrency: number;
  driver: 'process' | 'runc';
  /** Niceness of the server and of this client (negative needs root). */
  nice?: number;
  /** Seconds to keep the settled server alive after the run, to inspect it (pmap, gdb). */
  hold: number;
  /** Extra node flags for the server (to try V8 settings against the same seed). */
  nodeFlags: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    requests: 100_000,
    seconds: 3600,
    seed: Math.floor(Math.random() * 2 ** 31),
    auth: 'permissive',
    // A quarter of the requests are incomplete and half-closed after 200 ms: 16
    // connections would cap the run near 320 requests a second (bench/README.md).
    concurrency: 64,
    // Functions as host processes: the fuzz is about what the server parses and answers
    // (containers have their own tests and benches), and it keeps the machine usable.
    driver: 'process',
    hold: 0,
    nodeFlags: [],
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
      case '--driver':
        o.driver = v === 'runc' ? 'runc' : 'process';
        break;
      case '--nice':
        o.nice = Number(v);
        if (!Number.isInteger(o.nice)) throw new Error('--nice takes an integer');
        break;
      case '--hold':
        o.hold = Number(v);
        break;
      case '--node-flags':
        o.nodeFlags = v.split(/\s+/).filter(Boolean);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

const say = (msg: string) => process.stdout.write(`${msg}\n`);
const mb = (kb: number | undefined) => (kb === undefined ? '?' : `${(kb / 1024).toFixed(1)} MB`);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** GET /_stratus/memory (admin.ts), signed by the root keys as strict mode wants. */
interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  mallocedMemory: number;
  handles: Record<string, number>;
  heapSpaces: Record<string, { size: number; used: number }>;
}

/** The V8 spaces whose committed size changed by 1 MB or more between two readings, with
 * the change of what they hold in use. */
function spacesGrown(a: Memory, b: Memory): string {
  const signed = (bytes: number) => `${bytes > 0 ? '+' : ''}${mib(bytes)}`;
  const moved = Object.entries(b.heapSpaces)
    .map(([name, { size, used }]) => {
      const before = a.heapSpaces[name] ?? { size: 0, used: 0 };
      return [name, size - before.size, used - before.used] as const;
    })
    .filter(([, delta]) => Math.abs(delta) >= 2 ** 20)
    .map(([name, delta, inUse]) => `${name} ${signed(delta)} (in use ${signed(inUse)})`);
  return moved.length ? moved.join(', ') : 'none by 1 MB or more';
}

/** Quiet time after a collection before memory is read. V8's memory reducer compacts the
 * heap (fragmented old and code space pages given back) once no full GC ran for ~8 s and
 * the allocation rate is low; a forced GC every few seconds keeps it from ever running. */
const IDLE_AFTER_GC_MS = 12_000;

/**
 * The server's memory once it settled: rounds of a full garbage collection (POST
 * /_stratus/gc: SQLite's cache, a full GC, malloc's free memory) then IDLE_AFTER_GC_MS
 * idle, until RSS moved by less than 1% in each of two rounds running, 10 rounds (2 min)
 * at most. The reading is taken after the idle time, what a server left alone holds. The
 * start and the end are measured the same way.
 */
async function settledMemory(
  server: StratusProcess,
): Promise<{ m: Memory; rounds: number; afterGc: Memory }> {
  const still = (a: Memory, b: Memory) => Math.abs(a.rss - b.rss) < 0.01 * b.rss;
  const call = async (method: 'GET' | 'POST', path: string) => {
    const res = await signedFetch(server.endpoint, { service: 'stratus', method, path });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as Memory;
  };
  const seen: Memory[] = [];
  for (let round = 1; ; round++) {
    const afterGc = await call('POST', '/_stratus/gc');
    await new Promise((r) => setTimeout(r, IDLE_AFTER_GC_MS));
    const m = await call('GET', '/_stratus/memory');
    seen.push(m);
    const [a, b, c] = seen.slice(-3);
    if ((c && still(b, a) && still(c, b)) || round === 10) return { m, rounds: round, afterGc };
  }
}

function describeMemory(m: Memory, pid: number | undefined): string {
  const kinds = pid === undefined ? undefined : rssByKind(pid);
  const split = kinds
    ? ` (malloc heap ${mb(kinds.brk)}, other anonymous ${mb(kinds.anon)}, files ${mb(kinds.file)})`
    : '';
  const handles = Object.entries(m.handles)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `RSS ${mib(m.rss)}${split}, V8 heap ${mib(m.heapUsed)} used of ${mib(m.heapTotal)}, ` +
    `external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)}), ` +
    `V8 malloc ${mib(m.mallocedMemory)}; handles: ${handles}`
  );
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  say(
    `fuzz: seed ${o.seed}, up to ${o.requests} requests per protocol (${GROUPS.length}), ` +
      `${o.seconds} s at most, ${o.auth} auth, ${o.concurrency} connections, ` +
      `${o.driver} driver`,
  );
  if (o.nice !== undefined) {
    // This process first: the server and its functions inherit it (nice(1) on top would
    // add to it).
    setPriority(o.nice);
    say(`server and client run under nice ${o.nice}`);
  }
  // State on disk (SQLite and blob files in a temporary directory): log events and other
  // data the fuzz stores would otherwise sit in the process's memory (`--ephemeral`), and
  // the RSS figure would measure the data rather than the server.
  const stateDir = makeTempDir('stratus-fuzz-');
  const server = await startStratus({
    auth: o.auth,
    stateDir,
    driver: o.driver,
    nodeFlags: ['--expose-gc', ...o.nodeFlags],
  });
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
  const { m: before, rounds: startRounds, afterGc: startAfterGc } = await settledMemory(server);
  const rssStart = Math.round(before.rss / 1024);
  say(`warm-up: ${Math.round(warm.ms)} ms`);
  say(
    `start (server pid ${pid}, warmed up, settled in ${(startRounds * IDLE_AFTER_GC_MS) / 1000} s): ` +
      describeMemory(before, pid) +
      `; right after the last forced GC: RSS ${mib(startAfterGc.rss)}`,
  );

  const began = performance.now();
  let lastReport = began;
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
      const secs = (lastReport - began) / 1000;
      say(
        `  ${done}/${total} sent in ${secs.toFixed(0)} s (${(done / secs).toFixed(0)}/s), ` +
          `server RSS ${mb(rssKb(pid))}`,
      );
    },
  });

  const exited = !alive() || result.serverGone;
  const rssPeak = peakRssKb(pid);
  const settled = exited ? undefined : await settledMemory(server);
  const afterRun = settled?.m;
  const rssEnd = afterRun ? Math.round(afterRun.rss / 1024) : undefined;
  if (settled) {
    say(
      `end (after the run, settled in ${(settled.rounds * IDLE_AFTER_GC_MS) / 1000} s): ` +
        `${describeMemory(settled.m, pid)}; right after the last forced GC: RSS ${mib(settled.afterGc.rss)}`,
    );
    say(`V8 spaces' committed size since the start: ${spacesGrown(before, settled.m)}`);
    if (o.hold > 0) {
      say(`holding the settled server (pid ${pid}) for ${o.hold} s`);
      await new Promise((r) => setTimeout(r, o.hold * 1000));
    }
  }

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
    `server RSS: ${mb(rssStart)} at the start, ${mb(rssEnd)} at the end` +
      (growth === undefined ? '' : ` (${(growth * 100).toFixed(1)}%)`) +
      `; peak during the run ${mb(rssPeak)}`,
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
      driver: o.driver,
      rssStartKb: rssStart,
      rssEndKb: rssEnd,
      rssPeakKb: rssPeak,
      heapUsedStart: before.heapUsed,
      heapUsedEnd: afterRun?.heapUsed,
      externalStart: before.external,
      externalEnd: afterRun?.external,
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
