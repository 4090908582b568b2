/**
 * TestEventPattern agrees with routing: every case of AWS's documentation table
 * (test/helpers/event-pattern-cases.ts) is answered by TestEventPattern and routed through
 * PutEvents to a rule of its own bus, and both give the documented answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { clients, createRole, destroy, type Clients } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { createRecorder, recordedAtLeast } from './helpers/events.js';
import { EC2_EVENT, METRICS_EVENT, PATTERN_CASES } from './helpers/event-pattern-cases.js';

let server: TestServer;
let c: Clients;
let eb: EventBridgeClient;

const eventOf = (kind: 'ec2' | 'metrics') => (kind === 'ec2' ? EC2_EVENT : METRICS_EVENT);

describe('TestEventPattern and routing agree on the documented cases', () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    eb = new EventBridgeClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
  });
  after(async () => {
    destroy(c);
    eb.destroy();
    await server.stop();
  });

  test(`${PATTERN_CASES.length} cases`, async () => {
    assert.ok(PATTERN_CASES.length >= 50);
    const fn = await createRecorder(c, await createRole(c.iam, 'patterns'), 'cases');
    const tested: boolean[] = [];
    for (const [i, kase] of PATTERN_CASES.entries()) {
      const e = eventOf(kase.event);
      const full = {
        version: '0',
        id: `case-${i}`,
        account: '000000000000',
        time: '2026-01-01T00:00:00Z',
        region: 'us-east-1',
        ...e,
      };
      const pattern = JSON.stringify(kase.pattern);
      const { Result } = await eb.send(
        new TestEventPatternCommand({ EventPattern: pattern, Event: JSON.stringify(full) }),
      );
      tested.push(Result === true);
      const bus = `case-${i}`;
      await eb.send(new CreateEventBusCommand({ Name: bus }));
      await eb.send(new PutRuleCommand({ Name: 'r', EventBusName: bus, EventPattern: pattern }));
      await eb.send(
        new PutTargetsCommand({
          Rule: 'r',
          EventBusName: bus,
          Targets: [{ Id: 'fn', Arn: fn, Input: JSON.stringify({ case: i }) }],
        }),
      );
    }
    await eb.send(new CreateEventBusCommand({ Name: 'last' }));
    await eb.send(
      new PutRuleCommand({ Name: 'r', EventBusName: 'last', EventPattern: '{"source":["last"]}' }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: 'r',
        EventBusName: 'last',
        Targets: [{ Id: 'fn', Arn: fn, Input: '{"case":"last"}' }],
      }),
    );
    const entries = PATTERN_CASES.map((kase, i) => {
      const e = eventOf(kase.event);
      return {
        EventBusName: `case-${i}`,
        Source: e.source,
        DetailType: e['detail-type'],
        Resources: e.resources,
        Detail: JSON.stringify(e.detail),
      };
    });
    for (let i = 0; i < entries.length; i += 10) {
      const out = await eb.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
      assert.equal(out.FailedEntryCount, 0);
    }
    // Routed in order: once the last event's invocation is in, every case had its chance.
    await eb.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: 'last', Source: 'last', DetailType: 'x', Detail: '{}' }],
      }),
    );
    const expected = PATTERN_CASES.flatMap((k, i) => (k.matches ? [i] : []));
    const got = (await recordedAtLeast(c, 'cases', expected.length + 1)) as {
      case: number | string;
    }[];
    assert.ok(got.some((g) => g.case === 'last'));
    const routed = new Set(got.map((g) => g.case));
    const disagreements = PATTERN_CASES.flatMap((k, i) => {
      const r = routed.has(i);
      return r === k.matches && tested[i] === k.matches
        ? []
        : [`${k.name}: documented ${k.matches}, TestEventPattern ${tested[i]}, routed ${r}`];
    });
    assert.deepEqual(disagreements, []);
  });
});
