/** Records as the API shows them. */
import type {
  Disk,
  Instance,
  InstancePortInfo,
  InstanceSnapshot,
  KeyPair,
  PortInfo,
  StaticIp,
} from '../../api/lightsail/types.js';
import { blueprintOf, bundleOf } from './catalog.js';
import { arnOf, invalid, locationOf, supportCodeOf, tagsOut } from './common.js';
import { STATE_CODES } from './fleet.js';
import { MAX_PUBLISHED_PORTS, PUBLISHED_IP } from './machines.js';
import type {
  DiskRecord,
  InstanceRecord,
  KeyPairRecord,
  PortRecord,
  SnapshotRecord,
  StaticIpRecord,
} from './store.js';

export const instanceArn = (rec: InstanceRecord): string => arnOf(rec, 'Instance', rec.id);

/**
 * A port rule as GetInstance shows it. Where the instance's ports are published on
 * loopback (Docker), its commonName says where: `127.0.0.1:49153` (one per port of a
 * range, space separated), the host port to give ssh -p or curl.
 */
export function portInfoView(p: PortRecord, hostPorts?: Record<string, number>): InstancePortInfo {
  const anywhere = p.cidrs.includes('0.0.0.0/0');
  return {
    fromPort: p.fromPort,
    toPort: p.toPort,
    protocol: p.protocol,
    accessFrom: anywhere
      ? p.ipv6Cidrs.includes('::/0')
        ? 'Anywhere (0.0.0.0/0 and ::/0)'
        : 'Anywhere (0.0.0.0/0)'
      : 'Custom',
    accessType: 'Public',
    commonName: hostPorts ? publishedAt(p, hostPorts) : '',
    accessDirection: 'inbound',
    cidrs: p.cidrs,
    ipv6Cidrs: p.ipv6Cidrs,
    cidrListAliases: p.cidrListAliases,
  };
}

function publishedAt(p: PortRecord, hostPorts: Record<string, number>): string {
  const at: string[] = [];
  const protocols = p.protocol === 'all' ? ['tcp', 'udp'] : [p.protocol];
  for (const protocol of protocols)
    for (let port = p.fromPort; port <= p.toPort && at.length < MAX_PUBLISHED_PORTS; port++) {
      const hostPort = hostPorts[`${protocol}/${port}`];
      if (hostPort) at.push(`${PUBLISHED_IP}:${hostPort}`);
    }
  return at.join(' ');
}

/** A port rule from the API: no source at all means anywhere, IPv4 and IPv6. */
export function portRecord(p: PortInfo): PortRecord {
  const fromPort = p.fromPort ?? 0;
  const toPort = p.toPort ?? fromPort;
  const protocol = p.protocol ?? 'tcp';
  const icmp = protocol === 'icmp' || protocol === 'icmpv6';
  const lo = icmp ? -1 : 0;
  const hi = icmp ? 255 : 65535;
  if (fromPort < lo || fromPort > hi || toPort < lo || toPort > hi || toPort < fromPort)
    throw invalid(`The port range ${fromPort}-${toPort} is not valid for protocol ${protocol}.`);
  const none = !p.cidrs?.length && !p.ipv6Cidrs?.length && !p.cidrListAliases?.length;
  for (const c of p.cidrs ?? [])
    if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(c)) throw invalid(`Invalid CIDR: ${c}`);
  return {
    fromPort,
    toPort,
    protocol,
    cidrs: none ? ['0.0.0.0/0'] : (p.cidrs ?? []),
    ipv6Cidrs: none ? ['::/0'] : (p.ipv6Cidrs ?? []),
    cidrListAliases: p.cidrListAliases ?? [],
  };
}

export const samePorts = (a: PortRecord, b: PortRecord): boolean =>
  a.fromPort === b.fromPort && a.toPort === b.toPort && a.protocol === b.protocol;

export function defaultPorts(ports: number[]): PortRecord[] {
  return ports.map((port) => ({
    fromPort: port,
    toPort: port,
    protocol: 'tcp',
    cidrs: ['0.0.0.0/0'],
    ipv6Cidrs: ['::/0'],
    cidrListAliases: [],
  }));
}

export function instanceView(rec: InstanceRecord, disks: DiskRecord[] = []): Instance {
  const bundle = bundleOf(rec.bundleId);
  const blueprint = blueprintOf(rec.blueprintId);
  const arn = instanceArn(rec);
  const systemDisk: Disk = {
    name: `${rec.name}-system-disk`,
    createdAt: new Date(rec.createdAt),
    sizeInGb: bundle?.diskSizeInGb,
    isSystemDisk: true,
    iops: 100,
    path: '/dev/xvda',
    attachedTo: rec.name,
    isAttached: true,
    attachmentState: 'attached',
  };
  const ip = rec.state === 'running' || rec.staticIpName ? rec.ip : undefined;
  return {
    name: rec.name,
    arn,
    supportCode: supportCodeOf(rec, rec.id),
    createdAt: new Date(rec.createdAt),
    location: locationOf(rec, rec.availabilityZone),
    resourceType: 'Instance',
    tags: tagsOut(rec.tags),
    blueprintId: rec.blueprintId,
    blueprintName: blueprint?.name,
    bundleId: rec.bundleId,
    addOns: [],
    isStaticIp: rec.staticIpName !== undefined,
    ...(ip ? { privateIpAddress: ip, publicIpAddress: ip } : {}),
    ipv6Addresses: [],
    ipAddressType: 'ipv4',
    hardware: {
      cpuCount: bundle?.cpuCount,
      ramSizeInGb: bundle?.ramSizeInGb,
      disks: [systemDisk, ...disks.map(diskView)],
    },
    networking: {
      monthlyTransfer: { gbPerMonthAllocated: bundle?.transferPerMonthInGb },
      ports: rec.ports.map((p) =>
        portInfoView(p, ip === PUBLISHED_IP ? (rec.hostPorts ?? {}) : undefined),
      ),
    },
    state: { code: STATE_CODES[rec.state], name: rec.state },
    username: blueprint?.username,
    sshKeyName: rec.keyPairName,
    metadataOptions: {
      state: 'applied',
      httpTokens: 'optional',
      httpEndpoint: 'enabled',
      httpPutResponseHopLimit: 1,
      httpProtocolIpv6: 'disabled',
    },
  };
}

export function keyPairView(k: KeyPairRecord): KeyPair {
  return {
    name: k.name,
    arn: arnOf(k, 'KeyPair', k.fingerprint.replace(/:/g, '').slice(0, 32)),
    supportCode: supportCodeOf(k, k.name),
    createdAt: new Date(k.createdAt),
    location: locationOf(k),
    resourceType: 'KeyPair',
    tags: tagsOut(k.tags),
    fingerprint: k.fingerprint,
  };
}

export function staticIpView(s: StaticIpRecord): StaticIp {
  return {
    name: s.name,
    arn: arnOf(s, 'StaticIp', s.holder),
    supportCode: supportCodeOf(s, s.holder),
    createdAt: new Date(s.createdAt),
    location: locationOf(s, `${s.region}a`),
    resourceType: 'StaticIp',
    ipAddress: s.ip,
    ...(s.attachedTo ? { attachedTo: s.attachedTo } : {}),
    isAttached: s.attachedTo !== undefined,
  };
}

export function snapshotView(s: SnapshotRecord): InstanceSnapshot {
  return {
    name: s.name,
    arn: arnOf(s, 'InstanceSnapshot', `${s.createdAt}-${s.name}`),
    supportCode: supportCodeOf(s, s.name),
    createdAt: new Date(s.createdAt),
    location: locationOf(s, `${s.region}a`),
    resourceType: 'InstanceSnapshot',
    tags: tagsOut(s.tags),
    state: s.state,
    progress: s.state === 'available' ? '100%' : '0%',
    fromAttachedDisks: [],
    fromInstanceName: s.fromInstanceName,
    fromInstanceArn: s.fromInstanceArn,
    fromBlueprintId: s.fromBlueprintId,
    fromBundleId: s.fromBundleId,
    isFromAutoSnapshot: false,
    sizeInGb: Math.max(1, Math.ceil(s.sizeBytes / 2 ** 30)),
  };
}

export function diskView(d: DiskRecord): Disk {
  return {
    name: d.name,
    arn: arnOf(d, 'Disk', d.id),
    supportCode: supportCodeOf(d, d.id),
    createdAt: new Date(d.createdAt),
    location: locationOf(d, d.availabilityZone),
    resourceType: 'Disk',
    tags: tagsOut(d.tags),
    addOns: [],
    sizeInGb: d.sizeInGb,
    isSystemDisk: false,
    iops: 100,
    ...(d.path ? { path: d.path } : {}),
    state: d.attachedTo ? 'in-use' : 'available',
    ...(d.attachedTo ? { attachedTo: d.attachedTo } : {}),
    isAttached: d.attachedTo !== undefined,
    attachmentState: d.attachedTo ? 'attached' : 'detached',
    gbInUse: 0,
  };
}
