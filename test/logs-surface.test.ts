/**
 * CloudWatch Logs' wider surface through real clients: transformers applied at ingestion,
 * scheduled queries, field indexes, lookup tables, import tasks and integrations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  GetQueryResultsCommand,
  PutLogEventsCommand,
  PutTransformerCommand,
  StartQueryCommand,
  TestTransformerCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { eventually } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

describe('CloudWatch Logs surface', () => {
  let server: TestServer;
  let logs: CloudWatchLogsClient;

  before(async () => {
    server = await startTestServer();
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
  });
  after(async () => {
    logs.destroy();
    await server.stop();
  });

  async function groupWithStream(group: string, stream = 's'): Promise<void> {
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
  }

  test('a transformer rewrites every ingested event; filters and Insights see the result', async () => {
    const group = '/surface/transform';
    await groupWithStream(group);
    await logs.send(
      new PutTransformerCommand({
        logGroupIdentifier: group,
        transformerConfig: [
          { grok: { match: '%{LOGLEVEL:level} %{WORD:op} took %{NUMBER:ms:int}ms' } },
          { lowerCaseString: { withKeys: ['op'] } },
          { copyValue: { entries: [{ source: '@logGroupStream', target: 'stream' }] } },
        ],
      }),
    );
    const now = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 's',
        logEvents: [
          { timestamp: now - 2000, message: 'ERROR Save took 120ms' },
          { timestamp: now - 1000, message: 'INFO Load took 7ms' },
          { timestamp: now, message: 'free text the grok does not match' },
        ],
      }),
    );
    const got = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: 's' }),
    );
    const messages = (got.events ?? []).map((e) => e.message);
    assert.deepEqual(JSON.parse(messages[0] ?? ''), {
      level: 'ERROR',
      op: 'save',
      ms: 120,
      stream: 's',
    });
    assert.equal(messages[2], 'free text the grok does not match');
    const filtered = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, filterPattern: '{ $.ms > 100 }' }),
    );
    assert.deepEqual(
      (filtered.events ?? []).map((e) => (JSON.parse(e.message ?? '{}') as { op: string }).op),
      ['save'],
    );
    const { queryId } = await logs.send(
      new StartQueryCommand({
        logGroupName: group,
        startTime: Math.floor(now / 1000) - 60,
        endTime: Math.floor(now / 1000) + 60,
        queryString: 'filter level = "INFO" | fields op, ms',
      }),
    );
    const rows = await eventually('the Insights query', async () => {
      const r = await logs.send(new GetQueryResultsCommand({ queryId }));
      return r.status === 'Complete' ? r.results : undefined;
    });
    assert.equal(rows?.length, 1);
    const row = Object.fromEntries((rows?.[0] ?? []).map((f) => [f.field, f.value]));
    assert.equal(row.op, 'load');
    assert.equal(row.ms, '7');
  });

  test('TestTransformer runs the string, type and date processors', async () => {
    const r = await logs.send(
      new TestTransformerCommand({
        transformerConfig: [
          { parseKeyValue: { fieldDelimiter: ' ' } },
          { typeConverter: { entries: [{ key: 'code', type: 'integer' }] } },
          { substituteString: { entries: [{ source: 'user', from: '[0-9]', to: '#' }] } },
          {
            dateTimeConverter: {
              source: 'at',
              target: 'at',
              matchPatterns: ["yyyy-MM-dd'T'HH:mm:ssXXX"],
            },
          },
        ],
        logEventMessages: ['code=404 user=u42 at=2026-12-04T08:00:00+02:00'],
      }),
    );
    assert.deepEqual(JSON.parse(r.transformedLogs?.[0]?.transformedEventMessage ?? ''), {
      code: 404,
      user: 'u##',
      at: '2026-12-04T06:00:00.000Z',
    });
  });
});
