/**
 * Shared by the Lambda end-to-end tests: constants, function code (Node, Python and a shell
 * `provided` bootstrap), zip builders, SDK clients, an execution role, log readers, and the
 * per-file server fixture of the invoke tests.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  type CreateFunctionCommandInput,
  type CreateFunctionCommandOutput,
  type InvokeCommandInput,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { createZip } from './zip-writer.js';
import { clientConfig, startTestServer, type TestServer } from './server.js';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
export const arn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

/** A trust policy that lets Lambda assume the role. */
export const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});
/** A trust policy for EC2 only: Lambda cannot assume a role with it. */
export const EC2_TRUST = TRUST.replace('lambda.amazonaws.com', 'ec2.amazonaws.com');

/** A Node handler that echoes its event and says which environment ran it. */
export const NODE_ECHO = `
const initId = require('node:crypto').randomUUID();
exports.handler = async (event, context) => {
  if (event.throw) throw new TypeError(event.throw);
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  // Held until the test creates this file (at most 60 s): calls that overlap by cause.
  for (const until = Date.now() + 60000; event.waitFor && Date.now() < until; ) {
    if (require('node:fs').existsSync(event.waitFor)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log('echo', JSON.stringify(event));
  return {
    event,
    initId,
    requestId: context.awsRequestId,
    version: context.functionVersion,
    invokedArn: context.invokedFunctionArn,
    clientContext: context.clientContext ?? null,
  };
};
`;

export const PYTHON_ECHO = `
import json

def handler(event, context):
    print("py-echo", json.dumps(event))
    return {"event": event, "runtime": "python", "requestId": context.aws_request_id}
`;

/** The classic custom runtime: a shell bootstrap speaking the Runtime API with curl. */
export const SHELL_BOOTSTRAP = `#!/bin/sh
set -eu
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  echo "shell got $EVENT"
  curl -sS -X POST "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" \\
    -d "{\\"shell\\":true,\\"handler\\":\\"$_HANDLER\\",\\"event\\":$EVENT}" > /dev/null
done
`;

/** A one-file Node package (index.js). */
export const nodeZip = (code: string) => createZip([{ name: 'index.js', data: code }]);

/** A one-file Node package with a trivial handler unless told otherwise. */
export const handlerZip = (body = 'exports.handler = async () => ({ ok: true });\n') =>
  createZip([{ name: 'index.js', data: body }]);

/** CodeSha256 as Lambda reports it: base64 of the package's SHA-256. */
export const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/** A payload parsed as JSON. */
export const json = (b: Uint8Array | undefined): unknown =>
  b === undefined ? undefined : JSON.parse(Buffer.from(b).toString('utf8'));

export { eventually } from './wait.js';

/** Every message of a function's log group (all streams), oldest first. */
export async function logMessages(logs: CloudWatchLogsClient, group: string): Promise<string[]> {
  const out: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, nextToken }));
      for (const e of page.events ?? []) out.push(e.message ?? '');
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return [];
    throw err;
  }
  return out;
}

export interface Clients {
  lambda: LambdaClient;
  iam: IAMClient;
  logs: CloudWatchLogsClient;
}

export function clients(endpoint: string): Clients {
  return {
    // One attempt: the SDK would otherwise retry throttles and hide them.
    lambda: new LambdaClient({ ...clientConfig(endpoint), maxAttempts: 1 }),
    iam: new IAMClient(clientConfig(endpoint)),
    logs: new CloudWatchLogsClient(clientConfig(endpoint)),
  };
}

export function destroy(c: Clients): void {
  c.lambda.destroy();
  c.iam.destroy();
  c.logs.destroy();
}

/** Creates an IAM role with the given trust policy (Lambda's by default); returns its ARN. */
export async function createRole(iam: IAMClient, name: string, trust = TRUST): Promise<string> {
  const out = await iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }),
  );
  return out.Role?.Arn as string;
}

/**
 * An in-process server for the invoke tests: single-attempt clients, the role `invoke-role`
 * (handlers see it in their assumed-role ARN), a temporary directory, the `echo` function,
 * and short async retry delays so retries finish within a test.
 */
export interface InvokeFixture {
  server: TestServer;
  c: Clients;
  role: string;
  dir: string;
  create(
    name: string,
    extra?: Partial<CreateFunctionCommandInput>,
  ): Promise<CreateFunctionCommandOutput>;
  invoke(
    name: string,
    payload?: unknown,
    extra?: Partial<InvokeCommandInput>,
  ): Promise<InvokeCommandOutput>;
  close(): Promise<void>;
}

export async function openInvokeFixture(): Promise<InvokeFixture> {
  const previousDelays = process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS;
  process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS = '100,200';
  const server = await startTestServer();
  const c = clients(server.endpoint);
  const role = await createRole(c.iam, 'invoke-role');
  const dir = await mkdtemp(join(tmpdir(), 'stratus-invoke-'));
  const create = (name: string, extra: Partial<CreateFunctionCommandInput> = {}) =>
    c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: nodeZip(NODE_ECHO) },
        // Not AWS's 3 s default: a loaded CI machine must not turn a fast echo into a
        // timeout. Tests of timeouts set their own.
        Timeout: 30,
        ...extra,
      }),
    );
  const invoke = (name: string, payload?: unknown, extra: Partial<InvokeCommandInput> = {}) =>
    c.lambda.send(
      new InvokeCommand({
        FunctionName: name,
        ...(payload !== undefined && { Payload: Buffer.from(JSON.stringify(payload)) }),
        ...extra,
      }),
    );
  await create('echo');
  return {
    server,
    c,
    role,
    dir,
    create,
    invoke,
    async close() {
      if (previousDelays === undefined) delete process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS;
      else process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS = previousDelays;
      destroy(c);
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An in-process server for the control-plane tests: SDK clients with their default retries,
 * the role `fn-role`, and `create` for a trivial Node function.
 */
export interface ControlFixture {
  server: TestServer;
  lambda: LambdaClient;
  iam: IAMClient;
  role: string;
  create(
    name: string,
    extra?: Partial<CreateFunctionCommandInput>,
  ): Promise<CreateFunctionCommandOutput>;
  close(): Promise<void>;
}

export async function openControlFixture(): Promise<ControlFixture> {
  const server = await startTestServer();
  const lambda = new LambdaClient(clientConfig(server.endpoint));
  const iam = new IAMClient(clientConfig(server.endpoint));
  const role = await createRole(iam, 'fn-role');
  return {
    server,
    lambda,
    iam,
    role,
    create: (name, extra = {}) =>
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: role,
          Code: { ZipFile: handlerZip() },
          ...extra,
        }),
      ),
    async close() {
      lambda.destroy();
      iam.destroy();
      await server.stop();
    },
  };
}
