import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clfTime, isTextContent, urlEvent, urlResponse } from './url-event.js';

const req = (over: Partial<Parameters<typeof urlEvent>[0]> = {}) => ({
  method: 'GET',
  rawPath: '/a/b',
  rawQuery: '',
  rawHeaders: ['Host', 'x.example', 'User-Agent', 'ua/1'],
  body: Buffer.alloc(0),
  sourceIp: '10.0.0.1',
  ...over,
});
const ctx = { urlId: 'u'.repeat(32), account: '111122223333', requestId: 'r-1', now: 0 };

test('the 2.0 event: headers joined, cookies apart, query parameters joined', () => {
  const ev = urlEvent(
    req({
      rawQuery: 'a=1&a=2&b=%20x',
      rawHeaders: ['Host', 'x.example', 'X-Dup', 'one', 'x-dup', 'two', 'Cookie', 'k=v; j=w'],
    }),
    ctx,
  );
  assert.equal(ev.version, '2.0');
  assert.deepEqual(ev.headers, { host: 'x.example', 'x-dup': 'one,two' });
  assert.deepEqual(ev.cookies, ['k=v', 'j=w']);
  assert.deepEqual(ev.queryStringParameters, { a: '1,2', b: ' x' });
  assert.equal(ev.rawQueryString, 'a=1&a=2&b=%20x');
  assert.equal(ev.body, undefined);
  assert.equal(ev.isBase64Encoded, false);
  assert.deepEqual(ev.requestContext, {
    accountId: '111122223333',
    apiId: ctx.urlId,
    domainName: 'x.example',
    domainPrefix: ctx.urlId,
    http: {
      method: 'GET',
      path: '/a/b',
      protocol: 'HTTP/1.1',
      sourceIp: '10.0.0.1',
      userAgent: '',
    },
    requestId: 'r-1',
    routeKey: '$default',
    stage: '$default',
    time: '01/Jan/1970:00:00:00 +0000',
    timeEpoch: 0,
  });
});

test('text bodies are passed as text, anything else as base64', () => {
  const text = urlEvent(
    req({ rawHeaders: ['content-type', 'application/json'], body: Buffer.from('{"a":1}') }),
    ctx,
  );
  assert.equal(text.body, '{"a":1}');
  assert.equal(text.isBase64Encoded, false);
  const bin = urlEvent(
    req({ rawHeaders: ['content-type', 'image/png'], body: Buffer.from([1, 2]) }),
    ctx,
  );
  assert.equal(bin.body, 'AQI=');
  assert.equal(bin.isBase64Encoded, true);
  assert.ok(isTextContent('text/html; charset=utf-8'));
  assert.ok(isTextContent('application/vnd.api+json'));
  assert.ok(!isTextContent('application/octet-stream'));
  assert.ok(!isTextContent(undefined));
});

test('the caller of an AWS_IAM URL shows in requestContext.authorizer.iam', () => {
  const ev = urlEvent(req(), {
    ...ctx,
    caller: {
      account: '111122223333',
      region: 'us-east-1',
      accessKeyId: 'AKIAEXAMPLE',
      principal: { arn: 'arn:aws:iam::111122223333:user/u', userId: 'AIDAEXAMPLE' },
    },
  });
  assert.deepEqual((ev.requestContext.authorizer as { iam: unknown }).iam, {
    accessKey: 'AKIAEXAMPLE',
    accountId: '111122223333',
    callerId: 'AIDAEXAMPLE',
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: 'arn:aws:iam::111122223333:user/u',
    userId: 'AIDAEXAMPLE',
  });
});

test('responses: described, inferred, base64, cookies, streamed prelude', () => {
  const described = urlResponse(
    Buffer.from(
      JSON.stringify({
        statusCode: 404,
        headers: { 'Content-Type': 'text/plain', 'X-N': 1 },
        cookies: ['a=1'],
        body: 'missing',
      }),
    ),
    false,
  );
  assert.equal(described.status, 404);
  assert.deepEqual(described.headers, {
    'content-type': 'text/plain',
    'x-n': '1',
    'set-cookie': ['a=1'],
  });
  assert.equal(described.body.toString(), 'missing');

  const inferred = urlResponse(Buffer.from('"Hello, world!"'), false);
  assert.equal(inferred.status, 200);
  assert.equal(inferred.headers['content-type'], 'application/json');
  assert.equal(inferred.body.toString(), '"Hello, world!"');

  const b64 = urlResponse(
    Buffer.from(JSON.stringify({ statusCode: 200, body: 'AQI=', isBase64Encoded: true })),
    false,
  );
  assert.deepEqual([...b64.body], [1, 2]);

  const prelude = Buffer.from(JSON.stringify({ statusCode: 202, headers: { 'x-s': 'y' } }));
  const streamed = urlResponse(
    Buffer.concat([prelude, Buffer.alloc(8), Buffer.from('chunked body')]),
    true,
  );
  assert.equal(streamed.status, 202);
  assert.equal(streamed.headers['x-s'], 'y');
  assert.equal(streamed.body.toString(), 'chunked body');
  // Without a prelude a streamed answer is the body itself.
  assert.equal(urlResponse(Buffer.from('plain'), true).body.toString(), 'plain');
});

test('clfTime is the Common Log Format time', () => {
  assert.equal(clfTime(Date.UTC(2021, 8, 7, 22, 50, 22)), '07/Sep/2021:22:50:22 +0000');
});
