/**
 * ARNs, one module for every service:
 * `arn:<partition>:<service>:<region>:<account>:<resource>`, the resource being everything
 * after the fifth colon (`function:f:1`, `role/path/name`, `log-group:/a/b:*`).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
 * Services build their ARNs here and parse them with parseArn, then check the resource
 * part their own way.
 */
import type { Principal } from './context.js';

export interface Arn {
  partition: string;
  service: string;
  /** Empty for global services (IAM, STS). */
  region: string;
  /** 12 digits; `aws` for AWS managed IAM policies; empty for some resources. */
  account: string;
  resource: string;
}

export const PARTITION = 'aws';

/** `arn:aws:<service>:<region>:<account>:<resource>`. */
export function buildArn(
  service: string,
  region: string,
  account: string,
  resource: string,
): string {
  return `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;
}

/** Splits an ARN of any partition (`aws`, `aws-cn`, `aws-us-gov`); undefined when it is none. */
export function parseArn(arn: string): Arn | undefined {
  if (!arn.startsWith('arn:')) return undefined;
  const parts: string[] = [];
  let from = 4;
  for (let i = 0; i < 4; i++) {
    const colon = arn.indexOf(':', from);
    if (colon < 0) return undefined;
    parts.push(arn.slice(from, colon));
    from = colon + 1;
  }
  const [partition, service, region, account] = parts;
  if (!PARTITION_RE.test(partition)) return undefined;
  return { partition, service, region, account, resource: arn.slice(from) };
}

const PARTITION_RE = /^aws[\w-]*$/;
const ACCOUNT_RE = /^\d{12}$/;

export const isAccountId = (s: string): boolean => ACCOUNT_RE.test(s);

/** The account root principal's ARN, `arn:aws:iam::<account>:root`. */
export const rootArn = (account: string): string => buildArn('iam', '', account, 'root');

/** The account root principal (root keys, and services acting for the account). */
export const rootPrincipal = (account: string): Principal => ({
  arn: rootArn(account),
  userId: account,
});
