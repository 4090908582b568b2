/**
 * The execution role must exist in IAM and trust Lambda to assume it; otherwise AWS answers
 * InvalidParameterValueException "The role defined for the function cannot be assumed by
 * Lambda." https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
 */
import type { IamDirectory } from '../iam/directory.js';
import { invalidParameter } from './errors.js';

const LAMBDA_PRINCIPAL = 'lambda.amazonaws.com';

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

function allowsAssumeRole(action: unknown): boolean {
  return asList(action).some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*');
}

function namesLambda(principal: unknown): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const p = principal as Record<string, unknown>;
  return asList(p.Service).includes(LAMBDA_PRINCIPAL) || asList(p.AWS).includes('*');
}

/** Whether a parsed trust policy lets lambda.amazonaws.com call sts:AssumeRole. */
export function trustsLambda(document: unknown): boolean {
  if (typeof document !== 'object' || document === null) return false;
  return asList((document as { Statement?: unknown }).Statement).some((s) => {
    if (typeof s !== 'object' || s === null) return false;
    const st = s as Record<string, unknown>;
    return st.Effect === 'Allow' && allowsAssumeRole(st.Action) && namesLambda(st.Principal);
  });
}

export async function checkExecutionRole(
  iam: IamDirectory,
  account: string,
  roleArn: string,
): Promise<void> {
  const role = await iam.findRole(account, roleArn);
  if (!role || !trustsLambda(role.assumeRolePolicyDocument)) {
    throw invalidParameter('The role defined for the function cannot be assumed by Lambda.');
  }
}
