/**
 * Registry credentials (GetAuthorizationToken, what `aws ecr get-login-password` calls). The token is base64 of `AWS:<password>`, valid for 12 hours; see
 * auth-token.ts for what the password holds.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html
 */
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { AuthorizationData } from '../../api/ecr/types.js';
import { registryHost, type EcrDeps } from './common.js';

type AuthOperations = Pick<EcrOperations, 'GetAuthorizationToken'>;

export function authOperations(deps: EcrDeps): AuthOperations {
  return {
    async GetAuthorizationToken(input, ctx) {
      // registryIds is deprecated ("the returned token can be used to access any Amazon
      // ECR registry that the IAM principal has access to"); given, each gets its own.
      const accounts = input.registryIds?.length ? [...new Set(input.registryIds)] : [ctx.account];
      const authorizationData: AuthorizationData[] = [];
      for (const account of accounts) {
        const { token, expiresAt } = await deps.tokens.issue({
          account,
          region: ctx.region,
          accessKeyId: ctx.accessKeyId,
        });
        authorizationData.push({
          authorizationToken: token,
          expiresAt: new Date(expiresAt),
          proxyEndpoint: `https://${registryHost({ account, region: ctx.region })}`,
        });
      }
      return { authorizationData };
    },
  };
}
