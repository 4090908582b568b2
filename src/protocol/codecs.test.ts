import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { model as cloudwatch } from '../api/cloudwatch/model.js';
import { model as iam } from '../api/iam/model.js';
import { model as lambda } from '../api/lambda/model.js';
import { codecFor, codecForRequest, codecs } from './codecs.js';
import { jsonCodec } from './json.js';
import type { ServiceModel } from './model.js';
import { queryCodec } from './query.js';
import { restJsonCodec } from './rest-json.js';
import { rpcV2CborCodec } from './rpc-v2-cbor.js';
import type { WireRequest } from './types.js';

function req(headers: Record<string, string>, query = ''): WireRequest {
  return {
    method: 'POST',
    path: '/',
    rawQuery: query,
    query: new URLSearchParams(query),
    headers,
    body: Buffer.alloc(0),
  };
}

test('codecFor picks the first protocol Stratus speaks from metadata.protocols', () => {
  assert.equal(codecFor(iam), queryCodec);
  assert.equal(codecFor(lambda), restJsonCodec);
  // CloudWatch lists smithy-rpc-v2-cbor first.
  assert.equal(codecFor(cloudwatch), rpcV2CborCodec);
});

test('codecForRequest follows the request for multi-protocol services', () => {
  assert.equal(
    codecForRequest(
      cloudwatch,
      req({ 'x-amz-target': 'GraniteServiceVersion20100801.ListMetrics' }),
    ),
    jsonCodec,
  );
  assert.equal(
    codecForRequest(cloudwatch, req({ 'content-type': 'application/x-www-form-urlencoded' })),
    queryCodec,
  );
  assert.equal(codecForRequest(cloudwatch, req({}, 'Action=ListMetrics')), queryCodec);
  assert.equal(
    codecForRequest(cloudwatch, req({ 'smithy-protocol': 'rpc-v2-cbor' })),
    rpcV2CborCodec,
  );
  assert.equal(codecForRequest(iam, req({ 'x-amz-target': 'x' })), queryCodec);
});

test('every generated model has a codec', async () => {
  const apiDir = fileURLToPath(new URL('../api/', import.meta.url));
  for (const svc of readdirSync(apiDir)) {
    if (!existsSync(`${apiDir}${svc}/model.js`) && !existsSync(`${apiDir}${svc}/model.ts`))
      continue;
    const { model } = (await import(`../api/${svc}/model.js`)) as { model: ServiceModel };
    const codec = codecFor(model);
    assert.ok(Object.values(codecs).includes(codec), svc);
  }
});
