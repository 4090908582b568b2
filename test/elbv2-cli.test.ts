/**
 * ELBv2 through the AWS CLI v2 and curl: a load balancer built with `aws elbv2`, its
 * listener answering on a real port, the CLI's waiter for healthy targets, a listener
 * whose port is taken getting another one, and the AWS errors the CLI prints.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { awsCli, curl } from './helpers/clients.js';
import { type Backend, type Echo, startBackend } from './helpers/backends.js';
import {
  DescribeListenerAttributesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

describe('ELBv2 with the AWS CLI and curl', () => {
  let server: TestServer;
  let backend: Backend;
  let squatter: Server;
  let takenPort: number;

  const elbv2 = async (...args: string[]) => {
    const r = await awsCli(server.endpoint, ['elbv2', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, never>);
  };

  before(async () => {
    server = await startTestServer();
    backend = await startBackend('cli');
    // A port some other program holds: the listener that asks for it gets another.
    squatter = createServer((_, res) => res.end('not the load balancer'));
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    takenPort = (squatter.address() as AddressInfo).port;
  });
  after(async () => {
    await server.stop();
    await backend.close();
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  });

  test('create, register, wait for healthy targets, curl through the listener', async () => {
    const lb = (
      await elbv2('create-load-balancer', '--name', 'cli-lb', '--subnets', 'subnet-1', 'subnet-2')
    ).LoadBalancers as { LoadBalancerArn: string; DNSName: string }[];
    const lbArn = lb[0].LoadBalancerArn;
    const tg = (
      await elbv2(
        'create-target-group',
        '--name',
        'cli-tg',
        '--protocol',
        'HTTP',
        '--port',
        '80',
        '--vpc-id',
        'vpc-1',
        '--target-type',
        'ip',
        '--health-check-path',
        '/health',
        '--health-check-interval-seconds',
        '5',
        '--health-check-timeout-seconds',
        '2',
        '--matcher',
        'HttpCode=200-299',
      )
    ).TargetGroups as { TargetGroupArn: string; Matcher: { HttpCode: string } }[];
    assert.equal(tg[0].Matcher.HttpCode, '200-299');
    const tgArn = tg[0].TargetGroupArn;
    await elbv2(
      'register-targets',
      '--target-group-arn',
      tgArn,
      '--targets',
      `Id=127.0.0.1,Port=${backend.port}`,
    );
    const listener = (
      await elbv2(
        'create-listener',
        '--load-balancer-arn',
        lbArn,
        '--protocol',
        'HTTP',
        '--port',
        String(takenPort),
        '--default-actions',
        `Type=forward,TargetGroupArn=${tgArn}`,
      )
    ).Listeners as { ListenerArn: string; Port: number }[];
    // DescribeListeners keeps the port asked for; the socket is elsewhere.
    assert.equal(listener[0].Port, takenPort);
    // (Debian's awscli 2.9 predates DescribeListenerAttributes: the SDK asks.)
    const sdk = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
    const attrs = await sdk.send(
      new DescribeListenerAttributesCommand({ ListenerArn: listener[0].ListenerArn }),
    );
    sdk.destroy();
    const local = attrs.Attributes!.find((a) => a.Key === 'stratus.local_address')!.Value!;
    assert.match(local, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(local, `127.0.0.1:${takenPort}`);

    await elbv2('wait', 'target-in-service', '--target-group-arn', tgArn);
    const health = (await elbv2('describe-target-health', '--target-group-arn', tgArn))
      .TargetHealthDescriptions as { TargetHealth: { State: string }; HealthCheckPort: string }[];
    assert.equal(health[0].TargetHealth.State, 'healthy');
    assert.equal(health[0].HealthCheckPort, String(backend.port));

    const viaSocket = await curl([`http://${local}/from/curl`]);
    assert.equal(viaSocket.status, 200);
    assert.equal((JSON.parse(viaSocket.body) as Echo).url, '/from/curl');
    // The DNS name through Stratus's own port: curl resolves *.localhost to loopback.
    const viaDns = await curl([`http://${lb[0].DNSName}:${server.port}/by/name`]);
    assert.equal(viaDns.status, 200);
    const echo = JSON.parse(viaDns.body) as Echo;
    assert.equal(echo.url, '/by/name');
    assert.equal(echo.headers['x-forwarded-port'], String(takenPort));
  });

  test('AWS errors as the CLI shows them', async () => {
    const missing = await awsCli(server.endpoint, [
      'elbv2',
      'describe-target-groups',
      '--names',
      'nope',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /TargetGroupNotFound/);
    const badHealth = await awsCli(server.endpoint, [
      'elbv2',
      'create-target-group',
      '--name',
      'bad',
      '--protocol',
      'HTTP',
      '--port',
      '80',
      '--vpc-id',
      'vpc-1',
      '--health-check-interval-seconds',
      '5',
      '--health-check-timeout-seconds',
      '10',
    ]);
    assert.notEqual(badHealth.code, 0);
    assert.match(badHealth.stderr, /ValidationError/);
    assert.match(badHealth.stderr, /Health check interval must be greater than the timeout\./);
  });
});
