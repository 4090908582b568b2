/**
 * Stratus as a separate process (bin/stratus.js, the compiled server), for tests that kill
 * it or send it signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';

function findBin(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = resolve(dir, 'bin', 'stratus.js');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new Error('bin/stratus.js not found');
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
  const child = spawn(process.execPath, [findBin(), '--port', '0', ...args], {
    env: { ...process.env, STRATUS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | NodeJS.Signals | null>((res) =>
    child.once('exit', (code, signal) => res(signal ?? code)),
  );
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /"endpoint":"(http:\/\/[^"]+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolveReady({ child, endpoint: m[1], output: () => log, exited });
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
