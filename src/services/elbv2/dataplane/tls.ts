/**
 * What an HTTPS listener's socket terminates TLS with: its default certificate, the
 * certificate list SNI chooses from, and its security policy as node:tls settings.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html
 * "If the hostname provided by a client matches a single certificate in the certificate
 * list, the load balancer selects this certificate. … If the client does not support SNI
 * or no certificate matches, the load balancer uses the default certificate."
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { CertificateSource } from '../certificates.js';
import { DEFAULT_SSL_POLICY, sslPolicy, tlsSettings } from '../ssl-policies.js';
import type { ListenerRecord } from '../store.js';

export interface ListenerTls {
  /** Changes whenever the certificates or the policy do. */
  key: string;
  /** The server's options: the policy and the default certificate. */
  options: SecureContextOptions;
  /** The certificate list (default first), each with the names it serves. */
  choices: { x509: X509Certificate; context: SecureContext }[];
}

/** What a listener's TLS depends on, comparable between snapshots. */
export const tlsKeyOf = (l: ListenerRecord): string =>
  JSON.stringify([l.certificates, l.extraCertificates ?? [], l.sslPolicy]);

/**
 * Loads a listener's certificates with their keys. Undefined when its default certificate
 * cannot be had (deleted from IAM since): the listener then has nothing to serve with.
 * Certificates of the list that are gone are left out.
 */
export async function loadTls(
  l: ListenerRecord,
  account: string,
  source: CertificateSource,
): Promise<ListenerTls | undefined> {
  const defaultArn = l.certificates?.[0]?.CertificateArn;
  if (defaultArn === undefined) return undefined;
  const policy = sslPolicy(l.sslPolicy ?? DEFAULT_SSL_POLICY) ?? sslPolicy(DEFAULT_SSL_POLICY)!;
  const settings = tlsSettings(policy);
  const material = async (arn: string) => {
    const c = await source(account, arn);
    if (!c) return undefined;
    const cert = c.chain !== undefined ? `${c.body}\n${c.chain}\n` : `${c.body}\n`;
    return { x509: new X509Certificate(c.body), cert, key: c.privateKey };
  };
  const first = await material(defaultArn);
  if (!first) return undefined;
  const options: SecureContextOptions = { ...settings, cert: first.cert, key: first.key };
  const choices = [{ x509: first.x509, context: createSecureContext(options) }];
  for (const arn of l.extraCertificates ?? []) {
    if (arn === defaultArn) continue;
    const m = await material(arn);
    if (!m) continue;
    choices.push({
      x509: m.x509,
      context: createSecureContext({ ...settings, cert: m.cert, key: m.key }),
    });
  }
  return { key: tlsKeyOf(l), options, choices };
}

/**
 * The context for a client's SNI name: the certificate whose names match it exactly,
 * else one whose wildcard does, else the default (undefined here: node keeps the
 * server's own).
 */
export function chooseContext(tls: ListenerTls, servername: string): SecureContext | undefined {
  const matching = tls.choices.filter((c) => c.x509.checkHost(servername) !== undefined);
  const exact = matching.find((c) => c.x509.checkHost(servername, { wildcards: false }));
  return (exact ?? matching[0])?.context;
}
