import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectService } from './detect.js';

test('the SigV4 credential scope names the service', () => {
  assert.equal(detectService({ scopeService: 'iam', path: '/', headers: {} })?.name, 'iam');
  assert.equal(
    detectService({ scopeService: 'monitoring', path: '/', headers: {} })?.name,
    'cloudwatch',
  );
  assert.equal(
    detectService({ scopeService: 'execute-api', path: '/', headers: {} })?.name,
    'apigatewaymanagementapi',
  );
});

test('API Gateway v1 and v2 share a signing name and differ by path', () => {
  const v1 = detectService({ scopeService: 'apigateway', path: '/restapis', headers: {} });
  const v2 = detectService({ scopeService: 'apigateway', path: '/v2/apis', headers: {} });
  assert.equal(v1?.name, 'apigateway');
  assert.equal(v2?.name, 'apigatewayv2');
});

test('X-Amz-Target identifies json services of unsigned requests', () => {
  const svc = detectService({
    path: '/',
    headers: { 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories' },
  });
  assert.equal(svc?.name, 'ecr');
});

test('the Host name identifies a service', () => {
  assert.equal(
    detectService({ path: '/', headers: { host: 'sts.us-east-1.amazonaws.com' } })?.name,
    'sts',
  );
  assert.equal(detectService({ path: '/', headers: { host: 'localhost:4566' } }), undefined);
});
