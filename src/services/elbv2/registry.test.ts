/**
 * The `loadBalancing` link as ECS uses it, against a real (in-memory) SQLite store and a
 * real HTTP target: what registration through the link does is what the API shows, and
 * the other way round.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rootPrincipal } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { createLogger } from '../../shared/log.js';
import { SqliteMetadataStore } from '../../storage/sqlite-store.js';
import { createElbv2, type Elbv2Core } from './plugin.js';

const ctx: RequestContext = {
  requestId: 'r',
  account: '000000000000',
  region: 'us-east-1',
  accessKeyId: 'test',
  principal: rootPrincipal('000000000000'),
};

let store: SqliteMetadataStore;
let core: Elbv2Core;
let target: Server;
let port: number;

before(async () => {
  store = new SqliteMetadataStore(':memory:');
  core = createElbv2(store, '127.0.0.1', createLogger('error'));
  target = createServer((_, res) => res.end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  port = (target.address() as AddressInfo).port;
});
after(async () => {
  await core.engine.stop();
  await new Promise<void>((resolve) => target.close(() => resolve()));
  await store.close();
});

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    const got = await probe();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

test('targets registered through the link are the API’s targets, health-checked and drained', async () => {
  const ops = core.operations;
  const lb = (await ops.CreateLoadBalancer({ Name: 'svc' }, ctx)).LoadBalancers![0];
  const tg = (
    await ops.CreateTargetGroup(
      {
        Name: 'svc',
        Protocol: 'HTTP',
        Port: 80,
        VpcId: 'vpc-1',
        TargetType: 'ip',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
      },
      ctx,
    )
  ).TargetGroups![0];
  const arn = tg.TargetGroupArn!;
  assert.equal(await core.registry.targetGroup(`${arn}0`), undefined);
  let info = await core.registry.targetGroup(arn);
  assert.deepEqual(info?.loadBalancerArns, [], 'ECS refuses a group no load balancer uses');
  assert.equal(info?.deregistrationDelaySeconds, 300);
  assert.equal(info?.targetType, 'ip');

  await ops.CreateListener(
    {
      LoadBalancerArn: lb.LoadBalancerArn!,
      Protocol: 'HTTP',
      Port: 0,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: arn }],
    },
    ctx,
  );
  info = await core.registry.targetGroup(arn);
  assert.deepEqual(info?.loadBalancerArns, [lb.LoadBalancerArn]);

  await core.registry.register(arn, [{ id: '127.0.0.1', port }]);
  const healthy = await until(async () => {
    const [t] = await core.registry.health(arn);
    return t?.state === 'healthy' ? t : undefined;
  });
  assert.deepEqual(healthy.target, { id: '127.0.0.1', port });
  const api = await ops.DescribeTargetHealth({ TargetGroupArn: arn }, ctx);
  assert.equal(api.TargetHealthDescriptions?.[0].TargetHealth?.State, 'healthy');

  // Nothing in flight: deregistration through the link resolves without the 300 s delay.
  await core.registry.deregister(arn, [{ id: '127.0.0.1', port }]);
  assert.deepEqual(await core.registry.health(arn), []);
});
