/**
 * Role sessions minted for AWS service principals: the credentials Lambda hands a function
 * for its execution role (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN).
 * They are ordinary STS sessions in the SessionIndex, so they authenticate in strict mode
 * and GetCallerIdentity reports `arn:aws:sts::<account>:assumed-role/<role>/<session>`, as
 * it does inside a real function (whose session name is the function name).
 */
import { AwsError } from '../../shared/errors.js';
import type { IamDirectory } from '../iam/directory.js';
import type { RoleCredentials, SessionIssuer } from './issuer.js';
import { assumedRoleUser, mintSession } from './common.js';
import type { SessionIndex } from './sessions.js';

export interface ServiceIssuerDeps {
  iam: IamDirectory;
  sessions: SessionIndex;
  now?: () => number;
}

export function createSessionIssuer(deps: ServiceIssuerDeps): SessionIssuer {
  const now = deps.now ?? Date.now;
  return {
    async assumeRoleForService(
      account: string,
      roleArn: string,
      sessionName: string,
      durationSeconds: number,
    ): Promise<RoleCredentials> {
      const role = await deps.iam.findRole(account, roleArn);
      if (!role) {
        throw new AwsError(
          'AccessDenied',
          403,
          true,
          `The role ${roleArn} does not exist or cannot be assumed`,
        );
      }
      const user = assumedRoleUser(account, role, sessionName);
      const duration = Math.min(durationSeconds, role.maxSessionDuration);
      const session = await mintSession(
        deps.sessions,
        now(),
        account,
        { arn: user.Arn, userId: user.AssumedRoleId },
        duration,
      );
      return {
        accessKeyId: session.accessKeyId,
        secretAccessKey: session.secretAccessKey,
        sessionToken: session.sessionToken,
        expiresAt: session.expiresAt,
      };
    },
  };
}
