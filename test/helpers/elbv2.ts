/**
 * ELBv2 set-up the load balancer tests share: an HTTP target group of `ip` targets whose
 * health checks (GET /health every 5 s, 2 s timeout, 2 to turn healthy or unhealthy)
 * settle within seconds, with its targets registered.
 */
import {
  CreateTargetGroupCommand,
  type CreateTargetGroupCommandInput,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export async function httpTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  name: string,
  targets: { Id: string; Port?: number }[] = [],
  extra: Partial<CreateTargetGroupCommandInput> = {},
): Promise<TargetGroup> {
  const tg = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: name,
        Protocol: 'HTTP',
        Port: 80,
        VpcId: 'vpc-12345678',
        TargetType: 'ip',
        HealthCheckPath: '/health',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        ...extra,
      }),
    )
  ).TargetGroups![0];
  if (targets.length > 0) {
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: tg.TargetGroupArn, Targets: targets }),
    );
  }
  return tg;
}
