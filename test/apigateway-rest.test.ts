/**
 * API Gateway REST APIs end to end, through the SDK v3 and real HTTP calls at both invoke
 * URL forms: Lambda proxy integrations (and the execute-api permission they need), usage
 * plans enforced (5 rps / burst 5, no key → 403, quotas, GetUsage), TOKEN and REQUEST
 * authorizers with their cache, a form-encoded body mapped to JSON for a non-proxy Lambda
 * integration, an OpenAPI import that works without further calls (the rest of the surface
 * is in apigateway-rest-ops.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateAuthorizerCommand,
  CreateDeploymentCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  GetExportCommand,
  GetResourcesCommand,
  GetUsageCommand,
  ImportRestApiCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
} from '@aws-sdk/client-api-gateway';
import { AddPermissionCommand } from '@aws-sdk/client-lambda';
import {
  ACCOUNT,
  REGION,
  arn,
  nodeZip,
  openInvokeFixture,
  type InvokeFixture,
} from './helpers/lambda.js';
import { awayFromMidnightUtc } from './helpers/cost.js';
import { clientConfig } from './helpers/server.js';
import { callApi, createApi, createResource, type ApiCall } from './helpers/execute-api.js';

/** The proxy event as the tests read it. */
interface ProxyEvent {
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: Record<string, string> | null;
  stageVariables: Record<string, string> | null;
  body: string | null;
  isBase64Encoded: boolean;
  requestContext: Record<string, string | number> & { identity: Record<string, string | null> };
}

/** A value inside parsed JSON by its keys (undefined when any is missing). */
const dig = (v: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>(
    (o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined),
    v,
  );

const lambdaUri = (fn: string) =>
  `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn(fn)}/invocations`;

/** Echoes what a proxy integration receives. */
const PROXY_ECHO = `
exports.handler = async (event) => ({
  statusCode: event.httpMethod === 'POST' ? 201 : 200,
  headers: { 'content-type': 'application/json', 'x-handler': 'items' },
  multiValueHeaders: { 'x-multi': ['a', 'b'] },
  body: JSON.stringify(event),
});`;

/** A TOKEN/REQUEST authorizer: `allow` → Allow, `deny` → Deny, anything else → 401. */
const AUTHORIZER = `
exports.handler = async (event, context) => {
  const token = event.authorizationToken ?? (event.headers && event.headers.token);
  if (token !== 'allow' && token !== 'deny') throw new Error('Unauthorized');
  return {
    principalId: 'user-' + token,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: token === 'allow' ? 'Allow' : 'Deny', Resource: event.methodArn.split('/').slice(0, 2).join('/') + '/*' }],
    },
    context: { invocation: context.awsRequestId, type: event.type },
  };
};`;

/** A non-proxy Lambda: adds numbers, or fails with a message the integration maps. */
const CALC = `
exports.handler = async (event) => {
  if (!event.a) throw new Error('Missing operand a');
  return { sum: Number(event.a) + Number(event.b), who: event.who };
};`;

describe('API Gateway REST APIs', () => {
  let fx: InvokeFixture;
  let apigw: APIGatewayClient;
  let endpoint: string;
  const call = (api: string, stage: string, path: string, c?: ApiCall) =>
    callApi(endpoint, api, stage, path, c);

  const newApi = (name: string) => createApi(apigw, name);
  const resource = (api: string, parent: string, part: string) =>
    createResource(apigw, api, parent, part);
  async function proxyMethod(api: string, res: string, method: string, fn: string, extra = {}) {
    await apigw.send(
      new PutMethodCommand({
        restApiId: api,
        resourceId: res,
        httpMethod: method,
        authorizationType: 'NONE',
        ...extra,
      }),
    );
    await apigw.send(
      new PutIntegrationCommand({
        restApiId: api,
        resourceId: res,
        httpMethod: method,
        type: 'AWS_PROXY',
        integrationHttpMethod: 'POST',
        uri: lambdaUri(fn),
      }),
    );
  }
  async function permit(fn: string, api: string, id: string) {
    await fx.c.lambda.send(
      new AddPermissionCommand({
        FunctionName: fn,
        StatementId: id,
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${api}/*`,
      }),
    );
  }
  const deploy = (api: string, stage = 'prod', variables?: Record<string, string>) =>
    apigw.send(new CreateDeploymentCommand({ restApiId: api, stageName: stage, variables }));

  before(async () => {
    fx = await openInvokeFixture();
    endpoint = fx.server.endpoint;
    apigw = new APIGatewayClient({ ...clientConfig(endpoint), maxAttempts: 1 });
    await fx.create('items', { Code: { ZipFile: nodeZip(PROXY_ECHO) } });
    await fx.create('authorizer', { Code: { ZipFile: nodeZip(AUTHORIZER) } });
    await fx.create('calc', { Code: { ZipFile: nodeZip(CALC) } });
  });
  after(async () => {
    apigw.destroy();
    await fx.close();
  });

  test('GET /items/{id} and POST /items reach the function with the 1.0 event, once permitted', async () => {
    const { id: api, root } = await newApi('items');
    const items = await resource(api, root, 'items');
    const item = await resource(api, items, '{id}');
    await proxyMethod(api, item, 'GET', 'items');
    await proxyMethod(api, items, 'POST', 'items');
    await deploy(api, 'prod', { table: 'items_prod' });

    // Without AddPermission: AWS's 500, the function never runs.
    const refused = await call(api, 'prod', '/items/1');
    assert.equal(refused.status, 500);
    assert.deepEqual(refused.json(), { message: 'Internal server error' });

    await permit('items', api, 'apigw-items');
    for (const form of ['host', 'path'] as const) {
      const got = await call(api, 'prod', '/items/42?color=red&color=blue', {
        form,
        headers: { 'X-Trace': 't1' },
      });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.headers['x-handler'], 'items');
      assert.equal(got.headers['x-multi'], 'a, b');
      assert.ok(got.headers['x-amzn-requestid']);
      const ev = got.json() as ProxyEvent;
      assert.equal(ev.resource, '/items/{id}');
      assert.equal(ev.path, '/items/42');
      assert.equal(ev.httpMethod, 'GET');
      assert.deepEqual(ev.pathParameters, { id: '42' });
      assert.deepEqual(ev.queryStringParameters, { color: 'blue' });
      assert.deepEqual(ev.multiValueQueryStringParameters, { color: ['red', 'blue'] });
      assert.equal(ev.headers['X-Trace'], 't1');
      assert.deepEqual(ev.multiValueHeaders['X-Trace'], ['t1']);
      assert.deepEqual(ev.stageVariables, { table: 'items_prod' });
      assert.equal(ev.body, null);
      assert.equal(ev.isBase64Encoded, false);
      const rc = ev.requestContext;
      assert.equal(rc.resourcePath, '/items/{id}');
      assert.equal(rc.resourceId, item);
      assert.equal(rc.stage, 'prod');
      assert.equal(rc.path, '/prod/items/42');
      assert.equal(rc.accountId, ACCOUNT);
      assert.equal(rc.apiId, api);
      assert.equal(rc.identity.sourceIp, '127.0.0.1');
      assert.match(String(rc.requestTime), /^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
      assert.equal(typeof rc.requestTimeEpoch, 'number');
    }
    const posted = await call(api, 'prod', '/items', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pen' }),
    });
    assert.equal(posted.status, 201);
    assert.equal((posted.json() as { body: string }).body, '{"name":"pen"}');

    // Unknown paths, methods and stages: AWS's 403 Missing Authentication Token.
    for (const [stage, path, method] of [
      ['prod', '/nope', 'GET'],
      ['prod', '/items/1', 'DELETE'],
      ['beta', '/items/1', 'GET'],
    ]) {
      const r = await call(api, stage as string, path as string, { method });
      assert.equal(r.status, 403, `${method} ${stage}${path}`);
      assert.deepEqual(r.json(), { message: 'Missing Authentication Token' });
      assert.equal(r.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
    }
  });

  test('a usage plan of 5 requests/s, burst 5 lets about 5 of a burst through; no key is 403; quotas', async () => {
    const { id: api, root } = await newApi('metered');
    const r = await resource(api, root, 'metered');
    await apigw.send(
      new PutMethodCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'GET',
        authorizationType: 'NONE',
        apiKeyRequired: true,
      }),
    );
    await apigw.send(
      new PutIntegrationCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'GET',
        type: 'MOCK',
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
      }),
    );
    await apigw.send(
      new PutMethodResponseCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'GET',
        statusCode: '200',
      }),
    );
    await apigw.send(
      new PutIntegrationResponseCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'GET',
        statusCode: '200',
        responseTemplates: {
          'application/json': '{"ok": true, "key": "$context.identity.apiKeyId"}',
        },
      }),
    );
    await deploy(api);
    const plan = await apigw.send(
      new CreateUsagePlanCommand({
        name: 'five',
        apiStages: [{ apiId: api, stage: 'prod' }],
        throttle: { rateLimit: 5, burstLimit: 5 },
      }),
    );
    const key = await apigw.send(new CreateApiKeyCommand({ name: 'k', enabled: true }));
    await apigw.send(
      new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
    );

    const noKey = await call(api, 'prod', '/metered');
    assert.equal(noKey.status, 403);
    assert.deepEqual(noKey.json(), { message: 'Forbidden' });
    const badKey = await call(api, 'prod', '/metered', {
      headers: { 'x-api-key': 'x'.repeat(40) },
    });
    assert.equal(badKey.status, 403);

    // 200 at once: even if a loaded machine spreads them over many seconds, the refill
    // cannot let them all through, so some are refused.
    const started = Date.now();
    const burst = await Promise.all(
      Array.from({ length: 200 }, () =>
        call(api, 'prod', '/metered', { headers: { 'x-api-key': key.value as string } }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const ok = burst.filter((b) => b.status === 200);
    const throttled = burst.filter((b) => b.status === 429);
    assert.equal(ok.length + throttled.length, 200);
    // The bucket holds 5 and refills 5 a second: 5, plus what the burst's own duration
    // refilled on a slow machine.
    const most = 5 + Math.ceil(seconds * 5);
    assert.ok(ok.length >= 5 && ok.length <= most, `${ok.length} passed in ${seconds} s`);
    assert.deepEqual(throttled[0]?.json(), { message: 'Too Many Requests' });
    assert.deepEqual(ok[0]?.json(), { ok: true, key: key.id });

    // A quota of 3 a day: the 4th request is "Limit Exceeded"; GetUsage counts them. (The
    // day is UTC's: its four requests must not straddle midnight.)
    await awayFromMidnightUtc(60_000);
    const quota = await apigw.send(
      new CreateUsagePlanCommand({
        name: 'quota',
        apiStages: [{ apiId: api, stage: 'prod' }],
        quota: { limit: 3, period: 'DAY' },
      }),
    );
    const k2 = await apigw.send(
      new CreateApiKeyCommand({ name: 'k2', enabled: true, value: 'quota-key-0123456789abcdef' }),
    );
    await apigw.send(
      new CreateUsagePlanKeyCommand({ usagePlanId: quota.id, keyId: k2.id, keyType: 'API_KEY' }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(api, 'prod', '/metered', {
        headers: { 'x-api-key': 'quota-key-0123456789abcdef' },
      });
      statuses.push(res.status);
      if (i === 3) assert.deepEqual(res.json(), { message: 'Limit Exceeded' });
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const today = new Date().toISOString().slice(0, 10);
    const usage = await apigw.send(
      new GetUsageCommand({ usagePlanId: quota.id, startDate: today, endDate: today }),
    );
    assert.deepEqual(usage.items?.[k2.id as string], [[3, 0]]);
  });

  test('a TOKEN authorizer allows one token, denies another, and its result is cached for the TTL', async () => {
    const { id: api, root } = await newApi('guarded');
    const r = await resource(api, root, 'guarded');
    const auth = await apigw.send(
      new CreateAuthorizerCommand({
        restApiId: api,
        name: 'tok',
        type: 'TOKEN',
        authorizerUri: lambdaUri('authorizer'),
        identitySource: 'method.request.header.Authorization',
        authorizerResultTtlInSeconds: 300,
      }),
    );
    await proxyMethod(api, r, 'GET', 'items', {
      authorizationType: 'CUSTOM',
      authorizerId: auth.id,
    });
    await deploy(api);
    await permit('items', api, `items-${api}`);

    // The authorizer itself needs the permission too (source ARN …/authorizers/<id>).
    const unpermitted = await call(api, 'prod', '/guarded', {
      headers: { Authorization: 'allow' },
    });
    assert.equal(unpermitted.status, 500);
    await permit('authorizer', api, `auth-${api}`);

    const first = await call(api, 'prod', '/guarded', { headers: { Authorization: 'allow' } });
    assert.equal(first.status, 200, first.text);
    const ctx1 = (first.json() as { requestContext: { authorizer: Record<string, string> } })
      .requestContext.authorizer;
    assert.equal(ctx1.principalId, 'user-allow');
    assert.equal(ctx1.type, 'TOKEN');
    const second = await call(api, 'prod', '/guarded', { headers: { Authorization: 'allow' } });
    const ctx2 = (second.json() as { requestContext: { authorizer: Record<string, string> } })
      .requestContext.authorizer;
    assert.equal(ctx2.invocation, ctx1.invocation, 'the cached result: the authorizer ran once');

    const denied = await call(api, 'prod', '/guarded', { headers: { Authorization: 'deny' } });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json(), {
      Message: 'User is not authorized to access this resource with an explicit deny',
    });
    const bad = await call(api, 'prod', '/guarded', { headers: { Authorization: 'other' } });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json(), { message: 'Unauthorized' });
    const none = await call(api, 'prod', '/guarded');
    assert.equal(none.status, 401);

    // A REQUEST authorizer reads its identity sources; without TTL it runs every time.
    const req = await apigw.send(
      new CreateAuthorizerCommand({
        restApiId: api,
        name: 'req',
        type: 'REQUEST',
        authorizerUri: lambdaUri('authorizer'),
        identitySource: 'method.request.header.token',
        authorizerResultTtlInSeconds: 0,
      }),
    );
    const r2 = await resource(api, root, 'request');
    await proxyMethod(api, r2, 'GET', 'items', {
      authorizationType: 'CUSTOM',
      authorizerId: req.id,
    });
    await deploy(api);
    await permit('authorizer', api, `auth2-${api}`).catch(() => undefined);
    const a = await call(api, 'prod', '/request', { headers: { token: 'allow' } });
    const b = await call(api, 'prod', '/request', { headers: { token: 'allow' } });
    assert.equal(a.status, 200, a.text);
    const invA = (a.json() as { requestContext: { authorizer: Record<string, string> } })
      .requestContext.authorizer;
    const invB = (b.json() as { requestContext: { authorizer: Record<string, string> } })
      .requestContext.authorizer;
    assert.equal(invA.type, 'REQUEST');
    assert.notEqual(invA.invocation, invB.invocation);
  });

  test('a mapping template turns a form-encoded body into JSON for a non-proxy Lambda, and shapes the reply', async () => {
    const { id: api, root } = await newApi('forms');
    const r = await resource(api, root, 'sum');
    await apigw.send(
      new PutMethodCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'POST',
        authorizationType: 'NONE',
      }),
    );
    const formToJson = [
      '#set($fields = {})',
      '#foreach($pair in $input.body.split("&"))',
      '#set($kv = $pair.split("="))',
      '#set($ignored = $fields.put($util.urlDecode($kv[0]), $util.urlDecode($kv[1])))',
      '#end',
      '{"a": "$!fields.a", "b": "$!fields.b", "who": "$util.escapeJavaScript($fields.who)", "stage": "$context.stage"}',
    ].join('\n');
    await apigw.send(
      new PutIntegrationCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'POST',
        type: 'AWS',
        integrationHttpMethod: 'POST',
        uri: lambdaUri('calc'),
        passthroughBehavior: 'NEVER',
        requestTemplates: { 'application/x-www-form-urlencoded': formToJson },
      }),
    );
    for (const code of ['200', '400']) {
      await apigw.send(
        new PutMethodResponseCommand({
          restApiId: api,
          resourceId: r,
          httpMethod: 'POST',
          statusCode: code,
        }),
      );
    }
    await apigw.send(
      new PutIntegrationResponseCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'POST',
        statusCode: '200',
        responseTemplates: {
          'application/json':
            '#set($out = $input.path(\'$\'))\n{"result": $out.sum, "for": "$util.escapeJavaScript($out.who)", "requestId": "$context.requestId"}',
        },
      }),
    );
    await apigw.send(
      new PutIntegrationResponseCommand({
        restApiId: api,
        resourceId: r,
        httpMethod: 'POST',
        statusCode: '400',
        selectionPattern: 'Missing.*',
        responseTemplates: { 'application/json': '{"error": "$input.path(\'$.errorMessage\')"}' },
      }),
    );
    await deploy(api);
    await permit('calc', api, 'apigw-calc');

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await call(api, 'prod', '/sum', {
      method: 'POST',
      headers: form,
      body: 'a=2&b=40&who=Ann+%22A%22',
    });
    assert.equal(ok.status, 200, ok.text);
    const body = ok.json() as { result: number; for: string; requestId: string };
    assert.equal(body.result, 42);
    assert.equal(body.for, 'Ann "A"');
    assert.equal(body.requestId, ok.headers['x-amzn-requestid']);

    const err = await call(api, 'prod', '/sum', { method: 'POST', headers: form, body: 'b=1' });
    assert.equal(err.status, 400);
    assert.deepEqual(err.json(), { error: 'Missing operand a' });

    // passthroughBehavior NEVER: a content type without a template is 415.
    const json = await call(api, 'prod', '/sum', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(json.status, 415);
    assert.deepEqual(json.json(), { message: 'Unsupported Media Type' });
  });

  test('an API imported from OpenAPI with x-amazon-apigateway-integration works without further calls', async () => {
    const doc = {
      openapi: '3.0.1',
      info: { title: 'imported', version: '1' },
      paths: {
        '/items/{id}': {
          get: {
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            'x-amazon-apigateway-integration': {
              type: 'aws_proxy',
              httpMethod: 'POST',
              uri: lambdaUri('items'),
            },
          },
        },
        '/health': {
          get: {
            responses: { '200': { description: 'ok' } },
            'x-amazon-apigateway-integration': {
              type: 'mock',
              requestTemplates: { 'application/json': '{"statusCode": 200}' },
              responses: {
                default: {
                  statusCode: '200',
                  responseTemplates: { 'application/json': '{"healthy": true}' },
                },
              },
            },
          },
        },
      },
    };
    const imported = await apigw.send(
      new ImportRestApiCommand({ body: Buffer.from(JSON.stringify(doc)) }),
    );
    const api = imported.id as string;
    assert.equal(imported.name, 'imported');
    const resources = await apigw.send(new GetResourcesCommand({ restApiId: api }));
    assert.deepEqual(resources.items?.map((r) => r.path).sort(), [
      '/',
      '/health',
      '/items',
      '/items/{id}',
    ]);
    await deploy(api, 'v1');
    await permit('items', api, `import-${api}`);
    const health = await call(api, 'v1', '/health', { form: 'host' });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { healthy: true });
    const item = await call(api, 'v1', '/items/9');
    assert.equal(item.status, 200, item.text);
    assert.deepEqual((item.json() as { pathParameters: unknown }).pathParameters, { id: '9' });

    // And back out: GetExport writes OpenAPI 3 with the integrations.
    const out = await apigw.send(
      new GetExportCommand({
        restApiId: api,
        stageName: 'v1',
        exportType: 'oas30',
        parameters: { extensions: 'integrations' },
      }),
    );
    const exported = JSON.parse(Buffer.from(out.body as Uint8Array).toString('utf8')) as unknown;
    assert.equal(dig(exported, 'openapi'), '3.0.1');
    assert.equal(
      dig(exported, 'paths', '/items/{id}', 'get', 'x-amazon-apigateway-integration', 'uri'),
      lambdaUri('items'),
    );
    assert.equal(
      dig(exported, 'paths', '/health', 'get', 'x-amazon-apigateway-integration', 'type'),
      'mock',
    );
  });
});
