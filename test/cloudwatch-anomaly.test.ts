/**
 * CloudWatch anomaly detection through real clients: detectors (SDK v3 on CBOR and JSON,
 * the AWS CLI v2 on query, boto3), ANOMALY_DETECTION_BAND in GetMetricData, and an anomaly
 * detection alarm (ThresholdMetricId) that the alarm engine moves to ALARM on a spike.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';
import {
  CloudWatchClient,
  DeleteAnomalyDetectorCommand,
  DescribeAlarmsCommand,
  DescribeAnomalyDetectorsCommand,
  GetMetricDataCommand,
  PutAnomalyDetectorCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { awsCli, python } from './helpers/clients.js';
import { failure } from './helpers/failure.js';
import { eventually } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const MINUTE = 60_000;
const minuteStart = (): number => Math.floor(Date.now() / MINUTE) * MINUTE;

describe('CloudWatch anomaly detection', () => {
  let server: TestServer;
  let json: CloudWatchClient;
  let cw: CloudWatchClient;
  const previous = process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS;

  before(async () => {
    process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS = '1';
    server = await startTestServer();
    json = new CloudWatchClient(clientConfig(server.endpoint));
    cw = new CloudWatchClient({
      ...clientConfig(server.endpoint),
      protocol: AwsSmithyRpcV2CborProtocol,
    });
  });
  after(async () => {
    if (previous === undefined) delete process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS;
    else process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS = previous;
    json.destroy();
    cw.destroy();
    await server.stop();
  });

  test('detectors: put (single metric and metric math), describe with filters and paging, delete', async () => {
    const excluded = {
      StartTime: new Date('2026-01-01T00:00:00Z'),
      EndTime: new Date('2026-01-02T00:00:00Z'),
    };
    await cw.send(
      new PutAnomalyDetectorCommand({
        SingleMetricAnomalyDetector: {
          Namespace: 'Anomaly/Det',
          MetricName: 'Latency',
          Dimensions: [{ Name: 'Api', Value: 'orders' }],
          Stat: 'Average',
        },
        Configuration: { ExcludedTimeRanges: [excluded], MetricTimezone: 'Europe/Berlin' },
      }),
    );
    await json.send(
      new PutAnomalyDetectorCommand({
        MetricMathAnomalyDetector: {
          MetricDataQueries: [
            {
              Id: 'm1',
              MetricStat: {
                Metric: { Namespace: 'Anomaly/Det', MetricName: 'Errors' },
                Period: 60,
                Stat: 'Sum',
              },
              ReturnData: false,
            },
            { Id: 'e1', Expression: 'm1 * 2', ReturnData: true },
          ],
        },
      }),
    );
    const all = await cw.send(new DescribeAnomalyDetectorsCommand({}));
    assert.equal(all.AnomalyDetectors?.length, 2);
    const single = all.AnomalyDetectors!.find((d) => d.SingleMetricAnomalyDetector)!;
    assert.equal(single.SingleMetricAnomalyDetector?.MetricName, 'Latency');
    assert.equal(single.Namespace, 'Anomaly/Det');
    assert.equal(single.Configuration?.MetricTimezone, 'Europe/Berlin');
    assert.deepEqual(single.Configuration?.ExcludedTimeRanges, [excluded]);
    // No data for the metric: the model has nothing to train on yet.
    assert.equal(single.StateValue, 'PENDING_TRAINING');

    const math = await json.send(
      new DescribeAnomalyDetectorsCommand({ AnomalyDetectorTypes: ['METRIC_MATH'] }),
    );
    assert.deepEqual(
      math.AnomalyDetectors?.map((d) => d.MetricMathAnomalyDetector?.MetricDataQueries?.length),
      [2],
    );
    const byName = await cw.send(
      new DescribeAnomalyDetectorsCommand({ Namespace: 'Anomaly/Det', MetricName: 'Latency' }),
    );
    assert.equal(byName.AnomalyDetectors?.length, 1);
    const page1 = await cw.send(new DescribeAnomalyDetectorsCommand({ MaxResults: 1 }));
    assert.equal(page1.AnomalyDetectors?.length, 1);
    assert.ok(page1.NextToken);
    const page2 = await cw.send(
      new DescribeAnomalyDetectorsCommand({ MaxResults: 1, NextToken: page1.NextToken }),
    );
    assert.equal(page2.AnomalyDetectors?.length, 1);
    assert.equal(page2.NextToken, undefined);

    const badTz = await failure(
      cw.send(
        new PutAnomalyDetectorCommand({
          SingleMetricAnomalyDetector: { Namespace: 'A/B', MetricName: 'X', Stat: 'Sum' },
          Configuration: { MetricTimezone: 'Mars/Olympus' },
        }),
      ),
    );
    assert.equal(badTz.name, 'InvalidParameterValueException');
    assert.equal(badTz.status, 400);
    const both = await failure(
      cw.send(
        new PutAnomalyDetectorCommand({
          Namespace: 'A/B',
          MetricName: 'X',
          Stat: 'Sum',
          SingleMetricAnomalyDetector: { Namespace: 'A/B', MetricName: 'X', Stat: 'Sum' },
        }),
      ),
    );
    assert.equal(both.name, 'InvalidParameterCombinationException');

    const del = {
      SingleMetricAnomalyDetector: single.SingleMetricAnomalyDetector,
    };
    await cw.send(new DeleteAnomalyDetectorCommand(del));
    const again = await failure(cw.send(new DeleteAnomalyDetectorCommand(del)));
    assert.equal(again.name, 'ResourceNotFoundException');
    assert.equal(again.status, 404);
    const left = await cw.send(new DescribeAnomalyDetectorsCommand({}));
    assert.equal(left.AnomalyDetectors?.length, 1);
  });

  test('ANOMALY_DETECTION_BAND returns the band; an anomaly alarm goes to ALARM on a spike', async () => {
    const ns = 'Anomaly/Band';
    const now = minuteStart();
    // 30 minutes of a steady metric (10 and 11 alternating), then a spike in this minute.
    const history = Array.from({ length: 30 }, (_, i) => ({
      MetricName: 'Requests',
      Timestamp: new Date(now - (40 - i) * MINUTE),
      Value: i % 2 === 0 ? 10 : 11,
    }));
    await cw.send(new PutMetricDataCommand({ Namespace: ns, MetricData: history }));
    await cw.send(
      new PutMetricDataCommand({
        Namespace: ns,
        MetricData: [{ MetricName: 'Requests', Timestamp: new Date(now + 1000), Value: 100 }],
      }),
    );
    await cw.send(
      new PutAnomalyDetectorCommand({
        SingleMetricAnomalyDetector: { Namespace: ns, MetricName: 'Requests', Stat: 'Average' },
      }),
    );
    const described = await cw.send(new DescribeAnomalyDetectorsCommand({ Namespace: ns }));
    assert.equal(described.AnomalyDetectors?.[0].StateValue, 'TRAINED');

    const queries: MetricDataQuery[] = [
      {
        Id: 'm1',
        MetricStat: {
          Metric: { Namespace: ns, MetricName: 'Requests' },
          Period: 60,
          Stat: 'Average',
        },
        ReturnData: true,
      },
      { Id: 'ad1', Expression: 'ANOMALY_DETECTION_BAND(m1, 2)', Label: 'Requests (expected)' },
    ];
    const r = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - 5 * MINUTE),
        EndTime: new Date(now + MINUTE),
        MetricDataQueries: queries,
        ScanBy: 'TimestampAscending',
      }),
    );
    const band = r.MetricDataResults!.filter((x) => x.Id === 'ad1');
    assert.deepEqual(
      band.map((b) => b.Label),
      ['Requests (expected) Upper', 'Requests (expected) Lower'],
    );
    const [upper, lower] = band;
    // At the spike's minute: the last 24 hours' mean (10.5) ± 2 × deviation (0.5).
    const at = upper.Timestamps!.findIndex((t) => t.getTime() === now);
    assert.ok(at >= 0, 'the band covers the spike minute');
    assert.ok(Math.abs(upper.Values![at] - 11.5) < 1e-9, String(upper.Values![at]));
    assert.ok(Math.abs(lower.Values![at] - 9.5) < 1e-9, String(lower.Values![at]));

    const stdErr = await failure(
      cw.send(
        new PutMetricAlarmCommand({
          AlarmName: 'bad-band',
          ComparisonOperator: 'GreaterThanUpperThreshold',
          EvaluationPeriods: 1,
          Threshold: 3,
          Metrics: queries,
        }),
      ),
    );
    assert.equal(stdErr.name, 'InvalidParameterValueException');
    const combo = await failure(
      cw.send(
        new PutMetricAlarmCommand({
          AlarmName: 'bad-band',
          ComparisonOperator: 'GreaterThanUpperThreshold',
          EvaluationPeriods: 1,
          Threshold: 3,
          ThresholdMetricId: 'ad1',
          Metrics: queries,
        }),
      ),
    );
    assert.equal(combo.name, 'InvalidParameterCombinationException');

    // Three periods, one breaching is enough: robust to the minute rolling over meanwhile.
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'requests-anomaly',
        ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 1,
        ThresholdMetricId: 'ad1',
        Metrics: queries,
      }),
    );
    const alarm = await eventually(
      'the anomaly alarm in ALARM',
      async () => {
        const d = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['requests-anomaly'] }));
        const a = d.MetricAlarms?.[0];
        return a?.StateValue === 'ALARM' ? a : undefined;
      },
      60_000,
    );
    assert.equal(alarm.ThresholdMetricId, 'ad1');
    assert.match(
      alarm.StateReason ?? '',
      /^Thresholds Crossed: 1 out of the last 3 datapoints \[100\.0 /,
    );
    assert.match(alarm.StateReason ?? '', /greater than the upper thresholds \[11\.5\]/);
    const data = JSON.parse(alarm.StateReasonData ?? '{}') as { recentUpperThresholds?: number[] };
    assert.deepEqual(data.recentUpperThresholds, [11.5]);
  });

  test('the AWS CLI v2 (query) and boto3 put and describe detectors', async () => {
    const put = await awsCli(server.endpoint, [
      'cloudwatch',
      'put-anomaly-detector',
      '--single-metric-anomaly-detector',
      'Namespace=Cli/Anomaly,MetricName=Hits,Stat=Sum,Dimensions=[{Name=Page,Value=home}]',
      '--configuration',
      'MetricTimezone=UTC,ExcludedTimeRanges=[{StartTime=2026-02-01T00:00:00Z,EndTime=2026-02-01T06:00:00Z}]',
    ]);
    assert.equal(put.code, 0, put.stderr);
    const described = await awsCli(server.endpoint, [
      'cloudwatch',
      'describe-anomaly-detectors',
      '--namespace',
      'Cli/Anomaly',
    ]);
    assert.equal(described.code, 0, described.stderr);
    const out = JSON.parse(described.stdout) as {
      AnomalyDetectors: {
        SingleMetricAnomalyDetector: { Dimensions: unknown[] };
        Configuration: { ExcludedTimeRanges: { StartTime: string }[] };
        StateValue: string;
      }[];
    };
    assert.equal(out.AnomalyDetectors.length, 1);
    assert.deepEqual(out.AnomalyDetectors[0].SingleMetricAnomalyDetector.Dimensions, [
      { Name: 'Page', Value: 'home' },
    ]);
    assert.match(
      out.AnomalyDetectors[0].Configuration.ExcludedTimeRanges[0].StartTime,
      /^2026-02-01T00:00:00/,
    );

    const py = await python(
      server.endpoint,
      `
import boto3, json, os
c = boto3.client('cloudwatch', endpoint_url=os.environ['ENDPOINT'])
d = c.describe_anomaly_detectors(Namespace='Cli/Anomaly')['AnomalyDetectors']
c.delete_anomaly_detector(SingleMetricAnomalyDetector=d[0]['SingleMetricAnomalyDetector'])
try:
  c.delete_anomaly_detector(SingleMetricAnomalyDetector=d[0]['SingleMetricAnomalyDetector'])
  err = None
except c.exceptions.ClientError as e:
  err = e.response['Error']['Code']
print(json.dumps({'state': d[0]['StateValue'], 'err': err}))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), {
      state: 'PENDING_TRAINING',
      err: 'ResourceNotFoundException',
    });
  });
});
