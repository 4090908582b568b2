/**
 * ALB listener rules and actions through the SDK v3, checked by traffic: conditions of
 * every kind, priorities, weighted forwards, fixed responses, redirects; the error
 * answers (502, 503, 504); draining with a request in flight; Lambda targets with the ALB
 * event; tags and paging.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeregisterTargetsCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupCommand,
  ModifyTargetGroupAttributesCommand,
  OperationNotPermittedException,
  PriorityInUseException,
  RegisterTargetsCommand,
  RemoveTagsCommand,
  SetRulePrioritiesCommand,
  paginateDescribeLoadBalancers,
  type Action,
  type RuleCondition,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type Backend, type Echo, freePort, startBackend } from './helpers/backends.js';
import { IAMClient } from '@aws-sdk/client-iam';
import { createRole, eventually, nodeZip } from './helpers/lambda.js';
import { httpTargetGroup } from './helpers/elbv2.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const backendOf = (a: Answer): string => (JSON.parse(a.body) as Echo).backend;

describe('ELBv2: rules, actions and the data plane', () => {
  let server: TestServer;
  let elb: ElasticLoadBalancingV2Client;
  let a: Backend;
  let b: Backend;
  let lbArn: string;
  let listenerArn: string;
  let tgA: string;
  let tgB: string;
  let base: string;

  async function group(
    name: string,
    targets: { Id: string; Port: number }[],
    extra = {},
  ): Promise<string> {
    return (await httpTargetGroup(elb, name, targets, extra)).TargetGroupArn!;
  }

  const health = async (tg: string) =>
    (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg })))
      .TargetHealthDescriptions ?? [];

  const waitState = (tg: string, state: string) =>
    eventually(`targets ${state}`, async () => {
      const list = await health(tg);
      return list.length > 0 && list.every((d) => d.TargetHealth?.State === state)
        ? list
        : undefined;
    });

  async function rule(priority: number, conditions: RuleCondition[], actions: Action[]) {
    return (
      await elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: priority,
          Conditions: conditions,
          Actions: actions,
        }),
      )
    ).Rules![0];
  }

  before(async () => {
    server = await startTestServer();
    elb = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
    a = await startBackend('a');
    b = await startBackend('b');
    lbArn = (await elb.send(new CreateLoadBalancerCommand({ Name: 'routes' }))).LoadBalancers![0]
      .LoadBalancerArn!;
    tgA = await group('tg-a', [{ Id: '127.0.0.1', Port: a.port }]);
    tgB = await group('tg-b', [{ Id: '127.0.0.1', Port: b.port }]);
    const port = await freePort();
    listenerArn = (
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lbArn,
          Protocol: 'HTTP',
          Port: port,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tgA }],
        }),
      )
    ).Listeners![0].ListenerArn!;
    base = `http://127.0.0.1:${port}`;
    await waitState(tgA, 'healthy');
  });
  after(async () => {
    elb.destroy();
    await server.stop();
    await a.close();
    await b.close();
  });

  test('conditions of every kind pick the rule; the default action takes the rest', async () => {
    const toB = [{ Type: 'forward' as const, TargetGroupArn: tgB }];
    const rules = [
      await rule(10, [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }], toB),
      await rule(
        20,
        [{ Field: 'host-header', HostHeaderConfig: { Values: ['*.example.com'] } }],
        toB,
      ),
      await rule(
        30,
        [
          {
            Field: 'http-header',
            HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['yes'] },
          },
        ],
        toB,
      ),
      await rule(
        40,
        [{ Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['PUT'] } }],
        toB,
      ),
      await rule(
        50,
        [{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }] } }],
        toB,
      ),
      await rule(60, [{ Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } }], toB),
    ];
    await waitState(tgB, 'healthy');
    assert.equal(backendOf(await get(`${base}/api/users`)), 'b');
    assert.equal(backendOf(await get(`${base}/apix`)), 'a');
    assert.equal(backendOf(await get(`${base}/`, { headers: { host: 'shop.EXAMPLE.com' } })), 'b');
    assert.equal(backendOf(await get(`${base}/`, { headers: { 'x-canary': 'YES' } })), 'b');
    assert.equal(backendOf(await get(`${base}/`, { method: 'PUT', body: 'x' })), 'b');
    // A chunked body (no Content-Length) reaches the target whole.
    const chunked = await new Promise<Echo>((resolve, reject) => {
      const req = request(`${base}/upload`, { method: 'POST', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Echo));
      });
      req.on('error', reject);
      req.write('first,');
      setImmediate(() => req.end('second'));
    });
    assert.equal(chunked.method, 'POST');
    assert.equal(chunked.body, 'first,second');
    assert.equal(backendOf(await get(`${base}/?v=2`)), 'b');
    assert.equal(backendOf(await get(`${base}/?v=3`)), 'a');
    // The request comes from 127.0.0.1, outside 10.0.0.0/8.
    assert.equal(backendOf(await get(`${base}/`)), 'a');

    const described = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    assert.deepEqual(
      described.Rules?.map((r) => r.Priority),
      ['10', '20', '30', '40', '50', '60', 'default'],
    );
    const last = described.Rules!.at(-1)!;
    assert.equal(last.IsDefault, true);
    assert.equal(last.Actions?.[0].TargetGroupArn, tgA);
    await assert.rejects(
      elb.send(new DeleteRuleCommand({ RuleArn: last.RuleArn })),
      OperationNotPermittedException,
    );
    await assert.rejects(
      rule(10, [{ Field: 'path-pattern', Values: ['/x'] }], toB),
      (err: Error) =>
        err instanceof PriorityInUseException &&
        /Priority '10' is currently in use/.test(err.message),
    );
    // Swapping priorities: /api/* now loses to a catch-all path rule placed first.
    const catchAll = await rule(
      70,
      [{ Field: 'path-pattern', Values: ['/*'] }],
      [
        {
          Type: 'fixed-response',
          FixedResponseConfig: {
            StatusCode: '418',
            ContentType: 'text/plain',
            MessageBody: 'teapot',
          },
        },
      ],
    );
    await elb.send(
      new SetRulePrioritiesCommand({
        RulePriorities: [
          { RuleArn: catchAll.RuleArn, Priority: 5 },
          { RuleArn: rules[0].RuleArn, Priority: 70 },
        ],
      }),
    );
    const teapot = await get(`${base}/api/users`);
    assert.equal(teapot.status, 418);
    assert.equal(teapot.body, 'teapot');
    assert.equal(teapot.headers.server, 'awselb/2.0');
    for (const r of [catchAll, ...rules])
      await elb.send(new DeleteRuleCommand({ RuleArn: r.RuleArn }));
  });

  test('redirects fill in #{host}, #{path} and #{query}; weighted forwards follow their weights', async () => {
    const r1 = await rule(
      1,
      [{ Field: 'path-pattern', Values: ['/old/*'] }],
      [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Path: '/new/#{path}', StatusCode: 'HTTP_301' },
        },
      ],
    );
    const moved = await get(`${base}/old/page?q=1`, { headers: { host: 'shop.example.com' } });
    assert.equal(moved.status, 301);
    assert.equal(
      moved.headers.location,
      `https://shop.example.com:${new URL(base).port}/new/old/page?q=1`,
    );

    const r2 = await rule(
      2,
      [{ Field: 'path-pattern', Values: ['/weighted'] }],
      [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: tgA, Weight: 0 },
              { TargetGroupArn: tgB, Weight: 100 },
            ],
          },
        },
      ],
    );
    // tg-b left use when the last test's rules went: its target starts over as `initial`.
    await waitState(tgB, 'healthy');
    for (let i = 0; i < 5; i++) assert.equal(backendOf(await get(`${base}/weighted`)), 'b');
    await elb.send(new DeleteRuleCommand({ RuleArn: r1.RuleArn }));
    await elb.send(new DeleteRuleCommand({ RuleArn: r2.RuleArn }));
  });

  test('502 when the target refuses, 503 with no target, 504 past the idle timeout', async () => {
    // Nothing listens on this port: its checks fail, and with no healthy target the group
    // fails open to it, so the request is tried and refused.
    const dead = await group('dead', [{ Id: '127.0.0.1', Port: await freePort() }]);
    const empty = await group('empty', []);
    const r1 = await rule(
      1,
      [{ Field: 'path-pattern', Values: ['/dead'] }],
      [{ Type: 'forward', TargetGroupArn: dead }],
    );
    const r2 = await rule(
      2,
      [{ Field: 'path-pattern', Values: ['/empty'] }],
      [{ Type: 'forward', TargetGroupArn: empty }],
    );
    const [unhealthy] = await waitState(dead, 'unhealthy');
    assert.equal(unhealthy.TargetHealth?.Reason, 'Target.FailedHealthChecks');
    const refused = await get(`${base}/dead`);
    assert.equal(refused.status, 502);
    assert.match(refused.body, /<title>502 Bad Gateway<\/title>/);
    assert.equal(refused.headers.server, 'awselb/2.0');
    assert.equal((await get(`${base}/empty`)).status, 503);
    // A request the parser refuses: ALB's 400 page.
    const malformed = await new Promise<string>((resolve, reject) => {
      const c = connect(Number(new URL(base).port), '127.0.0.1', () =>
        c.write('NOT HTTP AT ALL\r\n\r\n'),
      );
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('close', () => resolve(got));
      c.on('error', reject);
    });
    assert.match(malformed, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(malformed, /Server: awselb\/2\.0/);

    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lbArn,
        Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '1' }],
      }),
    );
    const timedOut = await get(`${base}/hang`);
    assert.equal(timedOut.status, 504);
    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lbArn,
        Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '60' }],
      }),
    );
    await elb.send(new DeleteRuleCommand({ RuleArn: r1.RuleArn }));
    await elb.send(new DeleteRuleCommand({ RuleArn: r2.RuleArn }));
  });

  test('a deregistered target drains: its request in flight completes, then it is gone', async () => {
    const c = await startBackend('c');
    try {
      const tg = await group('drain', [{ Id: '127.0.0.1', Port: c.port }]);
      await elb.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: tg,
          Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
        }),
      );
      const r = await rule(
        1,
        [{ Field: 'path-pattern', Values: ['/slow'] }],
        [{ Type: 'forward', TargetGroupArn: tg }],
      );
      await waitState(tg, 'healthy');
      const inFlight = get(`${base}/slow?ms=1500`);
      await eventually('request reached the target', async () => (c.hits > 0 ? true : undefined));
      await elb.send(
        new DeregisterTargetsCommand({
          TargetGroupArn: tg,
          Targets: [{ Id: '127.0.0.1', Port: c.port }],
        }),
      );
      const [draining] = await health(tg);
      assert.equal(draining.TargetHealth?.State, 'draining');
      assert.equal(draining.TargetHealth?.Reason, 'Target.DeregistrationInProgress');
      // New requests find no target; the one in flight still completes.
      assert.equal((await get(`${base}/slow?ms=0`)).status, 503);
      const done = await inFlight;
      assert.equal(done.status, 200);
      assert.equal(backendOf(done), 'c');
      await eventually('drained', async () => ((await health(tg)).length === 0 ? true : undefined));
      await elb.send(new DeleteRuleCommand({ RuleArn: r.RuleArn }));
    } finally {
      await c.close();
    }
  });

  test('a Lambda target gets the ALB event and its answer becomes the response', async () => {
    const lambda = new LambdaClient(clientConfig(server.endpoint));
    const iam = new IAMClient(clientConfig(server.endpoint));
    try {
      const role = await createRole(iam, 'alb-fn-role');
      const fn = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'alb-fn',
          Timeout: 30, // not the 3 s default: CI load must not time a test function out
          Runtime: 'nodejs20.x',
          Role: role,
          Handler: 'index.handler',
          Code: {
            ZipFile: nodeZip(`exports.handler = async (event) => ({
              statusCode: 201,
              statusDescription: '201 Created',
              headers: { 'content-type': 'application/json', 'x-from': 'lambda' },
              isBase64Encoded: false,
              body: JSON.stringify(event),
            });`),
          },
        }),
      );
      const tg = (
        await elb.send(new CreateTargetGroupCommand({ Name: 'fn', TargetType: 'lambda' }))
      ).TargetGroups![0];
      assert.equal(tg.HealthCheckEnabled, false);
      await elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: tg.TargetGroupArn,
          Targets: [{ Id: fn.FunctionArn! }],
        }),
      );
      const r = await rule(
        1,
        [{ Field: 'path-pattern', Values: ['/fn/*'] }],
        [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
      );
      const [desc] = await health(tg.TargetGroupArn!);
      assert.equal(desc.TargetHealth?.State, 'unavailable');
      assert.equal(desc.TargetHealth?.Reason, 'Target.HealthCheckDisabled');

      const res = await get(`${base}/fn/items?color=red%20blue`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers['x-from'], 'lambda');
      const event = JSON.parse(res.body) as Record<string, unknown>;
      assert.deepEqual(event.requestContext, { elb: { targetGroupArn: tg.TargetGroupArn } });
      assert.equal(event.httpMethod, 'POST');
      assert.equal(event.path, '/fn/items');
      assert.deepEqual(event.queryStringParameters, { color: 'red%20blue' });
      assert.equal(event.body, 'hello');
      assert.equal(event.isBase64Encoded, false);
      const headers = event.headers as Record<string, string>;
      assert.equal(headers['x-forwarded-proto'], 'http');
      assert.match(headers['x-amzn-trace-id'], /^Root=1-/);
      // Health checks on: the function gets a GET of the check path and answers 201.
      await elb.send(
        new ModifyTargetGroupCommand({
          TargetGroupArn: tg.TargetGroupArn,
          HealthCheckEnabled: true,
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          Matcher: { HttpCode: '201' },
        }),
      );
      await waitState(tg.TargetGroupArn!, 'healthy');
      await elb.send(new DeleteRuleCommand({ RuleArn: r.RuleArn }));
    } finally {
      lambda.destroy();
      iam.destroy();
    }
  });

  test('an Upgrade request (WebSockets) is switched through to a target and carries bytes both ways', async () => {
    const { status, headers, echoed } = await new Promise<{
      status: number;
      headers: Record<string, string | string[] | undefined>;
      echoed: string;
    }>((resolve, reject) => {
      const req = request(`${base}/socket`, {
        headers: { connection: 'Upgrade', upgrade: 'echo' },
        agent: false,
      });
      req.on('upgrade', (res, socket) => {
        let got = '';
        socket.on('data', (d: Buffer) => {
          got += d.toString();
          if (got === 'hello both ways') {
            socket.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, echoed: got });
          }
        });
        socket.write('hello both ways');
      });
      req.on('response', (res) => reject(new Error(`not switched: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 101);
    assert.equal(headers['x-backend'], 'a');
    assert.equal(headers['x-seen-forwarded-for'], '127.0.0.1');
    assert.equal(echoed, 'hello both ways');
  });

  test('lb_cookie stickiness and least outstanding requests choose the target', async () => {
    const both = [
      { Id: '127.0.0.1', Port: a.port },
      { Id: '127.0.0.1', Port: b.port },
    ];
    const sticky = await group('sticky', both);
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: sticky,
        Attributes: [
          { Key: 'stickiness.enabled', Value: 'true' },
          { Key: 'stickiness.type', Value: 'lb_cookie' },
        ],
      }),
    );
    const r1 = await rule(
      1,
      [{ Field: 'path-pattern', Values: ['/sticky'] }],
      [{ Type: 'forward', TargetGroupArn: sticky }],
    );
    await waitState(sticky, 'healthy');
    const first = await get(`${base}/sticky`);
    const setCookie = first.headers['set-cookie'] as string[];
    assert.match(setCookie[0], /^AWSALB=[^;]+; Expires=.+; Path=\/$/);
    assert.match(setCookie[1], /^AWSALBCORS=.+; SameSite=None; Secure$/);
    const cookie = setCookie[0].split(';')[0];
    for (let i = 0; i < 4; i++) {
      assert.equal(
        backendOf(await get(`${base}/sticky`, { headers: { cookie } })),
        backendOf(first),
      );
    }

    const lor = await group('least', both);
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: lor,
        Attributes: [{ Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' }],
      }),
    );
    const r2 = await rule(
      2,
      [{ Field: 'path-pattern', Values: ['/slow'] }],
      [{ Type: 'forward', TargetGroupArn: lor }],
    );
    await waitState(lor, 'healthy');
    const before = { a: a.hits, b: b.hits };
    const busy = get(`${base}/slow?ms=1500`);
    await eventually('the slow request arrived', async () =>
      a.hits + b.hits > before.a + before.b ? true : undefined,
    );
    const busyOne = a.hits > before.a ? 'a' : 'b';
    // While one target holds a request, the other takes every new one.
    for (let i = 0; i < 3; i++) {
      assert.notEqual(backendOf(await get(`${base}/slow?ms=0`)), busyOne);
    }
    assert.equal(backendOf(await busy), busyOne);
    await elb.send(new DeleteRuleCommand({ RuleArn: r1.RuleArn }));
    await elb.send(new DeleteRuleCommand({ RuleArn: r2.RuleArn }));
  });

  test('tags and paging', async () => {
    await elb.send(
      new AddTagsCommand({
        ResourceArns: [lbArn, tgA],
        Tags: [
          { Key: 'team', Value: 'web' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    );
    await elb.send(new RemoveTagsCommand({ ResourceArns: [lbArn], TagKeys: ['env'] }));
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: [lbArn, tgA] }));
    assert.deepEqual(tags.TagDescriptions?.[0].Tags, [{ Key: 'team', Value: 'web' }]);
    assert.equal(tags.TagDescriptions?.[1].Tags?.length, 2);

    for (const name of ['page-1', 'page-2', 'page-3'])
      await elb.send(new CreateLoadBalancerCommand({ Name: name }));
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeLoadBalancers({ client: elb }, { PageSize: 2 })) {
      pages++;
      for (const lb of page.LoadBalancers ?? []) names.push(lb.LoadBalancerName!);
    }
    assert.deepEqual(names.sort(), ['page-1', 'page-2', 'page-3', 'routes']);
    assert.equal(pages, 2);
  });
});
