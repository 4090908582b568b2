/**
 * CloudWatch alarm mute rules (SDK v3 and boto3 on CBOR): stored, listed by
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
import { awsCli, python } from './helpers/clients.js';
import { failure } from './helpers/failure.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const SNS = 'arn:aws:sns:us-east-1:000000000000:oncall';

describe('CloudWatch alarm mute rules and unhosted operations', () => {
  let server: TestServer;
  let cw: CloudWatchClient;

  before(async () => {
    server = await startTestServer();
    cw = new CloudWatchClient({
      ...clientConfig(server.endpoint),
      protocol: AwsSmithyRpcV2CborProtocol,
    });
  });
  after(async () => {
    cw.destroy();
    await server.stop();
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
