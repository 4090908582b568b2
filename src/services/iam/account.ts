/**
 * Account-wide IAM: the account alias, STS's global endpoint token version, and
 * GetAccountSummary's usage counts from the store beside the default quotas
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html).
 */
import {
  EntityAlreadyExistsException,
  LimitExceededException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { IamDeps } from './common.js';
import type { MfaDeviceRecord } from './mfa.js';
import { MAX_ATTACHED } from './policies.js';
import { T } from './store.js';

export interface AccountSettingsRecord {
  alias?: string;
  /** SetSecurityTokenServicePreferences: 1 (v1Token) or 2 (v2Token). */
  tokenVersion?: number;
}

type AccountOps = Pick<
  IamOperations,
  | 'GetAccountSummary'
  | 'CreateAccountAlias'
  | 'DeleteAccountAlias'
  | 'ListAccountAliases'
  | 'SetSecurityTokenServicePreferences'
>;

export function accountOperations(deps: IamDeps): AccountOps {
  const { store } = deps;
  const settings = async (account: string) =>
    (await store.get<AccountSettingsRecord>(T.accountSettings, account)) ?? {};
  return {
    /** "An AWS account can have only one alias"; aliases are unique across AWS. */
    async CreateAccountAlias(input, ctx) {
      await store.transaction(async (tx) => {
        const s = (await tx.get<AccountSettingsRecord>(T.accountSettings, ctx.account)) ?? {};
        if (s.alias === input.AccountAlias) return;
        if (s.alias !== undefined) {
          throw new LimitExceededException('Cannot exceed quota for AccountAliasesPerAccount: 1');
        }
        if (!(await tx.insert(T.accountAliases, input.AccountAlias, ctx.account))) {
          throw new EntityAlreadyExistsException(
            `The account alias ${input.AccountAlias} already exists.`,
          );
        }
        await tx.put(T.accountSettings, ctx.account, { ...s, alias: input.AccountAlias });
      });
    },

    async DeleteAccountAlias(input, ctx) {
      await store.transaction(async (tx) => {
        const s = (await tx.get<AccountSettingsRecord>(T.accountSettings, ctx.account)) ?? {};
        if (s.alias !== input.AccountAlias) {
          throw new NoSuchEntityException(
            `The account alias ${input.AccountAlias} cannot be found.`,
          );
        }
        await tx.delete(T.accountAliases, input.AccountAlias);
        delete s.alias;
        await tx.put(T.accountSettings, ctx.account, s);
      });
    },

    async ListAccountAliases(_input, ctx) {
      const { alias } = await settings(ctx.account);
      return { AccountAliases: alias === undefined ? [] : [alias], IsTruncated: false };
    },

    async SetSecurityTokenServicePreferences(input, ctx) {
      await store.transaction(async (tx) => {
        const s = (await tx.get<AccountSettingsRecord>(T.accountSettings, ctx.account)) ?? {};
        s.tokenVersion = input.GlobalEndpointTokenVersion === 'v2Token' ? 2 : 1;
        await tx.put(T.accountSettings, ctx.account, s);
      });
    },

    async GetAccountSummary(_input, ctx) {
      const prefix = `${ctx.account}/`;
      const [
        users,
        roles,
        policies,
        attachments,
        groups,
        profiles,
        oidc,
        saml,
        certificates,
        devices,
        account,
      ] = await Promise.all([
        store.count(T.users, prefix),
        store.count(T.roles, prefix),
        store.count(T.policies, prefix),
        store.count(T.attached, prefix),
        store.count(T.groups, prefix),
        store.count(T.instanceProfiles, prefix),
        store.count(T.oidcProviders, prefix),
        store.count(T.samlProviders, prefix),
        store.count(T.serverCertificates, prefix),
        store.list<MfaDeviceRecord>(T.mfaDevices, { prefix }),
        settings(ctx.account),
      ]);
      return {
        SummaryMap: {
          Users: users,
          UsersQuota: 5000,
          Groups: groups,
          GroupsQuota: 300,
          GroupsPerUserQuota: 10,
          ServerCertificates: certificates,
          ServerCertificatesQuota: 20,
          UserPolicySizeQuota: 2048,
          GroupPolicySizeQuota: 5120,
          RolePolicySizeQuota: 10240,
          SigningCertificatesPerUserQuota: 2,
          AccessKeysPerUserQuota: 2,
          MFADevices: devices.length,
          MFADevicesInUse: devices.filter((d) => d.value.user !== undefined).length,
          AccountMFAEnabled: 0,
          // The root user's keys (`test`/`test` and the like) always work in Stratus.
          AccountAccessKeysPresent: 1,
          AccountPasswordPresent: 0,
          AccountSigningCertificatesPresent: 0,
          AttachedPoliciesPerGroupQuota: 10,
          AttachedPoliciesPerRoleQuota: MAX_ATTACHED,
          AttachedPoliciesPerUserQuota: MAX_ATTACHED,
          Policies: policies,
          PoliciesQuota: 1500,
          PolicySizeQuota: 6144,
          PolicyVersionsInUse: attachments,
          PolicyVersionsInUseQuota: 10000,
          VersionsPerPolicyQuota: 5,
          GlobalEndpointTokenVersion: account.tokenVersion ?? 1,
          AssumeRolePolicySizeQuota: 2048,
          InstanceProfiles: profiles,
          InstanceProfilesQuota: 1000,
          Providers: oidc + saml,
          Roles: roles,
          RolesQuota: 1000,
        },
      };
    },
  };
}
