/**
 * S3 large transfers: a multi-GB PutObject and GetObject streamed through Stratus, beside
 * a bare node:http server that writes the body to a file and fsyncs it (and streams it
 * back) in the same run. Reports throughput, the ratio to the baseline, and the server's
 * RSS growth during each transfer (sampled from /proc every 50 ms): the proof that a
 * streamed object is never held in memory.
 *
 *   npm run bench:s3 [-- --gb 2] [--rounds 3] [--skip-large] [--skip-small] [--skip-list] [--cpu-prof <dir>]
 *                    [--threads]  (each transfer's CPU per server thread)
 *                    [--pause 3]  (seconds of quiet before each upload: see PAUSE_S)
 *                    [--raw-in-place]  (the baseline rewrites its file in place: s3-raw-file-server.ts)
 *
 * Uploads are sent as the SDKs send them: `UNSIGNED-PAYLOAD` with the whole body (the
 * AWS CLI's form over http), and aws-chunked with a CRC32 trailer (SDK v3's default), so
 * the decoder and the checksum run on every byte.
 */
import { Agent, request } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  freePort,
  makeTempDir,
  removeTempDir,
  runBench,
  spawnTracked,
  stopChild,
  waitForPort,
} from './children.js';
import { cpuMs, threadCpuDelta, threadCpuMs } from './proc-cpu.js';
import { rssKb } from './proc-mem.js';
import { repoRoot, startStratus } from './stratus-process.js';

const args = process.argv.slice(2);
const gb = args.includes('--gb') ? Number(args[args.indexOf('--gb') + 1]) || 2 : 2;
const SIZE = Math.round(gb * 1024 ** 3);
const BLOCK = randomBytes(1024 * 1024);
const say = (msg: string) => process.stdout.write(msg + '\n');
/** `--threads`: each transfer's CPU per server thread (bench/proc-cpu.ts threadCpuMs). */
const SHOW_THREADS = args.includes('--threads');

/** SIZE bytes of BLOCK repeated, produced as fast as the socket takes them. */
function body(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return void this.push(null);
      const n = Math.min(BLOCK.length, SIZE - sent);
      sent += n;
      this.push(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n));
    },
  });
}

const CHUNK = 64 * 1024;

/** `data` as aws-chunked chunks of 64 KB (the last one shorter), without the final chunk. */
function frame(data: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += CHUNK) {
    const piece = data.subarray(at, at + CHUNK);
    out.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  return Buffer.concat(out);
}

/**
 * BLOCK framed once: the client sends the same buffer again and again, as it does for the
 * plain body, so framing costs it nothing per byte. The client's own CPU shares these two
 * cores with the server: a client that framed and checksummed every byte as it went took
 * CPU the server needed, more from Stratus (which hashes on both cores) than from the raw
 * server, and the ratio measured the client too.
 */
const FRAMED_BLOCK = frame(BLOCK);
const TAIL = SIZE % BLOCK.length;
let bodyCrc: string | undefined;

/** The CRC32 of the SIZE bytes (base64, as the trailer carries it), computed once before
 * the first transfer is timed. */
function bodyChecksum(): string {
  if (bodyCrc === undefined) {
    let crc = 0;
    for (let sent = 0; sent + BLOCK.length <= SIZE; sent += BLOCK.length) crc = crc32(BLOCK, crc);
    crc = crc32(BLOCK.subarray(0, TAIL), crc);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc >>> 0);
    bodyCrc = sum.toString('base64');
  }
  return bodyCrc;
}

/** The same bytes as body(), framed as aws-chunked (64 KB chunks) with a CRC32 trailer. */
function chunkedBody(): Readable {
  const trailer = `0\r\nx-amz-checksum-crc32:${bodyChecksum()}\r\n\r\n`;
  const parts = Math.floor(SIZE / BLOCK.length);
  let sent = 0;
  return new Readable({
    read() {
      if (sent < parts) {
        sent++;
        this.push(FRAMED_BLOCK);
      } else if (sent === parts) {
        sent++;
        if (TAIL > 0) this.push(frame(BLOCK.subarray(0, TAIL)));
        this.push(trailer);
      } else {
        this.push(null);
      }
    },
  });
}

function chunkedLength(): number {
  const parts = Math.floor(SIZE / BLOCK.length);
  // The trailer's length does not depend on the checksum's value.
  const trailer = `0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`.length;
  return (
    parts * FRAMED_BLOCK.length + (TAIL > 0 ? frame(BLOCK.subarray(0, TAIL)).length : 0) + trailer
  );
}

const signerFor = (key: string) =>
  new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: key, secretAccessKey: key },
    sha256: Sha256,
  });
const signer = signerFor('test');
/** s3rver knows one key pair only. */
const s3rverSigner = signerFor('S3RVER');

async function signedHeaders(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  by = signer,
): Promise<Record<string, string>> {
  const signed = await by.sign({
    method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path,
    headers: { host: `127.0.0.1:${port}`, ...headers },
  });
  return signed.headers as Record<string, string>;
}

interface Transfer {
  seconds: number;
  rssGrowthMb: number;
  /** The server's CPU time (all its threads) during the transfer, in seconds. */
  cpuS: number;
  /** With --threads: seconds of CPU per thread (user+system), the event loop first. */
  threads?: string;
}

/** Runs `send` while sampling the server's RSS; resolves the time, RSS growth and CPU. */
async function measured(pid: number, send: () => Promise<void>): Promise<Transfer> {
  const base = rssKb(pid) ?? 0;
  const cpuBefore = cpuMs(pid) ?? 0;
  const threadsBefore = SHOW_THREADS ? threadCpuMs(pid) : undefined;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKb(pid) ?? 0);
  }, 50);
  const started = performance.now();
  try {
    await send();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, rssKb(pid) ?? 0);
  const threadsAfter = threadsBefore && threadCpuMs(pid);
  return {
    seconds: (performance.now() - started) / 1000,
    rssGrowthMb: (peak - base) / 1024,
    cpuS: ((cpuMs(pid) ?? 0) - cpuBefore) / 1000,
    ...(threadsAfter && { threads: threadCpuDelta(pid, threadsBefore, threadsAfter) }),
  };
}

function put(port: number, path: string, headers: Record<string, string>, data: Readable) {
  return new Promise<void>((resolvePut, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200
          ? resolvePut()
          : reject(new Error(`PUT ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`)),
      );
    });
    req.on('error', reject);
    data.pipe(req);
  });
}

function get(port: number, path: string, headers: Record<string, string>) {
  return new Promise<void>((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path, headers }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () =>
        res.statusCode === 200 && n === SIZE
          ? resolveGet()
          : reject(new Error(`GET ${path}: ${res.statusCode}, ${n} bytes`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function startRaw(
  dir: string,
): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const child = spawnTracked(
    process.execPath,
    [
      resolve(repoRoot(), 'dist', 'bench', 's3-raw-file-server.js'),
      dir,
      args.includes('--raw-in-place') ? 'in-place' : 'replace',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout as Readable, 'data')) as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  return { pid: child.pid as number, port, stop: () => stopChild(child) };
}

const SMALL_SECONDS = 3;
const SMALL = randomBytes(1024);

/**
 * Sequential 1 KB PUTs or GETs on `conns` keep-alive connections for SMALL_SECONDS;
 * resolves calls per second. Keys cycle over 16 names per connection (GETs read what the
 * PUTs wrote).
 */
async function smallCalls(
  port: number,
  method: 'PUT' | 'GET',
  conns: number,
  sign: (path: string) => Promise<Record<string, string>>,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: conns });
  const until = performance.now() + SMALL_SECONDS * 1000;
  let calls = 0;
  // Signed headers are made once per key, as a client with a cache would.
  const signed = new Map<string, Record<string, string>>();
  async function worker(w: number): Promise<void> {
    for (let i = 0; performance.now() < until; i++) {
      const path = `/bench/small-${w}-${i % 16}`;
      let headers = signed.get(path);
      if (!headers) {
        headers = { ...(await sign(path)), 'content-length': method === 'PUT' ? '1024' : '0' };
        signed.set(path, headers);
      }
      await new Promise<void>((done, fail) => {
        const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200
              ? done()
              : fail(new Error(`${method} ${path}: ${res.statusCode}`)),
          );
        });
        req.on('error', fail);
        req.end(method === 'PUT' ? SMALL : undefined);
      });
      calls++;
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: conns }, (_, w) => worker(w)));
  agent.destroy();
  return calls / ((performance.now() - started) / 1000);
}

/** moto_server on a free port with the bucket `bench`, when it is installed. */
async function startMoto(): Promise<{ port: number; stop(): Promise<void> } | undefined> {
  const port = await freePort();
  const child = spawnTracked('moto_server', ['-p', String(port)], { stdio: 'ignore' });
  const failed = await new Promise<boolean>((done) => {
    child.once('error', () => done(true));
    waitForPort(port, 20_000, child).then(
      () => done(false),
      () => done(true),
    );
  });
  if (failed) return undefined;
  await put(port, '/bench', await signedHeaders(port, 'PUT', '/bench', {}), Readable.from([]));
  return { port, stop: () => stopChild(child) };
}

/** s3rver (npm, a devDependency) on a free port with the bucket `bench`. */
async function startS3rver(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawnTracked(
    process.execPath,
    [
      resolve(repoRoot(), 'node_modules', 's3rver', 'bin', 's3rver.js'),
      ...['-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'],
      ...['--configure-bucket', 'bench'],
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port, 20_000, child);
  return { port, stop: () => stopChild(child) };
}

/** `--cpu-prof <dir>`: the servers write V8 CPU profiles there (summarise: bench/cpu-profile.ts). */
const profileDir = args.includes('--cpu-prof') ? args[args.indexOf('--cpu-prof') + 1] : undefined;

const LIST_KEYS = 100_000;
const LIST_SECONDS = 5;

/**
 * A Stratus whose bucket `listing` holds LIST_KEYS empty objects, written straight into
 * its state directory before it starts (100,000 PutObjects would take minutes of fsyncs).
 */
async function seededStratus(stateDir: string) {
  const { openStorage } = await import('../src/storage/index.js');
  const { BUCKETS, OBJECTS, objectKey } = await import('../src/services/s3/store.js');
  const storage = await openStorage({ stateDir, ephemeral: false });
  const now = Date.now();
  await storage.store.put(BUCKETS, 'listing', {
    name: 'listing',
    account: '000000000000',
    region: 'us-east-1',
    createdAt: now,
  });
  await storage.store.transaction(async (tx) => {
    for (let i = 0; i < LIST_KEYS; i++) {
      const key = `logs/${String(i % 100).padStart(2, '0')}/${String(i).padStart(6, '0')}.json`;
      await tx.put(OBJECTS, objectKey('listing', key), {
        key,
        size: 0,
        etag: '"d41d8cd98f00b204e9800998ecf8427e"',
        lastModified: now,
        headers: { ContentType: 'application/json' },
        metadata: {},
        storageClass: 'STANDARD',
        checksums: {},
        content: [],
      });
    }
  });
  await storage.close();
  return startStratus({ auth: 'permissive', stateDir, cpuProfDir: profileDir });
}

/** Full ListObjectsV2 walks (1,000 keys a page) for LIST_SECONDS; resolves pages/s. */
async function listPages(port: number, extra = ''): Promise<{ pages: number; keys: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const until = performance.now() + LIST_SECONDS * 1000;
  let pages = 0;
  let keys = 0;
  const started = performance.now();
  while (performance.now() < until) {
    let token: string | undefined;
    do {
      const path = `/listing?list-type=2${extra}${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`;
      const headers = await signedHeaders(port, 'GET', path, {
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      });
      const xml = await new Promise<string>((done, fail) => {
        const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode === 200
              ? done(Buffer.concat(chunks).toString())
              : fail(new Error(`GET ${path}: ${res.statusCode}`)),
          );
        });
        req.on('error', fail);
        req.end();
      });
      pages++;
      keys += Number(/<KeyCount>(\d+)<\/KeyCount>/.exec(xml)?.[1] ?? 0);
      token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1];
    } while (token && performance.now() < until);
  }
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { pages: pages / seconds, keys: keys / seconds };
}

const mbps = (t: Transfer) => SIZE / 1024 ** 2 / t.seconds;
const row = (name: string, t: Transfer, base?: Transfer) =>
  `${name.padEnd(48)} ${mbps(t).toFixed(0).padStart(6)} MB/s  ${(base ? (mbps(t) / mbps(base)).toFixed(2) : '1.00').padStart(5)}×  RSS +${t.rssGrowthMb.toFixed(1)} MB  CPU ${(t.cpuS / (SIZE / 1024 ** 3)).toFixed(2)} s/GB` +
  (t.threads ? `\n${''.padEnd(48)} threads (s): ${t.threads}` : '');

/**
 * Seconds of quiet before each timed upload. On a VM whose free memory goes back to its
 * host (virtio-balloon free page reporting, as on the development machine), page cache
 * taken from memory freed more than ~2 s earlier is faulted in again by the host: 1 GB
 * written into a new file cost 1.3–2.7 s of system time, 0.2 s when a 1 GB file had just
 * been deleted (bench/README.md, S3, "Fresh memory"). Back to back, an upload that
 * follows another server's freed file gets warm memory and the next one cold; the pause
 * keeps one upload from inheriting another's, though how much the host has taken back
 * by then still varies.
 */
const PAUSE_S = args.includes('--pause') ? Number(args[args.indexOf('--pause') + 1]) : 3;
const quiet = () => new Promise((r) => setTimeout(r, PAUSE_S * 1000));

/** `--rounds N`: the large transfers run N times, each side beside its baseline; medians printed. */
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) || 1 : 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function chunkedHeaders(port: number, path: string): Promise<Record<string, string>> {
  return signedHeaders(port, 'PUT', path, {
    'content-length': String(chunkedLength()),
    'content-encoding': 'aws-chunked',
    'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'x-amz-decoded-content-length': String(SIZE),
    'x-amz-trailer': 'x-amz-checksum-crc32',
  });
}

/**
 * Each round: raw PUT, PutObject (UNSIGNED-PAYLOAD), raw PUT of the aws-chunked bytes,
 * PutObject (aws-chunked), raw GET, GetObject. The aws-chunked baseline is the raw server
 * storing the same framed bytes (framed and checksummed once, before the timing). The first
 * upload of a server's life starts its hash workers; it is shown on its own, and the
 * rounds' RSS growth is what a transfer holds.
 */
async function largeTransfers(raw: { pid: number; port: number }, port: number, pid: number) {
  say(
    `S3 large transfers: ${gb} GB per transfer, ${ROUNDS} round(s), server RSS sampled every 50 ms, ` +
      `${PAUSE_S} s quiet before each upload, baseline ${args.includes('--raw-in-place') ? 'rewrites its file in place' : 'writes a new file and renames it'}`,
  );
  say(`${'transfer'.padEnd(48)} ${'speed'.padStart(11)}  ${'ratio'.padStart(6)}  memory`);
  bodyChecksum();
  await quiet();
  const first = await measured(pid, async () =>
    put(port, '/bench/first', await chunkedHeaders(port, '/bench/first'), chunkedBody()),
  );
  say(row('first PutObject of the server (aws-chunked)', first));
  const ratios: Record<'put' | 'chunked' | 'get', number[]> = { put: [], chunked: [], get: [] };
  const growth: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    say(`round ${round}`);
    await quiet();
    const rawPut = await measured(raw.pid, () =>
      put(raw.port, '/obj', { 'content-length': String(SIZE) }, body()),
    );
    say(row('raw node:http PUT (write + fsync)', rawPut));
    await quiet();
    const plain = await measured(pid, async () =>
      put(
        port,
        '/bench/plain',
        await signedHeaders(port, 'PUT', '/bench/plain', {
          'content-length': String(SIZE),
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        }),
        body(),
      ),
    );
    say(row('Stratus PutObject (UNSIGNED-PAYLOAD)', plain, rawPut));
    await quiet();
    const rawChunked = await measured(raw.pid, () =>
      put(raw.port, '/framed', { 'content-length': String(chunkedLength()) }, chunkedBody()),
    );
    say(row('raw node:http PUT of the aws-chunked bytes', rawChunked));
    await quiet();
    const chunked = await measured(pid, async () =>
      put(port, '/bench/chunked', await chunkedHeaders(port, '/bench/chunked'), chunkedBody()),
    );
    say(row('Stratus PutObject (aws-chunked, CRC32 trailer)', chunked, rawChunked));
    const rawGet = await measured(raw.pid, () => get(raw.port, '/obj', {}));
    say(row('raw node:http GET (file stream)', rawGet));
    const getObject = await measured(pid, async () =>
      get(
        port,
        '/bench/plain',
        await signedHeaders(port, 'GET', '/bench/plain', {
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        }),
      ),
    );
    say(row('Stratus GetObject', getObject, rawGet));
    ratios.put.push(mbps(plain) / mbps(rawPut));
    ratios.chunked.push(mbps(chunked) / mbps(rawChunked));
    ratios.get.push(mbps(getObject) / mbps(rawGet));
    growth.push(plain.rssGrowthMb, chunked.rssGrowthMb, getObject.rssGrowthMb);
  }
  say(
    `median ratio to raw: PutObject ${median(ratios.put).toFixed(2)}×, aws-chunked ` +
      `${median(ratios.chunked).toFixed(2)}×, GetObject ${median(ratios.get).toFixed(2)}×; ` +
      `largest RSS growth in the rounds +${Math.max(...growth).toFixed(1)} MB`,
  );
  say('');
}

async function smallObjects(raw: { port: number }, port: number, s3rverDir: string) {
  say(`1 KB objects, ${SMALL_SECONDS} s each (calls/s; raw: write + fsync per PUT)`);
  const moto = await startMoto();
  const s3rver = await startS3rver(s3rverDir);
  for (const conns of [1, 16]) {
    for (const method of ['PUT', 'GET'] as const) {
      const sign =
        (p: number, by = signer) =>
        (path: string) =>
          signedHeaders(p, method, path, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, by);
      const rawRate = await smallCalls(raw.port, method, conns, async () => ({}));
      const ours = await smallCalls(port, method, conns, sign(port));
      const motoRate = moto ? await smallCalls(moto.port, method, conns, sign(moto.port)) : NaN;
      const s3rverRate = await smallCalls(
        s3rver.port,
        method,
        conns,
        sign(s3rver.port, s3rverSigner),
      );
      say(
        `${`${method === 'PUT' ? 'PutObject' : 'GetObject'} 1 KB, ${conns} connection(s)`.padEnd(44)} ` +
          `Stratus ${ours.toFixed(0).padStart(6)}/s  raw ${rawRate.toFixed(0).padStart(6)}/s ` +
          `(${(ours / rawRate).toFixed(2)}×)  moto_server ${moto ? `${motoRate.toFixed(0)}/s (Stratus ${(ours / motoRate).toFixed(1)}×)` : 'not installed'}` +
          `  s3rver ${s3rverRate.toFixed(0)}/s (Stratus ${(ours / s3rverRate).toFixed(1)}×)`,
      );
    }
  }
  await moto?.stop();
  await s3rver.stop();
  say('');
}

async function listing(stateDir: string) {
  const seeded = await seededStratus(stateDir);
  try {
    say(
      `ListObjectsV2 over ${LIST_KEYS.toLocaleString('en')} keys, 1,000 a page, ${LIST_SECONDS} s each`,
    );
    for (const [name, extra] of [
      ['whole bucket', ''],
      ['delimiter / under logs/ (100 common prefixes)', '&prefix=logs%2F&delimiter=%2F'],
    ] as const) {
      const r = await listPages(seeded.port, extra);
      say(
        `${name.padEnd(44)} ${r.pages.toFixed(1).padStart(6)} pages/s  ${r.keys.toFixed(0)} keys/s`,
      );
    }
  } finally {
    await seeded.stop();
  }
}

runBench(async () => {
  const rawDir = makeTempDir('stratus-bench-s3-raw-');
  const stateDir = makeTempDir('stratus-bench-s3-state-');
  const listDir = makeTempDir('stratus-bench-s3-list-');
  const s3rverDir = makeTempDir('stratus-bench-s3rver-');
  try {
    const raw = await startRaw(rawDir);
    const stratus = await startStratus({ auth: 'permissive', stateDir, cpuProfDir: profileDir });
    const pid = stratus.child.pid as number;
    const port = stratus.port;
    await put(port, '/bench', await signedHeaders(port, 'PUT', '/bench', {}), Readable.from([]));
    if (!args.includes('--skip-large')) await largeTransfers(raw, port, pid);
    if (!args.includes('--skip-small')) await smallObjects(raw, port, s3rverDir);
    await stratus.stop();
    await raw.stop();
    if (!args.includes('--skip-list')) await listing(listDir);
  } finally {
    removeTempDir(rawDir);
    removeTempDir(stateDir);
    removeTempDir(listDir);
    removeTempDir(s3rverDir);
  }
}, say);
