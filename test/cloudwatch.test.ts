/**
 * CloudWatch metrics through real clients on all three protocols: SDK v3 with its default
 * (awsJson 1.0) and with Smithy RPC v2 CBOR, boto3 (CBOR, the first protocol botocore
 * speaks), the AWS CLI v2 (query). Metric data in and out, statistics and percentiles,
 * metric math and search, paging, alarms (state, history, composite), dashboards, and
 * malformed CBOR answered with AWS's error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DeleteDashboardsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListDashboardsCommand,
  ListMetricsCommand,
  PutCompositeAlarmCommand,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  PutMetricFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { cbor } from '@smithy/core/cbor';
import { awsCli, python } from './helpers/clients.js';
import { failureDetail as failure } from './helpers/failure.js';
import { eventually } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/sign.js';

const MINUTE = 60_000;
/** The start of the current minute, so every point of a test lands in one period. */
const minuteStart = (): number => Math.floor(Date.now() / MINUTE) * MINUTE;

describe('CloudWatch metrics and alarms through SDK v3, boto3 and the AWS CLI', () => {
  let server: TestServer;
  let json: CloudWatchClient;
  let cborClient: CloudWatchClient;

  before(async () => {
    server = await startTestServer();
    json = new CloudWatchClient(clientConfig(server.endpoint));
    cborClient = new CloudWatchClient({
      ...clientConfig(server.endpoint),
      protocol: AwsSmithyRpcV2CborProtocol,
    });
  });
  after(async () => {
    json.destroy();
    cborClient.destroy();
    await server.stop();
  });

  for (const [protocol, client] of [
    ['awsJson 1.0 (SDK default)', () => json],
    ['rpc-v2-cbor', () => cborClient],
  ] as const) {
    test(`${protocol}: put values, statistic sets and counts; get statistics and percentiles`, async () => {
      const c = client();
      const ns = `Test/${protocol.split(' ')[0]}`;
      const minute = minuteStart();
      const t = new Date(minute + 1000);
      const dims = [{ Name: 'Service', Value: 'checkout' }];
      await c.send(
        new PutMetricDataCommand({
          Namespace: ns,
          MetricData: [
            {
              MetricName: 'Latency',
              Dimensions: dims,
              Timestamp: t,
              Unit: 'Milliseconds',
              Values: [10, 20, 30, 40],
              Counts: [1, 1, 1, 7],
            },
            {
              MetricName: 'Latency',
              Dimensions: dims,
              Timestamp: t,
              Unit: 'Milliseconds',
              Value: 100,
            },
            {
              MetricName: 'Requests',
              Dimensions: dims,
              Timestamp: t,
              Unit: 'Count',
              StatisticValues: { SampleCount: 4, Sum: 10, Minimum: 1, Maximum: 4 },
            },
          ],
        }),
      );
      const range = {
        StartTime: new Date(t.getTime() - 5 * MINUTE),
        EndTime: new Date(t.getTime() + MINUTE),
      };
      const stats = await c.send(
        new GetMetricStatisticsCommand({
          Namespace: ns,
          MetricName: 'Latency',
          Dimensions: dims,
          Period: 60,
          Statistics: ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'],
          ...range,
        }),
      );
      assert.equal(stats.Label, 'Latency');
      assert.deepEqual(stats.Datapoints, [
        {
          Timestamp: new Date(minute),
          SampleCount: 11,
          Sum: 10 + 20 + 30 + 280 + 100,
          Average: 440 / 11,
          Minimum: 10,
          Maximum: 100,
          Unit: 'Milliseconds',
        },
      ]);
      const pct = await c.send(
        new GetMetricStatisticsCommand({
          Namespace: ns,
          MetricName: 'Latency',
          Dimensions: dims,
          Period: 60,
          ExtendedStatistics: ['p50', 'p90', 'p100'],
          ...range,
        }),
      );
      assert.deepEqual(pct.Datapoints?.[0].ExtendedStatistics, { p50: 40, p90: 40, p100: 100 });
      const sets = await c.send(
        new GetMetricStatisticsCommand({
          Namespace: ns,
          MetricName: 'Requests',
          Dimensions: dims,
          Period: 60,
          Statistics: ['SampleCount', 'Sum', 'Minimum', 'Maximum'],
          ...range,
        }),
      );
      assert.equal(sets.Datapoints?.[0].SampleCount, 4);
      assert.equal(sets.Datapoints?.[0].Sum, 10);
      // A wrong unit filters every point out.
      const none = await c.send(
        new GetMetricStatisticsCommand({
          Namespace: ns,
          MetricName: 'Latency',
          Dimensions: dims,
          Period: 60,
          Statistics: ['Sum'],
          Unit: 'Seconds',
          ...range,
        }),
      );
      assert.deepEqual(none.Datapoints, []);
      const listed = await c.send(
        new ListMetricsCommand({ Namespace: ns, RecentlyActive: 'PT3H' }),
      );
      assert.deepEqual(
        listed.Metrics?.map((m) => m.MetricName),
        ['Latency', 'Requests'],
      );
    });

    test(`${protocol}: AWS's errors (reserved namespace, too many datapoints, bad period)`, async () => {
      const c = client();
      const reserved = await failure(
        c.send(
          new PutMetricDataCommand({
            Namespace: 'AWS/Lambda',
            MetricData: [{ MetricName: 'x', Value: 1 }],
          }),
        ),
      );
      assert.equal(reserved.name, 'InvalidParameterValueException');
      assert.equal(reserved.status, 400);
      const tooMany = await failure(
        c.send(
          new GetMetricStatisticsCommand({
            Namespace: 'x',
            MetricName: 'y',
            StartTime: new Date(Date.now() - 2 * 86400_000),
            EndTime: new Date(),
            Period: 60,
            Statistics: ['Sum'],
          }),
        ),
      );
      assert.equal(tooMany.name, 'InvalidParameterCombinationException');
      assert.match(String(tooMany.message), /exceeds the limit of 1,440/);
      const period = await failure(
        c.send(
          new GetMetricStatisticsCommand({
            Namespace: 'x',
            MetricName: 'y',
            StartTime: new Date(Date.now() - 3600_000),
            EndTime: new Date(),
            Period: 7,
            Statistics: ['Sum'],
          }),
        ),
      );
      assert.equal(period.name, 'InvalidParameterValueException');
      const gone = await failure(c.send(new GetDashboardCommand({ DashboardName: 'nope' })));
      // DashboardNotFoundError and ResourceNotFound share the code `ResourceNotFound`, which
      // the query-compatible header carries: the SDK names the error by it.
      assert.equal(gone.name, 'ResourceNotFound');
      assert.equal(gone.status, 404);
    });
  }

  test('1,000 data points in one call, gzipped by the SDK past 10 KB, all land', async () => {
    const minute = minuteStart();
    const MetricData = Array.from({ length: 1000 }, (_, i) => ({
      MetricName: `load-${i % 10}`,
      Dimensions: [{ Name: 'Worker', Value: `w${i % 3}` }],
      Timestamp: new Date(minute - (i % 50) * MINUTE),
      Value: i,
    }));
    await json.send(new PutMetricDataCommand({ Namespace: 'Test/Bulk', MetricData }));
    const listed = await cborClient.send(new ListMetricsCommand({ Namespace: 'Test/Bulk' }));
    assert.equal(listed.Metrics?.length, 30);
    const out = await cborClient.send(
      new GetMetricDataCommand({
        StartTime: new Date(minute - 60 * MINUTE),
        EndTime: new Date(minute + MINUTE),
        MetricDataQueries: [
          {
            Id: 'n',
            Expression: `SUM(SEARCH('{Test/Bulk,Worker} load', 'SampleCount', 3600))`,
            Period: 3600,
          },
        ],
      }),
    );
    const values = out.MetricDataResults?.[0].Values ?? [];
    assert.equal(
      values.reduce((a, b) => a + b, 0),
      1000,
    );
  });

  test('GetMetricData: metric math, METRICS(), FILL, IF, RATE, SEARCH and paging', async () => {
    const ns = 'Test/Math';
    const base = minuteStart() - 4 * MINUTE;
    const data = [];
    for (let i = 0; i < 4; i++) {
      const Timestamp = new Date(base + i * MINUTE + 5000);
      data.push({
        MetricName: 'Errors',
        Dimensions: [{ Name: 'Fn', Value: 'a' }],
        Timestamp,
        Value: i,
      });
      data.push({
        MetricName: 'Calls',
        Dimensions: [{ Name: 'Fn', Value: 'a' }],
        Timestamp,
        Value: 10,
      });
      data.push({
        MetricName: 'Errors',
        Dimensions: [{ Name: 'Fn', Value: 'b' }],
        Timestamp,
        Value: 1,
      });
    }
    // A gap at the third minute for FILL.
    data.push({
      MetricName: 'Sparse',
      Timestamp: new Date(base + 5000),
      Value: 2,
    });
    data.push({
      MetricName: 'Sparse',
      Timestamp: new Date(base + 3 * MINUTE + 5000),
      Value: 8,
    });
    await cborClient.send(new PutMetricDataCommand({ Namespace: ns, MetricData: data }));
    const metric = (name: string, fn?: string) => ({
      Namespace: ns,
      MetricName: name,
      Dimensions: fn ? [{ Name: 'Fn', Value: fn }] : [],
    });
    const out = await cborClient.send(
      new GetMetricDataCommand({
        StartTime: new Date(base),
        EndTime: new Date(base + 4 * MINUTE),
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          {
            Id: 'e',
            MetricStat: { Metric: metric('Errors', 'a'), Period: 60, Stat: 'Sum' },
            ReturnData: false,
          },
          {
            Id: 'c',
            MetricStat: { Metric: metric('Calls', 'a'), Period: 60, Stat: 'Sum' },
            ReturnData: false,
          },
          {
            Id: 's',
            MetricStat: { Metric: metric('Sparse'), Period: 60, Stat: 'Sum' },
            ReturnData: false,
          },
          { Id: 'rate', Expression: '100 * e / c', Label: 'ErrorRate' },
          { Id: 'total', Expression: 'SUM(METRICS())' },
          { Id: 'avg', Expression: 'AVG(e)' },
          { Id: 'filled', Expression: 'FILL(s, LINEAR)' },
          { Id: 'zero', Expression: 'FILL(s, 0)' },
          { Id: 'flag', Expression: 'IF(e >= 2, 1, 0)' },
          { Id: 'diff', Expression: 'RATE(e)' },
          {
            Id: 'search',
            Expression: `SEARCH('{${ns},Fn} MetricName="Errors"', 'Sum', 60)`,
          },
        ],
      }),
    );
    const byId = (id: string) => out.MetricDataResults?.filter((r) => r.Id === id) ?? [];
    assert.equal(byId('e').length, 0, 'ReturnData false is not returned');
    assert.deepEqual(byId('rate')[0].Values, [0, 10, 20, 30]);
    assert.equal(byId('rate')[0].Label, 'ErrorRate');
    assert.deepEqual(
      byId('rate')[0].Timestamps,
      [0, 1, 2, 3].map((i) => new Date(base + i * MINUTE)),
    );
    // e + c + s (s only where present: missing points do not count).
    assert.deepEqual(byId('total')[0].Values, [12, 11, 12, 21]);
    assert.deepEqual(byId('avg')[0].Values, [1.5, 1.5, 1.5, 1.5]);
    assert.deepEqual(byId('filled')[0].Values, [2, 4, 6, 8]);
    assert.deepEqual(byId('zero')[0].Values, [2, 0, 0, 8]);
    assert.deepEqual(byId('flag')[0].Values, [0, 0, 1, 1]);
    assert.deepEqual(byId('diff')[0].Values, [1 / 60, 1 / 60, 1 / 60]);
    const search = byId('search');
    assert.deepEqual(search.map((r) => r.Label).sort(), ['a Errors', 'b Errors']);

    // Paging by MaxDatapoints: every point exactly once, in order.
    const seen: number[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await json.send(
        new GetMetricDataCommand({
          StartTime: new Date(base),
          EndTime: new Date(base + 4 * MINUTE),
          MaxDatapoints: 3,
          NextToken,
          MetricDataQueries: [
            { Id: 'e', MetricStat: { Metric: metric('Errors', 'a'), Period: 60, Stat: 'Sum' } },
            { Id: 'c', MetricStat: { Metric: metric('Calls', 'a'), Period: 60, Stat: 'Sum' } },
          ],
        }),
      );
      for (const r of page.MetricDataResults ?? []) seen.push(...(r.Values ?? []));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    assert.equal(pages, 3);
    // Newest first by default.
    assert.deepEqual(seen, [3, 2, 1, 0, 10, 10, 10, 10]);

    const bad = await failure(
      json.send(
        new GetMetricDataCommand({
          StartTime: new Date(base),
          EndTime: new Date(base + MINUTE),
          MetricDataQueries: [{ Id: 'x', Expression: 'nothere * (' }],
        }),
      ),
    );
    assert.equal(bad.name, 'InvalidParameterValueException');
  });

  test('GetMetricData over centuries at a 1-second period reads only what retention keeps', async () => {
    // Found by fuzzing: the grid was built over the whole range first (tens of millions of
    // timestamps, gigabytes of RSS). AWS keeps sub-minute data 3 hours and nothing 455 days.
    const ns = 'Test/Retention';
    const Timestamp = new Date(Date.now() - 10 * MINUTE);
    await json.send(
      new PutMetricDataCommand({
        Namespace: ns,
        MetricData: [{ MetricName: 'Hits', Timestamp, Value: 7, StorageResolution: 1 }],
      }),
    );
    const before = process.memoryUsage.rss();
    const started = Date.now();
    const out = await json.send(
      new GetMetricDataCommand({
        StartTime: new Date('1900-01-01T00:00:00Z'),
        EndTime: new Date('2999-01-01T00:00:00Z'),
        MetricDataQueries: [
          {
            Id: 'hits',
            MetricStat: { Metric: { Namespace: ns, MetricName: 'Hits' }, Period: 1, Stat: 'Sum' },
          },
          { Id: 'filled', Expression: 'FILL(hits, 0)' },
        ],
      }),
    );
    const hits = out.MetricDataResults?.find((r) => r.Id === 'hits');
    assert.deepEqual(hits?.Values, [7]);
    assert.equal(hits?.Timestamps?.[0]?.getTime(), Math.floor(Timestamp.getTime() / 1000) * 1000);
    // FILL covers the 3 hours kept behind now and the 2 hours ahead PutMetricData accepts.
    const filled = out.MetricDataResults?.find((r) => r.Id === 'filled');
    assert.ok((filled?.Values?.length ?? 0) <= 5 * 3600 + 2, `${filled?.Values?.length} points`);
    assert.ok(Date.now() - started < 30_000, 'answered in seconds');
    assert.ok(process.memoryUsage.rss() - before < 512 * 1024 * 1024);
  });

  test('alarms: SetAlarmState, history, composite alarms, DescribeAlarms filters, delete', async () => {
    await json.send(
      new PutMetricAlarmCommand({
        AlarmName: 'cpu-high',
        Namespace: 'Test/Alarm',
        MetricName: 'CPU',
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 80,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
        AlarmActions: ['arn:aws:sns:us-east-1:000000000000:ops'],
      }),
    );
    await cborClient.send(
      new PutCompositeAlarmCommand({
        AlarmName: 'service-down',
        AlarmRule: 'ALARM("cpu-high") AND NOT OK(cpu-high)',
      }),
    );
    const described = await cborClient.send(
      new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    assert.equal(described.MetricAlarms?.[0].AlarmName, 'cpu-high');
    assert.equal(described.MetricAlarms?.[0].StateValue, 'INSUFFICIENT_DATA');
    assert.equal(described.MetricAlarms?.[0].DatapointsToAlarm, 2);
    assert.equal(
      described.MetricAlarms?.[0].AlarmArn,
      'arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu-high',
    );
    assert.equal(
      described.CompositeAlarms?.[0].AlarmRule,
      'ALARM("cpu-high") AND NOT OK(cpu-high)',
    );
    // Only metric alarms by default.
    assert.equal((await json.send(new DescribeAlarmsCommand({}))).CompositeAlarms?.length ?? 0, 0);

    await json.send(
      new SetAlarmStateCommand({
        AlarmName: 'cpu-high',
        StateValue: 'ALARM',
        StateReason: 'testing',
      }),
    );
    // The composite follows at its next evaluation.
    await eventually('the composite alarm in ALARM', async () => {
      const d = await json.send(
        new DescribeAlarmsCommand({ AlarmNames: ['service-down'], AlarmTypes: ['CompositeAlarm'] }),
      );
      return d.CompositeAlarms?.[0].StateValue === 'ALARM' ? true : undefined;
    });
    const inAlarm = await json.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    assert.deepEqual(
      inAlarm.MetricAlarms?.map((a) => a.AlarmName),
      ['cpu-high'],
    );
    const history = await json.send(new DescribeAlarmHistoryCommand({ AlarmName: 'cpu-high' }));
    const items = history.AlarmHistoryItems ?? [];
    assert.equal(items[0].HistoryItemType, 'Action', 'newest first: the SNS action, stored');
    assert.match(String(items[0].HistorySummary), /arn:aws:sns:us-east-1:000000000000:ops/);
    const update = items.find((i) => i.HistoryItemType === 'StateUpdate');
    assert.equal(update?.HistorySummary, 'Alarm updated from INSUFFICIENT_DATA to ALARM');
    assert.ok(items.some((i) => i.HistoryItemType === 'ConfigurationUpdate'));

    const missing = await failure(json.send(new DeleteAlarmsCommand({ AlarmNames: ['nope'] })));
    assert.equal(missing.name, 'ResourceNotFound');
    await json.send(new DeleteAlarmsCommand({ AlarmNames: ['cpu-high', 'service-down'] }));
    const empty = await json.send(
      new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    assert.equal((empty.MetricAlarms ?? []).length + (empty.CompositeAlarms ?? []).length, 0);
  });

  test('dashboards are stored and returned; an invalid body is refused', async () => {
    const body = JSON.stringify({
      widgets: [{ type: 'text', x: 0, y: 0, width: 6, height: 3, properties: { markdown: 'hi' } }],
    });
    const put = await cborClient.send(
      new PutDashboardCommand({ DashboardName: 'main', DashboardBody: body }),
    );
    assert.deepEqual(put.DashboardValidationMessages, []);
    const got = await json.send(new GetDashboardCommand({ DashboardName: 'main' }));
    assert.equal(got.DashboardBody, body);
    assert.equal(got.DashboardArn, 'arn:aws:cloudwatch::000000000000:dashboard/main');
    const list = await cborClient.send(new ListDashboardsCommand({}));
    assert.deepEqual(
      list.DashboardEntries?.map((d) => [d.DashboardName, d.Size]),
      [['main', body.length]],
    );
    const bad = await failure(
      json.send(
        new PutDashboardCommand({
          DashboardName: 'bad',
          DashboardBody: '{"widgets": [{"type": "nope"}]}',
        }),
      ),
    );
    assert.equal(bad.name, 'DashboardInvalidInputError');
    await json.send(new DeleteDashboardsCommand({ DashboardNames: ['main'] }));
    assert.deepEqual((await json.send(new ListDashboardsCommand({}))).DashboardEntries, []);
  });

  test('boto3 (rpc-v2-cbor) puts and gets metrics and alarms', async () => {
    const r = await python(
      server.endpoint,
      `
import boto3, datetime, json, os
c = boto3.client('cloudwatch', endpoint_url=os.environ['ENDPOINT'])
assert c.meta.service_model.protocol == 'smithy-rpc-v2-cbor', c.meta.service_model.protocol
now = datetime.datetime.now(datetime.timezone.utc).replace(second=30, microsecond=0)
c.put_metric_data(Namespace='Boto/Test', MetricData=[
  {'MetricName': 'Bytes', 'Value': 512, 'Unit': 'Bytes', 'Timestamp': now},
  {'MetricName': 'Bytes', 'Values': [1024, 2048], 'Unit': 'Bytes', 'Timestamp': now},
])
s = c.get_metric_statistics(Namespace='Boto/Test', MetricName='Bytes', Period=60,
  StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1),
  Statistics=['Sum', 'SampleCount', 'Maximum'])
d = s['Datapoints'][0]
d['Timestamp'] = d['Timestamp'].isoformat()
m = c.get_metric_data(StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1),
  MetricDataQueries=[{'Id': 'b', 'MetricStat': {'Metric': {'Namespace': 'Boto/Test', 'MetricName': 'Bytes'}, 'Period': 60, 'Stat': 'Average'}}])
try:
  c.get_dashboard(DashboardName='missing')
  err = None
except c.exceptions.ClientError as e:
  err = e.response['Error']['Code']
print(json.dumps({'dp': d, 'values': m['MetricDataResults'][0]['Values'], 'err': err}))
`,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      dp: Record<string, unknown>;
      values: number[];
      err: string;
    };
    assert.equal(out.dp.Sum, 3584);
    assert.equal(out.dp.SampleCount, 3);
    assert.equal(out.dp.Maximum, 2048);
    assert.equal(out.dp.Unit, 'Bytes');
    assert.deepEqual(
      out.values.map((v) => Math.round(v * 1000) / 1000),
      [1194.667],
    );
    assert.equal(out.err, 'ResourceNotFound');
  });

  test('the AWS CLI v2 (query) puts, gets, lists and alarms', async () => {
    const put = await awsCli(server.endpoint, [
      'cloudwatch',
      'put-metric-data',
      '--namespace',
      'Cli/Test',
      '--metric-name',
      'Hits',
      '--unit',
      'Count',
      '--value',
      '3',
      '--dimensions',
      'Page=home',
    ]);
    assert.equal(put.code, 0, put.stderr);
    const now = Date.now();
    const get = await awsCli(server.endpoint, [
      'cloudwatch',
      'get-metric-statistics',
      '--namespace',
      'Cli/Test',
      '--metric-name',
      'Hits',
      '--dimensions',
      'Name=Page,Value=home',
      '--start-time',
      new Date(now - 10 * MINUTE).toISOString(),
      '--end-time',
      new Date(now + MINUTE).toISOString(),
      '--period',
      '60',
      '--statistics',
      'Sum',
      'SampleCount',
    ]);
    assert.equal(get.code, 0, get.stderr);
    const dp = (JSON.parse(get.stdout) as { Datapoints: Record<string, unknown>[] }).Datapoints;
    assert.deepEqual(
      dp.map((d) => [d.Sum, d.SampleCount, d.Unit]),
      [[3, 1, 'Count']],
    );
    const list = await awsCli(server.endpoint, [
      'cloudwatch',
      'list-metrics',
      '--namespace',
      'Cli/Test',
    ]);
    assert.deepEqual(JSON.parse(list.stdout), {
      Metrics: [
        {
          Namespace: 'Cli/Test',
          MetricName: 'Hits',
          Dimensions: [{ Name: 'Page', Value: 'home' }],
        },
      ],
    });
    const alarm = await awsCli(server.endpoint, [
      'cloudwatch',
      'put-metric-alarm',
      '--alarm-name',
      'cli-hits',
      '--namespace',
      'Cli/Test',
      '--metric-name',
      'Hits',
      '--dimensions',
      'Name=Page,Value=home',
      '--statistic',
      'Sum',
      '--period',
      '60',
      '--evaluation-periods',
      '1',
      '--threshold',
      '1',
      '--comparison-operator',
      'GreaterThanOrEqualToThreshold',
    ]);
    assert.equal(alarm.code, 0, alarm.stderr);
    // 3 hits in the current minute breach "Sum >= 1".
    await eventually(
      'the CLI alarm in ALARM',
      async () => {
        const d = await awsCli(server.endpoint, [
          'cloudwatch',
          'describe-alarms',
          '--alarm-names',
          'cli-hits',
        ]);
        const a = (
          JSON.parse(d.stdout) as { MetricAlarms: { StateValue: string; StateReason: string }[] }
        ).MetricAlarms[0];
        return a.StateValue === 'ALARM' ? a : undefined;
      },
      60_000,
    );
    const bad = await awsCli(server.endpoint, [
      'cloudwatch',
      'get-dashboard',
      '--dashboard-name',
      'x',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ResourceNotFound/);
  });

  test('log metric filters publish their metrics into CloudWatch', async () => {
    const logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    try {
      await logs.send(new CreateLogGroupCommand({ logGroupName: 'app' }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: 'app', logStreamName: 's' }));
      await logs.send(
        new PutMetricFilterCommand({
          logGroupName: 'app',
          filterName: 'errors',
          filterPattern: '{ $.level = "error" }',
          metricTransformations: [
            {
              metricNamespace: 'App',
              metricName: 'ErrorLatency',
              metricValue: '$.latency',
              dimensions: { Service: '$.svc' },
              unit: 'Milliseconds',
            },
          ],
        }),
      );
      const t = Date.now();
      const line = (level: string, latency: number) =>
        JSON.stringify({ level, latency, svc: 'cart' });
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: 'app',
          logStreamName: 's',
          logEvents: [
            { timestamp: t, message: line('error', 120) },
            { timestamp: t, message: line('info', 5) },
            { timestamp: t, message: line('error', 30) },
          ],
        }),
      );
      const stats = await eventually('the metric filter data', async () => {
        const out = await json.send(
          new GetMetricStatisticsCommand({
            Namespace: 'App',
            MetricName: 'ErrorLatency',
            Dimensions: [{ Name: 'Service', Value: 'cart' }],
            StartTime: new Date(t - 5 * MINUTE),
            EndTime: new Date(t + MINUTE),
            Period: 60,
            Statistics: ['Sum', 'SampleCount'],
          }),
        );
        const n = (out.Datapoints ?? []).reduce((a, d) => a + (d.SampleCount ?? 0), 0);
        return n >= 2 ? out.Datapoints : undefined;
      });
      assert.deepEqual(
        stats.map((d) => [d.Sum, d.SampleCount, d.Unit]),
        [[150, 2, 'Milliseconds']],
      );
    } finally {
      logs.destroy();
    }
  });

  test('malformed CBOR gets a SerializationException in CBOR, never a crash', async () => {
    const path = '/service/GraniteServiceVersion20100801/operation/PutMetricData';
    const headers = { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' };
    const bodies: Buffer[] = [
      Buffer.from([0xbf, 0x61]), // an indefinite map cut short
      Buffer.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a list of 2^64 items
      Buffer.from([0xc4, 0x82, 0x1a, 0x10, 0x00, 0x00, 0x00, 0x01]), // decimal 1e-268435456
      Buffer.alloc(100_000, 0x81), // 100,000 nested lists
      Buffer.from([0xd8, 0x1b, 0x82, 0x65, 0x45, 0x72, 0x72, 0x6f, 0x72, 0x00]), // tag 27
      Buffer.from('{"Namespace": "json, not cbor"}'),
      Buffer.from(cbor.serialize({ Namespace: 5 })),
    ];
    for (const body of bodies) {
      const r = await signedFetch(server.endpoint, { service: 'monitoring', path, headers, body });
      assert.equal(r.status, 400, body.subarray(0, 8).toString('hex'));
      assert.equal(r.headers.get('smithy-protocol'), 'rpc-v2-cbor');
      const doc = cbor.deserialize(r.bytes) as Record<string, unknown>;
      assert.match(String(doc.__type), /SerializationException$/);
    }
    // The server still answers.
    const ok = await cborClient.send(new ListMetricsCommand({ Namespace: 'none' }));
    assert.deepEqual(ok.Metrics, []);
  });
});
