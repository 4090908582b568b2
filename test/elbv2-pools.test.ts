/**
 * The ALB's keep-alive connections to its targets, through the SDK v3 and plain HTTP: a
 * target that no load balancer routes to any more (DeregisterTargets, its load balancer
 * deleted) sees its connection from the load balancer end, instead of the pool and its
 * sockets staying for the life of the server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { freePort } from './helpers/backends.js';
import { eventually } from './helpers/wait.js';
import { httpTargetGroup } from './helpers/elbv2.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

/** A target that keeps idle connections open and remembers those that carried requests. */
interface KeepAliveTarget {
  port: number;
  /** Sockets a proxied (non-health-check) request came in on. */
  proxied: Set<Socket>;
  /** Those of them that have closed. */
  closed: Set<Socket>;
  close(): Promise<void>;
}

async function keepAliveTarget(): Promise<KeepAliveTarget> {
  const sockets = new Set<Socket>();
  const proxied = new Set<Socket>();
  const closed = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url !== '/health' && !proxied.has(req.socket)) {
      const s = req.socket;
      proxied.add(s);
      s.once('close', () => closed.add(s));
    }
    res.end('ok');
  });
  // The target never ends an idle connection itself (Node's default is 5 s): whatever
  // ends it here is the load balancer. undici's own idle timeout is 60 s.
  server.keepAliveTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    proxied,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ELBv2: keep-alive connections to a target end when it leaves', () => {
  let server: TestServer;
  let elb: ElasticLoadBalancingV2Client;
  const targets: KeepAliveTarget[] = [];

  /** A load balancer with an HTTP listener forwarding to one group of `target`: its URL. */
  async function balanced(name: string, target: KeepAliveTarget) {
    const lbArn = (await elb.send(new CreateLoadBalancerCommand({ Name: name }))).LoadBalancers![0]
      .LoadBalancerArn!;
    const targetRef = { Id: '127.0.0.1', Port: target.port };
    const tgArn = (await httpTargetGroup(elb, `${name}-tg`, [targetRef])).TargetGroupArn!;
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tgArn,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '0' }],
      }),
    );
    const port = await freePort();
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lbArn,
        Protocol: 'HTTP',
        Port: port,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
      }),
    );
    await eventually('the target healthy', async () => {
      const d = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn })))
        .TargetHealthDescriptions;
      return d?.[0]?.TargetHealth?.State === 'healthy' ? true : undefined;
    });
    return { lbArn, tgArn, targetRef, url: `http://127.0.0.1:${port}/` };
  }

  /** Two requests through the listener reach the target on one kept-alive connection. */
  async function connectionKept(url: string, target: KeepAliveTarget): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const answer = await get(url);
      assert.equal(answer.status, 200);
      assert.equal(answer.body, 'ok');
    }
    assert.equal(target.proxied.size, 1, 'both requests came on one connection');
    assert.equal(target.closed.size, 0, 'the connection is still open');
  }

  before(async () => {
    server = await startTestServer();
    elb = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
  });
  after(async () => {
    elb.destroy();
    await server.stop();
    for (const t of targets) await t.close();
  });

  test('DeregisterTargets closes the connection to the old target', async () => {
    const target = await keepAliveTarget();
    targets.push(target);
    const { tgArn, targetRef, url } = await balanced('pools-dereg', target);
    await connectionKept(url, target);
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [targetRef] }));
    // Well before undici's own 60 s idle timeout would end it.
    await eventually(
      'the connection to the deregistered target closed',
      async () => (target.closed.size === 1 ? true : undefined),
      30_000,
    );
    assert.equal((await get(url)).status, 503, 'nothing left to route to');
    assert.equal(target.proxied.size, 1, 'no new connection to the old target');
  });

  test('DeleteLoadBalancer closes the connection to a target still registered', async () => {
    const target = await keepAliveTarget();
    targets.push(target);
    const { lbArn, url } = await balanced('pools-delete', target);
    await connectionKept(url, target);
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
    await eventually(
      'the connection from the deleted load balancer closed',
      async () => (target.closed.size === 1 ? true : undefined),
      30_000,
    );
  });
});
