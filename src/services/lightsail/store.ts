/**
 * Lightsail's tables. Every resource is scoped by account and region; keys are
 * `<account>/<region>/<name>`.
 */
import type { InboundRule } from '../../runtime/container.js';
import type {
  AlarmState,
  ComparisonOperator,
  ContactProtocol,
  MetricName,
  TreatMissingData,
} from '../../api/lightsail/types.js';

export const T = {
  instances: 'lightsail-instances',
  keyPairs: 'lightsail-key-pairs',
  staticIps: 'lightsail-static-ips',
  snapshots: 'lightsail-instance-snapshots',
  disks: 'lightsail-disks',
  alarms: 'lightsail-alarms',
  contactMethods: 'lightsail-contact-methods',
  notifications: 'lightsail-notifications',
  /** The region's SSH CA (ssh-ca.ts), keyed `<account>/<region>/ca`. */
  sshCa: 'lightsail-ssh-ca',
} as const;

export interface Scope {
  account: string;
  region: string;
}

export const scopePrefix = (s: Scope): string => `${s.account}/${s.region}/`;
export const keyOf = (s: Scope, name: string): string => `${scopePrefix(s)}${name}`;

export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down';

export interface PortRecord {
  fromPort: number;
  toPort: number;
  protocol: InboundRule['protocol'] | 'icmpv6';
  cidrs: string[];
  ipv6Cidrs: string[];
  cidrListAliases: string[];
}

export interface Tag {
  key: string;
  value?: string;
}

export interface InstanceRecord {
  account: string;
  region: string;
  name: string;
  /** A hex id: the instance's directory, the holder of its address, its container label. */
  id: string;
  createdAt: number;
  availabilityZone: string;
  blueprintId: string;
  bundleId: string;
  keyPairName: string;
  userData: string;
  tags: Tag[];
  state: InstanceStateName;
  /** The state asked for last (a restart of Stratus brings a `running` instance back). */
  desired: 'running' | 'stopped';
  /** The address it has while it runs (its static IP's when one is attached). */
  ip?: string;
  /**
   * Where the driver publishes its ports on loopback (Docker): `tcp/80` → host port, kept
   * across stops so a port keeps its host port while it is free.
   */
  hostPorts?: Record<string, number>;
  staticIpName?: string;
  ports: PortRecord[];
  /** Snapshot layers under the blueprint's (top first), for instances made from snapshots. */
  snapshotLayers: string[];
  /** Disks attached, by name, and where. */
  disks: { name: string; path: string }[];
  /** Why the last boot failed (kept for the log and GetInstance's support code). */
  error?: string;
}

export interface KeyPairRecord {
  account: string;
  region: string;
  name: string;
  createdAt: number;
  publicKey: string;
  fingerprint: string;
  tags: Tag[];
  /** Kept only for the default key pair (DownloadDefaultKeyPair returns it again). */
  privateKey?: string;
}

export interface StaticIpRecord {
  account: string;
  region: string;
  name: string;
  createdAt: number;
  ip: string;
  /** The IPAM holder id of the address. */
  holder: string;
  attachedTo?: string;
}

export interface SnapshotRecord {
  account: string;
  region: string;
  name: string;
  createdAt: number;
  state: 'pending' | 'available' | 'error';
  fromInstanceName: string;
  fromInstanceArn: string;
  fromBlueprintId: string;
  fromBundleId: string;
  /** Blob digests of the captured layers, top first (the instance's own changes on top). */
  layers: string[];
  sizeBytes: number;
  tags: Tag[];
}

export interface DiskRecord {
  account: string;
  region: string;
  name: string;
  id: string;
  createdAt: number;
  availabilityZone: string;
  sizeInGb: number;
  attachedTo?: string;
  path?: string;
  tags: Tag[];
}

export interface AlarmRecord {
  account: string;
  region: string;
  name: string;
  createdAt: number;
  metricName: MetricName;
  monitoredResourceName: string;
  comparisonOperator: ComparisonOperator;
  threshold: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: TreatMissingData;
  contactProtocols: ContactProtocol[];
  notificationTriggers: AlarmState[];
  notificationEnabled: boolean;
  state: AlarmState;
  tags: Tag[];
}

export interface ContactMethodRecord {
  account: string;
  region: string;
  protocol: ContactProtocol;
  contactEndpoint: string;
  createdAt: number;
}

/** A notification an alarm sent (recorded: nothing leaves this machine). */
export interface NotificationRecord {
  alarmName: string;
  state: AlarmState;
  protocols: ContactProtocol[];
  endpoints: string[];
  at: number;
  test: boolean;
}

/** One metric sample of an instance: cumulative counters at a time. */
export interface MetricSample {
  at: number;
  cpuTimeMs: number;
  rxBytes: number;
  txBytes: number;
  running: boolean;
}
