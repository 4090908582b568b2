import { test } from 'node:test';
import assert from 'node:assert/strict';
import { model as lambda } from '../api/lambda/model.js';
import { ResourceNotFoundException, TooManyRequestsException } from '../api/lambda/errors.js';
import { model as apigatewayv2 } from '../api/apigatewayv2/model.js';
import { model as eks } from '../api/eks/model.js';
import { AwsError } from '../shared/errors.js';
import type { OperationModel, ServiceModel } from './model.js';
import { restJsonCodec as codec } from './rest-json.js';
import type { Struct, WireRequest } from './types.js';

function request(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body: string | Buffer = '',
): WireRequest {
  const q = url.indexOf('?');
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  return {
    method,
    path: q < 0 ? url : url.slice(0, q),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    headers,
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

function resolve(req: WireRequest, model: ServiceModel): OperationModel {
  const op = codec.resolveOperation(req, model);
  if (op instanceof AwsError) throw op;
  return op;
}

const ctx = { requestId: 'req-1' };

test('Lambda Invoke: uri label (percent-decoded ARN), Qualifier, headers, raw blob payload', () => {
  const payload = Buffer.from('{"key":"välue"}');
  const req = request(
    'POST',
    '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Amy-fn/invocations?Qualifier=prod',
    {
      'x-amz-invocation-type': 'Event',
      'x-amz-log-type': 'Tail',
      'x-amz-client-context': 'eyJhIjoxfQ==',
      'content-type': 'application/octet-stream',
    },
    payload,
  );
  const op = resolve(req, lambda);
  assert.equal(op.name, 'Invoke');
  assert.deepEqual(codec.parseInput(req, op, lambda), {
    FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:my-fn',
    Qualifier: 'prod',
    InvocationType: 'Event',
    LogType: 'Tail',
    ClientContext: 'eyJhIjoxfQ==',
    Payload: payload,
  });
  const res = codec.serializeOutput(
    {
      StatusCode: 200,
      FunctionError: 'Unhandled',
      LogResult: Buffer.from('START').toString('base64'),
      ExecutedVersion: '$LATEST',
      Payload: Buffer.from('{"errorMessage":"boom"}'),
    },
    op,
    lambda,
    ctx,
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers['X-Amz-Function-Error'], 'Unhandled');
  assert.equal(res.headers['X-Amz-Executed-Version'], '$LATEST');
  assert.equal(res.headers['X-Amz-Log-Result'], 'U1RBUlQ=');
  assert.equal(res.headers['x-amzn-RequestId'], 'req-1');
  assert.deepEqual(res.body, Buffer.from('{"errorMessage":"boom"}'));
  // The statusCode member sets the HTTP status (Event → 202).
  assert.equal(codec.serializeOutput({ StatusCode: 202 }, op, lambda, ctx).status, 202);
});

test('Lambda routing prefers literal segments, then labels; literal query parts pick the operation', () => {
  assert.equal(resolve(request('GET', '/2015-03-31/functions/fn'), lambda).name, 'GetFunction');
  assert.equal(
    resolve(request('GET', '/2015-03-31/functions/fn/configuration'), lambda).name,
    'GetFunctionConfiguration',
  );
  assert.equal(resolve(request('GET', '/2015-03-31/functions/'), lambda).name, 'ListFunctions');
  assert.equal(resolve(request('GET', '/2018-10-31/layers'), lambda).name, 'ListLayers');
  const byArn = request('GET', '/2018-10-31/layers?find=LayerVersion&Arn=arn%3Alayer%3A1');
  const op = resolve(byArn, lambda);
  assert.equal(op.name, 'GetLayerVersionByArn');
  assert.deepEqual(codec.parseInput(byArn, op, lambda), { Arn: 'arn:layer:1' });
  const layer = request('GET', '/2018-10-31/layers/my-layer/versions/7');
  assert.deepEqual(codec.parseInput(layer, resolve(layer, lambda), lambda), {
    LayerName: 'my-layer',
    VersionNumber: 7,
  });
  for (const [method, path] of [
    ['GET', '/2015-03-31/nothing'],
    ['PATCH', '/2015-03-31/functions'],
    ['GET', '/2015-03-31/functions/a/b/c/d'],
  ]) {
    const err = codec.resolveOperation(request(method, path), lambda);
    assert.ok(err instanceof AwsError, path);
    assert.equal(err.code, 'UnknownOperationException');
    assert.equal(err.status, 404);
  }
});

test('Lambda querystring scalars are typed; bad numbers are SerializationExceptions', () => {
  const req = request('GET', '/2015-03-31/functions?MaxItems=10&Marker=abc&FunctionVersion=ALL');
  const op = resolve(req, lambda);
  assert.deepEqual(codec.parseInput(req, op, lambda), {
    MaxItems: 10,
    Marker: 'abc',
    FunctionVersion: 'ALL',
  });
  assert.throws(
    () => codec.parseInput(request('GET', '/2015-03-31/functions?MaxItems=ten'), op, lambda),
    (e: AwsError) => e.code === 'SerializationException' && e.status === 400,
  );
});

test('Lambda CreateFunction: JSON body with a base64 blob, 201 from the model', () => {
  const zip = Buffer.from([0x50, 0x4b, 3, 4, 0, 255]);
  const req = request(
    'POST',
    '/2015-03-31/functions',
    { 'content-type': 'application/json' },
    JSON.stringify({
      FunctionName: 'fn',
      Runtime: 'nodejs20.x',
      Role: 'arn:aws:iam::000000000000:role/r',
      Handler: 'index.handler',
      Code: { ZipFile: zip.toString('base64') },
      Timeout: 30,
      Environment: { Variables: { A: 'b' } },
    }),
  );
  const op = resolve(req, lambda);
  assert.equal(op.name, 'CreateFunction');
  const input = codec.parseInput(req, op, lambda);
  assert.deepEqual((input.Code as Struct).ZipFile, zip);
  assert.deepEqual(input.Environment, { Variables: { A: 'b' } });
  assert.equal(input.Timeout, 30);
  const res = codec.serializeOutput(
    { FunctionName: 'fn', State: 'Pending', MemorySize: 128 },
    op,
    lambda,
    ctx,
  );
  assert.equal(res.status, 201);
  assert.equal(res.headers['Content-Type'], 'application/json');
  assert.deepEqual(JSON.parse(String(res.body)), {
    FunctionName: 'fn',
    State: 'Pending',
    MemorySize: 128,
  });
  assert.throws(
    () => codec.parseInput({ ...req, body: Buffer.from('{"FunctionName":') }, op, lambda),
    (e: AwsError) => e.code === 'SerializationException',
  );
});

test("Lambda errors: x-amzn-ErrorType, the shape's own member names, header-bound fields", () => {
  const nf = codec.serializeError(
    new ResourceNotFoundException(
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:x',
      { Type: 'User' },
    ),
    lambda,
    ctx,
  );
  assert.equal(nf.status, 404);
  assert.equal(nf.headers['x-amzn-ErrorType'], 'ResourceNotFoundException');
  assert.deepEqual(JSON.parse(String(nf.body)), {
    Message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:x',
    Type: 'User',
  });
  const throttle = codec.serializeError(
    new TooManyRequestsException('Rate Exceeded.', {
      retryAfterSeconds: '1',
      Type: 'User',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    }),
    lambda,
    ctx,
  );
  assert.equal(throttle.status, 429);
  assert.equal(throttle.headers['Retry-After'], '1');
  assert.deepEqual(JSON.parse(String(throttle.body)), {
    message: 'Rate Exceeded.',
    Type: 'User',
    Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
  });
});

test('API Gateway v2: lowerCamel JSON names map to model members both ways; iso8601 timestamps', () => {
  const req = request(
    'POST',
    '/v2/apis',
    { 'content-type': 'application/json' },
    '{"name":"api","protocolType":"HTTP","tags":{"a":"b"},"corsConfiguration":{"allowOrigins":["*"],"maxAge":60}}',
  );
  const op = resolve(req, apigatewayv2);
  assert.equal(op.name, 'CreateApi');
  assert.deepEqual(codec.parseInput(req, op, apigatewayv2), {
    Name: 'api',
    ProtocolType: 'HTTP',
    Tags: { a: 'b' },
    CorsConfiguration: { AllowOrigins: ['*'], MaxAge: 60 },
  });
  const res = codec.serializeOutput(
    {
      ApiId: 'abc123',
      Name: 'api',
      CreatedDate: new Date('2024-05-06T07:08:09Z'),
      Tags: { a: 'b' },
    },
    op,
    apigatewayv2,
    ctx,
  );
  assert.equal(res.status, 201);
  assert.deepEqual(JSON.parse(String(res.body)), {
    apiId: 'abc123',
    name: 'api',
    createdDate: '2024-05-06T07:08:09Z',
    tags: { a: 'b' },
  });
});

test('EKS querystring lists collect repeated parameters', () => {
  const req = request('GET', '/clusters?include=all&include=x&maxResults=5');
  const op = resolve(req, eks);
  assert.deepEqual(codec.parseInput(req, op, eks), { include: ['all', 'x'], maxResults: 5 });
});

test('headers: jsonvalue (base64 JSON), prefix maps, timestamps, lists; invalid percent-encoding', () => {
  const model: ServiceModel = {
    metadata: { apiVersion: '1', endpointPrefix: 't', protocol: 'rest-json', serviceId: 'T' },
    operations: {
      Put: {
        name: 'Put',
        http: { method: 'PUT', requestUri: '/things/{Id}' },
        input: { shape: 'In' },
        output: { shape: 'In' },
      },
    },
    shapes: {
      In: {
        type: 'structure',
        members: {
          Id: { shape: 'S', location: 'uri', locationName: 'Id' },
          Doc: { shape: 'S', location: 'header', locationName: 'X-Doc', jsonvalue: true },
          Meta: { shape: 'M', location: 'headers', locationName: 'x-meta-' },
          When: { shape: 'T', location: 'header', locationName: 'X-When' },
          Tags: { shape: 'L', location: 'header', locationName: 'X-Tags' },
        },
      },
      S: { type: 'string' },
      T: { type: 'timestamp' },
      M: { type: 'map', key: { shape: 'S' }, value: { shape: 'S' } },
      L: { type: 'list', member: { shape: 'S' } },
    },
  };
  const req = request('PUT', '/things/a%2Fb%FF%zz', {
    'x-doc': Buffer.from('{"a":[1,2]}').toString('base64'),
    'x-meta-color': 'blue',
    'x-meta-size': 'L',
    'x-when': 'Mon, 01 Jan 2024 00:00:00 GMT',
    'x-tags': 'a, "b,c", d',
  });
  const op = resolve(req, model);
  const input = codec.parseInput(req, op, model);
  assert.deepEqual(input, {
    Id: 'a/b\uFFFD%zz',
    Doc: { a: [1, 2] },
    Meta: { color: 'blue', size: 'L' },
    When: new Date('2024-01-01T00:00:00Z'),
    Tags: ['a', 'b,c', 'd'],
  });
  const res = codec.serializeOutput({ ...input, Meta: { note: 'ünï' } }, op, model, ctx);
  assert.equal(res.headers['X-Doc'], Buffer.from('{"a":[1,2]}').toString('base64'));
  assert.equal(res.headers['X-When'], 'Mon, 01 Jan 2024 00:00:00 GMT');
  assert.equal(res.headers['X-Tags'], 'a, "b,c", d');
  assert.equal(res.headers['x-meta-note'], `=?UTF-8?B?${Buffer.from('ünï').toString('base64')}?=`);
});
