/**
 * State survives a `kill -9` of the server, and SIGTERM stops it cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IAMClient, CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutLogEventsCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { spawnServer } from './helpers/process.js';
import { clientConfig } from './helpers/server.js';

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});

test('state written before kill -9 is there after restart', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-durability-'));
  try {
    const first = await spawnServer(['--state-dir', stateDir]);
    const iam = new IAMClient(clientConfig(first.endpoint));
    const logs = new CloudWatchLogsClient(clientConfig(first.endpoint));
    await iam.send(
      new CreateRoleCommand({ RoleName: 'survivor', AssumeRolePolicyDocument: TRUST }),
    );
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/durable' }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: '/durable', logStreamName: 's' }));
    const now = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: '/durable',
        logStreamName: 's',
        logEvents: Array.from({ length: 100 }, (_, i) => ({
          timestamp: now + i,
          message: `m${i}`,
        })),
      }),
    );
    iam.destroy();
    logs.destroy();
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');

    // The lock file of the killed server is stale and is taken over.
    const second = await spawnServer(['--state-dir', stateDir]);
    const iam2 = new IAMClient(clientConfig(second.endpoint));
    const logs2 = new CloudWatchLogsClient(clientConfig(second.endpoint));
    const role = await iam2.send(new GetRoleCommand({ RoleName: 'survivor' }));
    assert.equal(role.Role?.RoleName, 'survivor');
    const events = await logs2.send(
      new GetLogEventsCommand({
        logGroupName: '/durable',
        logStreamName: 's',
        startFromHead: true,
      }),
    );
    assert.deepEqual(
      events.events?.map((e) => e.message),
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    iam2.destroy();
    logs2.destroy();
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /Stratus stopped/);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a second server on the same state dir is refused', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-lock-'));
  const first = await spawnServer(['--state-dir', stateDir]);
  try {
    await assert.rejects(spawnServer(['--state-dir', stateDir]), /exited/);
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
    rmSync(stateDir, { recursive: true, force: true });
  }
});
