/**
 * Batch at the scale of 100,000 jobs (`npm run bench:batch`). Figures, not pass/fail.
 *
 *   node dist/bench/batch.js [--jobs 100000] [--no-decisions] [--no-engine] [--no-http]
 *     [--no-submit-load] [--submit-seconds 5] [--cpu-prof DIR] [--scan-decisions 2000]
 *
 * 1. Scheduling decisions (in-process, scheduler.ts): n jobs queued over two FIFO queues
 *    and a fair-share queue with four share identifiers, then every one dispatched into 64
 *    free slots that are freed as they fill. Baseline in the same run: a scheduler that
 *    scans the queued jobs for the best one per decision (what a store without indexes
 *    forces), timed over its first --scan-decisions decisions (it would take hours for all).
 * 2. SubmitJob's cost to the server: Stratus as its own process (state on disk), 16 raw
 *    signed HTTP clients on keep-alive sockets, then the SDK v3 with 16 calls in flight;
 *    server CPU µs per submit from /proc (--cpu-prof DIR profiles the server meanwhile).
 * 3. The engine (in-process): n jobs submitted through the SubmitJob operation into a
 *    SQLite store on disk, then dispatched through the whole persisted state machine
 *    (RUNNABLE → STARTING → RUNNING → SUCCEEDED, each a transaction) with an executor whose
 *    containers exit 0 at once: jobs started per second (kube-scheduler's published
 *    reference is ~800 pods per second).
 * 4. Over HTTP at n jobs queued: Stratus as its own process (process driver, its
 *    environment DISABLED so that jobs stay queued), boto3 SubmitJob sequentially (1,000)
 *    and from 16 client processes (4,000), raw signed HTTP for the rest up to n, then the
 *    server's RSS and DescribeJobs / ListJobs p50 and p99 through the SDK v3 and boto3.
 */
import { spawn, spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
} from '@aws-sdk/client-batch';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { boto3Missing } from './boto3-ratio.js';
import { runBench } from './children.js';
import { wireBytes, type SignedCall } from './calls.js';
import { cpuMs } from './proc-cpu.js';
import { rssKb } from './proc-mem.js';
import { completeAnswer, socketLoad } from './socket-load.js';
import { startStratus } from './stratus-process.js';
import { decisions, engines, round } from './batch-in-process.js';

const say = (msg: string): void => void process.stderr.write(`[bench:batch] ${msg}\n`);

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    'scan-decisions': { type: 'string', default: '2000' },
    'no-http': { type: 'boolean', default: false },
    'no-engine': { type: 'boolean', default: false },
    'no-decisions': { type: 'boolean', default: false },
    'no-submit-load': { type: 'boolean', default: false },
    /** Engine runs with and without the CloudWatch metrics, alternated (part 3). */
    'engine-rounds': { type: 'string', default: '1' },
    /** Seconds of each raw-HTTP submit run. */
    'submit-seconds': { type: 'string', default: '5' },
    /** Profile the server during the raw-HTTP submit run (a .cpuprofile in this directory). */
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.jobs);
const inProcess = {
  jobs: N,
  scanDecisions: Number(values['scan-decisions']),
  engineRounds: Number(values['engine-rounds']),
  say,
};

// ---- 4. SubmitJob's cost to the server, with the fastest honest clients ----------------

/** A SubmitJob request signed once (SigV4, test/test): the same bytes sent again and again. */
async function signedSubmit(endpoint: string): Promise<SignedCall> {
  const url = new URL(endpoint);
  const body = JSON.stringify({ jobName: 'load', jobQueue: 'q', jobDefinition: 'd' });
  const signer = new SignatureV4({
    service: 'batch',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/v1/submitjob',
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    }),
  );
  return {
    name: 'SubmitJob',
    method: 'POST',
    path: signed.path,
    headers: Object.entries(signed.headers),
    body,
  };
}

/** A compute environment (DISABLED: jobs stay queued), a queue and a definition via the SDK. */
async function setUpQueue(batch: BatchClient): Promise<void> {
  await batch.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: 'ce',
      type: 'MANAGED',
      state: 'DISABLED',
      computeResources: { type: 'EC2', maxvCpus: 64, subnets: ['s'] },
    }),
  );
  for (;;) {
    const d = await batch.send(
      new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['ce'] }),
    );
    if (d.computeEnvironments?.[0]?.status === 'VALID') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await batch.send(
    new CreateJobQueueCommand({
      jobQueueName: 'q',
      priority: 1,
      computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }],
    }),
  );
  await batch.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'd',
      type: 'container',
      containerProperties: { image: 'busybox', vcpus: 1, memory: 64, command: ['true'] },
    }),
  );
}

/**
 * SubmitJob at 16 concurrent clients, Stratus in its own process with its state on disk:
 * raw signed HTTP/1.1 over keep-alive sockets (no client-side cost to speak of), then the
 * SDK v3 (16 requests in flight on one client). Server CPU per submit comes from
 * /proc/<pid>/stat: 1e6 / µs is the server's ceiling in submits per second per core.
 */
async function submitLoad(): Promise<Record<string, unknown>> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-batch-submit-'));
  const server = await startStratus({
    auth: 'permissive',
    driver: 'process',
    stateDir,
    cpuProfDir: values['cpu-prof'],
  });
  const batch = new BatchClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }) },
  });
  try {
    await setUpQueue(batch);
    const call = await signedSubmit(server.endpoint);
    const seconds = Number(values['submit-seconds']);
    const pid = server.child.pid;
    const cpu0 = cpuMs(pid) ?? 0;
    const raw = await socketLoad(
      call,
      { url: server.endpoint, concurrency: 16, durationS: seconds },
      1,
    );
    const rawCpu = (cpuMs(pid) ?? 0) - cpu0;
    // The warm-up second's requests are not in raw.requests: count them from the queue.
    const queued1 = await listedRunnable(batch);
    const rawUs = (rawCpu * 1000) / queued1;
    say(
      `raw HTTP, 16 sockets: ${Math.round(raw.rps)} submits/s, p99 ${round(raw.p99Ms)} ms, server ${round(rawUs)} µs CPU per submit (${raw.non2xx} non-2xx, ${raw.errors} errors)`,
    );
    const sdkN = Math.max(2000, Math.min(20_000, Math.round(raw.rps * seconds)));
    const cpu1 = cpuMs(pid) ?? 0;
    const t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < sdkN) {
          next++;
          await batch.send(
            new SubmitJobCommand({ jobName: 'sdk', jobQueue: 'q', jobDefinition: 'd' }),
          );
        }
      }),
    );
    const sdkRate = sdkN / ((performance.now() - t) / 1000);
    const sdkUs = (((cpuMs(pid) ?? 0) - cpu1) * 1000) / sdkN;
    say(
      `SDK v3, 16 in flight: ${Math.round(sdkRate)} submits/s, server ${round(sdkUs)} µs CPU per submit`,
    );
    return {
      rawHttp16: {
        submitsPerSec: Math.round(raw.rps),
        p50Ms: round(raw.p50Ms),
        p99Ms: round(raw.p99Ms),
        non2xx: raw.non2xx,
        errors: raw.errors,
        serverCpuUsPerSubmit: round(rawUs),
        serverCeilingPerCorePerSec: Math.round(1e6 / rawUs),
      },
      sdkV3_16: {
        submits: sdkN,
        submitsPerSec: Math.round(sdkRate),
        serverCpuUsPerSubmit: round(sdkUs),
      },
    };
  } finally {
    batch.destroy();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** How many jobs are RUNNABLE in queue q (ListJobs pages of 1,000). */
async function listedRunnable(batch: BatchClient): Promise<number> {
  let n = 0;
  let nextToken: string | undefined;
  do {
    const page = await batch.send(
      new ListJobsCommand({ jobQueue: 'q', jobStatus: 'RUNNABLE', maxResults: 1000, nextToken }),
    );
    n += page.jobSummaryList?.length ?? 0;
    nextToken = page.nextToken;
  } while (nextToken);
  return n;
}

// ---- 3. over HTTP, with boto3 -----------------------------------------------------------

const BOTO3 = `
import json, multiprocessing, sys, time
import boto3
from botocore.config import Config
url, n_seq, n_par = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = Config(retries={"max_attempts": 1}, max_pool_connections=32)
def client():
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
        region_name="us-east-1").client("batch", endpoint_url=url, config=cfg)
b = client()
def submit(cl, i):
    return cl.submit_job(jobName="j%d" % i, jobQueue="q", jobDefinition="d")["jobId"]
ids = []
t = time.perf_counter()
for i in range(n_seq):
    ids.append(submit(b, i))
seq_rate = n_seq / (time.perf_counter() - t)
per = n_par // 16
def worker(k):
    cl = client()
    return [submit(cl, n_seq + k * per + i) for i in range(per)]
# 16 client processes (threads would share one GIL and measure it instead).
t = time.perf_counter()
with multiprocessing.Pool(16) as pool:
    for mine in pool.map(worker, range(16)):
        ids.extend(mine)
par_rate = (per * 16) / (time.perf_counter() - t)
print(json.dumps({"phase": "submitted", "submitSequentialPerSec": round(seq_rate),
    "submit16ClientsPerSec": round(par_rate)}), flush=True)
sys.stdin.readline()
def lat(fn, k=300):
    xs = []
    for i in range(k):
        s = time.perf_counter(); fn(i); xs.append((time.perf_counter() - s) * 1000)
    xs.sort()
    return {"p50": round(xs[len(xs)//2], 2), "p99": round(xs[int(len(xs)*0.99)], 2)}
out = {
  "describeJobs1": lat(lambda i: b.describe_jobs(jobs=[ids[(i * 7919) % len(ids)]])),
  "describeJobs100": lat(lambda i: b.describe_jobs(jobs=[ids[(i * 7919 + j) % len(ids)] for j in range(100)]), 100),
  "listJobsRunnable100": lat(lambda i: b.list_jobs(jobQueue="q", jobStatus="RUNNABLE", maxResults=100)),
  "listJobsByName": lat(lambda i: b.list_jobs(jobQueue="q", filters=[{"name": "JOB_NAME", "values": ["j1234*"]}], maxResults=100), 100),
  "botocoreOnly": lat(lambda i: b.meta.events, 1),
}
print(json.dumps(out), flush=True)
`;

/** Sends the signed call `n` times over `concurrency` keep-alive sockets; resolves the non-2xx count. */
async function sendCount(
  call: SignedCall,
  url: string,
  n: number,
  concurrency: number,
): Promise<number> {
  const target = new URL(url);
  const bytes = wireBytes(call);
  let sent = 0;
  let bad = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname);
      let pending: Buffer = Buffer.alloc(0);
      const next = () => {
        if (sent >= n) return void socket.end();
        sent++;
        socket.write(bytes);
      };
      socket.once('connect', next);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const answer = completeAnswer(pending);
        if (!answer) return;
        pending = pending.subarray(answer.length);
        if (answer.status >= 300) bad++;
        next();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
  await Promise.all(Array.from({ length: concurrency }, one));
  return bad;
}

/** p50 / p99 (ms) of `k` sequential calls. */
async function latency(
  k: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number }> {
  const xs: number[] = [];
  for (let i = 0; i < k; i++) {
    const t = performance.now();
    await fn(i);
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return { p50: round(xs[Math.floor(k / 2)]), p99: round(xs[Math.floor(k * 0.99)]) };
}

/**
 * boto3 submits (sequentially, then from 16 processes), raw signed HTTP fills the queue up
 * to n jobs, then the server's RSS and DescribeJobs / ListJobs latencies through the SDK v3
 * (Node, one call in flight: little client time) and through boto3.
 */
async function http(): Promise<Record<string, unknown>> {
  const missing = boto3Missing();
  if (missing) {
    say(`http part skipped: ${missing}`);
    return { skipped: missing };
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-batch-http-'));
  const server = await startStratus({ auth: 'permissive', driver: 'process', stateDir });
  const batch = new BatchClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }) },
  });
  try {
    await setUpQueue(batch);
    const nSeq = Math.min(1000, N);
    const nPar = Math.min(4000, Math.max(0, N - nSeq));
    const py = spawn('python3', ['-c', BOTO3, server.endpoint, String(nSeq), String(nPar)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    const lines: Record<string, unknown>[] = [];
    let wake: (() => void) | undefined;
    let buf = '';
    py.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
        buf = buf.slice(nl + 1);
        wake?.();
      }
    });
    const exited = new Promise<number | null>((r) => py.once('exit', r));
    const line = async (): Promise<Record<string, unknown>> => {
      while (lines.length === 0) {
        const code = await Promise.race([
          exited,
          new Promise<'line'>((r) => (wake = () => r('line'))),
        ]);
        if (code !== 'line' && lines.length === 0) throw new Error(`boto3 script exited ${code}`);
      }
      return lines.shift() as Record<string, unknown>;
    };
    const submitted = await line();
    say(`boto3: ${JSON.stringify(submitted)}`);
    const rest = N - nSeq - Math.floor(nPar / 16) * 16;
    const t = performance.now();
    const bad =
      rest > 0
        ? await sendCount(await signedSubmit(server.endpoint), server.endpoint, rest, 16)
        : 0;
    say(
      `raw HTTP: ${rest} more queued at ${Math.round(rest / ((performance.now() - t) / 1000))}/s (${bad} refused)`,
    );
    // The bus delivers the fill's state change events in the background: measure once the
    // server is quiet (under 5% of a core for a second), as a queue of 100,000 sits.
    const quietFrom = performance.now();
    for (let before = cpuMs(server.child.pid) ?? 0; performance.now() - quietFrom < 180_000;) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = cpuMs(server.child.pid) ?? 0;
      if (now - before < 50) break;
      before = now;
    }
    say(`server quiet after ${Math.round((performance.now() - quietFrom) / 1000)} s`);
    const rssMb = (rssKb(server.child.pid) ?? 0) / 1024;
    say(`${N} queued, server RSS ${Math.round(rssMb)} MB`);
    const first = await batch.send(
      new ListJobsCommand({ jobQueue: 'q', jobStatus: 'RUNNABLE', maxResults: 1000 }),
    );
    const ids = (first.jobSummaryList ?? []).map((j) => j.jobId ?? '');
    const pick = (i: number) => ids[(i * 7919) % ids.length];
    const sdk = {
      describeJobs1: await latency(300, (i) =>
        batch.send(new DescribeJobsCommand({ jobs: [pick(i)] })),
      ),
      describeJobs100: await latency(100, (i) =>
        batch.send(
          new DescribeJobsCommand({ jobs: Array.from({ length: 100 }, (_, j) => pick(i + j)) }),
        ),
      ),
      listJobsRunnable100: await latency(300, () =>
        batch.send(new ListJobsCommand({ jobQueue: 'q', jobStatus: 'RUNNABLE', maxResults: 100 })),
      ),
      listJobsRunnable100Page500: await latency(100, async () => {
        let nextToken: string | undefined;
        for (let p = 0; p < 5; p++) {
          nextToken = (
            await batch.send(
              new ListJobsCommand({
                jobQueue: 'q',
                jobStatus: 'RUNNABLE',
                maxResults: 100,
                nextToken,
              }),
            )
          ).nextToken;
        }
      }),
      listJobsByName: await latency(100, () =>
        batch.send(
          new ListJobsCommand({
            jobQueue: 'q',
            filters: [{ name: 'JOB_NAME', values: ['j1234*'] }],
            maxResults: 100,
          }),
        ),
      ),
    };
    say(`SDK v3 latencies: ${JSON.stringify(sdk)}`);
    py.stdin.write('\n');
    const boto3Latency = await line();
    await exited;
    return {
      ...submitted,
      phase: undefined,
      serverRssMbQueued: Math.round(rssMb),
      latencySdkV3Ms: sdk,
      latencyBoto3Ms: boto3Latency,
    };
  } finally {
    batch.destroy();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runBench(async () => {
  const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim();
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    jobs: N,
    loadavg: load,
  };
  if (!values['no-decisions']) report.decisions = decisions(inProcess);
  if (!values['no-submit-load']) report.submitLoad = await submitLoad();
  if (!values['no-engine']) report.engine = await engines(inProcess);
  if (!values['no-http']) report.http = await http();
  console.log(JSON.stringify(report, null, 2));
}, say);
