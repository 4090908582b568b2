/**
 * What other services may ask IAM (STS AssumeRole, Lambda's execution role check),
 * without reaching into IAM's store.
 */
export interface IamRoleInfo {
  roleName: string;
  roleId: string;
  arn: string;
  /** Parsed trust policy document. */
  assumeRolePolicyDocument: unknown;
  maxSessionDuration: number;
}

/** An OpenID Connect provider as STS needs it to accept a web identity token. */
export interface IamOidcProviderInfo {
  arn: string;
  /** The issuer without its scheme: the prefix of its condition keys (`<url>:sub`). */
  url: string;
  clientIds: readonly string[];
}

/** A SAML provider as STS needs it to accept an assertion. */
export interface IamSamlProviderInfo {
  arn: string;
  /** The provider's name (saml:doc, the NameQualifier hash). */
  name: string;
  /** The metadata's entity ID: assertions' Issuer must be it. */
  entityId: string;
  /** Signing certificates (PEM) from the metadata. */
  certificates: readonly string[];
}

/** A server certificate with its private key, as a load balancer serves it (PEM). */
export interface IamServerCertificateInfo {
  arn: string;
  name: string;
  body: string;
  chain?: string;
  privateKey: string;
}

export interface IamDirectory {
  /** Looks a role up by name or by ARN within the account. */
  findRole(account: string, roleNameOrArn: string): Promise<IamRoleInfo | undefined>;
  /** The OpenID Connect provider of a token's issuer (its `iss`) in the account. */
  findOidcProvider(account: string, issuer: string): Promise<IamOidcProviderInfo | undefined>;
  /** The SAML provider an ARN names in the account. */
  findSamlProvider(account: string, arn: string): Promise<IamSamlProviderInfo | undefined>;
  /**
   * Checks a one-time code of the MFA device `serial` assigned to user `userName` and uses
   * it up (GetSessionToken); false when the device is not theirs or the code is wrong.
   */
  consumeMfaCode(account: string, userName: string, serial: string, code: string): Promise<boolean>;
  /** The account's outbound federation issuer id while the feature is enabled. */
  outboundIssuer(account: string): Promise<string | undefined>;
  /** The account an outbound issuer id belongs to, while its feature is enabled. */
  outboundAccount(issuerId: string): Promise<string | undefined>;
  /**
   * The server certificate an ARN names in the account, with its private key (ELB's
   * HTTPS listeners); undefined when there is none or IAM does not hold its key.
   */
  findServerCertificate(
    account: string,
    arn: string,
  ): Promise<IamServerCertificateInfo | undefined>;
}

/** Where an outbound federation issuer is served: its OIDC discovery documents live under it. */
export const OUTBOUND_ISSUER_PATH = '/_stratus/sts/outbound/';

export function outboundIssuerUrl(endpoint: string, issuerId: string): string {
  return `${endpoint}${OUTBOUND_ISSUER_PATH}${issuerId}`;
}
