/**
 * The ECR speed benchmark (issue 4, "Speed"): push and pull of a ~100 MB image with skopeo
 * against Stratus and against the CNCF distribution registry (docker-registry, started
 * here on loopback with filesystem storage), MB/s and the ratio, the server's RSS growth
 * during the push; then small pushes (two blob HEADs and a manifest PUT each) over one
 * keep-alive connection. Works against any OCI Distribution registry. See bench/README.md.
 *
 *   npm run build && node dist/bench/ecr.js [--mb 100] [--runs 3] [--small 200]
 *     [--small-warmup 10] [--skip push,small] [--only-peer]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import {
  MEDIA_TYPE_OCI_MANIFEST,
  buildImage,
  imageToolsMissing,
  plainHttpFlags,
  sha256Digest,
  skopeoArgv,
  type BuiltImage,
} from '../test/helpers/oci-image.js';
import {
  CLIENT_CPU,
  enablePinning,
  isPinning,
  killAllNow,
  makeTempDir,
  removeTempDir,
  runBench,
  spawnTracked,
} from './children.js';
import { rssKb } from './proc-mem.js';
import { registryPeerMissing, startRegistryPeer } from './registry-peer.js';
import { startStratus } from './stratus-process.js';

const PHASES = ['push', 'small'] as const;
type Phase = (typeof PHASES)[number];

/** Targets from the issue. */
const TARGET_PUSH_PULL_RATIO = 1;
const TARGET_SMALL_RATIO = 3;
const TARGET_RSS_GROWTH_MIB = 64;

const PEER = 'distribution';
const STRATUS = 'Stratus';

function say(msg: string): void {
  process.stderr.write(`[ecr-bench] ${msg}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      small: { type: 'string', default: '200' },
      'small-warmup': { type: 'string', default: '10' },
      skip: { type: 'string', default: '' },
      'only-peer': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (k: 'mb' | 'runs' | 'small' | 'small-warmup', min: number) => {
    const n = Number(values[k]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${k} takes a number ≥ ${min}`);
    return n;
  };
  const skip = new Set(values.skip ? values.skip.split(',') : []);
  for (const s of skip)
    if (!PHASES.includes(s as Phase)) throw new Error(`--skip takes ${PHASES.join(',')}`);
  return {
    mb: num('mb', 0.001),
    runs: Math.round(num('runs', 1)),
    small: Math.round(num('small', 1)),
    smallWarmup: Math.round(num('small-warmup', 0)),
    onlyPeer: values['only-peer'],
    run: (p: Phase) => !skip.has(p),
  };
}

type Options = ReturnType<typeof options>;

// ---------------------------------------------------------------- registries

/** A registry under test, as seen by the clients. */
interface Registry {
  name: string;
  /** `127.0.0.1:<port>`, the host part of image references. */
  host: string;
  endpoint: string;
  /** The server process, for VmRSS. */
  pid: number;
  /** `user:password` when the registry asks for credentials (ECR's `AWS:<token>`). */
  creds?: string;
  /** ECR refuses pushes to repositories that do not exist; distribution creates them. */
  createRepository(name: string): Promise<void>;
  stop(): Promise<void>;
}

async function startPeer(): Promise<Registry> {
  const peer = await startRegistryPeer();
  return {
    name: PEER,
    host: peer.host,
    endpoint: peer.endpoint,
    pid: peer.child.pid as number,
    createRepository: async () => {},
    stop: () => peer.stop(),
  };
}

/** Stratus with a fresh on-disk state dir (blobs on the same disk as the peer's). */
async function startStratusRegistry(): Promise<Registry> {
  const stateDir = makeTempDir('ecr-bench-state-');
  const stratus = await startStratus({ auth: 'permissive', stateDir });
  const ecr = new ECRClient({
    endpoint: stratus.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  let creds: string | undefined;
  try {
    // The token is base64 of `AWS:<password>`, what `docker login --username AWS` sends.
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const token = out.authorizationData?.[0]?.authorizationToken;
    if (token) creds = Buffer.from(token, 'base64').toString();
  } catch (err) {
    say(`GetAuthorizationToken failed (${errorText(err)}): clients send no credentials`);
  }
  return {
    name: STRATUS,
    host: `127.0.0.1:${stratus.port}`,
    endpoint: stratus.endpoint,
    pid: stratus.child.pid as number,
    creds,
    createRepository: async (name) => {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    },
    stop: async () => {
      ecr.destroy();
      await stratus.stop();
      removeTempDir(stateDir);
    },
  };
}

/** Why the registry API is not there (e.g. `GET /v2/` answers 404), or undefined. */
async function registryApiMissing(reg: Registry): Promise<string | undefined> {
  const status = await fetch(`${reg.endpoint}/v2/`).then(
    (r) => r.status,
    () => 0,
  );
  // 401 is the spec's answer when credentials are needed (with a WWW-Authenticate challenge).
  return status === 200 || status === 401 ? undefined : `GET /v2/ answers ${status}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------- skopeo push / pull

/** `skopeo <args>` on the client CPU, tracked for cleanup; resolves with its wall time in s. */
function timedSkopeo(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawnTracked(
      'skopeo',
      skopeoArgv(args),
      { stdio: ['ignore', 'ignore', 'pipe'] },
      CLIENT_CPU,
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const seconds = (performance.now() - start) / 1000;
      if (code === 0) resolve(seconds);
      else reject(new Error(`skopeo ${args[0]} failed (${code ?? signal}): ${stderr.trim()}`));
    });
  });
}

/** The highest VmRSS seen while `work` runs, sampled every `everyMs`. */
async function withRssSamples<T>(
  pid: number,
  work: () => Promise<T>,
  everyMs = 20,
): Promise<{ result: T; beforeKb?: number; maxKb?: number }> {
  const beforeKb = rssKb(pid);
  let maxKb = beforeKb;
  const sample = () => {
    const kb = rssKb(pid);
    if (kb !== undefined) maxKb = Math.max(maxKb ?? 0, kb);
  };
  const timer = setInterval(sample, everyMs);
  try {
    const result = await work();
    sample();
    return { result, beforeKb, maxKb };
  } finally {
    clearInterval(timer);
  }
}

interface BenchImage extends BuiltImage {
  /** Manifest, config and layers: the bytes a push moves. */
  bytes: number;
  layers: number;
}

interface LayoutManifest {
  config: { size: number };
  layers: { size: number }[];
}

function blobSizes(image: BuiltImage): { bytes: number; layers: number } {
  const raw = readFileSync(join(image.layout, 'blobs', ...image.digest.split(':')));
  const m = JSON.parse(raw.toString()) as LayoutManifest;
  return {
    bytes: raw.length + m.config.size + m.layers.reduce((s, l) => s + l.size, 0),
    layers: m.layers.length,
  };
}

/**
 * A new image for each run: a random layer no registry has seen, so skopeo cannot skip
 * or cross-mount it (its blob-info cache remembers blobs pushed to other repositories).
 */
async function benchImage(mb: number, seed: string): Promise<BenchImage> {
  const dir = makeTempDir('ecr-bench-image-');
  const built = await buildImage(join(dir, 'layout'), {
    tag: 'bench',
    randomLayerBytes: Math.round(mb * 1e6),
    seed,
  });
  return { ...built, ...blobSizes(built) };
}

interface TransferRun {
  seconds: number;
  mbPerS: number;
}

interface PushRun extends TransferRun {
  rssBeforeKb?: number;
  rssMaxKb?: number;
}

function layoutDigest(layout: string, tag: string): string | undefined {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  return index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag)
    ?.digest;
}

/** One push (fresh repository) and one pull of it into a fresh layout, timed end to end. */
async function pushAndPull(
  reg: Registry,
  image: BenchImage,
  repo: string,
): Promise<{ push: PushRun; pull: TransferRun }> {
  await reg.createRepository(repo);
  const remote = `docker://${reg.host}/${repo}:${image.tag}`;
  const flags = plainHttpFlags('copy');
  const pushed = await withRssSamples(reg.pid, () =>
    timedSkopeo([
      'copy',
      ...flags,
      ...(reg.creds ? ['--dest-creds', reg.creds] : []),
      image.ref,
      remote,
    ]),
  );
  const dir = makeTempDir('ecr-bench-pull-');
  try {
    const layout = join(dir, 'layout');
    const pullSeconds = await timedSkopeo([
      'copy',
      ...flags,
      ...(reg.creds ? ['--src-creds', reg.creds] : []),
      remote,
      `oci:${layout}:${image.tag}`,
    ]);
    const got = layoutDigest(layout, image.tag);
    if (got !== image.digest)
      throw new Error(`pulled manifest ${got ?? 'missing'}, pushed ${image.digest}`);
    const rate = (s: number) => image.bytes / 1e6 / s;
    return {
      push: {
        seconds: pushed.result,
        mbPerS: rate(pushed.result),
        rssBeforeKb: pushed.beforeKb,
        rssMaxKb: pushed.maxKb,
      },
      pull: { seconds: pullSeconds, mbPerS: rate(pullSeconds) },
    };
  } finally {
    removeTempDir(dir);
  }
}

// ---------------------------------------------------------------- small pushes over HTTP

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface CallOptions {
  headers?: Record<string, string>;
  body?: Buffer;
}

/**
 * A registry client on one keep-alive connection. Credentials follow the registry's
 * challenge (https://distribution.github.io/distribution/spec/auth/token/): Basic as ECR
 * asks for it, or a Bearer token from the realm; none when `GET` succeeds without.
 */
class RegistryHttp {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private authorization: string | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly creds: string | undefined,
    private readonly scope: string,
  ) {}

  async call(method: string, pathOrUrl: string, opts: CallOptions = {}): Promise<HttpAnswer> {
    const url = new URL(pathOrUrl, this.endpoint);
    const answer = await this.send(method, url, opts);
    if (answer.status !== 401 || this.authorization !== undefined) return answer;
    this.authorization = await this.authenticate(String(answer.headers['www-authenticate']));
    return this.send(method, url, opts);
  }

  destroy(): void {
    this.agent.destroy();
  }

  private send(method: string, url: URL, opts: CallOptions): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      ...opts.headers,
      'content-length': String(opts.body?.length ?? 0),
    };
    if (this.authorization) headers.authorization = this.authorization;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(opts.body);
    });
  }

  private async authenticate(challenge: string): Promise<string> {
    const basic = this.creds ? `Basic ${Buffer.from(this.creds).toString('base64')}` : undefined;
    if (/^basic\b/i.test(challenge)) {
      if (!basic) throw new Error(`the registry asks for credentials (${challenge})`);
      return basic;
    }
    const bearer = /^bearer\s+(.*)$/i.exec(challenge);
    if (!bearer) throw new Error(`unknown auth challenge: ${challenge || '(none)'}`);
    const params = new Map(
      [...bearer[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    const realm = params.get('realm');
    if (!realm) throw new Error(`Bearer challenge without realm: ${challenge}`);
    const tokenUrl = new URL(realm);
    const service = params.get('service');
    if (service) tokenUrl.searchParams.set('service', service);
    tokenUrl.searchParams.set('scope', this.scope);
    const res = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {} });
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`no token from ${realm} (${res.status})`);
    return `Bearer ${token}`;
  }
}

function expectStatus(what: string, answer: HttpAnswer, ...ok: number[]): void {
  if (!ok.includes(answer.status))
    throw new Error(`${what}: HTTP ${answer.status} ${answer.body.toString().slice(0, 300)}`);
}

/** Monolithic upload in two steps (POST, then PUT with the digest), which every registry takes. */
async function uploadBlob(http: RegistryHttp, repo: string, blob: Buffer): Promise<string> {
  const digest = sha256Digest(blob);
  const started = await http.call('POST', `/v2/${repo}/blobs/uploads/`);
  expectStatus(`POST upload to ${repo}`, started, 202);
  const location = new URL(String(started.headers.location), 'http://placeholder');
  location.searchParams.set('digest', digest);
  const target = started.headers.location?.startsWith('http')
    ? location.href
    : `${location.pathname}${location.search}`;
  const put = await http.call('PUT', target, {
    headers: { 'content-type': 'application/octet-stream' },
    body: blob,
  });
  expectStatus(`PUT blob ${digest}`, put, 201);
  return digest;
}

export interface SmallRun {
  pushes: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** The `p` quantile (0..1) of `values`, nearest rank. */
function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * `count` sequential pushes of distinct small manifests (each names the push in an
 * annotation) that reference one config and one layer blob uploaded beforehand: HEAD both
 * blobs, then PUT the manifest by tag, on one keep-alive connection.
 */
async function smallPushes(
  reg: Registry,
  repo: string,
  count: number,
  warmup: number,
): Promise<SmallRun> {
  await reg.createRepository(repo);
  const http = new RegistryHttp(reg.endpoint, reg.creds, `repository:${repo}:pull,push`);
  try {
    // An empty tar archive (two zero blocks), gzipped, and a config whose diff_id is the tar's.
    const tar = Buffer.alloc(1024);
    const layer = gzipSync(tar);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
      }),
    );
    const configDigest = await uploadBlob(http, repo, config);
    const layerDigest = await uploadBlob(http, repo, layer);
    const manifest = (n: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: configDigest,
            size: config.length,
          },
          layers: [
            {
              mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
              digest: layerDigest,
              size: layer.length,
            },
          ],
          annotations: { 'io.stratus.bench.push': `${repo}/${n}` },
        }),
      );
    const pushOne = async (tag: string) => {
      for (const digest of [configDigest, layerDigest])
        expectStatus(`HEAD ${digest}`, await http.call('HEAD', `/v2/${repo}/blobs/${digest}`), 200);
      const put = await http.call('PUT', `/v2/${repo}/manifests/${tag}`, {
        headers: { 'content-type': MEDIA_TYPE_OCI_MANIFEST },
        body: manifest(tag),
      });
      expectStatus(`PUT manifest ${tag}`, put, 201);
    };
    for (let i = 0; i < warmup; i++) await pushOne(`warmup-${i}`);
    const latencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await pushOne(`small-${i}`);
      latencies.push(performance.now() - t);
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      pushes: count,
      seconds,
      perSecond: count / seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
    };
  } finally {
    http.destroy();
  }
}

// ---------------------------------------------------------------- report

interface TargetFigures {
  push: PushRun[];
  pull: TransferRun[];
  small: SmallRun[];
}

interface EcrReport {
  date: string;
  machine: {
    cpus: number;
    node: string;
    pinned: boolean;
    loadAvgBefore: number;
    loadAvgAfter?: number;
  };
  settings: { mb: number; runs: number; small: number; smallWarmup: number };
  image?: { bytes: number; layers: number };
  targets: Record<string, TargetFigures>;
  problems: string[];
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

const fixed = (n: number | undefined, digits = 1) => (n === undefined ? '-' : n.toFixed(digits));
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const medianOf = <T>(runs: readonly T[] | undefined, pick: (r: T) => number) =>
  runs && runs.length ? median(runs.map(pick)) : undefined;
/** The worst run: the largest RSS growth during a push, in MiB. */
const rssGrowthMib = (runs: readonly PushRun[] | undefined) => {
  const growth = (runs ?? [])
    .filter((r) => r.rssBeforeKb !== undefined && r.rssMaxKb !== undefined)
    .map((r) => ((r.rssMaxKb as number) - (r.rssBeforeKb as number)) / 1024);
  return growth.length ? Math.max(...growth) : undefined;
};
const verdict = (ok: boolean | undefined) => (ok === undefined ? '-' : ok ? 'yes' : 'NO');

function reportText(r: EcrReport, note: string): string {
  const peer = r.targets[PEER];
  const ours = r.targets[STRATUS];
  const ratioRow = (
    label: string,
    pick: (t: TargetFigures | undefined) => number | undefined,
    target: number,
    digits = 1,
  ): string[] => {
    const a = pick(ours);
    const b = pick(peer);
    const ratio = a !== undefined && b !== undefined ? a / b : undefined;
    return [
      label,
      fixed(b, digits),
      fixed(a, digits),
      fixed(ratio, 2),
      `ratio ≥ ${target}`,
      verdict(ratio === undefined ? undefined : ratio >= target),
    ];
  };
  const latency = (t: TargetFigures | undefined) => {
    const p50 = medianOf(t?.small, (s) => s.p50Ms);
    const p99 = medianOf(t?.small, (s) => s.p99Ms);
    return p50 === undefined || p99 === undefined ? '-' : `${ms(p50)} / ${ms(p99)}`;
  };
  const ourGrowth = rssGrowthMib(ours?.push);
  const rows = [
    ratioRow('push MB/s', (t) => medianOf(t?.push, (p) => p.mbPerS), TARGET_PUSH_PULL_RATIO),
    ratioRow('pull MB/s', (t) => medianOf(t?.pull, (p) => p.mbPerS), TARGET_PUSH_PULL_RATIO),
    [
      'server RSS growth in a push, MiB (max)',
      fixed(rssGrowthMib(peer?.push)),
      fixed(ourGrowth),
      '-',
      `Stratus < ${TARGET_RSS_GROWTH_MIB}`,
      verdict(ourGrowth === undefined ? undefined : ourGrowth < TARGET_RSS_GROWTH_MIB),
    ],
    ratioRow(
      'small pushes/s',
      (t) => medianOf(t?.small, (s) => s.perSecond),
      TARGET_SMALL_RATIO,
      0,
    ),
    ['small push p50 / p99 ms', latency(peer), latency(ours), '-', '-', '-'],
  ];
  const m = r.machine;
  const s = r.settings;
  const image = r.image
    ? `image ${(r.image.bytes / 1e6).toFixed(1)} MB in ${r.image.layers} layers`
    : 'no image pushed';
  return [
    '',
    `ECR benchmark ${note}`.trim(),
    `${r.date}, ${m.cpus} CPUs, Node ${m.node}, ${image}, median of ${s.runs} runs, ` +
      `${s.small} small pushes a run after ${s.smallWarmup} warm-up` +
      `${m.pinned ? ', servers on CPU 0 / clients on CPU 1' : ''}, ` +
      `load average ${m.loadAvgBefore.toFixed(1)} before, ${(m.loadAvgAfter ?? 0).toFixed(1)} after`,
    '',
    table([' ', PEER, STRATUS, 'Stratus ÷ distribution', 'target', 'met'], rows),
    '',
    ...(r.problems.length ? ['problems:', ...r.problems.map((p) => `  ${p}`), ''] : []),
    'JSON:',
    JSON.stringify(r),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- main

let report: EcrReport | undefined;
let printed = false;

function print(note = ''): void {
  if (!report || printed) return;
  printed = true;
  report.machine.loadAvgAfter = loadavg()[0];
  process.stdout.write(reportText(report, note));
}

function newReport(opts: Options): EcrReport {
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      node: process.version,
      pinned: isPinning(),
      loadAvgBefore: loadavg()[0],
    },
    settings: { mb: opts.mb, runs: opts.runs, small: opts.small, smallWarmup: opts.smallWarmup },
    targets: {},
    problems: [],
  };
}

async function startRegistries(opts: Options, r: EcrReport): Promise<Registry[]> {
  const registries: Registry[] = [];
  const noPeer = registryPeerMissing();
  if (noPeer) {
    if (opts.onlyPeer) throw new Error(noPeer);
    r.problems.push(`distribution: ${noPeer}`);
  } else {
    say('starting docker-registry (filesystem storage in a temp dir)');
    registries.push(await startPeer());
  }
  if (!opts.onlyPeer) {
    say('starting Stratus (fresh --state-dir)');
    const stratus = await startStratusRegistry();
    const missing = await registryApiMissing(stratus);
    if (missing) {
      r.problems.push(`Stratus: ${missing}, no registry yet: its figures are missing`);
      await stratus.stop();
    } else registries.push(stratus);
  }
  for (const reg of registries) r.targets[reg.name] = { push: [], pull: [], small: [] };
  return registries;
}

async function pushPhase(opts: Options, registries: Registry[], r: EcrReport): Promise<void> {
  const stamp = Date.now().toString(36);
  for (let run = 1; run <= opts.runs; run++) {
    const image = await benchImage(opts.mb, `ecr-bench-${stamp}-${run}`);
    r.image = { bytes: image.bytes, layers: image.layers };
    try {
      for (const reg of registries) {
        const repo = `bench/push-${stamp}-${run}`;
        try {
          const { push, pull } = await pushAndPull(reg, image, repo);
          r.targets[reg.name].push.push(push);
          r.targets[reg.name].pull.push(pull);
          say(
            `run ${run} ${reg.name}: push ${push.mbPerS.toFixed(1)} MB/s, ` +
              `pull ${pull.mbPerS.toFixed(1)} MB/s`,
          );
        } catch (err) {
          r.problems.push(`${reg.name} push/pull run ${run}: ${errorText(err)}`);
          process.exitCode = 1;
        }
      }
    } finally {
      removeTempDir(join(image.layout, '..'));
    }
  }
}

async function smallPhase(opts: Options, registries: Registry[], r: EcrReport): Promise<void> {
  const stamp = Date.now().toString(36);
  for (let run = 1; run <= opts.runs; run++) {
    for (const reg of registries) {
      try {
        const small = await smallPushes(
          reg,
          `bench/small-${stamp}-${run}`,
          opts.small,
          opts.smallWarmup,
        );
        r.targets[reg.name].small.push(small);
        say(`run ${run} ${reg.name}: ${small.perSecond.toFixed(0)} small pushes/s`);
      } catch (err) {
        r.problems.push(`${reg.name} small pushes run ${run}: ${errorText(err)}`);
        process.exitCode = 1;
      }
    }
  }
}

async function main(): Promise<void> {
  const opts = options();
  const watchdogMs = (120 + opts.mb * opts.runs * 0.3) * 1000;
  const watchdog = setTimeout(() => {
    say(`over ${Math.round(watchdogMs / 1000)} s: stopping everything`);
    print('(stopped by the watchdog: partial figures)');
    killAllNow();
    process.exit(1);
  }, watchdogMs);
  watchdog.unref();

  const noTools = imageToolsMissing();
  if (noTools) throw new Error(noTools);
  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  say(canPin ? 'servers on CPU 0, skopeo and the HTTP client on CPU 1' : 'no CPU pinning');

  const r = (report = newReport(opts));
  const registries = await startRegistries(opts, r);
  try {
    if (registries.length === 0) throw new Error('no registry to measure');
    if (opts.run('push')) await pushPhase(opts, registries, r);
    if (opts.run('small')) await smallPhase(opts, registries, r);
    for (const reg of registries)
      if (rssKb(reg.pid) === undefined) r.problems.push(`${reg.name} exited during the run`);
  } finally {
    for (const reg of registries) await reg.stop();
  }
  print();
}

runBench(main, say, { onInterrupt: () => print('(interrupted: partial figures)') });
