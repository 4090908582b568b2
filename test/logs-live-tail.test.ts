/**
 * CloudWatch Logs StartLiveTail through SDK v3 (iterating `responseStream`) and boto3:
 * the event stream opens with sessionStart, then sessionUpdate events carry what is
 * ingested afterwards, filtered by logEventFilterPattern and stream names. Both clients
 * inject AWS's `stream-` host prefix unless told not to (disableHostPrefix /
 * inject_host_prefix=False), as with any endpoint that is not AWS's own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  InvalidParameterException,
  PutLogEventsCommand,
  ResourceNotFoundException,
  StartLiveTailCommand,
  type LiveTailSessionLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const GROUP = '/tail/app';

describe('CloudWatch Logs Live Tail', () => {
  let server: TestServer;
  let logs: CloudWatchLogsClient;
  let groupArn: string;

  before(async () => {
    server = await startTestServer();
    logs = new CloudWatchLogsClient({ ...clientConfig(server.endpoint), disableHostPrefix: true });
    await logs.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    for (const s of ['web', 'worker']) {
      await logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: s }));
    }
    const described = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: GROUP }));
    groupArn = described.logGroups?.[0]?.logGroupArn ?? '';
  });
  after(async () => {
    logs.destroy();
    await server.stop();
  });

  const put = (stream: string, messages: string[]) =>
    logs.send(
      new PutLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: stream,
        logEvents: messages.map((message) => ({ timestamp: Date.now(), message })),
      }),
    );

  test('SDK v3: sessionStart, then updates with the matching events ingested afterwards', async () => {
    const abort = new AbortController();
    const out = await logs.send(
      new StartLiveTailCommand({
        logGroupIdentifiers: [groupArn],
        logStreamNames: ['web'],
        logEventFilterPattern: 'ERROR',
      }),
      { abortSignal: abort.signal },
    );
    const stream = out.responseStream;
    assert.ok(stream);
    const seen: LiveTailSessionLogEvent[] = [];
    let start: unknown;
    let updates = 0;
    let wrote = false;
    const deadline = Date.now() + 60_000;
    for await (const event of stream) {
      if (event.sessionStart) {
        start = event.sessionStart;
        // Written once the session is open: only these can be in its updates.
        await put('web', ['INFO hello', 'ERROR one', 'ERROR two']);
        await put('worker', ['ERROR elsewhere']);
        wrote = true;
        continue;
      }
      assert.ok(event.sessionUpdate, `unexpected event ${JSON.stringify(event)}`);
      updates++;
      assert.equal(event.sessionUpdate.sessionMetadata?.sampled, false);
      seen.push(...(event.sessionUpdate.sessionResults ?? []));
      if (seen.length >= 2 || Date.now() > deadline) break;
    }
    abort.abort();
    assert.ok(wrote);
    assert.deepEqual(start && Object.keys(start).sort(), [
      'logEventFilterPattern',
      'logGroupIdentifiers',
      'logStreamNames',
      'requestId',
      'sessionId',
    ]);
    assert.ok(updates >= 1);
    assert.deepEqual(
      seen.map((e) => [e.message, e.logStreamName, e.logGroupIdentifier]),
      [
        ['ERROR one', 'web', groupArn],
        ['ERROR two', 'web', groupArn],
      ],
    );
    assert.ok(
      seen.every((e) => typeof e.timestamp === 'number' && typeof e.ingestionTime === 'number'),
    );
  });

  test('SDK v3: bad arguments get AWS errors before any stream', async () => {
    const missing = await logs
      .send(new StartLiveTailCommand({ logGroupIdentifiers: ['/tail/missing'] }))
      .catch((e: unknown) => e);
    assert.ok(missing instanceof ResourceNotFoundException);
    const both = await logs
      .send(
        new StartLiveTailCommand({
          logGroupIdentifiers: [GROUP],
          logStreamNames: ['web'],
          logStreamNamePrefixes: ['w'],
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(both instanceof InvalidParameterException);
    const pattern = await logs
      .send(
        new StartLiveTailCommand({
          logGroupIdentifiers: [GROUP],
          logEventFilterPattern: '{ $.x = ',
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(pattern instanceof InvalidParameterException);
    await logs.send(
      new CreateLogGroupCommand({ logGroupName: '/tail/ia', logGroupClass: 'INFREQUENT_ACCESS' }),
    );
    const ia = await logs
      .send(new StartLiveTailCommand({ logGroupIdentifiers: ['/tail/ia'] }))
      .catch((e: unknown) => e);
    assert.ok(ia instanceof InvalidParameterException);
    assert.match(ia.message, /Live Tail supports only STANDARD log groups/);
  });

  test('boto3: start_live_tail streams the events of a stream prefix', async () => {
    const script = `
import boto3, json, os, threading, time
from botocore.config import Config
c = boto3.client('logs', endpoint_url=os.environ['ENDPOINT'], config=Config(inject_host_prefix=False))
r = c.start_live_tail(logGroupIdentifiers=['${GROUP}'], logStreamNamePrefixes=['wor'])
kinds, seen = [], []
deadline = time.time() + 60
for event in r['responseStream']:
    if 'sessionStart' in event:
        kinds.append('sessionStart')
        c.put_log_events(logGroupName='${GROUP}', logStreamName='worker',
                         logEvents=[{'timestamp': int(time.time() * 1000), 'message': 'from boto3'}])
        c.put_log_events(logGroupName='${GROUP}', logStreamName='web',
                         logEvents=[{'timestamp': int(time.time() * 1000), 'message': 'not this one'}])
        continue
    kinds.append('sessionUpdate')
    seen += [e['message'] for e in event['sessionUpdate']['sessionResults']]
    if seen or time.time() > deadline:
        break
r['responseStream'].close()
print(json.dumps({'kinds': kinds[:2], 'seen': seen}))
`;
    const res = await python(server.endpoint, script);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { kinds: string[]; seen: string[] };
    assert.deepEqual(out.kinds, ['sessionStart', 'sessionUpdate']);
    assert.deepEqual(out.seen, ['from boto3']);
  });
});
