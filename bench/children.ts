/**
 * Every process the benchmark starts, so that all of them are stopped by PID at the end,
 * also when a phase throws or the user presses Ctrl-C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();

/** The two-core machine: the server gets CPU 0, load generators and clients CPU 1. */
export const SERVER_CPU = '0';
export const CLIENT_CPU = '1';
let pinning = false;
let niceness: number | undefined;

/** Pins children with taskset(1) from now on (off when taskset is missing or BENCH_PIN=0). */
export function enablePinning(on: boolean): void {
  pinning = on;
}

export function isPinning(): boolean {
  return pinning;
}

/**
 * Runs children under `nice -n N` from now on (negative N needs root): on a shared machine
 * this keeps other processes from deciding the figures. Off by default.
 */
export function setNiceness(n: number | undefined): void {
  niceness = n;
}

/** Spawns `cmd args`, on `cpu` when pinning is on, and remembers it until it exits. */
export function spawnTracked(
  cmd: string,
  args: string[],
  options: SpawnOptions,
  cpu?: string,
): ChildProcess {
  let argv = [cmd, ...args];
  if (pinning && cpu !== undefined) argv = ['taskset', '-c', cpu, ...argv];
  if (niceness !== undefined) argv = ['nice', '-n', String(niceness), ...argv];
  const child = spawn(argv[0], argv.slice(1), options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  // An ENOENT arrives as 'error' without 'exit'.
  child.once('error', () => live.delete(child));
  return child;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs` if the child is still there. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited(child);
  clearTimeout(timer);
}

const tempDirs = new Set<string>();

/** A fresh directory under the system temp dir, removed by removeTempDir or at exit. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/**
 * Synchronous last resort for exit handlers: SIGKILL every child still running and remove
 * the temp dirs.
 */
export function killAllNow(): void {
  for (const dir of [...tempDirs]) removeTempDir(dir);
  for (const child of live) {
    if (child.pid === undefined) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)));
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a benchmark's main: children are stopped when it ends or fails, and killed at once
 * (with `killNow`) on SIGINT, SIGTERM or exit. `onInterrupt` runs first on Ctrl-C.
 */
export function runBench(
  main: () => Promise<void>,
  say: (msg: string) => void,
  opts: { killNow?: () => void; onInterrupt?: () => void } = {},
): void {
  const killNow = opts.killNow ?? killAllNow;
  process.on('SIGINT', () => {
    opts.onInterrupt?.();
    killNow();
    process.exit(130);
  });
  process.on('SIGTERM', () => {
    killNow();
    process.exit(143);
  });
  process.on('exit', killNow);
  main()
    .then(() => stopAll())
    .catch(async (err: unknown) => {
      say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await stopAll();
      process.exitCode = 1;
    });
}
