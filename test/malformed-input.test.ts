/**
 * Inputs the fuzz harness found to end in a 500 (or worse), each answered as AWS answers
 * it: null list members, unknown members echoed back, 10,000-level nesting, a malformed `%`
 * escape in InvokeWithResponseStream's path, and clients that hang up mid-request (logged
 * at debug as 499, never as an error). Raw signed HTTP where no SDK would send the input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch, type RawResponse } from './helpers/sign.js';

const ECR_TARGET = 'AmazonEC2ContainerRegistry_V20150921';
const JSON11 = 'application/x-amz-json-1.1';

/** Every line the server logs (to stderr, JSON lines off a terminal) while `fn` runs. */
async function capturingLogs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stderr.write = write;
  }
}

/** Sends `head` and part of a body over a raw socket, then resets the connection. */
async function hangUpMidBody(port: number, head: string): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(head + '{"partial":');
  await new Promise((r) => setTimeout(r, 100));
  socket.resetAndDestroy();
  await new Promise((r) => setTimeout(r, 200));
}

describe('malformed input gets a 4xx of its protocol, never a 500', () => {
  let server: TestServer;
  let ecr: ECRClient;
  let logs: CloudWatchLogsClient;

  const ecrCall = (op: string, body: string): Promise<RawResponse> =>
    signedFetch(server.endpoint, {
      service: 'ecr',
      headers: { 'x-amz-target': `${ECR_TARGET}.${op}`, 'content-type': JSON11 },
      body,
    });

  before(async () => {
    server = await startTestServer({ logLevel: 'debug' });
    ecr = new ECRClient(clientConfig(server.endpoint));
    logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fuzzed' }));
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'fuzzed' }));
  });
  after(async () => {
    ecr.destroy();
    logs.destroy();
    await server.stop();
  });

  test('a null list member is a validation error of the service, before the provider', async () => {
    const ecrCases: [string, string][] = [
      ['BatchGetImage', '{"repositoryName":"fuzzed","imageIds":[null]}'],
      ['BatchDeleteImage', '{"repositoryName":"fuzzed","imageIds":[null]}'],
      ['DescribeImages', '{"repositoryName":"fuzzed","imageIds":[null]}'],
      ['BatchCheckLayerAvailability', '{"repositoryName":"fuzzed","layerDigests":[null]}'],
      ['CreateRepository', '{"repositoryName":"fuzzed-2","tags":[null]}'],
    ];
    for (const [op, body] of ecrCases) {
      const r = await ecrCall(op, body);
      assert.equal(r.status, 400, `${op}: ${r.text}`);
      assert.equal(
        r.headers.get('x-amzn-errortype'),
        'InvalidParameterException',
        `${op}: ${r.text}`,
      );
      assert.match(r.text, /Member must not be null/);
    }
    const put = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: { 'x-amz-target': 'Logs_20140328.PutLogEvents', 'content-type': JSON11 },
      body: '{"logGroupName":"fuzzed","logStreamName":"s","logEvents":[null]}',
    });
    assert.equal(put.status, 400, put.text);
    assert.deepEqual(JSON.parse(put.text), {
      __type: 'InvalidParameterException',
      message:
        "1 validation error detected: Value null at 'logEvents.1.member' failed to satisfy constraint: Member must not be null",
    });
  });

  test('output carries only modelled members, whatever the input held', async () => {
    for (const op of ['BatchGetImage', 'BatchDeleteImage']) {
      const r = await ecrCall(
        op,
        JSON.stringify({
          repositoryName: 'fuzzed',
          imageIds: [{ imageTag: 'nope', bogus: { nested: [1, 2, 3] }, __proto__x: 1 }],
        }),
      );
      assert.equal(r.status, 200, `${op}: ${r.text}`);
      const out = JSON.parse(r.text) as { failures: { imageId: unknown }[] };
      assert.deepEqual(out.failures[0].imageId, { imageTag: 'nope' });
    }
  });

  test('10,000-level nesting is a SerializationException (json, rest-json)', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const r = await ecrCall(
      'BatchGetImage',
      `{"repositoryName":"fuzzed","imageIds":[{"imageTag":"x","deep":${deep}}]}`,
    );
    assert.equal(r.status, 400, r.text);
    assert.equal(r.headers.get('x-amzn-errortype'), 'SerializationException');

    const lambda = await signedFetch(server.endpoint, {
      service: 'lambda',
      path: '/2015-03-31/functions',
      headers: { 'content-type': 'application/json' },
      body: `{"FunctionName":"f","Environment":{"Variables":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}}`,
    });
    assert.equal(lambda.status, 400, lambda.text);
    assert.equal(lambda.headers.get('x-amzn-errortype'), 'SerializationException');
  });

  test('InvokeWithResponseStream with a malformed % escape in the name: a 4xx, as Invoke', async () => {
    for (const path of [
      '/2021-11-15/functions/x%c0/response-streaming-invocations',
      '/2021-11-15/functions/%E0%A4%A/response-streaming-invocations',
      '/2015-03-31/functions/x%c0/invocations',
    ]) {
      const r = await signedFetch(server.endpoint, { service: 'lambda', path, body: '{}' });
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.text}`);
      assert.ok(r.headers.get('x-amzn-errortype'), `${path}: ${r.text}`);
    }
  });

  test('a client hanging up mid-body: logged at debug as 499, not as an error', async () => {
    const { lines } = await capturingLogs(async () => {
      // The API chain (json, routed by X-Amz-Target) ...
      await hangUpMidBody(
        server.port,
        'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Logs_20140328.DescribeLogGroups\r\n' +
          `Content-Type: ${JSON11}\r\nContent-Length: 1000\r\n\r\n`,
      );
      // ... and a data plane (InvokeWithResponseStream reads its body before anything).
      await hangUpMidBody(
        server.port,
        'POST /2021-11-15/functions/f/response-streaming-invocations HTTP/1.1\r\nHost: x\r\n' +
          'Content-Length: 1000\r\n\r\n',
      );
      // The server still answers.
      const r = await ecrCall('DescribeRepositories', '{}');
      assert.equal(r.status, 200);
    });
    const parsed = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map(
        (l) => JSON.parse(l) as { level: string; msg: string; service?: string; status?: number },
      );
    const bad = parsed.filter((l) => l.level === 'error' || l.level === 'warn');
    assert.deepEqual(bad, []);
    assert.ok(
      parsed.some((l) => l.service === 'logs' && l.status === 499),
      `access log: ${JSON.stringify(parsed)}`,
    );
  });
});
