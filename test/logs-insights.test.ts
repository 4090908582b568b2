/**
 * CloudWatch Logs Insights through the real clients: `stats count(*) by bin(1m)` through
 * the AWS CLI and boto3 agrees with a scan of the same events (FilterLogEvents), and the
 * SDK v3 drives the other operations (GetLogRecord, DescribeQueries, StopQuery, query
 * definitions, MalformedQueryException).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteQueryDefinitionCommand,
  DescribeQueriesCommand,
  DescribeQueryDefinitionsCommand,
  GetLogRecordCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  InvalidParameterException,
  MalformedQueryException,
  PutLogEventsCommand,
  PutQueryDefinitionCommand,
  ResourceNotFoundException,
  StartQueryCommand,
  StopQueryCommand,
  paginateFilterLogEvents,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsCli, python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const MIN = 60_000;
const GROUP = '/insights/app';
const OTHER = '/insights/other';

/** bin(1m) values as AWS prints them, counted from a scan of the events. */
function countByMinute(timestamps: number[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const t of timestamps) {
    const bin = new Date(Math.floor(t / MIN) * MIN)
      .toISOString()
      .replace('T', ' ')
      .replace('Z', '');
    counts.set(bin, (counts.get(bin) ?? 0) + 1);
  }
  return new Map([...counts].map(([k, v]) => [k, String(v)]));
}

type Row = { field?: string; value?: string }[];
const asObject = (row: Row): Record<string, string> =>
  Object.fromEntries(row.map((f) => [f.field ?? '', f.value ?? '']));

describe('CloudWatch Logs Insights', () => {
  let server: TestServer;
  let logs: CloudWatchLogsClient;
  const now = Date.now();
  const start = Math.floor((now - 30 * MIN) / 1000);
  const end = Math.ceil(now / 1000);

  before(async () => {
    server = await startTestServer();
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    // Events spread over nine minutes in two streams of one group, and one other group.
    for (const [group, streams] of [
      [GROUP, ['web', 'worker']],
      [OTHER, ['x']],
    ] as const) {
      await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
      for (const s of streams) {
        await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: s }));
      }
    }
    const put = (group: string, stream: string, events: { timestamp: number; message: string }[]) =>
      logs.send(
        new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: events }),
      );
    const base = now - 10 * MIN;
    await put(
      GROUP,
      'web',
      Array.from({ length: 40 }, (_, i) => ({
        timestamp: base + i * 13_700,
        message: JSON.stringify({
          level: i % 4 === 0 ? 'ERROR' : 'INFO',
          path: `/p${i % 3}`,
          ms: i,
        }),
      })),
    );
    await put(
      GROUP,
      'worker',
      Array.from({ length: 25 }, (_, i) => ({
        timestamp: base + 5_000 + i * 21_000,
        message: `job=${i % 5} status=${i % 2 ? 'ok' : 'failed'} took ${i * 3}ms`,
      })),
    );
    await put(OTHER, 'x', [{ timestamp: base + 1000, message: 'other group line' }]);
  });
  after(async () => {
    logs.destroy();
    await server.stop();
  });

  async function scanTimestamps(group: string): Promise<number[]> {
    const out: number[] = [];
    for await (const page of paginateFilterLogEvents({ client: logs }, { logGroupName: group })) {
      for (const e of page.events ?? []) out.push(e.timestamp ?? 0);
    }
    return out;
  }

  async function results(queryId: string): Promise<GetQueryResultsCommandOutput> {
    for (let i = 0; i < 600; i++) {
      const r = await logs.send(new GetQueryResultsCommand({ queryId }));
      if (r.status !== 'Scheduled' && r.status !== 'Running') return r;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`query ${queryId} never completed`);
  }

  async function query(queryString: string, extra: { logGroupNames?: string[] } = {}) {
    const { queryId } = await logs.send(
      new StartQueryCommand({
        ...(extra.logGroupNames ? extra : { logGroupName: GROUP }),
        startTime: start,
        endTime: end,
        queryString,
      }),
    );
    assert.ok(queryId);
    const r = await results(queryId);
    assert.equal(r.status, 'Complete');
    return { queryId, ...r, rows: (r.results ?? []).map(asObject) };
  }

  test('the AWS CLI: stats count(*) by bin(1m) equals a scan of the same events', async () => {
    const expected = countByMinute(await scanTimestamps(GROUP));
    assert.ok(expected.size >= 8, 'the events span several minutes');
    const started = await awsCli(server.endpoint, [
      'logs',
      'start-query',
      '--log-group-name',
      GROUP,
      '--start-time',
      String(start),
      '--end-time',
      String(end),
      '--query-string',
      'stats count(*) by bin(1m)',
    ]);
    assert.equal(started.code, 0, started.stderr);
    const { queryId } = JSON.parse(started.stdout) as { queryId: string };
    let out: {
      status: string;
      results: Row[];
      statistics: { recordsMatched: number; recordsScanned: number; bytesScanned: number };
    };
    for (let i = 0; ; i++) {
      const got = await awsCli(server.endpoint, [
        'logs',
        'get-query-results',
        '--query-id',
        queryId,
      ]);
      assert.equal(got.code, 0, got.stderr);
      out = JSON.parse(got.stdout) as typeof out;
      if (out.status !== 'Scheduled' && out.status !== 'Running') break;
      assert.ok(i < 200, 'the query completes');
    }
    assert.equal(out.status, 'Complete');
    const bins = new Map(
      out.results.map((row) => {
        const o = asObject(row);
        assert.deepEqual(Object.keys(o), ['bin(1m)', 'count(*)']);
        return [o['bin(1m)'], o['count(*)']];
      }),
    );
    assert.deepEqual(bins, expected);
    assert.equal(out.statistics.recordsMatched, 65);
    assert.equal(out.statistics.recordsScanned, 65);
    assert.ok(out.statistics.bytesScanned > 0);
  });

  test('boto3: the same query over several groups by logGroupIdentifiers', async () => {
    const expected = countByMinute([
      ...(await scanTimestamps(GROUP)),
      ...(await scanTimestamps(OTHER)),
    ]);
    const script = `
import boto3, json, os, time
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'])
arn = c.describe_log_groups(logGroupNamePrefix='${OTHER}')['logGroups'][0]['logGroupArn']
q = c.start_query(logGroupIdentifiers=['${GROUP}', arn], startTime=${start}, endTime=${end},
                  queryString='stats count(*) by bin(1m)')
for _ in range(600):
    r = c.get_query_results(queryId=q['queryId'])
    if r['status'] not in ('Scheduled', 'Running'):
        break
    time.sleep(0.05)
try:
    c.start_query(logGroupName='${GROUP}', startTime=${start}, endTime=${end}, queryString='stats count(*) by')
    err = None
except c.exceptions.MalformedQueryException as e:
    err = e.response
print(json.dumps({'status': r['status'], 'results': r['results'],
                  'err': {'code': err['Error']['Code'], 'compile': err['queryCompileError']}}))
`;
    const res = await python(server.endpoint, script);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as {
      status: string;
      results: Row[];
      err: { code: string; compile: { location: Record<string, number>; message: string } };
    };
    assert.equal(out.status, 'Complete');
    assert.deepEqual(
      new Map(out.results.map((r) => [asObject(r)['bin(1m)'], asObject(r)['count(*)']])),
      expected,
    );
    assert.equal(out.err.code, 'MalformedQueryException');
    assert.deepEqual(out.err.compile.location, { startCharOffset: 17, endCharOffset: 17 });
    assert.match(out.err.compile.message, /end of query/);
  });

  test('fields, filter, sort and limit; @ptr reads the record back with GetLogRecord', async () => {
    const r = await query(
      'fields @timestamp, @message, path | filter level = "ERROR" and ms >= 8 | sort ms desc | limit 3',
    );
    assert.deepEqual(
      r.rows.map((row) => JSON.parse(row['@message']).ms),
      [36, 32, 28],
    );
    assert.deepEqual(
      r.rows.map((row) => Object.keys(row)),
      Array(3).fill(['@timestamp', '@message', 'path', '@ptr']),
    );
    assert.equal(r.statistics?.recordsMatched, 8);
    const record = await logs.send(
      new GetLogRecordCommand({ logRecordPointer: r.rows[0]['@ptr'] }),
    );
    assert.equal(record.logRecord?.['@message'], r.rows[0]['@message']);
    assert.equal(record.logRecord?.['@logStream'], 'web');
    assert.equal(record.logRecord?.['@log'], `000000000000:${GROUP}`);
    assert.equal(record.logRecord?.level, 'ERROR');
    const bad = await logs
      .send(new GetLogRecordCommand({ logRecordPointer: 'not-a-pointer' }))
      .catch((e: unknown) => e);
    assert.ok(bad instanceof InvalidParameterException);

    const parsed = await query(
      'parse @message "job=* status=* took *ms" as job, status, took | filter status = "failed" ' +
        '| stats count(*) as n, max(took) as slowest by job | sort job',
    );
    assert.deepEqual(parsed.rows, [
      { job: '0', n: '3', slowest: '60' },
      { job: '1', n: '2', slowest: '48' },
      { job: '2', n: '3', slowest: '66' },
      { job: '3', n: '2', slowest: '54' },
      { job: '4', n: '3', slowest: '72' },
    ]);
  });

  test('DescribeQueries lists queries; StopQuery refuses an ended one', async () => {
    const { queryId } = await query('stats count(*) as n by path', { logGroupNames: [GROUP] });
    const listed = await logs.send(
      new DescribeQueriesCommand({ logGroupName: GROUP, status: 'Complete' }),
    );
    const mine = listed.queries?.find((q) => q.queryId === queryId);
    assert.equal(mine?.queryString, 'stats count(*) as n by path');
    assert.equal(mine?.logGroupName, GROUP);
    assert.equal(typeof mine?.createTime, 'number');
    const stop = await logs.send(new StopQueryCommand({ queryId })).catch((e: unknown) => e);
    assert.ok(stop instanceof InvalidParameterException);
    const missing = await logs
      .send(new GetQueryResultsCommand({ queryId: 'no-such-query' }))
      .catch((e: unknown) => e);
    assert.ok(missing instanceof ResourceNotFoundException);
  });

  test('malformed queries, limits and bad arguments get AWS errors', async () => {
    const malformed = await logs
      .send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: start,
          endTime: end,
          queryString: 'fields @message | limit 10001',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(malformed instanceof MalformedQueryException);
    assert.deepEqual(malformed.queryCompileError?.location, {
      startCharOffset: 24,
      endCharOffset: 28,
    });
    const overLimit = await logs
      .send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: start,
          endTime: end,
          queryString: 'fields @message',
          limit: 10_001,
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(overLimit instanceof InvalidParameterException);
    const missing = await logs
      .send(
        new StartQueryCommand({
          logGroupName: '/insights/missing',
          startTime: start,
          endTime: end,
          queryString: 'fields @message',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(missing instanceof ResourceNotFoundException);
    const both = await logs
      .send(
        new StartQueryCommand({
          logGroupName: GROUP,
          logGroupNames: [GROUP],
          startTime: start,
          endTime: end,
          queryString: 'fields @message',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(both instanceof InvalidParameterException);
    await logs.send(
      new CreateLogGroupCommand({ logGroupName: '/insights/delivery', logGroupClass: 'DELIVERY' }),
    );
    const delivery = await logs
      .send(
        new StartQueryCommand({
          logGroupName: '/insights/delivery',
          startTime: start,
          endTime: end,
          queryString: 'fields @message',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(delivery instanceof InvalidParameterException);
    assert.match(delivery.message, /DELIVERY log class/);
    // The limit parameter caps the rows.
    const { queryId } = await logs.send(
      new StartQueryCommand({
        logGroupName: GROUP,
        startTime: start,
        endTime: end,
        queryString: 'fields @message',
        limit: 5,
      }),
    );
    assert.equal((await results(queryId as string)).results?.length, 5);
    // maxItems pages the rows with nextToken.
    const pages: number[] = [];
    let nextToken: string | undefined;
    do {
      const page = await logs.send(new GetQueryResultsCommand({ queryId, maxItems: 2, nextToken }));
      pages.push(page.results?.length ?? 0);
      nextToken = page.nextToken;
    } while (nextToken);
    assert.deepEqual(pages, [2, 2, 1]);
  });

  test('query definitions: put, update, describe by prefix, delete', async () => {
    const { queryDefinitionId } = await logs.send(
      new PutQueryDefinitionCommand({
        name: 'errors/by-minute',
        queryString: 'filter level = "ERROR" | stats count(*) by bin(1m)',
        logGroupNames: [GROUP],
      }),
    );
    assert.ok(queryDefinitionId);
    await logs.send(
      new PutQueryDefinitionCommand({ name: 'other', queryString: 'fields @message' }),
    );
    await logs.send(
      new PutQueryDefinitionCommand({
        queryDefinitionId,
        name: 'errors/by-minute',
        queryString: 'filter level = "ERROR" | stats count(*) by bin(5m)',
      }),
    );
    const listed = await logs.send(
      new DescribeQueryDefinitionsCommand({ queryDefinitionNamePrefix: 'errors/' }),
    );
    assert.deepEqual(
      listed.queryDefinitions?.map((d) => [d.queryDefinitionId, d.name, d.queryString]),
      [
        [
          queryDefinitionId,
          'errors/by-minute',
          'filter level = "ERROR" | stats count(*) by bin(5m)',
        ],
      ],
    );
    const deleted = await logs.send(new DeleteQueryDefinitionCommand({ queryDefinitionId }));
    assert.equal(deleted.success, true);
    const again = await logs
      .send(new DeleteQueryDefinitionCommand({ queryDefinitionId }))
      .catch((e: unknown) => e);
    assert.ok(again instanceof ResourceNotFoundException);
    const unknown = await logs
      .send(
        new PutQueryDefinitionCommand({
          queryDefinitionId: '00000000-0000-0000-0000-000000000000',
          name: 'x',
          queryString: 'fields @message',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(unknown instanceof ResourceNotFoundException);
  });
});
