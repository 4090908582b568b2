/**
 * Node.js handlers in real runtime processes, driven through createExecutor().invoke(): the
 * context object, init errors, uncaught exceptions, the 6 MB response limit, response
 * streaming, and AWS SDK calls from a handler to the endpoint with the role credentials.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LambdaExecutor } from './executor.js';
import {
  ACCOUNT,
  fakeSts,
  json,
  useExecutorHarness,
  request,
  spec,
} from '../../../../test/helpers/lambda-executor.js';
import { eventually } from '../../../../test/helpers/lambda.js';

const harness = useExecutorHarness();
const { executor, logOf } = harness;

describe('Node.js functions', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  test('the context object, and getRemainingTimeInMillis() counting down', async () => {
    const code = await harness.ws.dir('node-context', {
      'index.js': `exports.handler = async (event, context) => {
        const t1 = context.getRemainingTimeInMillis();
        await new Promise((r) => setTimeout(r, 150));
        const t2 = context.getRemainingTimeInMillis();
        const { getRemainingTimeInMillis, ...rest } = context;
        return { t1, t2, ctx: rest, fns: ['done', 'succeed', 'fail'].map((k) => typeof context[k]) };
      };`,
    });
    const fn = spec(code, { functionName: 'ctx-fn', timeoutSeconds: 7, memoryMb: 1024 });
    const clientContext = Buffer.from(JSON.stringify({ custom: { k: 'v' } })).toString('base64');
    const req = request({}, { clientContext });
    const r = json(await ex.invoke(fn, req)) as {
      t1: number;
      t2: number;
      ctx: Record<string, unknown>;
      fns: string[];
    };
    // Counted from the invocation's start: what the event's delivery took on a loaded
    // machine is gone already (a margin, not a measure).
    assert.ok(r.t1 <= 7000 && r.t1 > 4000, `t1 ${r.t1}`);
    assert.ok(r.t2 <= r.t1 - 140, `t2 ${r.t2} < t1 ${r.t1}`);
    assert.equal(r.ctx.functionName, 'ctx-fn');
    assert.equal(r.ctx.functionVersion, '$LATEST');
    assert.equal(r.ctx.invokedFunctionArn, fn.functionArn);
    assert.equal(r.ctx.memoryLimitInMB, '1024');
    assert.equal(r.ctx.awsRequestId, req.requestId);
    assert.equal(r.ctx.logGroupName, '/aws/lambda/ctx-fn');
    assert.match(String(r.ctx.logStreamName), /\[\$LATEST\]/);
    assert.deepEqual(r.ctx.clientContext, { custom: { k: 'v' } });
    assert.equal(r.ctx.callbackWaitsForEmptyEventLoop, true);
    assert.deepEqual(r.fns, ['function', 'function', 'function']);
  });

  test('init errors: Runtime.ImportModuleError and Runtime.HandlerNotFound', async () => {
    const code = await harness.ws.dir('node-init-errors', {
      'index.js': `exports.other = async () => 1;`,
      'broken.js': `require('no-such-package-anywhere');`,
    });
    const missing = await ex.invoke(spec(code, { handler: 'nothere.handler' }), request({}));
    assert.equal(missing.kind, 'init-error');
    const m = json(missing) as { errorType: string; errorMessage: string; trace: string[] };
    assert.equal(m.errorType, 'Runtime.ImportModuleError');
    assert.match(m.errorMessage, /^Error: Cannot find module 'nothere'/);
    assert.ok(missing.initDurationMs !== undefined);

    const dep = await ex.invoke(spec(code, { handler: 'broken.handler' }), request({}));
    assert.equal((json(dep) as { errorType: string }).errorType, 'Runtime.ImportModuleError');

    const fn = spec(code, { handler: 'index.handler' });
    const notFound = await ex.invoke(fn, request({}));
    assert.deepEqual(
      { ...(json(notFound) as Record<string, unknown>), trace: undefined },
      {
        errorType: 'Runtime.HandlerNotFound',
        errorMessage: 'index.handler is undefined or not exported',
        trace: undefined,
      },
    );
    const lines = (await logOf(ex, fn.logGroupName))[0].lines;
    assert.ok(
      lines.some((l) =>
        /\tundefined\tERROR\tUncaught Exception \t\{"errorType":"Runtime.HandlerNotFound"/.test(l),
      ),
    );
    assert.ok(
      lines.some((l) =>
        /^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Runtime.HandlerNotFound$/.test(
          l,
        ),
      ),
    );
  });

  test('an uncaught exception during an invocation fails it and ends the runtime', async () => {
    const code = await harness.ws.dir('node-uncaught', {
      'index.js': `exports.handler = (event, context, callback) => {
        setTimeout(() => { throw new RangeError('from a timer'); }, 10);
      };`,
    });
    const fn = spec(code);
    const o = await ex.invoke(fn, request({}));
    assert.equal(o.kind, 'function-error');
    assert.equal((json(o) as { errorType: string }).errorType, 'RangeError');
    // The runtime exits after reporting the error: wait for its environment to be gone (a
    // call before that would still reach the dying runtime).
    const live = ex.environmentCount();
    await eventually('the runtime to exit', async () =>
      ex.environmentCount() < live ? true : undefined,
    );
    const again = await ex.invoke(fn, request({}));
    assert.ok(again.initDurationMs !== undefined, 'exit 129 took the environment down');
  });

  test('a response over 6 MB fails the invocation with Function.ResponseSizeTooLarge', async () => {
    const code = await harness.ws.dir('node-large', {
      'index.js': `exports.handler = async (event) => 'x'.repeat(event.size);`,
    });
    const fn = spec(code);
    const size = 6 * 1024 * 1024 + 200;
    const o = await ex.invoke(fn, request({ size }));
    assert.equal(o.kind, 'function-error');
    assert.deepEqual(json(o), {
      errorMessage: `Response payload size (${size + 2} bytes) exceeded maximum allowed payload size (6291556 bytes).`,
      errorType: 'Function.ResponseSizeTooLarge',
    });
    // Just under the limit (the JSON string's quotes count) goes through.
    const ok = await ex.invoke(fn, request({ size: 6 * 1024 * 1024 + 100 - 2 }));
    assert.equal(ok.kind, 'success');
    assert.equal(ok.payload.length, 6 * 1024 * 1024 + 100);
  });

  test('response streaming handlers (awslambda.streamifyResponse)', async () => {
    const code = await harness.ws.dir('node-stream', {
      'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
        responseStream.write('part-1;');
        await new Promise((r) => setTimeout(r, 20));
        responseStream.write('part-2');
        responseStream.end();
      });`,
    });
    const o = await ex.invoke(spec(code), request({}));
    assert.equal(o.kind, 'success');
    assert.equal(o.payload.toString(), 'part-1;part-2');
  });

  test('a streamed answer reaches onChunk while the handler still runs', async () => {
    // The handler writes 'b' only once the caller has had 'a' (the caller then creates the
    // marker file): a cause, not a timing, so a loaded machine cannot make it fail.
    const code = await harness.ws.dir('node-stream-live', {
      'index.mjs': `import { existsSync } from 'node:fs';
      export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
        responseStream.write('a');
        const until = Date.now() + 60_000;
        while (!existsSync(event.marker) && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 10));
        }
        responseStream.write(existsSync(event.marker) ? 'b' : ' (not streamed)');
        responseStream.end();
      });`,
    });
    const marker = join(code, 'seen-a');
    const seen: string[] = [];
    const o = await ex.invoke(spec(code), {
      ...request({ marker }),
      onChunk: (chunk) => {
        seen.push(chunk.toString());
        writeFileSync(marker, '');
      },
    });
    assert.equal(o.kind, 'success');
    assert.equal(o.payload.length, 0, 'the sink had the body');
    assert.equal(seen.join(''), 'ab');

    // Buffered handlers ignore the sink; error trailers still make a function error.
    const plain = await harness.ws.dir('node-plain-sink', {
      'index.js': 'exports.handler = async () => ({ whole: true });',
    });
    const chunks: Buffer[] = [];
    const whole = await ex.invoke(spec(plain), { ...request({}), onChunk: (c) => chunks.push(c) });
    assert.deepEqual(json(whole), { whole: true });
    assert.equal(chunks.length, 0);

    const failing = await harness.ws.dir('node-stream-fail', {
      'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
        responseStream.write('partial');
        await new Promise((r) => setTimeout(r, 20));
        throw new RangeError('mid-stream');
      });`,
    });
    const got: Buffer[] = [];
    const failed = await ex.invoke(spec(failing), {
      ...request({}),
      onChunk: (c) => got.push(c),
    });
    assert.equal(failed.kind, 'function-error');
    assert.equal(Buffer.concat(got).toString(), 'partial');
    assert.equal((json(failed) as { errorType: string }).errorType, 'RangeError');
  });

  test('a handler calling the AWS SDK reaches the endpoint with the role credentials', async () => {
    const sts = await fakeSts('fn');
    const sdkEx = executor({ endpoint: () => sts.url });
    try {
      const code = await harness.ws.dir('node-sdk', {
        'index.js': `const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
          exports.handler = async () => {
            const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
            return { account: out.Account, arn: out.Arn };
          };`,
      });
      const o = await sdkEx.invoke(spec(code, { timeoutSeconds: 20 }), request({}));
      assert.equal(o.kind, 'success', o.payload.toString());
      assert.deepEqual(json(o), {
        account: ACCOUNT,
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/role/fn`,
      });
      assert.match(
        String(sts.seen[0].authorization),
        /Credential=ASIAEXAMPLEEXAMPLE01\/\d{8}\/eu-west-1\/sts\/aws4_request/,
      );
      assert.equal(sts.seen[0]['x-amz-security-token'], 'session-token-example');
    } finally {
      sts.close();
    }
  });
});
