/**
 * Outbound web identity federation (Nov 2025): once enabled, principals of the account get
 * JWTs from STS GetWebIdentityToken, signed by keys published at the account's unique
 * issuer URL ("hosts the OpenID Connect (OIDC) discovery endpoints at
 * /.well-known/openid-configuration and /.well-known/jwks.json"). IAM keeps the switch and
 * the issuer id; STS signs and serves the keys (sts/outbound-tokens.ts).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_outbound.html
 */
import { randomBytes } from 'node:crypto';
import { FeatureDisabledException, FeatureEnabledException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { MetadataOps } from '../../storage/types.js';
import type { IamDeps } from './common.js';
import { outboundIssuerUrl } from './directory.js';
import { T } from './store.js';

export interface OutboundFederationRecord {
  enabled: boolean;
  /** Kept when the feature is disabled: enabling again keeps the issuer URL. */
  issuerId: string;
}

type OutboundOps = Pick<
  IamOperations,
  | 'EnableOutboundWebIdentityFederation'
  | 'DisableOutboundWebIdentityFederation'
  | 'GetOutboundWebIdentityFederationInfo'
>;

const DISABLED =
  'The request failed because outbound identity federation is already disabled for your AWS account. You cannot disable the feature multiple times';
const ENABLED =
  'The request failed because outbound identity federation is already enabled for your AWS account. You cannot enable the feature multiple times. To fetch the current configuration (including the unique issuer URL), use the GetOutboundWebIdentityFederationInfo operation.';

/** `abc123-def456-ghi789-jkl012`, the form of AWS's issuer host names. */
const newIssuerId = (): string =>
  Array.from({ length: 4 }, () => randomBytes(3).toString('hex')).join('-');

export function outboundFederationOperations(deps: IamDeps): OutboundOps {
  const { store } = deps;
  const url = (id: string) => outboundIssuerUrl(deps.endpoint(), id);
  return {
    async EnableOutboundWebIdentityFederation(_input, ctx) {
      const record = await store.transaction(async (tx) => {
        const known = await outboundRecord(tx, ctx.account);
        if (known?.enabled) throw new FeatureEnabledException(ENABLED);
        const next = { enabled: true, issuerId: known?.issuerId ?? newIssuerId() };
        await tx.put(T.outboundFederation, ctx.account, next);
        await tx.put(T.outboundIssuers, next.issuerId, { account: ctx.account });
        return next;
      });
      return { IssuerIdentifier: url(record.issuerId) };
    },
    async DisableOutboundWebIdentityFederation(_input, ctx) {
      await store.transaction(async (tx) => {
        const known = await outboundRecord(tx, ctx.account);
        if (!known?.enabled) throw new FeatureDisabledException(DISABLED);
        await tx.put(T.outboundFederation, ctx.account, { ...known, enabled: false });
      });
    },
    async GetOutboundWebIdentityFederationInfo(_input, ctx) {
      const known = await outboundRecord(store, ctx.account);
      if (!known) throw new FeatureDisabledException(DISABLED);
      return { IssuerIdentifier: url(known.issuerId), JwtVendingEnabled: known.enabled };
    },
  };
}

export function outboundRecord(
  ops: Pick<MetadataOps, 'get'>,
  account: string,
): Promise<OutboundFederationRecord | undefined> {
  return ops.get<OutboundFederationRecord>(T.outboundFederation, account);
}
