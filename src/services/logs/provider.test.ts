/**
 * The logs provider against a real (ephemeral) SQLite MetadataStore, called the way the
 * gateway calls it: generated input types in, generated outputs or errors out.
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
import type { FilteredLogEvent, OutputLogEvent } from '../../api/logs/types.js';
import { logsOperations, type LogsProviderOps } from './provider.js';
import { LogsSink } from './sink.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const MIN = 60_000;
const DAY = 86_400_000;

function ctxFor(account = '111111111111', region = 'us-east-1'): RequestContext {
  return {
    requestId: 'req',
    account,
    region,
    accessKeyId: 'test',
    principal: { arn: `arn:aws:iam::${account}:root`, userId: account },
  };
}

/** Asserts that `p` rejects with the AWS error `code` (and `message` when given). */
async function rejectsWith(p: Promise<unknown>, code: string, message?: string | RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AwsError, `expected an AwsError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

describe('logs provider', () => {
  let dir: string;
  let store: MetadataStore;
  let closeStorage: () => Promise<void>;
  let clock = T0;
  let logs: LogsProviderOps;
  const ctx = ctxFor();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratus-logs-'));
    const storage = await openStorage({ stateDir: dir, ephemeral: true });
    store = storage.store;
    closeStorage = storage.close;
    logs = logsOperations({ store, now: () => clock });
  });
  after(async () => {
    await closeStorage();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh group (with optional streams) whose name is unique to the test. */
  let seq = 0;
  async function group(streams: string[] = [], c = ctx): Promise<string> {
    const name = `/test/g${++seq}`;
    await logs.CreateLogGroup({ logGroupName: name }, c);
    for (const s of streams) {
      await logs.CreateLogStream({ logGroupName: name, logStreamName: s }, c);
    }
    return name;
  }

  async function put(g: string, s: string, events: [number, string][], c = ctx) {
    return logs.PutLogEvents(
      {
        logGroupName: g,
        logStreamName: s,
        logEvents: events.map(([timestamp, message]) => ({ timestamp, message })),
      },
      c,
    );
  }

  describe('log groups', () => {
    test('create, describe with every field, reject duplicates, delete', async () => {
      clock = T0;
      await logs.CreateLogGroup(
        { logGroupName: '/life/cycle', tags: { team: 'a' }, logGroupClass: 'INFREQUENT_ACCESS' },
        ctx,
      );
      await rejectsWith(
        logs.CreateLogGroup({ logGroupName: '/life/cycle' }, ctx),
        'ResourceAlreadyExistsException',
        'The specified log group already exists',
      );
      const { logGroups } = await logs.DescribeLogGroups({ logGroupNamePrefix: '/life/' }, ctx);
      assert.deepEqual(logGroups, [
        {
          logGroupName: '/life/cycle',
          creationTime: T0,
          metricFilterCount: 0,
          arn: 'arn:aws:logs:us-east-1:111111111111:log-group:/life/cycle:*',
          logGroupArn: 'arn:aws:logs:us-east-1:111111111111:log-group:/life/cycle',
          storedBytes: 0,
          logGroupClass: 'INFREQUENT_ACCESS',
        },
      ]);
      await logs.DeleteLogGroup({ logGroupName: '/life/cycle' }, ctx);
      await rejectsWith(
        logs.DeleteLogGroup({ logGroupName: '/life/cycle' }, ctx),
        'ResourceNotFoundException',
        'The specified log group does not exist.',
      );
      const after = await logs.DescribeLogGroups({ logGroupNamePrefix: '/life/' }, ctx);
      assert.deepEqual(after.logGroups, []);
      assert.equal(after.nextToken, undefined);
    });

    test('pages by limit in name order, and the token resumes where the page ended', async () => {
      const names = ['/page/e', '/page/a', '/page/d', '/page/c', '/page/b', '/page/f', '/page/g'];
      for (const n of names) await logs.CreateLogGroup({ logGroupName: n }, ctx);
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const res = await logs.DescribeLogGroups(
          { logGroupNamePrefix: '/page/', limit: 3, nextToken: token },
          ctx,
        );
        pages++;
        assert.ok((res.logGroups ?? []).length <= 3);
        seen.push(...(res.logGroups ?? []).map((g) => g.logGroupName as string));
        token = res.nextToken;
      } while (token);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...names].sort());
      await rejectsWith(
        logs.DescribeLogGroups({ nextToken: 'garbage!' }, ctx),
        'InvalidParameterException',
        'The specified nextToken is invalid.',
      );
    });

    test('logGroupNamePattern is a case-sensitive substring and trims the fields', async () => {
      for (const n of ['DataLogs', 'aws-x/DataLogs', 'GroupDataLogs', 'datalogs', 'Data/log/s']) {
        await logs.CreateLogGroup({ logGroupName: n }, ctx);
      }
      const res = await logs.DescribeLogGroups({ logGroupNamePattern: 'DataLogs', limit: 2 }, ctx);
      assert.deepEqual(
        res.logGroups?.map((g) => Object.keys(g).sort()),
        [
          ['arn', 'creationTime', 'logGroupName'],
          ['arn', 'creationTime', 'logGroupName'],
        ],
      );
      const rest = await logs.DescribeLogGroups(
        { logGroupNamePattern: 'DataLogs', nextToken: res.nextToken },
        ctx,
      );
      assert.deepEqual(
        [...(res.logGroups ?? []), ...(rest.logGroups ?? [])].map((g) => g.logGroupName),
        ['DataLogs', 'GroupDataLogs', 'aws-x/DataLogs'],
      );
      await rejectsWith(
        logs.DescribeLogGroups({ logGroupNamePattern: 'a', logGroupNamePrefix: 'b' }, ctx),
        'InvalidParameterException',
      );
    });

    test('groups are scoped by account and region', async () => {
      const other = ctxFor('222222222222');
      const west = ctxFor('111111111111', 'eu-west-1');
      await logs.CreateLogGroup({ logGroupName: '/scoped' }, ctx);
      await logs.CreateLogGroup({ logGroupName: '/scoped' }, other);
      for (const c of [other, west]) {
        const res = await logs.DescribeLogGroups({ logGroupNamePrefix: '/scoped' }, c);
        assert.equal(res.logGroups?.length, c === west ? 0 : 1);
      }
      await logs.DeleteLogGroup({ logGroupName: '/scoped' }, other);
      const mine = await logs.DescribeLogGroups({ logGroupNamePrefix: '/scoped' }, ctx);
      assert.equal(
        mine.logGroups?.[0].arn,
        'arn:aws:logs:us-east-1:111111111111:log-group:/scoped:*',
      );
    });

    test('retention accepts only the documented values and can be removed', async () => {
      const g = await group();
      await logs.PutRetentionPolicy({ logGroupName: g, retentionInDays: 14 }, ctx);
      const described = async () =>
        (await logs.DescribeLogGroups({ logGroupNamePrefix: g }, ctx)).logGroups?.[0];
      assert.equal((await described())?.retentionInDays, 14);
      for (const bad of [0, 2, 4, 366, 10_000]) {
        await rejectsWith(
          logs.PutRetentionPolicy({ logGroupName: g, retentionInDays: bad }, ctx),
          'InvalidParameterException',
          new RegExp(`Value '${bad}' at 'retentionInDays'.*enum value set: \\[1, 3, 5, 7, 14,`),
        );
      }
      await logs.DeleteRetentionPolicy({ logGroupName: g }, ctx);
      assert.equal((await described())?.retentionInDays, undefined);
      await rejectsWith(
        logs.PutRetentionPolicy({ logGroupName: '/nope', retentionInDays: 1 }, ctx),
        'ResourceNotFoundException',
        'The specified log group does not exist.',
      );
    });

    test('tags by ARN and by the legacy log group operations', async () => {
      const g = await group();
      const arn = `arn:aws:logs:us-east-1:111111111111:log-group:${g}`;
      await logs.TagResource({ resourceArn: arn, tags: { a: '1', b: '2' } }, ctx);
      await logs.TagLogGroup({ logGroupName: g, tags: { c: '3', a: 'one' } }, ctx);
      assert.deepEqual((await logs.ListTagsForResource({ resourceArn: arn }, ctx)).tags, {
        a: 'one',
        b: '2',
        c: '3',
      });
      await logs.UntagResource({ resourceArn: arn, tagKeys: ['a'] }, ctx);
      await logs.UntagLogGroup({ logGroupName: g, tags: ['b'] }, ctx);
      assert.deepEqual((await logs.ListTagsLogGroup({ logGroupName: g }, ctx)).tags, { c: '3' });
      const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
      await rejectsWith(
        logs.TagResource({ resourceArn: arn, tags: many }, ctx),
        'TooManyTagsException',
      );
      await rejectsWith(
        logs.ListTagsForResource({ resourceArn: `${arn}-missing` }, ctx),
        'ResourceNotFoundException',
      );
      await rejectsWith(
        logs.TagResource({ resourceArn: 'not-an-arn', tags: { a: 'b' } }, ctx),
        'InvalidParameterException',
      );
    });
  });

  describe('log streams', () => {
    test('create, reject duplicates and missing groups, delete', async () => {
      const g = await group(['s1']);
      await rejectsWith(
        logs.CreateLogStream({ logGroupName: g, logStreamName: 's1' }, ctx),
        'ResourceAlreadyExistsException',
        'The specified log stream already exists',
      );
      await rejectsWith(
        logs.CreateLogStream({ logGroupName: '/missing', logStreamName: 's1' }, ctx),
        'ResourceNotFoundException',
        'The specified log group does not exist.',
      );
      await logs.DeleteLogStream({ logGroupName: g, logStreamName: 's1' }, ctx);
      await rejectsWith(
        logs.DeleteLogStream({ logGroupName: g, logStreamName: 's1' }, ctx),
        'ResourceNotFoundException',
        'The specified log stream does not exist.',
      );
    });

    test('describe orders by name (either way), filters by prefix and pages', async () => {
      const names = ['b/2', 'a/1', 'b/1', 'c', 'a/2'];
      const g = await group(names);
      const list = async (extra: object) =>
        (await logs.DescribeLogStreams({ logGroupName: g, ...extra }, ctx)).logStreams?.map(
          (s) => s.logStreamName,
        );
      assert.deepEqual(await list({}), ['a/1', 'a/2', 'b/1', 'b/2', 'c']);
      assert.deepEqual(await list({ descending: true }), ['c', 'b/2', 'b/1', 'a/2', 'a/1']);
      assert.deepEqual(await list({ logStreamNamePrefix: 'b/' }), ['b/1', 'b/2']);
      for (const descending of [false, true]) {
        const seen: string[] = [];
        let nextToken: string | undefined;
        do {
          const res = await logs.DescribeLogStreams(
            { logGroupName: g, limit: 2, descending, nextToken },
            ctx,
          );
          seen.push(...(res.logStreams ?? []).map((s) => s.logStreamName as string));
          nextToken = res.nextToken;
        } while (nextToken);
        const sorted = [...names].sort();
        assert.deepEqual(seen, descending ? sorted.reverse() : sorted);
      }
    });

    test('LastEventTime ordering, its prefix restriction and event fields', async () => {
      clock = T0;
      const g = await group(['old', 'new', 'empty', 'mid']);
      await put(g, 'new', [[T0 - 1 * MIN, 'n']]);
      await put(g, 'old', [
        [T0 - 30 * MIN, 'o1'],
        [T0 - 20 * MIN, 'o2'],
      ]);
      await put(g, 'mid', [[T0 - 10 * MIN, 'm']]);
      const res = await logs.DescribeLogStreams(
        { logGroupIdentifier: g, orderBy: 'LastEventTime', descending: true, limit: 2 },
        ctx,
      );
      const rest = await logs.DescribeLogStreams(
        {
          logGroupIdentifier: `arn:aws:logs:us-east-1:111111111111:log-group:${g}:*`,
          orderBy: 'LastEventTime',
          descending: true,
          nextToken: res.nextToken,
        },
        ctx,
      );
      assert.deepEqual(
        [...(res.logStreams ?? []), ...(rest.logStreams ?? [])].map((s) => s.logStreamName),
        ['new', 'mid', 'old', 'empty'],
      );
      const old = rest.logStreams?.find((s) => s.logStreamName === 'old');
      assert.deepEqual(old, {
        logStreamName: 'old',
        creationTime: T0,
        arn: `arn:aws:logs:us-east-1:111111111111:log-group:${g}:log-stream:old`,
        storedBytes: 0,
        firstEventTimestamp: T0 - 30 * MIN,
        lastEventTimestamp: T0 - 20 * MIN,
        lastIngestionTime: T0,
        uploadSequenceToken: '2'.padStart(56, '0'),
      });
      const empty = rest.logStreams?.find((s) => s.logStreamName === 'empty');
      assert.equal(empty?.lastEventTimestamp, undefined);
      await rejectsWith(
        logs.DescribeLogStreams(
          { logGroupName: g, orderBy: 'LastEventTime', logStreamNamePrefix: 'o' },
          ctx,
        ),
        'InvalidParameterException',
        'Cannot order by LastEventTime with a logStreamNamePrefix.',
      );
      await rejectsWith(
        logs.DescribeLogStreams({ logGroupName: '/missing' }, ctx),
        'ResourceNotFoundException',
        'The specified log group does not exist.',
      );
      await rejectsWith(
        logs.DescribeLogStreams({ logGroupName: g, logGroupIdentifier: g }, ctx),
        'InvalidParameterException',
      );
    });

    test('deleting a group deletes its streams and events', async () => {
      clock = T0;
      const g = await group(['s']);
      await put(g, 's', [[T0, 'gone']]);
      await logs.DeleteLogGroup({ logGroupName: g }, ctx);
      await logs.CreateLogGroup({ logGroupName: g }, ctx);
      assert.deepEqual((await logs.DescribeLogStreams({ logGroupName: g }, ctx)).logStreams, []);
      await logs.CreateLogStream({ logGroupName: g, logStreamName: 's' }, ctx);
      const res = await logs.GetLogEvents({ logGroupName: g, logStreamName: 's' }, ctx);
      assert.deepEqual(res.events, []);
    });
  });

  describe('PutLogEvents', () => {
    test('rejects batches out of chronological order, too large, or spanning over 24 h', async () => {
      clock = T0;
      const g = await group(['s']);
      await rejectsWith(
        put(g, 's', [
          [T0, 'b'],
          [T0 - 1, 'a'],
        ]),
        'InvalidParameterException',
        'Log events in a single PutLogEvents request must be in chronological order.',
      );
      // 1,048,576 bytes counting 26 per event: exactly at the limit passes, one more fails.
      const big = 'x'.repeat(1_048_576 - 26);
      await put(g, 's', [[T0, big]]);
      await rejectsWith(
        put(g, 's', [[T0, big + 'y']]),
        'InvalidParameterException',
        /^Upload too large: 1048577 bytes exceeds limit of 1048576$/,
      );
      await rejectsWith(
        put(g, 's', [
          [T0 - DAY - 1, 'a'],
          [T0, 'b'],
        ]),
        'InvalidParameterException',
        'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
      );
      await rejectsWith(put('/missing', 's', [[T0, 'x']]), 'ResourceNotFoundException');
      await rejectsWith(
        put(g, 'missing', [[T0, 'x']]),
        'ResourceNotFoundException',
        'The specified log stream does not exist.',
      );
    });

    test('reports too old, expired and too new events and stores the rest', async () => {
      clock = T0;
      const g = await group(['s']);
      const res = await put(g, 's', [
        [T0 - 15 * DAY, 'too old'],
        [T0 - 10 * MIN, 'ok 1'],
        [T0, 'ok 2'],
        [T0 + 3 * 3_600_000, 'too new'],
      ]);
      assert.deepEqual(res.rejectedLogEventsInfo, {
        tooOldLogEventEndIndex: 0,
        tooNewLogEventStartIndex: 3,
      });
      assert.equal(res.nextSequenceToken, '2'.padStart(56, '0'));
      const stored = await logs.GetLogEvents({ logGroupName: g, logStreamName: 's' }, ctx);
      assert.deepEqual(
        stored.events?.map((e) => e.message),
        ['ok 1', 'ok 2'],
      );

      await logs.PutRetentionPolicy({ logGroupName: g, retentionInDays: 1 }, ctx);
      const expired = await put(g, 's', [
        [T0 - 2 * DAY, 'expired'],
        [T0, 'kept'],
      ]);
      assert.deepEqual(expired.rejectedLogEventsInfo, { expiredLogEventEndIndex: 0 });
      // Sequence tokens are accepted and ignored, as AWS does now.
      const ignored = await logs.PutLogEvents(
        {
          logGroupName: g,
          logStreamName: 's',
          sequenceToken: 'whatever',
          logEvents: [{ timestamp: T0, message: 'again' }],
        },
        ctx,
      );
      assert.equal(ignored.nextSequenceToken, '4'.padStart(56, '0'));
      assert.equal(ignored.rejectedLogEventsInfo, undefined);
    });

    test('50 concurrent writers to shared and own streams all land, in order per stream', async () => {
      clock = T0;
      const shared = ['shared-0', 'shared-1', 'shared-2'];
      const writers = 50;
      const batches = 20;
      const perBatch = 3;
      const g = await group([...shared, ...Array.from({ length: writers }, (_, w) => `own-${w}`)]);
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let b = 0; b < batches; b++) {
            // Every writer logs the same millisecond: only the sequence number orders them.
            const events: [number, string][] = Array.from({ length: perBatch }, (_, i) => [
              T0 - MIN,
              `w${w} b${b} e${i}`,
            ]);
            await put(g, shared[(w + b) % shared.length], events);
            await put(g, `own-${w}`, events);
          }
        }),
      );
      const read = async (stream: string): Promise<OutputLogEvent[]> => {
        const out: OutputLogEvent[] = [];
        let nextToken: string | undefined;
        for (;;) {
          const res = await logs.GetLogEvents(
            { logGroupName: g, logStreamName: stream, startFromHead: true, limit: 333, nextToken },
            ctx,
          );
          out.push(...(res.events ?? []));
          if (res.nextForwardToken === nextToken) return out;
          nextToken = res.nextForwardToken;
        }
      };
      let sharedTotal = 0;
      for (const s of shared) {
        const events = await read(s);
        sharedTotal += events.length;
        // Per writer, its batches and events appear in the order it wrote them.
        const lastOf = new Map<string, number>();
        for (const e of events) {
          const [w, b, i] = (e.message as string).split(' ');
          const n = Number(b.slice(1)) * perBatch + Number(i.slice(1));
          assert.ok(n > (lastOf.get(w) ?? -1), `${w} out of order in ${s}`);
          lastOf.set(w, n);
        }
      }
      assert.equal(sharedTotal, writers * batches * perBatch);
      for (let w = 0; w < writers; w++) {
        const events = await read(`own-${w}`);
        assert.deepEqual(
          events.map((e) => e.message),
          Array.from({ length: batches * perBatch }, (_, n) => {
            return `w${w} b${Math.floor(n / perBatch)} e${n % perBatch}`;
          }),
        );
      }
    });
  });

  describe('GetLogEvents', () => {
    async function stream20(): Promise<string> {
      clock = T0;
      const g = await group(['s']);
      await put(
        g,
        's',
        Array.from({ length: 20 }, (_, i): [number, string] => [T0 - (20 - i) * MIN, `m${i}`]),
      );
      return g;
    }
    const msgs = (events: OutputLogEvent[] | undefined) =>
      (events ?? []).map((e) => e.message ?? '');
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `m${a + i}`);

    test('without a token: the tail by default, the head with startFromHead', async () => {
      const g = await stream20();
      const tail = await logs.GetLogEvents({ logGroupName: g, logStreamName: 's', limit: 5 }, ctx);
      assert.deepEqual(msgs(tail.events), range(15, 20));
      const head = await logs.GetLogEvents(
        { logGroupName: g, logStreamName: 's', limit: 5, startFromHead: true },
        ctx,
      );
      assert.deepEqual(msgs(head.events), range(0, 5));
      assert.deepEqual(head.events?.[0], {
        timestamp: T0 - 20 * MIN,
        message: 'm0',
        ingestionTime: T0,
      });
      assert.match(head.nextForwardToken ?? '', /^f\/\d{56}$/);
      assert.match(head.nextBackwardToken ?? '', /^b\/\d{56}$/);
    });

    test('forward paging ends by handing the same token back', async () => {
      const g = await stream20();
      const seen: string[] = [];
      let token: string | undefined;
      let calls = 0;
      for (;;) {
        const res = await logs.GetLogEvents(
          { logGroupName: g, logStreamName: 's', limit: 7, startFromHead: true, nextToken: token },
          ctx,
        );
        calls++;
        seen.push(...msgs(res.events));
        if (res.nextForwardToken === token) {
          assert.deepEqual(res.events, []);
          break;
        }
        token = res.nextForwardToken;
      }
      assert.deepEqual(seen, range(0, 20));
      assert.equal(calls, 4);
      // New events show up behind the final forward token.
      await put(g, 's', [[T0, 'late']]);
      const late = await logs.GetLogEvents(
        { logGroupName: g, logStreamName: 's', nextToken: token, startFromHead: true },
        ctx,
      );
      assert.deepEqual(msgs(late.events), ['late']);
    });

    test('backward paging from the tail reaches the head, then repeats its token', async () => {
      const g = await stream20();
      const pages: string[][] = [];
      let res = await logs.GetLogEvents({ logGroupName: g, logStreamName: 's', limit: 6 }, ctx);
      pages.push(msgs(res.events));
      for (;;) {
        const token: string | undefined = res.nextBackwardToken;
        res = await logs.GetLogEvents(
          { logGroupName: g, logStreamName: 's', limit: 6, nextToken: token },
          ctx,
        );
        if (res.nextBackwardToken === token) break;
        pages.push(msgs(res.events));
      }
      assert.deepEqual(pages, [range(14, 20), range(8, 14), range(2, 8), range(0, 2)]);
      // And forward again from the head page.
      const fwd = await logs.GetLogEvents(
        { logGroupName: g, logStreamName: 's', limit: 3, nextToken: res.nextForwardToken },
        ctx,
      );
      assert.deepEqual(msgs(fwd.events), range(0, 3));
    });

    test('startTime is inclusive, endTime exclusive', async () => {
      const g = await stream20();
      const res = await logs.GetLogEvents(
        {
          logGroupName: g,
          logStreamName: 's',
          startTime: T0 - 15 * MIN,
          endTime: T0 - 10 * MIN,
          startFromHead: true,
        },
        ctx,
      );
      assert.deepEqual(msgs(res.events), range(5, 10));
    });

    test('errors: bad token, missing group, missing stream', async () => {
      const g = await stream20();
      for (const nextToken of ['f/123', 'x/' + '0'.repeat(56), 'garbage']) {
        await rejectsWith(
          logs.GetLogEvents({ logGroupName: g, logStreamName: 's', nextToken }, ctx),
          'InvalidParameterException',
          'The specified nextToken is invalid.',
        );
      }
      await rejectsWith(
        logs.GetLogEvents({ logGroupName: '/missing', logStreamName: 's' }, ctx),
        'ResourceNotFoundException',
        'The specified log group does not exist.',
      );
      await rejectsWith(
        logs.GetLogEvents({ logGroupName: g, logStreamName: 'missing' }, ctx),
        'ResourceNotFoundException',
        'The specified log stream does not exist.',
      );
    });
  });

  describe('FilterLogEvents', () => {
    /** Three streams whose events interleave in time. */
    async function threeStreams(): Promise<string> {
      clock = T0;
      const g = await group(['app/a', 'app/b', 'other']);
      await put(g, 'app/a', [
        [T0 - 9 * MIN, 'a0 INFO start'],
        [T0 - 6 * MIN, 'a1 ERROR boom'],
        [T0 - 3 * MIN, 'a2 INFO done'],
      ]);
      await put(g, 'app/b', [
        [T0 - 8 * MIN, 'b0 WARN slow'],
        [T0 - 5 * MIN, 'b1 ERROR Exception'],
        [T0 - 2 * MIN, 'b2 INFO done'],
      ]);
      await put(g, 'other', [
        [T0 - 7 * MIN, '{"level":"error","latency":300}'],
        [T0 - 4 * MIN, '{"level":"info","latency":20}'],
      ]);
      return g;
    }
    const msgs = (events: FilteredLogEvent[] | undefined) =>
      (events ?? []).map((e) => e.message ?? '');

    test('interleaves streams by timestamp with stream names and unique event ids', async () => {
      const g = await threeStreams();
      const res = await logs.FilterLogEvents({ logGroupName: g }, ctx);
      assert.deepEqual(
        res.events?.map((e) => e.message?.split(' ')[0].slice(0, 2)),
        ['a0', 'b0', '{"', 'a1', 'b1', '{"', 'a2', 'b2'],
      );
      assert.deepEqual(
        res.events?.map((e) => e.logStreamName),
        ['app/a', 'app/b', 'other', 'app/a', 'app/b', 'other', 'app/a', 'app/b'],
      );
      const ids = new Set(res.events?.map((e) => e.eventId));
      assert.equal(ids.size, 8);
      for (const e of res.events ?? []) {
        assert.equal(e.ingestionTime, T0);
        assert.match(e.eventId ?? '', /^\d{56}$/);
      }
      assert.deepEqual(res.searchedLogStreams, []);
      assert.equal(res.nextToken, undefined);
    });

    test('time range (inclusive both ends), stream names and prefixes', async () => {
      const g = await threeStreams();
      const timed = await logs.FilterLogEvents(
        { logGroupName: g, startTime: T0 - 6 * MIN, endTime: T0 - 4 * MIN },
        ctx,
      );
      assert.equal(timed.events?.length, 3);
      assert.deepEqual(msgs(timed.events)[0], 'a1 ERROR boom');
      const prefixed = await logs.FilterLogEvents(
        { logGroupName: g, logStreamNamePrefix: 'app/', filterPattern: 'done' },
        ctx,
      );
      assert.deepEqual(msgs(prefixed.events), ['a2 INFO done', 'b2 INFO done']);
      const named = await logs.FilterLogEvents(
        { logGroupName: g, logStreamNames: ['other', 'nope'] },
        ctx,
      );
      assert.equal(named.events?.length, 2);
      await rejectsWith(
        logs.FilterLogEvents(
          { logGroupName: g, logStreamNames: ['other'], logStreamNamePrefix: 'a' },
          ctx,
        ),
        'InvalidParameterException',
      );
    });

    test('filter patterns: terms, alternatives, JSON; invalid ones are rejected', async () => {
      const g = await threeStreams();
      const f = async (filterPattern: string) =>
        msgs((await logs.FilterLogEvents({ logGroupName: g, filterPattern }, ctx)).events);
      assert.deepEqual(await f('ERROR'), ['a1 ERROR boom', 'b1 ERROR Exception']);
      assert.deepEqual(await f('ERROR -Exception'), ['a1 ERROR boom']);
      assert.deepEqual(await f('?WARN ?Exception'), ['b0 WARN slow', 'b1 ERROR Exception']);
      assert.deepEqual(await f('{ $.latency > 100 }'), ['{"level":"error","latency":300}']);
      await rejectsWith(
        logs.FilterLogEvents({ logGroupName: g, filterPattern: '{ $.level = ' }, ctx),
        'InvalidParameterException',
        'Invalid filter pattern',
      );
      await rejectsWith(
        logs.FilterLogEvents({ logGroupName: '/missing' }, ctx),
        'ResourceNotFoundException',
        'The specified log group does not exist.',
      );
    });

    test('nextToken pages through the merged order without gaps or repeats', async () => {
      const g = await threeStreams();
      // Same-millisecond events across streams exercise the tie-breaks.
      await put(g, 'app/a', [[T0 - MIN, 'tie a']]);
      await put(g, 'app/b', [[T0 - MIN, 'tie b']]);
      const all = msgs((await logs.FilterLogEvents({ logGroupName: g }, ctx)).events);
      assert.equal(all.length, 10);
      for (const limit of [1, 2, 3, 4]) {
        const seen: string[] = [];
        let nextToken: string | undefined;
        do {
          const res = await logs.FilterLogEvents({ logGroupName: g, limit, nextToken }, ctx);
          assert.ok((res.events ?? []).length <= limit);
          seen.push(...msgs(res.events));
          nextToken = res.nextToken;
        } while (nextToken);
        assert.deepEqual(seen, all, `limit ${limit}`);
      }
    });
  });

  describe('LogSink', () => {
    test('creates the group and stream on first use and appends in order', async () => {
      clock = T0;
      const sink = new LogsSink(store, () => clock);
      const scope = { account: '111111111111', region: 'us-east-1' };
      await sink.append(scope, '/aws/lambda/fn', '2024/05/01/[$LATEST]abc', [
        { timestamp: T0, message: 'START RequestId: 1 Version: $LATEST' },
        { timestamp: T0, message: 'hello' },
      ]);
      await sink.append(scope, '/aws/lambda/fn', '2024/05/01/[$LATEST]abc', [
        { timestamp: T0 + 1, message: 'END RequestId: 1' },
      ]);
      await sink.append(scope, '/aws/lambda/fn', 'second', []);
      const groups = await logs.DescribeLogGroups({ logGroupNamePrefix: '/aws/lambda/' }, ctx);
      assert.deepEqual(
        groups.logGroups?.map((g) => [g.logGroupName, g.storedBytes]),
        [['/aws/lambda/fn', 35 + 26 + 5 + 26 + 16 + 26]],
      );
      const streams = await logs.DescribeLogStreams({ logGroupName: '/aws/lambda/fn' }, ctx);
      assert.deepEqual(
        streams.logStreams?.map((s) => s.logStreamName),
        ['2024/05/01/[$LATEST]abc', 'second'],
      );
      const events = await logs.GetLogEvents(
        {
          logGroupName: '/aws/lambda/fn',
          logStreamName: '2024/05/01/[$LATEST]abc',
          startFromHead: true,
        },
        ctx,
      );
      assert.deepEqual(
        events.events?.map((e) => e.message),
        ['START RequestId: 1 Version: $LATEST', 'hello', 'END RequestId: 1'],
      );
    });
  });
});
