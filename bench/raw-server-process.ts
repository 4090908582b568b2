/** Starts bench/raw-server as its own process with a set of canned answers. */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CannedResponse } from './capture.js';
import { SERVER_CPU, makeTempDir, removeTempDir, spawnTracked, stopChild } from './children.js';

export interface RawServerProcess {
  child: ChildProcess;
  endpoint: string;
  stop(): Promise<void>;
}

/** `answers` is keyed by X-Amz-Target; '' is the answer for requests without one. */
export async function startRawServer(
  answers: Record<string, CannedResponse>,
): Promise<RawServerProcess> {
  const dir = makeTempDir('stratus-bench-');
  const file = join(dir, 'responses.json');
  writeFileSync(file, JSON.stringify(answers));
  // raw-server.js beside this file when compiled; raw-server.ts under tsx.
  const self = fileURLToPath(import.meta.url);
  const script = self.replace(/raw-server-process\.(ts|js)$/, 'raw-server.$1');
  const child = spawnTracked(
    process.execPath,
    [...process.execArgv, script, file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
    SERVER_CPU,
  );
  let out = '';
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw server silent:\n${out}`)), 10_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        const m = /"port":(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`raw server exited (${code}):\n${out}`));
      });
    });
    return {
      child,
      endpoint: `http://127.0.0.1:${port}`,
      stop: async () => {
        await stopChild(child);
        removeTempDir(dir);
      },
    };
  } catch (err) {
    await stopChild(child);
    removeTempDir(dir);
    throw err;
  }
}
