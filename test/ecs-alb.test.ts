/**
 * The containerised web service (issue 10's "done when"): a busybox httpd image in ECR, a
 * Fargate task definition, a service with desiredCount 3 behind an Application Load
 * Balancer. Requests through the listener reach all three tasks (each answers with its
 * own hostname); a task whose container is killed with SIGKILL is replaced and the load
 * balancer stops routing to it; a new task definition rolls under a bounded load (a fixed
 * number of requests) without one failed request. SDK v3 clients for ECS and ELBv2, Node's
 * fetch for the traffic. Skipped where runc or the image tools are missing.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { freePort } from './helpers/backends.js';
import { pushBusybox, type PushedBusybox } from './helpers/busybox-ecr.js';
import { imageToolsMissing } from './helpers/oci-image.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const skip = runcSkipReason() ?? imageToolsMissing();

describe('ECS service behind an ALB', { skip }, () => {
  let server: TestServer;
  let ecs: ECSClient;
  let elb: ElasticLoadBalancingV2Client;
  let image: PushedBusybox;
  let url: string;
  let targetGroupArn: string;

  before(async () => {
    server = await startTestServer({ driver: 'runc' });
    ecs = new ECSClient(clientConfig(server.endpoint));
    elb = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
    image = await pushBusybox(server.endpoint, 'ecs/httpd');
    await ecs.send(new CreateClusterCommand({}));
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'web' }))).LoadBalancers![0]!;
    const tg = (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: 'web-tg',
          Protocol: 'HTTP',
          Port: 80,
          VpcId: 'vpc-12345678',
          TargetType: 'ip',
          HealthCheckPath: '/',
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 2,
        }),
      )
    ).TargetGroups![0]!;
    targetGroupArn = tg.TargetGroupArn!;
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: targetGroupArn,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '1' }],
      }),
    );
    const port = await freePort();
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: 'HTTP',
        Port: port,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
      }),
    );
    url = `http://127.0.0.1:${port}/`;
  });

  after(async () => {
    ecs?.destroy();
    elb?.destroy();
    await server?.stop();
  });

  async function definition(version: string): Promise<string> {
    const out = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        containerDefinitions: [
          {
            name: 'web',
            image: image.reference,
            portMappings: [{ containerPort: 80 }],
            stopTimeout: 2,
            command: [
              `/bin/busybox mkdir -p /www && echo "${version} $(/bin/busybox hostname)" > /www/index.html && exec /bin/busybox httpd -f -p 80 -h /www`,
            ],
          },
        ],
      }),
    );
    return out.taskDefinition!.taskDefinitionArn!;
  }

  const service = (): Promise<Service> =>
    ecs.send(new DescribeServicesCommand({ services: ['web'] })).then((o) => o.services![0]!);

  async function steady(taskDefinition: string): Promise<Service> {
    for (;;) {
      const s = await service();
      const d = s.deployments ?? [];
      if (
        d.length === 1 &&
        d[0]!.taskDefinition === taskDefinition &&
        d[0]!.rolloutState === 'COMPLETED' &&
        s.runningCount === s.desiredCount
      )
        return s;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Waits until the target group has `n` targets, all healthy. */
  async function healthyTargets(n: number): Promise<void> {
    for (;;) {
      const out = await elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
      );
      const d = out.TargetHealthDescriptions ?? [];
      if (d.length === n && d.every((x) => x.TargetHealth?.State === 'healthy')) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function get(): Promise<{ status: number; body: string }> {
    const res = await fetch(url);
    return { status: res.status, body: (await res.text()).trim() };
  }

  /** The distinct answers of `n` requests (each must be a 200). */
  async function answers(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await get();
      assert.equal(r.status, 200, r.body);
      seen.add(r.body);
    }
    return seen;
  }

  test('three tasks answer through the listener; a killed one is replaced and no longer routed to; a new definition rolls with zero failed requests', async () => {
    const v1 = await definition('v1');
    await ecs.send(
      new CreateServiceCommand({
        serviceName: 'web',
        taskDefinition: v1,
        desiredCount: 3,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-12345678'] } },
        loadBalancers: [{ targetGroupArn, containerName: 'web', containerPort: 80 }],
      }),
    );
    await steady(v1);
    const health = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
    );
    assert.equal(health.TargetHealthDescriptions!.length, 3);
    assert.ok(health.TargetHealthDescriptions!.every((d) => d.TargetHealth?.State === 'healthy'));
    const first = await answers(30);
    assert.equal(first.size, 3, `three tasks answer: ${[...first].join(' ')}`);
    for (const a of first) assert.match(a, /^v1 /);

    // kill -9 of one task's container.
    const arns = (await ecs.send(new ListTasksCommand({ serviceName: 'web' }))).taskArns!;
    const victim = (await ecs.send(new DescribeTasksCommand({ tasks: [arns[0]!] }))).tasks![0]!;
    const runtimeId = victim.containers![0]!.runtimeId!;
    const victimHost = runtimeId.slice(-12);
    process.kill(containerPid(runtimeId), 'SIGKILL');
    for (;;) {
      const t = (await ecs.send(new DescribeTasksCommand({ tasks: [victim.taskArn!] }))).tasks![0]!;
      if (t.lastStatus === 'STOPPED') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const replaced = await steady(v1);
    assert.ok(
      replaced.events!.some((e) => /has started 1 tasks/.test(e.message ?? '')),
      'the service started a replacement',
    );
    // The replacement is RUNNING; the listener routes to it once its target is healthy.
    await healthyTargets(3);
    const afterKill = await answers(30);
    assert.equal(afterKill.size, 3);
    assert.ok(
      ![...afterKill].some((a) => a.endsWith(victimHost)),
      'the killed task is not routed to',
    );

    // Roll to v2 under a fixed number of sequential requests: none may fail.
    const v2 = await definition('v2');
    await ecs.send(new UpdateServiceCommand({ service: 'web', taskDefinition: v2 }));
    let failed = 0;
    let sent = 0;
    const bodies = new Set<string>();
    let rolled = false;
    const done = steady(v2).then(() => (rolled = true));
    while (!rolled && sent < 5000) {
      const r = await get().catch((err: unknown) => ({ status: 0, body: String(err) }));
      sent++;
      if (r.status !== 200) failed++;
      else bodies.add(r.body.split(' ')[0]!);
      await new Promise((r) => setTimeout(r, 20));
    }
    await done;
    assert.equal(failed, 0, `${failed} of ${sent} requests failed during the roll`);
    assert.ok(bodies.has('v2'));
    const final = await answers(30);
    assert.equal(final.size, 3);
    for (const a of final) assert.match(a, /^v2 /);
  });
});

/** The pid of a runc container of this process's (ephemeral) test server. */
function containerPid(id: string): number {
  const prefix = `stratus-containers-${process.pid}-`;
  for (const dir of readdirSync(tmpdir()).filter((d) => d.startsWith(prefix))) {
    try {
      return Number(readFileSync(join(tmpdir(), dir, 'runc-driver', id, 'pid'), 'utf8'));
    } catch {
      // another server's directory
    }
  }
  throw new Error(`no pid file for ${id}`);
}
