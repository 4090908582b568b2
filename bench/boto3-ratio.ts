/**
 * boto3, the way a test suite uses it: one client, N sequential calls, timed. Run against
 * Stratus and against a do-nothing stub answering Stratus's bytes, the ratio of the two
 * rates says how much of each call the server costs (1.0 = nothing; moto_server: 0.23–0.32).
 */
import { spawnSync } from 'node:child_process';
import type { CallName } from './calls.js';
import {
  CLIENT_CPU,
  SERVER_CPU,
  freePort,
  spawnTracked,
  stopChild,
  waitForPort,
} from './children.js';
import type { ChildProcess } from 'node:child_process';

// Servers take turns in chunks of calls (A×50, B×50, ... A×50, ...), so outside load on
// the machine falls on all of them alike; each stops at n calls, all at the time budget.
const SCRIPT = `
import json, sys, time
import boto3
from botocore.config import Config

args = json.loads(sys.argv[1])
n, warm, budget, chunk = args["n"], args["warm"], args["budgetS"], args["chunk"]
session = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
# One attempt: a retried error must fail the run, not hide in the timing.
config = Config(retries={"max_attempts": 1, "mode": "standard"})

def method(call, url):
    if call == "GetCallerIdentity":
        return session.client("sts", endpoint_url=url, config=config).get_caller_identity
    return session.client("logs", endpoint_url=url, config=config).describe_log_groups

out = {name: {} for name in args["endpoints"]}
for call in args["calls"]:
    fns = {name: method(call, url) for name, url in args["endpoints"].items()}
    for fn in fns.values():
        for _ in range(warm):
            fn()
    done = {name: 0 for name in fns}
    spent = {name: 0.0 for name in fns}
    stop = time.perf_counter() + budget
    while time.perf_counter() < stop and any(d < n for d in done.values()):
        for name, fn in fns.items():
            if done[name] >= n:
                continue
            start = time.perf_counter()
            for _ in range(chunk):
                fn()
            spent[name] += time.perf_counter() - start
            done[name] += chunk
    for name in fns:
        out[name][call] = {"calls": done[name], "seconds": spent[name],
                           "callsPerSec": done[name] / spent[name]}
print(json.dumps(out))
`;

export interface Boto3Rate {
  calls: number;
  seconds: number;
  callsPerSec: number;
}

export type Boto3Rates = Partial<Record<CallName, Boto3Rate>>;

/** Python 3 with boto3 importable, or why not. */
export function boto3Missing(python = 'python3'): string | undefined {
  const r = spawnSync(python, ['-c', 'import boto3'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `${python} not found`;
  return r.status === 0 ? undefined : `boto3 not importable: ${r.stderr.trim().split('\n').pop()}`;
}

/** An environment where only our arguments configure boto3 (no profiles, no IMDS). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  env.AWS_CONFIG_FILE = '/dev/null';
  env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  env.AWS_EC2_METADATA_DISABLED = 'true';
  return env;
}

export interface Boto3Run {
  /** name → endpoint URL */
  endpoints: Record<string, string>;
  calls: readonly CallName[];
  /** At most this many calls per endpoint and kind of call... */
  n: number;
  /** ...and at most this many seconds per kind of call, all endpoints together. */
  budgetS: number;
  warm?: number;
  chunk?: number;
}

/** Rates per endpoint name. */
export function runBoto3(run: Boto3Run): Promise<Record<string, Boto3Rates>> {
  const args = JSON.stringify({ warm: 50, chunk: 50, ...run });
  return new Promise((resolve, reject) => {
    const child = spawnTracked(
      'python3',
      ['-c', SCRIPT, args],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      CLIENT_CPU,
    );
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    const timer = setTimeout(
      () => child.kill('SIGKILL'),
      (run.budgetS * run.calls.length + 60) * 1000,
    );
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`boto3 run failed (${code}):\n${err}`));
      try {
        resolve(JSON.parse(out) as Record<string, Boto3Rates>);
      } catch {
        reject(new Error(`boto3 printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

export interface MotoProcess {
  child: ChildProcess;
  endpoint: string;
  stop(): Promise<void>;
}

/** moto_server on a free port, for reference figures; undefined when it is not installed. */
export async function startMoto(): Promise<MotoProcess | undefined> {
  if (spawnSync('moto_server', ['--help'], { timeout: 20_000 }).status !== 0) return undefined;
  const port = await freePort();
  const child = spawnTracked(
    'moto_server',
    ['-H', '127.0.0.1', '-p', String(port)],
    { stdio: ['ignore', 'ignore', 'ignore'] },
    SERVER_CPU,
  );
  try {
    await waitForPort(port, 20_000, child);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { child, endpoint: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
