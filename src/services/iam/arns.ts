/**
 * IAM ARNs: `arn:aws:iam::<account>:<type><path><name>`, the path being `/` or
 * `/a/b/`. AWS managed policies use the account field `aws`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
 */

export type IamResourceType = 'role' | 'user' | 'policy';

export function iamArn(account: string, type: IamResourceType, path: string, name: string): string {
  return `arn:aws:iam::${account}:${type}${path}${name}`;
}

export interface ParsedIamArn {
  /** 12 digits, or `aws` for AWS managed policies. */
  account: string;
  path: string;
  name: string;
}

/** Splits an IAM ARN of the given type; undefined when it is not one. */
export function parseIamArn(arn: string, type: IamResourceType): ParsedIamArn | undefined {
  if (!arn.startsWith('arn:aws:iam::')) return undefined;
  const colon = arn.indexOf(':', 13);
  if (colon < 0) return undefined;
  const account = arn.slice(13, colon);
  if (account !== 'aws' && !isAccountId(account)) return undefined;
  const rest = arn.slice(colon + 1);
  if (!rest.startsWith(type + '/')) return undefined;
  const lastSlash = rest.lastIndexOf('/');
  const name = rest.slice(lastSlash + 1);
  if (name === '') return undefined;
  return { account, path: rest.slice(type.length, lastSlash + 1), name };
}

function isAccountId(s: string): boolean {
  if (s.length !== 12) return false;
  for (let i = 0; i < 12; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
