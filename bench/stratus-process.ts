/**
 * Stratus as its own process (bin/stratus.js), so the load generator never shares its
 * event loop. `--log-level warn` keeps the ready line quiet, so the port is chosen here
 * and readiness is a TCP connect.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_CPU, freePort, spawnTracked, stopChild, waitForPort } from './children.js';

export type AuthMode = 'permissive' | 'strict';

export interface StratusProcess {
  child: ChildProcess;
  endpoint: string;
  port: number;
  /** The last few KB the server wrote (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

/** The repository root: where bin/stratus.js is (bench/ under tsx, dist/bench/ compiled). */
export function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(resolve(dir, 'bin', 'stratus.js'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('bin/stratus.js not found above ' + fileURLToPath(import.meta.url));
}

export interface StratusOptions {
  auth: AuthMode;
  /** `--iam` (default: the server's own, enforce with strict auth). */
  iam?: 'enforce' | 'soft' | 'off';
  /** Directory for `node --cpu-prof` output; the profile is written when the server exits. */
  cpuProfDir?: string;
  /** Keep state in this directory instead of `--ephemeral` (a temporary one). */
  stateDir?: string;
  /** Extra `node` flags for the server, e.g. `--heapsnapshot-signal=SIGUSR2`. */
  nodeFlags?: readonly string[];
  /** Default `warn` (no access log); `info` writes a line per request (bench/log-cost.ts). */
  logLevel?: 'warn' | 'info';
  logFormat?: 'pretty' | 'json';
  /** `--driver` (default: the server's own default, auto). */
  driver?: 'process' | 'runc';
  /** Extra environment for the server (STRATUS_METERING=off, STRATUS_METRICS=off). */
  env?: NodeJS.ProcessEnv;
  /** Another checkout's root (built) to run instead of this one: a baseline build. */
  root?: string;
}

export async function startStratus(opts: StratusOptions): Promise<StratusProcess> {
  const port = await freePort();
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const args = [
    ...nodeArgs,
    ...(opts.nodeFlags ?? []),
    resolve(opts.root ?? repoRoot(), 'bin', 'stratus.js'),
    ...(opts.stateDir ? ['--state-dir', opts.stateDir] : ['--ephemeral']),
    '--port',
    String(port),
    '--log-level',
    opts.logLevel ?? 'warn',
    ...(opts.logFormat ? ['--log-format', opts.logFormat] : []),
    '--auth',
    opts.auth,
    ...(opts.iam ? ['--iam', opts.iam] : []),
    ...(opts.driver ? ['--driver', opts.driver] : []),
  ];
  const child = spawnTracked(
    process.execPath,
    args,
    {
      env: {
        ...process.env,
        STRATUS_ROOT_ACCESS_KEY_ID: 'test',
        STRATUS_ROOT_SECRET_ACCESS_KEY: 'test',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
    SERVER_CPU,
  );
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitForPort(port, 20_000, child);
  } catch (err) {
    await stopChild(child);
    throw new Error(`Stratus did not start: ${(err as Error).message}\n${log}`);
  }
  return {
    child,
    port,
    endpoint: `http://127.0.0.1:${port}`,
    output: () => log,
    // SIGTERM lets the server close cleanly, which is also when --cpu-prof writes its file.
    stop: () => stopChild(child, 15_000),
  };
}
