/**
 * Target groups: create (idempotent for the same settings), describe with paging, modify
 * health checks, delete, attributes (deregistration delay, stickiness, algorithm, …).
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
 */
import {
  DuplicateTargetGroupNameException,
  ResourceInUseException,
  TargetGroupNotFoundException,
} from '../../api/elbv2/errors.js';
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { CreateTargetGroupInput, Matcher, TargetGroup } from '../../api/elbv2/types.js';
import { pageStore } from '../../shared/paging.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  attributeList,
  badMarker,
  type Elbv2Deps,
  ownedBy,
  pageSize,
  parseElbArn,
  resourceId,
  scopeOf,
  targetGroupArn,
  tgNotFound,
  validation,
} from './common.js';
import { DEFAULT_VPC, loadBalancerOf } from './load-balancers.js';
import {
  childPrefix,
  type HealthCheckSettings,
  nameKey,
  type Scope,
  scopePrefix,
  T,
  type TargetGroupRecord,
  type TargetType,
} from './store.js';
import { groupUsage } from './usage.js';

type TgOps = Pick<
  Elbv2Operations,
  | 'CreateTargetGroup'
  | 'DescribeTargetGroups'
  | 'ModifyTargetGroup'
  | 'DeleteTargetGroup'
  | 'DescribeTargetGroupAttributes'
  | 'ModifyTargetGroupAttributes'
>;

/** https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html */
const HTTP_ATTRIBUTES: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'load_balancing.algorithm.type': 'round_robin',
  'load_balancing.algorithm.anomaly_mitigation': 'off',
  'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
  'slow_start.duration_seconds': '0',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'stickiness.app_cookie.cookie_name': '',
  'stickiness.app_cookie.duration_seconds': '86400',
  'target_group_health.dns_failover.minimum_healthy_targets.count': '1',
  'target_group_health.dns_failover.minimum_healthy_targets.percentage': 'off',
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count': '1',
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage': 'off',
};
const LAMBDA_ATTRIBUTES: Record<string, string> = { 'lambda.multi_value_headers.enabled': 'false' };
const TCP_ATTRIBUTES: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'deregistration_delay.connection_termination.enabled': 'false',
  'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
  'preserve_client_ip.enabled': 'true',
  'proxy_protocol_v2.enabled': 'false',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
  'target_health_state.unhealthy.connection_termination.enabled': 'true',
  'target_health_state.unhealthy.draining_interval_seconds': '0',
};

/** Allowed values for attributes that take one of a few, or a whole number in a range. */
const ATTRIBUTE_RULES: Record<string, readonly string[] | readonly [number, number]> = {
  'deregistration_delay.timeout_seconds': [0, 3600],
  'slow_start.duration_seconds': [0, 900],
  'stickiness.lb_cookie.duration_seconds': [1, 604800],
  'stickiness.app_cookie.duration_seconds': [1, 604800],
  'load_balancing.algorithm.type': ['round_robin', 'least_outstanding_requests', 'weighted_random'],
  'load_balancing.algorithm.anomaly_mitigation': ['on', 'off'],
  'stickiness.type': ['lb_cookie', 'app_cookie', 'source_ip'],
};

const isHttp = (p: string | undefined) => p === 'HTTP' || p === 'HTTPS';

function defaultHealthCheck(type: TargetType, protocol: string | undefined): HealthCheckSettings {
  if (type === 'lambda') {
    return {
      enabled: false,
      protocol: 'HTTP',
      port: 'traffic-port',
      path: '/',
      intervalSeconds: 35,
      timeoutSeconds: 30,
      healthyThreshold: 5,
      unhealthyThreshold: 2,
      matcher: '200',
    };
  }
  if (isHttp(protocol)) {
    return {
      enabled: true,
      protocol: 'HTTP',
      port: 'traffic-port',
      path: '/',
      intervalSeconds: 30,
      timeoutSeconds: 5,
      healthyThreshold: 5,
      unhealthyThreshold: 2,
      matcher: '200',
    };
  }
  return {
    enabled: true,
    protocol: 'TCP',
    port: 'traffic-port',
    intervalSeconds: 30,
    timeoutSeconds: 10,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
  };
}

/** `200`, `200,202`, `200-299`: codes 200–499 ("HttpCode … values from 200 to 499"). */
export function checkMatcher(code: string): void {
  const ok = code.split(',').every((part) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part.trim());
    if (!m) return false;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return lo >= 200 && hi <= 499 && lo <= hi;
  });
  if (!ok)
    throw validation(`Health check matcher HTTP code '${code}' must be within '200-499' inclusive`);
}

type HealthInput = Pick<
  CreateTargetGroupInput,
  | 'HealthCheckProtocol'
  | 'HealthCheckPort'
  | 'HealthCheckEnabled'
  | 'HealthCheckPath'
  | 'HealthCheckIntervalSeconds'
  | 'HealthCheckTimeoutSeconds'
  | 'HealthyThresholdCount'
  | 'UnhealthyThresholdCount'
> & { Matcher?: Matcher };

/** Settings with the request's changes applied, checked as AWS checks them. */
function applyHealth(hc: HealthCheckSettings, input: HealthInput): HealthCheckSettings {
  const out = { ...hc };
  if (input.HealthCheckEnabled !== undefined) out.enabled = input.HealthCheckEnabled;
  if (input.HealthCheckProtocol !== undefined) {
    const p = input.HealthCheckProtocol;
    if (p !== 'HTTP' && p !== 'HTTPS' && p !== 'TCP') {
      throw validation(`Health check protocol '${p}' is not supported`);
    }
    out.protocol = p;
  }
  if (input.HealthCheckPort !== undefined) {
    const port = input.HealthCheckPort;
    const n = Number(port);
    if (port !== 'traffic-port' && !(Number.isInteger(n) && n >= 1 && n <= 65535)) {
      throw validation(
        `Health check port '${port}' must be 'traffic-port' or a number between 1 and 65535`,
      );
    }
    out.port = port;
  }
  if (input.HealthCheckPath !== undefined) {
    if (!input.HealthCheckPath.startsWith('/')) {
      throw validation(
        `Health check path '${input.HealthCheckPath}' must begin with a '/' character`,
      );
    }
    out.path = input.HealthCheckPath;
  }
  if (input.HealthCheckIntervalSeconds !== undefined)
    out.intervalSeconds = input.HealthCheckIntervalSeconds;
  if (input.HealthCheckTimeoutSeconds !== undefined)
    out.timeoutSeconds = input.HealthCheckTimeoutSeconds;
  if (input.HealthyThresholdCount !== undefined) out.healthyThreshold = input.HealthyThresholdCount;
  if (input.UnhealthyThresholdCount !== undefined)
    out.unhealthyThreshold = input.UnhealthyThresholdCount;
  if (input.Matcher?.HttpCode !== undefined) {
    checkMatcher(input.Matcher.HttpCode);
    out.matcher = input.Matcher.HttpCode;
  }
  if (out.timeoutSeconds >= out.intervalSeconds) {
    // As AWS answers it (error code ValidationError).
    throw validation('Health check interval must be greater than the timeout.');
  }
  return out;
}

function checkName(name: string): void {
  if (name.length > 32) {
    throw validation(`Target group name '${name}' cannot be longer than '32' characters`);
  }
  if (!/^[a-zA-Z0-9-]+$/.test(name)) {
    throw validation(
      `Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`,
    );
  }
  if (name.startsWith('-') || name.endsWith('-')) {
    throw validation(`Target group name '${name}' cannot begin or end with '-' character`);
  }
}

export function describeTargetGroup(
  tg: TargetGroupRecord,
  loadBalancers: Iterable<string> = [],
): TargetGroup {
  const hc = tg.healthCheck;
  return {
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    ...(tg.protocol !== undefined ? { Protocol: tg.protocol as TargetGroup['Protocol'] } : {}),
    ...(tg.port !== undefined ? { Port: tg.port } : {}),
    ...(tg.vpcId !== undefined ? { VpcId: tg.vpcId } : {}),
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: hc.port,
    HealthCheckEnabled: hc.enabled,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    ...(hc.path !== undefined ? { HealthCheckPath: hc.path } : {}),
    ...(hc.matcher !== undefined ? { Matcher: { HttpCode: hc.matcher } } : {}),
    LoadBalancerArns: [...loadBalancers],
    TargetType: tg.targetType,
    ...(tg.protocolVersion !== undefined ? { ProtocolVersion: tg.protocolVersion } : {}),
    ...(tg.ipAddressType !== undefined ? { IpAddressType: tg.ipAddressType } : {}),
  };
}

/** The target group an ARN names, or TargetGroupNotFound. */
export async function targetGroupOf(
  ops: MetadataOps,
  arn: string,
  s?: Scope,
): Promise<TargetGroupRecord> {
  const p = parseElbArn(arn);
  if (!p || p.kind !== 'targetgroup') throw validation(`'${arn}' is not a valid target group ARN`);
  if (s !== undefined && !ownedBy(arn, s)) throw tgNotFound();
  const tg = await ops.get<TargetGroupRecord>(T.targetGroups, nameKey(p.scope, p.parts[0]));
  if (!tg || tg.arn !== arn) throw tgNotFound();
  return tg;
}

export function targetGroupOperations(deps: Elbv2Deps): TgOps {
  const { store } = deps;

  async function update(
    arn: string,
    s: Scope,
    change: (tg: TargetGroupRecord) => void,
  ): Promise<TargetGroupRecord> {
    const tg = await store.transaction(async (tx) => {
      const current = await targetGroupOf(tx, arn, s);
      change(current);
      await tx.put(T.targetGroups, nameKey(s, current.name), current);
      return current;
    });
    await deps.changed();
    return tg;
  }

  return {
    async CreateTargetGroup(input, ctx) {
      const s = scopeOf(ctx);
      checkName(input.Name);
      const targetType = input.TargetType ?? 'instance';
      let protocol = input.Protocol;
      let port = input.Port;
      let vpcId = input.VpcId;
      if (targetType === 'lambda') {
        if (protocol !== undefined || port !== undefined || vpcId !== undefined) {
          throw validation(
            "Protocol, port, and VPC ID cannot be specified for target groups with target type 'lambda'",
          );
        }
      } else {
        if (protocol === undefined) throw validation('A protocol must be specified');
        if (port === undefined) throw validation('A port must be specified');
        if (protocol !== 'HTTP' && protocol !== 'HTTPS' && protocol !== 'TCP') {
          throw validation(
            `Protocol '${protocol}' is not supported by Stratus (HTTP, HTTPS and TCP are)`,
          );
        }
        // There is one network (this machine): a target group without a VPC joins it.
        vpcId ??= DEFAULT_VPC;
      }
      const healthCheck = applyHealth(defaultHealthCheck(targetType, protocol), input);
      const id = resourceId();
      const attributes =
        targetType === 'lambda'
          ? LAMBDA_ATTRIBUTES
          : isHttp(protocol)
            ? HTTP_ATTRIBUTES
            : TCP_ATTRIBUTES;
      const record: TargetGroupRecord = {
        arn: targetGroupArn(s, input.Name, id),
        name: input.Name,
        id,
        account: s.account,
        region: s.region,
        targetType,
        ...(protocol !== undefined ? { protocol } : {}),
        ...(isHttp(protocol) ? { protocolVersion: input.ProtocolVersion ?? 'HTTP1' } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(vpcId !== undefined ? { vpcId } : {}),
        ...(targetType !== 'lambda' ? { ipAddressType: input.IpAddressType ?? 'ipv4' } : {}),
        healthCheck,
        attributes: { ...attributes },
        tags: (input.Tags ?? []).map((t) => ({ ...t })),
      };
      protocol = record.protocol as typeof protocol;
      port = record.port;
      const { tg, usage } = await store.transaction(async (tx) => {
        const key = nameKey(s, input.Name);
        const existing = await tx.get<TargetGroupRecord>(T.targetGroups, key);
        if (existing) {
          const same =
            existing.targetType === targetType &&
            existing.protocol === protocol &&
            existing.port === port &&
            JSON.stringify(existing.healthCheck) === JSON.stringify(healthCheck);
          if (!same) {
            throw new DuplicateTargetGroupNameException(
              `A target group with the same name '${input.Name}' exists, but with different settings`,
            );
          }
          return { tg: existing, usage: await groupUsage(tx, s) };
        }
        await tx.insert(T.targetGroups, key, record);
        return { tg: record, usage: new Map<string, Set<string>>() };
      });
      await deps.changed();
      return { TargetGroups: [describeTargetGroup(tg, usage.get(tg.arn))] };
    },

    async DescribeTargetGroups(input, ctx) {
      const s = scopeOf(ctx);
      const filters = [input.LoadBalancerArn, input.TargetGroupArns, input.Names].filter(
        (f) => f !== undefined,
      );
      if (filters.length > 1) {
        throw validation(
          'Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time',
        );
      }
      const usage = await groupUsage(store, s);
      const describe = (tg: TargetGroupRecord) => describeTargetGroup(tg, usage.get(tg.arn));
      if (input.TargetGroupArns !== undefined) {
        const out: TargetGroup[] = [];
        for (const arn of input.TargetGroupArns)
          out.push(describe(await targetGroupOf(store, arn, s)));
        return { TargetGroups: out };
      }
      if (input.Names !== undefined) {
        const out: TargetGroup[] = [];
        const missing: string[] = [];
        for (const name of input.Names) {
          const tg = await store.get<TargetGroupRecord>(T.targetGroups, nameKey(s, name));
          if (tg) out.push(describe(tg));
          else missing.push(name);
        }
        if (missing.length > 0) {
          throw new TargetGroupNotFoundException(
            `Target groups '[${missing.join(', ')}]' not found`,
          );
        }
        return { TargetGroups: out };
      }
      let keep: ((tg: TargetGroupRecord) => boolean) | undefined;
      if (input.LoadBalancerArn !== undefined) {
        const lb = await loadBalancerOf(store, input.LoadBalancerArn, s);
        keep = (tg) => usage.get(tg.arn)?.has(lb.arn) === true;
      }
      const page = await pageStore<TargetGroupRecord>(store, T.targetGroups, {
        prefix: scopePrefix(s),
        marker: input.Marker,
        max: pageSize(input.PageSize),
        keep,
        invalid: badMarker,
      });
      return {
        TargetGroups: page.items.map((i) => describe(i.value)),
        ...(page.next ? { NextMarker: page.next } : {}),
      };
    },

    async ModifyTargetGroup(input, ctx) {
      const s = scopeOf(ctx);
      const tg = await update(input.TargetGroupArn, s, (tg) => {
        tg.healthCheck = applyHealth(tg.healthCheck, input);
      });
      const usage = await groupUsage(store, s);
      return { TargetGroups: [describeTargetGroup(tg, usage.get(tg.arn))] };
    },

    async DeleteTargetGroup(input, ctx) {
      const s = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const tg = await targetGroupOf(tx, input.TargetGroupArn, s);
        if ((await groupUsage(tx, s)).has(tg.arn)) {
          throw new ResourceInUseException(
            `Target group '${tg.arn}' is currently in use by a listener or a rule`,
          );
        }
        await tx.deletePrefix(T.targets, childPrefix(tg.arn));
        await tx.delete(T.targetGroups, nameKey(s, tg.name));
      });
      await deps.changed();
      return {};
    },

    async DescribeTargetGroupAttributes(input, ctx) {
      const tg = await targetGroupOf(store, input.TargetGroupArn, scopeOf(ctx));
      return { Attributes: attributeList(tg.attributes) };
    },

    async ModifyTargetGroupAttributes(input, ctx) {
      const tg = await update(input.TargetGroupArn, scopeOf(ctx), (tg) => {
        for (const { Key, Value } of input.Attributes) {
          if (Key === undefined || !(Key in tg.attributes)) {
            throw validation(`Target group attribute key '${Key ?? ''}' is not recognized`);
          }
          const value = Value ?? '';
          const rule = ATTRIBUTE_RULES[Key];
          const invalid = () =>
            validation(`Target group attribute value '${value}' is not valid for key '${Key}'`);
          if (Key.endsWith('.enabled') && value !== 'true' && value !== 'false') throw invalid();
          if (rule !== undefined && typeof rule[0] === 'number') {
            const n = Number(value);
            if (!/^\d+$/.test(value) || n < (rule[0] as number) || n > (rule[1] as number))
              throw invalid();
          } else if (rule !== undefined && !(rule as readonly string[]).includes(value)) {
            throw invalid();
          }
          tg.attributes[Key] = value;
        }
      });
      return { Attributes: attributeList(tg.attributes) };
    },
  };
}
