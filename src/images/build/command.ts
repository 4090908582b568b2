/**
 * Runs the build's external tools (mmdebstrap, npm) to the end, handing each stderr (or
 * stdout) line to the progress output as it comes, and keeping the tail of stderr for the
 * error when the tool fails. A tool that cannot be found gets a message naming its package.
 */
import { spawn } from 'node:child_process';

export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each output line (stderr and stdout). */
  onLine?: (line: string) => void;
  /** What to install when the tool is missing, for the error message. */
  installHint?: string;
}

const TAIL_LINES = 30;

/** Runs `cmd args`, resolves with stdout; rejects with the last stderr lines on failure. */
export function runTool(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const tail: string[] = [];
    let partial = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        if (line.trim()) opts.onLine?.(line);
      }
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new ToolError(
          err.code === 'ENOENT'
            ? `${cmd} not found${opts.installHint ? ` (${opts.installHint})` : ''}`
            : `${cmd} failed to start: ${err.message}`,
        ),
      );
    });
    child.once('close', (code, signal) => {
      if (partial) tail.push(partial);
      if (code === 0) return resolve(Buffer.concat(out).toString());
      reject(
        new ToolError(
          `${cmd} ${args.slice(0, 3).join(' ')} … failed (${signal ?? `exit ${code}`}):\n` +
            tail.join('\n'),
        ),
      );
    });
  });
}
