import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { model as logs } from '../api/logs/model.js';
import { ResourceNotFoundException, ServiceUnavailableException } from '../api/logs/errors.js';
import { model as ecr } from '../api/ecr/model.js';
import { model as cloudwatch } from '../api/cloudwatch/model.js';
import { DashboardNotFoundError } from '../api/cloudwatch/errors.js';
import { AwsError } from '../shared/errors.js';
import { jsonCodec } from './json.js';
import {
  exchange,
  loopback,
  testCredentials,
  type Provider,
} from '../../test/helpers/sdk-loopback.js';
import type { OperationModel, ServiceModel } from './model.js';
import type { Struct, WireRequest } from './types.js';

function logsClient(provider: Provider) {
  const lb = loopback(logs, provider);
  const client = new CloudWatchLogsClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:4566',
    credentials: testCredentials,
    requestHandler: lb.requestHandler,
    maxAttempts: 1,
  });
  return { client, exchanges: lb.exchanges };
}

function jsonRequest(target: string, body: string | Buffer): WireRequest {
  return {
    method: 'POST',
    path: '/',
    rawQuery: '',
    query: new URLSearchParams(),
    headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' },
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

function op(model: ServiceModel, name: string): OperationModel {
  return model.operations[name];
}

async function errorOf(
  target: string,
  body: string | Buffer,
): Promise<{ status: number; doc: Struct }> {
  const ex = await exchange(jsonRequest(target, body), logs, () => ({}));
  return { status: ex.response.status, doc: JSON.parse(String(ex.response.body)) as Struct };
}

test('Logs PutLogEvents: SDK bytes in, our JSON back out', async () => {
  const { client, exchanges } = logsClient((o, input) => {
    assert.equal(o.name, 'PutLogEvents');
    const events = input.logEvents as Struct[];
    return {
      nextSequenceToken: String(events.length),
      rejectedLogEventsInfo: { tooOldLogEventEndIndex: 0 },
    };
  });
  const out = await client.send(
    new PutLogEventsCommand({
      logGroupName: '/aws/lambda/fn',
      logStreamName: '2024/01/01/[$LATEST]abc',
      logEvents: [
        { timestamp: 1700000000000, message: 'START RequestId: 1' },
        { timestamp: 1700000000001, message: 'ünïcode ✓' },
      ],
    }),
  );
  assert.deepEqual(exchanges[0].input, {
    logGroupName: '/aws/lambda/fn',
    logStreamName: '2024/01/01/[$LATEST]abc',
    logEvents: [
      { timestamp: 1700000000000, message: 'START RequestId: 1' },
      { timestamp: 1700000000001, message: 'ünïcode ✓' },
    ],
  });
  assert.equal(out.nextSequenceToken, '2');
  assert.deepEqual(out.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 0 });
  assert.deepEqual(exchanges[0].response.headers, {
    'Content-Type': 'application/x-amz-json-1.1',
    'x-amzn-RequestId': 'a1b2c3d4-0000-4000-8000-000000000001',
  });
});

test('Logs maps and lists both ways (CreateLogGroup tags, DescribeLogGroups)', async () => {
  const { client, exchanges } = logsClient((o) =>
    o.name === 'CreateLogGroup'
      ? {}
      : {
          logGroups: [{ logGroupName: 'g', creationTime: 1700000000000, storedBytes: 12 }],
          nextToken: 't',
        },
  );
  await client.send(
    new CreateLogGroupCommand({ logGroupName: 'g', tags: { team: 'core', 'a:b': '' } }),
  );
  assert.deepEqual(exchanges[0].input, { logGroupName: 'g', tags: { team: 'core', 'a:b': '' } });
  const out = await client.send(new DescribeLogGroupsCommand({ limit: 5 }));
  assert.deepEqual(exchanges[1].input, { limit: 5 });
  assert.deepEqual(out.logGroups, [
    { logGroupName: 'g', creationTime: 1700000000000, storedBytes: 12 },
  ]);
  assert.equal(out.nextToken, 't');
});

test('Logs errors: modeled client and server errors reach the SDK by name', async () => {
  const { client, exchanges } = logsClient((o) => {
    if (o.name === 'GetLogEvents')
      throw new ResourceNotFoundException('The specified log group does not exist.');
    throw new ServiceUnavailableException('try later');
  });
  await assert.rejects(
    client.send(new GetLogEventsCommand({ logGroupName: 'g', logStreamName: 's' })),
    (e: Error & Struct) => {
      assert.equal(e.name, 'ResourceNotFoundException');
      assert.equal(e.message, 'The specified log group does not exist.');
      assert.equal((e.$metadata as Struct).httpStatusCode, 400);
      return true;
    },
  );
  assert.deepEqual(JSON.parse(String(exchanges[0].response.body)), {
    __type: 'ResourceNotFoundException',
    message: 'The specified log group does not exist.',
  });
  assert.equal(exchanges[0].response.headers['x-amzn-ErrorType'], 'ResourceNotFoundException');
  await assert.rejects(client.send(new DescribeLogGroupsCommand({})), (e: Error & Struct) => {
    assert.equal(e.name, 'ServiceUnavailableException');
    assert.equal(e.$fault, 'server');
    assert.equal((e.$metadata as Struct).httpStatusCode, 500);
    return true;
  });
});

test('Logs validation uses InvalidParameterException (codegen patch) and AWS wording', async () => {
  const { client } = logsClient(() => ({}));
  await assert.rejects(
    client.send(new CreateLogGroupCommand({ logGroupName: 'bad name!', tags: { '': 'x' } })),
    (e: Error) => {
      assert.equal(e.name, 'InvalidParameterException');
      assert.equal(
        e.message,
        "2 validation errors detected: Value 'bad name!' at 'logGroupName' failed to satisfy constraint: " +
          'Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; ' +
          "Value '{=x}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: " +
          '[Member must have length greater than or equal to 1, ' +
          'Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$]',
      );
      return true;
    },
  );
  const empty = await errorOf('Logs_20140328.CreateLogGroup', '');
  assert.equal(empty.status, 400);
  assert.equal(
    empty.doc.message,
    "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
  );
});

test('malformed JSON, wrong JSON types and invalid UTF-8 are SerializationExceptions, never crashes', async () => {
  const cases: [string, string][] = [
    ['{"logGroupName": ', 'The request body is not valid JSON'],
    ['[1]', 'Start of list found where not expected'],
    ['{"logGroupNamePrefix": 5}', 'NUMBER_VALUE can not be converted to a String'],
    ['{"limit": "5"}', 'STRING_VALUE can not be converted to an Integer'],
    ['{"logGroupNamePrefix": ["g"]}', 'Start of list found where not expected'],
    ['{"logGroupNamePrefix": {"a": 1}}', 'Start of structure or map found where not expected.'],
    ['{"includeLinkedAccounts": "yes"}', 'STRING_VALUE can not be converted to an Boolean'],
  ];
  for (const [body, message] of cases) {
    const { status, doc } = await errorOf('Logs_20140328.DescribeLogGroups', body);
    assert.equal(status, 400, body);
    assert.deepEqual(doc, { __type: 'SerializationException', message }, body);
  }
  const bytes = Buffer.concat([
    Buffer.from('{"logGroupName":"'),
    Buffer.from([0xff, 0xc3]),
    Buffer.from('"}'),
  ]);
  const ex = await exchange(
    jsonRequest('Logs_20140328.CreateLogGroup', bytes),
    logs,
    (_o, input) => {
      assert.equal(input.logGroupName, '\uFFFD\uFFFD');
      return {};
    },
  );
  assert.equal(ex.response.status, 400); // the pattern rejects U+FFFD
});

test('unknown, missing and inherited-property targets are UnknownOperationException', () => {
  for (const target of [
    'Logs_20140328.Nope',
    'Logs_20140328.constructor',
    'Other_1.PutLogEvents',
    'PutLogEvents',
  ]) {
    const r = jsonCodec.resolveOperation(jsonRequest(target, '{}'), logs);
    assert.ok(r instanceof AwsError, target);
    assert.equal(r.code, 'UnknownOperationException');
    assert.equal(r.status, 400);
  }
  const none = jsonCodec.resolveOperation({ ...jsonRequest('x', '{}'), headers: {} }, logs);
  assert.ok(none instanceof AwsError);
  const ok = jsonCodec.resolveOperation(jsonRequest('Logs_20140328.PutLogEvents', '{}'), logs);
  assert.equal((ok as OperationModel).name, 'PutLogEvents');
});

test('timestamps are epoch seconds and blobs base64 in JSON (ECR)', () => {
  const blob = Buffer.from([0, 1, 2, 253, 254, 255]);
  const req = jsonRequest(
    'AmazonEC2ContainerRegistry_V20150921.UploadLayerPart',
    JSON.stringify({
      repositoryName: 'r',
      uploadId: 'u',
      partFirstByte: 0,
      partLastByte: 5,
      layerPartBlob: blob.toString('base64'),
    }),
  );
  const input = jsonCodec.parseInput(req, op(ecr, 'UploadLayerPart'), ecr);
  assert.deepEqual(input.layerPartBlob, blob);
  const res = jsonCodec.serializeOutput(
    {
      authorizationData: [
        {
          authorizationToken: 'QVdTOnB3',
          expiresAt: new Date('2024-01-01T12:00:00.250Z'),
          proxyEndpoint: 'https://x',
        },
      ],
    },
    op(ecr, 'GetAuthorizationToken'),
    ecr,
    { requestId: 'r' },
  );
  assert.deepEqual(JSON.parse(String(res.body)), {
    authorizationData: [
      { authorizationToken: 'QVdTOnB3', expiresAt: 1704110400.25, proxyEndpoint: 'https://x' },
    ],
  });
  const ts = jsonCodec.parseInput(
    jsonRequest('x', '{"repositoryName":"r","imageIds":[],"filter":{"tagStatus":"ANY"}}'),
    op(ecr, 'DescribeImages'),
    ecr,
  );
  assert.deepEqual(ts, { repositoryName: 'r', imageIds: [], filter: { tagStatus: 'ANY' } });
});

test('awsQueryCompatible services (CloudWatch over JSON) also send x-amzn-query-error', () => {
  const res = jsonCodec.serializeError(
    new DashboardNotFoundError('Dashboard d does not exist'),
    cloudwatch,
    {
      requestId: 'r',
    },
  );
  assert.equal(res.status, 404);
  assert.equal(res.headers['Content-Type'], 'application/x-amz-json-1.0');
  assert.equal(res.headers['x-amzn-query-error'], 'ResourceNotFound;Sender');
  assert.deepEqual(JSON.parse(String(res.body)), {
    __type: 'DashboardNotFoundError',
    message: 'Dashboard d does not exist',
  });
});
