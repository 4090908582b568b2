/**
 * DynamoDB Streams through boto3 and the AWS CLI (records for each write that changed an
 * item, with the images the view type asks for; iterators; a disabled stream's closed
 * shard), and Lambda event source mappings on a stream through SDK v3: the function gets
 * the matching records in order, as AWS's event.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
  GetItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  LambdaServiceException,
  ListEventSourceMappingsCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { awsCli, python } from './helpers/clients.js';
import {
  clients,
  createRole,
  destroy,
  eventually,
  logMessages,
  nodeZip,
  type Clients,
} from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let ddb: DynamoDBClient;
let c: Clients;

async function createStreamTable(name: string, view: string): Promise<string> {
  const out = await ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: view as 'NEW_IMAGE' },
    }),
  );
  return out.TableDescription?.LatestStreamArn as string;
}

describe('DynamoDB Streams', () => {
  before(async () => {
    // Sweep expired items every second (the default is a minute).
    process.env.STRATUS_DYNAMODB_TTL_INTERVAL_SECONDS = '1';
    server = await startTestServer();
    ddb = new DynamoDBClient(clientConfig(server.endpoint));
    c = clients(server.endpoint);
  });
  after(async () => {
    ddb.destroy();
    destroy(c);
    await server.stop();
    delete process.env.STRATUS_DYNAMODB_TTL_INTERVAL_SECONDS;
  });

  test('each changing write is one record, in order, with old and new images (boto3)', async () => {
    const arn = await createStreamTable('events', 'NEW_AND_OLD_IMAGES');
    assert.match(arn, /^arn:aws:dynamodb:us-east-1:000000000000:table\/events\/stream\/\d{4}-/);
    await ddb.send(
      new PutItemCommand({ TableName: 'events', Item: { id: { S: 'a' }, v: { N: '1' } } }),
    );
    const update = (v: string) =>
      ddb.send(
        new UpdateItemCommand({
          TableName: 'events',
          Key: { id: { S: 'a' } },
          UpdateExpression: 'SET v = :v',
          ExpressionAttributeValues: { ':v': { N: v } },
        }),
      );
    await update('2');
    await update('2'); // changes nothing: no record
    await ddb.send(new DeleteItemCommand({ TableName: 'events', Key: { id: { S: 'a' } } }));
    await ddb.send(new DeleteItemCommand({ TableName: 'events', Key: { id: { S: 'a' } } }));

    const py = await python(
      server.endpoint,
      `
import os, json, boto3
s = boto3.client('dynamodbstreams', endpoint_url=os.environ['ENDPOINT'])
arn = s.list_streams(TableName='events')['Streams'][0]['StreamArn']
d = s.describe_stream(StreamArn=arn)['StreamDescription']
shard = d['Shards'][0]['ShardId']
it = s.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType='TRIM_HORIZON')['ShardIterator']
out = s.get_records(ShardIterator=it, Limit=2)
recs = out['Records']
out2 = s.get_records(ShardIterator=out['NextShardIterator'])
recs += out2['Records']
latest = s.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType='LATEST')['ShardIterator']
after2 = s.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType='AFTER_SEQUENCE_NUMBER', SequenceNumber=recs[1]['dynamodb']['SequenceNumber'])['ShardIterator']
print(json.dumps({
  'arn': arn, 'status': d['StreamStatus'], 'view': d['StreamViewType'], 'keys': d['KeySchema'],
  'names': [r['eventName'] for r in recs],
  'new': [r['dynamodb'].get('NewImage', {}).get('v', {}).get('N') for r in recs],
  'old': [r['dynamodb'].get('OldImage', {}).get('v', {}).get('N') for r in recs],
  'keysOf': [r['dynamodb']['Keys'] for r in recs],
  'seqs': [r['dynamodb']['SequenceNumber'] for r in recs],
  'source': recs[0]['eventSource'],
  'latest': len(s.get_records(ShardIterator=latest)['Records']),
  'after2': [r['eventName'] for r in s.get_records(ShardIterator=after2)['Records']],
}))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    const r = JSON.parse(py.stdout) as Record<string, unknown>;
    assert.equal(r.arn, arn);
    assert.equal(r.status, 'ENABLED');
    assert.equal(r.view, 'NEW_AND_OLD_IMAGES');
    assert.deepEqual(r.names, ['INSERT', 'MODIFY', 'REMOVE']);
    assert.deepEqual(r.new, ['1', '2', null]);
    assert.deepEqual(r.old, [null, '1', '2']);
    assert.deepEqual(r.keysOf, [{ id: { S: 'a' } }, { id: { S: 'a' } }, { id: { S: 'a' } }]);
    const seqs = r.seqs as string[];
    assert.deepEqual([...seqs].sort(), seqs);
    assert.equal(r.source, 'aws:dynamodb');
    assert.equal(r.latest, 0);
    assert.deepEqual(r.after2, ['REMOVE']);
  });

  test('the CLI lists streams; a disabled stream is DISABLED with a closed shard', async () => {
    const first = await createStreamTable('toggled', 'KEYS_ONLY');
    await ddb.send(new PutItemCommand({ TableName: 'toggled', Item: { id: { S: 'k' } } }));
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'toggled',
        StreamSpecification: { StreamEnabled: false },
      }),
    );
    const listed = await awsCli(server.endpoint, [
      'dynamodbstreams',
      'list-streams',
      '--table-name',
      'toggled',
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { Streams: { StreamArn: string }[] }).Streams.map(
        (s) => s.StreamArn,
      ),
      [first],
    );
    const described = await awsCli(server.endpoint, [
      'dynamodbstreams',
      'describe-stream',
      '--stream-arn',
      first,
    ]);
    assert.equal(described.code, 0, described.stderr);
    const d = JSON.parse(described.stdout).StreamDescription;
    assert.equal(d.StreamStatus, 'DISABLED');
    assert.ok(d.Shards[0].SequenceNumberRange.EndingSequenceNumber);
    const missing = await awsCli(server.endpoint, [
      'dynamodbstreams',
      'describe-stream',
      '--stream-arn',
      `${first.slice(0, -3)}999`,
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /ResourceNotFoundException/);
  });

  test('an event source mapping hands the function the matching records in order', async () => {
    const streamArn = await createStreamTable('orders', 'NEW_IMAGE');
    const role = await createRole(c.iam, 'stream-reader');
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'on-order',
        Timeout: 30, // not the 3 s default: CI load must not time a test function out
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: {
          ZipFile: nodeZip(
            `exports.handler = async (event) => {
  for (const r of event.Records) console.log('RECORD ' + JSON.stringify(r));
  return {};
};
`,
          ),
        },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: c.lambda, maxWaitTime: 60 },
      { FunctionName: 'on-order' },
    );
    await assert.rejects(
      c.lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'on-order',
          EventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:queue',
        }),
      ),
      (err: unknown) =>
        err instanceof LambdaServiceException && err.name === 'InvalidParameterValueException',
    );
    const created = await c.lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'on-order',
        EventSourceArn: streamArn,
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 2,
        FilterCriteria: {
          Filters: [
            { Pattern: JSON.stringify({ dynamodb: { NewImage: { kind: { S: ['paid'] } } } }) },
          ],
        },
      }),
    );
    assert.equal(created.State, 'Creating');
    assert.equal(created.EventSourceArn, streamArn);
    for (let i = 0; i < 5; i++) {
      await ddb.send(
        new PutItemCommand({
          TableName: 'orders',
          Item: { id: { S: `o${i}` }, kind: { S: i % 2 ? 'draft' : 'paid' } },
        }),
      );
    }
    const seen = await eventually(
      'three records in the function log',
      async () => {
        const lines = (await logMessages(c.logs, '/aws/lambda/on-order'))
          .filter((m) => m.includes('RECORD '))
          .map((m) => JSON.parse(m.slice(m.indexOf('RECORD ') + 7)) as Record<string, unknown>);
        return lines.length >= 3 ? lines : undefined;
      },
      60_000,
    );
    assert.deepEqual(
      seen.map((r) => (r.dynamodb as { Keys: { id: { S: string } } }).Keys.id.S),
      ['o0', 'o2', 'o4'],
    );
    assert.equal(seen[0].eventName, 'INSERT');
    assert.equal(seen[0].eventSource, 'aws:dynamodb');
    assert.equal(seen[0].eventSourceARN, streamArn);
    assert.equal(
      typeof (seen[0].dynamodb as { ApproximateCreationDateTime: unknown })
        .ApproximateCreationDateTime,
      'number',
    );

    const got = await eventually('the mapping to report OK', async () => {
      const m = await c.lambda.send(new GetEventSourceMappingCommand({ UUID: created.UUID }));
      return m.LastProcessingResult === 'OK' ? m : undefined;
    });
    assert.equal(got.State, 'Enabled');
    const listed = await c.lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: 'on-order' }),
    );
    assert.deepEqual(
      listed.EventSourceMappings?.map((m) => m.UUID),
      [created.UUID],
    );
    const deleted = await c.lambda.send(
      new DeleteEventSourceMappingCommand({ UUID: created.UUID }),
    );
    assert.equal(deleted.State, 'Deleting');
  });

  test('Time to Live deletes expired items, with a stream record naming DynamoDB', async () => {
    await createStreamTable('sessions', 'OLD_IMAGE');
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'sessions',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
      }),
    );
    const now = Math.floor(Date.now() / 1000);
    const put = (id: string, expires: { N: string } | { S: string }) =>
      ddb.send(new PutItemCommand({ TableName: 'sessions', Item: { id: { S: id }, expires } }));
    await put('old', { N: String(now - 60) });
    await put('fresh', { N: String(now + 3600) });
    await put('not-a-number', { S: String(now - 60) });
    await put('ancient', { N: String(now - 6 * 365 * 24 * 3600) });
    const exists = async (id: string) =>
      (await ddb.send(new GetItemCommand({ TableName: 'sessions', Key: { id: { S: id } } })))
        .Item !== undefined;
    await eventually(
      'the expired item to go',
      async () => ((await exists('old')) ? undefined : true),
      60_000,
    );
    for (const id of ['fresh', 'not-a-number', 'ancient']) assert.ok(await exists(id), id);

    const py = await python(
      server.endpoint,
      `
import os, json, boto3
s = boto3.client('dynamodbstreams', endpoint_url=os.environ['ENDPOINT'])
arn = s.list_streams(TableName='sessions')['Streams'][0]['StreamArn']
shard = s.describe_stream(StreamArn=arn)['StreamDescription']['Shards'][0]['ShardId']
it = s.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType='TRIM_HORIZON')['ShardIterator']
recs = [r for r in s.get_records(ShardIterator=it)['Records'] if r['eventName'] == 'REMOVE']
print(json.dumps([{'id': r['dynamodb']['Keys']['id']['S'], 'who': r.get('userIdentity')} for r in recs]))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), [
      { id: 'old', who: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' } },
    ]);
  });
});
