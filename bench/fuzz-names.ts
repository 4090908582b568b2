/**
 * Random names into the paths that look a name up: does the server keep anything per name
 * that does not exist? Stratus as its own process (state on disk, `--expose-gc`); per kind,
 * N requests each naming a new random resource on 16 keep-alive connections:
 *
 *   - a function URL by host (`<random>.lambda-url.us-east-1.localhost`),
 *   - S3 DeleteObject in a bucket by host (`b<random>.s3.localhost`): NoSuchBucket,
 *   - a REST API invoke URL by path (`/restapis/<random>/prod/_user_request_/x`).
 *
 * The server's V8 heap and RSS after a full collection (`POST /_stratus/gc`), before and
 * after, 3 s after the last request (S3's storage recount runs 1 s after a write).
 *
 *   npm run build && node dist/bench/fuzz-names.js [--requests 100000] [--root DIR]
 *
 * `--root DIR`: another checkout, built, run instead of this one (a baseline build).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { makeTempDir, runBench } from './children.js';
import { startStratus, type StratusProcess } from './stratus-process.js';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const PER_KIND = Number(option('--requests') ?? 100_000);
const ROOT = option('--root');
const say = (msg: string) => process.stdout.write(`${msg}\n`);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

const KINDS: {
  name: string;
  send: (name: string) => { path: string; host?: string; method: string };
}[] = [
  {
    name: 'function URL',
    send: (n) => ({ method: 'GET', path: '/', host: `${n}.lambda-url.us-east-1.localhost` }),
  },
  {
    name: 'S3 DeleteObject',
    send: (n) => ({ method: 'DELETE', path: '/k', host: `b${n}.s3.localhost` }),
  },
  {
    name: 'REST API',
    send: (n) => ({ method: 'GET', path: `/restapis/${n}/prod/_user_request_/x` }),
  },
];

function call(
  server: StratusProcess,
  agent: Agent,
  r: { method: string; path: string; host?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        agent,
        method: r.method,
        path: r.path,
        headers: r.host ? { host: r.host } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function heapAfterGc(
  server: StratusProcess,
  agent: Agent,
): Promise<{ rss: number; heapUsed: number }> {
  const res = await call(server, agent, { method: 'POST', path: '/_stratus/gc' });
  if (res.status !== 200) throw new Error(`POST /_stratus/gc: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as { rss: number; heapUsed: number };
}

async function main(): Promise<void> {
  const server = await startStratus({
    auth: 'permissive',
    stateDir: makeTempDir('stratus-fuzz-names-'),
    nodeFlags: ['--expose-gc'],
    root: ROOT,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    say(
      `random names: ${PER_KIND} requests per kind, 16 connections${ROOT ? `, build ${ROOT}` : ''}`,
    );
    const fresh = () => randomBytes(8).toString('hex');
    for (const k of KINDS) for (let i = 0; i < 200; i++) await call(server, agent, k.send(fresh()));
    await new Promise((r) => setTimeout(r, 3000));
    const before = await heapAfterGc(server, agent);
    for (const k of KINDS) {
      const statuses = new Map<number, number>();
      let sent = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (sent < PER_KIND) {
            sent++;
            const { status } = await call(server, agent, k.send(fresh()));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
      const s = (performance.now() - started) / 1000;
      say(
        `${k.name.padEnd(16)} ${PER_KIND} in ${s.toFixed(1)} s, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 3000));
    const after = await heapAfterGc(server, agent);
    say(
      `after a full collection: V8 heap used ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} ` +
        `(${after.heapUsed >= before.heapUsed ? '+' : ''}${mib(after.heapUsed - before.heapUsed)}), ` +
        `RSS ${mib(before.rss)} -> ${mib(after.rss)}`,
    );
  } finally {
    agent.destroy();
    await server.stop();
  }
}

runBench(main, say);
