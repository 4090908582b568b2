/**
 * Elastic Load Balancing v2 through the SDK v3: load balancers, target groups, targets and
 * their health checked against real HTTP servers, listeners on real sockets, and traffic
 * carried through them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  DuplicateLoadBalancerNameException,
  ElasticLoadBalancingV2Client,
  InvalidTargetException,
  ModifyListenerCommand,
  LoadBalancerNotFoundException,
  RegisterTargetsCommand,
  ResourceInUseException,
  TargetGroupNotFoundException,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { eventually } from './helpers/lambda.js';
import { type Backend, type Echo, freePort, startBackend } from './helpers/backends.js';
import { httpTargetGroup } from './helpers/elbv2.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

describe('ELBv2: load balancers, target groups, health and traffic', () => {
  let server: TestServer;
  let elb: ElasticLoadBalancingV2Client;
  let a: Backend;
  let b: Backend;

  before(async () => {
    server = await startTestServer();
    elb = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
    a = await startBackend('a');
    b = await startBackend('b');
  });
  after(async () => {
    elb.destroy();
    await server.stop();
    await a.close();
    await b.close();
  });

  const states = async (tgArn: string): Promise<Record<string, TargetHealthDescription>> => {
    const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
    return Object.fromEntries(
      (out.TargetHealthDescriptions ?? []).map((d) => [String(d.Target?.Port), d]),
    );
  };

  async function webStack(name: string, port: number) {
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: name }))).LoadBalancers![0];
    const tg = await httpTargetGroup(elb, `${name}-tg`);
    return { lb, tg, port };
  }

  test('create, describe, idempotency and AWS errors for load balancers', async () => {
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'api-lb' })))
      .LoadBalancers![0];
    assert.match(
      lb.LoadBalancerArn!,
      /^arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer\/app\/api-lb\/[0-9a-f]{16}$/,
    );
    assert.match(lb.DNSName!, /^api-lb-\d+\.us-east-1\.elb\.localhost$/);
    assert.equal(lb.State?.Code, 'active');
    assert.equal(lb.Type, 'application');
    assert.equal(lb.AvailabilityZones?.length, 2);
    // "If you attempt to create multiple load balancers with the same settings, each call succeeds."
    const again = (await elb.send(new CreateLoadBalancerCommand({ Name: 'api-lb' })))
      .LoadBalancers![0];
    assert.equal(again.LoadBalancerArn, lb.LoadBalancerArn);
    await assert.rejects(
      elb.send(new CreateLoadBalancerCommand({ Name: 'api-lb', Scheme: 'internal' })),
      DuplicateLoadBalancerNameException,
    );
    await assert.rejects(
      elb.send(new CreateLoadBalancerCommand({ Name: 'bad_name' })),
      (err: Error) => {
        assert.equal(err.name, 'ValidationError');
        assert.match(err.message, /alphanumeric characters or hyphens/);
        return true;
      },
    );
    const byName = await elb.send(new DescribeLoadBalancersCommand({ Names: ['api-lb'] }));
    assert.equal(byName.LoadBalancers?.[0].LoadBalancerArn, lb.LoadBalancerArn);
    await assert.rejects(
      elb.send(new DescribeLoadBalancersCommand({ Names: ['nope'] })),
      LoadBalancerNotFoundException,
    );
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    // Deleting again succeeds, as AWS documents.
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  });

  test('targets of an unused group are unused; a listener starts health checks; traffic is round robin', async () => {
    const port = await freePort();
    const { lb, tg } = await webStack('web', port);
    assert.equal(tg.HealthCheckPath, '/health');
    assert.deepEqual(tg.LoadBalancerArns, []);
    await elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: tg.TargetGroupArn,
        Targets: [
          { Id: '127.0.0.1', Port: a.port },
          { Id: '127.0.0.1', Port: b.port },
        ],
      }),
    );
    const before = await states(tg.TargetGroupArn!);
    assert.equal(before[a.port].TargetHealth?.State, 'unused');
    assert.equal(before[a.port].TargetHealth?.Reason, 'Target.NotInUse');

    const listener = (
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Protocol: 'HTTP',
          Port: port,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      )
    ).Listeners![0];
    const attrs = await elb.send(
      new DescribeListenerAttributesCommand({ ListenerArn: listener.ListenerArn }),
    );
    let local = attrs.Attributes?.find((x) => x.Key === 'stratus.local_address')?.Value;
    assert.equal(local, `127.0.0.1:${port}`, 'the listener got its own port');
    const described = await elb.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn!] }),
    );
    assert.deepEqual(described.TargetGroups?.[0].LoadBalancerArns, [lb.LoadBalancerArn]);

    await eventually('both targets healthy', async () => {
      const s = await states(tg.TargetGroupArn!);
      return s[a.port].TargetHealth?.State === 'healthy' &&
        s[b.port].TargetHealth?.State === 'healthy'
        ? true
        : undefined;
    });

    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://${local}/hello?x=1`, {
        headers: { 'x-forwarded-for': '10.0.0.9' },
      });
      assert.equal(res.status, 200);
      const echo = (await res.json()) as Echo;
      seen.push(echo.backend);
      assert.equal(echo.url, '/hello?x=1');
      assert.equal(echo.headers['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
      assert.equal(echo.headers['x-forwarded-proto'], 'http');
      assert.equal(echo.headers['x-forwarded-port'], String(port));
      assert.match(String(echo.headers['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    }
    assert.deepEqual([...seen].sort(), ['a', 'a', 'b', 'b'], 'round robin over both targets');

    // Through Stratus's own port too: the path form.
    const viaGateway = await fetch(`${server.endpoint}/_stratus/elb/web/via/gateway`);
    assert.equal(viaGateway.status, 200);
    assert.equal(((await viaGateway.json()) as Echo).url, '/via/gateway');

    // A failing target turns unhealthy after two failed checks and leaves the rotation.
    b.healthStatus = 500;
    await eventually('b unhealthy', async () => {
      const s = await states(tg.TargetGroupArn!);
      return s[b.port].TargetHealth?.State === 'unhealthy' ? s[b.port] : undefined;
    }).then((d) => {
      assert.equal(d.TargetHealth?.Reason, 'Target.ResponseCodeMismatch');
      assert.equal(d.TargetHealth?.Description, 'Health checks failed with these codes: [500]');
    });
    for (let i = 0; i < 3; i++) {
      const echo = (await (await fetch(`http://${local}/`)).json()) as Echo;
      assert.equal(echo.backend, 'a');
    }
    b.healthStatus = 200;

    // The group is in use: it cannot be deleted.
    await assert.rejects(
      elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn })),
      ResourceInUseException,
    );
    // Deregistration with no requests in flight completes at once.
    await elb.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: tg.TargetGroupArn,
        Targets: [{ Id: '127.0.0.1', Port: a.port }],
      }),
    );
    const after = await states(tg.TargetGroupArn!);
    assert.equal(after[a.port], undefined);
    await assert.rejects(
      elb.send(
        new DeregisterTargetsCommand({
          TargetGroupArn: tg.TargetGroupArn,
          Targets: [{ Id: '127.0.0.1', Port: a.port }],
        }),
      ),
      InvalidTargetException,
    );

    // The listener moves with ModifyListener: its socket follows.
    const moved = await freePort();
    await elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Port: moved }));
    assert.equal(((await (await fetch(`http://127.0.0.1:${moved}/`)).json()) as Echo).backend, 'b');
    await assert.rejects(fetch(`http://${local}/`));
    local = `127.0.0.1:${moved}`;

    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    await assert.rejects(fetch(`http://${local}/`));
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
    await assert.rejects(
      elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn!] })),
      TargetGroupNotFoundException,
    );
  });

  test('a Network Load Balancer splices TCP connections to its targets', async () => {
    const echo = createTcpServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const nlb = (
        await elb.send(new CreateLoadBalancerCommand({ Name: 'tcp-lb', Type: 'network' }))
      ).LoadBalancers![0];
      assert.equal(nlb.Type, 'network');
      assert.match(nlb.LoadBalancerArn!, /:loadbalancer\/net\/tcp-lb\//);
      const tg = (
        await elb.send(
          new CreateTargetGroupCommand({
            Name: 'tcp-tg',
            Protocol: 'TCP',
            Port: (echo.address() as AddressInfo).port,
            VpcId: 'vpc-1',
            TargetType: 'ip',
          }),
        )
      ).TargetGroups![0];
      assert.equal(tg.HealthCheckProtocol, 'TCP');
      await elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: tg.TargetGroupArn,
          Targets: [{ Id: '127.0.0.1' }],
        }),
      );
      const port = await freePort();
      await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: nlb.LoadBalancerArn,
          Protocol: 'TCP',
          Port: port,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      );
      await eventually('TCP target healthy', async () => {
        const s = await states(tg.TargetGroupArn!);
        return Object.values(s)[0]?.TargetHealth?.State === 'healthy' ? true : undefined;
      });
      const answer = await new Promise<string>((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => c.end('ping over tcp'));
        let got = '';
        c.on('data', (d: Buffer) => (got += d.toString()));
        c.on('close', () => resolve(got));
        c.on('error', reject);
      });
      assert.equal(answer, 'ping over tcp');
      await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: nlb.LoadBalancerArn }));
    } finally {
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});
