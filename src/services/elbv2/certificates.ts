/**
 * HTTPS listeners' certificates and security policies: the default certificate (the
 * listener's `Certificates`), the certificate list SNI chooses from
 * (Add/Remove/DescribeListenerCertificates) and DescribeSSLPolicies. Certificates are IAM
 * server certificates; ACM is not part of Stratus, so an ACM ARN is not found.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html
 */
import {
  CertificateNotFoundException,
  OperationNotPermittedException,
  SSLPolicyNotFoundException,
  TooManyCertificatesException,
} from '../../api/elbv2/errors.js';
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { Certificate, SslPolicy } from '../../api/elbv2/types.js';
import { pageArray } from '../../shared/paging.js';
import type { MetadataOps } from '../../storage/types.js';
import type { IamServerCertificateInfo } from '../iam/directory.js';
import { badMarker, type Elbv2Deps, pageSize, scopeOf, validation } from './common.js';
import { listenerOf } from './listeners.js';
import { DEFAULT_SSL_POLICY, SSL_POLICIES, sslPolicy, type SslPolicyData } from './ssl-policies.js';
import { childKey, type ListenerRecord, type Scope, T } from './store.js';

/** Where listeners' certificates come from: IAM's server certificates, with their keys. */
export type CertificateSource = (
  account: string,
  arn: string,
) => Promise<IamServerCertificateInfo | undefined>;

export interface CertificateDeps extends Elbv2Deps {
  certificates: CertificateSource;
}

/** "Certificates per Application Load Balancer (excluding default certificates): 25". */
const MAX_LISTENER_CERTIFICATES = 25;

type CertificateOps = Pick<
  Elbv2Operations,
  | 'AddListenerCertificates'
  | 'RemoveListenerCertificates'
  | 'DescribeListenerCertificates'
  | 'DescribeSSLPolicies'
>;

/** The ARN a certificate entry names, or AWS's error when it names none. */
function certificateArnOf(c: Certificate | undefined): string {
  const arn = c?.CertificateArn;
  if (arn === undefined || arn === '') {
    throw validation('A certificate must be specified for HTTPS listeners');
  }
  return arn;
}

/**
 * Checks that IAM holds the certificates named, CertificateNotFound otherwise. Called
 * before the ELB transaction: IAM's store is not read inside it.
 */
export async function verifyCertificates(
  deps: CertificateDeps,
  s: Scope,
  list: readonly Certificate[] | undefined,
): Promise<string[]> {
  const arns: string[] = [];
  for (const c of list ?? []) {
    const arn = certificateArnOf(c);
    if ((await deps.certificates(s.account, arn)) === undefined) {
      throw new CertificateNotFoundException(`Certificate '${arn}' not found`);
    }
    arns.push(arn);
  }
  return arns;
}

/** A security policy by name, or SSLPolicyNotFound. */
export function policyOf(name: string): SslPolicyData {
  const p = sslPolicy(name);
  if (!p) throw new SSLPolicyNotFoundException(`SSL policy '${name}' not found`);
  return p;
}

/**
 * The TLS settings a listener of `protocol` gets from CreateListener/ModifyListener input
 * (its certificates verified beforehand), `current` being what it has now: HTTPS needs
 * one default certificate and takes ELBSecurityPolicy-2016-08 unless told otherwise;
 * other protocols have neither.
 */
export function checkTls(
  protocol: string,
  input: { Certificates?: Certificate[]; SslPolicy?: string },
  current?: ListenerRecord,
): Pick<ListenerRecord, 'certificates' | 'sslPolicy' | 'extraCertificates'> {
  if (protocol !== 'HTTPS') {
    if (input.Certificates !== undefined && input.Certificates.length > 0) {
      throw validation(`Certificates cannot be specified for ${protocol} listeners`);
    }
    if (input.SslPolicy !== undefined) {
      throw validation(`An SSL policy cannot be specified for ${protocol} listeners`);
    }
    return {};
  }
  const given = input.Certificates ?? current?.certificates;
  if (given !== undefined && given.length > 1) {
    throw new TooManyCertificatesException('A listener can have only one default certificate');
  }
  const arn = certificateArnOf(given?.[0]);
  const policy = policyOf(input.SslPolicy ?? current?.sslPolicy ?? DEFAULT_SSL_POLICY);
  return {
    certificates: [{ CertificateArn: arn }],
    sslPolicy: policy.name,
    ...(current?.extraCertificates !== undefined && {
      extraCertificates: current.extraCertificates,
    }),
  };
}

function describePolicy(p: SslPolicyData): SslPolicy {
  return {
    Name: p.name,
    SslProtocols: [...p.protocols],
    Ciphers: p.ciphers.map((Name, i) => ({ Name, Priority: i + 1 })),
    SupportedLoadBalancerTypes: ['application', 'network'],
  };
}

export function certificateOperations(deps: CertificateDeps): CertificateOps {
  const { store } = deps;

  async function httpsListener(arn: string, s: Scope, tx: MetadataOps) {
    const l = await listenerOf(tx, arn, s);
    if (l.protocol !== 'HTTPS') {
      throw validation(`Listener '${arn}' is not an HTTPS listener`);
    }
    return l;
  }

  return {
    async AddListenerCertificates(input, ctx) {
      const s = scopeOf(ctx);
      if (input.Certificates.length === 0) throw validation('Certificates must not be empty');
      const arns = await verifyCertificates(deps, s, input.Certificates);
      await store.transaction(async (tx) => {
        const l = await httpsListener(input.ListenerArn, s, tx);
        // "If the certificate in already in the certificate list, the call is successful
        // but the certificate is not added again."
        const list = [...(l.extraCertificates ?? [])];
        for (const arn of arns) if (!list.includes(arn)) list.push(arn);
        if (list.length > MAX_LISTENER_CERTIFICATES) {
          throw new TooManyCertificatesException(
            "You've reached the limit on the number of certificates per load balancer",
          );
        }
        l.extraCertificates = list;
        await tx.put(T.listeners, childKey(l.loadBalancerArn, l.id), l);
      });
      await deps.changed();
      return { Certificates: arns.map((CertificateArn) => ({ CertificateArn, IsDefault: false })) };
    },

    async RemoveListenerCertificates(input, ctx) {
      const s = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const l = await httpsListener(input.ListenerArn, s, tx);
        let list = l.extraCertificates ?? [];
        for (const c of input.Certificates) {
          const arn = c.CertificateArn ?? '';
          if (c.IsDefault === true || (!list.includes(arn) && isDefault(l, arn))) {
            throw new OperationNotPermittedException(
              'The default certificate cannot be removed from a listener; use ModifyListener to replace it',
            );
          }
          list = list.filter((x) => x !== arn);
        }
        l.extraCertificates = list;
        await tx.put(T.listeners, childKey(l.loadBalancerArn, l.id), l);
      });
      await deps.changed();
      return {};
    },

    async DescribeListenerCertificates(input, ctx) {
      const l = await listenerOf(store, input.ListenerArn, scopeOf(ctx));
      // "If the default certificate is also in the certificate list, it appears twice in
      // the results (once with IsDefault set to true and once with IsDefault set to false)."
      const all: (Certificate & { key: string })[] = [
        ...(l.certificates ?? []).map((c, i) => ({
          CertificateArn: c.CertificateArn,
          IsDefault: true,
          key: `d${i}`,
        })),
        ...(l.extraCertificates ?? []).map((arn, i) => ({
          CertificateArn: arn,
          IsDefault: false,
          key: `l${String(i).padStart(3, '0')}`,
        })),
      ];
      const page = pageArray(all, (c) => c.key, {
        marker: input.Marker,
        max: pageSize(input.PageSize),
        resume: 'exact',
        invalid: badMarker,
      });
      return {
        Certificates: page.items.map(({ CertificateArn, IsDefault }) => ({
          CertificateArn,
          IsDefault,
        })),
        ...(page.next !== undefined && { NextMarker: page.next }),
      };
    },

    DescribeSSLPolicies(input) {
      // Gateway Load Balancers terminate no TLS.
      let list = input.LoadBalancerType === 'gateway' ? [] : [...SSL_POLICIES];
      if (input.Names !== undefined && input.Names.length > 0) {
        list = input.Names.map(policyOf);
      }
      const page = pageArray(list, (p) => p.name, {
        marker: input.Marker,
        max: pageSize(input.PageSize),
        resume: 'exact',
        invalid: badMarker,
      });
      return Promise.resolve({
        SslPolicies: page.items.map(describePolicy),
        ...(page.next !== undefined && { NextMarker: page.next }),
      });
    },
  };
}

const isDefault = (l: ListenerRecord, arn: string): boolean =>
  (l.certificates ?? []).some((c) => c.CertificateArn === arn);
