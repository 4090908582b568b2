import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from '../../policy/document.js';
import { AuthorizerCache, authorizerContext, decide } from './authorizer.js';
import { AccessLogWriter, clfTime, formatAccessLog, logGroupOf } from './context-vars.js';
import { apiId, isApiIdForm } from './ids.js';
import { ApiLambdaInvoker, executeApiArn, functionArnOf } from './lambda.js';
import { StageMetrics } from './stage-metrics.js';
import { TokenBuckets } from './throttle.js';

test('API ids are 10 lowercase alphanumerics and do not repeat', () => {
  const ids = new Set(Array.from({ length: 2000 }, apiId));
  assert.equal(ids.size, 2000);
  for (const id of ids) assert.ok(isApiIdForm(id), id);
});

test('a token bucket passes its burst at once, then the rate', () => {
  let now = 0;
  const b = new TokenBuckets(() => now);
  const passed = Array.from({ length: 50 }, () => b.take('k', 5, 5)).filter(Boolean).length;
  assert.equal(passed, 5);
  now += 200; // one token at 5/s
  assert.equal(b.take('k', 5, 5), true);
  assert.equal(b.take('k', 5, 5), false);
  now += 10_000; // refills up to the burst only
  assert.equal(Array.from({ length: 20 }, () => b.take('k', 5, 5)).filter(Boolean).length, 5);
  assert.equal(b.take('other', 5, 5), true, 'keys are independent');
  assert.equal(b.take('zero', 0, 0), false, 'rate 0 and burst 0 block all');
  assert.equal(b.take('free', -1, -1), true, 'a negative rate is no limit');
});

test('authorizer policies are evaluated against the method ARN with wildcards', () => {
  const arn = executeApiArn('us-east-1', '123456789012', 'abcdefghij', 'prod', 'GET', '/items/1');
  assert.equal(arn, 'arn:aws:execute-api:us-east-1:123456789012:abcdefghij/prod/GET/items/1');
  const policy = (effect: string, resource: string) => ({
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
  });
  assert.equal(decide(policy('Allow', arn), arn), 'allow');
  assert.equal(decide(policy('Allow', 'arn:aws:execute-api:*:*:abcdefghij/*/GET/*'), arn), 'allow');
  assert.equal(
    decide(policy('Allow', 'arn:aws:execute-api:*:*:abcdefghij/*/POST/*'), arn),
    'implicit-deny',
  );
  assert.equal(decide(policy('Deny', 'arn:aws:execute-api:*:*:*'), arn), 'explicit-deny');
  assert.equal(decide({ Statement: 'nope' }, arn), 'invalid');
  assert.equal(decide(undefined, arn), 'invalid');
});

test('authorizer context keeps scalars and refuses nested values', () => {
  assert.deepEqual(authorizerContext({ principalId: 'u', context: { a: 'x', n: 1, b: true } }), {
    a: 'x',
    n: 1,
    b: true,
    principalId: 'u',
  });
  assert.equal(authorizerContext({ context: { o: { x: 1 } } }), undefined);
});

test('the authorizer cache keeps a result for its TTL only', () => {
  let now = 0;
  const cache = new AuthorizerCache<string>(() => now);
  cache.set('a|tok', 'v', 300);
  cache.set('a|nocache', 'v', 0);
  assert.equal(cache.get('a|tok'), 'v');
  assert.equal(cache.get('a|nocache'), undefined);
  now += 299_999;
  assert.equal(cache.get('a|tok'), 'v');
  now += 1;
  assert.equal(cache.get('a|tok'), undefined);
  cache.set('a|t2', 'v', 10);
  cache.clear('a|');
  assert.equal(cache.get('a|t2'), undefined);
});

test('access log formats substitute $context variables, a dash for missing ones', () => {
  const ctx = {
    requestId: 'r-1',
    status: 200,
    identity: { sourceIp: '127.0.0.1', user: null },
    requestTime: clfTime(Date.UTC(2026, 11, 3, 20, 5, 9)),
  };
  assert.equal(
    formatAccessLog(
      '$context.identity.sourceIp - [$context.requestTime] $context.status $context.identity.user $context.nope',
      ctx,
    ),
    '127.0.0.1 - [03/Dec/2026:20:05:09 +0000] 200 - -',
  );
  assert.equal(
    formatAccessLog('{"requestId":"$context.requestId","status":"$context.status"}', ctx),
    '{"requestId":"r-1","status":"200"}',
  );
});

test('access log lines reach the destination group, batched', async () => {
  const appended: { group: string; messages: string[] }[] = [];
  const writer = new AccessLogWriter({
    append(_scope, group, _stream, events) {
      appended.push({ group, messages: events.map((e) => e.message) });
      return Promise.resolve();
    },
  });
  const dest = 'arn:aws:logs:us-east-1:123456789012:log-group:/api/access:*';
  assert.deepEqual(logGroupOf(dest), {
    scope: { account: '123456789012', region: 'us-east-1' },
    group: '/api/access',
  });
  writer.write(dest, 'abcdefghij', 'prod', 'one');
  writer.write(dest, 'abcdefghij', 'prod', 'two');
  writer.write('arn:aws:s3:::bucket', 'abcdefghij', 'prod', 'ignored');
  await writer.flush();
  assert.deepEqual(appended, [{ group: '/api/access', messages: ['one', 'two'] }]);
});

test('integration URIs name their function', () => {
  const fn = 'arn:aws:lambda:us-east-1:123456789012:function:items';
  const uri = `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${fn}/invocations`;
  assert.equal(functionArnOf(uri, '1', 'r'), fn);
  assert.equal(functionArnOf(fn, '1', 'r'), fn);
  assert.equal(functionArnOf(`${fn}:live`, '1', 'r'), `${fn}:live`);
  assert.equal(
    functionArnOf('items', '123456789012', 'eu-west-1'),
    'arn:aws:lambda:eu-west-1:123456789012:function:items',
  );
  assert.equal(functionArnOf('arn:aws:s3:::b', '1', 'r'), undefined);
  assert.equal(functionArnOf('http://example', '1', 'r'), undefined);
});

test('only a function policy naming API Gateway and a matching source ARN permits', async () => {
  const fn = 'arn:aws:lambda:us-east-1:123456789012:function:items';
  const statement = (sourceArn: string) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'apigateway.amazonaws.com' },
        Action: 'lambda:InvokeFunction',
        Resource: fn,
        Condition: { ArnLike: { 'AWS:SourceArn': sourceArn } },
      },
    ],
  });
  let doc: unknown = statement(
    'arn:aws:execute-api:us-east-1:123456789012:abcdefghij/*/GET/items/*',
  );
  const invoker = new ApiLambdaInvoker(
    { invoke: () => Promise.resolve({ ok: true, payload: Buffer.from('{}') }) },
    [{ prefix: 'lambda', resource: () => Promise.resolve({ policy: compilePolicy(doc, fn) }) }],
  );
  const source = executeApiArn(
    'us-east-1',
    '123456789012',
    'abcdefghij',
    'prod',
    'GET',
    '/items/1',
  );
  assert.equal(await invoker.permitted(fn, source), true);
  const other = executeApiArn('us-east-1', '123456789012', 'zzzzzzzzzz', 'prod', 'GET', '/items/1');
  assert.equal(await invoker.permitted(fn, other), false);
  const call = {
    account: '123456789012',
    region: 'us-east-1',
    uri: fn,
    payload: Buffer.from('{}'),
  };
  assert.equal((await invoker.invoke({ ...call, sourceArn: source })).kind, 'ok');
  const refused = await invoker.invoke({ ...call, sourceArn: other });
  assert.deepEqual(refused, {
    kind: 'failed',
    log: 'Execution failed due to configuration error: Invalid permissions on Lambda function',
  });
  doc = { Version: '2012-10-17', Statement: [] };
  assert.equal(await invoker.permitted(fn, source), false);
});

test('permission verdicts are cached until Lambda announces a change, not across one', async () => {
  const fn = 'arn:aws:lambda:us-east-1:123456789012:function:items';
  const source = executeApiArn('us-east-1', '123456789012', 'abcdefghij', 'prod', 'GET', '/');
  const allowAll = compilePolicy(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'apigateway.amazonaws.com' },
          Action: 'lambda:InvokeFunction',
          Resource: fn,
        },
      ],
    },
    fn,
  );
  let policy: typeof allowAll | undefined = allowAll;
  let reads = 0;
  let gate: Promise<void> | undefined;
  let changed = (): void => {};
  const invoker = new ApiLambdaInvoker(
    {
      invoke: () => Promise.resolve({ ok: true, payload: Buffer.from('{}') }),
      onChange(listener) {
        changed = listener;
        return () => {};
      },
    },
    [
      {
        prefix: 'lambda',
        async resource() {
          reads++;
          const seen = policy;
          await gate;
          return seen ? { policy: seen } : {};
        },
      },
    ],
  );
  assert.equal(await invoker.permitted(fn, source), true);
  assert.equal(await invoker.permitted(fn, source), true);
  assert.equal(reads, 1, 'the second call is answered from the cache');

  policy = undefined;
  changed();
  assert.equal(await invoker.permitted(fn, source), false);
  assert.equal(reads, 2);

  // A read that started before a change is answered but not kept.
  changed();
  let open = (): void => {};
  gate = new Promise((resolve) => (open = resolve));
  const racing = invoker.permitted(fn, source);
  policy = allowAll;
  changed();
  open();
  assert.equal(await racing, false);
  gate = undefined;
  assert.equal(await invoker.permitted(fn, source), true);
  assert.equal(reads, 4);
});

test('stage metrics count requests, errors and latencies per minute', () => {
  const m = new StageMetrics(() => 120_000);
  const base = { account: 'a', region: 'r', dimensions: { ApiName: 'x', Stage: 'prod' } };
  m.record({ ...base, status: 200, latencyMs: 10, integrationLatencyMs: 8 });
  m.record({ ...base, status: 429, latencyMs: 1 });
  m.record({ ...base, status: 502, latencyMs: 30, integrationLatencyMs: 29 });
  const [minute] = m.drain();
  assert.equal(minute?.count, 3);
  assert.equal(minute?.errors4xx, 1);
  assert.equal(minute?.errors5xx, 1);
  assert.deepEqual(minute?.latency, { sampleCount: 3, sum: 41, minimum: 1, maximum: 30 });
  assert.equal(minute?.integrationLatency?.sampleCount, 2);
  assert.deepEqual(m.drain(), []);
});

test('stage metrics hand AWS/ApiGateway values and the billed 512 KB increments over on flush', () => {
  const puts: { name: string; dims: string; value: number; count: number }[] = [];
  const counts: { usageType: string; quantity: number; resource: string }[] = [];
  const m = new StageMetrics(() => 120_000, {
    kind: 'HTTP',
    sink: {
      enabled: true,
      put: (_scope, _ns, name, dims, value, _unit, _t, count = 1) =>
        puts.push({ name, dims: dims.map((d) => d.Name).join('+'), value, count }),
      registerAlarmTarget: () => undefined,
      flush: async () => undefined,
    },
    meter: {
      enabled: true,
      count: (u) => counts.push(u),
      level: () => undefined,
    },
  });
  const base = {
    account: 'a',
    region: 'r',
    dimensions: { ApiId: 'x', Stage: 'prod' },
    resource: 'arn:stage',
  };
  m.record({ ...base, status: 200, latencyMs: 1.04, bytes: 100, detail: { Route: 'GET /a' } });
  m.record({ ...base, status: 404, latencyMs: 1.01, bytes: 600 * 1024 });
  m.flush();
  // 1 + 2 (600 KB is two 512 KB increments), once, for the stage.
  assert.deepEqual(counts, [
    {
      account: 'a',
      region: 'r',
      service: 'AmazonApiGateway',
      usageType: 'ApiGatewayHttpRequest',
      resource: 'arn:stage',
      quantity: 3,
      at: 120_000,
    },
  ]);
  const sum = (name: string, dims: string) =>
    puts
      .filter((p) => p.name === name && p.dims === dims)
      .reduce((s, p) => s + p.value * p.count, 0);
  assert.equal(sum('Count', 'ApiId'), 2);
  assert.equal(sum('Count', 'ApiId+Stage'), 2);
  assert.equal(sum('Count', 'ApiId+Stage+Route'), 1);
  assert.equal(sum('4xx', 'ApiId+Stage'), 1);
  // The 0s that make Average the error rate: one per request that was not a 4xx.
  assert.deepEqual(
    puts.filter((p) => p.name === '4xx' && p.dims === 'ApiId+Stage').map((p) => [p.value, p.count]),
    [
      [1, 1],
      [0, 1],
    ],
  );
  // Both latencies round to 1.0 ms: one value with a count of 2.
  assert.deepEqual(
    puts.filter((p) => p.name === 'Latency' && p.dims === 'ApiId').map((p) => [p.value, p.count]),
    [[1, 2]],
  );
  assert.equal(sum('DataProcessed', 'ApiId+Stage'), 100 + 600 * 1024);
  assert.deepEqual(m.drain(), []);
});
