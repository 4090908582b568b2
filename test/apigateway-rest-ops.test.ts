/**
 * API Gateway REST APIs, the rest of the surface: control-plane updates, listings and
 * AWS's errors through the SDK; access logs in CloudWatch Logs in the stage's format;
 * binary media types in the proxy event; the integration timeout (504); HTTP_PROXY to a
 * load balancer listener with a Lambda target, by its `*.elb.localhost` DNS name; HTTP_PROXY
 * to a local server, CORS preflights by MOCK, validators, gateway responses, the 10 MB
 * limit, AWS_IAM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  APIGatewayClient,
  CreateDeploymentCommand,
  CreateModelCommand,
  CreateRequestValidatorCommand,
  CreateResourceCommand,
  CreateRestApiCommand,
  DeleteRestApiCommand,
  GetMethodCommand,
  GetRestApiCommand,
  GetRestApisCommand,
  GetStageCommand,
  PutIntegrationCommand,
  PutGatewayResponseCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
  UpdateMethodCommand,
  UpdateRestApiCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import { AddPermissionCommand } from '@aws-sdk/client-lambda';
import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ACCOUNT,
  REGION,
  arn,
  eventually,
  logMessages,
  nodeZip,
  openInvokeFixture,
  type InvokeFixture,
} from './helpers/lambda.js';
import { freePort } from './helpers/backends.js';
import { clientConfig } from './helpers/server.js';
import { callApi, createApi, createResource, type ApiCall } from './helpers/execute-api.js';
import { signedFetch } from './helpers/sign.js';

const ECHO = `
exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ body: event.body, isBase64Encoded: event.isBase64Encoded, path: event.path }),
});`;

describe('API Gateway REST APIs: operations, logs, binary, timeouts, load balancers', () => {
  let fx: InvokeFixture;
  let apigw: APIGatewayClient;
  let endpoint: string;

  async function proxyApi(name: string, uri: string, type: 'AWS_PROXY' | 'HTTP_PROXY', extra = {}) {
    const api = await apigw.send(new CreateRestApiCommand({ name, ...extra }));
    const id = api.id as string;
    const proxy = await apigw.send(
      new CreateResourceCommand({
        restApiId: id,
        parentId: api.rootResourceId,
        pathPart: '{proxy+}',
      }),
    );
    await apigw.send(
      new PutMethodCommand({
        restApiId: id,
        resourceId: proxy.id,
        httpMethod: 'ANY',
        authorizationType: 'NONE',
      }),
    );
    await apigw.send(
      new PutIntegrationCommand({
        restApiId: id,
        resourceId: proxy.id,
        httpMethod: 'ANY',
        type,
        integrationHttpMethod: type === 'AWS_PROXY' ? 'POST' : 'ANY',
        uri,
        timeoutInMillis: 1000,
      }),
    );
    return { id, resource: proxy.id as string };
  }

  const newApi = (name: string) => createApi(apigw, name);
  const resource = (api: string, parent: string, part: string) =>
    createResource(apigw, api, parent, part);
  const deploy = (api: string, stage = 'prod', variables?: Record<string, string>) =>
    apigw.send(new CreateDeploymentCommand({ restApiId: api, stageName: stage, variables }));
  const call = (api: string, stage: string, path: string, c?: ApiCall) =>
    callApi(endpoint, api, stage, path, c);

  before(async () => {
    fx = await openInvokeFixture();
    endpoint = fx.server.endpoint;
    apigw = new APIGatewayClient({ ...clientConfig(endpoint), maxAttempts: 1 });
    await fx.create('bin', { Code: { ZipFile: nodeZip(ECHO) } });
    await fx.c.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'bin',
        StatementId: 'any-api',
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:*`,
      }),
    );
  });
  after(async () => {
    apigw.destroy();
    await fx.close();
  });

  test('updates by patch operations, listings and AWS errors', async () => {
    const api = await apigw.send(new CreateRestApiCommand({ name: 'ops', description: 'first' }));
    const id = api.id as string;
    assert.match(id, /^[a-z0-9]{10}$/);
    assert.deepEqual(api.endpointConfiguration?.types, ['EDGE']);
    assert.equal(api.apiKeySource, 'HEADER');

    const updated = await apigw.send(
      new UpdateRestApiCommand({
        restApiId: id,
        patchOperations: [
          { op: 'replace', path: '/name', value: 'ops2' },
          { op: 'add', path: '/binaryMediaTypes/image~1png', value: '' },
        ],
      }),
    );
    assert.equal(updated.name, 'ops2');
    assert.deepEqual(updated.binaryMediaTypes, ['image/png']);
    const listed = await apigw.send(new GetRestApisCommand({}));
    assert.ok(listed.items?.some((a) => a.id === id && a.name === 'ops2'));

    await apigw.send(
      new PutMethodCommand({
        restApiId: id,
        resourceId: api.rootResourceId,
        httpMethod: 'GET',
        authorizationType: 'NONE',
      }),
    );
    await apigw.send(
      new UpdateMethodCommand({
        restApiId: id,
        resourceId: api.rootResourceId,
        httpMethod: 'GET',
        patchOperations: [{ op: 'replace', path: '/apiKeyRequired', value: 'true' }],
      }),
    );
    const method = await apigw.send(
      new GetMethodCommand({ restApiId: id, resourceId: api.rootResourceId, httpMethod: 'GET' }),
    );
    assert.equal(method.apiKeyRequired, true);

    // A deployment needs every method integrated.
    await assert.rejects(
      apigw.send(new CreateDeploymentCommand({ restApiId: id, stageName: 'x' })),
      {
        name: 'BadRequestException',
        message: 'No integration defined for method',
      },
    );
    await assert.rejects(
      apigw.send(
        new CreateResourceCommand({ restApiId: id, parentId: api.rootResourceId, pathPart: 'a b' }),
      ),
      { name: 'BadRequestException' },
    );
    await apigw.send(new DeleteRestApiCommand({ restApiId: id }));
    await assert.rejects(apigw.send(new GetRestApiCommand({ restApiId: id })), {
      name: 'NotFoundException',
      message: `Invalid API identifier specified ${ACCOUNT}:${id}`,
    });
  });

  test('access logs reach CloudWatch Logs in the stage format; binary bodies arrive base64-encoded', async () => {
    const { id } = await proxyApi(
      'logged',
      `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn('bin')}/invocations`,
      'AWS_PROXY',
      {
        binaryMediaTypes: ['image/*'],
      },
    );
    await apigw.send(new CreateDeploymentCommand({ restApiId: id, stageName: 'prod' }));
    const group = `/apigw/${id}/access`;
    await fx.c.logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await apigw.send(
      new UpdateStageCommand({
        restApiId: id,
        stageName: 'prod',
        patchOperations: [
          {
            op: 'replace',
            path: '/accessLogSettings/destinationArn',
            value: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}`,
          },
          {
            op: 'replace',
            path: '/accessLogSettings/format',
            value:
              '{"requestId":"$context.requestId","status":"$context.status","path":"$context.resourcePath","method":"$context.httpMethod"}',
          },
        ],
      }),
    );
    const stage = await apigw.send(new GetStageCommand({ restApiId: id, stageName: 'prod' }));
    assert.equal(
      stage.accessLogSettings?.destinationArn,
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}`,
    );

    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    const res = await callApi(endpoint, id, 'prod', '/pic', {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: png,
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), {
      body: png.toString('base64'),
      isBase64Encoded: true,
      path: '/pic',
    });
    const text = await callApi(endpoint, id, 'prod', '/txt', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.deepEqual(text.json(), { body: 'hi', isBase64Encoded: false, path: '/txt' });

    const requestId = res.headers['x-amzn-requestid'];
    const line = await eventually('the access log line', async () => {
      const messages = await logMessages(fx.c.logs, group);
      return messages.find((m) => m.includes(String(requestId)));
    });
    assert.deepEqual(JSON.parse(line), {
      requestId,
      status: '200',
      path: '/{proxy+}',
      method: 'POST',
    });
  });

  test('a function without the permission: 500 for the caller, the reason in the execution log', async () => {
    await fx.create('unpermitted', { Code: { ZipFile: nodeZip(ECHO) } });
    const { id } = await proxyApi(
      'unpermitted',
      `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn('unpermitted')}/invocations`,
      'AWS_PROXY',
    );
    await apigw.send(new CreateDeploymentCommand({ restApiId: id, stageName: 'prod' }));
    await apigw.send(
      new UpdateStageCommand({
        restApiId: id,
        stageName: 'prod',
        patchOperations: [{ op: 'replace', path: '/*/*/logging/loglevel', value: 'INFO' }],
      }),
    );
    const res = await callApi(endpoint, id, 'prod', '/x');
    assert.equal(res.status, 500);
    assert.deepEqual(res.json(), { message: 'Internal server error' });
    const line = await eventually('the execution log line', async () => {
      const messages = await logMessages(fx.c.logs, `API-Gateway-Execution-Logs_${id}/prod`);
      return messages.find((m) => m.includes('Invalid permissions on Lambda function'));
    });
    assert.equal(
      line,
      'Execution failed due to configuration error: Invalid permissions on Lambda function',
    );

    // disableExecuteApiEndpoint: the invoke URL answers 403 Forbidden.
    await apigw.send(
      new UpdateRestApiCommand({
        restApiId: id,
        patchOperations: [{ op: 'replace', path: '/disableExecuteApiEndpoint', value: 'true' }],
      }),
    );
    const off = await callApi(endpoint, id, 'prod', '/x');
    assert.equal(off.status, 403);
    assert.deepEqual(off.json(), { message: 'Forbidden' });
  });

  test('an integration slower than its timeout is a 504; an unreachable one a 500', async () => {
    const slow = createServer((_req, res) => {
      setTimeout(() => res.end('late'), 3000).unref();
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const port = (slow.address() as AddressInfo).port;
      const { id } = await proxyApi('slow', `http://127.0.0.1:${port}/{proxy}`, 'HTTP_PROXY');
      await apigw.send(new CreateDeploymentCommand({ restApiId: id, stageName: 'prod' }));
      const res = await callApi(endpoint, id, 'prod', '/wait');
      assert.equal(res.status, 504);
      assert.deepEqual(res.json(), { message: 'Endpoint request timed out' });

      const dead = await proxyApi(
        'dead',
        `http://127.0.0.1:${await freePort()}/{proxy}`,
        'HTTP_PROXY',
      );
      await apigw.send(new CreateDeploymentCommand({ restApiId: dead.id, stageName: 'prod' }));
      const down = await callApi(endpoint, dead.id, 'prod', '/x');
      assert.equal(down.status, 500);
      assert.deepEqual(down.json(), { message: 'Internal server error' });
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  test('HTTP_PROXY reaches a load balancer listener by its DNS name', async () => {
    const elb = new ElasticLoadBalancingV2Client(clientConfig(endpoint));
    try {
      const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'apigw-alb' })))
        .LoadBalancers?.[0];
      const tg = (
        await elb.send(new CreateTargetGroupCommand({ Name: 'apigw-fn', TargetType: 'lambda' }))
      ).TargetGroups?.[0];
      await elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: tg?.TargetGroupArn,
          Targets: [{ Id: arn('bin') }],
        }),
      );
      const port = await freePort();
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb?.LoadBalancerArn,
          Protocol: 'HTTP',
          Port: port,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg?.TargetGroupArn }],
        }),
      );
      const dns = lb?.DNSName as string;
      assert.match(dns, /\.elb\.localhost$/);
      const { id } = await proxyApi('to-alb', `http://${dns}:${port}/alb/{proxy}`, 'HTTP_PROXY');
      await apigw.send(new CreateDeploymentCommand({ restApiId: id, stageName: 'prod' }));
      const res = await callApi(endpoint, id, 'prod', '/a/b', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'via alb',
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), { body: 'via alb', isBase64Encoded: false, path: '/alb/a/b' });
    } finally {
      elb.destroy();
    }
  });

  test('HTTP_PROXY to a local server, CORS preflight by MOCK, validators, gateway responses, 10 MB, AWS_IAM', async () => {
    const backend: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(202, { 'content-type': 'application/json', 'x-backend': 'yes' });
        res.end(
          JSON.stringify({
            url: req.url,
            method: req.method,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    try {
      const { id: api, root } = await newApi('mixed');
      const proxy = await resource(api, root, '{proxy+}');
      await apigw.send(
        new PutMethodCommand({
          restApiId: api,
          resourceId: proxy,
          httpMethod: 'ANY',
          authorizationType: 'NONE',
        }),
      );
      await apigw.send(
        new PutIntegrationCommand({
          restApiId: api,
          resourceId: proxy,
          httpMethod: 'ANY',
          type: 'HTTP_PROXY',
          integrationHttpMethod: 'ANY',
          uri: `http://127.0.0.1:\${stageVariables.port}/backend/{proxy}`,
          requestParameters: { 'integration.request.path.proxy': 'method.request.path.proxy' },
        }),
      );
      // CORS: an OPTIONS MOCK method answering the preflight, as users configure it.
      const cors = await resource(api, root, 'cors');
      await apigw.send(
        new PutMethodCommand({
          restApiId: api,
          resourceId: cors,
          httpMethod: 'OPTIONS',
          authorizationType: 'NONE',
        }),
      );
      await apigw.send(
        new PutIntegrationCommand({
          restApiId: api,
          resourceId: cors,
          httpMethod: 'OPTIONS',
          type: 'MOCK',
          requestTemplates: { 'application/json': '{"statusCode": 200}' },
        }),
      );
      await apigw.send(
        new PutMethodResponseCommand({
          restApiId: api,
          resourceId: cors,
          httpMethod: 'OPTIONS',
          statusCode: '200',
          responseParameters: {
            'method.response.header.Access-Control-Allow-Origin': false,
            'method.response.header.Access-Control-Allow-Methods': false,
          },
        }),
      );
      await apigw.send(
        new PutIntegrationResponseCommand({
          restApiId: api,
          resourceId: cors,
          httpMethod: 'OPTIONS',
          statusCode: '200',
          responseParameters: {
            'method.response.header.Access-Control-Allow-Origin': "'*'",
            'method.response.header.Access-Control-Allow-Methods': "'GET,POST,OPTIONS'",
          },
          responseTemplates: { 'application/json': '' },
        }),
      );
      // A validated POST with a draft-4 model, and a customised 400.
      const model = await apigw.send(
        new CreateModelCommand({
          restApiId: api,
          name: 'Item',
          contentType: 'application/json',
          schema: JSON.stringify({
            $schema: 'http://json-schema.org/draft-04/schema#',
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' } },
          }),
        }),
      );
      const validator = await apigw.send(
        new CreateRequestValidatorCommand({
          restApiId: api,
          name: 'all',
          validateRequestBody: true,
          validateRequestParameters: true,
        }),
      );
      const v = await resource(api, cors, 'validated');
      await apigw.send(
        new PutMethodCommand({
          restApiId: api,
          resourceId: v,
          httpMethod: 'POST',
          authorizationType: 'NONE',
          requestValidatorId: validator.id,
          requestModels: { 'application/json': model.name as string },
          requestParameters: { 'method.request.querystring.tag': true },
        }),
      );
      await apigw.send(
        new PutIntegrationCommand({
          restApiId: api,
          resourceId: v,
          httpMethod: 'POST',
          type: 'MOCK',
          requestTemplates: { 'application/json': '{"statusCode": 200}' },
        }),
      );
      await apigw.send(
        new PutIntegrationResponseCommand({
          restApiId: api,
          resourceId: v,
          httpMethod: 'POST',
          statusCode: '200',
          responseTemplates: { 'application/json': '{"valid": true}' },
        }),
      );
      await apigw.send(
        new PutGatewayResponseCommand({
          restApiId: api,
          responseType: 'BAD_REQUEST_BODY',
          statusCode: '422',
          responseParameters: { 'gatewayresponse.header.x-why': "'schema'" },
          responseTemplates: {
            'application/json':
              '{"problem": $context.error.messageString, "type": "$context.error.responseType"}',
          },
        }),
      );
      // AWS_IAM: only SigV4-signed calls.
      const secure = await resource(api, cors, 'secure');
      await apigw.send(
        new PutMethodCommand({
          restApiId: api,
          resourceId: secure,
          httpMethod: 'GET',
          authorizationType: 'AWS_IAM',
        }),
      );
      await apigw.send(
        new PutIntegrationCommand({
          restApiId: api,
          resourceId: secure,
          httpMethod: 'GET',
          type: 'MOCK',
          requestTemplates: { 'application/json': '{"statusCode": 200}' },
        }),
      );
      await apigw.send(
        new PutIntegrationResponseCommand({
          restApiId: api,
          resourceId: secure,
          httpMethod: 'GET',
          statusCode: '200',
          responseTemplates: { 'application/json': '{"caller": "$context.identity.accessKey"}' },
        }),
      );
      await deploy(api, 'prod', { port: String(port) });

      const proxied = await call(api, 'prod', '/a/b?x=1', { method: 'PUT', body: 'hello' });
      assert.equal(proxied.status, 202, proxied.text);
      assert.equal(proxied.headers['x-backend'], 'yes');
      assert.deepEqual(proxied.json(), { url: '/backend/a/b?x=1', method: 'PUT', body: 'hello' });

      const preflight = await call(api, 'prod', '/cors', {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example' },
      });
      assert.equal(preflight.status, 200);
      assert.equal(preflight.headers['access-control-allow-origin'], '*');
      assert.equal(preflight.headers['access-control-allow-methods'], 'GET,POST,OPTIONS');

      const json = { 'content-type': 'application/json' };
      const missing = await call(api, 'prod', '/cors/validated', {
        method: 'POST',
        headers: json,
        body: '{"name":"x"}',
      });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.json(), { message: 'Missing required request parameters: [tag]' });
      const invalid = await call(api, 'prod', '/cors/validated?tag=1', {
        method: 'POST',
        headers: json,
        body: '{"name":5}',
      });
      assert.equal(invalid.status, 422);
      assert.equal(invalid.headers['x-why'], 'schema');
      assert.deepEqual(invalid.json(), {
        problem: 'Invalid request body',
        type: 'BAD_REQUEST_BODY',
      });
      const valid = await call(api, 'prod', '/cors/validated?tag=1', {
        method: 'POST',
        headers: json,
        body: '{"name":"x"}',
      });
      assert.equal(valid.status, 200);
      assert.deepEqual(valid.json(), { valid: true });

      const tooBig = await call(api, 'prod', '/a', {
        method: 'POST',
        body: Buffer.alloc(10 * 1024 * 1024 + 1, 97),
      });
      assert.equal(tooBig.status, 413);
      assert.deepEqual(tooBig.json(), { message: 'Request Too Long' });

      const unsigned = await call(api, 'prod', '/cors/secure');
      assert.equal(unsigned.status, 403);
      assert.deepEqual(unsigned.json(), { message: 'Missing Authentication Token' });
      const signed = await signedFetch(endpoint, {
        service: 'execute-api',
        method: 'GET',
        path: `/restapis/${api}/prod/_user_request_/cors/secure`,
      });
      assert.equal(signed.status, 200, signed.text);
      assert.deepEqual(JSON.parse(signed.text), { caller: 'test' });

      // Stage throttling from methodSettings */*: rate 0 and burst 0 block everything.
      await apigw.send(
        new UpdateStageCommand({
          restApiId: api,
          stageName: 'prod',
          patchOperations: [
            { op: 'replace', path: '/*/*/throttling/rateLimit', value: '0' },
            { op: 'replace', path: '/*/*/throttling/burstLimit', value: '0' },
          ],
        }),
      );
      const blocked = await call(api, 'prod', '/cors', { method: 'OPTIONS' });
      assert.equal(blocked.status, 429);
      assert.deepEqual(blocked.json(), { message: 'Too Many Requests' });
    } finally {
      backend.close();
    }
  });
});
