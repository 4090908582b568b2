/**
 * Logs Insights' query lifecycle against a real (ephemeral) SQLite store: the concurrency
 * limit, the runtime timeout and StopQuery, with the scheduler in the test's hands so that
 * each state is reached deterministically.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../storage/index.js';
import type { MetadataStore } from '../../storage/types.js';
import type { RequestContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import { logsOperations } from './provider.js';
import { queryOperations } from './queries.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const ctx: RequestContext = {
  requestId: 'req',
  account: '111111111111',
  region: 'us-east-1',
  accessKeyId: 'test',
  principal: { arn: 'arn:aws:iam::111111111111:root', userId: '111111111111' },
};

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AwsError, `expected an AwsError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('Logs Insights queries', () => {
  let dir: string;
  let store: MetadataStore;
  let close: () => Promise<void>;
  let clock = T0;
  const jobs: (() => void)[] = [];
  const range = { startTime: T0 / 1000 - 600, endTime: T0 / 1000 + 600 };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratus-queries-'));
    const storage = await openStorage({ stateDir: dir, ephemeral: true });
    store = storage.store;
    close = storage.close;
    const logs = logsOperations({ store, now: () => clock });
    await logs.CreateLogGroup({ logGroupName: '/q' }, ctx);
    await logs.CreateLogStream({ logGroupName: '/q', logStreamName: 's' }, ctx);
    await logs.PutLogEvents(
      {
        logGroupName: '/q',
        logStreamName: 's',
        logEvents: [
          { timestamp: T0 - 1000, message: 'first' },
          { timestamp: T0, message: '{"level":"WARN","n":2}' },
        ],
      },
      ctx,
    );
  });
  after(async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the scheduled scans and waits for the query to leave Scheduled/Running. */
  async function settle(ops: ReturnType<typeof queryOperations>, id: string) {
    for (const job of jobs.splice(0)) job();
    for (let i = 0; i < 1000; i++) {
      const r = await ops.GetQueryResults({ queryId: id }, ctx);
      if (r.status !== 'Scheduled' && r.status !== 'Running') return r;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.fail('the query never finished');
  }

  test('the concurrency limit refuses a query past it', async () => {
    const ops = queryOperations(
      { store, now: () => clock },
      { timeoutMs: 60_000, maxConcurrent: 2, schedule: (job) => jobs.push(job) },
    );
    const start = () =>
      ops.StartQuery({ logGroupName: '/q', ...range, queryString: 'stats count(*)' }, ctx);
    const a = await start();
    const b = await start();
    await rejectsWith(
      start(),
      'LimitExceededException',
      /^Account maximum query concurrency limit of \[2\] reached\.$/,
    );
    const done = await settle(ops, a.queryId as string);
    assert.equal(done.status, 'Complete');
    assert.deepEqual(done.results, [[{ field: 'count(*)', value: '2' }]]);
    assert.equal((await settle(ops, b.queryId as string)).status, 'Complete');
    // Finished queries no longer count.
    const c = await start();
    assert.equal((await settle(ops, c.queryId as string)).status, 'Complete');
  });

  test('a query past its runtime limit ends in Timeout', async () => {
    const ops = queryOperations(
      { store, now: () => (clock += 1000) },
      { timeoutMs: 500, maxConcurrent: 10, schedule: (job) => jobs.push(job) },
    );
    const q = await ops.StartQuery(
      { logGroupName: '/q', ...range, queryString: 'fields @message' },
      ctx,
    );
    const r = await settle(ops, q.queryId as string);
    assert.equal(r.status, 'Timeout');
    assert.deepEqual(r.results, []);
  });

  test('StopQuery cancels a scheduled query and refuses an ended one', async () => {
    const ops = queryOperations(
      { store, now: () => clock },
      { timeoutMs: 60_000, maxConcurrent: 10, schedule: (job) => jobs.push(job) },
    );
    const q = await ops.StartQuery(
      { logGroupName: '/q', ...range, queryString: 'fields @message' },
      ctx,
    );
    const id = q.queryId as string;
    assert.deepEqual(await ops.StopQuery({ queryId: id }, ctx), { success: true });
    assert.equal((await settle(ops, id)).status, 'Cancelled');
    await rejectsWith(
      ops.StopQuery({ queryId: id }, ctx),
      'InvalidParameterException',
      /not running/,
    );
    const listed = await ops.DescribeQueries({ status: 'Cancelled' }, ctx);
    assert.deepEqual(
      listed.queries?.map((i) => [i.queryId, i.logGroupName, i.queryString]),
      [[id, '/q', 'fields @message']],
    );
    await rejectsWith(
      ops.GetQueryResults({ queryId: 'no-such-query' }, ctx),
      'ResourceNotFoundException',
    );
  });
});
