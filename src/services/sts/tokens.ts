/**
 * Temporary credentials: AssumeRole, GetSessionToken and GetFederationToken.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * Whether the caller may assume a role (its identity policies and the role's trust policy)
 * is decided by the gateway's authoriser before the call gets here (with --iam enforce);
 * AssumeRole does require the role to exist, as AWS refuses a role it cannot find. Session
 * policies and tags ride on the session's principal, where the authoriser reads them.
 */
import {
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
} from '../../api/sts/errors.js';
import type { StsOperations } from '../../api/sts/operations.js';
import { buildArn } from '../../shared/arn.js';
import type { RequestContext, SessionContext } from '../../shared/context.js';
import { policySize } from '../../shared/policy-documents.js';
import {
  accessDenied,
  checkRoleDuration,
  isRoot,
  isSession,
  mintCredentials,
  roleArnAccount,
  roleSession,
  type StsDeps,
  validationError,
} from './common.js';

type TokenOps = Pick<StsOperations, 'AssumeRole' | 'GetSessionToken' | 'GetFederationToken'>;

/** "Role chaining limits your … session to a maximum of one hour." */
const CHAINED_MAX = 3600;
/** Root ("AWS account owner") sessions are capped at one hour. */
const ROOT_MAX = 3600;
const DEFAULT_ASSUME_DURATION = 3600;
const DEFAULT_TOKEN_DURATION = 43200;
/** Room for session policies and tags in the packed token, in plaintext characters. */
const PACKED_POLICY_BUDGET = 2048;

/** The session policies and tags a session keeps (undefined when it was given none). */
export function sessionContext(input: {
  Policy?: string;
  PolicyArns?: { arn?: string }[];
  Tags?: { Key: string; Value: string }[];
}): SessionContext | undefined {
  const out: SessionContext = {};
  if (input.Policy !== undefined) out.policy = input.Policy;
  const arns = (input.PolicyArns ?? []).flatMap((p) => (p.arn ? [p.arn] : []));
  if (arns.length > 0) out.policyArns = arns;
  if (input.Tags?.length) out.tags = Object.fromEntries(input.Tags.map((t) => [t.Key, t.Value]));
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Session policies and tags count against the packed size; AWS reports it as a percentage. */
export function packedPolicySize(input: {
  Policy?: string;
  PolicyArns?: { arn?: string }[];
  Tags?: { Key: string; Value: string }[];
}): number | undefined {
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
}

/**
 * Checks the caller's MFA code (GetSessionToken's SerialNumber and TokenCode) and returns
 * when it was checked; AWS's AccessDenied when the device is not the caller's or the code
 * is wrong or already used.
 */
async function checkMfa(
  deps: StsDeps,
  ctx: RequestContext,
  serial: string | undefined,
  code: string | undefined,
): Promise<number> {
  const at = ctx.principal.arn.indexOf(':user/');
  const userName =
    at < 0 ? undefined : ctx.principal.arn.slice(ctx.principal.arn.lastIndexOf('/') + 1);
  if (serial === undefined || code === undefined || userName === undefined) {
    throw accessDenied(
      'MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.',
    );
  }
  if (!(await deps.iam.consumeMfaCode(ctx.account, userName, serial, code))) {
    throw accessDenied('MultiFactorAuthentication failed with invalid MFA one time pass code. ');
  }
  return (deps.now ?? Date.now)();
}

export function tokenOperations(deps: StsDeps): TokenOps {
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
    async AssumeRole(input, ctx) {
      const denied = () =>
        accessDenied(
          `User: ${ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
        );
      const account = roleArnAccount(input.RoleArn);
      if (account === undefined) throw denied();
      const role = await deps.iam.findRole(account, input.RoleArn);
      if (!role) throw denied();

      const duration = input.DurationSeconds ?? DEFAULT_ASSUME_DURATION;
      if (isSession(ctx.principal) && duration > CHAINED_MAX) {
        throw validationError(
          'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
        );
      }
      checkRoleDuration(duration, role);
      const packed = packedPolicySize(input);
      let session = sessionContext(input);
      if (input.SerialNumber !== undefined || input.TokenCode !== undefined) {
        const at = await checkMfa(deps, ctx, input.SerialNumber, input.TokenCode);
        session = { ...session, mfaAuthenticatedAt: at };
      }
      const minted = await roleSession(
        deps,
        account,
        role,
        input.RoleSessionName,
        session,
        duration,
      );
      return {
        ...minted,
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
      const session: SessionContext = { ...ctx.principal.session, temporary: true };
      if (input.SerialNumber !== undefined || input.TokenCode !== undefined) {
        session.mfaAuthenticatedAt = await checkMfa(deps, ctx, input.SerialNumber, input.TokenCode);
      }
      const principal = { ...ctx.principal, session };
      return { Credentials: await mintCredentials(deps, ctx.account, principal, duration) };
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
        Arn: buildArn('sts', '', ctx.account, `federated-user/${input.Name}`),
      };
      const session = {
        ...sessionContext(input),
        ...(ctx.principal.arn.includes(':user/') && { sourceUser: ctx.principal.arn }),
      };
      const Credentials = await mintCredentials(
        deps,
        ctx.account,
        { arn: user.Arn, userId: user.FederatedUserId, session },
        duration,
      );
      return {
        Credentials,
        FederatedUser: user,
        ...(packed !== undefined && { PackedPolicySize: packed }),
      };
    },
  };
}
