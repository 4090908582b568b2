/**
 * Real functions in real runtime processes: Node.js (CommonJS, ESM, callbacks), Python and
 * a `provided.al2023` shell bootstrap, driven through createExecutor().invoke() with the
 * process driver, the function logs read back from a real CloudWatch Logs store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ProcessDriver } from '../../../runtime/process/driver.js';
import { createExecutor, type ExecutorOptions, type LambdaExecutor } from './executor.js';
import { ACCOUNT, LogsFixture, REGION, request, spec, Workspace } from './test-support.js';
import type { InvokeOutcome } from './types.js';

const json = (o: InvokeOutcome): unknown => JSON.parse(o.payload.toString('utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ws: Workspace;
let logs: LogsFixture;
let tmpRoot: string;
const executors: LambdaExecutor[] = [];

function executor(opts: Partial<ExecutorOptions> = {}): LambdaExecutor {
  const ex = createExecutor({
    driver: new ProcessDriver(),
    logs: logs.sink,
    endpoint: () => 'http://127.0.0.1:4566',
    tmpRoot,
    prestart: { node: 0, python: 0 },
    ...opts,
  });
  executors.push(ex);
  return ex;
}

before(async () => {
  ws = await Workspace.create();
  logs = await LogsFixture.open();
  tmpRoot = join(ws.root, 'envs');
});

after(async () => {
  await Promise.all(executors.map((e) => e.stop()));
  await logs.close();
  await ws.remove();
});

/** The single log stream of a group and its messages. */
async function logOf(
  ex: LambdaExecutor,
  group: string,
): Promise<{ stream: string; lines: string[] }[]> {
  await ex.flushLogs();
  const out = [];
  for (const stream of await logs.streams(group)) {
    out.push({ stream, lines: await logs.messages(group, stream) });
  }
  return out;
}

describe('Node.js functions', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  test('cold then warm: one environment, reused; Init Duration only on the cold start', async () => {
    const code = await ws.dir('node-warm', {
      'index.js': `
        let count = 0;
        console.log('initialising');
        exports.handler = async (event, context) => {
          count++;
          console.log('event', JSON.stringify(event));
          return { count, requestId: context.awsRequestId, pid: process.pid };
        };`,
    });
    const fn = spec(code);
    const first = await ex.invoke(fn, request({ n: 1 }));
    const second = await ex.invoke(fn, request({ n: 2 }));
    assert.equal(first.kind, 'success');
    assert.equal(second.kind, 'success');
    const a = json(first) as { count: number; pid: number };
    const b = json(second) as { count: number; pid: number };
    assert.equal(a.count, 1);
    assert.equal(b.count, 2, 'module state survives: the same environment served both');
    assert.equal(a.pid, b.pid);
    assert.equal(ex.environmentCount(), 1);
    assert.ok(first.initDurationMs !== undefined && first.initDurationMs > 0);
    assert.equal(second.initDurationMs, undefined);
    assert.ok(first.billedDurationMs >= Math.ceil(first.durationMs + first.initDurationMs));
    assert.ok(first.maxMemoryUsedMb > 10, `max memory ${first.maxMemoryUsedMb} MB`);

    const [log] = await logOf(ex, fn.logGroupName);
    assert.match(log.stream, /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    const id1 = (json(first) as { requestId: string }).requestId;
    const lines = log.lines;
    assert.match(lines[0], /^INIT_START Runtime Version: /);
    assert.match(
      lines[1],
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tundefined\tINFO\tinitialising$/,
    );
    assert.equal(lines[2], `START RequestId: ${id1} Version: $LATEST`);
    assert.match(lines[3], new RegExp(`^\\S+Z\\t${id1}\\tINFO\\tevent \\{"n":1\\}$`));
    assert.equal(lines[4], `END RequestId: ${id1}`);
    assert.match(
      lines[5],
      new RegExp(
        `^REPORT RequestId: ${id1}\\tDuration: \\d+\\.\\d\\d ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB\\tInit Duration: \\d+\\.\\d\\d ms$`,
      ),
    );
    const report2 = lines[9];
    assert.match(
      report2,
      /^REPORT RequestId: .*Max Memory Used: \d+ MB$/,
      'no Init Duration when warm',
    );

    // LogType: Tail: the invocation's own lines.
    assert.ok(
      second.logTail?.includes(
        `START RequestId: ${(json(second) as { requestId: string }).requestId}`,
      ),
    );
    assert.ok(second.logTail?.includes('event {"n":2}'));
    assert.ok(second.logTail?.endsWith('\n'));
    assert.ok(!second.logTail?.includes('initialising'));
  });

  test('3 concurrent invocations get 3 environments, each with its own log stream', async () => {
    const code = await ws.dir('node-concurrent', {
      'index.js': `exports.handler = async () => {
        await new Promise((r) => setTimeout(r, 400));
        return process.pid;
      };`,
    });
    const fn = spec(code);
    const before = ex.environmentCount();
    const outcomes = await Promise.all([1, 2, 3].map((n) => ex.invoke(fn, request({ n }))));
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['success', 'success', 'success'],
    );
    assert.equal(new Set(outcomes.map((o) => json(o))).size, 3, 'three processes');
    assert.equal(ex.environmentCount() - before, 3);
    assert.equal((await logOf(ex, fn.logGroupName)).length, 3);
    // All three are warm now: three more concurrent calls spawn nothing.
    const again = await Promise.all([1, 2, 3].map((n) => ex.invoke(fn, request({ n }))));
    assert.ok(again.every((o) => o.initDurationMs === undefined));
    assert.equal(ex.environmentCount() - before, 3);
  });

  test('a timeout kills the environment; the next call gets a fresh one', async () => {
    const code = await ws.dir('node-timeout', {
      'index.js': `
        let calls = 0;
        exports.handler = async (event) => {
          calls++;
          if (event.sleep) await new Promise((r) => setTimeout(r, 10_000));
          return { calls, pid: process.pid };
        };`,
    });
    const fn = spec(code, { timeoutSeconds: 1 });
    const warm = await ex.invoke(fn, request({}));
    const started = Date.now();
    const req = request({ sleep: true });
    const timedOut = await ex.invoke(fn, req);
    assert.ok(Date.now() - started < 5000, 'killed at the deadline, not after the sleep');
    assert.equal(timedOut.kind, 'timeout');
    assert.deepEqual(json(timedOut), {
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${req.requestId} Error: Task timed out after 1.00 seconds`,
    });
    assert.equal(timedOut.durationMs, 1000);
    const next = await ex.invoke(fn, request({}));
    assert.equal(next.kind, 'success');
    const n = json(next) as { calls: number; pid: number };
    assert.equal(n.calls, 1, 'fresh module state');
    assert.notEqual(n.pid, (json(warm) as { pid: number }).pid);
    assert.ok(next.initDurationMs !== undefined);

    const reports = (await logOf(ex, fn.logGroupName))
      .flatMap((l) => l.lines)
      .filter((l) => l.startsWith(`REPORT RequestId: ${req.requestId}`));
    assert.equal(reports.length, 1);
    assert.match(reports[0], /\tDuration: 1000\.00 ms\t.*\tStatus: timeout$/);
  });

  test('a thrown error is a function error with errorType, errorMessage and trace', async () => {
    const code = await ws.dir('node-throw', {
      'index.js': `exports.handler = async () => {
        const e = new TypeError('bad input');
        throw e;
      };`,
    });
    const fn = spec(code);
    const req = request({});
    const o = await ex.invoke(fn, req);
    assert.equal(o.kind, 'function-error');
    const body = json(o) as { errorType: string; errorMessage: string; trace: string[] };
    assert.equal(body.errorType, 'TypeError');
    assert.equal(body.errorMessage, 'bad input');
    assert.equal(body.trace[0], 'TypeError: bad input');
    assert.match(body.trace[1], /index\.js:2/);
    // The environment survives a handled error.
    assert.equal((await ex.invoke(fn, request({}))).initDurationMs, undefined);
    const lines = (await logOf(ex, fn.logGroupName))[0].lines;
    const invokeError = lines.find((l) => l.includes('\tERROR\tInvoke Error'));
    assert.ok(invokeError, 'the runtime logs the error');
    assert.match(
      invokeError,
      new RegExp(
        `\\t${req.requestId}\\tERROR\\tInvoke Error \\t\\{"errorType":"TypeError","errorMessage":"bad input"`,
      ),
    );
    assert.ok(lines.some((l) => /\tStatus: error\tError Type: TypeError$/.test(l)));
  });

  test('process.exit(1) mid-invoke is Runtime.ExitError; the next call gets a fresh environment', async () => {
    const code = await ws.dir('node-exit', {
      'index.js': `exports.handler = async (event) => {
        if (event.exit) process.exit(1);
        if (event.kill) process.kill(process.pid, 'SIGKILL');
        return process.pid;
      };`,
    });
    const fn = spec(code);
    const pid = json(await ex.invoke(fn, request({})));
    const req = request({ exit: true });
    const exited = await ex.invoke(fn, req);
    assert.equal(exited.kind, 'runtime-exit');
    assert.deepEqual(json(exited), {
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${req.requestId} Error: Runtime exited with error: exit status 1`,
    });
    const fresh = await ex.invoke(fn, request({}));
    assert.notEqual(json(fresh), pid);
    assert.ok(fresh.initDurationMs !== undefined);

    const killedReq = request({ kill: true });
    const killed = await ex.invoke(fn, killedReq);
    assert.equal(
      (json(killed) as { errorMessage: string }).errorMessage,
      `RequestId: ${killedReq.requestId} Error: Runtime exited with error: signal: killed`,
    );
    const lines = (await logOf(ex, fn.logGroupName)).flatMap((l) => l.lines);
    assert.ok(
      lines.includes(
        `RequestId: ${req.requestId} Error: Runtime exited with error: exit status 1\nRuntime.ExitError`,
      ),
    );
  });

  test("AWS's environment variables, the function's own, and a private /tmp", async () => {
    const code = await ws.dir('node-env', {
      'index.js': `
        const fs = require('fs'); const os = require('os'); const path = require('path');
        exports.handler = async (event) => {
          const file = path.join(os.tmpdir(), 'mine.txt');
          const before = fs.existsSync(file);
          fs.writeFileSync(file, 'x');
          await new Promise((r) => setTimeout(r, event.wait || 0));
          return { env: process.env, cwd: process.cwd(), tmp: os.tmpdir(), before };
        };`,
    });
    const fn = spec(code, {
      functionName: 'env-check',
      memoryMb: 512,
      environment: { MY_SETTING: 'on', TZ: 'Europe/Paris' },
    });
    const [a, b] = await Promise.all([
      ex.invoke(fn, request({ wait: 300 })),
      ex.invoke(fn, request({ wait: 300 })),
    ]);
    const ra = json(a) as {
      env: Record<string, string>;
      cwd: string;
      tmp: string;
      before: boolean;
    };
    const rb = json(b) as typeof ra;
    const env = ra.env;
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'env-check');
    assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
    assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '512');
    assert.equal(env.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/env-check');
    assert.match(env.AWS_LAMBDA_LOG_STREAM_NAME, /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.equal(env.AWS_REGION, REGION);
    assert.equal(env.AWS_DEFAULT_REGION, REGION);
    assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs20.x');
    assert.equal(env._HANDLER, 'index.handler');
    assert.equal(env.LAMBDA_TASK_ROOT, code);
    assert.ok(env.LAMBDA_RUNTIME_DIR);
    assert.match(env.AWS_LAMBDA_RUNTIME_API, /^127\.0\.0\.1:\d+$/);
    assert.equal(env.AWS_ACCESS_KEY_ID, 'ASIAEXAMPLEEXAMPLE01');
    assert.equal(env.AWS_SECRET_ACCESS_KEY, 'secret/example/key');
    assert.equal(env.AWS_SESSION_TOKEN, 'session-token-example');
    assert.equal(env.AWS_ENDPOINT_URL, 'http://127.0.0.1:4566');
    assert.equal(env.AWS_LAMBDA_INITIALIZATION_TYPE, 'on-demand');
    assert.equal(env.LANG, 'en_US.UTF-8');
    assert.ok(env.PATH);
    assert.equal(env.MY_SETTING, 'on');
    assert.equal(env.TZ, 'Europe/Paris', 'TZ is one a function may set');
    assert.match(env._X_AMZN_TRACE_ID, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};/);
    assert.equal(ra.cwd, code);
    // Private /tmp: each environment its own fresh directory, under the executor's root.
    assert.notEqual(ra.tmp, rb.tmp);
    assert.ok(ra.tmp.startsWith(tmpRoot));
    assert.equal(ra.before, false);
    assert.equal(rb.before, false);
    assert.equal(env.TMPDIR, ra.tmp);
    // Warm again: the file written before is still there (same environment).
    assert.equal((json(await ex.invoke(fn, request({}))) as typeof ra).before, true);
  });

  test('layers: modules under <layer>/nodejs/node_modules are importable; later layers win', async () => {
    const layer1 = await ws.dir('layer-node-1', {
      'nodejs/node_modules/shared-lib/index.js': `module.exports = { from: 'layer1' };`,
      'nodejs/node_modules/only-one/index.js': `module.exports = 'one';`,
    });
    const layer2 = await ws.dir('layer-node-2', {
      'nodejs/node_modules/shared-lib/index.js': `module.exports = { from: 'layer2' };`,
    });
    const code = await ws.dir('node-layers', {
      'index.js': `exports.handler = async () => ({ shared: require('shared-lib').from, one: require('only-one') });`,
    });
    const o = await ex.invoke(spec(code, { layerDirs: [layer1, layer2] }), request({}));
    assert.deepEqual(json(o), { shared: 'layer2', one: 'one' });
  });

  test('ES modules: .mjs and .js under "type": "module"', async () => {
    const mjs = await ws.dir('node-esm-mjs', {
      'app.mjs': `export const handler = async (event) => ({ esm: true, got: event.x });`,
    });
    const typeModule = await ws.dir('node-esm-js', {
      'package.json': '{"type":"module"}',
      'src/main.js': `import { sep } from 'node:path';
        export async function go() { return { esm: typeof require === 'undefined', sep }; }`,
    });
    assert.deepEqual(
      json(await ex.invoke(spec(mjs, { handler: 'app.handler' }), request({ x: 5 }))),
      {
        esm: true,
        got: 5,
      },
    );
    assert.deepEqual(
      json(await ex.invoke(spec(typeModule, { handler: 'src/main.go' }), request({}))),
      { esm: true, sep: '/' },
    );
  });

  test('callback handlers: waits for the empty event loop unless told not to', async () => {
    const code = await ws.dir('node-callback', {
      'index.js': `
        let late = 0;
        exports.wait = (event, context, callback) => {
          setTimeout(() => { late++; }, 200);
          callback(null, { late });
        };
        exports.noWait = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => {}, 2000);
          callback(null, { late, waits: context.callbackWaitsForEmptyEventLoop });
        };
        exports.fail = (event, context, callback) => callback(new Error('via callback'));
        exports.succeed = (event, context) => context.succeed('done via context');`,
    });
    const wait = spec(code, { handler: 'index.wait' });
    const t0 = Date.now();
    assert.deepEqual(json(await ex.invoke(wait, request({}))), { late: 0 });
    assert.ok(Date.now() - t0 >= 190, 'the response waited for the pending timer');

    const noWait = spec(code, { handler: 'index.noWait' });
    const t1 = Date.now();
    assert.deepEqual(json(await ex.invoke(noWait, request({}))), { late: 0, waits: false });
    assert.ok(Date.now() - t1 < 1500, 'did not wait for the 2 s timer');

    const fail = await ex.invoke(spec(code, { handler: 'index.fail' }), request({}));
    assert.equal(fail.kind, 'function-error');
    assert.equal((json(fail) as { errorMessage: string }).errorMessage, 'via callback');
    const succeed = await ex.invoke(spec(code, { handler: 'index.succeed' }), request({}));
    assert.equal(json(succeed), 'done via context');
  });

  test('the context object, and getRemainingTimeInMillis() counting down', async () => {
    const code = await ws.dir('node-context', {
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
    assert.ok(r.t1 <= 7000 && r.t1 > 6000, `t1 ${r.t1}`);
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
    const code = await ws.dir('node-init-errors', {
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
    const code = await ws.dir('node-uncaught', {
      'index.js': `exports.handler = (event, context, callback) => {
        setTimeout(() => { throw new RangeError('from a timer'); }, 10);
      };`,
    });
    const fn = spec(code);
    const o = await ex.invoke(fn, request({}));
    assert.equal(o.kind, 'function-error');
    assert.equal((json(o) as { errorType: string }).errorType, 'RangeError');
    await sleep(300);
    const again = await ex.invoke(fn, request({}));
    assert.ok(again.initDurationMs !== undefined, 'exit 129 took the environment down');
  });

  test('a response over 6 MB fails the invocation with Function.ResponseSizeTooLarge', async () => {
    const code = await ws.dir('node-large', {
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
    const code = await ws.dir('node-stream', {
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
    const code = await ws.dir('node-stream-live', {
      'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
        responseStream.write('a');
        await new Promise((r) => setTimeout(r, 300));
        responseStream.write('b');
        responseStream.end();
      });`,
    });
    const seen: { text: string; at: number }[] = [];
    const o = await ex.invoke(spec(code), {
      ...request({}),
      onChunk: (chunk) => seen.push({ text: chunk.toString(), at: performance.now() }),
    });
    const doneAt = performance.now();
    assert.equal(o.kind, 'success');
    assert.equal(o.payload.length, 0, 'the sink had the body');
    assert.equal(seen.map((c) => c.text).join(''), 'ab');
    assert.ok(doneAt - seen[0].at >= 250, `first chunk ${doneAt - seen[0].at} ms before the end`);

    // Buffered handlers ignore the sink; error trailers still make a function error.
    const plain = await ws.dir('node-plain-sink', {
      'index.js': 'exports.handler = async () => ({ whole: true });',
    });
    const chunks: Buffer[] = [];
    const whole = await ex.invoke(spec(plain), { ...request({}), onChunk: (c) => chunks.push(c) });
    assert.deepEqual(json(whole), { whole: true });
    assert.equal(chunks.length, 0);

    const failing = await ws.dir('node-stream-fail', {
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
    const seen: IncomingHttpHeaders[] = [];
    const sts = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/role/fn</Arn><UserId>AROAEXAMPLE:fn</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
    await listen(sts);
    const sdkEx = executor({
      endpoint: () => `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
    });
    try {
      const code = await ws.dir('node-sdk', {
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
        String(seen[0].authorization),
        /Credential=ASIAEXAMPLEEXAMPLE01\/\d{8}\/eu-west-1\/sts\/aws4_request/,
      );
      assert.equal(seen[0]['x-amz-security-token'], 'session-token-example');
    } finally {
      sts.close();
    }
  });
});

describe('Python functions', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  test('module.function handlers, the context object, print() and logging lines', async () => {
    const code = await ws.dir('py-basic', {
      'pkg/__init__.py': '',
      'pkg/app.py': `
import logging, os, tempfile, time
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("init", flush=True)
count = 0
def handler(event, context):
    global count
    count += 1
    print("got", event["n"])
    logger.info("info %s", event["n"])
    t1 = context.get_remaining_time_in_millis()
    time.sleep(0.1)
    t2 = context.get_remaining_time_in_millis()
    return {
        "count": count, "t1": t1, "t2": t2,
        "name": context.function_name, "version": context.function_version,
        "arn": context.invoked_function_arn, "mem": context.memory_limit_in_mb,
        "id": context.aws_request_id, "group": context.log_group_name,
        "stream": context.log_stream_name, "tmp": tempfile.gettempdir(),
        "env": os.environ["AWS_EXECUTION_ENV"], "cwd": os.getcwd(),
        "custom": context.client_context.custom if context.client_context else None,
    }
`,
    });
    const fn = spec(code, {
      runtime: 'python3.12',
      handler: 'pkg.app.handler',
      functionName: 'py-fn',
    });
    const req = request(
      { n: 1 },
      { clientContext: Buffer.from('{"custom":{"a":1}}').toString('base64') },
    );
    const first = await ex.invoke(fn, req);
    assert.equal(first.kind, 'success', first.payload.toString());
    const r = json(first) as Record<string, unknown>;
    assert.equal(r.count, 1);
    assert.equal(r.name, 'py-fn');
    assert.equal(r.version, '$LATEST');
    assert.equal(r.arn, fn.functionArn);
    assert.equal(r.mem, '256');
    assert.equal(r.id, req.requestId);
    assert.equal(r.group, '/aws/lambda/py-fn');
    assert.equal(r.env, 'AWS_Lambda_python3.12');
    assert.equal(r.cwd, code);
    assert.deepEqual(r.custom, { a: 1 });
    assert.ok(String(r.tmp).startsWith(tmpRoot));
    assert.ok((r.t2 as number) <= (r.t1 as number) - 90);
    const second = await ex.invoke(fn, request({ n: 2 }));
    assert.equal((json(second) as { count: number }).count, 2);
    assert.equal(second.initDurationMs, undefined);

    const [log] = await logOf(ex, fn.logGroupName);
    assert.equal(log.stream, r.stream);
    assert.ok(log.lines.includes('init'));
    assert.ok(log.lines.includes('got 1'));
    assert.ok(
      log.lines.some((l) =>
        new RegExp(
          `^\\[INFO\\]\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${req.requestId}\\tinfo 1$`,
        ).test(l),
      ),
    );
  });

  test("errors as AWS's Python runtime shapes them", async () => {
    const code = await ws.dir('py-errors', {
      'app.py': `
def handler(event, context):
    raise ValueError("bad value")
`,
    });
    const req = request({});
    const fn = spec(code, { runtime: 'python3.11', handler: 'app.handler' });
    const o = await ex.invoke(fn, req);
    assert.equal(o.kind, 'function-error');
    const body = json(o) as Record<string, unknown>;
    assert.equal(body.errorMessage, 'bad value');
    assert.equal(body.errorType, 'ValueError');
    assert.equal(body.requestId, req.requestId);
    assert.deepEqual(body.stackTrace, [
      `  File "${code}/app.py", line 3, in handler\n    raise ValueError("bad value")\n`,
    ]);
    const lines = (await logOf(ex, fn.logGroupName))[0].lines;
    assert.ok(
      lines.includes(
        `[ERROR] ValueError: bad value\nTraceback (most recent call last):\n\u00a0\u00a0File "${code}/app.py", line 3, in handler\n\u00a0\u00a0\u00a0\u00a0raise ValueError("bad value")`,
      ),
    );
  });

  test('init errors: Runtime.ImportModuleError and Runtime.HandlerNotFound', async () => {
    const code = await ws.dir('py-init', { 'app.py': 'x = 1\n' });
    const missing = await ex.invoke(
      spec(code, { runtime: 'python3.13', handler: 'nope.handler' }),
      request({}),
    );
    assert.equal(missing.kind, 'init-error');
    assert.deepEqual(json(missing), {
      errorMessage: "Unable to import module 'nope': No module named 'nope'",
      errorType: 'Runtime.ImportModuleError',
      requestId: '',
      stackTrace: [],
    });
    const fn = spec(code, { runtime: 'python3.9', handler: 'app.handler' });
    const notFound = await ex.invoke(fn, request({}));
    assert.equal((json(notFound) as { errorType: string }).errorType, 'Runtime.HandlerNotFound');
    assert.equal(
      (json(notFound) as { errorMessage: string }).errorMessage,
      "Handler 'handler' missing on module 'app'",
    );
    const lines = (await logOf(ex, fn.logGroupName))[0].lines;
    assert.ok(
      lines.includes(
        "[ERROR] Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'\nTraceback (most recent call last):",
      ),
    );
  });

  test('layers: <layer>/python is importable', async () => {
    const layer = await ws.dir('layer-py', { 'python/helper_mod.py': 'VALUE = "from layer"\n' });
    const code = await ws.dir('py-layer', {
      'app.py': 'import helper_mod\ndef handler(e, c):\n    return helper_mod.VALUE\n',
    });
    const o = await ex.invoke(
      spec(code, { runtime: 'python3.12', handler: 'app.handler', layerDirs: [layer] }),
      request({}),
    );
    assert.equal(json(o), 'from layer');
  });

  test('boto3 reaches the endpoint without configuration of its own', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const sts = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/role/py</Arn><UserId>AROAEXAMPLE:py</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
    await listen(sts);
    const pyEx = executor({
      endpoint: () => `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
    });
    try {
      const code = await ws.dir('py-boto3', {
        'app.py': `import boto3
def handler(event, context):
    return boto3.client("sts").get_caller_identity()["Account"]
`,
      });
      const o = await pyEx.invoke(
        spec(code, { runtime: 'python3.12', handler: 'app.handler', timeoutSeconds: 30 }),
        request({}),
      );
      assert.equal(o.kind, 'success', o.payload.toString());
      assert.equal(json(o), ACCOUNT);
      assert.match(String(seen[0].authorization), /Credential=ASIAEXAMPLEEXAMPLE01\//);
    } finally {
      sts.close();
    }
  });
});

describe('provided.al2023 custom runtimes', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  /** A bootstrap in plain bash (/dev/tcp, no curl), one connection per request. */
  const BASH_BOOTSTRAP = `#!/bin/bash
set -euo pipefail
HOST=\${AWS_LAMBDA_RUNTIME_API%:*}
PORT=\${AWS_LAMBDA_RUNTIME_API#*:}
echo "bash runtime starting with handler $_HANDLER"
while true; do
  exec 3<>"/dev/tcp/$HOST/$PORT"
  printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "$HOST" >&3
  REQUEST_ID=""
  LEN=0
  while IFS= read -r line <&3; do
    line=\${line%$'\\r'}
    [ -z "$line" ] && break
    case "\${line,,}" in
      lambda-runtime-aws-request-id:*) REQUEST_ID=\${line#*: } ;;
      content-length:*) LEN=\${line#*: } ;;
    esac
  done
  EVENT=""
  if [ "$LEN" -gt 0 ]; then IFS= read -r -N "$LEN" EVENT <&3 || true; fi
  exec 3<&-
  echo "handling $REQUEST_ID"
  RESPONSE="{\\"echo\\":$EVENT,\\"tmp\\":\\"$TMPDIR\\"}"
  exec 3<>"/dev/tcp/$HOST/$PORT"
  printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\\r\\nHost: %s\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' "$REQUEST_ID" "$HOST" "\${#RESPONSE}" "$RESPONSE" >&3
  cat <&3 >/dev/null
  exec 3<&-
done
`;

  test('a bash bootstrap speaking the Runtime API, cold and warm', async () => {
    const code = await ws.dir('provided-bash', { bootstrap: BASH_BOOTSTRAP });
    const fn = spec(code, { runtime: 'provided.al2023', handler: 'function.handler' });
    const req = request({ hello: 'world' });
    const first = await ex.invoke(fn, req);
    assert.equal(first.kind, 'success', first.payload.toString());
    const r = json(first) as { echo: unknown; tmp: string };
    assert.deepEqual(r.echo, { hello: 'world' });
    assert.ok(r.tmp.startsWith(tmpRoot));
    const second = await ex.invoke(fn, request({ n: 2 }));
    assert.deepEqual((json(second) as { echo: unknown }).echo, { n: 2 });
    assert.equal(second.initDurationMs, undefined);
    const lines = (await logOf(ex, fn.logGroupName))[0].lines;
    assert.ok(lines.includes('bash runtime starting with handler function.handler'));
    assert.ok(lines.includes(`handling ${req.requestId}`));
  });

  test('a bootstrap from a layer (/opt/bootstrap)', async () => {
    const layer = await ws.dir('provided-layer', { bootstrap: BASH_BOOTSTRAP });
    const code = await ws.dir('provided-no-bootstrap', { 'function.sh': 'echo\n' });
    const o = await ex.invoke(
      spec(code, { runtime: 'provided.al2', handler: 'x', layerDirs: [layer] }),
      request({ v: 1 }),
    );
    assert.deepEqual((json(o) as { echo: unknown }).echo, { v: 1 });
  });

  test('no bootstrap, or one that is not executable: Runtime.InvalidEntrypoint', async () => {
    const none = await ws.dir('provided-none', { 'handler.sh': 'echo hi\n' });
    const req = request({});
    const o = await ex.invoke(spec(none, { runtime: 'provided.al2023' }), req);
    assert.equal(o.kind, 'init-error');
    assert.deepEqual(json(o), {
      errorType: 'Runtime.InvalidEntrypoint',
      errorMessage: `RequestId: ${req.requestId} Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]`,
    });
    const notExec = await ws.dir('provided-not-exec', { bootstrap: 'echo not executable\n' });
    const req2 = request({});
    const o2 = await ex.invoke(spec(notExec, { runtime: 'provided.al2023' }), req2);
    assert.deepEqual(json(o2), {
      errorType: 'Runtime.InvalidEntrypoint',
      errorMessage: `RequestId: ${req2.requestId} Error: fork/exec /var/task/bootstrap: permission denied`,
    });
  });

  test('a bootstrap that exits during init: Runtime.ExitError as an init error', async () => {
    const code = await ws.dir('provided-exit', { bootstrap: '#!/bin/sh\necho dying\nexit 3\n' });
    const req = request({});
    const o = await ex.invoke(spec(code, { runtime: 'provided.al2023' }), req);
    assert.equal(o.kind, 'init-error');
    assert.deepEqual(json(o), {
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${req.requestId} Error: Runtime exited with error: exit status 3`,
    });
  });
});

describe('environment lifecycle', () => {
  test('idle environments shut down after the keep-alive; their /tmp goes with them', async () => {
    const ex = executor({ idleTimeoutMs: 300 });
    const code = await ws.dir('idle', {
      'index.js': `exports.handler = async () => require('os').tmpdir();`,
    });
    const fn = spec(code);
    const tmp = json(await ex.invoke(fn, request({}))) as string;
    assert.ok(existsSync(tmp));
    assert.equal(ex.environmentCount(), 1);
    const deadline = Date.now() + 5000;
    while (ex.environmentCount() > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(ex.environmentCount(), 0);
    await sleep(100);
    assert.equal(existsSync(tmp), false, 'private /tmp removed');
    assert.ok((await ex.invoke(fn, request({}))).initDurationMs !== undefined, 'cold again');
  });

  test('retire() shuts down every environment of a function', async () => {
    const ex = executor();
    const code = await ws.dir('retire', {
      'index.js': `exports.handler = async () => process.pid;`,
    });
    const fn = spec(code, { functionName: 'to-retire' });
    const other = spec(code, { functionName: 'stays' });
    await Promise.all([
      ex.invoke(fn, request({})),
      ex.invoke(fn, request({})),
      ex.invoke(other, request({})),
    ]);
    assert.equal(ex.environmentCount(), 3);
    await ex.retire(ACCOUNT, REGION, 'to-retire');
    assert.equal(ex.environmentCount(), 1);
    assert.equal((await ex.invoke(other, request({}))).initDurationMs, undefined);
    assert.ok((await ex.invoke(fn, request({}))).initDurationMs !== undefined);
  });

  test('a new revision never reuses an environment of the old one', async () => {
    const ex = executor();
    const v1 = await ws.dir('rev-1', { 'index.js': `exports.handler = async () => 'v1';` });
    const v2 = await ws.dir('rev-2', { 'index.js': `exports.handler = async () => 'v2';` });
    const fn1 = spec(v1, { functionName: 'revisions' });
    assert.equal(json(await ex.invoke(fn1, request({}))), 'v1');
    const fn2 = { ...fn1, codeDir: v2, revisionId: 'another' };
    assert.equal(json(await ex.invoke(fn2, request({}))), 'v2');
    assert.equal(json(await ex.invoke(fn1, request({}))), 'v1');
  });

  test('AWS_LAMBDA_EXEC_WRAPPER runs first, with the runtime command line', async () => {
    const ex = executor();
    const wrapperDir = await ws.dir('wrapper', {
      'wrap.sh': '#!/bin/sh\nexport WRAPPED="yes: $(basename "$1")"\nexec "$@"\n',
    });
    const code = await ws.dir('wrapped', {
      'index.js': `exports.handler = async () => process.env.WRAPPED;`,
    });
    const fn = spec(code, {
      environment: { AWS_LAMBDA_EXEC_WRAPPER: join(wrapperDir, 'wrap.sh') },
    });
    assert.equal(
      json(await ex.invoke(fn, request({}))),
      `yes: ${process.execPath.split('/').pop()}`,
    );
  });

  test('a new executor reaps the runtimes a crashed Stratus left behind', async () => {
    const root = join(ws.root, 'orphans');
    const dir = join(root, 'deadbeefdeadbeef');
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const orphan = spawn('sleep', ['60'], {
      env: { PATH: process.env.PATH, TMPDIR: join(dir, 'tmp') },
      detached: true,
      stdio: 'ignore',
    });
    orphan.unref();
    // An owner pid that is not running.
    let deadOwner = 4_000_000;
    while (isRunning(deadOwner)) deadOwner--;
    await writeFile(join(dir, 'owner'), `${deadOwner} ${orphan.pid}\n`);
    const exited = new Promise((r) => orphan.once('exit', r));
    executor({ tmpRoot: root });
    await exited;
    const deadline = Date.now() + 5000;
    while (existsSync(dir) && Date.now() < deadline) await sleep(20);
    assert.equal(existsSync(dir), false);
  });

  test('stop() ends every runtime process and removes the environments', async () => {
    const ex = executor();
    const code = await ws.dir('stop', { 'index.js': `exports.handler = async () => process.pid;` });
    const pid = json(await ex.invoke(spec(code), request({}))) as number;
    await ex.stop();
    assert.equal(ex.environmentCount(), 0);
    assert.throws(() => process.kill(pid, 0));
  });
});

describe('pre-started runtime processes', () => {
  test('a cold start takes a pre-started process that then serves its own function', async () => {
    const root = join(ws.root, 'prestart-envs');
    const ex = executor({ prestart: { node: 1, python: 1 }, prestartNow: true, tmpRoot: root });
    const layer = await ws.dir('prestart-layer', {
      'nodejs/node_modules/layer-mod/index.js': `module.exports = 'layer ok';`,
      'python/py_layer_mod.py': 'V = "py layer ok"\n',
    });
    const nodeCode = await ws.dir('prestart-node', {
      'index.js': `exports.handler = async () => ({
        mod: require('layer-mod'), name: process.env.AWS_LAMBDA_FUNCTION_NAME,
        prestart: process.env.STRATUS_PRESTART ?? null, cwd: process.cwd(),
        tmp: require('os').tmpdir(), stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
        pid: process.pid,
      });`,
    });
    const pyCode = await ws.dir('prestart-py', {
      'app.py': `import os, tempfile, py_layer_mod
def handler(e, c):
    return {"mod": py_layer_mod.V, "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "prestart": os.environ.get("STRATUS_PRESTART"), "cwd": os.getcwd(), "pid": os.getpid()}
`,
    });
    const prestarted = await waitForPrestart(root, 2);
    const nodeFn = spec(nodeCode, { functionName: 'pre-node', layerDirs: [layer] });
    const o = await ex.invoke(nodeFn, request({}));
    assert.equal(o.kind, 'success', o.payload.toString());
    const r = json(o) as Record<string, string | number | null>;
    assert.ok(prestarted.has(r.pid as number), 'served by a process started before the call');
    assert.equal(r.mod, 'layer ok');
    assert.equal(r.name, 'pre-node');
    assert.equal(r.prestart, null);
    assert.equal(r.cwd, nodeCode);
    assert.ok(String(r.tmp).startsWith(root));
    assert.ok(o.initDurationMs !== undefined);
    const [log] = await logOf(ex, nodeFn.logGroupName);
    assert.equal(log.stream, r.stream);
    assert.match(log.lines.at(-1) ?? '', /\tInit Duration: /);

    const pyFn = spec(pyCode, {
      functionName: 'pre-py',
      runtime: 'python3.12',
      handler: 'app.handler',
      layerDirs: [layer],
    });
    const p = await ex.invoke(pyFn, request({}));
    assert.equal(p.kind, 'success', p.payload.toString());
    const pr = json(p) as Record<string, unknown>;
    assert.ok(prestarted.has(pr.pid as number), 'served by a process started before the call');
    assert.deepEqual(
      { ...pr, pid: undefined },
      { mod: 'py layer ok', name: 'pre-py', prestart: null, cwd: pyCode, pid: undefined },
    );
  });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

/** Waits until `n` pre-started runtimes have recorded their pids; returns those pids. */
async function waitForPrestart(root: string, n: number): Promise<Set<number>> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const pids = new Set<number>();
    for (const d of await readdir(root).catch(() => [] as string[])) {
      const owner = await readFile(join(root, d, 'owner'), 'utf8').catch(() => '');
      if (owner) pids.add(Number(owner.trim().split(' ')[1]));
    }
    if (pids.size >= n) return pids;
    await sleep(50);
  }
  throw new Error('pre-started runtimes did not come up');
}
