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

const SCRIPT = `
import json, sys, time
import boto3
from botocore.config import Config

endpoint, n, warm, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[5])
session = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
# One attempt: a retried error must fail the run, not hide in the timing.
config = Config(retries={"max_attempts": 1, "mode": "standard"})
calls = {
    "GetCallerIdentity": session.client("sts", endpoint_url=endpoint, config=config).get_caller_identity,
    "DescribeLogGroups": session.client("logs", endpoint_url=endpoint, config=config).describe_log_groups,
}
out = {}
for name in sys.argv[4].split(","):
    call = calls[name]
    for _ in range(warm):
        call()
    # n calls, or fewer when the time budget runs out first (a busy machine).
    start = time.perf_counter()
    stop = start + budget
    done = 0
    while done < n:
        call()
        done += 1
        if done % 50 == 0 and time.perf_counter() > stop:
            break
    seconds = time.perf_counter() - start
    out[name] = {"calls": done, "seconds": seconds, "callsPerSec": done / seconds}
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

/** Up to `n` calls of each kind, stopping early after `budgetS` seconds per kind. */
export function runBoto3(
  endpoint: string,
  calls: readonly CallName[],
  n: number,
  budgetS: number,
  warm = 50,
): Promise<Boto3Rates> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(
      'python3',
      ['-c', SCRIPT, endpoint, String(n), String(warm), calls.join(','), String(budgetS)],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      CLIENT_CPU,
    );
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), (budgetS * calls.length + 60) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`boto3 run against ${endpoint} failed (${code}):\n${err}`));
      try {
        resolve(JSON.parse(out) as Boto3Rates);
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
