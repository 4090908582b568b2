/**
 * ECR's answer to the gateway's authoriser: a repository's policy (SetRepositoryPolicy)
 * and its tags (aws:ResourceTag/*), by ARN (`arn:aws:ecr:<region>:<account>:repository/<name>`).
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html
 */
import { compiledPolicy } from '../../policy/document.js';
import type { ResourceInfo, ResourcePolicySource } from '../../policy/sources.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { T, repositoryKey, type RepositoryRecord } from './store.js';

export function ecrResourcePolicies(store: MetadataOps): ResourcePolicySource {
  return {
    prefix: 'ecr',
    async resource(arn: string): Promise<ResourceInfo | undefined> {
      const parsed = parseArn(arn);
      if (!parsed?.resource.startsWith('repository/')) return undefined;
      const name = parsed.resource.slice('repository/'.length);
      const repo = await store.get<RepositoryRecord>(
        T.repositories,
        repositoryKey({ account: parsed.account, region: parsed.region }, name),
      );
      if (!repo) return undefined;
      return {
        tags: Object.fromEntries(repo.tags.map((t) => [t.Key, t.Value])),
        ...(repo.policyText !== undefined && { policy: compiledPolicy(repo.policyText, arn) }),
      };
    },
  };
}
