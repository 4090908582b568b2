/**
 * Time that tests control: EventBridge schedule rules and Scheduler schedules fire on the
 * scheduling clock, moved forward through /_stratus/clock and `stratus clock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  SchedulerServiceException,
} from '@aws-sdk/client-scheduler';
import { clients, createRole, destroy, type Clients } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { runStratus } from './helpers/process.js';
import { clock, createRecorder, recorded, recordedAtLeast } from './helpers/events.js';

let server: TestServer;
let c: Clients;
let eb: EventBridgeClient;
let scheduler: SchedulerClient;
let role: string;

/** The next Friday 23:00 UTC at least a day after the clock's now. */
function nextFriday(now: string): string {
  const d = new Date(Date.parse(now) + 86_400_000);
  d.setUTCDate(d.getUTCDate() + ((5 - d.getUTCDay() + 7) % 7));
  d.setUTCHours(23, 0, 0, 0);
  return d.toISOString();
}

describe('schedules on the scheduling clock', () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    eb = new EventBridgeClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
    scheduler = new SchedulerClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
    role = await createRole(c.iam, 'schedules-fn');
  });
  after(async () => {
    destroy(c);
    eb.destroy();
    scheduler.destroy();
    await server.stop();
  });

  test('cron(0/15 * ? * MON-FRI *) fires at the quarter-hours of weekdays only, across a weekend', async () => {
    const fn = await createRecorder(c, role, 'weekdays');
    const friday = nextFriday((await clock(server.endpoint)).now);
    await clock(server.endpoint, { to: friday });
    const { RuleArn } = await eb.send(
      new PutRuleCommand({ Name: 'weekdays', ScheduleExpression: 'cron(0/15 * ? * MON-FRI *)' }),
    );
    await eb.send(new PutTargetsCommand({ Rule: 'weekdays', Targets: [{ Id: 'fn', Arn: fn }] }));
    const monday = new Date(Date.parse(friday) + (2 * 24 + 2) * 3_600_000).toISOString();
    const moved = await clock(server.endpoint, { to: monday });
    // Friday 23:15, 23:30, 23:45; nothing on Saturday or Sunday; Monday 00:00 to 01:00.
    const expected = [15, 30, 45, 49 * 60, 49 * 60 + 15, 49 * 60 + 30, 49 * 60 + 45, 50 * 60].map(
      (min) => new Date(Date.parse(friday) + min * 60_000).toISOString().replace('.000Z', 'Z'),
    );
    assert.equal(moved.fired, expected.length);
    const events = (await recordedAtLeast(c, 'weekdays', expected.length)) as Record<
      string,
      unknown
    >[];
    assert.deepEqual(events.map((e) => e.time).sort(), expected);
    for (const e of events) {
      assert.equal(e.source, 'aws.events');
      assert.equal(e['detail-type'], 'Scheduled Event');
      assert.deepEqual(e.resources, [RuleArn]);
      assert.deepEqual(e.detail, {});
      const day = new Date(String(e.time)).getUTCDay();
      assert.ok(day >= 1 && day <= 5, `${String(e.time)} is a weekday`);
    }
    await eb.send(new RemoveTargetsCommand({ Rule: 'weekdays', Ids: ['fn'] }));
    await eb.send(new DeleteRuleCommand({ Name: 'weekdays' }));
  });

  test('a rule fires now on request, through `stratus clock fire`', async () => {
    const fn = await createRecorder(c, role, 'fire-now');
    const { RuleArn } = await eb.send(
      new PutRuleCommand({ Name: 'daily', ScheduleExpression: 'rate(1 day)' }),
    );
    await eb.send(new PutTargetsCommand({ Rule: 'daily', Targets: [{ Id: 'fn', Arn: fn }] }));
    const env = { STRATUS_ENDPOINT: server.endpoint };
    const out = await runStratus(['clock', 'fire', String(RuleArn)], env);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((JSON.parse(out.stdout) as { fired: number }).fired, 1);
    const [event] = (await recordedAtLeast(c, 'fire-now', 1)) as Record<string, unknown>[];
    assert.deepEqual(event.resources, [RuleArn]);
    const shown = await runStratus(['clock'], env);
    assert.ok((JSON.parse(shown.stdout) as { offsetSeconds: number }).offsetSeconds > 0);
    const moved = await runStratus(['clock', 'advance', '1h30m'], env);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(
      (JSON.parse(moved.stdout) as { offsetSeconds: number }).offsetSeconds -
        (JSON.parse(shown.stdout) as { offsetSeconds: number }).offsetSeconds,
      5400,
    );
    assert.equal((await runStratus(['clock', 'advance', 'soon'], env)).code, 2);
  });

  test('a one-time at() schedule with ActionAfterCompletion DELETE fires once and is gone', async () => {
    const fn = await createRecorder(c, role, 'once');
    const now = Date.parse((await clock(server.endpoint)).now);
    const when = new Date(now + 3_600_000).toISOString().slice(0, 19);
    const { ScheduleArn } = await scheduler.send(
      new CreateScheduleCommand({
        Name: 'once',
        ScheduleExpression: `at(${when})`,
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: {
          Arn: fn,
          RoleArn: role,
          Input:
            '{"schedule":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>"}',
        },
      }),
    );
    assert.equal(ScheduleArn, 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/once');
    const got = await scheduler.send(new GetScheduleCommand({ Name: 'once' }));
    assert.equal(got.ActionAfterCompletion, 'DELETE');
    const moved = await clock(server.endpoint, { advanceSeconds: 2 * 3600 });
    assert.equal(moved.fired, 1);
    const [event] = await recordedAtLeast(c, 'once', 1);
    assert.deepEqual(event, { schedule: ScheduleArn, at: `${when}Z` });
    await assert.rejects(
      scheduler.send(new GetScheduleCommand({ Name: 'once' })),
      (err: unknown) => {
        assert.ok(err instanceof SchedulerServiceException);
        assert.equal(err.name, 'ResourceNotFoundException');
        assert.equal(err.message, 'Schedule once does not exist.');
        return true;
      },
    );
    assert.equal((await clock(server.endpoint, { advanceSeconds: 3 * 3600 })).fired, 0);
    assert.equal((await recorded(c, 'once')).length, 1);
  });

  test('a rate schedule in a group stops at its end date and stays (ActionAfterCompletion NONE)', async () => {
    const fn = await createRecorder(c, role, 'ending');
    await scheduler.send(new CreateScheduleGroupCommand({ Name: 'reports' }));
    const now = Date.parse((await clock(server.endpoint)).now);
    await scheduler.send(
      new CreateScheduleCommand({
        Name: 'hourly',
        GroupName: 'reports',
        ScheduleExpression: 'rate(1 hour)',
        ScheduleExpressionTimezone: 'Europe/Paris',
        EndDate: new Date(now + 2.5 * 3_600_000),
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
        Target: { Arn: fn, RoleArn: role, Input: '{"n":1}' },
      }),
    );
    await assert.rejects(
      scheduler.send(
        new CreateScheduleCommand({
          Name: 'bad',
          ScheduleExpression: 'cron(0 12 * * * *)',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: fn, RoleArn: role },
        }),
      ),
      (err: unknown) => (err as Error).name === 'ValidationException',
    );
    assert.equal((await clock(server.endpoint, { advanceSeconds: 5 * 3600 })).fired, 2);
    await recordedAtLeast(c, 'ending', 2);
    const listed = await scheduler.send(new ListSchedulesCommand({ GroupName: 'reports' }));
    assert.deepEqual(
      listed.Schedules?.map((s) => s.Name),
      ['hourly'],
    );
  });
});
