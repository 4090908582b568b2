/**
 * EventBridge through SDK v3 and the AWS CLI: buses, rules, targets, PutEvents with its
 * limits and per-entry errors, routing to Lambda with Input, InputPath and
 * InputTransformer, the function's resource policy, tags.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  ListEventBusesCommand,
  ListRuleNamesByTargetCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  TestEventPatternCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import { clients, createRole, destroy, type Clients } from './helpers/lambda.js';
import { cliEnv, clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { createRecorder, recorded, recordedAtLeast } from './helpers/events.js';

const run = promisify(execFile);
let server: TestServer;
let c: Clients;
let eb: EventBridgeClient;
let role: string;

async function refused(
  p: Promise<unknown>,
  code: string,
  message?: string | RegExp,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EventBridgeServiceException, String(err));
    assert.equal(err.name, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

const detail = (o: unknown) => JSON.stringify(o);

describe('EventBridge', () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    eb = new EventBridgeClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
    role = await createRole(c.iam, 'events-fn');
  });
  after(async () => {
    destroy(c);
    eb.destroy();
    await server.stop();
  });

  test('event buses: default always there, custom ones created, described, deleted', async () => {
    const created = await eb.send(new CreateEventBusCommand({ Name: 'orders', Description: 'o' }));
    assert.equal(created.EventBusArn, 'arn:aws:events:us-east-1:000000000000:event-bus/orders');
    await refused(
      eb.send(new CreateEventBusCommand({ Name: 'orders' })),
      'ResourceAlreadyExistsException',
      'Event bus orders already exists.',
    );
    const listed = await eb.send(new ListEventBusesCommand({}));
    assert.deepEqual(
      listed.EventBuses?.map((b) => b.Name),
      ['default', 'orders'],
    );
    const described = await eb.send(new DescribeEventBusCommand({ Name: 'orders' }));
    assert.equal(described.Description, 'o');
    await refused(
      eb.send(new DescribeEventBusCommand({ Name: 'nope' })),
      'ResourceNotFoundException',
      'Event bus nope does not exist.',
    );
    await eb.send(
      new PutRuleCommand({ Name: 'r', EventBusName: 'orders', EventPattern: '{"source":["x"]}' }),
    );
    await refused(eb.send(new DeleteEventBusCommand({ Name: 'orders' })), 'ValidationException');
    await eb.send(new DeleteRuleCommand({ Name: 'r', EventBusName: 'orders' }));
    await eb.send(new DeleteEventBusCommand({ Name: 'orders' }));
    await refused(
      eb.send(new DescribeEventBusCommand({ Name: 'orders' })),
      'ResourceNotFoundException',
    );
  });

  test('rules: patterns and schedules validated, described, listed, enabled and disabled', async () => {
    await refused(
      eb.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source": "x"}' })),
      'InvalidEventPatternException',
      /^Event pattern is not valid\. Reason: /,
    );
    await refused(
      eb.send(new PutRuleCommand({ Name: 'bad', ScheduleExpression: 'cron(0 12 * * * *)' })),
      'ValidationException',
      'Parameter ScheduleExpression is not valid.',
    );
    await refused(
      eb.send(new PutRuleCommand({ Name: 'bad' })),
      'ValidationException',
      'Parameter(s) EventPattern or ScheduleExpression must be specified.',
    );
    await eb.send(new CreateEventBusCommand({ Name: 'custom' }));
    await refused(
      eb.send(
        new PutRuleCommand({
          Name: 'bad',
          EventBusName: 'custom',
          ScheduleExpression: 'rate(5 minutes)',
        }),
      ),
      'ValidationException',
      'ScheduleExpression is supported only on the default event bus.',
    );
    const put = await eb.send(
      new PutRuleCommand({ Name: 'hourly', ScheduleExpression: 'rate(1 hour)', Description: 'd' }),
    );
    assert.equal(put.RuleArn, 'arn:aws:events:us-east-1:000000000000:rule/hourly');
    const onCustom = await eb.send(
      new PutRuleCommand({ Name: 'c1', EventBusName: 'custom', EventPattern: '{"source":["a"]}' }),
    );
    assert.equal(onCustom.RuleArn, 'arn:aws:events:us-east-1:000000000000:rule/custom/c1');
    await eb.send(new DisableRuleCommand({ Name: 'hourly' }));
    const d = await eb.send(new DescribeRuleCommand({ Name: 'hourly' }));
    assert.equal(d.State, 'DISABLED');
    assert.equal(d.ScheduleExpression, 'rate(1 hour)');
    assert.equal(d.EventBusName, 'default');
    await refused(
      eb.send(new DescribeRuleCommand({ Name: 'none' })),
      'ResourceNotFoundException',
      'Rule none does not exist on EventBus default.',
    );
    const listed = await eb.send(new ListRulesCommand({ EventBusName: 'custom' }));
    assert.deepEqual(
      listed.Rules?.map((r) => r.Name),
      ['c1'],
    );
    await eb.send(new DeleteRuleCommand({ Name: 'hourly' }));
    await eb.send(new DeleteRuleCommand({ Name: 'c1', EventBusName: 'custom' }));
  });

  test('PutEvents: per-entry errors, the 256 KB limit, the 10-entry limit', async () => {
    const out = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'app', DetailType: 't', Detail: '{}' },
          { DetailType: 't', Detail: '{}' },
          { Source: 'app', DetailType: 't', Detail: 'not json' },
          { Source: 'aws.s3', DetailType: 't', Detail: '{}' },
          { Source: 'app', DetailType: 't', Detail: '{}', EventBusName: 'missing' },
        ],
      }),
    );
    assert.equal(out.FailedEntryCount, 4);
    assert.match(out.Entries?.[0].EventId ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(out.Entries?.slice(1), [
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      {
        ErrorCode: 'NotAuthorizedForSourceException',
        ErrorMessage: 'Not authorized for the source.',
      },
      { ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus missing does not exist.' },
    ]);
    const big = 'x'.repeat(200 * 1024);
    await refused(
      eb.send(
        new PutEventsCommand({
          Entries: [
            { Source: 'app', DetailType: 't', Detail: detail({ big }) },
            { Source: 'app', DetailType: 't', Detail: detail({ big }) },
          ],
        }),
      ),
      'ValidationException',
      'Total size of the entries in the request is over the limit.',
    );
    const eleven = Array.from({ length: 11 }, () => ({
      Source: 'app',
      DetailType: 't',
      Detail: '{}',
    }));
    await refused(eb.send(new PutEventsCommand({ Entries: eleven })), 'ValidationException');
  });

  test('an anything-but prefix and a numeric range route only the matching events of a batch', async () => {
    const fn = await createRecorder(c, role, 'orders-fn');
    await eb.send(
      new PutRuleCommand({
        Name: 'big-orders',
        EventPattern: JSON.stringify({
          source: ['shop'],
          detail: {
            region: [{ 'anything-but': { prefix: 'test-' } }],
            amount: [{ numeric: ['>=', 100, '<', 1000] }],
          },
        }),
      }),
    );
    const targets = await eb.send(
      new PutTargetsCommand({ Rule: 'big-orders', Targets: [{ Id: 'fn', Arn: fn }] }),
    );
    assert.equal(targets.FailedEntryCount, 0);
    const entries = [
      { region: 'eu-1', amount: 150, n: 1 }, // matches
      { region: 'test-eu', amount: 150, n: 2 }, // test- prefix
      { region: 'us-2', amount: 99, n: 3 }, // below the range
      { region: 'us-2', amount: 1000, n: 4 }, // the range excludes 1000
      { region: 'ap-3', amount: 999.5, n: 5 }, // matches
      { region: 'eu-1', amount: '150', n: 6 }, // a string is not a number
    ];
    const sent = await eb.send(
      new PutEventsCommand({
        Entries: entries.map((d) => ({ Source: 'shop', DetailType: 'Order', Detail: detail(d) })),
      }),
    );
    assert.equal(sent.FailedEntryCount, 0);
    // A last event that matches: once it arrives, the others had their chance (one queue).
    await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'shop',
            DetailType: 'Order',
            Detail: detail({ region: 'x', amount: 500, n: 7 }),
          },
        ],
      }),
    );
    const got = (await recordedAtLeast(c, 'orders-fn', 3)) as {
      id: string;
      detail: { n: number };
    }[];
    assert.deepEqual(got.map((e) => e.detail.n).sort(), [1, 5, 7]);
    const first = got.find((e) => e.detail.n === 1) as unknown as Record<string, unknown>;
    assert.equal(first.id, sent.Entries?.[0].EventId);
    assert.equal(first['detail-type'], 'Order');
    assert.equal(first.source, 'shop');
    assert.equal(first.account, '000000000000');
    assert.equal(first.region, 'us-east-1');
    assert.equal(first.version, '0');
    assert.match(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('Input, InputPath and InputTransformer shape what the target receives', async () => {
    const fn = await createRecorder(c, role, 'shaped-fn');
    await eb.send(new PutRuleCommand({ Name: 'shaped', EventPattern: '{"source":["shaper"]}' }));
    const failed = await eb.send(
      new PutTargetsCommand({
        Rule: 'shaped',
        Targets: [{ Id: 'bad', Arn: fn, Input: '{"a":1}', InputPath: '$.detail' }],
      }),
    );
    assert.deepEqual(failed.FailedEntries, [
      {
        TargetId: 'bad',
        ErrorCode: 'ValidationException',
        ErrorMessage: 'Only one of Input, InputPath, or InputTransformer must be provided.',
      },
    ]);
    await eb.send(
      new PutTargetsCommand({
        Rule: 'shaped',
        Targets: [
          { Id: 'const', Arn: fn, Input: '{"kind":"constant"}' },
          { Id: 'path', Arn: fn, InputPath: '$.detail' },
          {
            Id: 'tpl',
            Arn: fn,
            InputTransformer: {
              InputPathsMap: { who: '$.detail.who', n: '$.detail.n' },
              InputTemplate:
                '{"kind":"template","text":"<who> sent <n>","n":<n>,"rule":"<aws.events.rule-name>"}',
            },
          },
        ],
      }),
    );
    const listed = await eb.send(new ListTargetsByRuleCommand({ Rule: 'shaped' }));
    assert.deepEqual(
      listed.Targets?.map((t) => t.Id),
      ['const', 'path', 'tpl'],
    );
    const names = await eb.send(new ListRuleNamesByTargetCommand({ TargetArn: fn }));
    assert.deepEqual(names.RuleNames, ['shaped']);
    await eb.send(
      new PutEventsCommand({
        Entries: [{ Source: 'shaper', DetailType: 't', Detail: detail({ who: 'ana', n: 3 }) }],
      }),
    );
    const got = await recordedAtLeast(c, 'shaped-fn', 3);
    const byKind = (k: string) => got.find((e) => (e as { kind?: string }).kind === k);
    assert.deepEqual(byKind('constant'), { kind: 'constant' });
    assert.ok(got.some((e) => JSON.stringify(e) === JSON.stringify({ who: 'ana', n: 3 })));
    assert.deepEqual(byKind('template'), {
      kind: 'template',
      text: 'ana sent 3',
      n: 3,
      rule: 'shaped',
    });
    await refused(eb.send(new DeleteRuleCommand({ Name: 'shaped' })), 'ValidationException');
    await eb.send(new RemoveTargetsCommand({ Rule: 'shaped', Ids: ['const', 'path', 'tpl'] }));
    await eb.send(new DeleteRuleCommand({ Name: 'shaped' }));
  });

  test('a function whose policy does not let EventBridge invoke it is not invoked', async () => {
    const denied = await createRecorder(c, role, 'no-permission', false);
    const allowed = await createRecorder(c, role, 'with-permission');
    await eb.send(new PutRuleCommand({ Name: 'perm', EventPattern: '{"source":["perm"]}' }));
    // Targets run in order: once the second has its event, the first was tried.
    await eb.send(
      new PutTargetsCommand({
        Rule: 'perm',
        Targets: [
          { Id: 'denied', Arn: denied },
          { Id: 'allowed', Arn: allowed },
        ],
      }),
    );
    await eb.send(
      new PutEventsCommand({ Entries: [{ Source: 'perm', DetailType: 't', Detail: '{}' }] }),
    );
    await recordedAtLeast(c, 'with-permission', 1);
    assert.deepEqual(await recorded(c, 'no-permission'), []);
  });

  test('TestEventPattern through the AWS CLI v2, tags through the SDK', async () => {
    const event = JSON.stringify({
      id: '1',
      account: '000000000000',
      source: 'a',
      time: '2026-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      'detail-type': 'x',
      detail: { n: 5 },
    });
    const test = async (pattern: string) =>
      JSON.parse(
        (
          await run(
            '/usr/bin/aws',
            [
              '--endpoint-url',
              server.endpoint,
              'events',
              'test-event-pattern',
              '--event-pattern',
              pattern,
              '--event',
              event,
            ],
            { env: cliEnv() },
          )
        ).stdout,
      ) as { Result: boolean };
    assert.deepEqual(await test('{"detail":{"n":[{"numeric":[">",1]}]}}'), { Result: true });
    assert.deepEqual(await test('{"detail":{"n":[{"numeric":["<",1]}]}}'), { Result: false });
    await refused(
      eb.send(
        new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: '{"source":"a"}' }),
      ),
      'ValidationException',
    );

    const { RuleArn } = await eb.send(
      new PutRuleCommand({
        Name: 'tagged',
        EventPattern: '{"source":["t"]}',
        Tags: [{ Key: 'a', Value: '1' }],
      }),
    );
    await eb.send(
      new TagResourceCommand({ ResourceARN: RuleArn, Tags: [{ Key: 'b', Value: '2' }] }),
    );
    await eb.send(new UntagResourceCommand({ ResourceARN: RuleArn, TagKeys: ['a'] }));
    const tags = await eb.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn }));
    assert.deepEqual(tags.Tags, [{ Key: 'b', Value: '2' }]);
    await refused(
      eb.send(
        new ListTagsForResourceCommand({
          ResourceARN: 'arn:aws:events:us-east-1:000000000000:rule/none',
        }),
      ),
      'ResourceNotFoundException',
    );
  });
});
