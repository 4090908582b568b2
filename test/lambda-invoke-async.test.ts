/**
 * Lambda's asynchronous invocations: Event invokes and the deprecated InvokeAsync, retries,
 * OnSuccess/OnFailure destinations with AWS's records, and retries that survive a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateFunctionCommand,
  InvokeAsyncCommand,
  InvokeCommand,
  PutFunctionEventInvokeConfigCommand,
} from '@aws-sdk/client-lambda';
import {
  ACCOUNT,
  clients,
  createRole,
  destroy,
  eventually,
  logMessages,
  nodeZip,
  openInvokeFixture,
  type Clients,
  type InvokeFixture,
} from './helpers/lambda.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

describe('Lambda invoke: async events and destinations', () => {
  let fx: InvokeFixture;
  let c: Clients;
  const create = (...args: Parameters<InvokeFixture['create']>) => fx.create(...args);
  const invoke = (...args: Parameters<InvokeFixture['invoke']>) => fx.invoke(...args);

  before(async () => {
    fx = await openInvokeFixture();
    ({ c } = fx);
  });
  after(() => fx.close());

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

    // MaximumRetryAttempts 1: two attempts in all, both in the function's log (written in
    // batches after each attempt, so possibly after the destination got its record).
    const starts = await eventually('both attempts in the log', async () => {
      const found = (await logMessages(c.logs, '/aws/lambda/async-fail')).filter((m) =>
        m.startsWith(`START RequestId: ${failedId}`),
      );
      return found.length >= 2 ? found : undefined;
    });
    assert.equal(starts.length, 2);
  });
});

test('async retries and the OnFailure destination survive a server restart', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-async-'));
  // 8 s before the 2nd attempt leaves time (on a loaded machine too) to let the first
  // attempt's result be committed, then kill and restart; the 3rd follows quickly.
  const env = { STRATUS_LAMBDA_RETRY_DELAYS_MS: '8000,500' };
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;
  try {
    first = await spawnServer(['--state-dir', stateDir], env);
    const c1 = clients(first.endpoint);
    const role = await createRole(c1.iam, 'async-role');
    const base = {
      Runtime: 'nodejs20.x' as const,
      Handler: 'index.handler',
      Role: role,
      Timeout: 30, // not the 3 s default: CI load must not time a test function out
    };
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
    // The attempt's result is stored just after its REPORT line; nothing outside the server
    // shows that moment, so a margin far above it (and far below the 8 s retry delay).
    await new Promise((r) => setTimeout(r, 1500));
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
    const attempts = await eventually('the third REPORT line', async () => {
      const n = reports(await logMessages(c2.logs, '/aws/lambda/flaky'));
      return n >= 3 ? n : undefined;
    });
    assert.equal(attempts, 3);
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
