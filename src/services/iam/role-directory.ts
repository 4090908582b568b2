/** IamDirectory backed by IAM's own store: what STS and Lambda ask about roles and providers. */
import type { MetadataStore } from '../../storage/types.js';
import { parseIamArn } from './arns.js';
import type {
  IamDirectory,
  IamOidcProviderInfo,
  IamRoleInfo,
  IamSamlProviderInfo,
  IamServerCertificateInfo,
} from './directory.js';
import { findServerCertificate } from './server-certificates.js';
import { findOidcProvider } from './oidc-providers.js';
import { parseDocument } from '../../shared/policy-documents.js';
import { parseMetadata } from '../../shared/saml.js';
import { findSamlProvider } from './saml-providers.js';
import { consumeMfaCode } from './mfa.js';
import { outboundRecord } from './outbound-federation.js';
import { nameKey, T, type RoleRecord } from './store.js';

export class StoreIamDirectory implements IamDirectory {
  constructor(private readonly store: MetadataStore) {}

  async findRole(account: string, roleNameOrArn: string): Promise<IamRoleInfo | undefined> {
    let name = roleNameOrArn;
    const isArn = roleNameOrArn.startsWith('arn:');
    if (isArn) {
      const parsed = parseIamArn(roleNameOrArn, 'role');
      if (!parsed || parsed.account !== account) return undefined;
      name = parsed.name;
    }
    const role = await this.store.get<RoleRecord>(T.roles, nameKey(account, name));
    // An ARN names the role with its path: arn:…:role/a/r is not arn:…:role/r.
    if (!role || (isArn && role.arn !== roleNameOrArn)) return undefined;
    return {
      roleName: role.name,
      roleId: role.id,
      arn: role.arn,
      assumeRolePolicyDocument: parseDocument(role.trustPolicy),
      maxSessionDuration: role.maxSessionDuration,
    };
  }

  async findOidcProvider(
    account: string,
    issuer: string,
  ): Promise<IamOidcProviderInfo | undefined> {
    const p = await findOidcProvider(this.store, account, issuer);
    return p && { arn: p.arn, url: p.url, clientIds: p.clientIds };
  }

  async findSamlProvider(account: string, arn: string): Promise<IamSamlProviderInfo | undefined> {
    const p = await findSamlProvider(this.store, account, arn);
    const meta = p && parseMetadata(p.metadata);
    return (
      meta && {
        arn: p.arn,
        name: p.name,
        entityId: meta.entityId,
        certificates: meta.certificates,
      }
    );
  }

  consumeMfaCode(
    account: string,
    userName: string,
    serial: string,
    code: string,
  ): Promise<boolean> {
    return consumeMfaCode(this.store, Date.now(), account, userName, serial, code);
  }

  async outboundIssuer(account: string): Promise<string | undefined> {
    const r = await outboundRecord(this.store, account);
    return r?.enabled ? r.issuerId : undefined;
  }

  async outboundAccount(issuerId: string): Promise<string | undefined> {
    const owner = await this.store.get<{ account: string }>(T.outboundIssuers, issuerId);
    return owner && (await this.outboundIssuer(owner.account)) === issuerId
      ? owner.account
      : undefined;
  }

  async findServerCertificate(
    account: string,
    arn: string,
  ): Promise<IamServerCertificateInfo | undefined> {
    const c = await findServerCertificate(this.store, account, arn);
    if (c?.privateKey === undefined) return undefined;
    return {
      arn: c.arn,
      name: c.name,
      body: c.body,
      ...(c.chain !== undefined && { chain: c.chain }),
      privateKey: c.privateKey,
    };
  }
}
