/**
 * Lambda's AWS/Lambda metrics in CloudWatch, and alarms acting on them:
 *  - `aws cloudwatch get-metric-statistics` for a function's Invocations and Duration
 *    matches the invocations made and the durations their REPORT lines print;
 *  - an alarm on `Errors >= 1` for 1 of 1 minute goes to ALARM after a failing
 *    invocation, invokes its Lambda action with AWS's alarm event, and returns to OK (and
 *    runs its OK action) once the function stops failing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  ListMetricsCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { awsCli } from './helpers/clients.js';
import {
  arn,
  eventually,
  logMessages,
  nodeZip,
  openInvokeFixture,
  type InvokeFixture,
} from './helpers/lambda.js';
import { clientConfig } from './helpers/server.js';

const MINUTE = 60_000;

const FAILS = `
exports.handler = async (event) => {
  if (event.fail) throw new Error('asked to fail');
  return { ok: true };
};
`;

/** Logs the alarm event it receives, one JSON line. */
const ON_ALARM = `
exports.handler = async (event) => {
  console.log('ALARM-EVENT ' + JSON.stringify(event));
  return {};
};
`;

interface Stats {
  Datapoints: { Sum?: number; SampleCount?: number; Maximum?: number; Minimum?: number }[];
}

describe('CloudWatch: Lambda metrics and alarms with Lambda actions', () => {
  let fx: InvokeFixture;
  let cw: CloudWatchClient;
  const previous = process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS;

  before(async () => {
    process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS = '1';
    fx = await openInvokeFixture();
    cw = new CloudWatchClient(clientConfig(fx.server.endpoint));
  });
  after(async () => {
    if (previous === undefined) delete process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS;
    else process.env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS = previous;
    cw.destroy();
    await fx.close();
  });

  const statistics = async (metric: string, stats: string[]): Promise<Stats> => {
    const now = Date.now();
    const r = await awsCli(fx.server.endpoint, [
      'cloudwatch',
      'get-metric-statistics',
      '--namespace',
      'AWS/Lambda',
      '--metric-name',
      metric,
      '--dimensions',
      'Name=FunctionName,Value=echo',
      '--start-time',
      new Date(now - 10 * MINUTE).toISOString(),
      '--end-time',
      new Date(now + MINUTE).toISOString(),
      '--period',
      '60',
      '--statistics',
      ...stats,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Stats;
  };
  const total = (s: Stats, k: 'Sum' | 'SampleCount'): number =>
    s.Datapoints.reduce((a, d) => a + (d[k] ?? 0), 0);

  test('get-metric-statistics for Invocations and Duration matches the invocations and their REPORT lines', async () => {
    const n = 5;
    for (let i = 0; i < n; i++) {
      const out = await fx.invoke('echo', { i });
      assert.equal(out.StatusCode, 200);
    }
    const reports = await eventually(
      'five REPORT lines',
      async () => {
        const lines = (await logMessages(fx.c.logs, '/aws/lambda/echo')).filter((l) =>
          l.startsWith('REPORT RequestId:'),
        );
        return lines.length >= n ? lines : undefined;
      },
      90_000,
    );
    const durations = reports.map((l) => Number(/\tDuration: ([\d.]+) ms/.exec(l)?.[1]));
    const invocations = await eventually(
      'the Invocations metric',
      async () => {
        const s = await statistics('Invocations', ['Sum', 'SampleCount']);
        return total(s, 'Sum') >= n ? s : undefined;
      },
      90_000,
    );
    assert.equal(total(invocations, 'Sum'), n);
    const duration = await statistics('Duration', ['Sum', 'SampleCount', 'Maximum', 'Minimum']);
    assert.equal(total(duration, 'SampleCount'), n);
    // REPORT prints durations to the hundredth of a millisecond.
    const reported = durations.reduce((a, b) => a + b, 0);
    assert.ok(
      Math.abs(total(duration, 'Sum') - reported) <= 0.01 * n,
      `Duration Sum ${total(duration, 'Sum')} vs REPORT lines ${reported}`,
    );
    const max = Math.max(...duration.Datapoints.map((d) => d.Maximum ?? 0));
    assert.ok(Math.abs(max - Math.max(...durations)) <= 0.01, `Maximum ${max} vs ${durations}`);
    const errors = await statistics('Errors', ['Sum']);
    assert.equal(total(errors, 'Sum'), 0);
    // Published for the account, by function name, in AWS/Lambda.
    const listed = await cw.send(
      new ListMetricsCommand({ Namespace: 'AWS/Lambda', MetricName: 'Invocations' }),
    );
    const dims = (listed.Metrics ?? []).map((m) => JSON.stringify(m.Dimensions ?? []));
    assert.ok(dims.includes('[]'), dims.join());
    assert.ok(dims.includes('[{"Name":"FunctionName","Value":"echo"}]'), dims.join());
  });

  test('an Errors >= 1 alarm goes to ALARM, invokes its Lambda action, and returns to OK', async () => {
    await fx.create('fails', { Code: { ZipFile: nodeZip(FAILS) } });
    await fx.create('on-alarm', { Code: { ZipFile: nodeZip(ON_ALARM) } });
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'fails-errors',
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: 'fails' }],
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [arn('on-alarm')],
        OKActions: [arn('on-alarm')],
      }),
    );
    const failed = await fx.invoke('fails', { fail: true });
    assert.equal(failed.FunctionError, 'Unhandled');

    const state = async (): Promise<string | undefined> =>
      (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['fails-errors'] }))).MetricAlarms?.[0]
        .StateValue;
    await eventually(
      'the alarm in ALARM',
      async () => ((await state()) === 'ALARM' ? true : undefined),
      60_000,
    );
    const alarmEvent = await eventually(
      'the ALARM action invoking on-alarm',
      async () => {
        const lines = await logMessages(fx.c.logs, '/aws/lambda/on-alarm');
        const events = lines
          .filter((l) => l.includes('ALARM-EVENT '))
          .map((l) => JSON.parse(l.slice(l.indexOf('ALARM-EVENT ') + 12)) as AlarmEvent);
        return events.find((e) => e.alarmData.state.value === 'ALARM');
      },
      60_000,
    );
    assert.equal(alarmEvent.source, 'aws.cloudwatch');
    assert.equal(
      alarmEvent.alarmArn,
      'arn:aws:cloudwatch:us-east-1:000000000000:alarm:fails-errors',
    );
    assert.equal(alarmEvent.alarmData.alarmName, 'fails-errors');
    assert.match(
      alarmEvent.alarmData.state.reason,
      /^Threshold Crossed: 1 out of the last 1 datapoints/,
    );
    assert.deepEqual(alarmEvent.alarmData.configuration.metrics[0].metricStat.metric, {
      namespace: 'AWS/Lambda',
      name: 'Errors',
      dimensions: { FunctionName: 'fails' },
    });

    // Successful invocations until the failing minute is behind: Errors' Sum is 0 again.
    await eventually(
      'the alarm back in OK',
      async () => {
        const ok = await fx.invoke('fails', { fail: false });
        assert.equal(ok.FunctionError, undefined);
        if ((await state()) === 'OK') return true;
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      },
      150_000,
    );
    await eventually(
      'the OK action invoking on-alarm',
      async () => {
        const lines = await logMessages(fx.c.logs, '/aws/lambda/on-alarm');
        return lines.some((l) => l.includes('"state":{"value":"OK"')) ? true : undefined;
      },
      60_000,
    );
    const history = await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: 'fails-errors' }));
    const summaries = (history.AlarmHistoryItems ?? []).map((h) => h.HistorySummary);
    assert.ok(summaries.includes('Alarm updated from ALARM to OK'), summaries.join('\n'));
    assert.ok(
      summaries.includes(`Successfully executed action ${arn('on-alarm')}`),
      summaries.join('\n'),
    );
  });
});

interface AlarmEvent {
  source: string;
  alarmArn: string;
  alarmData: {
    alarmName: string;
    state: { value: string; reason: string };
    configuration: {
      metrics: { metricStat: { metric: Record<string, unknown> } }[];
    };
  };
}
