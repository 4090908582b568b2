/**
 * IAM's tables. Every key starts with the account (IAM is global: resources are scoped
 * by account only). Names are lower-cased in keys because IAM names are unique without
 * regard to case ("you cannot create roles named both PRODROLE and prodrole").
 */
import type { Tag } from '../../api/iam/types.js';

export const T = {
  roles: 'iam_roles',
  users: 'iam_users',
  /** Inline policies: `<acct>/<kind>/<owner>/<PolicyName>`. */
  inline: 'iam_inline_policies',
  /** Managed policy attachments: `<acct>/<kind>/<owner>/<PolicyArn>`. */
  attached: 'iam_attached_policies',
  /** Customer managed policies: `<acct>/<name>`. */
  policies: 'iam_policies',
  /** Attachment counts of AWS managed policies per account: `<acct>/<arn>`. */
  awsPolicyUsage: 'iam_aws_policy_usage',
  /** Access keys by id (ids are globally unique). */
  accessKeys: 'iam_access_keys',
  groups: 'iam_groups',
  /** Group members: `<acct>/<group>/<user>` (names lower-cased) → MembershipRecord. */
  groupMembers: 'iam_group_members',
  /** The same memberships by user: `<acct>/<user>/<group>`. */
  userGroups: 'iam_user_groups',
  /** Instance profiles: `<acct>/<name>` (lower-cased). */
  instanceProfiles: 'iam_instance_profiles',
  /** The profile holding each role: `<acct>/<role>/<profile>` (lower-cased) → RoleProfileRecord. */
  roleProfiles: 'iam_role_profiles',
  /** OpenID Connect providers: `<acct>/<issuer without scheme>` → OidcProviderRecord. */
  oidcProviders: 'iam_oidc_providers',
  /** SAML providers: `<acct>/<name>` (lower-cased) → SamlProviderRecord. */
  samlProviders: 'iam_saml_providers',
  /** Virtual MFA devices: `<acct>/<path><name>` (lower-cased) → MfaDeviceRecord. */
  mfaDevices: 'iam_mfa_devices',
  /** Login profiles: `<acct>/<user>` (lower-cased) → LoginProfileRecord. */
  loginProfiles: 'iam_login_profiles',
  /** The account password policy: `<acct>` → PasswordPolicy. */
  passwordPolicy: 'iam_password_policy',
  /** A user's SSH keys, service-specific credentials, signing certificates: `<acct>/<user>/<id>`. */
  sshKeys: 'iam_ssh_keys',
  serviceCredentials: 'iam_service_credentials',
  signingCertificates: 'iam_signing_certificates',
  /** Server certificates: `<acct>/<name>` (lower-cased). */
  serverCertificates: 'iam_server_certificates',
  /** Service-linked role deletion tasks: `<acct>/<task id>`. */
  deletionTasks: 'iam_deletion_tasks',
  /** Account settings: `<acct>` → AccountSettingsRecord (alias, STS token version). */
  accountSettings: 'iam_account_settings',
  /** Account aliases, globally unique: `<alias>` → account. */
  accountAliases: 'iam_account_aliases',
  /** The last recorded use of each access key: `<key id>` → KeyUse. */
  accessKeyUse: 'iam_access_key_use',
  /** The newest credential report: `<acct>` → CredentialReportRecord. */
  credentialReports: 'iam_credential_reports',
  /** Outbound web identity federation: `<acct>` → OutboundFederationRecord. */
  outboundFederation: 'iam_outbound_federation',
  /** Issuer ids of outbound federation: `<issuer id>` → { account }. */
  outboundIssuers: 'iam_outbound_issuers',
  /** Organizations access report jobs: `<acct>/<job id>`. */
  organizationsJobs: 'iam_organizations_jobs',
  /** Service last accessed report jobs: `<acct>/<job id>` → AccessJobRecord. */
  accessJobs: 'iam_access_jobs',
  /** Last access attempts per principal and action: `<principal arn>\u0000<action>` → AccessRecord. */
  serviceAccess: 'iam_service_access',
} as const;

/** Identities that hold inline and attached policies. */
export type OwnerKind = 'role' | 'user' | 'group';

export interface RoleRecord {
  path: string;
  name: string;
  id: string;
  arn: string;
  /** ISO 8601 */
  created: string;
  trustPolicy: string;
  description?: string;
  maxSessionDuration: number;
  permissionsBoundary?: string;
  tags: Tag[];
}

export interface UserRecord {
  path: string;
  name: string;
  id: string;
  arn: string;
  created: string;
  permissionsBoundary?: string;
  tags: Tag[];
  accessKeyIds: string[];
}

export interface GroupRecord {
  path: string;
  name: string;
  id: string;
  arn: string;
  created: string;
}

export interface InstanceProfileRecord {
  path: string;
  name: string;
  id: string;
  arn: string;
  created: string;
  /** The one role it holds (its name as created), if any. */
  role?: string;
  tags: Tag[];
}

export interface RoleProfileRecord {
  /** The instance profile's name as created. */
  profile: string;
}

export const roleProfileKey = (account: string, role: string, profile: string): string =>
  `${account}/${role.toLowerCase()}/${profile.toLowerCase()}`;

/** A membership, under both keys: the names as created. */
export interface MembershipRecord {
  group: string;
  user: string;
}

/** Keys of a membership (names are unique without regard to case). */
export const memberKey = (account: string, group: string, user: string): string =>
  `${account}/${group.toLowerCase()}/${user.toLowerCase()}`;
export const userGroupKey = (account: string, user: string, group: string): string =>
  `${account}/${user.toLowerCase()}/${group.toLowerCase()}`;

export interface InlinePolicyRecord {
  name: string;
  document: string;
}

export interface AttachmentRecord {
  policyName: string;
  policyArn: string;
  /** The role or user name as created (keys hold it lower-cased). */
  owner: string;
}

export interface PolicyVersionRecord {
  id: string;
  document: string;
  created: string;
}

export interface PolicyRecord {
  name: string;
  id: string;
  arn: string;
  path: string;
  description?: string;
  created: string;
  updated: string;
  defaultVersionId: string;
  attachmentCount: number;
  tags: Tag[];
  /** Newest last; at most five. */
  versions: PolicyVersionRecord[];
  /** Version numbers are never reused, even after DeletePolicyVersion. */
  nextVersion: number;
}

export interface AwsPolicyUsageRecord {
  attachmentCount: number;
}

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface AccessKeyRecord {
  accessKeyId: string;
  secretAccessKey: string;
  status: AccessKeyStatus;
  created: string;
  account: string;
  userName: string;
  userArn: string;
  userId: string;
}

/** Key of a named entity (role, user, customer managed policy). */
export function nameKey(account: string, name: string): string {
  return `${account}/${name.toLowerCase()}`;
}

/** Prefix of everything an identity owns in `inline` / `attached`. */
export function ownerPrefix(account: string, kind: OwnerKind, owner: string): string {
  return `${account}/${kind}/${owner.toLowerCase()}/`;
}
