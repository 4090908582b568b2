/**
 * Durable functions end to end: functions written with AWS's own durable execution SDK
 * (@aws/durable-execution-sdk-js) run on Stratus. Their steps are checkpointed through
 * CheckpointDurableExecution, a wait suspends the execution and Lambda invokes the
 * function again when it ends (it replays), a callback is completed with
 * SendDurableExecutionCallbackSuccess, and the history, the execution and its listing are
 * read through @aws-sdk/client-lambda. Executions live in SQLite: one survives a restart.
 *
 * The handlers import the SDK from this repository's node_modules by absolute path, so
 * they run on the process driver (the test server's default).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateFunctionCommand,
  GetDurableExecutionCommand,
  GetDurableExecutionHistoryCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListDurableExecutionsByFunctionCommand,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackSuccessCommand,
  StopDurableExecutionCommand,
  type Event,
} from '@aws-sdk/client-lambda';
import { awsCli } from './helpers/clients.js';
import { clients, createRole, destroy, eventually, type Clients } from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createZip } from './helpers/zip-writer.js';

const SDK = pathToFileURL(
  resolve('node_modules/@aws/durable-execution-sdk-js/dist/index.mjs'),
).toString();

/** Doubles its input in a step, waits 2 s (suspending), then waits for an approval. */
const WORKFLOW = `import { withDurableExecution } from '${SDK}';
export const handler = withDurableExecution(async (event, ctx) => {
  const doubled = await ctx.step('double', async () => event.n * 2);
  await ctx.wait('pause', { seconds: 2 });
  const approval = await ctx.waitForCallback('approval', async () => {});
  return { doubled, approval: JSON.parse(approval) };
});
`;

/** Two steps and a result, for synchronous invokes. */
const QUICK = `import { withDurableExecution } from '${SDK}';
export const handler = withDurableExecution(async (event, ctx) => {
  const a = await ctx.step('first', async () => event.x + 1);
  const b = await ctx.step('second', async () => a * 10);
  return { b };
});
`;

/** A step that fails its first attempt and is retried, then a chained invoke of `plain`. */
const RETRYING = `import { withDurableExecution } from '${SDK}';
let calls = 0;
export const handler = withDurableExecution(async (event, ctx) => {
  const v = await ctx.step('flaky', async () => {
    calls++;
    if (calls === 1) throw new Error('first attempt fails');
    return event.x;
  }, { retryStrategy: (err, attempt) => ({ shouldRetry: attempt < 5, delay: { seconds: 1 } }) });
  const chained = await ctx.invoke('call-plain', 'plain', { x: v });
  return { v, chained };
});
`;

const PLAIN = `exports.handler = async (event) => ({ y: event.x + 1 });\n`;

const zip = (code: string) => createZip([{ name: 'index.mjs', data: code }]);

async function historyOf(c: Clients, arn: string): Promise<Event[]> {
  const out = await c.lambda.send(
    new GetDurableExecutionHistoryCommand({ DurableExecutionArn: arn, IncludeExecutionData: true }),
  );
  return out.Events ?? [];
}

/** The callback id from the history's CallbackStarted event, once there. */
const callbackIdOf = (c: Clients, arn: string) =>
  eventually(
    'the callback to start',
    async () =>
      (await historyOf(c, arn)).find((e) => e.EventType === 'CallbackStarted')
        ?.CallbackStartedDetails?.CallbackId,
    60_000,
  );

const statusOf = (c: Clients, arn: string, status: string) =>
  eventually(
    `execution ${status}`,
    async () => {
      const got = await c.lambda.send(new GetDurableExecutionCommand({ DurableExecutionArn: arn }));
      return got.Status === status ? got : undefined;
    },
    60_000,
  );

describe('Lambda durable functions', () => {
  let server: TestServer;
  let c: Clients;
  let role: string;
  const scratch = mkdtempSync(join(tmpdir(), 'stratus-durable-cli-'));

  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    role = await createRole(c.iam, 'durable-role');
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'plain',
        Timeout: 30,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: createZip([{ name: 'index.js', data: PLAIN }]) },
      }),
    );
    for (const [name, code] of [
      ['workflow', WORKFLOW],
      ['quick', QUICK],
      ['retrying', RETRYING],
    ]) {
      await c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Timeout: 30, // not the 3 s default: CI load must not time a test function out
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: role,
          Code: { ZipFile: zip(code) },
          Publish: true,
          DurableConfig: { ExecutionTimeout: 600, RetentionPeriodInDays: 1 },
        }),
      );
    }
  });
  after(async () => {
    destroy(c);
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('a step, a suspending wait and a callback: the execution replays to SUCCEEDED', async () => {
    const conf = await c.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'workflow', Qualifier: '1' }),
    );
    assert.deepEqual(conf.DurableConfig, { ExecutionTimeout: 600, RetentionPeriodInDays: 1 });

    const started = await c.lambda.send(
      new InvokeCommand({
        FunctionName: 'workflow',
        Qualifier: '1',
        InvocationType: 'Event',
        DurableExecutionName: 'order-1',
        Payload: JSON.stringify({ n: 21 }),
      }),
    );
    assert.equal(started.StatusCode, 202);
    const arn = started.DurableExecutionArn as string;
    assert.match(
      arn,
      /^arn:aws:lambda:us-east-1:000000000000:function:workflow:1\/durable-execution\/order-1\/[\w-]+$/,
    );

    const callbackId = await callbackIdOf(c, arn);
    const running = await c.lambda.send(
      new GetDurableExecutionCommand({ DurableExecutionArn: arn }),
    );
    assert.equal(running.Status, 'RUNNING');
    assert.equal(running.DurableExecutionName, 'order-1');
    assert.equal(running.InputPayload, JSON.stringify({ n: 21 }));

    await c.lambda.send(
      new SendDurableExecutionCallbackSuccessCommand({
        CallbackId: callbackId,
        Result: Buffer.from(JSON.stringify({ approved: true })),
      }),
    );
    const done = await statusOf(c, arn, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(done.Result ?? ''), { doubled: 42, approval: { approved: true } });
    assert.ok(done.EndTimestamp instanceof Date);

    // The step ran once although the function ran at least twice (the wait suspends the
    // first invocation; the callback may complete within the second one, which polls for it,
    // or wake a third): the later invocations replayed it from its checkpoint.
    const events = await historyOf(c, arn);
    const types = events.map((e) => e.EventType);
    assert.equal(types[0], 'ExecutionStarted');
    assert.equal(types.at(-1), 'ExecutionSucceeded');
    const doubleStarts = events.filter((e) => e.EventType === 'StepStarted' && e.Name === 'double');
    assert.equal(doubleStarts.length, 1);
    const succeeded = events.find((e) => e.EventType === 'StepSucceeded' && e.Name === 'double');
    assert.equal(succeeded?.StepSucceededDetails?.Result?.Payload, '42');
    assert.ok(types.includes('WaitStarted') && types.includes('WaitSucceeded'));
    assert.ok(types.includes('CallbackSucceeded'));
    assert.ok(types.filter((t) => t === 'InvocationCompleted').length >= 2);

    // Without IncludeExecutionData the payloads stay out of the history.
    const bare = await c.lambda.send(
      new GetDurableExecutionHistoryCommand({ DurableExecutionArn: arn }),
    );
    const bareStep = bare.Events?.find((e) => e.EventType === 'StepSucceeded');
    assert.equal(bareStep?.StepSucceededDetails?.Result?.Payload, undefined);

    const list = await c.lambda.send(
      new ListDurableExecutionsByFunctionCommand({ FunctionName: 'workflow' }),
    );
    assert.deepEqual(
      list.DurableExecutions?.map((e) => [e.DurableExecutionName, e.Status]),
      [['order-1', 'SUCCEEDED']],
    );

    // A name is taken for good: a new execution needs a new name.
    await assert.rejects(
      c.lambda.send(
        new InvokeCommand({
          FunctionName: 'workflow',
          Qualifier: '1',
          InvocationType: 'Event',
          DurableExecutionName: 'order-1',
          Payload: JSON.stringify({ n: 1 }),
        }),
      ),
      { name: 'DurableExecutionAlreadyStartedException' },
    );
    await assert.rejects(
      c.lambda.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: callbackId,
          Result: undefined,
        }),
      ),
      { name: 'InvalidParameterValueException' },
    );
  });

  test('a synchronous invoke answers with the execution result', async () => {
    const out = await c.lambda.send(
      new InvokeCommand({
        FunctionName: 'quick',
        Qualifier: '1',
        DurableExecutionName: 'sync-1',
        Payload: JSON.stringify({ x: 4 }),
      }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.equal(out.ExecutedVersion, '1');
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), { b: 50 });
    assert.match(out.DurableExecutionArn ?? '', /\/durable-execution\/sync-1\//);
    const listed = await c.lambda.send(
      new ListDurableExecutionsByFunctionCommand({
        FunctionName: 'quick',
        Statuses: ['SUCCEEDED'],
      }),
    );
    assert.equal(listed.DurableExecutions?.length, 1);

    // The AWS CLI v2 (2.9 here, older than the durable APIs) invokes a durable function too.
    const outFile = join(scratch, 'cli-out.json');
    const cli = await awsCli(server.endpoint, [
      'lambda',
      'invoke',
      '--function-name',
      'quick:1',
      '--cli-binary-format',
      'raw-in-base64-out',
      '--payload',
      JSON.stringify({ x: 1 }),
      outFile,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).StatusCode, 200);
    assert.deepEqual(JSON.parse(readFileSync(outFile, 'utf8')), { b: 20 });
  });

  test('a failed step is retried after its delay; a chained invoke returns the other function', async () => {
    const out = await c.lambda.send(
      new InvokeCommand({
        FunctionName: 'retrying',
        Qualifier: '1',
        Payload: JSON.stringify({ x: 7 }),
      }),
    );
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), {
      v: 7,
      chained: { y: 8 },
    });
    const events = await historyOf(c, out.DurableExecutionArn as string);
    const failed = events.find((e) => e.EventType === 'StepFailed' && e.Name === 'flaky');
    assert.equal(failed?.StepFailedDetails?.RetryDetails?.CurrentAttempt, 1);
    assert.equal(failed?.StepFailedDetails?.Error?.Payload?.ErrorMessage, 'first attempt fails');
    assert.ok(events.some((e) => e.EventType === 'StepSucceeded' && e.Name === 'flaky'));
    const chained = events.find((e) => e.EventType === 'ChainedInvokeSucceeded');
    assert.deepEqual(JSON.parse(chained?.ChainedInvokeSucceededDetails?.Result?.Payload ?? ''), {
      y: 8,
    });
  });

  test('a failed callback fails the execution; StopDurableExecution stops a running one', async () => {
    const start = (name: string) =>
      c.lambda.send(
        new InvokeCommand({
          FunctionName: 'workflow',
          Qualifier: '1',
          InvocationType: 'Event',
          DurableExecutionName: name,
          Payload: JSON.stringify({ n: 1 }),
        }),
      );
    const failing = (await start('rejected')).DurableExecutionArn as string;
    const stopping = (await start('stopped')).DurableExecutionArn as string;

    await c.lambda.send(
      new SendDurableExecutionCallbackFailureCommand({
        CallbackId: await callbackIdOf(c, failing),
        Error: { ErrorType: 'Rejected', ErrorMessage: 'not approved' },
      }),
    );
    const failed = await statusOf(c, failing, 'FAILED');
    assert.match(JSON.stringify(failed.Error), /not approved/);

    await callbackIdOf(c, stopping);
    const stop = await c.lambda.send(
      new StopDurableExecutionCommand({
        DurableExecutionArn: stopping,
        Error: { ErrorType: 'Cancelled', ErrorMessage: 'by the operator' },
      }),
    );
    assert.ok(stop.StopTimestamp instanceof Date);
    const stopped = await c.lambda.send(
      new GetDurableExecutionCommand({ DurableExecutionArn: stopping }),
    );
    assert.equal(stopped.Status, 'STOPPED');
    assert.equal(stopped.Error?.ErrorMessage, 'by the operator');
    await assert.rejects(
      c.lambda.send(new StopDurableExecutionCommand({ DurableExecutionArn: stopping })),
      { name: 'InvalidParameterValueException' },
    );
    await assert.rejects(
      c.lambda.send(
        new GetDurableExecutionCommand({
          DurableExecutionArn: stopping.replace('/stopped/', '/missing/'),
        }),
      ),
      { name: 'ResourceNotFoundException' },
    );
  });
});

describe('Lambda durable executions across a restart', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-durable-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  test('an execution waiting for a callback completes after the server restarted', async () => {
    let server = await startTestServer({ ephemeral: false, stateDir });
    let c = clients(server.endpoint);
    let arn: string;
    let callbackId: string;
    try {
      const role = await createRole(c.iam, 'durable-restart-role');
      await c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'persisted',
          Timeout: 30,
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: role,
          Code: { ZipFile: zip(WORKFLOW) },
          DurableConfig: { ExecutionTimeout: 600 },
        }),
      );
      await eventually('the function to be Active', async () => {
        const got = await c.lambda.send(
          new GetFunctionConfigurationCommand({ FunctionName: 'persisted' }),
        );
        return got.State === 'Active' ? got : undefined;
      });
      const started = await c.lambda.send(
        new InvokeCommand({
          FunctionName: 'persisted',
          InvocationType: 'Event',
          Payload: JSON.stringify({ n: 5 }),
        }),
      );
      arn = started.DurableExecutionArn as string;
      callbackId = await callbackIdOf(c, arn);
    } finally {
      destroy(c);
      await server.stop();
    }

    server = await startTestServer({ ephemeral: false, stateDir });
    c = clients(server.endpoint);
    try {
      await c.lambda.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: callbackId,
          Result: Buffer.from('"yes"'),
        }),
      );
      const done = await statusOf(c, arn, 'SUCCEEDED');
      assert.deepEqual(JSON.parse(done.Result ?? ''), { doubled: 10, approval: 'yes' });
    } finally {
      destroy(c);
      await server.stop();
    }
  });
});
