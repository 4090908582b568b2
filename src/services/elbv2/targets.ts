/**
 * The link ECS (and later Lightsail) uses to put running tasks behind a load balancer's
 * target group: what a service's `loadBalancers` entry does on AWS when a task starts or
 * stops. The elbv2 plugin provides it as `loadBalancing`; registration is the same state
 * RegisterTargets/DeregisterTargets change, so DescribeTargetHealth shows ECS's targets.
 */

/** One target: an IP address (target type `ip`, ECS awsvpc tasks) or an instance id, and its port. */
export interface Target {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string;
}

/** AWS's target states (DescribeTargetHealth `TargetHealth.State`). */
export type TargetState =
  'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

export interface TargetHealthReport {
  readonly target: Target;
  readonly state: TargetState;
  /** AWS's reason code, e.g. `Elb.RegistrationInProgress`, `Target.FailedHealthChecks`. */
  readonly reason?: string;
  readonly description?: string;
}

/** What a target group is, as a registering service needs to know it. */
export interface TargetGroupInfo {
  readonly arn: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly targetType: 'instance' | 'ip' | 'lambda' | 'alb';
  /** Load balancers whose listeners forward to this group (ECS refuses a group with none). */
  readonly loadBalancerArns: readonly string[];
  readonly deregistrationDelaySeconds: number;
}

export interface TargetRegistry {
  /** The group, or undefined when no such ARN exists (the caller gives its own AWS error). */
  targetGroup(arn: string): Promise<TargetGroupInfo | undefined>;
  register(targetGroupArn: string, targets: readonly Target[]): Promise<void>;
  /** Starts draining; resolves once the group's deregistration delay has passed. */
  deregister(targetGroupArn: string, targets: readonly Target[]): Promise<void>;
  health(targetGroupArn: string): Promise<readonly TargetHealthReport[]>;
}

declare module '../links.js' {
  interface ServiceLinks {
    loadBalancing: TargetRegistry;
  }
}
