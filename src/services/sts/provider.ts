/**
 * STS: caller identity and temporary credentials.
 * https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html
 * Trust policies are not evaluated (Stratus does not enforce IAM policies); AssumeRole
 * does require the role to exist, as AWS refuses a role it cannot find.
 */
import {
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
} from '../../api/sts/errors.js';
import type { StsOperations } from '../../api/sts/operations.js';
import type { Credentials } from '../../api/sts/types.js';
import type { Principal, RequestContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import type { IamDirectory } from '../iam/directory.js';
import { policySize } from '../../shared/policy-documents.js';
import {
  accessKeyId,
  accountOfAccessKeyId,
  secretAccessKey,
  sessionToken,
} from '../../shared/aws-ids.js';
import type { SessionIndex, SessionRecord } from './sessions.js';

export interface StsDeps {
  iam: IamDirectory;
  sessions: SessionIndex;
  defaultAccount: string;
  now?: () => number;
}

/** "Role chaining limits your … session to a maximum of one hour." */
const CHAINED_MAX = 3600;
/** Root ("AWS account owner") sessions are capped at one hour. */
const ROOT_MAX = 3600;
const DEFAULT_ASSUME_DURATION = 3600;
const DEFAULT_TOKEN_DURATION = 43200;
/** Room for session policies and tags in the packed token, in plaintext characters. */
const PACKED_POLICY_BUDGET = 2048;

type StsProvider = Pick<
  StsOperations,
  'GetCallerIdentity' | 'AssumeRole' | 'GetSessionToken' | 'GetFederationToken' | 'GetAccessKeyInfo'
>;

const isSession = (p: Principal) =>
  p.arn.includes(':assumed-role/') || p.arn.includes(':federated-user/');
const isRoot = (p: Principal) => p.arn.endsWith(':root');

const validationError = (message: string) => new AwsError('ValidationError', 400, true, message);
const accessDenied = (message: string) => new AwsError('AccessDenied', 403, true, message);

const TWELVE_DIGITS = /^\d{12}$/;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\u0021-\u007e]*\/)?[\w+=,.@-]+$/;

/** Mints, stores and returns a session for `principal` in `account`. */
export async function mintSession(
  sessions: SessionIndex,
  now: number,
  account: string,
  principal: Principal,
  durationSeconds: number,
): Promise<SessionRecord> {
  // Expiration is reported to the second.
  const expiresAt = Math.floor(now / 1000) * 1000 + durationSeconds * 1000;
  const session: SessionRecord = {
    accessKeyId: accessKeyId('ASIA', account),
    secretAccessKey: secretAccessKey(),
    sessionToken: sessionToken(),
    expiresAt,
    account,
    principal,
  };
  await sessions.add(session);
  return session;
}

/** The assumed-role identity AWS reports for a role session. */
export function assumedRoleUser(
  account: string,
  role: { roleId: string; roleName: string },
  sessionName: string,
): { AssumedRoleId: string; Arn: string } {
  return {
    AssumedRoleId: `${role.roleId}:${sessionName}`,
    Arn: `arn:aws:sts::${account}:assumed-role/${role.roleName}/${sessionName}`,
  };
}

export function createStsProvider(deps: StsDeps): StsProvider {
  const now = deps.now ?? Date.now;

  const mint = async (
    account: string,
    principal: Principal,
    durationSeconds: number,
  ): Promise<Credentials> => {
    const session = await mintSession(deps.sessions, now(), account, principal, durationSeconds);
    return {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: new Date(session.expiresAt),
    };
  };

  /** Session policies and tags count against the packed size; AWS reports it as a percentage. */
  const packedPolicySize = (input: {
    Policy?: string;
    PolicyArns?: { arn?: string }[];
    Tags?: { Key: string; Value: string }[];
  }): number | undefined => {
    if (input.Policy === undefined && !input.PolicyArns?.length && !input.Tags?.length)
      return undefined;
    let size = 0;
    if (input.Policy !== undefined) {
      try {
        JSON.parse(input.Policy);
      } catch {
        throw new MalformedPolicyDocumentException('The policy is not in the valid JSON format.');
      }
      size += policySize(input.Policy);
    }
    for (const p of input.PolicyArns ?? []) size += p.arn?.length ?? 0;
    for (const t of input.Tags ?? []) size += t.Key.length + t.Value.length;
    const percent = Math.max(1, Math.ceil((size * 100) / PACKED_POLICY_BUDGET));
    if (percent > 100) {
      throw new PackedPolicyTooLargeException(
        `Packed policy consumes ${percent}% of allotted space, please use smaller policy for this request.`,
      );
    }
    return percent;
  };

  const sessionDuration = (
    requested: number | undefined,
    fallback: number,
    ctx: RequestContext,
    op: string,
  ) => {
    if (isSession(ctx.principal)) {
      throw accessDenied(`Cannot call ${op} with session credentials`);
    }
    const duration = requested ?? fallback;
    return isRoot(ctx.principal) ? Math.min(duration, ROOT_MAX) : duration;
  };

  return {
    async GetCallerIdentity(_input, ctx) {
      return { UserId: ctx.principal.userId, Account: ctx.account, Arn: ctx.principal.arn };
    },

    async AssumeRole(input, ctx) {
      const denied = () =>
        accessDenied(
          `User: ${ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
        );
      const match = ROLE_ARN.exec(input.RoleArn);
      if (!match) throw denied();
      const role = await deps.iam.findRole(match[1], input.RoleArn);
      if (!role) throw denied();

      const duration = input.DurationSeconds ?? DEFAULT_ASSUME_DURATION;
      if (isSession(ctx.principal) && duration > CHAINED_MAX) {
        throw validationError(
          'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
        );
      }
      if (duration > role.maxSessionDuration) {
        throw validationError(
          'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
        );
      }
      const packed = packedPolicySize(input);
      const account = match[1];
      const assumed = assumedRoleUser(account, role, input.RoleSessionName);
      const Credentials = await mint(
        account,
        { arn: assumed.Arn, userId: assumed.AssumedRoleId },
        duration,
      );
      return {
        Credentials,
        AssumedRoleUser: assumed,
        ...(packed !== undefined && { PackedPolicySize: packed }),
        ...(input.SourceIdentity !== undefined && { SourceIdentity: input.SourceIdentity }),
      };
    },

    async GetSessionToken(input, ctx) {
      const duration = sessionDuration(
        input.DurationSeconds,
        DEFAULT_TOKEN_DURATION,
        ctx,
        'GetSessionToken',
      );
      return { Credentials: await mint(ctx.account, ctx.principal, duration) };
    },

    async GetFederationToken(input, ctx) {
      const duration = sessionDuration(
        input.DurationSeconds,
        DEFAULT_TOKEN_DURATION,
        ctx,
        'GetFederationToken',
      );
      const packed = packedPolicySize(input);
      const user = {
        FederatedUserId: `${ctx.account}:${input.Name}`,
        Arn: `arn:aws:sts::${ctx.account}:federated-user/${input.Name}`,
      };
      const Credentials = await mint(
        ctx.account,
        { arn: user.Arn, userId: user.FederatedUserId },
        duration,
      );
      return {
        Credentials,
        FederatedUser: user,
        ...(packed !== undefined && { PackedPolicySize: packed }),
      };
    },

    async GetAccessKeyInfo(input) {
      // Real key ids carry their account; Stratus's permissive mode reads a 12-digit key id
      // as the account itself; anything else belongs to the default account.
      const id = input.AccessKeyId;
      const Account =
        accountOfAccessKeyId(id) ?? (TWELVE_DIGITS.test(id) ? id : deps.defaultAccount);
      return { Account };
    },
  };
}
