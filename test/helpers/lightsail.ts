/**
 * Lightsail tests' kit: the AWS CLI v2 against a server, polling for a state, ssh and
 * curl to an instance, and the blueprint image from the shared test image cache (built
 * once per machine; a test file skips with the reason when it cannot be built).
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../src/images/build/builder.js';
import { createProgress } from '../../src/images/build/progress.js';
import { dockerAvailable } from '../../src/runtime/docker/driver.js';
import { runcSkipReason } from '../../src/runtime/runc/test-support.js';
import { cliEnv } from './server.js';
import { eventually } from './wait.js';

/** The image builder's cache shared with the Lambda tests. */
export const IMAGE_CACHE = join(tmpdir(), 'stratus-test-images');

/**
 * Why Lightsail instances cannot run here on `driver` (no runc, no Docker daemon, no root
 * for the instance's overlay disk, no blueprint image).
 */
export async function lightsailSkipReason(
  blueprint = 'nginx',
  driver: 'runc' | 'docker' = 'runc',
): Promise<string | undefined> {
  if (driver === 'runc') {
    const runc = runcSkipReason();
    if (runc) return runc;
  } else {
    if (!(await dockerAvailable())) return 'no Docker daemon answers';
    if (process.getuid?.() !== 0) return "an instance's disk is an overlay mount (root)";
  }
  try {
    await buildImage(`lightsail:${blueprint}`, {
      push: false,
      cacheDir: IMAGE_CACHE,
      progress: createProgress(() => {}),
    });
    return undefined;
  } catch (err) {
    return `the lightsail:${blueprint} image cannot be built here: ${(err as Error).message}`;
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  file: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `aws lightsail <args>` (CLI v2); resolves the parsed JSON output or rejects with stderr. */
export async function lightsail(
  endpoint: string,
  args: string[],
): Promise<Record<string, unknown>> {
  const r = await run(
    '/usr/bin/aws',
    ['--endpoint-url', endpoint, 'lightsail', ...args, '--output', 'json'],
    cliEnv(),
  );
  if (r.code !== 0) throw new Error(`aws lightsail ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
}

/** Polls `check` (errors count as "not yet") until it returns a value; instances are slow. */
export function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 300_000,
): Promise<T> {
  return eventually(what, check, { timeoutMs, intervalMs: 1000, retryOnError: true });
}

export async function instanceState(endpoint: string, name: string): Promise<string> {
  const out = await lightsail(endpoint, ['get-instance-state', '--instance-name', name]);
  return (out.state as { name: string }).name;
}

export function waitState(endpoint: string, name: string, state: string): Promise<true> {
  return until(`${name} to be ${state}`, async () =>
    (await instanceState(endpoint, name)) === state ? true : undefined,
  );
}

/**
 * sshd accepted the connection but was too slow to finish its handshake (a loaded
 * machine): worth another try, unlike a refused or unanswered port (a closed one).
 */
const SLOW_SSHD = /banner exchange|kex_exchange_identification/;

/**
 * Runs a command over ssh with the key file (no host key checks: addresses are reused),
 * trying again (up to 5 times) where sshd was too slow to finish its handshake.
 */
export async function ssh(
  key: string,
  user: string,
  ip: string,
  command: string,
  port = 22,
): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    const r = await sshOnce(key, user, ip, command, port);
    if (r.code !== 255 || !SLOW_SSHD.test(r.stderr) || attempt >= 5) return r;
  }
}

function sshOnce(key: string, user: string, ip: string, command: string, port: number) {
  return run('ssh', [
    '-p',
    String(port),
    '-i',
    key,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    `${user}@${ip}`,
    command,
  ]);
}

/**
 * curl's body of http://<host>/<path> (host may carry a port), or undefined when nothing
 * answers within 3 s; `-L` follows redirects.
 */
export async function curl(host: string, path = '', follow = false): Promise<string | undefined> {
  const args = ['-s', '--fail', '--max-time', '3', ...(follow ? ['-L'] : [])];
  const r = await run('curl', [...args, `http://${host}/${path}`]);
  return r.code === 0 ? r.stdout : undefined;
}
