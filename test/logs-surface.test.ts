/**
 * CloudWatch Logs' wider surface through real clients: transformers applied at ingestion,
 * scheduled queries, field indexes, lookup tables, import tasks and integrations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssociateSourceToS3TableIntegrationCommand,
  CloudWatchLogsClient,
  CreateImportTaskCommand,
  CreateLogAnomalyDetectorCommand,
  CreateScheduledQueryCommand,
  DeleteScheduledQueryCommand,
  DescribeConfigurationTemplatesCommand,
  DescribeFieldIndexesCommand,
  DescribeImportTasksCommand,
  DescribeLogGroupsCommand,
  GetIntegrationCommand,
  GetLogObjectCommand,
  GetScheduledQueryCommand,
  GetScheduledQueryHistoryCommand,
  ListAggregateLogGroupSummariesCommand,
  ListIntegrationsCommand,
  ListLogGroupsForQueryCommand,
  ListScheduledQueriesCommand,
  PutBearerTokenAuthenticationCommand,
  PutIndexPolicyCommand,
  PutIntegrationCommand,
  UpdateAnomalyCommand,
  UpdateScheduledQueryCommand,
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
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { python } from './helpers/clients.js';
import { clock } from './helpers/events.js';
import { eventually } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

describe('CloudWatch Logs surface', () => {
  let server: TestServer;
  let logs: CloudWatchLogsClient;
  let iam: IAMClient;
  let s3: S3Client;
  let roleArn: string;

  before(async () => {
    server = await startTestServer();
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    iam = new IAMClient(clientConfig(server.endpoint));
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'logs.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: 'scheduled-queries', AssumeRolePolicyDocument: trust }),
    );
    roleArn = role.Role?.Arn ?? '';
  });
  after(async () => {
    logs.destroy();
    iam.destroy();
    s3.destroy();
    await server.stop();
  });

  /** The error an operation answers with: its name and message. */
  async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'expected an error');
    return { name: err.name, message: err.message };
  }

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

  test('a scheduled query runs on the clock, writes its results to S3 and keeps a history', async () => {
    const group = '/surface/scheduled';
    await groupWithStream(group);
    await s3.send(new CreateBucketCommand({ Bucket: 'sq-results' }));
    const now = (await clock(server.endpoint)).now;
    const at = Date.parse(now);
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 's',
        logEvents: [
          { timestamp: at - 3000, message: '{"level":"ERROR","path":"/a"}' },
          { timestamp: at - 2000, message: '{"level":"INFO","path":"/a"}' },
          { timestamp: at - 1000, message: '{"level":"ERROR","path":"/b"}' },
        ],
      }),
    );
    const created = await logs.send(
      new CreateScheduledQueryCommand({
        name: 'errors-by-path',
        queryLanguage: 'CWLI',
        queryString: 'filter level = "ERROR" | stats count(*) as n by path | sort path',
        logGroupIdentifiers: [group],
        scheduleExpression: 'rate(1 hour)',
        startTimeOffset: 3600,
        executionRoleArn: roleArn,
        destinationConfiguration: {
          s3Configuration: { destinationIdentifier: 's3://sq-results/reports', roleArn },
        },
      }),
    );
    assert.equal(created.state, 'ENABLED');
    const arn = created.scheduledQueryArn ?? '';
    assert.match(arn, /^arn:aws:logs:us-east-1:\d{12}:scheduled-query:/);

    const fired = await clock(server.endpoint, { fire: arn });
    assert.equal(fired.fired, 1);
    const history = await logs.send(
      new GetScheduledQueryHistoryCommand({
        identifier: 'errors-by-path',
        startTime: at - 60_000,
        endTime: at + 3_600_000,
      }),
    );
    assert.equal(history.triggerHistory?.length, 1);
    const run = history.triggerHistory?.[0];
    assert.equal(run?.executionStatus, 'Complete');
    const dest = run?.destinations?.[0];
    assert.equal(dest?.status, 'COMPLETE');
    const objectKey = (dest?.processedIdentifier ?? '').replace('s3://sq-results/', '');
    assert.equal(objectKey, `reports/errors-by-path/${run?.queryId}.json`);
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'sq-results', Key: objectKey }));
    assert.deepEqual(JSON.parse((await obj.Body?.transformToString()) ?? ''), [
      { path: '/a', n: '1' },
      { path: '/b', n: '1' },
    ]);
    const got = await logs.send(new GetScheduledQueryCommand({ identifier: arn }));
    assert.equal(got.lastExecutionStatus, 'Complete');
    assert.equal(got.scheduleExpression, 'rate(1 hour)');

    // Moving the clock past the next hour runs it again on its own schedule.
    await clock(server.endpoint, { advanceSeconds: 3700 });
    const again = await logs.send(
      new GetScheduledQueryHistoryCommand({
        identifier: arn,
        startTime: at - 60_000,
        endTime: at + 7_200_000,
      }),
    );
    assert.equal(again.triggerHistory?.length, 2);

    await logs.send(
      new UpdateScheduledQueryCommand({
        identifier: 'errors-by-path',
        queryLanguage: 'CWLI',
        queryString: 'fields @message',
        logGroupIdentifiers: [group],
        scheduleExpression: 'cron(0 12 * * ? *)',
        executionRoleArn: roleArn,
        state: 'DISABLED',
      }),
    );
    const listed = await logs.send(new ListScheduledQueriesCommand({ state: 'DISABLED' }));
    assert.deepEqual(
      listed.scheduledQueries?.map((q) => [q.name, q.scheduleExpression]),
      [['errors-by-path', 'cron(0 12 * * ? *)']],
    );
    // A disabled query is off the clock.
    assert.equal((await failure(clock(server.endpoint, { fire: arn }))).name, 'Error');

    const errors = {
      role: await failure(
        logs.send(
          new CreateScheduledQueryCommand({
            name: 'no-role',
            queryLanguage: 'CWLI',
            queryString: 'fields @message',
            logGroupIdentifiers: [group],
            scheduleExpression: 'rate(1 hour)',
            executionRoleArn: roleArn.replace('scheduled-queries', 'missing'),
          }),
        ),
      ),
      schedule: await failure(
        logs.send(
          new CreateScheduledQueryCommand({
            name: 'bad-schedule',
            queryLanguage: 'CWLI',
            queryString: 'fields @message',
            logGroupIdentifiers: [group],
            scheduleExpression: 'rate(1 hours)',
            executionRoleArn: roleArn,
          }),
        ),
      ),
      duplicate: await failure(
        logs.send(
          new CreateScheduledQueryCommand({
            name: 'errors-by-path',
            queryLanguage: 'CWLI',
            queryString: 'fields @message',
            logGroupIdentifiers: [group],
            scheduleExpression: 'rate(1 hour)',
            executionRoleArn: roleArn,
          }),
        ),
      ),
    };
    assert.deepEqual(Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, v.name])), {
      role: 'AccessDeniedException',
      schedule: 'ValidationException',
      duplicate: 'ConflictException',
    });
    await logs.send(new DeleteScheduledQueryCommand({ identifier: arn }));
    assert.equal(
      (await failure(logs.send(new GetScheduledQueryCommand({ identifier: arn })))).name,
      'ResourceNotFoundException',
    );
  });

  test('boto3: lookup tables are stored as CSV with their header and row count', async () => {
    const script = `
import boto3, json, os
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'])
arn = c.create_lookup_table(lookupTableName='users', tableBody='id,name\\n1,ada\\n2,alan\\n',
    description='people')['lookupTableArn']
got = c.get_lookup_table(lookupTableArn=arn)
c.update_lookup_table(lookupTableArn=arn, tableBody='id,name,team\\n1,ada,x\\n')
listed = c.describe_lookup_tables(lookupTableNamePrefix='us')['lookupTables']
def code(f):
    try:
        f()
        return None
    except c.exceptions.ClientError as e:
        return e.response['Error']['Code']
errors = {
    'exists': code(lambda: c.create_lookup_table(lookupTableName='users', tableBody='a\\n')),
    'badName': code(lambda: c.create_lookup_table(lookupTableName='bad-name', tableBody='a\\n')),
}
c.delete_lookup_table(lookupTableArn=arn)
errors['deleted'] = code(lambda: c.get_lookup_table(lookupTableArn=arn))
print(json.dumps({'arn': arn, 'body': got['tableBody'], 'size': got['sizeBytes'],
    'listed': [{k: t[k] for k in ('lookupTableName', 'tableFields', 'recordsCount')} for t in listed],
    'errors': errors}))
`;
    const res = await python(server.endpoint, script);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as {
      arn: string;
      body: string;
      size: number;
      listed: unknown[];
      errors: Record<string, string>;
    };
    assert.match(out.arn, /:lookup-table:users$/);
    assert.equal(out.body, 'id,name\n1,ada\n2,alan\n');
    assert.equal(out.size, out.body.length);
    assert.deepEqual(out.listed, [
      { lookupTableName: 'users', tableFields: ['id', 'name', 'team'], recordsCount: 1 },
    ]);
    assert.deepEqual(out.errors, {
      exists: 'ResourceAlreadyExistsException',
      badName: 'InvalidParameterException',
      deleted: 'ResourceNotFoundException',
    });
  });

  test('boto3: a scheduled query is created, listed, read back and deleted', async () => {
    await groupWithStream('/surface/boto3-scheduled');
    const script = `
import boto3, json, os
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'])
created = c.create_scheduled_query(name='boto3-hourly', queryLanguage='CWLI',
    queryString='stats count(*)', logGroupIdentifiers=['/surface/boto3-scheduled'],
    scheduleExpression='cron(0 * * * ? *)', timezone='Europe/Berlin',
    executionRoleArn=os.environ['ROLE'], state='DISABLED')
got = c.get_scheduled_query(identifier='boto3-hourly')
names = [q['name'] for q in c.list_scheduled_queries()['scheduledQueries']]
c.delete_scheduled_query(identifier=created['scheduledQueryArn'])
try:
    c.get_scheduled_query(identifier='boto3-hourly')
    gone = None
except c.exceptions.ClientError as e:
    gone = e.response['Error']['Code']
print(json.dumps({'state': created['state'], 'timezone': got['timezone'],
    'expression': got['scheduleExpression'], 'names': names, 'gone': gone}))
`;
    const res = await python(server.endpoint, script, { ROLE: roleArn });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    assert.equal(out.state, 'DISABLED');
    assert.equal(out.timezone, 'Europe/Berlin');
    assert.equal(out.expression, 'cron(0 * * * ? *)');
    assert.ok((out.names as string[]).includes('boto3-hourly'));
    assert.equal(out.gone, 'ResourceNotFoundException');
  });

  test('field indexes follow the index policy; query groups, bearer tokens, anomalies', async () => {
    const group = '/surface/indexed';
    await groupWithStream(group);
    const now = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 's',
        logEvents: [
          { timestamp: now - 2000, message: '{"requestId":"a","level":"INFO"}' },
          { timestamp: now - 1000, message: '{"requestId":"b"}' },
        ],
      }),
    );
    await logs.send(
      new PutIndexPolicyCommand({
        logGroupIdentifier: group,
        policyDocument: JSON.stringify({ Fields: ['requestId', 'level', 'absent'] }),
      }),
    );
    const indexes = await logs.send(
      new DescribeFieldIndexesCommand({ logGroupIdentifiers: [group] }),
    );
    const byName = Object.fromEntries(
      (indexes.fieldIndexes ?? []).map((i) => [
        i.fieldIndexName,
        [i.firstEventTime, i.lastEventTime],
      ]),
    );
    assert.deepEqual(byName, {
      requestId: [now - 2000, now - 1000],
      level: [now - 2000, now - 2000],
      absent: [undefined, undefined],
    });

    const { queryId } = await logs.send(
      new StartQueryCommand({
        logGroupIdentifiers: [group],
        startTime: Math.floor(now / 1000) - 60,
        endTime: Math.floor(now / 1000),
        queryString: 'fields @message',
      }),
    );
    const forQuery = await logs.send(new ListLogGroupsForQueryCommand({ queryId }));
    assert.equal(forQuery.logGroupIdentifiers?.length, 1);
    assert.match(forQuery.logGroupIdentifiers?.[0] ?? '', /:log-group:\/surface\/indexed$/);

    await logs.send(
      new PutBearerTokenAuthenticationCommand({
        logGroupIdentifier: group,
        bearerTokenAuthenticationEnabled: true,
      }),
    );
    const described = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
    assert.equal(described.logGroups?.[0]?.bearerTokenAuthenticationEnabled, true);

    const detector = await logs.send(
      new CreateLogAnomalyDetectorCommand({
        logGroupArnList: [forQuery.logGroupIdentifiers?.[0] ?? ''],
      }),
    );
    const anomaly = await failure(
      logs.send(
        new UpdateAnomalyCommand({
          anomalyDetectorArn: detector.anomalyDetectorArn,
          anomalyId: '00000000-0000-4000-8000-000000000000',
          suppressionType: 'INFINITE',
        }),
      ),
    );
    assert.equal(anomaly.name, 'ResourceNotFoundException');
    const noTarget = await failure(
      logs.send(new UpdateAnomalyCommand({ anomalyDetectorArn: detector.anomalyDetectorArn })),
    );
    assert.equal(noTarget.name, 'InvalidParameterException');
  });

  test('services Stratus does not run: not-found answers and empty lists, never a 501', async () => {
    const put = await failure(
      logs.send(
        new PutIntegrationCommand({
          integrationName: 'os',
          integrationType: 'OPENSEARCH',
          resourceConfig: {
            openSearchResourceConfig: {
              dataSourceRoleArn: roleArn,
              dashboardViewerPrincipals: [roleArn],
              retentionDays: 30,
            },
          },
        }),
      ),
    );
    assert.equal(put.name, 'InvalidParameterException');
    assert.match(put.message, /OpenSearch/);
    assert.equal(
      (await failure(logs.send(new GetIntegrationCommand({ integrationName: 'os' })))).name,
      'ResourceNotFoundException',
    );
    assert.deepEqual((await logs.send(new ListIntegrationsCommand({}))).integrationSummaries, []);
    const s3Tables = await failure(
      logs.send(
        new AssociateSourceToS3TableIntegrationCommand({
          integrationArn: 'arn:aws:logs:us-east-1:000000000000:integration:x',
          dataSource: { name: 'amazon_vpc' },
        }),
      ),
    );
    assert.equal(s3Tables.name, 'ResourceNotFoundException');
    const imported = await failure(
      logs.send(
        new CreateImportTaskCommand({
          importSourceArn: 'arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/abc',
          importRoleArn: roleArn,
        }),
      ),
    );
    assert.equal(imported.name, 'ResourceNotFoundException');
    assert.match(imported.message, /eventdatastore\/abc/);
    assert.deepEqual((await logs.send(new DescribeImportTasksCommand({}))).imports, []);
    // GetLogObject streams: the SDK adds AWS's `stream-` host prefix unless told not to.
    const streaming = new CloudWatchLogsClient({
      ...clientConfig(server.endpoint),
      disableHostPrefix: true,
    });
    try {
      const object = await failure(
        streaming.send(new GetLogObjectCommand({ logObjectPointer: 'x' })),
      );
      assert.equal(object.name, 'ResourceNotFoundException');
    } finally {
      streaming.destroy();
    }
    const templates = await logs.send(new DescribeConfigurationTemplatesCommand({}));
    assert.deepEqual(templates.configurationTemplates, []);
    const summaries = await logs.send(
      new ListAggregateLogGroupSummariesCommand({ groupBy: 'DATA_SOURCE_NAME_AND_TYPE' }),
    );
    assert.deepEqual(summaries.aggregateLogGroupSummaries, []);
  });
});
