/**
 * Lambda's synchronous invoke path through SDK v3: round trips with the request id and
 * version, ClientContext, log tails and CloudWatch Logs streams, DryRun, payload limits,
 * function errors and timeouts, weighted aliases, reserved concurrency and throttles.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateAliasCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { failureDetail as failure } from './helpers/failure.js';
import {
  ACCOUNT,
  eventually,
  json,
  logMessages,
  nodeZip,
  openInvokeFixture,
  type Clients,
  type InvokeFixture,
} from './helpers/lambda.js';

describe('Lambda invoke: synchronous calls through SDK v3', () => {
  let fx: InvokeFixture;
  let c: Clients;
  const create = (...args: Parameters<InvokeFixture['create']>) => fx.create(...args);
  const invoke = (...args: Parameters<InvokeFixture['invoke']>) => fx.invoke(...args);

  before(async () => {
    fx = await openInvokeFixture();
    ({ c } = fx);
  });
  after(() => fx.close());

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
    // Function logs are written in batches after the invocation: the group appears then.
    const streams = await eventually('log streams', async () => {
      const out = await c.logs
        .send(new DescribeLogStreamsCommand({ logGroupName: group }))
        .catch((err: Error) => {
          if (err.name === 'ResourceNotFoundException') return undefined;
          throw err;
        });
      return out?.logStreams?.length ? out.logStreams : undefined;
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
    // 3 s (AWS's default), not 1: the plain calls around it must not time out under load.
    await create('sleepy', { Timeout: 3 });
    const first = json((await invoke('sleepy', {})).Payload) as { initId: string };
    const timedOut = await invoke('sleepy', { sleepMs: 120_000 });
    assert.equal(timedOut.FunctionError, 'Unhandled');
    const err = json(timedOut.Payload) as { errorType: string; errorMessage: string };
    assert.equal(err.errorType, 'Sandbox.Timedout');
    assert.equal(
      err.errorMessage,
      `RequestId: ${timedOut.$metadata.requestId} Error: Task timed out after 3.00 seconds`,
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
    // The five that run are held until the fifteen others have been refused (the handler
    // waits for the file made then): they overlap by cause, however slow the machine.
    const release = join(mkdtempSync(join(tmpdir(), 'stratus-narrow-')), 'release');
    let refused = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        invoke('narrow', { waitFor: release }).catch((err: unknown) => {
          if (++refused === 15) writeFileSync(release, '');
          throw err;
        }),
      ),
    );
    rmSync(dirname(release), { recursive: true, force: true });
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
});
