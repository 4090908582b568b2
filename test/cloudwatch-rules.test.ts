/**
 * CloudWatch Contributor Insights rules over CloudWatch Logs events (SDK v3, the AWS CLI v2
 * on query, boto3): rules stored, reports of top contributors computed from the stored
 * events. Alarm mute rules (SDK v3 and boto3 on CBOR): stored, listed by
 * status and alarm, and an active rule silences a targeted alarm's actions while its state
 * still changes. Metric streams, widget images, OTel enrichment and alarm contributors answer
 * with AWS's errors, never 501.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';
import {
  CloudWatchClient,
  DeleteAlarmMuteRuleCommand,
  DeleteInsightRulesCommand,
  DescribeInsightRulesCommand,
  DisableInsightRulesCommand,
  GetInsightRuleReportCommand,
  ListManagedInsightRulesCommand,
  PutInsightRuleCommand,
  PutManagedInsightRulesCommand,
  DeleteMetricStreamCommand,
  DescribeAlarmContributorsCommand,
  DescribeAlarmHistoryCommand,
  GetAlarmMuteRuleCommand,
  GetMetricStreamCommand,
  GetMetricWidgetImageCommand,
  GetOTelEnrichmentCommand,
  ListAlarmMuteRulesCommand,
  ListMetricStreamsCommand,
  PutAlarmMuteRuleCommand,
  PutMetricAlarmCommand,
  PutMetricStreamCommand,
  SetAlarmStateCommand,
  StartOTelEnrichmentCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsCli, python } from './helpers/clients.js';
import { failure } from './helpers/failure.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const SNS = 'arn:aws:sns:us-east-1:000000000000:oncall';

describe('CloudWatch Contributor Insights, alarm mute rules and unhosted operations', () => {
  let server: TestServer;
  let cw: CloudWatchClient;
  let logs: CloudWatchLogsClient;

  before(async () => {
    server = await startTestServer();
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    cw = new CloudWatchClient({
      ...clientConfig(server.endpoint),
      protocol: AwsSmithyRpcV2CborProtocol,
    });
  });
  after(async () => {
    logs.destroy();
    cw.destroy();
    await server.stop();
  });

  test('Contributor Insights: rules over JSON and CLF log events, top contributors, metrics', async () => {
    const now = Date.now();
    const minute = Math.floor(now / 60_000) * 60_000;
    const put = async (group: string, messages: string[], at: number) => {
      await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 's' }));
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: group,
          logStreamName: 's',
          logEvents: messages.map((message, i) => ({ timestamp: at + i, message })),
        }),
      );
    };
    const access = (ip: string, method: string, bytes: number) =>
      JSON.stringify({ ip, method, bytes, nested: { region: 'eu' } });
    await put(
      'api-access-1',
      [
        access('10.0.0.1', 'GET', 100),
        access('10.0.0.2', 'GET', 5000),
        access('10.0.0.1', 'GET', 300),
        access('10.0.0.1', 'PUT', 999),
        'not json',
      ],
      minute - 120_000,
    );
    await put(
      'api-access-2',
      [access('10.0.0.3', 'GET', 50), access('10.0.0.1', 'GET', 1)],
      minute - 60_000,
    );
    await put(
      'web-clf',
      [
        '10.0.0.9 - - [04/Dec/2026:05:00:00 +0000] "GET /a HTTP/1.1" 200 512',
        '10.0.0.9 - - [04/Dec/2026:05:00:01 +0000] "GET /b HTTP/1.1" 404 10',
        '10.0.0.8 - - [04/Dec/2026:05:00:02 +0000] "GET /a HTTP/1.1" 200 2048',
      ],
      minute - 60_000,
    );
    const rule = (over: Record<string, unknown>) =>
      JSON.stringify({
        Schema: { Name: 'CloudWatchLogRule', Version: 1 },
        LogGroupNames: ['api-access-*'],
        LogFormat: 'JSON',
        Contribution: { Keys: ['$.ip'], Filters: [{ Match: '$.method', In: ['GET'] }] },
        AggregateOn: 'Count',
        ...over,
      });
    await cw.send(new PutInsightRuleCommand({ RuleName: 'top-ips', RuleDefinition: rule({}) }));
    await cw.send(
      new PutInsightRuleCommand({
        RuleName: 'top-bytes',
        RuleDefinition: rule({
          Contribution: { Keys: ['$.ip', '$.nested.region'], ValueOf: '$.bytes', Filters: [] },
          AggregateOn: 'Sum',
        }),
        RuleState: 'ENABLED',
      }),
    );
    await cw.send(
      new PutInsightRuleCommand({
        RuleName: 'clf-status',
        RuleDefinition: JSON.stringify({
          Schema: { Name: 'CloudWatchLogRule', Version: 1 },
          LogGroupNames: ['web-clf'],
          LogFormat: 'CLF',
          Fields: { '1': 'ip', '4': 'date', '5': 'request', '6': 'status', '7': 'size' },
          Contribution: {
            Keys: ['ip', 'status'],
            ValueOf: 'size',
            Filters: [{ Match: 'status', StartsWith: ['2'] }],
          },
          AggregateOn: 'Sum',
        }),
      }),
    );
    const range = { StartTime: new Date(minute - 600_000), EndTime: new Date(minute + 60_000) };

    const ips = await cw.send(
      new GetInsightRuleReportCommand({
        RuleName: 'top-ips',
        ...range,
        Period: 60,
        Metrics: ['UniqueContributors', 'SampleCount', 'MaxContributorValue'],
      }),
    );
    assert.deepEqual(ips.KeyLabels, ['$.ip']);
    assert.equal(ips.AggregationStatistic, 'Count');
    assert.equal(ips.AggregateValue, 5);
    assert.equal(ips.ApproximateUniqueCount, 3);
    assert.deepEqual(
      ips.Contributors?.map((c) => [c.Keys, c.ApproximateAggregateValue]),
      [
        [['10.0.0.1'], 3],
        [['10.0.0.2'], 1],
        [['10.0.0.3'], 1],
      ],
    );
    assert.deepEqual(
      ips.Contributors?.[0].Datapoints?.map((d) => [d.Timestamp?.getTime(), d.ApproximateValue]),
      [
        [minute - 120_000, 2],
        [minute - 60_000, 1],
      ],
    );
    assert.deepEqual(ips.MetricDatapoints, [
      {
        Timestamp: new Date(minute - 120_000),
        UniqueContributors: 2,
        SampleCount: 3,
        MaxContributorValue: 2,
      },
      {
        Timestamp: new Date(minute - 60_000),
        UniqueContributors: 2,
        SampleCount: 2,
        MaxContributorValue: 1,
      },
    ]);

    const bytes = await cw.send(
      new GetInsightRuleReportCommand({
        RuleName: 'top-bytes',
        ...range,
        Period: 300,
        MaxContributorCount: 1,
      }),
    );
    assert.equal(bytes.AggregateValue, 6450);
    assert.deepEqual(
      bytes.Contributors?.map((c) => [c.Keys, c.ApproximateAggregateValue]),
      [[['10.0.0.2', 'eu'], 5000]],
    );
    const clf = await cw.send(
      new GetInsightRuleReportCommand({ RuleName: 'clf-status', ...range, Period: 60 }),
    );
    assert.deepEqual(
      clf.Contributors?.map((c) => [c.Keys, c.ApproximateAggregateValue]),
      [
        [['10.0.0.8', '200'], 2048],
        [['10.0.0.9', '200'], 512],
      ],
    );

    // The AWS CLI (query) lists the rules; a disabled rule reports nothing.
    const described = await awsCli(server.endpoint, ['cloudwatch', 'describe-insight-rules']);
    assert.equal(described.code, 0, described.stderr);
    const rules = (
      JSON.parse(described.stdout) as {
        InsightRules: { Name: string; State: string; Schema: string }[];
      }
    ).InsightRules;
    assert.deepEqual(
      rules.map((r) => [r.Name, r.State, r.Schema]),
      [
        ['clf-status', 'ENABLED', 'CloudWatchLogRule/1'],
        ['top-bytes', 'ENABLED', 'CloudWatchLogRule/1'],
        ['top-ips', 'ENABLED', 'CloudWatchLogRule/1'],
      ],
    );
    const disabled = await cw.send(
      new DisableInsightRulesCommand({ RuleNames: ['top-ips', 'nope'] }),
    );
    assert.deepEqual(
      disabled.Failures?.map((f) => [f.FailureResource, f.ExceptionType]),
      [['nope', 'ResourceNotFoundException']],
    );
    const quiet = await cw.send(
      new GetInsightRuleReportCommand({ RuleName: 'top-ips', ...range, Period: 60 }),
    );
    assert.deepEqual(quiet.Contributors, []);
    const d = await cw.send(new DescribeInsightRulesCommand({ MaxResults: 1 }));
    assert.equal(d.InsightRules?.length, 1);
    assert.ok(d.NextToken);

    const badRule = await failure(
      cw.send(
        new PutInsightRuleCommand({
          RuleName: 'bad',
          RuleDefinition: rule({ AggregateOn: 'Avg' }),
        }),
      ),
    );
    assert.equal(badRule.name, 'InvalidParameterValueException');
    const missing = await failure(
      cw.send(new GetInsightRuleReportCommand({ RuleName: 'nope', ...range, Period: 60 })),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
    const deleted = await cw.send(new DeleteInsightRulesCommand({ RuleNames: ['top-ips'] }));
    assert.deepEqual(deleted.Failures, []);

    // Managed rules: AWS's templates are for resources Stratus does not host.
    const managed = await cw.send(
      new ListManagedInsightRulesCommand({
        ResourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/t',
      }),
    );
    assert.deepEqual(managed.ManagedRules, []);
    const putManaged = await cw.send(
      new PutManagedInsightRulesCommand({
        ManagedRules: [
          {
            TemplateName: 'DynamoDBContributorInsights-PKC-t',
            ResourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/t',
          },
        ],
      }),
    );
    assert.equal(putManaged.Failures?.length, 1);

    // boto3 reads a report too.
    const py = await python(
      server.endpoint,
      `
import boto3, datetime, json, os
c = boto3.client('cloudwatch', endpoint_url=os.environ['ENDPOINT'])
now = datetime.datetime.now(datetime.timezone.utc)
r = c.get_insight_rule_report(RuleName='top-bytes', StartTime=now - datetime.timedelta(minutes=15),
  EndTime=now + datetime.timedelta(minutes=2), Period=60, OrderBy='Maximum')
print(json.dumps([x['Keys'] for x in r['Contributors']]))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout)[0], ['10.0.0.2', 'eu']);
  });

  /** The Action history items of an alarm (one per action attempted). */
  const actions = async (alarm: string): Promise<number> => {
    const h = await cw.send(
      new DescribeAlarmHistoryCommand({ AlarmName: alarm, HistoryItemType: 'Action' }),
    );
    return h.AlarmHistoryItems?.length ?? 0;
  };

  test('an active mute rule silences the targeted alarm actions; the state still changes', async () => {
    for (const name of ['muted', 'loud']) {
      await cw.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'Mute/Test',
          MetricName: 'Errors',
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [SNS],
        }),
      );
    }
    const now = Date.now();
    // A one-time window that started a minute ago and lasts two hours (in Tokyo time).
    const tokyo = new Date(now - 60_000 + 9 * 3600_000).toISOString().slice(0, 16);
    await cw.send(
      new PutAlarmMuteRuleCommand({
        Name: 'maintenance',
        Description: 'deploy window',
        Rule: {
          Schedule: { Expression: `at(${tokyo})`, Duration: 'PT2H', Timezone: 'Asia/Tokyo' },
        },
        MuteTargets: { AlarmNames: ['muted'] },
        Tags: [{ Key: 'team', Value: 'ops' }],
      }),
    );
    await cw.send(
      new PutAlarmMuteRuleCommand({
        Name: 'nightly',
        Rule: { Schedule: { Expression: 'cron(0 2 * * *)', Duration: 'PT1H' } },
        MuteTargets: { AlarmNames: ['loud'] },
        StartDate: new Date(now + 86400_000 * 2),
      }),
    );
    const got = await cw.send(new GetAlarmMuteRuleCommand({ AlarmMuteRuleName: 'maintenance' }));
    assert.equal(got.Status, 'ACTIVE');
    assert.equal(got.MuteType, 'ONE_TIME');
    assert.equal(got.Description, 'deploy window');
    assert.deepEqual(got.MuteTargets, { AlarmNames: ['muted'] });
    assert.match(
      got.AlarmMuteRuleArn ?? '',
      /^arn:aws:cloudwatch:us-east-1:\d{12}:alarm-mute-rule:maintenance$/,
    );
    const nightly = await cw.send(new GetAlarmMuteRuleCommand({ AlarmMuteRuleName: 'nightly' }));
    assert.equal(nightly.Status, 'SCHEDULED');
    assert.equal(nightly.MuteType, 'RECURRING');

    const active = await cw.send(new ListAlarmMuteRulesCommand({ Statuses: ['ACTIVE'] }));
    assert.deepEqual(
      active.AlarmMuteRuleSummaries?.map((s) => s.AlarmMuteRuleArn?.split(':').pop()),
      ['maintenance'],
    );
    const forLoud = await cw.send(new ListAlarmMuteRulesCommand({ AlarmName: 'loud' }));
    assert.deepEqual(
      forLoud.AlarmMuteRuleSummaries?.map((s) => s.Status),
      ['SCHEDULED'],
    );

    for (const name of ['muted', 'loud']) {
      await cw.send(
        new SetAlarmStateCommand({ AlarmName: name, StateValue: 'ALARM', StateReason: 'test' }),
      );
    }
    // The loud alarm tried its SNS action (recorded as not delivered); the muted one did not.
    assert.equal(await actions('loud'), 1);
    assert.equal(await actions('muted'), 0);
    const state = await cw.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'muted', HistoryItemType: 'StateUpdate' }),
    );
    // (The evaluator may since have moved it back to INSUFFICIENT_DATA: no actions there.)
    assert.ok(
      state.AlarmHistoryItems?.some(
        (h) => h.HistorySummary === 'Alarm updated from INSUFFICIENT_DATA to ALARM',
      ),
      'the muted alarm still changed state',
    );

    // Once the rule is gone the actions run again.
    await cw.send(new DeleteAlarmMuteRuleCommand({ AlarmMuteRuleName: 'maintenance' }));
    await cw.send(
      new SetAlarmStateCommand({ AlarmName: 'muted', StateValue: 'ALARM', StateReason: 'again' }),
    );
    assert.equal(await actions('muted'), 1);
    const gone = await failure(
      cw.send(new GetAlarmMuteRuleCommand({ AlarmMuteRuleName: 'maintenance' })),
    );
    assert.equal(gone.name, 'ResourceNotFoundException');

    const bad = await failure(
      cw.send(
        new PutAlarmMuteRuleCommand({
          Name: 'bad',
          Rule: { Schedule: { Expression: 'cron(0 2 * *)', Duration: 'PT1H' } },
        }),
      ),
    );
    assert.equal(bad.name, 'InvalidParameterValueException');
    const long = await failure(
      cw.send(
        new PutAlarmMuteRuleCommand({
          Name: 'bad',
          Rule: { Schedule: { Expression: 'cron(0 2 * * *)', Duration: 'P16D' } },
        }),
      ),
    );
    assert.equal(long.name, 'InvalidParameterValueException');
  });

  // The installed AWS CLI v2 predates mute rules; boto3 (rpc-v2-cbor) has them.
  test('boto3 puts, gets and lists mute rules', async () => {
    const py = await python(
      server.endpoint,
      `
import boto3, json, os
c = boto3.client('cloudwatch', endpoint_url=os.environ['ENDPOINT'])
c.put_alarm_mute_rule(Name='weekend',
  Rule={'Schedule': {'Expression': 'cron(0 18 * * FRI)', 'Duration': 'P2DT12H', 'Timezone': 'Europe/Paris'}},
  MuteTargets={'AlarmNames': ['loud']})
r = c.get_alarm_mute_rule(AlarmMuteRuleName='weekend')
l = c.list_alarm_mute_rules(AlarmName='loud')['AlarmMuteRuleSummaries']
print(json.dumps({'rule': r['Rule'], 'type': r['MuteType'], 'listed': sorted(s['AlarmMuteRuleArn'].split(':')[-1] for s in l)}))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), {
      rule: {
        Schedule: {
          Expression: 'cron(0 18 * * FRI)',
          Duration: 'P2DT12H',
          Timezone: 'Europe/Paris',
        },
      },
      type: 'RECURRING',
      listed: ['nightly', 'weekend'],
    });
    // The CLI (query protocol) gets AWS's error for a metric stream.
    const cli = await awsCli(server.endpoint, [
      'cloudwatch',
      'put-metric-stream',
      '--name',
      'cli-stream',
      '--firehose-arn',
      'arn:aws:firehose:us-east-1:000000000000:deliverystream/cli',
      '--role-arn',
      'arn:aws:iam::000000000000:role/stream',
      '--output-format',
      'json',
    ]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /InvalidParameterValue.*Firehose delivery stream cli does not exist/);
  });

  test('metric streams, widget images, OTel enrichment and contributors answer as AWS does', async () => {
    const stream = await failure(
      cw.send(
        new PutMetricStreamCommand({
          Name: 'to-s3',
          FirehoseArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/metrics',
          RoleArn: 'arn:aws:iam::000000000000:role/stream',
          OutputFormat: 'json',
        }),
      ),
    );
    assert.equal(stream.name, 'InvalidParameterValueException');
    assert.equal(stream.status, 400);
    assert.match(stream.message, /Firehose delivery stream metrics does not exist/);
    const missing = await failure(cw.send(new GetMetricStreamCommand({ Name: 'to-s3' })));
    assert.equal(missing.name, 'ResourceNotFoundException');
    assert.deepEqual((await cw.send(new ListMetricStreamsCommand({}))).Entries, []);
    await cw.send(new DeleteMetricStreamCommand({ Name: 'to-s3' }));

    const image = await failure(
      cw.send(new GetMetricWidgetImageCommand({ MetricWidget: '{"metrics":[]}' })),
    );
    assert.equal(image.name, 'InvalidParameterValueException');
    assert.equal((await cw.send(new GetOTelEnrichmentCommand({}))).Status, 'Stopped');
    const otel = await failure(cw.send(new StartOTelEnrichmentCommand({})));
    assert.equal(otel.name, 'InvalidParameterValueException');

    const contributors = await cw.send(new DescribeAlarmContributorsCommand({ AlarmName: 'loud' }));
    assert.deepEqual(contributors.AlarmContributors, []);
    const noAlarm = await failure(
      cw.send(new DescribeAlarmContributorsCommand({ AlarmName: 'nope' })),
    );
    assert.equal(noAlarm.name, 'ResourceNotFoundException');
  });
});
