/**
 * Stratus as a separate process (bin/stratus.js, the compiled server), for tests that kill
 * it or send it signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';

/** The repository root (found from this file, compiled or not). */
export function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(resolve(dir, 'bin', 'stratus.js'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('bin/stratus.js not found');
}

/** The compiled server (bin/stratus.js), or the sources when the tests run through tsx. */
function serverArgv(): string[] {
  const root = repoRoot();
  if (!import.meta.url.endsWith('.ts')) return [resolve(root, 'bin', 'stratus.js')];
  const cli = JSON.stringify(resolve(root, 'src', 'cli.ts'));
  return [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    `const { main } = await import(${cli}); await main(process.argv.slice(1));`,
    '--',
  ];
}

/** Runs the `stratus` command to its end (--help, --version, a start that fails). */
export function runStratus(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...serverArgv(), ...args], {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  child: ChildProcess;
  endpoint: string;
  /** Everything the server logged so far. */
  output(): string;
  /** Resolves with the exit code or signal once the process ends. */
  exited: Promise<number | NodeJS.Signals | null>;
}

export function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...serverArgv(), '--port', '0', ...args], {
    cwd: repoRoot(),
    // Host processes unless a test asks for a driver (runc builds Lambda runtime images).
    env: { ...process.env, STRATUS_LOG_LEVEL: 'info', STRATUS_DRIVER: 'process', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | NodeJS.Signals | null>((res) =>
    child.once('exit', (code, signal) => res(signal ?? code)),
  );
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${log}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      // The ready line, as a JSON line or (--log-format pretty) as `endpoint=…`.
      const m = /"endpoint":"(http:\/\/[^"]+)"|endpoint=(http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolveReady({ child, endpoint: m[1] ?? m[2], output: () => log, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${String(code)}) before it was ready:\n${log}`));
    });
  });
}
