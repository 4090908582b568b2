/**
 * Node.js functions in real runtime processes, driven through createExecutor().invoke() with
 * the process driver: warm reuse, concurrency, timeouts, errors and exits, the environment,
 * layers, ES modules and callback handlers; logs read back from a real CloudWatch Logs store.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { LambdaExecutor } from './executor.js';
import {
  json,
  REGION,
  useExecutorHarness,
  request,
  spec,
} from '../../../../test/helpers/lambda-executor.js';

const harness = useExecutorHarness();
const { executor, logOf } = harness;

describe('Node.js functions', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  test('cold then warm: one environment, reused; Init Duration only on the cold start', async () => {
    const code = await harness.ws.dir('node-warm', {
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
    const code = await harness.ws.dir('node-concurrent', {
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
    const code = await harness.ws.dir('node-timeout', {
      'index.js': `
        let calls = 0;
        exports.handler = async (event) => {
          calls++;
          if (event.sleep) await new Promise((r) => setTimeout(r, 120_000));
          return { calls, pid: process.pid };
        };`,
    });
    // 3 s (AWS's default), not 1: the plain calls around it must not time out under load.
    const fn = spec(code, { timeoutSeconds: 3 });
    const warm = await ex.invoke(fn, request({}));
    const started = Date.now();
    const req = request({ sleep: true });
    const timedOut = await ex.invoke(fn, req);
    // Far below the 120 s sleep, with room for a loaded machine (not a measure of the 3 s).
    assert.ok(Date.now() - started < 60_000, 'killed at the deadline, not after the sleep');
    assert.equal(timedOut.kind, 'timeout');
    assert.deepEqual(json(timedOut), {
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${req.requestId} Error: Task timed out after 3.00 seconds`,
    });
    assert.equal(timedOut.durationMs, 3000);
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
    assert.match(reports[0], /\tDuration: 3000\.00 ms\t.*\tStatus: timeout$/);
  });

  test('a thrown error is a function error with errorType, errorMessage and trace', async () => {
    const code = await harness.ws.dir('node-throw', {
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
    const code = await harness.ws.dir('node-exit', {
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
    const code = await harness.ws.dir('node-env', {
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
    assert.ok(ra.tmp.startsWith(harness.tmpRoot));
    assert.equal(ra.before, false);
    assert.equal(rb.before, false);
    assert.equal(env.TMPDIR, ra.tmp);
    // Warm again: the file written before is still there (same environment).
    assert.equal((json(await ex.invoke(fn, request({}))) as typeof ra).before, true);
  });

  test('layers: modules under <layer>/nodejs/node_modules are importable; later layers win', async () => {
    const layer1 = await harness.ws.dir('layer-node-1', {
      'nodejs/node_modules/shared-lib/index.js': `module.exports = { from: 'layer1' };`,
      'nodejs/node_modules/only-one/index.js': `module.exports = 'one';`,
    });
    const layer2 = await harness.ws.dir('layer-node-2', {
      'nodejs/node_modules/shared-lib/index.js': `module.exports = { from: 'layer2' };`,
    });
    const code = await harness.ws.dir('node-layers', {
      'index.js': `exports.handler = async () => ({ shared: require('shared-lib').from, one: require('only-one') });`,
    });
    const o = await ex.invoke(spec(code, { layerDirs: [layer1, layer2] }), request({}));
    assert.deepEqual(json(o), { shared: 'layer2', one: 'one' });
  });

  test('ES modules: .mjs and .js under "type": "module"', async () => {
    const mjs = await harness.ws.dir('node-esm-mjs', {
      'app.mjs': `export const handler = async (event) => ({ esm: true, got: event.x });`,
    });
    const typeModule = await harness.ws.dir('node-esm-js', {
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
    const code = await harness.ws.dir('node-callback', {
      'index.js': `
        let late = 0;
        exports.wait = (event, context, callback) => {
          setTimeout(() => { late++; }, 200);
          callback(null, { late });
        };
        exports.noWait = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => {}, 120_000);
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
    // A cold start on a loaded machine takes seconds: the timer is far longer than that.
    assert.ok(Date.now() - t1 < 60_000, 'did not wait for the 120 s timer');

    const fail = await ex.invoke(spec(code, { handler: 'index.fail' }), request({}));
    assert.equal(fail.kind, 'function-error');
    assert.equal((json(fail) as { errorMessage: string }).errorMessage, 'via callback');
    const succeed = await ex.invoke(spec(code, { handler: 'index.succeed' }), request({}));
    assert.equal(json(succeed), 'done via context');
  });
});
