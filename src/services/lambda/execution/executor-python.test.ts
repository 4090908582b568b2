/**
 * Python functions in real runtime processes, driven through createExecutor().invoke():
 * handlers, the context object and logging lines, AWS-shaped errors, init errors, layers,
 * and boto3 reaching the endpoint without configuration of its own.
 */
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

const harness = useExecutorHarness();
const { executor, logOf } = harness;

describe('Python functions', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  test('module.function handlers, the context object, print() and logging lines', async () => {
    const code = await harness.ws.dir('py-basic', {
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
    assert.ok(String(r.tmp).startsWith(harness.tmpRoot));
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
    const code = await harness.ws.dir('py-errors', {
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
    const code = await harness.ws.dir('py-init', { 'app.py': 'x = 1\n' });
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
    const layer = await harness.ws.dir('layer-py', {
      'python/helper_mod.py': 'VALUE = "from layer"\n',
    });
    const code = await harness.ws.dir('py-layer', {
      'app.py': 'import helper_mod\ndef handler(e, c):\n    return helper_mod.VALUE\n',
    });
    const o = await ex.invoke(
      spec(code, { runtime: 'python3.12', handler: 'app.handler', layerDirs: [layer] }),
      request({}),
    );
    assert.equal(json(o), 'from layer');
  });

  test('boto3 reaches the endpoint without configuration of its own', async () => {
    const sts = await fakeSts('py');
    const pyEx = executor({ endpoint: () => sts.url });
    try {
      const code = await harness.ws.dir('py-boto3', {
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
      assert.match(String(sts.seen[0].authorization), /Credential=ASIAEXAMPLEEXAMPLE01\//);
    } finally {
      sts.close();
    }
  });
});
