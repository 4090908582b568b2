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
