/**
 * What other services may ask IAM (STS AssumeRole, Lambda's execution role check),
 * without reaching into IAM's store.
 */
export interface IamRoleInfo {
  roleName: string;
  roleId: string;
  arn: string;
  /** Parsed trust policy document. */
  assumeRolePolicyDocument: unknown;
  maxSessionDuration: number;
}

export interface IamDirectory {
  /** Looks a role up by name or by ARN within the account. */
  findRole(account: string, roleNameOrArn: string): Promise<IamRoleInfo | undefined>;
}
