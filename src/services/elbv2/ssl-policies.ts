/**
 * The security policies of HTTPS listeners, as data: each policy's protocols and ciphers
 * in AWS's order of preference (OpenSSL names, as DescribeSSLPolicies reports them), and
 * how node:tls serves one (minVersion/maxVersion, the cipher list in that order).
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 * "If you do not specify a security policy when you create the listener, we use the
 * default security policy. … Other methods (for example, the AWS CLI, AWS CloudFormation,
 * and the AWS CDK) – The default security policy is ELBSecurityPolicy-2016-08."
 */
import type { SecureVersion } from 'node:tls';

export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

export type SslProtocol = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface SslPolicyData {
  name: string;
  protocols: readonly SslProtocol[];
  /** In priority order (the first is priority 1). */
  ciphers: readonly string[];
}

const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** ECDHE with AES-GCM only (the "Res" policies of 2020 and 2021). */
const ECDHE_GCM = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
];

/** Forward-secret TLS 1.2 ciphers: ECDHE with GCM or SHA-2 (FS-1-2-Res-2019-08). */
const ECDHE_TLS12 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
];

/** Every forward-secret cipher of ELBSecurityPolicy-FS-2018-06 (SHA-1 CBC included). */
const ECDHE_ALL = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA',
  'ECDHE-ECDSA-AES256-SHA',
];

/** ELBSecurityPolicy-2016-08's eighteen ciphers. */
const POLICY_2016_08 = [
  ...ECDHE_ALL,
  'AES128-GCM-SHA256',
  'AES128-SHA256',
  'AES128-SHA',
  'AES256-GCM-SHA384',
  'AES256-SHA256',
  'AES256-SHA',
];

/** ELBSecurityPolicy-TLS-1-2-2017-01: TLS 1.2 without SHA-1 ciphers. */
const TLS12_2017 = [
  ...ECDHE_TLS12,
  'AES128-GCM-SHA256',
  'AES128-SHA256',
  'AES256-GCM-SHA384',
  'AES256-SHA256',
];

const ALL: SslProtocol[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2'];
const FROM_11: SslProtocol[] = ['TLSv1.1', 'TLSv1.2'];
const ONLY_12: SslProtocol[] = ['TLSv1.2'];

export const SSL_POLICIES: readonly SslPolicyData[] = [
  {
    name: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    protocols: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...ECDHE_TLS12],
  },
  {
    name: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06',
    protocols: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...ECDHE_GCM],
  },
  {
    name: 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09',
    protocols: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...ECDHE_GCM],
  },
  {
    name: 'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06',
    protocols: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...TLS12_2017],
  },
  {
    name: 'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06',
    protocols: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...POLICY_2016_08],
  },
  {
    name: 'ELBSecurityPolicy-TLS13-1-1-2021-06',
    protocols: ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...POLICY_2016_08],
  },
  {
    name: 'ELBSecurityPolicy-TLS13-1-0-2021-06',
    protocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    ciphers: [...TLS13, ...POLICY_2016_08],
  },
  { name: 'ELBSecurityPolicy-TLS13-1-3-2021-06', protocols: ['TLSv1.3'], ciphers: TLS13 },
  { name: 'ELBSecurityPolicy-FS-1-2-Res-2020-10', protocols: ONLY_12, ciphers: ECDHE_GCM },
  { name: 'ELBSecurityPolicy-FS-1-2-Res-2019-08', protocols: ONLY_12, ciphers: ECDHE_TLS12 },
  { name: 'ELBSecurityPolicy-FS-1-2-2019-08', protocols: ONLY_12, ciphers: ECDHE_ALL },
  { name: 'ELBSecurityPolicy-FS-1-1-2019-08', protocols: FROM_11, ciphers: ECDHE_ALL },
  { name: 'ELBSecurityPolicy-FS-2018-06', protocols: ALL, ciphers: ECDHE_ALL },
  { name: 'ELBSecurityPolicy-TLS-1-2-Ext-2018-06', protocols: ONLY_12, ciphers: POLICY_2016_08 },
  { name: 'ELBSecurityPolicy-TLS-1-2-2017-01', protocols: ONLY_12, ciphers: TLS12_2017 },
  { name: 'ELBSecurityPolicy-TLS-1-1-2017-01', protocols: FROM_11, ciphers: POLICY_2016_08 },
  { name: 'ELBSecurityPolicy-2016-08', protocols: ALL, ciphers: POLICY_2016_08 },
  {
    name: 'ELBSecurityPolicy-TLS-1-0-2015-04',
    protocols: ALL,
    ciphers: [...POLICY_2016_08, 'DES-CBC3-SHA'],
  },
  { name: 'ELBSecurityPolicy-2015-05', protocols: ALL, ciphers: POLICY_2016_08 },
];

const BY_NAME = new Map(SSL_POLICIES.map((p) => [p.name, p]));

export const sslPolicy = (name: string): SslPolicyData | undefined => BY_NAME.get(name);

const VERSION: Record<SslProtocol, SecureVersion> = {
  TLSv1: 'TLSv1',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};
const ORDER: SslProtocol[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export interface TlsSettings {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  ciphers: string;
  honorCipherOrder: true;
}

/**
 * node:tls settings for a policy. The server's order decides ("the first cipher on the
 * server's list that matches any one of the client's ciphers is selected"). OpenSSL 3
 * refuses TLS 1.0/1.1 handshakes at its default security level (SHA-1 signatures), so
 * the policies that still allow them get `@SECLEVEL=0`, as AWS still serves them.
 */
export function tlsSettings(p: SslPolicyData): TlsSettings {
  const versions = ORDER.filter((v) => p.protocols.includes(v));
  const legacy = versions[0] === 'TLSv1' || versions[0] === 'TLSv1.1';
  return {
    minVersion: VERSION[versions[0]],
    maxVersion: VERSION[versions[versions.length - 1]],
    ciphers: [...p.ciphers, ...(legacy ? ['@SECLEVEL=0'] : [])].join(':'),
    honorCipherOrder: true,
  };
}
