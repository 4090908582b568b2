/**
 * API Gateway HTTP APIs through real clients: the control plane (SDK v3 and the AWS CLI),
 * the serverless HTTP API example, Lambda proxy payloads 2.0 and 1.0, the execute-api
 * permission, HTTP proxy integrations, CORS, route throttling, JWT authorizers (a local
 * JWKS) and Lambda authorizers with simple responses and a cached result.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  CreateApiCommand,
  CreateAuthorizerCommand,
  CreateIntegrationCommand,
  CreateRouteCommand,
  CreateStageCommand,
  DeleteApiCommand,
  GetApiCommand,
  GetApisCommand,
  GetDeploymentsCommand,
  GetRoutesCommand,
  GetStageCommand,
  GetTagsCommand,
  TagResourceCommand,
  UpdateApiCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-apigatewayv2';
import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetPolicyCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { awsCli, AWS_CLI, curl } from './helpers/clients.js';
import { openV2Fixture, type V2Fixture } from './helpers/apigatewayv2.js';
import { ACCOUNT, logMessages, REGION } from './helpers/lambda.js';
import { eventually } from './helpers/wait.js';
import { cliEnv } from './helpers/server.js';

/** Answers with the event it got (2.0 infers a 200 JSON response from it). */
const ECHO_INFERRED = 'exports.handler = async (event) => event;\n';
/** Describes its response: status from the query, the event as the body. */
const ECHO_DESCRIBED = `
exports.handler = async (event) => ({
  statusCode: 201,
  headers: { 'content-type': 'application/json', 'x-echo': 'yes' },
  multiValueHeaders: { 'x-multi': ['a', 'b'] },
  body: JSON.stringify(event),
});
`;

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('API Gateway HTTP APIs', { timeout: 900_000 }, () => {
  let fx: V2Fixture;
  let echoInferred: string;
  let echoDescribed: string;

  before(async () => {
    fx = await openV2Fixture();
    echoInferred = await fx.fn('echo-inferred', ECHO_INFERRED);
    echoDescribed = await fx.fn('echo-described', ECHO_DESCRIBED);
  });
  after(() => fx.close());

  /** An HTTP API with one stage (`prod`, auto-deployed) and `routes` → functions. */
  async function api(
    routes: Record<string, { fn: string; version?: '1.0' | '2.0' }>,
    extra: { cors?: Parameters<typeof corsInput>[0]; stage?: string } = {},
  ): Promise<string> {
    const created = await fx.apigw.send(
      new CreateApiCommand({
        Name: 'test',
        ProtocolType: 'HTTP',
        ...(extra.cors && { CorsConfiguration: corsInput(extra.cors) }),
      }),
    );
    const apiId = created.ApiId as string;
    for (const [routeKey, { fn, version }] of Object.entries(routes)) {
      await fx.allow(fn, apiId).catch(() => undefined);
      const integration = await fx.apigw.send(
        new CreateIntegrationCommand({
          ApiId: apiId,
          IntegrationType: 'AWS_PROXY',
          IntegrationUri: fn,
          PayloadFormatVersion: version ?? '2.0',
        }),
      );
      await fx.apigw.send(
        new CreateRouteCommand({
          ApiId: apiId,
          RouteKey: routeKey,
          Target: `integrations/${integration.IntegrationId}`,
        }),
      );
    }
    await fx.apigw.send(
      new CreateStageCommand({
        ApiId: apiId,
        StageName: extra.stage ?? 'prod',
        AutoDeploy: true,
        StageVariables: { color: 'blue' },
      }),
    );
    return apiId;
  }
  const corsInput = (c: { origins: string[] }) => ({
    AllowOrigins: c.origins,
    AllowMethods: ['GET', 'POST'],
    AllowHeaders: ['content-type', 'x-custom'],
    ExposeHeaders: ['x-echo'],
    MaxAge: 300,
    AllowCredentials: true,
  });

  test('control plane: create, read, update, tag, auto-deploy and delete through the SDK', async () => {
    const created = await fx.apigw.send(
      new CreateApiCommand({ Name: 'cp', ProtocolType: 'HTTP', Tags: { team: 'a' } }),
    );
    const apiId = created.ApiId as string;
    assert.match(apiId, /^[a-z0-9]{10}$/);
    assert.equal(created.RouteSelectionExpression, '$request.method $request.path');
    assert.equal(created.ApiEndpoint, `http://${apiId}.execute-api.localhost:${fx.server.port}`);

    await assert.rejects(
      fx.apigw.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /a/{p+}/b' })),
      (err: Error) => err.name === 'BadRequestException',
    );
    await assert.rejects(
      fx.apigw.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'FETCH /a' })),
      (err: Error) => err.name === 'BadRequestException',
    );
    await fx.apigw.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /a' }));
    await assert.rejects(
      fx.apigw.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /a' })),
      (err: Error) => err.name === 'ConflictException',
    );
    await assert.rejects(
      fx.apigw.send(
        new CreateIntegrationCommand({
          ApiId: apiId,
          IntegrationType: 'AWS',
          IntegrationUri: echoInferred,
        }),
      ),
      /only be associated with proxy integrations/,
    );

    const stage = await fx.apigw.send(
      new CreateStageCommand({ ApiId: apiId, StageName: 'live', AutoDeploy: true }),
    );
    assert.match(stage.LastDeploymentStatusMessage ?? '', /Successfully deployed stage/);
    await fx.apigw.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'POST /b' }));
    const after = await fx.apigw.send(new GetStageCommand({ ApiId: apiId, StageName: 'live' }));
    assert.notEqual(after.DeploymentId, stage.DeploymentId, 'a change deploys the stage again');
    const deployments = await fx.apigw.send(new GetDeploymentsCommand({ ApiId: apiId }));
    assert.ok((deployments.Items ?? []).every((d) => d.AutoDeployed === true));

    const updated = await fx.apigw.send(
      new UpdateApiCommand({ ApiId: apiId, Name: 'renamed', Description: 'd' }),
    );
    assert.equal(updated.Name, 'renamed');
    const arn = `arn:aws:apigateway:us-east-1::/apis/${apiId}`;
    await fx.apigw.send(new TagResourceCommand({ ResourceArn: arn, Tags: { env: 'test' } }));
    const tags = await fx.apigw.send(new GetTagsCommand({ ResourceArn: arn }));
    assert.deepEqual(tags.Tags, { team: 'a', env: 'test' });
    const routes = await fx.apigw.send(new GetRoutesCommand({ ApiId: apiId, MaxResults: '1' }));
    assert.equal(routes.Items?.length, 1);
    assert.ok(routes.NextToken);

    const listed = await fx.apigw.send(new GetApisCommand({}));
    assert.ok(listed.Items?.some((a) => a.ApiId === apiId));
    await fx.apigw.send(new DeleteApiCommand({ ApiId: apiId }));
    await assert.rejects(
      fx.apigw.send(new GetApiCommand({ ApiId: apiId })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === 'NotFoundException' && err.$metadata?.httpStatusCode === 404,
    );
  });

  test('control plane: quick create through the AWS CLI', async () => {
    const out = await awsCli(fx.server.endpoint, [
      'apigatewayv2',
      'create-api',
      '--name',
      'quick',
      '--protocol-type',
      'HTTP',
      '--target',
      echoInferred,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const apiId = (JSON.parse(out.stdout) as { ApiId: string }).ApiId;
    const stages = await awsCli(fx.server.endpoint, [
      'apigatewayv2',
      'get-stages',
      '--api-id',
      apiId,
    ]);
    const items = (
      JSON.parse(stages.stdout) as { Items: { StageName: string; AutoDeploy: boolean }[] }
    ).Items;
    assert.deepEqual(
      items.map((s) => [s.StageName, s.AutoDeploy]),
      [['$default', true]],
    );
    await fx.allow(echoInferred, apiId);
    // The $default stage has no stage segment on the host form.
    const res = await curl([fx.hostUrl(apiId, '/any/path?q=1')]);
    assert.equal(res.status, 200);
    const event = JSON.parse(res.body) as { routeKey: string; rawPath: string };
    assert.equal(event.routeKey, '$default');
    assert.equal(event.rawPath, '/any/path');
  });

  test('the serverless HTTP API example deploys with the CLI and answers curl at both URL forms', async () => {
    const script = fileURLToPath(new URL('../../examples/http-api/http/run.sh', import.meta.url));
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        'bash',
        [script, fx.server.endpoint],
        // A dozen AWS CLI calls: ~2 s each on a quiet machine, 10 s and more under CI load.
        { env: cliEnv({ AWS_CLI }), timeout: 600_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
      ),
    );
    assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
    assert.match(
      out.stdout,
      /POST http:\/\/[a-z0-9]{10}\.execute-api\.localhost:\d+\/prod\/items -> \{"id"/,
    );
    assert.match(out.stdout, /GET {2}http:\/\/127\.0\.0\.1:\d+\/restapis\/.*"name":"widget"/);
  });

  test('payload 2.0: the event as AWS builds it, and a response inferred from plain JSON', async () => {
    const apiId = await api({ 'POST /items/{id}': { fn: echoInferred } });
    const res = await fetch(fx.pathUrl(apiId, 'prod', '/items/a%20b?x=1&x=2&y=3'), {
      method: 'POST',
      headers: { cookie: 'c1=v1; c2=v2', 'x-dup': 'one', 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.match(res.headers.get('apigw-requestid') ?? '', /^[A-Za-z0-9+/]{14}[A-Za-z0-9+/=]{2}$/);
    const event = await json(res);
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, 'POST /items/{id}');
    assert.equal(event.rawPath, '/prod/items/a%20b');
    assert.equal(event.rawQueryString, 'x=1&x=2&y=3');
    assert.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
    assert.deepEqual(event.queryStringParameters, { x: '1,2', y: '3' });
    assert.deepEqual(event.pathParameters, { id: 'a b' });
    assert.deepEqual(event.stageVariables, { color: 'blue' });
    assert.equal(event.body, '{"hello":"world"}');
    assert.equal(event.isBase64Encoded, false);
    const headers = event.headers as Record<string, string>;
    assert.equal(headers['x-dup'], 'one');
    assert.equal(headers.cookie, undefined);
    const rc = event.requestContext as Record<string, unknown>;
    assert.equal(rc.apiId, apiId);
    assert.equal(rc.accountId, '000000000000');
    assert.equal(rc.stage, 'prod');
    assert.equal(rc.routeKey, 'POST /items/{id}');
    assert.equal(rc.requestId, res.headers.get('apigw-requestid'));
    assert.deepEqual(Object.keys(rc.http as object).sort(), [
      'method',
      'path',
      'protocol',
      'sourceIp',
      'userAgent',
    ]);
    assert.match(rc.time as string, /^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);

    // A form post reaches the function base64-encoded, as on AWS.
    const form = await fetch(fx.pathUrl(apiId, 'prod', '/items/1'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=2',
    });
    const formEvent = await json(form);
    assert.equal(formEvent.isBase64Encoded, true);
    assert.equal(Buffer.from(formEvent.body as string, 'base64').toString(), 'a=1&b=2');

    // No route: AWS's 404 body.
    const missing = await fetch(fx.pathUrl(apiId, 'prod', '/nothing'));
    assert.equal(missing.status, 404);
    assert.deepEqual(await json(missing), { message: 'Not Found' });
  });

  test('payload 1.0: the REST-style event, multi-value headers, and a 500 without statusCode', async () => {
    const apiId = await api({
      'GET /v1/{proxy+}': { fn: echoDescribed, version: '1.0' },
      'GET /bad': { fn: echoInferred, version: '1.0' },
    });
    const res = await fetch(fx.pathUrl(apiId, 'prod', '/v1/a/b?k=1&k=2'));
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-echo'), 'yes');
    assert.equal(res.headers.get('x-multi'), 'a, b');
    const event = await json(res);
    assert.equal(event.version, '1.0');
    assert.equal(event.resource, '/v1/{proxy+}');
    assert.equal(event.httpMethod, 'GET');
    assert.deepEqual(event.pathParameters, { proxy: 'a/b' });
    assert.deepEqual(event.queryStringParameters, { k: '1,2' });
    assert.deepEqual(event.multiValueQueryStringParameters, { k: ['1', '2'] });
    assert.equal(event.body, null);
    const rc = event.requestContext as Record<string, unknown>;
    assert.equal(rc.stage, 'prod');
    assert.equal((rc.identity as Record<string, unknown>).sourceIp, '127.0.0.1');

    const bad = await fetch(fx.pathUrl(apiId, 'prod', '/bad'));
    assert.equal(bad.status, 500);
    assert.deepEqual(await json(bad), { message: 'Internal Server Error' });
  });

  test('without AddPermission for execute-api the function is not invoked: 500', async () => {
    const fn = await fx.fn('not-allowed', ECHO_INFERRED);
    const created = await fx.apigw.send(
      new CreateApiCommand({ Name: 'np', ProtocolType: 'HTTP', Target: fn }),
    );
    const url = fx.pathUrl(created.ApiId as string, '$default', '/x');
    const res = await fetch(url);
    assert.equal(res.status, 500);
    assert.deepEqual(await json(res), { message: 'Internal Server Error' });
    await fx.allow(fn, created.ApiId as string);
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    // The verdict is cached per route, and dropped when the policy changes.
    const policy = await fx.c.lambda.send(new GetPolicyCommand({ FunctionName: fn }));
    const sid = (JSON.parse(policy.Policy ?? '{}') as { Statement: { Sid: string }[] }).Statement[0]
      ?.Sid;
    await fx.c.lambda.send(new RemovePermissionCommand({ FunctionName: fn, StatementId: sid }));
    const removed = await fetch(url);
    assert.equal(removed.status, 500);
    assert.deepEqual(await json(removed), { message: 'Internal Server Error' });
  });

  test('an HTTP proxy integration forwards method, path, query and body, and returns the answer', async () => {
    const backend: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(202, { 'content-type': 'application/json', 'x-backend': '1' });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            body: Buffer.concat(chunks).toString(),
            forwardedFor: req.headers['x-forwarded-for'],
          }),
        );
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    try {
      const port = (backend.address() as AddressInfo).port;
      const created = await fx.apigw.send(
        new CreateApiCommand({ Name: 'proxy', ProtocolType: 'HTTP' }),
      );
      const apiId = created.ApiId as string;
      const integration = await fx.apigw.send(
        new CreateIntegrationCommand({
          ApiId: apiId,
          IntegrationType: 'HTTP_PROXY',
          IntegrationMethod: 'ANY',
          IntegrationUri: `http://127.0.0.1:${port}/backend/{proxy}`,
          PayloadFormatVersion: '1.0',
        }),
      );
      await fx.apigw.send(
        new CreateRouteCommand({
          ApiId: apiId,
          RouteKey: 'ANY /svc/{proxy+}',
          Target: `integrations/${integration.IntegrationId}`,
        }),
      );
      await fx.apigw.send(
        new CreateStageCommand({ ApiId: apiId, StageName: '$default', AutoDeploy: true }),
      );
      const res = await curl(['-X', 'PUT', '-d', 'payload', fx.hostUrl(apiId, '/svc/a/b?z=9')]);
      assert.equal(res.status, 202);
      assert.equal(res.headers['x-backend'], '1');
      const seen = JSON.parse(res.body) as Record<string, string>;
      assert.equal(seen.method, 'PUT');
      assert.equal(seen.url, '/backend/a/b?z=9');
      assert.equal(seen.body, 'payload');
      assert.equal(seen.forwardedFor, '127.0.0.1');
    } finally {
      backend.close();
    }
  });

  test('CORS: preflights answered without an OPTIONS route, configured headers on responses', async () => {
    const apiId = await api(
      { 'GET /items': { fn: echoDescribed } },
      { cors: { origins: ['https://app.example'] } },
    );
    const preflight = await fetch(fx.pathUrl(apiId, 'prod', '/items'), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-custom',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET,POST');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type,x-custom');
    assert.equal(preflight.headers.get('access-control-max-age'), '300');
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');

    const other = await fetch(fx.pathUrl(apiId, 'prod', '/items'), {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(other.status, 204);
    assert.equal(other.headers.get('access-control-allow-origin'), null);

    const res = await fetch(fx.pathUrl(apiId, 'prod', '/items'), {
      headers: { origin: 'https://app.example' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(res.headers.get('access-control-expose-headers'), 'x-echo');
  });

  test('route throttling: a burst of 2 with no refill lets 2 requests through, then 429', async () => {
    const apiId = await api({
      'GET /limited': { fn: echoInferred },
      'GET /free': { fn: echoInferred },
    });
    await fx.apigw.send(
      new UpdateStageCommand({
        ApiId: apiId,
        StageName: 'prod',
        RouteSettings: {
          'GET /limited': { ThrottlingBurstLimit: 2, ThrottlingRateLimit: 0.0001 },
        },
      }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(fx.pathUrl(apiId, 'prod', '/limited'));
      statuses.push(res.status);
      if (res.status === 429) assert.deepEqual(await json(res), { message: 'Too Many Requests' });
      else await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
    const free = await fetch(fx.pathUrl(apiId, 'prod', '/free'));
    assert.equal(free.status, 200, 'other routes are not limited');
  });

  test('access logs reach CloudWatch Logs in the stage format, one line per request', async () => {
    const apiId = await api({ 'GET /logged/{id}': { fn: echoInferred } });
    const group = `/apigw/${apiId}/access`;
    await fx.c.logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await fx.apigw.send(
      new UpdateStageCommand({
        ApiId: apiId,
        StageName: 'prod',
        AccessLogSettings: {
          DestinationArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}`,
          Format:
            '{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status"}',
        },
      }),
    );
    const ids: string[] = [];
    for (const id of ['a', 'é', 'c']) {
      const res = await fetch(fx.pathUrl(apiId, 'prod', `/logged/${id}`));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      ids.push(res.headers.get('apigw-requestid') as string);
    }
    const lines = await eventually('the access log lines', async () => {
      const messages = await logMessages(fx.c.logs, group);
      return messages.length >= 3 ? messages : undefined;
    });
    assert.deepEqual(
      lines.map((l) => JSON.parse(l) as Record<string, string>),
      ids.map((requestId) => ({ requestId, routeKey: 'GET /logged/{id}', status: '200' })),
    );
  });

  test('JWT authorizer: a token signed by a local JWKS is accepted, an expired one refused', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const idp: Server = createServer((req, res) => {
      const port = (idp.address() as AddressInfo).port;
      const body =
        req.url === '/.well-known/openid-configuration'
          ? { issuer: `http://127.0.0.1:${port}`, jwks_uri: `http://127.0.0.1:${port}/keys` }
          : req.url === '/keys'
            ? { keys: [jwk] }
            : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    try {
      const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
      const apiId = await api({});
      const authorizer = await fx.apigw.send(
        new CreateAuthorizerCommand({
          ApiId: apiId,
          Name: 'jwt',
          AuthorizerType: 'JWT',
          IdentitySource: ['$request.header.Authorization'],
          JwtConfiguration: { Issuer: issuer, Audience: ['my-app'] },
        }),
      );
      await fx.allow(echoInferred, apiId);
      for (const [routeKey, scopes] of [
        ['GET /me', undefined],
        ['GET /admin', ['admin']],
      ] as const) {
        const integration = await fx.apigw.send(
          new CreateIntegrationCommand({
            ApiId: apiId,
            IntegrationType: 'AWS_PROXY',
            IntegrationUri: echoInferred,
            PayloadFormatVersion: '2.0',
          }),
        );
        await fx.apigw.send(
          new CreateRouteCommand({
            ApiId: apiId,
            RouteKey: routeKey,
            AuthorizationType: 'JWT',
            AuthorizerId: authorizer.AuthorizerId,
            AuthorizationScopes: scopes ? [...scopes] : undefined,
            Target: `integrations/${integration.IntegrationId}`,
          }),
        );
      }
      const sign = (claims: Record<string, unknown>, exp: string | number) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(issuer)
          .setAudience('my-app')
          .setSubject('user-1')
          .setIssuedAt()
          .setExpirationTime(exp)
          .sign(privateKey);
      const call = (path: string, token?: string) =>
        fetch(fx.pathUrl(apiId, 'prod', path), {
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });

      const good = await call('/me', await sign({ scope: 'read write' }, '5m'));
      assert.equal(good.status, 200);
      const event = await json(good);
      const jwt = (event.requestContext as { authorizer: { jwt: Record<string, unknown> } })
        .authorizer.jwt;
      assert.equal((jwt.claims as Record<string, string>).sub, 'user-1');
      assert.deepEqual(jwt.scopes, ['read', 'write']);

      const expired = await call('/me', await sign({}, Math.floor(Date.now() / 1000) - 60));
      assert.equal(expired.status, 401);
      assert.deepEqual(await json(expired), { message: 'Unauthorized' });
      assert.match(expired.headers.get('www-authenticate') ?? '', /the token has expired/);

      const none = await call('/me');
      assert.equal(none.status, 401);
      await none.arrayBuffer();

      const { privateKey: otherKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience('my-app')
        .setExpirationTime('5m')
        .sign(otherKey);
      const refused = await call('/me', forged);
      assert.equal(refused.status, 401);
      await refused.arrayBuffer();

      const noScope = await call('/admin', await sign({ scope: 'read' }, '5m'));
      assert.equal(noScope.status, 403);
      assert.match(noScope.headers.get('www-authenticate') ?? '', /insufficient_scope/);
      await noScope.arrayBuffer();
      const admin = await call('/admin', await sign({ scope: 'admin' }, '5m'));
      assert.equal(admin.status, 200);
      await admin.arrayBuffer();
    } finally {
      idp.close();
    }
  });

  test('Lambda authorizer with simple responses: allow, deny, missing identity, cached result', async () => {
    const authorizerFn = await fx.fn(
      'simple-authorizer',
      `let calls = 0;
exports.handler = async (event) => {
  calls++;
  return { isAuthorized: event.headers.authorization === 'let-me-in', context: { calls, user: 'u1' } };
};`,
    );
    const apiId = await api({});
    await fx.allow(authorizerFn, apiId);
    await fx.allow(echoInferred, apiId);
    const authorizer = await fx.apigw.send(
      new CreateAuthorizerCommand({
        ApiId: apiId,
        Name: 'simple',
        AuthorizerType: 'REQUEST',
        AuthorizerUri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${authorizerFn}/invocations`,
        AuthorizerPayloadFormatVersion: '2.0',
        EnableSimpleResponses: true,
        IdentitySource: ['$request.header.Authorization'],
        AuthorizerResultTtlInSeconds: 300,
      }),
    );
    const integration = await fx.apigw.send(
      new CreateIntegrationCommand({
        ApiId: apiId,
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: echoInferred,
        PayloadFormatVersion: '2.0',
      }),
    );
    await fx.apigw.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'GET /private',
        AuthorizationType: 'CUSTOM',
        AuthorizerId: authorizer.AuthorizerId,
        Target: `integrations/${integration.IntegrationId}`,
      }),
    );
    const call = (token?: string) =>
      fetch(fx.pathUrl(apiId, 'prod', '/private'), {
        headers: token ? { authorization: token } : {},
      });
    const contexts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call('let-me-in');
      assert.equal(res.status, 200);
      const event = await json(res);
      contexts.push(
        (event.requestContext as { authorizer: { lambda: unknown } }).authorizer.lambda,
      );
    }
    // Cached for the TTL: the authorizer ran once for the three calls.
    assert.deepEqual(contexts, [
      { calls: 1, user: 'u1' },
      { calls: 1, user: 'u1' },
      { calls: 1, user: 'u1' },
    ]);
    const denied = await call('nope');
    assert.equal(denied.status, 403);
    assert.deepEqual(await json(denied), { message: 'Forbidden' });
    const missing = await call();
    assert.equal(missing.status, 401);
    assert.deepEqual(await json(missing), { message: 'Unauthorized' });
  });
});
