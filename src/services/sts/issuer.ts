/**
 * What other services may ask STS: temporary credentials for a role, as AWS hands a Lambda
 * function (or an ECS task) the credentials of its execution role.
 */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface SessionIssuer {
  /** Assumes the role on behalf of an AWS service principal (no caller to authorize). */
  assumeRoleForService(
    account: string,
    roleArn: string,
    sessionName: string,
    durationSeconds: number,
  ): Promise<RoleCredentials>;
}
