/**
 * kill -9 while 1,000 events are being delivered: after a restart on the same state, every
 * event whose PutEvents call succeeded reaches its Lambda target (at least once). The
 * events are on the internal bus before PutEvents answers; the bus's cursor and Lambda's
 * async queue carry the rest across the crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { clientConfig } from './helpers/server.js';
import { clients, createRole, destroy, logMessages, nodeZip } from './helpers/lambda.js';

const EVENTS = 1000;
const ENV = {
  // Few environments, quick retries of throttled events: the delivery takes a while.
  STRATUS_LAMBDA_CONCURRENT_EXECUTIONS: '8',
  STRATUS_LAMBDA_THROTTLE_BACKOFF_MS: '50',
};

/** The ids the function logged (`ID <event id>`), with repeats. */
async function seen(endpoint: string, fn: string): Promise<string[]> {
  const c = clients(endpoint);
  try {
    return (await logMessages(c.logs, `/aws/lambda/${fn}`)).flatMap(
      (l) => /ID (\S+)/.exec(l)?.[1] ?? [],
    );
  } finally {
    destroy(c);
  }
}

test(
  'kill -9 while 1,000 events are delivered loses none that PutEvents accepted',
  { timeout: 600_000 },
  async () => {
    const state = mkdtempSync(join(tmpdir(), 'stratus-events-kill-'));
    let server: ServerProcess | undefined;
    try {
      server = await spawnServer(['--state-dir', state], ENV);
      const c = clients(server.endpoint);
      const eb = new EventBridgeClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
      const role = await createRole(c.iam, 'kill');
      await c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'sink',
          Timeout: 30, // not the 3 s default: CI load must not time a test function out
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: role,
          Code: {
            ZipFile: nodeZip("exports.handler = async (e) => { console.log('ID ' + e.id); };\n"),
          },
        }),
      );
      await waitUntilFunctionActiveV2(
        { client: c.lambda, maxWaitTime: 60 },
        { FunctionName: 'sink' },
      );
      await c.lambda.send(
        new AddPermissionCommand({
          FunctionName: 'sink',
          StatementId: 'events',
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
        }),
      );
      await eb.send(new PutRuleCommand({ Name: 'all', EventPattern: '{"source":["load"]}' }));
      await eb.send(
        new PutTargetsCommand({
          Rule: 'all',
          Targets: [{ Id: 'sink', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:sink' }],
        }),
      );
      // 100 calls of 10 by two callers, paced (about 100 events a second) so that delivery
      // keeps up without throttling storms; the server is killed once half have answered,
      // so later calls fail (not accepted) and earlier events are mid-delivery.
      const accepted: string[] = [];
      const batches = Array.from({ length: EVENTS / 10 }, (_, b) =>
        Array.from({ length: 10 }, (_, i) => ({
          Source: 'load',
          DetailType: 'n',
          Detail: JSON.stringify({ n: b * 10 + i }),
        })),
      );
      let answered = 0;
      let killed = false;
      const proc = server;
      const worker = async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          try {
            const out = await eb.send(new PutEventsCommand({ Entries: batch }));
            for (const e of out.Entries ?? []) if (e.EventId) accepted.push(e.EventId);
          } catch {
            // Refused or cut off by the kill: not accepted.
          }
          if (++answered === EVENTS / 20 && !killed) {
            killed = true;
            proc.child.kill('SIGKILL');
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      await Promise.all([worker(), worker()]);
      assert.ok(killed);
      await proc.exited;
      eb.destroy();
      destroy(c);
      assert.ok(accepted.length >= EVENTS / 2, `${accepted.length} accepted`);

      server = await spawnServer(['--state-dir', state], ENV);
      const endpoint = server.endpoint;
      const deadline = Date.now() + Number(process.env.KILL_WAIT_MS ?? 480_000);
      let missing: string[] = accepted;
      while (missing.length && Date.now() < deadline) {
        const ids = new Set(await seen(endpoint, 'sink'));
        missing = accepted.filter((id) => !ids.has(id));
        if (missing.length) await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(
        missing.slice(0, 10),
        [],
        `${missing.length} of ${accepted.length} accepted events never arrived`,
      );
    } finally {
      server?.child.kill('SIGKILL');
      await server?.exited;
      if (process.env.KEEP_STATE) process.stderr.write(`state kept in ${state}\n`);
      else rmSync(state, { recursive: true, force: true });
    }
  },
);
