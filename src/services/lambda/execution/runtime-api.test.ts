/**
 * The Runtime API as a runtime sees it: real HTTP requests against a listener, the answers
 * checked against AWS's (rapid's) status codes, headers and bodies.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import {
  type InvocationResult,
  MAX_RESPONSE_BYTES,
  MAX_STREAMED_RESPONSE_BYTES,
  RuntimeApi,
  type RuntimeInvocation,
} from './runtime-api.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  address: string,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
  trailers?: Record<string, string>,
): Promise<Reply> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    if (trailers) {
      req.write(body ?? '');
      req.addTrailers(trailers);
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe('Lambda Runtime API', () => {
  let api: RuntimeApi;
  let ready = 0;
  let results: { id: string; result: InvocationResult }[];
  let initErrors: { body: string; type: string | undefined }[];

  const invocation = (id: string, extra: Partial<RuntimeInvocation> = {}): RuntimeInvocation => ({
    requestId: id,
    payload: Buffer.from('{"key":"value"}'),
    deadlineMs: 1_700_000_003_000,
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
    ...extra,
  });

  beforeEach(async () => {
    ready = 0;
    results = [];
    initErrors = [];
    api = await RuntimeApi.start({
      onReady: () => ready++,
      onResult: (id, result) => results.push({ id, result }),
      onInitError: (body, type) => initErrors.push({ body: body.toString(), type }),
      onError: (err) => {
        throw err;
      },
    });
  });
  afterEach(() => api.close());

  test('listens on 127.0.0.1 and an ephemeral port', () => {
    assert.match(api.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(api.address, '127.0.0.1:0');
  });

  test('/next long-polls until there is work, then returns the event with its headers', async () => {
    const next = call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    for (const until = Date.now() + 30_000; ready === 0 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(ready, 1, 'the first /next ends INIT');
    api.deliver(
      invocation('req-1', {
        clientContext: '{"custom":{"a":"b"}}',
        cognitoIdentity: '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}',
      }),
    );
    const r = await next;
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"key":"value"}');
    assert.equal(r.headers['lambda-runtime-aws-request-id'], 'req-1');
    assert.equal(r.headers['lambda-runtime-deadline-ms'], '1700000003000');
    assert.equal(
      r.headers['lambda-runtime-invoked-function-arn'],
      'arn:aws:lambda:us-east-1:123456789012:function:f',
    );
    assert.match(String(r.headers['lambda-runtime-trace-id']), /^Root=1-/);
    assert.equal(r.headers['lambda-runtime-client-context'], '{"custom":{"a":"b"}}');
    assert.equal(
      r.headers['lambda-runtime-cognito-identity'],
      '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}',
    );
    assert.equal(r.headers['content-type'], 'application/json');
  });

  test('work delivered before /next is served at once; optional headers are left out', async () => {
    api.deliver(invocation('req-2'));
    const r = await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    assert.equal(r.headers['lambda-runtime-aws-request-id'], 'req-2');
    assert.equal(r.headers['lambda-runtime-client-context'], undefined);
    assert.equal(r.headers['lambda-runtime-cognito-identity'], undefined);
  });

  test('…/response answers 202 {"status":"OK"} and hands the body over', async () => {
    api.deliver(invocation('req-3'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const r = await call(
      api.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-3/response',
      '"hi"',
    );
    assert.equal(r.status, 202);
    assert.equal(r.body, '{"status":"OK"}');
    assert.equal(results.length, 1);
    assert.equal(results[0].id, 'req-3');
    assert.equal(results[0].result.kind, 'response');
    assert.equal(
      results[0].result.kind === 'response' && results[0].result.body.toString(),
      '"hi"',
    );
  });

  test('a /next pipelined behind an answer: the 202 leaves with the next event, in one write', async () => {
    const [host, port] = api.address.split(':');
    const socket = connect({ host, port: Number(port) });
    const chunks: string[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d.toString('latin1')));
    const waitFor = async (pattern: RegExp) => {
      for (
        const until = Date.now() + 30_000;
        !pattern.test(chunks.join('')) && Date.now() < until;
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.match(chunks.join(''), pattern);
    };
    const next = 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n';
    api.deliver(invocation('req-30'));
    socket.write(next);
    await waitFor(/req-30/);
    chunks.length = 0;
    socket.write(
      'POST /2018-06-01/runtime/invocation/req-30/response HTTP/1.1\r\nHost: x\r\n' +
        'Content-Length: 4\r\n\r\n"ok"' +
        next,
    );
    for (const until = Date.now() + 30_000; results.length === 0 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(results[0].id, 'req-30');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(chunks, [], 'the runtime has asked for more work: its 202 waits for it');
    api.deliver(invocation('req-31'));
    await waitFor(/req-31[^]*\{"key":"value"\}$/);
    assert.equal(chunks.length, 1);
    assert.match(
      chunks[0],
      /^HTTP\/1\.1 202 Accepted\r\n[^]*\r\n\r\n\{"status":"OK"\}HTTP\/1\.1 200 OK\r\n/,
    );
    socket.destroy();
  });

  test('a second answer for the same id is 400 InvalidRequestID', async () => {
    api.deliver(invocation('req-4'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    await call(api.address, 'POST', '/2018-06-01/runtime/invocation/req-4/response', '1');
    const r = await call(api.address, 'POST', '/2018-06-01/runtime/invocation/req-4/response', '2');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), {
      errorMessage: 'Invalid request ID',
      errorType: 'InvalidRequestID',
    });
    assert.equal(results.length, 1);
  });

  test('an unknown id while an invocation runs is 400 InvalidRequestID', async () => {
    api.deliver(invocation('req-5'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const r = await call(api.address, 'POST', '/2018-06-01/runtime/invocation/other/response', '1');
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).errorType, 'InvalidRequestID');
    const e = await call(api.address, 'POST', '/2018-06-01/runtime/invocation/other/error', '{}');
    assert.equal(e.status, 400);
  });

  test('an answer while no invocation runs is 403 InvalidStateTransition', async () => {
    const r = await call(api.address, 'POST', '/2018-06-01/runtime/invocation/nope/response', '1');
    assert.equal(r.status, 403);
    const body = JSON.parse(r.body);
    assert.equal(body.errorType, 'InvalidStateTransition');
    assert.match(body.errorMessage, /^State transition from Ready to InvocationResponse failed/);
  });

  test('a response over 6 MB is 413 RequestEntityTooLarge and reported as too large', async () => {
    api.deliver(invocation('req-6'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const big = Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61);
    const r = await call(api.address, 'POST', '/2018-06-01/runtime/invocation/req-6/response', big);
    assert.equal(r.status, 413);
    assert.deepEqual(JSON.parse(r.body), {
      errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).',
      errorType: 'RequestEntityTooLarge',
    });
    assert.deepEqual(results[0].result, { kind: 'too-large', size: MAX_RESPONSE_BYTES + 1 });
  });

  test('exactly 6 MB + 100 bytes is still accepted', async () => {
    api.deliver(invocation('req-7'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const r = await call(
      api.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-7/response',
      Buffer.alloc(MAX_RESPONSE_BYTES, 0x61),
    );
    assert.equal(r.status, 202);
  });

  test('…/error passes the body and the Lambda-Runtime-Function-Error-Type header on', async () => {
    api.deliver(invocation('req-8'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const err = '{"errorMessage":"boom","errorType":"Error","stackTrace":["at x"]}';
    const r = await call(api.address, 'POST', '/2018-06-01/runtime/invocation/req-8/error', err, {
      'Lambda-Runtime-Function-Error-Type': 'Error',
    });
    assert.equal(r.status, 202);
    assert.equal(r.body, '{"status":"OK"}');
    const result = results[0].result;
    assert.equal(result.kind, 'error');
    assert.equal(result.kind === 'error' && result.body.toString(), err);
    assert.equal(result.kind === 'error' && result.errorType, 'Error');
  });

  test('…/error without a body: the error is built from the header', async () => {
    api.deliver(invocation('req-9'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    await call(api.address, 'POST', '/2018-06-01/runtime/invocation/req-9/error', '', {
      'Lambda-Runtime-Function-Error-Type': 'Custom.Failure',
    });
    const result = results[0].result;
    assert.equal(result.kind, 'error');
    assert.deepEqual(JSON.parse(result.kind === 'error' ? result.body.toString() : ''), {
      errorMessage: '',
      errorType: 'Custom.Failure',
    });
  });

  test('/init/error answers 202 and reports the error', async () => {
    const body = '{"errorMessage":"Cannot find module","errorType":"Runtime.ImportModuleError"}';
    const r = await call(api.address, 'POST', '/2018-06-01/runtime/init/error', body, {
      'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError',
    });
    assert.equal(r.status, 202);
    assert.deepEqual(initErrors, [{ body, type: 'Runtime.ImportModuleError' }]);
  });

  test('streamed responses are accepted; error trailers make a function error', async () => {
    api.deliver(invocation('req-10'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const ok = await call(
      api.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-10/response',
      'chunk-1 chunk-2',
      {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
      {},
    );
    assert.equal(ok.status, 202);
    assert.equal(
      results[0].result.kind === 'response' && results[0].result.body.toString(),
      'chunk-1 chunk-2',
    );

    api.deliver(invocation('req-11'));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const errorBody = '{"errorType":"Error","errorMessage":"mid-stream"}';
    await call(
      api.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-11/response',
      'partial',
      {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
      {
        'Lambda-Runtime-Function-Error-Type': 'Error',
        'Lambda-Runtime-Function-Error-Body': Buffer.from(errorBody).toString('base64'),
      },
    );
    const failed = results[1].result;
    assert.equal(failed.kind, 'error');
    assert.equal(failed.kind === 'error' && failed.body.toString(), errorBody);
  });

  test('a streamed body goes to the invocation sink as it arrives, up to 20 MB', async () => {
    const got: string[] = [];
    api.deliver(invocation('req-20', { onChunk: (c) => got.push(c.toString()) }));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const [host, port] = api.address.split(':');
    const req = request({
      host,
      port: Number(port),
      method: 'POST',
      path: '/2018-06-01/runtime/invocation/req-20/response',
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
      },
    });
    const status = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    req.write('first');
    for (const until = Date.now() + 30_000; got.length === 0 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(got, ['first'], 'forwarded before the body ended');
    assert.equal(results.length, 0);
    req.end('second');
    assert.equal(await status, 202);
    assert.equal(got.join(''), 'firstsecond');
    assert.equal(results[0].result.kind, 'response');
    assert.equal(results[0].result.kind === 'response' && results[0].result.body.length, 0);

    // Past MAX_STREAMED_RESPONSE_BYTES nothing more is forwarded and the answer is too large.
    let forwarded = 0;
    api.deliver(invocation('req-21', { onChunk: (c) => (forwarded += c.length) }));
    await call(api.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const big = await call(
      api.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-21/response',
      Buffer.alloc(MAX_STREAMED_RESPONSE_BYTES + 1),
      { 'Lambda-Runtime-Function-Response-Mode': 'streaming', 'Transfer-Encoding': 'chunked' },
    );
    assert.equal(big.status, 413);
    assert.ok(forwarded <= MAX_STREAMED_RESPONSE_BYTES);
    assert.deepEqual(results[1].result, {
      kind: 'too-large',
      size: MAX_STREAMED_RESPONSE_BYTES + 1,
    });
  });

  test('unknown paths are 404', async () => {
    const r = await call(api.address, 'GET', '/2018-06-01/runtime/unknown');
    assert.equal(r.status, 404);
  });

  test('pre-started runtimes long-poll for their assignment', async () => {
    const pending = call(api.address, 'GET', '/stratus/v1/assignment');
    await new Promise((r) => setTimeout(r, 30));
    api.assign(Buffer.from('{"env":{"A":"1"},"cwd":"/x"}'));
    const r = await pending;
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { env: { A: '1' }, cwd: '/x' });
  });
});
