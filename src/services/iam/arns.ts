/**
 * IAM ARNs: `arn:aws:iam::<account>:<type><path><name>`, the path being `/` or
 * `/a/b/`. AWS managed policies use the account field `aws`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
 */

import { buildArn, isAccountId, parseArn } from '../../shared/arn.js';

export type IamResourceType =
  'role' | 'user' | 'policy' | 'group' | 'instance-profile' | 'server-certificate';

export function iamArn(account: string, type: IamResourceType, path: string, name: string): string {
  return buildArn('iam', '', account, `${type}${path}${name}`);
}

export interface ParsedIamArn {
  /** 12 digits, or `aws` for AWS managed policies. */
  account: string;
  path: string;
  name: string;
}

/** Splits an IAM ARN of the given type; undefined when it is not one. */
export function parseIamArn(arn: string, type: IamResourceType): ParsedIamArn | undefined {
  const parsed = parseArn(arn);
  if (parsed?.partition !== 'aws' || parsed.service !== 'iam' || parsed.region !== '') {
    return undefined;
  }
  const { account, resource: rest } = parsed;
  if (account !== 'aws' && !isAccountId(account)) return undefined;
  if (!rest.startsWith(type + '/')) return undefined;
  const lastSlash = rest.lastIndexOf('/');
  const name = rest.slice(lastSlash + 1);
  if (name === '') return undefined;
  return { account, path: rest.slice(type.length, lastSlash + 1), name };
}
