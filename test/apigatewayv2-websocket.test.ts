/**
 * API Gateway WebSocket APIs through real clients: the chat example (AWS CLI, ws, SDK v3),
 * AWS's event shapes for $connect, messages and $disconnect, route selection, two-way
 * routes, a $connect that refuses, the @connections API on Stratus's endpoint, the path
 * form and the invoke host (curl --aws-sigv4), GoneException, and the 128 KB limits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CreateApiCommand,
  CreateAuthorizerCommand,
  CreateIntegrationCommand,
  CreateRouteCommand,
  CreateRouteResponseCommand,
  CreateStageCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { AWS_CLI, curl } from './helpers/clients.js';
import { openV2Fixture, type V2Fixture } from './helpers/apigatewayv2.js';
import { eventually, logMessages } from './helpers/lambda.js';
import { cliEnv, clientConfig } from './helpers/server.js';

/**
 * Logs each event; refuses $connect with ?deny; answers messages with the event (a two-way
 * route sends it back to the client).
 */
const WS_ECHO = `
exports.handler = async (event) => {
  const rc = event.requestContext;
  console.log('EVENT', rc.eventType, JSON.stringify(event));
  if (rc.eventType === 'CONNECT' && event.queryStringParameters && event.queryStringParameters.deny) {
    return { statusCode: 401 };
  }
  if (rc.eventType === 'MESSAGE' && event.body.includes('"fail"')) throw new Error('failed on purpose');
  return { statusCode: 200, body: JSON.stringify(event) };
};
`;

interface Client {
  ws: WebSocket;
  next(): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number }>;
}

function connect(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const inbox: Record<string, unknown>[] = [];
    const waiters: ((m: Record<string, unknown>) => void)[] = [];
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      const w = waiters.shift();
      if (w) w(msg);
      else inbox.push(msg);
    });
    const closed = new Promise<{ code: number }>((r) => ws.once('close', (code) => r({ code })));
    ws.once('open', () =>
      resolve({
        ws,
        closed,
        next: () =>
          inbox.length > 0
            ? Promise.resolve(inbox.shift() as Record<string, unknown>)
            : new Promise((r) => waiters.push(r)),
      }),
    );
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`handshake ${res.statusCode}`));
    });
    ws.once('error', reject);
  });
}

describe('API Gateway WebSocket APIs', { timeout: 900_000 }, () => {
  let fx: V2Fixture;
  let apiId: string;
  let url: string;
  let mgmt: ApiGatewayManagementApiClient;

  before(async () => {
    fx = await openV2Fixture();
    const fn = await fx.fn('ws-echo', WS_ECHO);
    const created = await fx.apigw.send(
      new CreateApiCommand({
        Name: 'ws',
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: '$request.body.action',
      }),
    );
    apiId = created.ApiId as string;
    assert.equal(created.ApiEndpoint, `ws://${apiId}.execute-api.localhost:${fx.server.port}`);
    await fx.allow(fn, apiId);
    const integration = await fx.apigw.send(
      new CreateIntegrationCommand({
        ApiId: apiId,
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: fn,
      }),
    );
    const target = `integrations/${integration.IntegrationId}`;
    for (const key of ['$connect', '$disconnect', 'oneway']) {
      await fx.apigw.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: key, Target: target }));
    }
    const echo = await fx.apigw.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'echo',
        Target: target,
        RouteResponseSelectionExpression: '$default',
      }),
    );
    await fx.apigw.send(
      new CreateRouteResponseCommand({
        ApiId: apiId,
        RouteId: echo.RouteId,
        RouteResponseKey: '$default',
      }),
    );
    await fx.apigw.send(
      new CreateStageCommand({ ApiId: apiId, StageName: 'prod', AutoDeploy: true }),
    );
    url = `${fx.server.endpoint.replace('http', 'ws')}/restapis/${apiId}/prod/_user_request_/`;
    mgmt = new ApiGatewayManagementApiClient({
      ...clientConfig(fx.server.endpoint),
      maxAttempts: 1,
    });
  });
  after(async () => {
    mgmt.destroy();
    await fx.close();
  });

  test('the chat example: one client sends, the other receives, a closed connection is gone', async () => {
    const script = fileURLToPath(new URL('../../examples/websocket-chat/run.sh', import.meta.url));
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
    assert.match(out.stdout, /bob received: \{"from":"[^"]+","message":"hello bob"\}/);
    assert.match(out.stdout, /closed connection: GoneException \(HTTP 410\)/);
  });

  test('a two-way route answers with the MESSAGE event; a one-way route answers nothing', async () => {
    const client = await connect(`${url}?name=a`);
    client.ws.send(JSON.stringify({ action: 'echo', data: 1 }));
    const event = await client.next();
    const rc = event.requestContext as Record<string, unknown>;
    assert.equal(rc.eventType, 'MESSAGE');
    assert.equal(rc.routeKey, 'echo');
    assert.equal(rc.messageDirection, 'IN');
    assert.equal(rc.stage, 'prod');
    assert.equal(rc.apiId, apiId);
    assert.match(rc.connectionId as string, /^[A-Za-z0-9+_]{15}=$/);
    assert.equal(event.body, JSON.stringify({ action: 'echo', data: 1 }));
    assert.equal(event.isBase64Encoded, false);

    // One-way: nothing comes back, so the next answer is the second echo's.
    client.ws.send(JSON.stringify({ action: 'oneway' }));
    client.ws.send(JSON.stringify({ action: 'echo', n: 2 }));
    const second = await client.next();
    assert.equal(second.body, JSON.stringify({ action: 'echo', n: 2 }));

    // No route and no $default route: AWS's Forbidden message; a failing function: 500.
    client.ws.send(JSON.stringify({ action: 'nothing-here' }));
    const forbidden = await client.next();
    assert.equal(forbidden.message, 'Forbidden');
    assert.equal(forbidden.connectionId, rc.connectionId);
    client.ws.send(JSON.stringify({ action: 'echo', fail: true }));
    assert.equal((await client.next()).message, 'Internal server error');
    client.ws.close();
    await client.closed;
  });

  test('$connect and $disconnect run with AWS event shapes; a $connect that refuses fails the handshake', async () => {
    await assert.rejects(connect(`${url}?deny=1`), /handshake 401/);
    const client = await connect(`${url}?hello=world`);
    client.ws.send(JSON.stringify({ action: 'echo' }));
    const id = ((await client.next()).requestContext as { connectionId: string }).connectionId;
    client.ws.close(1000, 'bye');
    await client.closed;
    const events = await eventually('the $disconnect event in the logs', async () => {
      const lines = (await logMessages(fx.c.logs, '/aws/lambda/ws-echo')).filter(
        (l) => l.includes('EVENT') && l.includes(id),
      );
      return lines.some((l) => l.includes('EVENT DISCONNECT')) ? lines : undefined;
    });
    const parse = (type: string) => {
      const line = events.find((l) => l.includes(`EVENT ${type} `));
      assert.ok(line, `no ${type} event in ${JSON.stringify(events)}`);
      const json = line.slice(line.indexOf(`EVENT ${type} `) + `EVENT ${type} `.length);
      return JSON.parse(json) as Record<string, Record<string, unknown>>;
    };
    const connectEvent = parse('CONNECT');
    assert.equal(connectEvent.requestContext.routeKey, '$connect');
    assert.deepEqual(connectEvent.queryStringParameters, { hello: 'world' });
    assert.equal(typeof connectEvent.headers.host, 'string');
    const disconnect = parse('DISCONNECT');
    assert.equal(disconnect.requestContext.routeKey, '$disconnect');
    assert.equal(disconnect.requestContext.disconnectStatusCode, 1000);
    assert.equal(disconnect.requestContext.disconnectReason, 'bye');
  });

  test('@connections: post, get and delete on each endpoint; GoneException once closed', async () => {
    const client = await connect(url);
    client.ws.send(JSON.stringify({ action: 'echo' }));
    const id = ((await client.next()).requestContext as { connectionId: string }).connectionId;

    // Stratus's own endpoint (POST /@connections/<id>).
    await mgmt.send(new PostToConnectionCommand({ ConnectionId: id, Data: '{"via":"endpoint"}' }));
    assert.deepEqual(await client.next(), { via: 'endpoint' });
    const info = await mgmt.send(new GetConnectionCommand({ ConnectionId: id }));
    assert.equal(info.Identity?.SourceIp, '127.0.0.1');
    assert.ok(info.ConnectedAt instanceof Date);

    // The path form of the invoke URL with its stage.
    const viaPath = new ApiGatewayManagementApiClient({
      ...clientConfig(`${fx.server.endpoint}/restapis/${apiId}/prod/_user_request_`),
      maxAttempts: 1,
    });
    try {
      await viaPath.send(new PostToConnectionCommand({ ConnectionId: id, Data: '{"via":"path"}' }));
      assert.deepEqual(await client.next(), { via: 'path' });
    } finally {
      viaPath.destroy();
    }

    // The invoke host, signed for execute-api (curl resolves *.localhost itself).
    const host = await curl([
      '--aws-sigv4',
      'aws:amz:us-east-1:execute-api',
      '--user',
      'test:test',
      fx.hostUrl(apiId, `/prod/@connections/${encodeURIComponent(id)}`),
    ]);
    assert.equal(host.status, 200, host.body);
    assert.equal(
      (JSON.parse(host.body) as { identity: { sourceIp: string } }).identity.sourceIp,
      '127.0.0.1',
    );

    // The model caps Data at 128 KB (131,072 bytes), like a WebSocket message.
    await assert.rejects(
      mgmt.send(
        new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(128 * 1024 + 1) }),
      ),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === 'ValidationException' && err.$metadata?.httpStatusCode === 400,
    );

    await mgmt.send(new DeleteConnectionCommand({ ConnectionId: id }));
    await client.closed;
    await assert.rejects(
      mgmt.send(new GetConnectionCommand({ ConnectionId: id })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === 'GoneException' && err.$metadata?.httpStatusCode === 410,
    );
    await assert.rejects(
      mgmt.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'late' })),
      (err: Error) => err.name === 'GoneException',
    );
  });

  test('a Lambda authorizer on $connect refuses or admits the handshake; its context reaches every event', async () => {
    const authorizerFn = await fx.fn(
      'ws-authorizer',
      `exports.handler = async (event) => ({
  principalId: 'user-1',
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{
      Action: 'execute-api:Invoke',
      Effect: event.queryStringParameters.token === 'ok' ? 'Allow' : 'Deny',
      Resource: event.methodArn,
    }],
  },
  context: { tier: 'gold' },
});`,
    );
    const echoFn = await fx.fn('ws-echo-authorized', WS_ECHO);
    const created = await fx.apigw.send(
      new CreateApiCommand({
        Name: 'ws-auth',
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: '$request.body.action',
      }),
    );
    const id = created.ApiId as string;
    await fx.allow(authorizerFn, id);
    await fx.allow(echoFn, id);
    const authorizer = await fx.apigw.send(
      new CreateAuthorizerCommand({
        ApiId: id,
        Name: 'token',
        AuthorizerType: 'REQUEST',
        AuthorizerUri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${authorizerFn}/invocations`,
        IdentitySource: ['route.request.querystring.token'],
      }),
    );
    const integration = await fx.apigw.send(
      new CreateIntegrationCommand({
        ApiId: id,
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: echoFn,
      }),
    );
    const target = `integrations/${integration.IntegrationId}`;
    await fx.apigw.send(
      new CreateRouteCommand({
        ApiId: id,
        RouteKey: '$connect',
        Target: target,
        AuthorizationType: 'CUSTOM',
        AuthorizerId: authorizer.AuthorizerId,
      }),
    );
    const echo = await fx.apigw.send(
      new CreateRouteCommand({
        ApiId: id,
        RouteKey: '$default',
        Target: target,
        RouteResponseSelectionExpression: '$default',
      }),
    );
    await fx.apigw.send(
      new CreateRouteResponseCommand({
        ApiId: id,
        RouteId: echo.RouteId,
        RouteResponseKey: '$default',
      }),
    );
    await fx.apigw.send(new CreateStageCommand({ ApiId: id, StageName: 'prod', AutoDeploy: true }));
    const base = `${fx.server.endpoint.replace('http', 'ws')}/restapis/${id}/prod/_user_request_/`;
    await assert.rejects(connect(base), /handshake 401/);
    await assert.rejects(connect(`${base}?token=bad`), /handshake 403/);
    const client = await connect(`${base}?token=ok`);
    client.ws.send('hello');
    const event = await client.next();
    const authorized = (event.requestContext as { authorizer: Record<string, unknown> }).authorizer;
    assert.equal(authorized.principalId, 'user-1');
    assert.equal(authorized.tier, 'gold');
    client.ws.close();
    await client.closed;
  });

  test('a message over 128 KB closes the connection (1009)', async () => {
    const client = await connect(url);
    client.ws.send(JSON.stringify({ action: 'echo', data: 'x'.repeat(128 * 1024) }));
    const { code } = await client.closed;
    assert.equal(code, 1009);
  });

  test('a plain HTTP request to a WebSocket API is not served', async () => {
    const res = await fetch(url.replace('ws', 'http'));
    assert.equal(res.status, 426);
    await res.arrayBuffer();
  });
});
