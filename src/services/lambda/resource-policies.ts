/**
 * Lambda's answer to the gateway's authoriser: a function's resource-based policy (the one
 * AddPermission builds, per qualifier) and its tags (aws:ResourceTag/*), by ARN.
 * https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
 */
import { compiledPolicy } from '../../policy/document.js';
import type { ResourceInfo, ResourcePolicySource } from '../../policy/sources.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST } from './arns.js';
import { renderPolicy } from './policies.js';
import { T, functionKey, qualifierKey, type FunctionRecord, type PolicyRecord } from './store.js';

export function lambdaResourcePolicies(store: MetadataOps): ResourcePolicySource {
  return {
    prefix: 'lambda',
    async resource(arn: string): Promise<ResourceInfo | undefined> {
      const parsed = parseArn(arn);
      if (!parsed?.resource.startsWith('function:')) return undefined;
      const [, name, qualifier] = parsed.resource.split(':');
      const key = functionKey({ account: parsed.account, region: parsed.region }, name);
      const fn = await store.get<FunctionRecord>(T.functions, key);
      if (!fn) return undefined;
      const policy = await store.get<PolicyRecord>(
        T.policies,
        qualifierKey(key, qualifier ?? LATEST),
      );
      return {
        tags: fn.tags,
        ...(policy && { policy: compiledPolicy(renderPolicy(policy.statements), arn) }),
      };
    },
  };
}
