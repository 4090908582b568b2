/**
 * Who is calling: GetCallerIdentity and GetAccessKeyInfo.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
 */
import type { StsOperations } from '../../api/sts/operations.js';
import { accountOfAccessKeyId } from '../../shared/aws-ids.js';
import { isAccountId } from '../../shared/arn.js';
import type { StsDeps } from './common.js';

type IdentityOps = Pick<StsOperations, 'GetCallerIdentity' | 'GetAccessKeyInfo'>;

export function identityOperations(deps: StsDeps): IdentityOps {
  return {
    async GetCallerIdentity(_input, ctx) {
      return { UserId: ctx.principal.userId, Account: ctx.account, Arn: ctx.principal.arn };
    },
    async GetAccessKeyInfo(input) {
      // Real key ids carry their account; Stratus's permissive mode reads a 12-digit key id
      // as the account itself; anything else belongs to the default account.
      const id = input.AccessKeyId;
      const Account = accountOfAccessKeyId(id) ?? (isAccountId(id) ? id : deps.defaultAccount);
      return { Account };
    },
  };
}
