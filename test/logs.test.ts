/**
 * CloudWatch Logs through the real clients: SDK v3 (with its paginators), the AWS CLI and
 * boto3, against a running Stratus server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CancelExportTaskCommand,
  CreateExportTaskCommand,
  CreateLogStreamCommand,
  DescribeExportTasksCommand,
  InvalidOperationException,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogFieldsCommand,
  GetLogGroupFieldsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  ListLogGroupsCommand,
  ListTagsForResourceCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  TagResourceCommand,
  paginateDescribeLogGroups,
  paginateFilterLogEvents,
  paginateGetLogEvents,
  type FilteredLogEvent,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { awsCli, python } from './helpers/clients.js';
import { eventually } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const MIN = 60_000;

describe('CloudWatch Logs', () => {
  let server: TestServer;
  let logs: CloudWatchLogsClient;
  const now = Date.now();

  before(async () => {
    server = await startTestServer();
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
  });
  after(async () => {
    logs.destroy();
    await server.stop();
  });

  async function put(group: string, stream: string, events: [number, string][]) {
    return logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: stream,
        logEvents: events.map(([timestamp, message]) => ({ timestamp, message })),
      }),
    );
  }

  async function groupWithStreams(group: string, streams: string[]): Promise<void> {
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    for (const s of streams) {
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: s }));
    }
  }

  test('log group lifecycle, paging with limit, retention and tags', async () => {
    const names = ['/sdk/e', '/sdk/b', '/sdk/d', '/sdk/a', '/sdk/c'];
    for (const n of names) await logs.send(new CreateLogGroupCommand({ logGroupName: n }));
    const dup = await logs
      .send(new CreateLogGroupCommand({ logGroupName: '/sdk/a' }))
      .catch((e: unknown) => e);
    assert.ok(dup instanceof ResourceAlreadyExistsException);
    assert.equal(dup.name, 'ResourceAlreadyExistsException');
    assert.equal(dup.message, 'The specified log group already exists');

    const pages: string[][] = [];
    for await (const page of paginateDescribeLogGroups(
      { client: logs, pageSize: 2 },
      { logGroupNamePrefix: '/sdk/' },
    )) {
      pages.push((page.logGroups ?? []).map((g) => g.logGroupName ?? ''));
    }
    assert.deepEqual(pages, [['/sdk/a', '/sdk/b'], ['/sdk/c', '/sdk/d'], ['/sdk/e']]);

    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/sdk/a', retentionInDays: 7 }));
    const bad = await logs
      .send(new PutRetentionPolicyCommand({ logGroupName: '/sdk/a', retentionInDays: 8 }))
      .catch((e: unknown) => e);
    assert.ok(bad instanceof InvalidParameterException);

    const described = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: '/sdk/a' }),
    );
    const g = described.logGroups?.[0];
    assert.equal(g?.retentionInDays, 7);
    assert.equal(g?.arn, 'arn:aws:logs:us-east-1:000000000000:log-group:/sdk/a:*');
    assert.equal(g?.logGroupArn, 'arn:aws:logs:us-east-1:000000000000:log-group:/sdk/a');
    assert.equal(g?.metricFilterCount, 0);
    assert.equal(g?.storedBytes, 0);
    assert.ok(Math.abs((g?.creationTime ?? 0) - Date.now()) < 60_000);

    await logs.send(new TagResourceCommand({ resourceArn: g?.logGroupArn, tags: { env: 'dev' } }));
    const tags = await logs.send(new ListTagsForResourceCommand({ resourceArn: g?.logGroupArn }));
    assert.deepEqual(tags.tags, { env: 'dev' });

    for (const n of names) await logs.send(new DeleteLogGroupCommand({ logGroupName: n }));
    const gone = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/sdk/' }));
    assert.deepEqual(gone.logGroups, []);
  });

  test('a missing group is a ResourceNotFoundException with AWS message', async () => {
    const calls: (() => Promise<unknown>)[] = [
      () => logs.send(new CreateLogStreamCommand({ logGroupName: '/nope', logStreamName: 's' })),
      () => logs.send(new DescribeLogStreamsCommand({ logGroupName: '/nope' })),
      () => logs.send(new GetLogEventsCommand({ logGroupName: '/nope', logStreamName: 's' })),
      () => logs.send(new DeleteLogGroupCommand({ logGroupName: '/nope' })),
    ];
    for (const call of calls) {
      const err = await call().catch((e: unknown) => e);
      assert.ok(err instanceof ResourceNotFoundException, String(err));
      assert.equal(err.name, 'ResourceNotFoundException');
      assert.equal(err.message, 'The specified log group does not exist.');
      assert.equal(err.$metadata.httpStatusCode, 400);
    }
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/has-group' }));
    const err = await put('/has-group', 'no-stream', [[now, 'x']]).catch((e: unknown) => e);
    assert.ok(err instanceof ResourceNotFoundException);
    assert.equal(err.message, 'The specified log stream does not exist.');
  });

  test('streams order by name and by last event time', async () => {
    await groupWithStreams('/streams', ['b', 'c', 'a']);
    await put('/streams', 'c', [[now - 3 * MIN, 'c']]);
    await put('/streams', 'a', [[now - 2 * MIN, 'a']]);
    await put('/streams', 'b', [[now - 1 * MIN, 'b']]);
    const byName = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/streams' }));
    assert.deepEqual(
      byName.logStreams?.map((s) => s.logStreamName),
      ['a', 'b', 'c'],
    );
    const byTime = await logs.send(
      new DescribeLogStreamsCommand({
        logGroupName: '/streams',
        orderBy: 'LastEventTime',
        descending: true,
      }),
    );
    assert.deepEqual(
      byTime.logStreams?.map((s) => s.logStreamName),
      ['b', 'a', 'c'],
    );
    const a = byName.logStreams?.[0];
    assert.equal(a?.firstEventTimestamp, now - 2 * MIN);
    assert.equal(a?.lastEventTimestamp, now - 2 * MIN);
    assert.equal(a?.arn, 'arn:aws:logs:us-east-1:000000000000:log-group:/streams:log-stream:a');
    const err = await logs
      .send(
        new DescribeLogStreamsCommand({
          logGroupName: '/streams',
          orderBy: 'LastEventTime',
          logStreamNamePrefix: 'a',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(err instanceof InvalidParameterException);
    assert.equal(err.message, 'Cannot order by LastEventTime with a logStreamNamePrefix.');
  });

  test('50 concurrent writers × 20 batches to shared streams all read back in order', async () => {
    const group = '/concurrent';
    const streams = ['s0', 's1', 's2', 's3', 's4'];
    await groupWithStreams(group, streams);
    const writers = 50;
    const batches = 20;
    const perBatch = 5;
    const base = now - 30 * MIN;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let b = 0; b < batches; b++) {
          const events: [number, string][] = Array.from({ length: perBatch }, (_, i) => [
            base + b,
            `w${w} b${b} e${i}`,
          ]);
          await put(group, streams[w % streams.length], events);
        }
      }),
    );

    let total = 0;
    for (const [si, s] of streams.entries()) {
      const events: OutputLogEvent[] = [];
      for await (const page of paginateGetLogEvents(
        { client: logs, pageSize: 137, stopOnSameToken: true },
        { logGroupName: group, logStreamName: s, startFromHead: true },
      )) {
        events.push(...(page.events ?? []));
      }
      const expectedWriters = Array.from({ length: writers }, (_, w) => w).filter(
        (w) => w % streams.length === si,
      );
      assert.equal(events.length, expectedWriters.length * batches * perBatch, s);
      // Timestamps never go backwards, and each writer's events keep their order.
      const last = new Map<string, number>();
      for (let i = 0; i < events.length; i++) {
        if (i > 0) assert.ok((events[i].timestamp ?? 0) >= (events[i - 1].timestamp ?? 0));
        const [w, b, e] = (events[i].message ?? '').split(' ');
        const n = Number(b.slice(1)) * perBatch + Number(e.slice(1));
        assert.ok(n > (last.get(w) ?? -1), `${w} out of order in ${s}`);
        last.set(w, n);
      }
      total += events.length;
    }
    assert.equal(total, writers * batches * perBatch);

    // FilterLogEvents over the whole group interleaves by timestamp and misses nothing.
    const filtered: FilteredLogEvent[] = [];
    for await (const page of paginateFilterLogEvents(
      { client: logs, pageSize: 999 },
      { logGroupName: group },
    )) {
      filtered.push(...(page.events ?? []));
    }
    assert.equal(filtered.length, total);
    for (let i = 1; i < filtered.length; i++) {
      assert.ok((filtered[i].timestamp ?? 0) >= (filtered[i - 1].timestamp ?? 0));
    }
    assert.equal(new Set(filtered.map((e) => e.eventId)).size, total);
  });

  test('GetLogEvents pages forward and backward like AWS', async () => {
    await groupWithStreams('/paging', ['s']);
    await put(
      '/paging',
      's',
      Array.from({ length: 25 }, (_, i): [number, string] => [now - (25 - i) * MIN, `m${i}`]),
    );
    const msgs = (r: { events?: OutputLogEvent[] }) => (r.events ?? []).map((e) => e.message);
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `m${a + i}`);

    const tail = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/paging', logStreamName: 's', limit: 10 }),
    );
    assert.deepEqual(msgs(tail), range(15, 25));
    const back1 = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/paging',
        logStreamName: 's',
        limit: 10,
        nextToken: tail.nextBackwardToken,
      }),
    );
    assert.deepEqual(msgs(back1), range(5, 15));
    const back2 = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/paging',
        logStreamName: 's',
        limit: 10,
        nextToken: back1.nextBackwardToken,
      }),
    );
    assert.deepEqual(msgs(back2), range(0, 5));
    const back3 = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/paging',
        logStreamName: 's',
        limit: 10,
        nextToken: back2.nextBackwardToken,
      }),
    );
    assert.deepEqual(msgs(back3), []);
    assert.equal(back3.nextBackwardToken, back2.nextBackwardToken);

    const fwd = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/paging',
        logStreamName: 's',
        limit: 10,
        startFromHead: true,
        nextToken: back2.nextForwardToken,
      }),
    );
    assert.deepEqual(msgs(fwd), range(5, 15));

    // With stopOnSameToken (as for real AWS), the paginator stops when the forward token
    // comes back unchanged.
    const pages: number[] = [];
    for await (const page of paginateGetLogEvents(
      { client: logs, pageSize: 10, stopOnSameToken: true },
      { logGroupName: '/paging', logStreamName: 's', startFromHead: true },
    )) {
      pages.push(page.events?.length ?? 0);
    }
    assert.deepEqual(pages, [10, 10, 5, 0]);
  });

  test('FilterLogEvents with a time range and terms', async () => {
    await groupWithStreams('/filter', ['web', 'worker']);
    await put('/filter', 'web', [
      [now - 10 * MIN, 'GET / 200'],
      [now - 6 * MIN, 'GET /boom 500 ERROR'],
      [now - 2 * MIN, 'GET /late 500 ERROR'],
    ]);
    await put('/filter', 'worker', [
      [now - 8 * MIN, 'job 1 ERROR timeout'],
      [now - 4 * MIN, 'job 2 done'],
    ]);
    const res = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: '/filter',
        filterPattern: 'ERROR',
        startTime: now - 9 * MIN,
        endTime: now - 3 * MIN,
      }),
    );
    assert.deepEqual(
      res.events?.map((e) => [e.logStreamName, e.message]),
      [
        ['worker', 'job 1 ERROR timeout'],
        ['web', 'GET /boom 500 ERROR'],
      ],
    );
    const anyOf = await logs.send(
      new FilterLogEventsCommand({
        logGroupIdentifier: 'arn:aws:logs:us-east-1:000000000000:log-group:/filter',
        filterPattern: '?timeout ?done',
      }),
    );
    assert.deepEqual(
      anyOf.events?.map((e) => e.message),
      ['job 1 ERROR timeout', 'job 2 done'],
    );
    const bad = await logs
      .send(new FilterLogEventsCommand({ logGroupName: '/filter', filterPattern: '"open' }))
      .catch((e: unknown) => e);
    assert.ok(bad instanceof InvalidParameterException);
    assert.equal(bad.message, 'Invalid filter pattern');
  });

  test('the AWS CLI lists groups and reads events', async () => {
    await groupWithStreams('/cli/app', ['main']);
    await put('/cli/app', 'main', [
      [now - 2 * MIN, 'hello from the cli test'],
      [now - 1 * MIN, 'ERROR second line'],
    ]);
    const groups = await awsCli(server.endpoint, [
      'logs',
      'describe-log-groups',
      '--log-group-name-prefix',
      '/cli/',
    ]);
    assert.equal(groups.code, 0, groups.stderr);
    const parsed = JSON.parse(groups.stdout) as { logGroups: { logGroupName: string }[] };
    assert.deepEqual(
      parsed.logGroups.map((g) => g.logGroupName),
      ['/cli/app'],
    );

    const events = await awsCli(server.endpoint, [
      'logs',
      'get-log-events',
      '--log-group-name',
      '/cli/app',
      '--log-stream-name',
      'main',
      '--start-from-head',
    ]);
    assert.equal(events.code, 0, events.stderr);
    const got = JSON.parse(events.stdout) as { events: { message: string }[] };
    assert.deepEqual(
      got.events.map((e) => e.message),
      ['hello from the cli test', 'ERROR second line'],
    );

    const filtered = await awsCli(server.endpoint, [
      'logs',
      'filter-log-events',
      '--log-group-name',
      '/cli/app',
      '--filter-pattern',
      'ERROR',
    ]);
    assert.equal(filtered.code, 0, filtered.stderr);
    const hits = JSON.parse(filtered.stdout) as { events: { message: string }[] };
    assert.deepEqual(
      hits.events.map((e) => e.message),
      ['ERROR second line'],
    );

    const missing = await awsCli(server.endpoint, [
      'logs',
      'describe-log-streams',
      '--log-group-name',
      '/cli/missing',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /ResourceNotFoundException/);
    assert.match(missing.stderr, /The specified log group does not exist\./);
  });

  test('ListLogGroups, GetLogGroupFields, deletion protection and KMS keys', async () => {
    await groupWithStreams('/surface/app', ['s']);
    await logs.send(
      new CreateLogGroupCommand({
        logGroupName: '/surface/infrequent',
        logGroupClass: 'INFREQUENT_ACCESS',
        tags: { team: 'blue' },
      }),
    );
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/surface/other' }));

    const listed = await logs.send(
      new ListLogGroupsCommand({ logGroupNamePattern: 'surface/', limit: 2 }),
    );
    assert.deepEqual(
      listed.logGroups?.map((g) => [g.logGroupName, g.logGroupClass]),
      [
        ['/surface/app', 'STANDARD'],
        ['/surface/infrequent', 'INFREQUENT_ACCESS'],
      ],
    );
    assert.match(
      listed.logGroups?.[0]?.logGroupArn ?? '',
      /^arn:aws:logs:[\w-]+:\d{12}:log-group:\/surface\/app$/,
    );
    assert.ok(listed.nextToken);
    const rest = await logs.send(
      new ListLogGroupsCommand({ logGroupNamePattern: 'surface/', nextToken: listed.nextToken }),
    );
    assert.deepEqual(
      rest.logGroups?.map((g) => g.logGroupName),
      ['/surface/other'],
    );
    assert.equal(rest.nextToken, undefined);
    const byTag = await logs.send(
      new ListLogGroupsCommand({ logGroupTags: [{ key: 'team', values: ['blue'] }] }),
    );
    assert.deepEqual(
      byTag.logGroups?.map((g) => g.logGroupName),
      ['/surface/infrequent'],
    );

    // Two of four events are JSON with `level`; one of those has `user.id` too.
    await put('/surface/app', 's', [
      [now - 3 * MIN, '{"level":"info","user":{"id":7}}'],
      [now - 2 * MIN, '{"level":"error"}'],
      [now - 2 * MIN, 'plain text'],
      [now - 1 * MIN, 'more plain text'],
    ]);
    const fields = await logs.send(new GetLogGroupFieldsCommand({ logGroupName: '/surface/app' }));
    const percent = Object.fromEntries(
      (fields.logGroupFields ?? []).map((f) => [f.name, f.percent]),
    );
    assert.equal(percent['@message'], 100);
    assert.equal(percent['@timestamp'], 100);
    assert.equal(percent.level, 50);
    assert.equal(percent['user.id'], 25);
    assert.equal(percent['@ptr'], undefined);
    const ordered = (fields.logGroupFields ?? []).map((f) => f.percent ?? 0);
    assert.deepEqual(
      ordered,
      [...ordered].sort((a, b) => b - a),
    );
    // Long before any event: nothing to discover.
    const old = await logs.send(
      new GetLogGroupFieldsCommand({ logGroupName: '/surface/app', time: 1_000_000 }),
    );
    assert.deepEqual(old.logGroupFields, []);
    const missing = await logs
      .send(new GetLogGroupFieldsCommand({ logGroupName: '/surface/missing' }))
      .catch((e: unknown) => e);
    assert.ok(missing instanceof ResourceNotFoundException);
    const source = await logs
      .send(new GetLogFieldsCommand({ dataSourceName: 'nope', dataSourceType: 'nope' }))
      .catch((e: unknown) => e);
    assert.ok(source instanceof ResourceNotFoundException);

    // Deletion protection through boto3: DeleteLogGroup refuses until it is turned off.
    const script = `
import boto3, json, os
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'])
c.put_log_group_deletion_protection(logGroupIdentifier='/surface/other', deletionProtectionEnabled=True)
shown = c.describe_log_groups(logGroupNamePrefix='/surface/other')['logGroups'][0]
try:
    c.delete_log_group(logGroupName='/surface/other')
    err = None
except c.exceptions.ClientError as e:
    err = e.response['Error']
c.put_log_group_deletion_protection(logGroupIdentifier='/surface/other', deletionProtectionEnabled=False)
c.delete_log_group(logGroupName='/surface/other')
left = [g['logGroupName'] for g in c.describe_log_groups(logGroupNamePrefix='/surface/other')['logGroups']]
print(json.dumps({'shown': shown.get('deletionProtectionEnabled'), 'err': err, 'left': left}))
`;
    const res = await python(server.endpoint, script);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as {
      shown: boolean;
      err: { Code: string; Message: string };
      left: string[];
    };
    assert.equal(out.shown, true);
    assert.equal(out.err.Code, 'ValidationException');
    assert.equal(
      out.err.Message,
      'Cannot delete log group with deletion protection enabled. Disable deletion protection first.',
    );
    assert.deepEqual(out.left, []);

    // KMS key through the AWS CLI v2: stored and reported by DescribeLogGroups.
    const key = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const assoc = await awsCli(server.endpoint, [
      'logs',
      'associate-kms-key',
      '--log-group-name',
      '/surface/app',
      '--kms-key-id',
      key,
    ]);
    assert.equal(assoc.code, 0, assoc.stderr);
    const kmsOf = async (): Promise<string | undefined> => {
      const d = await logs.send(
        new DescribeLogGroupsCommand({ logGroupNamePrefix: '/surface/app' }),
      );
      return d.logGroups?.[0]?.kmsKeyId;
    };
    assert.equal(await kmsOf(), key);
    const bad = await awsCli(server.endpoint, [
      'logs',
      'associate-kms-key',
      '--log-group-name',
      '/surface/app',
      '--kms-key-id',
      'not-a-key',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /InvalidParameterException/);
    const noGroup = await awsCli(server.endpoint, [
      'logs',
      'associate-kms-key',
      '--log-group-name',
      '/surface/missing',
      '--kms-key-id',
      key,
    ]);
    assert.notEqual(noGroup.code, 0);
    assert.match(noGroup.stderr, /ResourceNotFoundException/);
    const dis = await awsCli(server.endpoint, [
      'logs',
      'disassociate-kms-key',
      '--log-group-name',
      '/surface/app',
    ]);
    assert.equal(dis.code, 0, dis.stderr);
    assert.equal(await kmsOf(), undefined);
  });

  test('export tasks write gzip objects to an S3 bucket in AWS layout', async () => {
    const s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'log-exports' }));
      await groupWithStreams('/export/app', ['web-1', 'web-2', 'worker']);
      const t0 = now - 10 * MIN;
      await put('/export/app', 'web-1', [
        [t0, 'first web line'],
        [t0 + MIN, 'second web line'],
        [t0 + 9 * MIN, 'after the range'],
      ]);
      await put('/export/app', 'web-2', [[t0 + 2 * MIN, 'other stream']]);
      await put('/export/app', 'worker', [[t0 + MIN, 'not a web stream']]);

      // Through the AWS CLI v2, as a user would start one.
      const created = await awsCli(server.endpoint, [
        'logs',
        'create-export-task',
        '--task-name',
        'nightly',
        '--log-group-name',
        '/export/app',
        '--log-stream-name-prefix',
        'web-',
        '--from',
        String(t0),
        '--to',
        String(t0 + 2 * MIN),
        '--destination',
        'log-exports',
        '--destination-prefix',
        'archive',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const { taskId } = JSON.parse(created.stdout) as { taskId: string };
      const done = await eventually('the export task to finish', async () => {
        const d = await logs.send(new DescribeExportTasksCommand({ taskId }));
        const task = d.exportTasks?.[0];
        return task?.status?.code === 'COMPLETED' || task?.status?.code === 'FAILED'
          ? task
          : undefined;
      });
      assert.equal(done.status?.code, 'COMPLETED', done.status?.message);
      assert.equal(done.taskName, 'nightly');
      assert.equal(done.destinationPrefix, 'archive');
      assert.ok(
        (done.executionInfo?.completionTime ?? 0) >= (done.executionInfo?.creationTime ?? 0),
      );

      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'log-exports' }));
      assert.deepEqual(
        (listed.Contents ?? []).map((o) => o.Key).sort(),
        [
          `archive/${taskId}/web-1/000000.gz`,
          `archive/${taskId}/web-2/000000.gz`,
          'archive/aws-logs-write-test',
        ].sort(),
      );
      const read = async (key: string): Promise<string> => {
        const o = await s3.send(new GetObjectCommand({ Bucket: 'log-exports', Key: key }));
        return gunzipSync(Buffer.from(await o.Body!.transformToByteArray())).toString('utf8');
      };
      assert.equal(
        await read(`archive/${taskId}/web-1/000000.gz`),
        `${new Date(t0).toISOString()} first web line\n` +
          `${new Date(t0 + MIN).toISOString()} second web line\n`,
      );
      assert.equal(
        await read(`archive/${taskId}/web-2/000000.gz`),
        `${new Date(t0 + 2 * MIN).toISOString()} other stream\n`,
      );

      const finished = await logs
        .send(new CancelExportTaskCommand({ taskId }))
        .catch((e: unknown) => e);
      assert.ok(finished instanceof InvalidOperationException);
      assert.equal(finished.message, 'The specified export task has already finished');
      const unknown = await logs
        .send(new CancelExportTaskCommand({ taskId: 'no-such-task' }))
        .catch((e: unknown) => e);
      assert.ok(unknown instanceof ResourceNotFoundException);
      const noBucket = await logs
        .send(
          new CreateExportTaskCommand({
            logGroupName: '/export/app',
            from: t0,
            to: t0 + MIN,
            destination: 'no-such-bucket',
          }),
        )
        .catch((e: unknown) => e);
      assert.ok(noBucket instanceof InvalidParameterException);
      const noGroup = await logs
        .send(
          new CreateExportTaskCommand({
            logGroupName: '/export/missing',
            from: t0,
            to: t0 + MIN,
            destination: 'log-exports',
          }),
        )
        .catch((e: unknown) => e);
      assert.ok(noGroup instanceof ResourceNotFoundException);
      const all = await logs.send(new DescribeExportTasksCommand({ statusCode: 'COMPLETED' }));
      assert.ok(all.exportTasks?.some((t) => t.taskId === taskId));
    } finally {
      s3.destroy();
    }
  });

  test('transformers: stored per group and run by TestTransformer (boto3)', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/transform/app' }));
    const script = `
import boto3, json, os
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'])
config = [
    {'parseJSON': {}},
    {'addKeys': {'entries': [{'key': 'env', 'value': 'prod'}, {'key': 'level', 'value': 'x'}]}},
    {'copyValue': {'entries': [{'source': 'user.id', 'target': 'uid'}]}},
    {'renameKeys': {'entries': [{'key': 'msg', 'renameTo': 'message'}]}},
    {'deleteKeys': {'withKeys': ['secret']}},
    {'upperCaseString': {'withKeys': ['level']}},
    {'trimString': {'withKeys': ['message']}},
]
c.put_transformer(logGroupIdentifier='/transform/app', transformerConfig=config)
got = c.get_transformer(logGroupIdentifier='/transform/app')
tested = c.test_transformer(transformerConfig=config, logEventMessages=[
    '{"level":"warn","msg":"  hi  ","secret":"s","user":{"id":7}}', 'not json'])
errors = {}
def code(f):
    try:
        f()
        return None
    except c.exceptions.ClientError as e:
        return e.response['Error']['Code']
errors['noParser'] = code(lambda: c.put_transformer(logGroupIdentifier='/transform/app',
    transformerConfig=[{'addKeys': {'entries': [{'key': 'a', 'value': 'b'}]}}]))
errors['noGroup'] = code(lambda: c.get_transformer(logGroupIdentifier='/transform/missing'))
c.delete_transformer(logGroupIdentifier='/transform/app')
errors['deleted'] = code(lambda: c.get_transformer(logGroupIdentifier='/transform/app'))
print(json.dumps({'config': got['transformerConfig'], 'logs': tested['transformedLogs'], 'errors': errors}))
`;
    const res = await python(server.endpoint, script);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as {
      config: unknown[];
      logs: { eventNumber: number; eventMessage: string; transformedEventMessage: string }[];
      errors: Record<string, string>;
    };
    assert.equal(out.config.length, 7);
    assert.equal(out.logs.length, 2);
    assert.deepEqual(JSON.parse(out.logs[0].transformedEventMessage), {
      level: 'WARN',
      user: { id: 7 },
      env: 'prod',
      uid: 7,
      message: 'hi',
    });
    assert.equal(out.logs[1].eventNumber, 2);
    assert.equal(out.logs[1].transformedEventMessage, '');
    assert.deepEqual(out.errors, {
      noParser: 'InvalidParameterException',
      noGroup: 'ResourceNotFoundException',
      deleted: 'ResourceNotFoundException',
    });
  });

  test('boto3 writes, pages and reads back', async () => {
    const script = `
import boto3, json, os, time
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'])
c.create_log_group(logGroupName='/boto/app')
c.create_log_stream(logGroupName='/boto/app', logStreamName='s')
now = int(time.time() * 1000)
r = c.put_log_events(logGroupName='/boto/app', logStreamName='s',
    logEvents=[{'timestamp': now - 1000 + i, 'message': 'line %d' % i} for i in range(30)])
events = []
for page in c.get_paginator('filter_log_events').paginate(
        logGroupName='/boto/app', PaginationConfig={'PageSize': 7}):
    events.extend(e['message'] for e in page['events'])
try:
    c.describe_log_streams(logGroupName='/boto/missing')
    err = None
except c.exceptions.ResourceNotFoundException as e:
    err = e.response['Error']
print(json.dumps({'token': r['nextSequenceToken'], 'events': events, 'err': err}))
`;
    const res = await python(server.endpoint, script);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as {
      token: string;
      events: string[];
      err: { Code: string; Message: string };
    };
    assert.match(out.token, /^\d+$/);
    assert.deepEqual(
      out.events,
      Array.from({ length: 30 }, (_, i) => `line ${i}`),
    );
    assert.equal(out.err.Code, 'ResourceNotFoundException');
    assert.equal(out.err.Message, 'The specified log group does not exist.');
  });
});
