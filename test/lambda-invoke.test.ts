/**
 * Lambda's invoke path through the real clients (SDK v3, the AWS CLI, boto3, fetch):
 * functions that really run on Node, Python and a shell `provided` runtime; log tails;
 * weighted aliases; timeouts and errors; reserved concurrency and throttles; payload
 * limits; SDK calls from inside a function; function URLs; CloudWatch Logs streams;
 * InvokeWithResponseStream; async events with retries, destinations and a server restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  InvokeAsyncCommand,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  LambdaClient,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
  type CreateFunctionCommandInput,
  type InvokeCommandInput,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { createZip } from '../src/services/lambda/zip-writer.js';
import { AWS_CLI, awsCli, python } from './helpers/clients.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/sign.js';
import { failureDetail as failure } from './helpers/failure.js';

const ACCOUNT = '000000000000';
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});

/** A Node handler that echoes its event and says which environment ran it. */
const NODE_ECHO = `
const initId = require('node:crypto').randomUUID();
exports.handler = async (event, context) => {
  if (event.throw) throw new TypeError(event.throw);
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
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

const PYTHON_ECHO = `
import json

def handler(event, context):
    print("py-echo", json.dumps(event))
    return {"event": event, "runtime": "python", "requestId": context.aws_request_id}
`;

/** The classic custom runtime: a shell bootstrap speaking the Runtime API with curl. */
const SHELL_BOOTSTRAP = `#!/bin/sh
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

const nodeZip = (code: string) => createZip([{ name: 'index.js', data: code }]);

const json = (b: Uint8Array | undefined): unknown =>
  b === undefined ? undefined : JSON.parse(Buffer.from(b).toString('utf8'));

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every message of a function's log group (all streams), oldest first. */
async function logMessages(logs: CloudWatchLogsClient, group: string): Promise<string[]> {
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

interface Clients {
  lambda: LambdaClient;
  iam: IAMClient;
  logs: CloudWatchLogsClient;
}

function clients(endpoint: string): Clients {
  return {
    // One attempt: the SDK would otherwise retry throttles and hide them.
    lambda: new LambdaClient({ ...clientConfig(endpoint), maxAttempts: 1 }),
    iam: new IAMClient(clientConfig(endpoint)),
    logs: new CloudWatchLogsClient(clientConfig(endpoint)),
  };
}

function destroy(c: Clients): void {
  c.lambda.destroy();
  c.iam.destroy();
  c.logs.destroy();
}

async function createRole(iam: IAMClient, name: string): Promise<string> {
  const out = await iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }),
  );
  return out.Role?.Arn as string;
}

describe('Lambda invoke', () => {
  let server: TestServer;
  let c: Clients;
  let role: string;
  let dir: string;
  const previousDelays = process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS;

  const create = (name: string, extra: Partial<CreateFunctionCommandInput> = {}) =>
    c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: nodeZip(NODE_ECHO) },
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

  before(async () => {
    process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS = '100,200';
    server = await startTestServer();
    c = clients(server.endpoint);
    role = await createRole(c.iam, 'invoke-role');
    dir = await mkdtemp(join(tmpdir(), 'stratus-invoke-'));
    await create('echo');
  });

  after(async () => {
    if (previousDelays === undefined) delete process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS;
    else process.env.STRATUS_LAMBDA_RETRY_DELAYS_MS = previousDelays;
    destroy(c);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a Node function round-trips through the SDK, with the request id and version', async () => {
    const out = await invoke('echo', { hello: 'world' });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    assert.equal(out.FunctionError, undefined);
    const body = json(out.Payload) as Record<string, unknown>;
    assert.deepEqual(body.event, { hello: 'world' });
    assert.equal(body.requestId, out.$metadata.requestId);
    assert.equal(body.version, '$LATEST');
    // The ARN as the caller named the function: unqualified here.
    assert.match(String(body.invokedArn), /^arn:aws:lambda:us-east-1:000000000000:function:echo$/);
  });

  test('no payload hands the function {}; a non-JSON payload is refused', async () => {
    const out = await invoke('echo');
    assert.deepEqual((json(out.Payload) as { event: unknown }).event, {});
    const bad = await failure(invoke('echo', undefined, { Payload: Buffer.from('not json') }));
    assert.equal(bad.name, 'InvalidRequestContentException');
    assert.equal(bad.status, 400);
    assert.match(String(bad.message), /^Could not parse request body into json: /);
  });

  test('ClientContext is passed through to the function', async () => {
    const context = { custom: { tenant: 't-1' }, env: { locale: 'en' } };
    const out = await invoke(
      'echo',
      {},
      {
        ClientContext: Buffer.from(JSON.stringify(context)).toString('base64'),
      },
    );
    const seen = (json(out.Payload) as { clientContext: Record<string, unknown> }).clientContext;
    assert.deepEqual(seen.custom, { tenant: 't-1' });
  });

  test('the AWS CLI creates, waits for and invokes a Node, a Python and a `provided` function', async () => {
    const v2 = (await awsCli(server.endpoint, ['--version'])).stdout.includes('aws-cli/2');
    const cases = [
      {
        name: 'cli-node',
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        zip: nodeZip(NODE_ECHO),
        check: (b: Record<string, unknown>) => assert.equal(b.version, '$LATEST'),
      },
      {
        name: 'cli-python',
        runtime: 'python3.12',
        handler: 'app.handler',
        zip: createZip([{ name: 'app.py', data: PYTHON_ECHO }]),
        check: (b: Record<string, unknown>) => assert.equal(b.runtime, 'python'),
      },
      {
        name: 'cli-shell',
        runtime: 'provided.al2023',
        handler: 'function.handler',
        zip: createZip([{ name: 'bootstrap', data: SHELL_BOOTSTRAP, mode: 0o755 }]),
        check: (b: Record<string, unknown>) => {
          assert.equal(b.shell, true);
          assert.equal(b.handler, 'function.handler');
        },
      },
    ];
    for (const { name, runtime, handler, zip, check } of cases) {
      const zipFile = join(dir, `${name}.zip`);
      await writeFile(zipFile, zip);
      const created = await awsCli(server.endpoint, [
        'lambda',
        'create-function',
        '--function-name',
        name,
        '--runtime',
        runtime,
        '--handler',
        handler,
        '--role',
        role,
        '--zip-file',
        `fileb://${zipFile}`,
      ]);
      assert.equal(created.code, 0, `${AWS_CLI}: ${created.stderr}`);
      const waited = await awsCli(server.endpoint, [
        'lambda',
        'wait',
        'function-active-v2',
        '--function-name',
        name,
      ]);
      assert.equal(waited.code, 0, `${AWS_CLI}: ${waited.stderr}`);
      const file = join(dir, `${name}.json`);
      const r = await awsCli(server.endpoint, [
        'lambda',
        'invoke',
        '--function-name',
        name,
        '--payload',
        '{"via":"cli"}',
        ...(v2 ? ['--cli-binary-format', 'raw-in-base64-out'] : []),
        file,
      ]);
      assert.equal(r.code, 0, `${AWS_CLI}: ${r.stderr}`);
      const meta = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(meta.StatusCode, 200);
      assert.equal(meta.ExecutedVersion, '$LATEST');
      const body = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      assert.deepEqual(body.event, { via: 'cli' });
      check(body);
    }
  });

  test('boto3 invokes with LogType Tail', async () => {
    // cli-python is the Python function the AWS CLI test above created.
    const r = await python(
      server.endpoint,
      `
import base64, json, os, boto3
client = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"])
out = client.invoke(FunctionName="cli-python", Payload=b'{"via":"boto3"}', LogType="Tail")
print(json.dumps({
  "status": out["StatusCode"],
  "payload": json.loads(out["Payload"].read()),
  "log": base64.b64decode(out["LogResult"]).decode(),
}))
`,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      status: number;
      payload: { event: unknown };
      log: string;
    };
    assert.equal(out.status, 200);
    assert.deepEqual(out.payload.event, { via: 'boto3' });
    assert.match(out.log, /py-echo \{"via": "boto3"\}/);
  });

  test('LogType Tail returns the START / END / REPORT lines of the invocation', async () => {
    const out = await invoke('echo', { tail: 1 }, { LogType: 'Tail' });
    const log = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
    const id = out.$metadata.requestId as string;
    assert.match(log, new RegExp(`START RequestId: ${id} Version: \\$LATEST`));
    assert.match(log, /echo \{"tail":1\}/);
    assert.match(log, new RegExp(`END RequestId: ${id}`));
    assert.match(
      log,
      new RegExp(
        `REPORT RequestId: ${id}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 128 MB\\tMax Memory Used: \\d+ MB`,
      ),
    );
    assert.ok(Buffer.byteLength(log) <= 4096);
    const plain = await invoke('echo', { tail: 0 });
    assert.equal(plain.LogResult, undefined);
  });

  test('CloudWatch Logs has /aws/lambda/<name> with AWS stream names', async () => {
    const group = '/aws/lambda/echo';
    const streams = await eventually('log streams', async () => {
      const out = await c.logs.send(new DescribeLogStreamsCommand({ logGroupName: group }));
      return out.logStreams?.length ? out.logStreams : undefined;
    });
    for (const s of streams) {
      assert.match(s.logStreamName ?? '', /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    }
    const messages = await eventually('REPORT lines', async () => {
      const m = await logMessages(c.logs, group);
      return m.some((l) => l.startsWith('REPORT RequestId:')) ? m : undefined;
    });
    assert.ok(messages.some((l) => l.startsWith('START RequestId:')));
  });

  test('DryRun answers 204 without running; unknown functions are 404', async () => {
    const out = await invoke('echo', {}, { InvocationType: 'DryRun' });
    assert.equal(out.StatusCode, 204);
    const missing = await failure(invoke('nope', {}));
    assert.equal(missing.name, 'ResourceNotFoundException');
    assert.equal(
      missing.message,
      `Function not found: arn:aws:lambda:us-east-1:${ACCOUNT}:function:nope`,
    );
  });

  test('payloads over 6 MB (sync) and 1 MB (async) are refused with 413', async () => {
    const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(6 * 1024 * 1024) }));
    const sync = await failure(invoke('echo', undefined, { Payload: big }));
    assert.equal(sync.name, 'RequestEntityTooLargeException');
    assert.equal(sync.status, 413);
    assert.equal(
      sync.message,
      'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
    );
    const mid = Buffer.from(JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }));
    const async = await failure(
      invoke('echo', undefined, { Payload: mid, InvocationType: 'Event' }),
    );
    assert.equal(async.name, 'RequestEntityTooLargeException');
    assert.equal(
      async.message,
      `${mid.length} byte payload is too large for the Event invocation type (limit 1048576 bytes)`,
    );
    // Just under the sync limit runs.
    const fits = Buffer.from(JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }));
    const ok = await invoke('echo', undefined, { Payload: fits });
    assert.equal(ok.StatusCode, 200);
  });

  test('an answer over 6 MB is a function error, as AWS reports it', async () => {
    await create('huge', {
      Code: { ZipFile: nodeZip("exports.handler = async () => 'x'.repeat(7 * 1024 * 1024);") },
    });
    const out = await invoke('huge', {});
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
    const err = json(out.Payload) as { errorType: string; errorMessage: string };
    assert.equal(err.errorType, 'Function.ResponseSizeTooLarge');
    assert.match(
      err.errorMessage,
      /^Response payload size \(\d+ bytes\) exceeded maximum allowed payload size \(\d+ bytes\)\.$/,
    );
  });

  test('a thrown error is Unhandled with the error JSON', async () => {
    const out = await invoke('echo', { throw: 'boom' });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
    const err = json(out.Payload) as { errorType: string; errorMessage: string; trace: string[] };
    assert.equal(err.errorType, 'TypeError');
    assert.equal(err.errorMessage, 'boom');
    assert.ok(Array.isArray(err.trace));
  });

  test('a timeout returns AWS error and the next call gets a fresh environment', async () => {
    await create('sleepy', { Timeout: 1 });
    const first = json((await invoke('sleepy', {})).Payload) as { initId: string };
    const timedOut = await invoke('sleepy', { sleepMs: 3000 });
    assert.equal(timedOut.FunctionError, 'Unhandled');
    const err = json(timedOut.Payload) as { errorType: string; errorMessage: string };
    assert.equal(err.errorType, 'Sandbox.Timedout');
    assert.equal(
      err.errorMessage,
      `RequestId: ${timedOut.$metadata.requestId} Error: Task timed out after 1.00 seconds`,
    );
    const next = json((await invoke('sleepy', {})).Payload) as { initId: string };
    assert.notEqual(next.initId, first.initId);
  });

  test('a 50/50 alias spreads invocations over its two versions', async () => {
    const versioned = (v: number) =>
      nodeZip(`exports.handler = async (e, ctx) => ({ v: ${v}, version: ctx.functionVersion });`);
    await create('weighted', { Code: { ZipFile: versioned(1) } });
    const v1 = await c.lambda.send(new PublishVersionCommand({ FunctionName: 'weighted' }));
    await c.lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'weighted',
        ZipFile: versioned(2),
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: c.lambda, maxWaitTime: 30 },
      { FunctionName: 'weighted' },
    );
    const v2 = await c.lambda.send(new PublishVersionCommand({ FunctionName: 'weighted' }));
    await c.lambda.send(
      new CreateAliasCommand({
        FunctionName: 'weighted',
        Name: 'live',
        FunctionVersion: v1.Version,
        RoutingConfig: { AdditionalVersionWeights: { [v2.Version as string]: 0.5 } },
      }),
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const out = await invoke('weighted', {}, { Qualifier: 'live' });
      const body = json(out.Payload) as { v: number; version: string };
      assert.equal(String(body.v), body.version);
      assert.equal(out.ExecutedVersion, body.version);
      counts.set(body.version, (counts.get(body.version) ?? 0) + 1);
    }
    const one = counts.get('1') ?? 0;
    const two = counts.get('2') ?? 0;
    assert.equal(one + two, 100);
    assert.ok(one >= 25 && one <= 75, `version 1 ran ${one} times`);
    assert.ok(two >= 25 && two <= 75, `version 2 ran ${two} times`);
  });

  test('reserved concurrency 5: of 20 concurrent calls 5 run, 15 are throttled', async () => {
    await create('narrow');
    await c.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: 'narrow',
        ReservedConcurrentExecutions: 5,
      }),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => invoke('narrow', { sleepMs: 1500 })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const throttled = results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason as Record<string, unknown>] : [],
    );
    assert.equal(ok.length, 5);
    assert.equal(throttled.length, 15);
    for (const t of throttled) {
      assert.equal(t.name, 'TooManyRequestsException');
      assert.equal(t.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
      assert.equal(t.message, 'Rate Exceeded.');
    }
    // Distinct environments ran the five, at the same time.
    const inits = new Set(
      ok.map(
        (r) =>
          (
            json((r as PromiseFulfilledResult<InvokeCommandOutput>).value.Payload) as {
              initId: string;
            }
          ).initId,
      ),
    );
    assert.equal(inits.size, 5);
    // Once they are done, calls run again.
    assert.equal((await invoke('narrow', {})).StatusCode, 200);
  });

  test('reserved concurrency 0 throttles every call', async () => {
    await create('closed');
    await c.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: 'closed',
        ReservedConcurrentExecutions: 0,
      }),
    );
    for (let i = 0; i < 3; i++) {
      const err = await failure(invoke('closed', {}));
      assert.equal(err.name, 'TooManyRequestsException');
      assert.equal(err.status, 429);
      assert.equal(err.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
    }
  });

  test('handlers reach Stratus with the SDK and no endpoint configuration', async () => {
    await create('who-node', {
      Timeout: 30,
      Code: {
        ZipFile: nodeZip(`
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
exports.handler = async () => {
  const r = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return { Account: r.Account, Arn: r.Arn };
};`),
      },
    });
    await create('who-python', {
      Timeout: 30,
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Code: {
        ZipFile: createZip([
          {
            name: 'app.py',
            data: `
import boto3

def handler(event, context):
    r = boto3.client("sts").get_caller_identity()
    return {"Account": r["Account"], "Arn": r["Arn"]}
`,
          },
        ]),
      },
    });
    for (const name of ['who-node', 'who-python']) {
      const out = await invoke(name, {});
      assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
      assert.deepEqual(json(out.Payload), {
        Account: ACCOUNT,
        Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/invoke-role/${name}`,
      });
    }
  });

  test('a function URL serves GET and POST with the 2.0 event and mapped responses', async () => {
    await create('web', {
      Code: {
        ZipFile: nodeZip(`
exports.handler = async (event) => {
  if (event.rawPath === '/inferred') return { inferred: true, method: event.requestContext.http.method };
  return {
    statusCode: 201,
    headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
    cookies: ['a=1; Path=/', 'b=2'],
    body: JSON.stringify(event),
  };
};`),
      },
    });
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'web',
        AuthType: 'NONE',
        Cors: { AllowOrigins: ['https://app.example'], AllowMethods: ['GET', 'POST'], MaxAge: 60 },
      }),
    );
    const base = url.FunctionUrl as string;
    assert.match(base, /\/_stratus\/lambda-url\/[a-z0-9]{32}\/$/);
    const urlId = /lambda-url\/([a-z0-9]{32})\//.exec(base)?.[1];

    const get = await fetch(`${base}some/path?x=1&x=2&y=3`, {
      headers: { cookie: 'c1=v1; c2=v2', 'x-multi': 'one', origin: 'https://app.example' },
    });
    assert.equal(get.status, 201);
    assert.equal(get.headers.get('x-custom'), 'yes');
    assert.deepEqual(get.headers.getSetCookie(), ['a=1; Path=/', 'b=2']);
    assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.example');
    const ev = (await get.json()) as Record<string, unknown> & {
      requestContext: Record<string, unknown> & { http: Record<string, unknown> };
      headers: Record<string, string>;
    };
    assert.equal(ev.version, '2.0');
    assert.equal(ev.routeKey, '$default');
    assert.equal(ev.rawPath, '/some/path');
    assert.equal(ev.rawQueryString, 'x=1&x=2&y=3');
    assert.deepEqual(ev.queryStringParameters, { x: '1,2', y: '3' });
    assert.deepEqual(ev.cookies, ['c1=v1', 'c2=v2']);
    assert.equal(ev.headers['x-multi'], 'one');
    assert.equal(ev.headers.cookie, undefined);
    assert.equal(ev.isBase64Encoded, false);
    assert.equal(ev.body, undefined);
    assert.equal(ev.requestContext.apiId, urlId);
    assert.equal(ev.requestContext.domainPrefix, urlId);
    assert.equal(ev.requestContext.accountId, ACCOUNT);
    assert.equal(ev.requestContext.stage, '$default');
    assert.equal(ev.requestContext.http.method, 'GET');
    assert.equal(ev.requestContext.http.path, '/some/path');
    assert.equal(ev.requestContext.http.sourceIp, '127.0.0.1');
    assert.match(
      String(ev.requestContext.time),
      /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/,
    );
    assert.equal(typeof ev.requestContext.timeEpoch, 'number');

    const post = await fetch(`${base}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"posted":true}',
    });
    const pe = (await post.json()) as { body: string; isBase64Encoded: boolean; rawPath: string };
    assert.equal(pe.rawPath, '/');
    assert.equal(pe.body, '{"posted":true}');
    assert.equal(pe.isBase64Encoded, false);

    const binary = await fetch(`${base}bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]),
    });
    const be = (await binary.json()) as { body: string; isBase64Encoded: boolean };
    assert.equal(be.isBase64Encoded, true);
    assert.deepEqual([...Buffer.from(be.body, 'base64')], [0, 1, 2, 255]);

    // No statusCode: AWS infers 200, application/json, the answer as the body.
    const inferred = await fetch(`${base}inferred`);
    assert.equal(inferred.status, 200);
    assert.equal(inferred.headers.get('content-type'), 'application/json');
    assert.deepEqual(await inferred.json(), { inferred: true, method: 'GET' });

    // Preflight answered from the URL's CORS configuration.
    const pre = await fetch(`${base}x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET,POST');
    assert.equal(pre.headers.get('access-control-max-age'), '60');

    const unknown = await fetch(`${server.endpoint}/_stratus/lambda-url/${'z'.repeat(32)}/`);
    assert.equal(unknown.status, 403);
  });

  test('an AWS_IAM function URL needs a SigV4 signature; function errors are 502', async () => {
    await create('private-web');
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'private-web', AuthType: 'AWS_IAM' }),
    );
    const path = new URL(url.FunctionUrl as string).pathname;
    const unsigned = await fetch(`${url.FunctionUrl}`);
    assert.equal(unsigned.status, 403);
    assert.deepEqual(await unsigned.json(), { Message: 'Forbidden' });

    const signed = await signedFetch(server.endpoint, {
      service: 'lambda',
      method: 'POST',
      path: `${path}call`,
      headers: { 'content-type': 'application/json' },
      body: '{"signed":true}',
    });
    assert.equal(signed.status, 200, signed.text);
    const ev = (JSON.parse(signed.text) as { event: Record<string, unknown> }).event as {
      body: string;
      requestContext: { authorizer: { iam: Record<string, unknown> } };
    };
    assert.equal(ev.body, '{"signed":true}');
    assert.equal(ev.requestContext.authorizer.iam.accessKey, 'test');
    assert.equal(ev.requestContext.authorizer.iam.accountId, ACCOUNT);

    // A handler that throws: the URL answers 502.
    await create('broken-web', {
      Code: { ZipFile: nodeZip('exports.handler = async () => { throw new Error("nope"); };') },
    });
    const broken = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'broken-web', AuthType: 'NONE' }),
    );
    const res = await fetch(`${broken.FunctionUrl}`);
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), { Message: 'Internal Server Error' });
  });

  test('InvokeWithResponseStream streams the answer of a buffered handler', async () => {
    const out = await c.lambda.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: 'echo',
        Payload: Buffer.from('{"streamed":true}'),
        LogType: 'Tail',
      }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    const chunks: Buffer[] = [];
    let complete: Record<string, unknown> | undefined;
    for await (const ev of out.EventStream ?? []) {
      if (ev.PayloadChunk?.Payload) chunks.push(Buffer.from(ev.PayloadChunk.Payload));
      if (ev.InvokeComplete) complete = { ...ev.InvokeComplete };
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: unknown };
    assert.deepEqual(body.event, { streamed: true });
    assert.ok(complete);
    assert.equal(complete.ErrorCode, undefined);
    assert.match(
      Buffer.from(String(complete.LogResult), 'base64').toString(),
      /REPORT RequestId: /,
    );

    const failed = await c.lambda.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: 'echo',
        Payload: Buffer.from('{"throw":"streamed boom"}'),
      }),
    );
    let end: Record<string, unknown> | undefined;
    for await (const ev of failed.EventStream ?? [])
      if (ev.InvokeComplete) end = { ...ev.InvokeComplete };
    assert.equal(end?.ErrorCode, 'TypeError');
    assert.equal(end?.ErrorDetails, 'streamed boom');
  });

  test('a streaming handler reaches the caller while it still runs', async () => {
    await create('live-stream', {
      Code: {
        ZipFile: nodeZip(`
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.requestContext && event.requestContext.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201,
      headers: { 'content-type': 'text/plain', 'x-live': 'yes' },
    });
  }
  responseStream.write('a');
  await new Promise((r) => setTimeout(r, 300));
  if (event.fail) throw new RangeError('cut short');
  responseStream.write('b');
  responseStream.end();
});`),
      },
    });

    // InvokeWithResponseStream: one PayloadChunk per write, the first long before the end.
    const out = await c.lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: 'live-stream', Payload: '{}' }),
    );
    const chunks: { text: string; at: number }[] = [];
    let completeAt = 0;
    let complete: Record<string, unknown> | undefined;
    for await (const ev of out.EventStream ?? []) {
      if (ev.PayloadChunk?.Payload) {
        chunks.push({
          text: Buffer.from(ev.PayloadChunk.Payload).toString(),
          at: performance.now(),
        });
      }
      if (ev.InvokeComplete) {
        complete = { ...ev.InvokeComplete };
        completeAt = performance.now();
      }
    }
    assert.equal(chunks.map((ch) => ch.text).join(''), 'ab');
    assert.ok(
      chunks[chunks.length - 1].at - chunks[0].at >= 250,
      `chunks at ${chunks.map((ch) => ch.at.toFixed(0)).join(', ')}`,
    );
    assert.ok(completeAt >= chunks[chunks.length - 1].at);
    assert.equal(complete?.ErrorCode, undefined);

    // A failure after the first chunk: the chunk came, the error is in InvokeComplete.
    const failed = await c.lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: 'live-stream', Payload: '{"fail":1}' }),
    );
    const partial: string[] = [];
    let end: Record<string, unknown> | undefined;
    for await (const ev of failed.EventStream ?? []) {
      if (ev.PayloadChunk?.Payload) partial.push(Buffer.from(ev.PayloadChunk.Payload).toString());
      if (ev.InvokeComplete) end = { ...ev.InvokeComplete };
    }
    assert.deepEqual(partial, ['a']);
    assert.equal(end?.ErrorCode, 'RangeError');
    assert.equal(end?.ErrorDetails, 'cut short');

    // A RESPONSE_STREAM function URL: the prelude's status and headers, then the body as
    // it is written.
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'live-stream',
        AuthType: 'NONE',
        InvokeMode: 'RESPONSE_STREAM',
      }),
    );
    const started = performance.now();
    const res = await fetch(`${url.FunctionUrl}live`);
    const headersAt = performance.now();
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-live'), 'yes');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.ok(res.body);
    const reads: { text: string; at: number }[] = [];
    const decoder = new TextDecoder();
    for await (const part of res.body) {
      reads.push({ text: decoder.decode(part, { stream: true }), at: performance.now() });
    }
    assert.equal(reads.map((r) => r.text).join(''), 'ab');
    const last = reads[reads.length - 1].at;
    assert.ok(
      last - reads[0].at >= 250 && last - headersAt >= 250,
      `request at ${started.toFixed(0)}, headers at ${headersAt.toFixed(0)}, reads at ${reads.map((r) => r.at.toFixed(0)).join(', ')}`,
    );
  });

  test('async success and failure reach their destinations with AWS records', async () => {
    await create('dest', {
      Code: {
        ZipFile: nodeZip(
          "exports.handler = async (e) => { console.log('DEST ' + JSON.stringify(e)); return 'ok'; };",
        ),
      },
    });
    const destArn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:dest`;
    await create('async-ok');
    await c.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'async-ok',
        DestinationConfig: { OnSuccess: { Destination: destArn } },
      }),
    );
    const accepted = await invoke('async-ok', { n: 1 }, { InvocationType: 'Event' });
    assert.equal(accepted.StatusCode, 202);
    assert.equal(accepted.Payload?.length ?? 0, 0);

    await create('async-fail', {
      Code: { ZipFile: nodeZip('exports.handler = async () => { throw new Error("always"); };') },
    });
    await c.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'async-fail',
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: destArn } },
      }),
    );
    const failedId = (await invoke('async-fail', { n: 2 }, { InvocationType: 'Event' })).$metadata
      .requestId;
    // The deprecated InvokeAsync queues an event too.
    const legacy = await c.lambda.send(
      new InvokeAsyncCommand({ FunctionName: 'async-ok', InvokeArgs: '{"n":3}' }),
    );
    assert.equal(legacy.Status, 202);

    const records = await eventually('three destination records', async () => {
      const found = (await logMessages(c.logs, '/aws/lambda/dest'))
        .filter((m) => m.includes('DEST '))
        .map((m) => JSON.parse(m.slice(m.indexOf('DEST ') + 5)) as Record<string, unknown>);
      return found.length >= 3 ? found : undefined;
    });
    assert.deepEqual(
      records
        .filter((r) => (r.requestContext as { condition: string }).condition === 'Success')
        .map((r) => (r.requestPayload as { n: number }).n)
        .sort(),
      [1, 3],
    );
    const byCondition = new Map(
      records
        .filter((r) => (r.requestPayload as { n: number }).n !== 3)
        .map((r) => [(r.requestContext as { condition: string }).condition, r]),
    );
    const success = byCondition.get('Success') as Record<string, Record<string, unknown>>;
    assert.equal(success.version as unknown, '1.0');
    assert.equal(success.requestContext.approximateInvokeCount, 1);
    assert.equal(
      success.requestContext.functionArn,
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:async-ok:$LATEST`,
    );
    assert.deepEqual(success.requestPayload, { n: 1 });
    assert.deepEqual(success.responseContext, { statusCode: 200, executedVersion: '$LATEST' });
    assert.equal((success.responsePayload as { event: unknown }).event !== undefined, true);

    const failed = byCondition.get('RetriesExhausted') as Record<string, Record<string, unknown>>;
    assert.equal(failed.requestContext.requestId, failedId);
    assert.equal(failed.requestContext.approximateInvokeCount, 2);
    assert.deepEqual(failed.requestPayload, { n: 2 });
    assert.deepEqual(failed.responseContext, {
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    assert.equal((failed.responsePayload as { errorMessage: string }).errorMessage, 'always');

    // MaximumRetryAttempts 1: two attempts in all, both in the function's log.
    const starts = (await logMessages(c.logs, '/aws/lambda/async-fail')).filter((m) =>
      m.startsWith(`START RequestId: ${failedId}`),
    );
    assert.equal(starts.length, 2);
  });
});

describe('Lambda invoke in strict mode', () => {
  let server: TestServer;
  let c: Clients;

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    c = clients(server.endpoint);
  });
  after(async () => {
    destroy(c);
    await server.stop();
  });

  test('the function session authenticates; AWS_IAM URLs verify the signature', async () => {
    const role = await createRole(c.iam, 'strict-role');
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'who',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Timeout: 30,
        Code: {
          ZipFile: nodeZip(`
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
exports.handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn;`),
        },
      }),
    );
    const out = await c.lambda.send(new InvokeCommand({ FunctionName: 'who' }));
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.equal(json(out.Payload), `arn:aws:sts::${ACCOUNT}:assumed-role/strict-role/who`);

    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'who', AuthType: 'AWS_IAM' }),
    );
    const path = new URL(url.FunctionUrl as string).pathname;
    const good = await signedFetch(server.endpoint, { service: 'lambda', method: 'GET', path });
    assert.equal(good.status, 200, good.text);
    const forged = await signedFetch(server.endpoint, {
      service: 'lambda',
      method: 'GET',
      path,
      secretAccessKey: 'wrong',
    });
    assert.equal(forged.status, 403);
  });
});

test('async retries and the OnFailure destination survive a server restart', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-async-'));
  // 3 s before the 2nd attempt leaves time to kill and restart; the 3rd follows quickly.
  const env = { STRATUS_LAMBDA_RETRY_DELAYS_MS: '3000,500' };
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;
  try {
    first = await spawnServer(['--state-dir', stateDir], env);
    const c1 = clients(first.endpoint);
    const role = await createRole(c1.iam, 'async-role');
    const base = { Runtime: 'nodejs20.x' as const, Handler: 'index.handler', Role: role };
    await c1.lambda.send(
      new CreateFunctionCommand({
        ...base,
        FunctionName: 'on-failure',
        Code: {
          ZipFile: nodeZip(
            "exports.handler = async (e) => { console.log('RECORD ' + JSON.stringify(e)); };",
          ),
        },
      }),
    );
    await c1.lambda.send(
      new CreateFunctionCommand({
        ...base,
        FunctionName: 'flaky',
        Code: {
          ZipFile: nodeZip(
            'exports.handler = async (e) => { throw new Error("attempt failed for " + e.order); };',
          ),
        },
      }),
    );
    await c1.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'flaky',
        DestinationConfig: {
          OnFailure: { Destination: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:on-failure` },
        },
      }),
    );
    const accepted = await c1.lambda.send(
      new InvokeCommand({
        FunctionName: 'flaky',
        InvocationType: 'Event',
        Payload: Buffer.from('{"order":42}'),
      }),
    );
    assert.equal(accepted.StatusCode, 202);
    const id = accepted.$metadata.requestId as string;
    const reports = (messages: string[]) =>
      messages.filter((m) => m.startsWith(`REPORT RequestId: ${id}`)).length;

    // The first attempt ran (and its result was committed) before the kill.
    await eventually('the first attempt', async () =>
      reports(await logMessages(c1.logs, '/aws/lambda/flaky')) >= 1 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    destroy(c1);
    first.child.kill('SIGKILL');
    await first.exited;

    second = await spawnServer(['--state-dir', stateDir], env);
    const c2 = clients(second.endpoint);
    const record = await eventually(
      'the OnFailure record',
      async () => {
        const m = (await logMessages(c2.logs, '/aws/lambda/on-failure')).find((l) =>
          l.includes('RECORD '),
        );
        return m
          ? (JSON.parse(m.slice(m.indexOf('RECORD ') + 7)) as Record<string, unknown>)
          : undefined;
      },
      60_000,
    );
    const ctx = record.requestContext as Record<string, unknown>;
    assert.equal(ctx.condition, 'RetriesExhausted');
    assert.equal(ctx.requestId, id);
    assert.equal(ctx.approximateInvokeCount, 3);
    assert.deepEqual(record.requestPayload, { order: 42 });
    assert.equal(
      (record.responsePayload as { errorMessage: string }).errorMessage,
      'attempt failed for 42',
    );
    // Three attempts in all: one before the restart, two after.
    assert.equal(reports(await logMessages(c2.logs, '/aws/lambda/flaky')), 3);
    destroy(c2);
  } finally {
    for (const p of [first, second]) {
      if (p && p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
});
