/**
 * Lambda function URLs and response streaming: the 2.0 event and mapped responses, CORS,
 * AWS_IAM URLs, InvokeWithResponseStream of buffered and streaming handlers, and
 * RESPONSE_STREAM URLs that deliver the body as it is written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateFunctionUrlConfigCommand,
  InvokeWithResponseStreamCommand,
} from '@aws-sdk/client-lambda';
import {
  ACCOUNT,
  nodeZip,
  openInvokeFixture,
  type Clients,
  type InvokeFixture,
} from './helpers/lambda.js';
import type { TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/sign.js';

describe('Lambda invoke: function URLs and response streaming', () => {
  let fx: InvokeFixture;
  let server: TestServer;
  let c: Clients;
  const create = (...args: Parameters<InvokeFixture['create']>) => fx.create(...args);

  before(async () => {
    fx = await openInvokeFixture();
    ({ server, c } = fx);
  });
  after(() => fx.close());

  test('a function URL serves GET and POST with the 2.0 event and mapped responses', async () => {
    await create('web', {
      Code: {
        ZipFile: nodeZip(`
exports.handler = async (event) => {
  if (event.rawPath === '/inferred') return { inferred: true, method: event.requestContext.http.method };
  return {
    statusCode: 201,
    headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
    cookies: ['a=1; Path=/', 'b=2'],
    body: JSON.stringify(event),
  };
};`),
      },
    });
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'web',
        AuthType: 'NONE',
        Cors: { AllowOrigins: ['https://app.example'], AllowMethods: ['GET', 'POST'], MaxAge: 60 },
      }),
    );
    const base = url.FunctionUrl as string;
    assert.match(base, /\/_stratus\/lambda-url\/[a-z0-9]{32}\/$/);
    const urlId = /lambda-url\/([a-z0-9]{32})\//.exec(base)?.[1];

    const get = await fetch(`${base}some/path?x=1&x=2&y=3`, {
      headers: { cookie: 'c1=v1; c2=v2', 'x-multi': 'one', origin: 'https://app.example' },
    });
    assert.equal(get.status, 201);
    assert.equal(get.headers.get('x-custom'), 'yes');
    assert.deepEqual(get.headers.getSetCookie(), ['a=1; Path=/', 'b=2']);
    assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.example');
    const ev = (await get.json()) as Record<string, unknown> & {
      requestContext: Record<string, unknown> & { http: Record<string, unknown> };
      headers: Record<string, string>;
    };
    assert.equal(ev.version, '2.0');
    assert.equal(ev.routeKey, '$default');
    assert.equal(ev.rawPath, '/some/path');
    assert.equal(ev.rawQueryString, 'x=1&x=2&y=3');
    assert.deepEqual(ev.queryStringParameters, { x: '1,2', y: '3' });
    assert.deepEqual(ev.cookies, ['c1=v1', 'c2=v2']);
    assert.equal(ev.headers['x-multi'], 'one');
    assert.equal(ev.headers.cookie, undefined);
    assert.equal(ev.isBase64Encoded, false);
    assert.equal(ev.body, undefined);
    assert.equal(ev.requestContext.apiId, urlId);
    assert.equal(ev.requestContext.domainPrefix, urlId);
    assert.equal(ev.requestContext.accountId, ACCOUNT);
    assert.equal(ev.requestContext.stage, '$default');
    assert.equal(ev.requestContext.http.method, 'GET');
    assert.equal(ev.requestContext.http.path, '/some/path');
    assert.equal(ev.requestContext.http.sourceIp, '127.0.0.1');
    assert.match(
      String(ev.requestContext.time),
      /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/,
    );
    assert.equal(typeof ev.requestContext.timeEpoch, 'number');

    const post = await fetch(`${base}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"posted":true}',
    });
    const pe = (await post.json()) as { body: string; isBase64Encoded: boolean; rawPath: string };
    assert.equal(pe.rawPath, '/');
    assert.equal(pe.body, '{"posted":true}');
    assert.equal(pe.isBase64Encoded, false);

    const binary = await fetch(`${base}bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]),
    });
    const be = (await binary.json()) as { body: string; isBase64Encoded: boolean };
    assert.equal(be.isBase64Encoded, true);
    assert.deepEqual([...Buffer.from(be.body, 'base64')], [0, 1, 2, 255]);

    // No statusCode: AWS infers 200, application/json, the answer as the body.
    const inferred = await fetch(`${base}inferred`);
    assert.equal(inferred.status, 200);
    assert.equal(inferred.headers.get('content-type'), 'application/json');
    assert.deepEqual(await inferred.json(), { inferred: true, method: 'GET' });

    // Preflight answered from the URL's CORS configuration.
    const pre = await fetch(`${base}x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET,POST');
    assert.equal(pre.headers.get('access-control-max-age'), '60');

    const unknown = await fetch(`${server.endpoint}/_stratus/lambda-url/${'z'.repeat(32)}/`);
    assert.equal(unknown.status, 403);
  });

  test('an AWS_IAM function URL needs a SigV4 signature; function errors are 502', async () => {
    await create('private-web');
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'private-web', AuthType: 'AWS_IAM' }),
    );
    const path = new URL(url.FunctionUrl as string).pathname;
    const unsigned = await fetch(`${url.FunctionUrl}`);
    assert.equal(unsigned.status, 403);
    assert.deepEqual(await unsigned.json(), { Message: 'Forbidden' });

    const signed = await signedFetch(server.endpoint, {
      service: 'lambda',
      method: 'POST',
      path: `${path}call`,
      headers: { 'content-type': 'application/json' },
      body: '{"signed":true}',
    });
    assert.equal(signed.status, 200, signed.text);
    const ev = (JSON.parse(signed.text) as { event: Record<string, unknown> }).event as {
      body: string;
      requestContext: { authorizer: { iam: Record<string, unknown> } };
    };
    assert.equal(ev.body, '{"signed":true}');
    assert.equal(ev.requestContext.authorizer.iam.accessKey, 'test');
    assert.equal(ev.requestContext.authorizer.iam.accountId, ACCOUNT);

    // A handler that throws: the URL answers 502.
    await create('broken-web', {
      Code: { ZipFile: nodeZip('exports.handler = async () => { throw new Error("nope"); };') },
    });
    const broken = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'broken-web', AuthType: 'NONE' }),
    );
    const res = await fetch(`${broken.FunctionUrl}`);
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), { Message: 'Internal Server Error' });
  });

  test('InvokeWithResponseStream streams the answer of a buffered handler', async () => {
    const out = await c.lambda.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: 'echo',
        Payload: Buffer.from('{"streamed":true}'),
        LogType: 'Tail',
      }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    const chunks: Buffer[] = [];
    let complete: Record<string, unknown> | undefined;
    for await (const ev of out.EventStream ?? []) {
      if (ev.PayloadChunk?.Payload) chunks.push(Buffer.from(ev.PayloadChunk.Payload));
      if (ev.InvokeComplete) complete = { ...ev.InvokeComplete };
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: unknown };
    assert.deepEqual(body.event, { streamed: true });
    assert.ok(complete);
    assert.equal(complete.ErrorCode, undefined);
    assert.match(
      Buffer.from(String(complete.LogResult), 'base64').toString(),
      /REPORT RequestId: /,
    );

    const failed = await c.lambda.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: 'echo',
        Payload: Buffer.from('{"throw":"streamed boom"}'),
      }),
    );
    let end: Record<string, unknown> | undefined;
    for await (const ev of failed.EventStream ?? [])
      if (ev.InvokeComplete) end = { ...ev.InvokeComplete };
    assert.equal(end?.ErrorCode, 'TypeError');
    assert.equal(end?.ErrorDetails, 'streamed boom');
  });

  test('a streaming handler reaches the caller while it still runs', async () => {
    await create('live-stream', {
      Code: {
        ZipFile: nodeZip(`
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.requestContext && event.requestContext.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201,
      headers: { 'content-type': 'text/plain', 'x-live': 'yes' },
    });
  }
  responseStream.write('a');
  await new Promise((r) => setTimeout(r, 300));
  if (event.fail) throw new RangeError('cut short');
  responseStream.write('b');
  responseStream.end();
});`),
      },
    });

    // InvokeWithResponseStream: one PayloadChunk per write, the first long before the end.
    const out = await c.lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: 'live-stream', Payload: '{}' }),
    );
    const chunks: { text: string; at: number }[] = [];
    let completeAt = 0;
    let complete: Record<string, unknown> | undefined;
    for await (const ev of out.EventStream ?? []) {
      if (ev.PayloadChunk?.Payload) {
        chunks.push({
          text: Buffer.from(ev.PayloadChunk.Payload).toString(),
          at: performance.now(),
        });
      }
      if (ev.InvokeComplete) {
        complete = { ...ev.InvokeComplete };
        completeAt = performance.now();
      }
    }
    assert.equal(chunks.map((ch) => ch.text).join(''), 'ab');
    // Buffered, both would arrive together; streamed, ~300 ms apart. Half of that is the
    // bar: under load the first chunk (which opens the stream) can come 50 ms late.
    assert.ok(
      chunks[chunks.length - 1].at - chunks[0].at >= 150,
      `chunks at ${chunks.map((ch) => ch.at.toFixed(0)).join(', ')}`,
    );
    assert.ok(completeAt >= chunks[chunks.length - 1].at);
    assert.equal(complete?.ErrorCode, undefined);

    // A failure after the first chunk: the chunk came, the error is in InvokeComplete.
    const failed = await c.lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: 'live-stream', Payload: '{"fail":1}' }),
    );
    const partial: string[] = [];
    let end: Record<string, unknown> | undefined;
    for await (const ev of failed.EventStream ?? []) {
      if (ev.PayloadChunk?.Payload) partial.push(Buffer.from(ev.PayloadChunk.Payload).toString());
      if (ev.InvokeComplete) end = { ...ev.InvokeComplete };
    }
    assert.deepEqual(partial, ['a']);
    assert.equal(end?.ErrorCode, 'RangeError');
    assert.equal(end?.ErrorDetails, 'cut short');

    // A RESPONSE_STREAM function URL: the prelude's status and headers, then the body as
    // it is written.
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'live-stream',
        AuthType: 'NONE',
        InvokeMode: 'RESPONSE_STREAM',
      }),
    );
    const started = performance.now();
    const res = await fetch(`${url.FunctionUrl}live`);
    const headersAt = performance.now();
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-live'), 'yes');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.ok(res.body);
    const reads: { text: string; at: number }[] = [];
    const decoder = new TextDecoder();
    for await (const part of res.body) {
      reads.push({ text: decoder.decode(part, { stream: true }), at: performance.now() });
    }
    assert.equal(reads.map((r) => r.text).join(''), 'ab');
    const last = reads[reads.length - 1].at;
    assert.ok(
      last - reads[0].at >= 250 && last - headersAt >= 250,
      `request at ${started.toFixed(0)}, headers at ${headersAt.toFixed(0)}, reads at ${reads.map((r) => r.at.toFixed(0)).join(', ')}`,
    );
  });
});
