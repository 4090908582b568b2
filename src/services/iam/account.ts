/**
 * GetAccountSummary: usage counts from the store beside the default quotas
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html).
 */
import type { IamOperations } from '../../api/iam/operations.js';
import type { IamDeps } from './common.js';
import { MAX_ATTACHED } from './policies.js';
import { T } from './store.js';

export function accountOperations(deps: IamDeps): Pick<IamOperations, 'GetAccountSummary'> {
  const { store } = deps;
  return {
    async GetAccountSummary(_input, ctx) {
      const prefix = `${ctx.account}/`;
      const [users, roles, policies, attachments, groups, profiles] = await Promise.all([
        store.count(T.users, prefix),
        store.count(T.roles, prefix),
        store.count(T.policies, prefix),
        store.count(T.attached, prefix),
        store.count(T.groups, prefix),
        store.count(T.instanceProfiles, prefix),
      ]);
      return {
        SummaryMap: {
          Users: users,
          UsersQuota: 5000,
          Groups: groups,
          GroupsQuota: 300,
          GroupsPerUserQuota: 10,
          ServerCertificates: 0,
          ServerCertificatesQuota: 20,
          UserPolicySizeQuota: 2048,
          GroupPolicySizeQuota: 5120,
          RolePolicySizeQuota: 10240,
          SigningCertificatesPerUserQuota: 2,
          AccessKeysPerUserQuota: 2,
          MFADevices: 0,
          MFADevicesInUse: 0,
          AccountMFAEnabled: 0,
          AccountAccessKeysPresent: 0,
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
          GlobalEndpointTokenVersion: 1,
          AssumeRolePolicySizeQuota: 2048,
          InstanceProfiles: profiles,
          InstanceProfilesQuota: 1000,
          Providers: 0,
          Roles: roles,
          RolesQuota: 1000,
        },
      };
    },
  };
}
