import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiDefinition, ResourceRecord } from '../store.js';
import { gatewayReply } from './gateway-responses.js';
import { selectResponse } from './integrations.js';
import { readProxyResponse } from './proxy-event.js';
import { Router } from './router.js';
import { isBinary } from './serve.js';
import { jsonPath, renderTemplate, util } from './vtl.js';

const params = { path: {}, querystring: { q: 'x' }, header: { 'Content-Type': 'text/plain' } };

function definition(resources: ResourceRecord[]): ApiDefinition {
  return {
    rootResourceId: 'root',
    resources: Object.fromEntries(
      [{ id: 'root', methods: { GET: {} } }, ...resources].map((r) => [r.id, r]),
    ),
    models: {},
    validators: {},
    authorizers: {},
    gatewayResponses: {},
    binaryMediaTypes: [],
    apiKeySource: 'HEADER',
  };
}

test('routes prefer literal parts, then {param}, then {proxy+}; ANY answers other methods', () => {
  const router = new Router(
    definition([
      { id: 'items', parentId: 'root', pathPart: 'items', methods: { GET: {} } },
      { id: 'item', parentId: 'items', pathPart: '{id}', methods: { GET: {}, DELETE: {} } },
      { id: 'new', parentId: 'items', pathPart: 'new', methods: { GET: {} } },
      { id: 'any', parentId: 'root', pathPart: '{proxy+}', methods: { ANY: {} } },
    ]),
  );
  const m = (path: string, method = 'GET') => {
    const r = router.match(path.split('/').slice(1), method).route;
    return r && { path: r.resourcePath, params: r.pathParameters };
  };
  assert.deepEqual(m('/'), { path: '/', params: {} });
  assert.deepEqual(m('/items'), { path: '/items', params: {} });
  assert.deepEqual(m('/items/new'), { path: '/items/new', params: {} });
  assert.deepEqual(m('/items/7'), { path: '/items/{id}', params: { id: '7' } });
  assert.deepEqual(m('/items/7', 'DELETE'), { path: '/items/{id}', params: { id: '7' } });
  assert.deepEqual(m('/a/b/c', 'PATCH'), { path: '/{proxy+}', params: { proxy: 'a/b/c' } });
  // No POST on /items and nothing greedy matches it under /items: not found.
  assert.deepEqual(m('/items/7/x'), { path: '/{proxy+}', params: { proxy: 'items/7/x' } });
  assert.equal(m('/', 'POST'), undefined);
});

test('mapping templates: $input, $util, $context, $stageVariables', () => {
  const out = renderTemplate(
    '{"n": $input.json(\'$.a.b[1]\'), "all": $input.json(\'$\'), "q": "$input.params(\'q\')", "ct": "$input.params(\'content-type\')", "s": "$stageVariables.env", "id": "$context.requestId", "names": "#foreach($x in $input.path(\'$.list[*].name\'))$x#end"}',
    {
      body: '{"a":{"b":[1,2]},"list":[{"name":"p"},{"name":"q"}]}',
      params,
      context: { requestId: 'r1' },
      stageVariables: { env: 'prod' },
    },
  );
  assert.deepEqual(JSON.parse(out), {
    n: 2,
    all: { a: { b: [1, 2] }, list: [{ name: 'p' }, { name: 'q' }] },
    q: 'x',
    ct: 'text/plain',
    s: 'prod',
    id: 'r1',
    names: 'pq',
  });
  assert.equal(util.escapeJavaScript(`a"b'c\n`), `a\\"b\\'c\\n`);
  assert.equal(util.urlEncode('a b&c'), 'a+b%26c');
  assert.equal(util.urlDecode('a+b%26c'), 'a b&c');
  assert.equal(util.base64Decode(util.base64Encode('hé')), 'hé');
  assert.deepEqual(util.parseJson('{"x":[1]}'), { x: [1] });
  assert.equal(jsonPath({ a: { 'b c': 3 } }, "$.a['b c']"), 3);
  assert.equal(jsonPath({ a: 1 }, '$.nope'), undefined);
});

test('proxy responses: numbers or strings for statusCode, merged headers, base64 bodies, malformed ones', () => {
  const ok = readProxyResponse(
    Buffer.from(
      JSON.stringify({
        statusCode: '201',
        headers: { a: '1', b: '2' },
        multiValueHeaders: { b: ['x', 'y'] },
        body: Buffer.from('bin').toString('base64'),
        isBase64Encoded: true,
      }),
    ),
  );
  assert.deepEqual(ok, {
    status: 201,
    headers: [
      ['b', 'x'],
      ['b', 'y'],
      ['a', '1'],
    ],
    body: Buffer.from('bin'),
  });
  for (const bad of [
    '"just a string"',
    '{"body":"x"}',
    '{"statusCode":200,"body":{}}',
    '{"statusCode":200,"extra":1}',
    'nope',
  ]) {
    assert.equal(readProxyResponse(Buffer.from(bad)), undefined, bad);
  }
});

test('integration responses: a matching selection pattern, else the default', () => {
  const responses = [
    { statusCode: '200' },
    { statusCode: '400', selectionPattern: 'Bad.*' },
    { statusCode: '500', selectionPattern: '5\\d{2}' },
  ];
  assert.equal(selectResponse(responses, 'Bad input')?.statusCode, '400');
  assert.equal(selectResponse(responses, 'Not Bad')?.statusCode, '200');
  assert.equal(selectResponse(responses, '503')?.statusCode, '500');
  assert.equal(selectResponse([{ statusCode: '400', selectionPattern: 'x' }], 'y'), undefined);
});

test('gateway responses: defaults, and customisations by type or by family', () => {
  const base = { context: {}, params, stageVariables: {} };
  const plain = gatewayReply(undefined, {
    ...base,
    type: 'THROTTLED',
    message: 'Too Many Requests',
  });
  assert.equal(plain.status, 429);
  assert.equal(plain.body, '{"message":"Too Many Requests"}');
  assert.equal(plain.headers['x-amzn-errortype'], 'TooManyRequestsException');
  const def = definition([]);
  def.gatewayResponses.DEFAULT_4XX = {
    responseType: 'DEFAULT_4XX',
    responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" },
    responseTemplates: { 'application/json': '{"error": $context.error.messageString}' },
  };
  const custom = gatewayReply(def, { ...base, type: 'INVALID_API_KEY', message: 'Forbidden' });
  assert.equal(custom.status, 403);
  assert.equal(custom.headers['access-control-allow-origin'], '*');
  assert.equal(custom.body, '{"error": "Forbidden"}');
  const server = gatewayReply(def, {
    ...base,
    type: 'INTEGRATION_TIMEOUT',
    message: 'Endpoint request timed out',
  });
  assert.equal(server.body, '{"message":"Endpoint request timed out"}', '5XX is not customised');
});

test('binary media types match exactly or by wildcard', () => {
  assert.equal(isBinary(['image/*'], 'image/png; q=1'), true);
  assert.equal(isBinary(['application/octet-stream'], 'application/octet-stream'), true);
  assert.equal(isBinary(['image/png'], 'text/plain'), false);
  assert.equal(isBinary(['*/*'], 'text/plain'), true);
  assert.equal(isBinary([], 'image/png'), false);
});
