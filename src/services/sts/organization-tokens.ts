/**
 * STS operations that need what no Stratus account has: an organization with centralized
 * root access (AssumeRoot) and an accepted delegation request (GetDelegatedAccessToken).
 * Each answers AWS's refusal for such an account instead of NotImplemented.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html
 */
import type { StsOperations } from '../../api/sts/operations.js';
import { accessDenied } from './common.js';

type OrganizationTokenOps = Pick<StsOperations, 'AssumeRoot' | 'GetDelegatedAccessToken'>;

export function organizationTokenOperations(): OrganizationTokenOps {
  return {
    /**
     * "Before you can launch a privileged session, you must have centralized root access in
     * your organization": the caller is never a management or delegated administrator account.
     */
    async AssumeRoot(input, ctx) {
      throw accessDenied(
        `User: ${ctx.principal?.arn ?? ctx.account} is not authorized to perform: sts:AssumeRoot on resource: ${input.TargetPrincipal} because centralized root access is not enabled: the account is not the management account or a delegated administrator of an organization`,
      );
    },
    /** A trade-in token comes from an accepted delegation request; none can exist here. */
    async GetDelegatedAccessToken() {
      throw accessDenied(
        'The trade-in token is not valid: it was not issued for an accepted delegation request.',
      );
    },
  };
}
