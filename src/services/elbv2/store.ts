/**
 * Elastic Load Balancing v2's tables. Load balancers and target groups are keyed by
 * `<account>/<region>/<name>` (names are unique per region); listeners, rules and targets
 * under the ARN of what owns them, so a parent's children list by prefix.
 */
import type { Action, RuleCondition, Tag } from '../../api/elbv2/types.js';

export const T = {
  loadBalancers: 'elbv2_load_balancers',
  targetGroups: 'elbv2_target_groups',
  /** `<load balancer ARN>#<listener id>` */
  listeners: 'elbv2_listeners',
  /** `<listener ARN>#<rule id>` (non-default rules only; the default rule is the listener's). */
  rules: 'elbv2_rules',
  /** `<target group ARN>#<target id>#<port>` */
  targets: 'elbv2_targets',
} as const;

export interface Scope {
  account: string;
  region: string;
}

export type LbType = 'application' | 'network';

export interface LoadBalancerRecord {
  arn: string;
  name: string;
  id: string;
  account: string;
  region: string;
  type: LbType;
  scheme: 'internet-facing' | 'internal';
  ipAddressType: 'ipv4' | 'dualstack' | 'dualstack-without-public-ipv4';
  /** The first DNS label: `<name>-<digits>` (`internal-` first for internal ones). */
  dnsLabel: string;
  vpcId: string;
  subnets: string[];
  securityGroups: string[];
  /** Milliseconds since the epoch. */
  created: number;
  attributes: Record<string, string>;
  tags: Tag[];
}

export interface HealthCheckSettings {
  enabled: boolean;
  protocol: 'HTTP' | 'HTTPS' | 'TCP';
  /** `traffic-port` or a port number. */
  port: string;
  path?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** HTTP codes: `200`, `200,202`, `200-299`. */
  matcher?: string;
}

export type TargetType = 'instance' | 'ip' | 'lambda' | 'alb';

export interface TargetGroupRecord {
  arn: string;
  name: string;
  id: string;
  account: string;
  region: string;
  targetType: TargetType;
  protocol?: string;
  protocolVersion?: string;
  port?: number;
  vpcId?: string;
  ipAddressType?: 'ipv4' | 'ipv6';
  healthCheck: HealthCheckSettings;
  attributes: Record<string, string>;
  tags: Tag[];
}

export interface ListenerRecord {
  arn: string;
  loadBalancerArn: string;
  id: string;
  port: number;
  protocol: string;
  defaultActions: Action[];
  /** The id of the listener's default rule (DescribeRules lists it last, `IsDefault`). */
  defaultRuleId: string;
  /** HTTPS: the default certificate (one). */
  certificates?: { CertificateArn?: string }[];
  sslPolicy?: string;
  /** HTTPS: the certificate list (AddListenerCertificates) SNI chooses from. */
  extraCertificates?: string[];
  attributes: Record<string, string>;
  tags: Tag[];
}

export interface RuleRecord {
  arn: string;
  listenerArn: string;
  id: string;
  priority: number;
  conditions: RuleCondition[];
  actions: Action[];
  tags: Tag[];
}

export interface TargetRecord {
  targetGroupArn: string;
  id: string;
  port: number;
  availabilityZone?: string;
  /** Milliseconds since the epoch. */
  registered: number;
}

export const scopePrefix = (s: Scope): string => `${s.account}/${s.region}/`;
export const nameKey = (s: Scope, name: string): string => `${scopePrefix(s)}${name}`;
export const childKey = (parentArn: string, id: string): string => `${parentArn}#${id}`;
export const childPrefix = (parentArn: string): string => `${parentArn}#`;
export const targetKey = (tgArn: string, id: string, port: number): string =>
  `${tgArn}#${id}#${port}`;
