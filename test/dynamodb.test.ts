/**
 * DynamoDB through SDK v3 (+ lib-dynamodb), the AWS CLI v2 and boto3: tables, items with
 * conditions and update expressions, Query/Scan order and paging (number and binary sort
 * keys), secondary indexes, batches, transactions, tags, TTL, and AWS's error messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TagResourceCommand,
  TransactionCanceledException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  paginateQuery,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand as DocQueryCommand,
  ScanCommand as DocScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { awsCli, python } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let ddb: DynamoDBClient;
let doc: DynamoDBDocumentClient;

async function rejectsWith(p: Promise<unknown>, name: string, message: string | RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DynamoDBServiceException, String(err));
    assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, 400);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('DynamoDB', () => {
  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(clientConfig(server.endpoint));
    doc = DynamoDBDocumentClient.from(ddb);
    await ddb.send(
      new CreateTableCommand({
        TableName: 'orders',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'customer', AttributeType: 'S' },
          { AttributeName: 'n', AttributeType: 'N' },
          { AttributeName: 'status', AttributeType: 'S' },
          { AttributeName: 'amount', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'customer', KeyType: 'HASH' },
          { AttributeName: 'n', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'by-status',
            KeySchema: [
              { AttributeName: 'status', KeyType: 'HASH' },
              { AttributeName: 'amount', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        LocalSecondaryIndexes: [
          {
            IndexName: 'by-amount',
            KeySchema: [
              { AttributeName: 'customer', KeyType: 'HASH' },
              { AttributeName: 'amount', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: 'orders' });
  });
  after(async () => {
    ddb.destroy();
    await server.stop();
  });

  test('CreateTable answers CREATING, DescribeTable ACTIVE; duplicates and bad schemas are refused', async () => {
    const d = await ddb.send(new DescribeTableCommand({ TableName: 'orders' }));
    assert.equal(d.Table?.TableStatus, 'ACTIVE');
    assert.equal(d.Table?.TableArn, 'arn:aws:dynamodb:us-east-1:000000000000:table/orders');
    assert.equal(d.Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.equal(d.Table?.GlobalSecondaryIndexes?.[0].IndexStatus, 'ACTIVE');
    await rejectsWith(
      ddb.send(
        new CreateTableCommand({
          TableName: 'orders',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }],
        }),
      ),
      'ResourceInUseException',
      'Table already exists: orders',
    );
    await rejectsWith(
      ddb.send(
        new CreateTableCommand({
          TableName: 'nothroughput',
          AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
        }),
      ),
      'ValidationException',
      'No provisioned throughput specified for the table',
    );
    await rejectsWith(
      ddb.send(
        new CreateTableCommand({
          TableName: 'undefined-key',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
          KeySchema: [
            { AttributeName: 'k', KeyType: 'HASH' },
            { AttributeName: 's', KeyType: 'RANGE' },
          ],
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [s], AttributeDefinitions: [k]',
    );
    await rejectsWith(
      ddb.send(new DescribeTableCommand({ TableName: 'missing' })),
      'ResourceNotFoundException',
      'Requested resource not found: Table: missing not found',
    );
  });

  test('items: put, get with projection, conditions, update expressions, return values', async () => {
    await doc.send(
      new PutCommand({
        TableName: 'orders',
        Item: {
          customer: 'ann',
          n: 1,
          status: 'open',
          amount: 30,
          tags: new Set(['a']),
          info: { city: 'Oslo', parts: [1, 2, 3] },
        },
      }),
    );
    const got = await doc.send(
      new GetCommand({
        TableName: 'orders',
        Key: { customer: 'ann', n: 1 },
        ProjectionExpression: '#i.city, #i.parts[2], amount',
        ExpressionAttributeNames: { '#i': 'info' },
      }),
    );
    assert.deepEqual(got.Item, { info: { city: 'Oslo', parts: [3] }, amount: 30 });

    await assert.rejects(
      doc.send(
        new PutCommand({
          TableName: 'orders',
          Item: { customer: 'ann', n: 1 },
          ConditionExpression: 'attribute_not_exists(customer)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof ConditionalCheckFailedException);
        assert.equal(err.message, 'The conditional request failed');
        assert.equal(err.Item?.status?.S, 'open');
        return true;
      },
    );

    const up = await doc.send(
      new UpdateCommand({
        TableName: 'orders',
        Key: { customer: 'ann', n: 1 },
        UpdateExpression:
          'SET amount = amount + :d, info.parts = list_append(info.parts, :more), seen = if_not_exists(seen, :zero) REMOVE info.city ADD tags :t, visits :one',
        ConditionExpression: '#s = :open AND amount BETWEEN :lo AND :hi AND contains(tags, :a)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':d': 12.5,
          ':more': [4],
          ':zero': 0,
          ':t': new Set(['b', 'c']),
          ':one': 1,
          ':a': 'a',
          ':open': 'open',
          ':lo': 10,
          ':hi': 100,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    assert.deepEqual(up.Attributes, {
      amount: 42.5,
      info: { parts: [1, 2, 3, 4] },
      seen: 0,
      tags: new Set(['a', 'b', 'c']),
      visits: 1,
    });
    const removed = await doc.send(
      new UpdateCommand({
        TableName: 'orders',
        Key: { customer: 'ann', n: 1 },
        UpdateExpression: 'DELETE tags :a',
        ExpressionAttributeValues: { ':a': new Set(['a', 'c']) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    assert.deepEqual(removed.Attributes, { tags: new Set(['b']) });

    await rejectsWith(
      doc.send(
        new UpdateCommand({
          TableName: 'orders',
          Key: { customer: 'ann', n: 1 },
          UpdateExpression: 'SET n = :x',
          ExpressionAttributeValues: { ':x': 2 },
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Cannot update attribute n. This attribute is part of the key',
    );
    await rejectsWith(
      doc.send(
        new UpdateCommand({
          TableName: 'orders',
          Key: { customer: 'ann', n: 1 },
          UpdateExpression: 'SET size = :x',
          ExpressionAttributeValues: { ':x': 2 },
        }),
      ),
      'ValidationException',
      'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size',
    );
    await rejectsWith(
      doc.send(
        new UpdateCommand({
          TableName: 'orders',
          Key: { customer: 'ann', n: 1 },
          UpdateExpression: 'SET a = :x',
          ExpressionAttributeValues: { ':x': 2, ':unused': 3 },
        }),
      ),
      'ValidationException',
      'Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}',
    );
    await rejectsWith(
      doc.send(new GetCommand({ TableName: 'orders', Key: { customer: 'ann' } })),
      'ValidationException',
      'The provided key element does not match the schema',
    );
    await rejectsWith(
      doc.send(new PutCommand({ TableName: 'orders', Item: { customer: 'ann', n: 'one' } })),
      'ValidationException',
      'One or more parameter values were invalid: Type mismatch for key n expected: N actual: S',
    );
    await rejectsWith(
      doc.send(new PutCommand({ TableName: 'nope', Item: { customer: 'ann', n: 1 } })),
      'ResourceNotFoundException',
      'Requested resource not found',
    );

    const del = await doc.send(
      new DeleteCommand({
        TableName: 'orders',
        Key: { customer: 'ann', n: 1 },
        ReturnValues: 'ALL_OLD',
      }),
    );
    assert.equal(del.Attributes?.amount, 42.5);
    assert.equal(
      (await doc.send(new GetCommand({ TableName: 'orders', Key: { customer: 'ann', n: 1 } })))
        .Item,
      undefined,
    );
  });

  test('Query orders numbers as numbers (negatives, decimals), both directions, pages by Limit', async () => {
    const ns = [10, -3, 2.5, 100, -20, 0, 7, 1e5, -0.5, 33];
    await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          orders: ns.map((n, i) => ({
            PutRequest: {
              Item: { customer: 'bob', n, status: i % 2 ? 'open' : 'shipped', amount: i * 10 },
            },
          })),
        },
      }),
    );
    const sorted = [...ns].sort((a, b) => a - b);
    const all = await doc.send(
      new DocQueryCommand({
        TableName: 'orders',
        KeyConditionExpression: 'customer = :c',
        ExpressionAttributeValues: { ':c': 'bob' },
      }),
    );
    assert.deepEqual(
      all.Items?.map((i) => i.n),
      sorted,
    );
    const back = await doc.send(
      new DocQueryCommand({
        TableName: 'orders',
        KeyConditionExpression: 'customer = :c AND n BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':c': 'bob', ':lo': -3, ':hi': 10 },
        ScanIndexForward: false,
      }),
    );
    assert.deepEqual(
      back.Items?.map((i) => i.n),
      [10, 7, 2.5, 0, -0.5, -3],
    );

    const pages: number[][] = [];
    for await (const page of paginateQuery(
      { client: ddb, pageSize: 3 },
      {
        TableName: 'orders',
        KeyConditionExpression: 'customer = :c AND n > :z',
        FilterExpression: '#s = :open',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':c': { S: 'bob' }, ':z': { N: '0' }, ':open': { S: 'open' } },
      },
    )) {
      assert.ok((page.ScannedCount ?? 0) <= 3);
      pages.push((page.Items ?? []).map((i) => Number(i.n.N)));
    }
    const open = ns.filter((n, i) => n > 0 && i % 2 === 1).sort((a, b) => a - b);
    assert.deepEqual(pages.flat(), open);
    assert.ok(pages.length >= 2);

    await rejectsWith(
      doc.send(
        new DocQueryCommand({
          TableName: 'orders',
          KeyConditionExpression: 'n > :z',
          ExpressionAttributeValues: { ':z': 0 },
        }),
      ),
      'ValidationException',
      'Query condition missed key schema element: customer',
    );
  });

  test('secondary indexes: a GSI projects keys only, an LSI orders by its sort key', async () => {
    const gsi = await doc.send(
      new DocQueryCommand({
        TableName: 'orders',
        IndexName: 'by-status',
        KeyConditionExpression: '#s = :s AND amount >= :t',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'shipped', ':t': 40 },
      }),
    );
    assert.deepEqual(
      gsi.Items?.map((i) => [i.amount, Object.keys(i).sort().join(',')]),
      [
        [40, 'amount,customer,n,status'],
        [60, 'amount,customer,n,status'],
        [80, 'amount,customer,n,status'],
      ],
    );
    const lsi = await doc.send(
      new DocQueryCommand({
        TableName: 'orders',
        IndexName: 'by-amount',
        KeyConditionExpression: 'customer = :c AND amount < :t',
        ExpressionAttributeValues: { ':c': 'bob', ':t': 30 },
        ScanIndexForward: false,
      }),
    );
    assert.deepEqual(
      lsi.Items?.map((i) => i.amount),
      [20, 10, 0],
    );
    await rejectsWith(
      doc.send(
        new DocQueryCommand({
          TableName: 'orders',
          IndexName: 'nope',
          KeyConditionExpression: 'customer = :c',
          ExpressionAttributeValues: { ':c': 'bob' },
        }),
      ),
      'ValidationException',
      'The table does not have the specified index: nope',
    );
  });

  test('binary sort keys order as unsigned bytes; Scan pages and segments cover the table once', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'blobs',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'p', AttributeType: 'S' },
          { AttributeName: 'b', AttributeType: 'B' },
        ],
        KeySchema: [
          { AttributeName: 'p', KeyType: 'HASH' },
          { AttributeName: 'b', KeyType: 'RANGE' },
        ],
      }),
    );
    const keys = [[0xff], [0x00, 0x01], [0x7f], [0x80], [0x00], [0x01, 0xff, 0x00]].map((b) =>
      Buffer.from(b),
    );
    for (const [i, b] of keys.entries()) {
      await ddb.send(
        new PutItemCommand({ TableName: 'blobs', Item: { p: { S: `p${i % 2}` }, b: { B: b } } }),
      );
      await ddb.send(
        new PutItemCommand({ TableName: 'blobs', Item: { p: { S: 'all' }, b: { B: b } } }),
      );
    }
    const q = await ddb.send(
      new QueryCommand({
        TableName: 'blobs',
        KeyConditionExpression: 'p = :p',
        ExpressionAttributeValues: { ':p': { S: 'all' } },
      }),
    );
    const order = (q.Items ?? []).map((i) => Buffer.from(i.b.B as Uint8Array).toString('hex'));
    assert.deepEqual(
      order,
      [...keys].sort(Buffer.compare).map((b) => b.toString('hex')),
    );

    const seen: string[] = [];
    for (const Segment of [0, 1, 2]) {
      let ExclusiveStartKey: Record<string, never> | undefined;
      do {
        const page = await ddb.send(
          new ScanCommand({
            TableName: 'blobs',
            Segment,
            TotalSegments: 3,
            Limit: 2,
            ExclusiveStartKey,
          }),
        );
        for (const i of page.Items ?? [])
          seen.push(`${i.p.S}:${Buffer.from(i.b.B as Uint8Array).toString('hex')}`);
        ExclusiveStartKey = page.LastEvaluatedKey as typeof ExclusiveStartKey;
      } while (ExclusiveStartKey);
    }
    assert.equal(seen.length, 12);
    assert.equal(new Set(seen).size, 12);
    const count = await ddb.send(new ScanCommand({ TableName: 'blobs', Select: 'COUNT' }));
    assert.equal(count.Count, 12);
    assert.equal(count.Items, undefined);
  });

  test('transactions: all or nothing, with cancellation reasons; batches', async () => {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'orders', Item: { customer: 'tx', n: 1, stock: 5 } } },
          { Put: { TableName: 'orders', Item: { customer: 'tx', n: 2, stock: 0 } } },
        ],
      }),
    );
    await assert.rejects(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: 'orders',
                Key: { customer: 'tx', n: 1 },
                UpdateExpression: 'SET stock = stock - :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
            {
              ConditionCheck: {
                TableName: 'orders',
                Key: { customer: 'tx', n: 2 },
                ConditionExpression: 'stock > :z',
                ExpressionAttributeValues: { ':z': 0 },
              },
            },
          ],
        }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof TransactionCanceledException);
        assert.equal(
          err.message,
          'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]',
        );
        assert.deepEqual(
          err.CancellationReasons?.map((r) => r.Code),
          ['None', 'ConditionalCheckFailed'],
        );
        return true;
      },
    );
    const both = await doc.send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: 'orders', Key: { customer: 'tx', n: 1 } } },
          { Get: { TableName: 'orders', Key: { customer: 'tx', n: 2 } } },
        ],
      }),
    );
    assert.deepEqual(
      both.Responses?.map((r) => r.Item?.stock),
      [5, 0],
    );
    await rejectsWith(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: { TableName: 'orders', Key: { customer: 'tx', n: 1 } } },
            { Delete: { TableName: 'orders', Key: { customer: 'tx', n: 1 } } },
          ],
        }),
      ),
      'ValidationException',
      'Transaction request cannot include multiple operations on one item',
    );
    const batch = await doc.send(
      new BatchGetCommand({
        RequestItems: {
          orders: {
            Keys: [
              { customer: 'tx', n: 1 },
              { customer: 'tx', n: 9 },
            ],
            ProjectionExpression: 'stock',
          },
        },
      }),
    );
    assert.deepEqual(batch.Responses?.orders, [{ stock: 5 }]);
    const scan = await doc.send(
      new DocScanCommand({
        TableName: 'orders',
        FilterExpression: 'attribute_exists(stock) AND stock <> :z',
        ExpressionAttributeValues: { ':z': 0 },
      }),
    );
    assert.deepEqual(
      scan.Items?.map((i) => i.n),
      [1],
    );
  });

  test('ListTables pages; tags, TTL, UpdateTable adds a GSI over existing items; DeleteTable', async () => {
    const first = await ddb.send(new ListTablesCommand({ Limit: 1 }));
    assert.deepEqual(first.TableNames, ['blobs']);
    assert.equal(first.LastEvaluatedTableName, 'blobs');
    const rest = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: 'blobs' }));
    assert.deepEqual(rest.TableNames, ['orders']);
    assert.equal(rest.LastEvaluatedTableName, undefined);

    const arn = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders';
    await ddb.send(
      new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'shop' }] }),
    );
    const tags = await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    assert.deepEqual(tags.Tags, [{ Key: 'team', Value: 'shop' }]);

    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'orders',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
      }),
    );
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'orders' }));
    assert.deepEqual(ttl.TimeToLiveDescription, {
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expires',
    });
    await rejectsWith(
      ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: 'orders',
          TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
        }),
      ),
      'ValidationException',
      'TimeToLive is already enabled',
    );

    await ddb.send(
      new UpdateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'stock', AttributeType: 'N' }],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'by-stock',
              KeySchema: [{ AttributeName: 'stock', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      }),
    );
    const byStock = await doc.send(
      new DocQueryCommand({
        TableName: 'orders',
        IndexName: 'by-stock',
        KeyConditionExpression: 'stock = :s',
        ExpressionAttributeValues: { ':s': 5 },
      }),
    );
    assert.deepEqual(byStock.Items, [{ customer: 'tx', n: 1, stock: 5 }]);

    await ddb.send(new DeleteTableCommand({ TableName: 'blobs' }));
    await rejectsWith(
      ddb.send(new ScanCommand({ TableName: 'blobs' })),
      'ResourceNotFoundException',
      'Requested resource not found',
    );
  });

  test('the AWS CLI v2 and boto3 read and write the same table', async () => {
    const put = await awsCli(server.endpoint, [
      'dynamodb',
      'put-item',
      '--table-name',
      'orders',
      '--item',
      JSON.stringify({ customer: { S: 'cli' }, n: { N: '1' }, note: { S: 'from the cli' } }),
    ]);
    assert.equal(put.code, 0, put.stderr);
    const failed = await awsCli(server.endpoint, [
      'dynamodb',
      'put-item',
      '--table-name',
      'orders',
      '--item',
      JSON.stringify({ customer: { S: 'cli' }, n: { N: '1' } }),
      '--condition-expression',
      'attribute_not_exists(customer)',
    ]);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /ConditionalCheckFailedException.*The conditional request failed/);

    const py = await python(
      server.endpoint,
      `
import os, json, boto3
from boto3.dynamodb.conditions import Key
t = boto3.resource('dynamodb', endpoint_url=os.environ['ENDPOINT']).Table('orders')
got = t.get_item(Key={'customer': 'cli', 'n': 1})['Item']
t.update_item(Key={'customer': 'cli', 'n': 1}, UpdateExpression='SET hits = :h', ExpressionAttributeValues={':h': 3})
q = t.query(KeyConditionExpression=Key('customer').eq('cli') & Key('n').between(0, 5))
print(json.dumps({'note': got['note'], 'hits': int(q['Items'][0]['hits']), 'count': q['Count']}))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), { note: 'from the cli', hits: 3, count: 1 });

    const get = await awsCli(server.endpoint, [
      'dynamodb',
      'get-item',
      '--table-name',
      'orders',
      '--key',
      JSON.stringify({ customer: { S: 'cli' }, n: { N: '1' } }),
    ]);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout).Item.hits, { N: '3' });
    const direct = await ddb.send(
      new GetItemCommand({ TableName: 'orders', Key: { customer: { S: 'cli' }, n: { N: '1.0' } } }),
    );
    assert.equal(direct.Item?.note.S, 'from the cli');
  });
});
