/**
 * Runs the host tools the runc driver drives (runc, ip, nft) and fails with what they
 * printed, so a refused operation says why.
 */
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (${code}): ${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs `file args…`, writing `input` to its stdin; resolves stdout. */
export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new CommandError([file, ...args], code, Buffer.concat(err).toString('utf8')));
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
