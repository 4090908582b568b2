/**
 * Load balancers: create (idempotent for the same settings, as AWS), describe with paging,
 * delete (with its listeners and rules), attributes, security groups, subnets.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
 */
import { createHash, randomInt } from 'node:crypto';
import {
  DuplicateLoadBalancerNameException,
  LoadBalancerNotFoundException,
  OperationNotPermittedException,
} from '../../api/elbv2/errors.js';
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { AvailabilityZone, LoadBalancer } from '../../api/elbv2/types.js';
import { pageStore } from '../../shared/paging.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  attributeList,
  badMarker,
  type Elbv2Deps,
  lbNotFound,
  loadBalancerArn,
  ownedBy,
  pageSize,
  parseElbArn,
  resourceId,
  scopeOf,
  validation,
} from './common.js';
import {
  childPrefix,
  type LoadBalancerRecord,
  nameKey,
  type Scope,
  scopePrefix,
  T,
} from './store.js';

type LbOps = Pick<
  Elbv2Operations,
  | 'CreateLoadBalancer'
  | 'DescribeLoadBalancers'
  | 'DeleteLoadBalancer'
  | 'DescribeLoadBalancerAttributes'
  | 'ModifyLoadBalancerAttributes'
  | 'SetSecurityGroups'
  | 'SetSubnets'
  | 'SetIpAddressType'
>;

/** The VPC Stratus reports when none is implied: there is one network, this machine's. */
export const DEFAULT_VPC = 'vpc-0500000000000da7a';

/** https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes */
const APPLICATION_ATTRIBUTES: Record<string, string> = {
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': '',
  'client_keep_alive.seconds': '3600',
  'connection_logs.s3.enabled': 'false',
  'connection_logs.s3.bucket': '',
  'connection_logs.s3.prefix': '',
  'deletion_protection.enabled': 'false',
  'health_check_logs.s3.enabled': 'false',
  'health_check_logs.s3.bucket': '',
  'health_check_logs.s3.prefix': '',
  'idle_timeout.timeout_seconds': '60',
  'ipv6.deny_all_igw_traffic': 'false',
  'load_balancing.cross_zone.enabled': 'true',
  'routing.http.desync_mitigation_mode': 'defensive',
  'routing.http.drop_invalid_header_fields.enabled': 'false',
  'routing.http.preserve_host_header.enabled': 'false',
  'routing.http.x_amzn_tls_version_and_cipher_suite.enabled': 'false',
  'routing.http.xff_client_port.enabled': 'false',
  'routing.http.xff_header_processing.mode': 'append',
  'routing.http2.enabled': 'true',
  'waf.fail_open.enabled': 'false',
  'zonal_shift.config.enabled': 'false',
};

const NETWORK_ATTRIBUTES: Record<string, string> = {
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': '',
  'deletion_protection.enabled': 'false',
  'load_balancing.cross_zone.enabled': 'false',
  'dns_record.client_routing_policy': 'any_availability_zone',
  'ipv6.deny_all_igw_traffic': 'false',
  'zonal_shift.config.enabled': 'false',
};

/** Route 53 hosted zone ids of ELB's DNS names (us-east-1's for regions not listed). */
const HOSTED_ZONES: Record<string, { application: string; network: string }> = {
  'us-east-1': { application: 'Z35SXDOTRQ7X7K', network: 'Z26RNL4JYFTOTI' },
  'us-east-2': { application: 'Z3AADJGX6KTTL2', network: 'ZLMOA37VPKANP' },
  'us-west-1': { application: 'Z368ELLRRE2KJ0', network: 'Z24FKFUX50B4VW' },
  'us-west-2': { application: 'Z1H1FL5HABSF5', network: 'Z18D5FSROUN65G' },
  'eu-west-1': { application: 'Z32O12XQLNTSW2', network: 'Z2IFOLAFXWLO4F' },
  'eu-central-1': { application: 'Z215JYRZR1TBD5', network: 'Z3F0SRJ5LGBH90' },
};

/** The host a load balancer's DNS name resolves to locally: `<label>.<region>.elb.localhost`. */
export const dnsName = (lb: LoadBalancerRecord): string =>
  `${lb.dnsLabel}.${lb.region}.elb.localhost`;

export function describeLoadBalancer(lb: LoadBalancerRecord): LoadBalancer {
  return {
    LoadBalancerArn: lb.arn,
    DNSName: dnsName(lb),
    CanonicalHostedZoneId: (HOSTED_ZONES[lb.region] ?? HOSTED_ZONES['us-east-1'])[lb.type],
    CreatedTime: new Date(lb.created),
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: lb.vpcId,
    State: { Code: 'active' },
    Type: lb.type,
    AvailabilityZones: zonesOf(lb.region, lb.subnets),
    ...(lb.type === 'application' ? { SecurityGroups: [...lb.securityGroups] } : {}),
    IpAddressType: lb.ipAddressType,
  };
}

/** Subnets map to the region's zones in order (a, b, c, …): there is one machine. */
function zonesOf(region: string, subnets: readonly string[]): AvailabilityZone[] {
  return subnets.map((SubnetId, i) => ({
    ZoneName: `${region}${String.fromCharCode(97 + (i % 6))}`,
    SubnetId,
    LoadBalancerAddresses: [],
  }));
}

/** Two subnets in two zones, as an ALB needs, when the caller names none. */
function defaultSubnets(s: Scope): string[] {
  return ['a', 'b'].map(
    (zone) =>
      'subnet-' +
      createHash('sha256').update(`${s.account}/${s.region}${zone}`).digest('hex').slice(0, 17),
  );
}

/** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html#API_CreateLoadBalancer_RequestParameters */
function checkName(name: string): void {
  if (name.length > 32) {
    throw validation(`Load balancer name '${name}' cannot be longer than '32' characters`);
  }
  if (!/^[a-zA-Z0-9-]+$/.test(name)) {
    throw validation(
      `Load balancer name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`,
    );
  }
  if (name.startsWith('-') || name.endsWith('-')) {
    throw validation(`Load balancer name '${name}' cannot begin or end with '-' character`);
  }
  if (name.startsWith('internal-')) {
    throw validation(`Load balancer name '${name}' cannot begin with 'internal-'`);
  }
}

/** The load balancer an ARN names, or LoadBalancerNotFound. */
export async function loadBalancerOf(
  ops: MetadataOps,
  arn: string,
  s: Scope,
): Promise<LoadBalancerRecord> {
  const p = parseElbArn(arn);
  if (!p || p.kind !== 'loadbalancer') {
    throw validation(`'${arn}' is not a valid load balancer ARN`);
  }
  if (!ownedBy(arn, s)) throw lbNotFound();
  const lb = await ops.get<LoadBalancerRecord>(T.loadBalancers, nameKey(s, p.parts[1]));
  if (!lb || lb.arn !== arn) throw lbNotFound();
  return lb;
}

export function loadBalancerOperations(deps: Elbv2Deps): LbOps {
  const { store } = deps;

  async function update(
    arn: string,
    s: Scope,
    change: (lb: LoadBalancerRecord) => void,
  ): Promise<LoadBalancerRecord> {
    const lb = await store.transaction(async (tx) => {
      const current = await loadBalancerOf(tx, arn, s);
      change(current);
      await tx.put(T.loadBalancers, nameKey(s, current.name), current);
      return current;
    });
    await deps.changed();
    return lb;
  }

  return {
    async CreateLoadBalancer(input, ctx) {
      const s = scopeOf(ctx);
      checkName(input.Name);
      const type = input.Type ?? 'application';
      if (type === 'gateway') {
        throw validation('Gateway Load Balancers are not supported by Stratus');
      }
      if (input.Subnets !== undefined && input.SubnetMappings !== undefined) {
        throw validation('You can specify subnets or subnet mappings, not both');
      }
      const subnets =
        input.Subnets ?? input.SubnetMappings?.map((m) => m.SubnetId ?? '') ?? defaultSubnets(s);
      if (type === 'application' && subnets.length < 2) {
        throw validation(
          'At least two subnets in two different Availability Zones must be specified',
        );
      }
      const scheme = input.Scheme ?? 'internet-facing';
      const id = resourceId();
      const record: LoadBalancerRecord = {
        arn: loadBalancerArn(s, type, input.Name, id),
        name: input.Name,
        id,
        account: s.account,
        region: s.region,
        type,
        scheme,
        ipAddressType: input.IpAddressType ?? 'ipv4',
        dnsLabel: `${scheme === 'internal' ? 'internal-' : ''}${input.Name}-${randomInt(1e9, 2e9)}`,
        vpcId: DEFAULT_VPC,
        subnets,
        securityGroups: type === 'application' ? (input.SecurityGroups ?? []) : [],
        created: deps.now(),
        attributes: { ...(type === 'application' ? APPLICATION_ATTRIBUTES : NETWORK_ATTRIBUTES) },
        tags: (input.Tags ?? []).map((t) => ({ ...t })),
      };
      const lb = await store.transaction(async (tx) => {
        const key = nameKey(s, input.Name);
        const existing = await tx.get<LoadBalancerRecord>(T.loadBalancers, key);
        if (existing) {
          // "This operation is idempotent … If you attempt to create multiple load balancers
          // with the same settings, each call succeeds."
          const same =
            existing.type === type &&
            existing.scheme === scheme &&
            existing.subnets.join() === subnets.join();
          if (same) return existing;
          throw new DuplicateLoadBalancerNameException(
            `A load balancer with the same name '${input.Name}' exists, but with different settings`,
          );
        }
        await tx.insert(T.loadBalancers, key, record);
        return record;
      });
      await deps.changed();
      return { LoadBalancers: [describeLoadBalancer(lb)] };
    },

    async DescribeLoadBalancers(input, ctx) {
      const s = scopeOf(ctx);
      if (input.LoadBalancerArns !== undefined && input.Names !== undefined) {
        throw validation(
          'Load balancer names and load balancer ARNs cannot be specified at the same time',
        );
      }
      if (input.LoadBalancerArns !== undefined) {
        const out: LoadBalancer[] = [];
        for (const arn of input.LoadBalancerArns) {
          out.push(describeLoadBalancer(await loadBalancerOf(store, arn, s)));
        }
        return { LoadBalancers: out };
      }
      if (input.Names !== undefined) {
        const out: LoadBalancer[] = [];
        const missing: string[] = [];
        for (const name of input.Names) {
          const lb = await store.get<LoadBalancerRecord>(T.loadBalancers, nameKey(s, name));
          if (lb) out.push(describeLoadBalancer(lb));
          else missing.push(name);
        }
        if (missing.length > 0) {
          throw new LoadBalancerNotFoundException(
            `Load balancers '[${missing.join(', ')}]' not found`,
          );
        }
        return { LoadBalancers: out };
      }
      const page = await pageStore<LoadBalancerRecord>(store, T.loadBalancers, {
        prefix: scopePrefix(s),
        marker: input.Marker,
        max: pageSize(input.PageSize),
        invalid: badMarker,
      });
      return {
        LoadBalancers: page.items.map((i) => describeLoadBalancer(i.value)),
        ...(page.next ? { NextMarker: page.next } : {}),
      };
    },

    async DeleteLoadBalancer(input, ctx) {
      const s = scopeOf(ctx);
      // "If the load balancer does not exist or has already been deleted, the call succeeds."
      const p = parseElbArn(input.LoadBalancerArn);
      if (!p || p.kind !== 'loadbalancer') {
        throw validation(`'${input.LoadBalancerArn}' is not a valid load balancer ARN`);
      }
      await store.transaction(async (tx) => {
        if (!ownedBy(input.LoadBalancerArn, s)) return;
        const key = nameKey(s, p.parts[1]);
        const lb = await tx.get<LoadBalancerRecord>(T.loadBalancers, key);
        if (!lb || lb.arn !== input.LoadBalancerArn) return;
        if (lb.attributes['deletion_protection.enabled'] === 'true') {
          throw new OperationNotPermittedException(
            `Load balancer '${lb.arn}' cannot be deleted because deletion protection is enabled`,
          );
        }
        const listeners = await tx.list<{ arn: string }>(T.listeners, {
          prefix: childPrefix(lb.arn),
        });
        for (const l of listeners) await tx.deletePrefix(T.rules, childPrefix(l.value.arn));
        await tx.deletePrefix(T.listeners, childPrefix(lb.arn));
        await tx.delete(T.loadBalancers, key);
      });
      await deps.changed();
      return {};
    },

    async DescribeLoadBalancerAttributes(input, ctx) {
      const lb = await loadBalancerOf(store, input.LoadBalancerArn, scopeOf(ctx));
      return { Attributes: attributeList(lb.attributes) };
    },

    async ModifyLoadBalancerAttributes(input, ctx) {
      const lb = await update(input.LoadBalancerArn, scopeOf(ctx), (lb) => {
        for (const { Key, Value } of input.Attributes) {
          if (Key === undefined || !(Key in lb.attributes)) {
            throw validation(`Load balancer attribute key '${Key ?? ''}' is not recognized`);
          }
          const value = Value ?? '';
          if (Key === 'idle_timeout.timeout_seconds') {
            const n = Number(value);
            if (!Number.isInteger(n) || n < 1 || n > 4000) {
              throw validation(
                `Load balancer attribute value '${value}' is not valid for key '${Key}'`,
              );
            }
          }
          if (Key.endsWith('.enabled') && value !== 'true' && value !== 'false') {
            throw validation(
              `Load balancer attribute value '${value}' is not valid for key '${Key}'`,
            );
          }
          lb.attributes[Key] = value;
        }
      });
      return { Attributes: attributeList(lb.attributes) };
    },

    async SetSecurityGroups(input, ctx) {
      const lb = await update(input.LoadBalancerArn, scopeOf(ctx), (lb) => {
        if (lb.type !== 'application') {
          throw validation(
            'Security groups cannot be set on a network load balancer created without them',
          );
        }
        lb.securityGroups = [...input.SecurityGroups];
      });
      return { SecurityGroupIds: lb.securityGroups };
    },

    async SetSubnets(input, ctx) {
      const lb = await update(input.LoadBalancerArn, scopeOf(ctx), (lb) => {
        const subnets = input.Subnets ?? input.SubnetMappings?.map((m) => m.SubnetId ?? '') ?? [];
        if (lb.type === 'application' && subnets.length < 2) {
          throw validation(
            'At least two subnets in two different Availability Zones must be specified',
          );
        }
        lb.subnets = subnets;
        if (input.IpAddressType !== undefined) lb.ipAddressType = input.IpAddressType;
      });
      return { AvailabilityZones: zonesOf(lb.region, lb.subnets), IpAddressType: lb.ipAddressType };
    },

    async SetIpAddressType(input, ctx) {
      const lb = await update(input.LoadBalancerArn, scopeOf(ctx), (lb) => {
        lb.ipAddressType = input.IpAddressType;
      });
      return { IpAddressType: lb.ipAddressType };
    },
  };
}
