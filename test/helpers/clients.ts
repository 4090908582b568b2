/**
 * The AWS CLI and boto3 as child processes, pointed at a test server.
 * Prefers the AWS CLI v2 from Debian's awscli package (/usr/bin/aws); falls back to `aws`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cliEnv } from './server.js';

export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<ProcResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `aws --endpoint-url <endpoint> --output json <args>` */
export function awsCli(
  endpoint: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ProcResult> {
  return run(AWS_CLI, ['--endpoint-url', endpoint, '--output', 'json', ...args], cliEnv(env));
}

/** Runs a Python script with boto3 importable; ENDPOINT is set in its environment. */
export function python(
  endpoint: string,
  script: string,
  env: Record<string, string> = {},
): Promise<ProcResult> {
  return run('python3', ['-'], cliEnv({ ENDPOINT: endpoint, ...env }), script);
}

/**
 * `curl -sS -i <args>`: status, lower-cased headers and body of the (last) answer. curl
 * resolves `*.localhost` names to loopback itself, as browsers do.
 */
export async function curl(
  args: string[],
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const r = await run('curl', ['-sS', '-i', '--max-time', '60', ...args], process.env);
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  let out = r.stdout;
  // Interim answers (100 Continue) come first, each with its own blank line.
  while (/^HTTP\/[\d.]+ 1\d\d/.test(out)) out = out.slice(out.indexOf('\r\n\r\n') + 4);
  const split = out.indexOf('\r\n\r\n');
  const head = out.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(head[0].split(' ')[1]), headers, body: out.slice(split + 4) };
}
