/**
 * The gateway as a whole: admin endpoints, service detection, unimplemented operations,
 * CORS, hostile input and graceful shutdown, through raw signed HTTP and the real SDK.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch, signRequest } from './helpers/sign.js';

describe('gateway', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test('health lists each implemented service as running', async () => {
    const res = await fetch(`${server.endpoint}/_stratus/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; services: Record<string, string> };
    assert.equal(body.status, 'running');
    for (const svc of ['iam', 'sts', 'logs']) assert.equal(body.services[svc], 'running');
  });

  test('an unsigned request with no service hint gets a 400 naming the problem', async () => {
    const res = await fetch(`${server.endpoint}/whatever`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amzn-errortype'), 'UnknownServiceException');
  });

  test('a modelled but unimplemented service answers in its own protocol', async () => {
    const res = await signedFetch(server.endpoint, {
      service: 'eks',
      method: 'GET',
      path: '/clusters',
    });
    assert.equal(res.status, 501);
    assert.equal(res.headers.get('x-amzn-errortype')?.split(':')[0], 'NotImplementedException');
    assert.match(res.text, /eks\.ListClusters is not implemented/);
  });

  // CloudWatch's model lists smithy-rpc-v2-cbor, json and query: older SDKs and the AWS
  // CLI v1 send query, newer ones json. Each request is answered in the protocol it used.
  test('a multi-protocol service is parsed and answered in the protocol of the request', async () => {
    const query = await signedFetch(server.endpoint, {
      service: 'monitoring',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body:
        'Action=PutMetricData&Version=2010-08-01&Namespace=App' +
        '&MetricData.member.1.MetricName=Hits&MetricData.member.1.Value=1',
    });
    assert.equal(query.status, 200);
    assert.match(query.text, /<PutMetricDataResponse[^>]*>/);
    // An operation a service does not implement is the query protocol's NotImplemented
    // (every CloudWatch operation is implemented; ELB's load balancer capacity
    // reservations are not).
    const unimplemented = await signedFetch(server.endpoint, {
      service: 'elasticloadbalancing',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=DescribeCapacityReservation&Version=2015-12-01&LoadBalancerArn=arn',
    });
    assert.equal(unimplemented.status, 501);
    assert.match(
      unimplemented.text,
      /<ErrorResponse[^>]*>.*<Code>NotImplementedException<\/Code>/s,
    );
    assert.match(unimplemented.text, /elbv2\.DescribeCapacityReservation is not implemented/);

    // The query parser read the form: a missing required member is the query protocol's
    // validation error.
    const invalid = await signedFetch(server.endpoint, {
      service: 'monitoring',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=PutMetricData&Version=2010-08-01&MetricData.member.1.MetricName=Hits',
    });
    assert.equal(invalid.status, 400);
    assert.match(invalid.text, /<ErrorResponse[^>]*>.*<Code>ValidationException<\/Code>/s);
    assert.match(invalid.text, /namespace/i);

    // The same in a json protocol: Lightsail's CopySnapshot is not implemented.
    const json = await signedFetch(server.endpoint, {
      service: 'lightsail',
      headers: {
        'x-amz-target': 'Lightsail_20161128.CopySnapshot',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify({ targetSnapshotName: 'copy', sourceRegion: 'us-east-1' }),
    });
    assert.equal(json.status, 501);
    assert.equal(json.headers.get('x-amzn-errortype')?.split(':')[0], 'NotImplementedException');
    assert.match(JSON.parse(json.text).message, /lightsail\.CopySnapshot is not implemented/);
  });

  test('an unknown json operation is UnknownOperationException', async () => {
    const res = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: {
        'x-amz-target': 'Logs_20140328.NoSuchThing',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /UnknownOperationException/);
  });

  test('an unknown query action is InvalidAction in query XML', async () => {
    const res = await signedFetch(server.endpoint, {
      service: 'iam',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=NoSuchAction&Version=2010-05-08',
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /<ErrorResponse[^>]*>.*<Code>InvalidAction<\/Code>/s);
  });

  test('malformed JSON is a SerializationException and the server keeps serving', async () => {
    const res = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: {
        'x-amz-target': 'Logs_20140328.CreateLogGroup',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{"logGroupName": ',
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /SerializationException/);
    await assertStillServing(server);
  });

  test('invalid UTF-8 in a json body gets a 4xx AWS error', async () => {
    const res = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: {
        'x-amz-target': 'Logs_20140328.CreateLogGroup',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: Buffer.concat([
        Buffer.from('{"logGroupName":"'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}'),
      ]),
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${res.text}`);
    assert.ok(res.headers.get('x-amzn-errortype'));
    await assertStillServing(server);
  });

  test('a malformed query body gets a 4xx query XML error', async () => {
    const res = await signedFetch(server.endpoint, {
      service: 'iam',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=CreateRole&RoleName=%ZZ&AssumeRolePolicyDocument=%',
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${res.text}`);
    assert.match(res.text, /<ErrorResponse/);
  });

  test('a 50 MB body to a json operation is refused with 413 and nothing breaks', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 'a');
    const res = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: {
        'x-amz-target': 'Logs_20140328.CreateLogGroup',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: big,
    });
    assert.equal(res.status, 413);
    assert.match(res.text, /RequestEntityTooLargeException/);
    await assertStillServing(server);
  });

  test('a path with .. gets a 4xx AWS error', async () => {
    const res = await rawRequest(server.port, 'GET', '/2015-03-31/functions/../../../etc/passwd', {
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00',
      'x-amz-date': '20240101T000000Z',
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.ok(res.headers['x-amzn-errortype']);
    await assertStillServing(server);
  });

  test('CORS preflight and exposed headers for browser SDKs', async () => {
    const pre = await fetch(`${server.endpoint}/`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,x-amz-date,x-amz-target',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-amz-target/);
    const res = await signedFetch(server.endpoint, {
      service: 'sts',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost:3000',
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  });

  test('reset wipes state', async () => {
    const create = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: {
        'x-amz-target': 'Logs_20140328.CreateLogGroup',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify({ logGroupName: 'reset-me' }),
    });
    assert.equal(create.status, 200, create.text);
    const reset = await fetch(`${server.endpoint}/_stratus/reset`, { method: 'POST' });
    assert.equal(reset.status, 200);
    const list = await signedFetch(server.endpoint, {
      service: 'logs',
      headers: {
        'x-amz-target': 'Logs_20140328.DescribeLogGroups',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    assert.deepEqual((JSON.parse(list.text) as { logGroups: unknown[] }).logGroups, []);
  });

  test('a client that half-closes after its requests gets every answer', async () => {
    // As `nc -N` or a script does: the requests, then the FIN, then the answers. node:http's
    // default aborted the API calls in flight at the FIN and answered nothing.
    const logsCall = async (target: string, body: string): Promise<string> => {
      const signed = await signRequest(server.endpoint, {
        service: 'logs',
        headers: {
          'x-amz-target': `Logs_20140328.${target}`,
          'content-type': 'application/x-amz-json-1.1',
        },
        body,
      });
      const fields = Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}\r\n`);
      return (
        `${signed.method} ${signed.path} HTTP/1.1\r\n${fields.join('')}` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    };
    const pipelined = await halfClosed(
      server.port,
      (await logsCall('CreateLogGroup', '{"logGroupName":"half-closed-group"}')) +
        (await logsCall('DescribeLogGroups', '{"logGroupNamePrefix":"half-closed"}')),
    );
    assert.deepEqual(
      [...pipelined.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]),
      ['200', '200'],
    );
    assert.match(pipelined, /"logGroupName":"half-closed-group"/);

    const old = await halfClosed(server.port, 'GET /_stratus/health HTTP/1.0\r\n\r\n');
    assert.match(old, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(old, /"status":"running"/);
  });
});

/** Sends `text` on a new connection, half-closes it, and reads until the server closes. */
function halfClosed(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

test('graceful shutdown finishes an in-flight request, then refuses new ones', async () => {
  const server = await startTestServer();
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  // A request whose headers have arrived but whose body is still on its way when the
  // shutdown starts: it is in flight, and must complete. The server's 100 Continue says
  // the headers arrived (no timing: a loaded machine may take its time to read them).
  let req!: ClientRequest;
  const headersArrived = new Promise<void>((resolve) => {
    req = request({
      host: '127.0.0.1',
      port: server.port,
      method: 'POST',
      path: '/',
      headers: {
        host: `127.0.0.1:${server.port}`,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(body.length),
        expect: '100-continue',
        authorization:
          'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00',
        'x-amz-date': '20240101T000000Z',
      },
    });
    req.once('continue', resolve);
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, 10));
  await headersArrived;
  const closing = server.stop();
  // The rest of the body comes once the shutdown has begun.
  await new Promise((r) => setImmediate(r));
  req.end(body.slice(10));
  const res = await response;
  await closing;
  assert.equal(res.status, 200, res.text);
  assert.match(res.text, /<Account>000000000000<\/Account>/);
  await assert.rejects(fetch(`${server.endpoint}/_stratus/health`));
});

async function assertStillServing(server: TestServer): Promise<void> {
  const res = await fetch(`${server.endpoint}/_stratus/health`);
  assert.equal(res.status, 200);
}

function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
