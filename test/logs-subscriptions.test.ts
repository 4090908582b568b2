/**
 * A CloudWatch Logs subscription filter on a function's log group invokes another function
 * with AWS's event (`awslogs.data`: base64 of gzipped JSON) for each batch of matching
 * lines; PutLogEvents batches are delivered the same way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  PutSubscriptionFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateFunctionCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import {
  clients,
  createRole,
  destroy,
  eventually,
  logMessages,
  type Clients,
} from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createZip } from './helpers/zip-writer.js';

/** Logs one ERROR and one INFO line. */
const PRODUCER = `exports.handler = async () => { console.log('ERROR boom'); console.log('INFO fine'); return 1; };\n`;

/** Decodes what it receives and logs it as one line. */
const CONSUMER = `const zlib = require('zlib');
exports.handler = async (event) => {
  const data = JSON.parse(zlib.gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString());
  console.log('RECEIVED ' + JSON.stringify(data));
};
`;

interface Received {
  messageType: string;
  owner: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  logEvents: { id: string; timestamp: number; message: string }[];
}

describe('Logs subscription filters deliver to Lambda', () => {
  let server: TestServer;
  let c: Clients;
  let consumerArn: string;

  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    const role = await createRole(c.iam, 'subscriptions-role');
    const make = async (name: string, code: string) =>
      c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Timeout: 30, // not the 3 s default: CI load must not time a test function out
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: role,
          Code: { ZipFile: createZip([{ name: 'index.js', data: code }]) },
        }),
      );
    await make('producer', PRODUCER);
    consumerArn = (await make('consumer', CONSUMER)).FunctionArn as string;
  });
  after(async () => {
    destroy(c);
    await server?.stop();
  });

  /** The events the consumer decoded, once it logged `count` of them. */
  async function received(count: number): Promise<Received[]> {
    return eventually('the consumer to receive a batch', async () => {
      // Function output lines read `<time>\t<request id>\tINFO\tRECEIVED {...}`.
      const lines = (await logMessages(c.logs, '/aws/lambda/consumer'))
        .filter((m) => m.includes('\tRECEIVED '))
        .map((m) => JSON.parse(m.slice(m.indexOf('\tRECEIVED ') + 10).trim()) as Received);
      return lines.length >= count ? lines : undefined;
    });
  }

  test("a function's ERROR lines reach the subscribed function as AWS's event", async () => {
    await c.logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/producer' }));
    await c.logs.send(
      new PutSubscriptionFilterCommand({
        logGroupName: '/aws/lambda/producer',
        filterName: 'errors',
        filterPattern: 'ERROR',
        destinationArn: consumerArn,
      }),
    );
    await c.lambda.send(new InvokeCommand({ FunctionName: 'producer' }));
    const [batch] = await received(1);
    assert.equal(batch.messageType, 'DATA_MESSAGE');
    assert.equal(batch.owner, '000000000000');
    assert.equal(batch.logGroup, '/aws/lambda/producer');
    assert.deepEqual(batch.subscriptionFilters, ['errors']);
    assert.deepEqual(
      batch.logEvents.map((e) => e.message.trim().split('\t').pop()),
      ['ERROR boom'],
    );
    assert.match(batch.logEvents[0].id, /^\d{56}$/);
  });

  test('PutLogEvents batches are delivered, matching lines only', async () => {
    await c.logs.send(new CreateLogGroupCommand({ logGroupName: 'app' }));
    await c.logs.send(new CreateLogStreamCommand({ logGroupName: 'app', logStreamName: 's1' }));
    await c.logs.send(
      new PutSubscriptionFilterCommand({
        logGroupName: 'app',
        filterName: 'json-errors',
        filterPattern: '{ $.level = "error" }',
        destinationArn: consumerArn,
      }),
    );
    const now = Date.now();
    await c.logs.send(
      new PutLogEventsCommand({
        logGroupName: 'app',
        logStreamName: 's1',
        logEvents: [
          { timestamp: now, message: '{"level":"error","n":1}' },
          { timestamp: now, message: '{"level":"info","n":2}' },
          { timestamp: now + 1, message: '{"level":"error","n":3}' },
        ],
      }),
    );
    const batches = await received(2);
    const batch = batches.find((b) => b.logGroup === 'app');
    assert.ok(batch);
    assert.equal(batch.logStream, 's1');
    assert.deepEqual(
      batch.logEvents.map((e) => [e.timestamp, e.message]),
      [
        [now, '{"level":"error","n":1}'],
        [now + 1, '{"level":"error","n":3}'],
      ],
    );
  });
});
