/**
 * What STS's operation modules share: their deps, session minting, and the identities AWS
 * reports for role and federated sessions.
 */
import type { Credentials } from '../../api/sts/types.js';
import { buildArn, isAccountId, parseArn } from '../../shared/arn.js';
import { accessKeyId, secretAccessKey, sessionToken } from '../../shared/aws-ids.js';
import type { Principal, SessionContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import type { RequestFacts } from '../../policy/context.js';
import { compiledPolicy, evaluatePolicies } from '../../policy/document.js';
import type { IamDirectory, IamRoleInfo } from '../iam/directory.js';
import type { AuthorizationMessages } from './authorization-messages.js';
import type { OutboundTokens } from './outbound-tokens.js';
import type { SessionIndex, SessionRecord } from './sessions.js';

export interface StsDeps {
  iam: IamDirectory;
  sessions: SessionIndex;
  /** Seals and opens encoded authorization messages (DecodeAuthorizationMessage). */
  messages?: AuthorizationMessages;
  /** GetWebIdentityToken's signing keys (outbound identity federation). */
  outbound?: OutboundTokens;
  defaultAccount: string;
  now?: () => number;
}

export const isSession = (p: Principal): boolean =>
  p.arn.includes(':assumed-role/') || p.arn.includes(':federated-user/');
export const isRoot = (p: Principal): boolean => p.arn.endsWith(':root');

export const validationError = (message: string): AwsError =>
  new AwsError('ValidationError', 400, true, message);
export const accessDenied = (message: string): AwsError =>
  new AwsError('AccessDenied', 403, true, message);

const ROLE_RESOURCE = /^role\/(?:[\u0021-\u007e]*\/)?[\w+=,.@-]+$/;

/** The account of a role ARN (`arn:aws:iam::<account>:role[/path]/<name>`); undefined for any other. */
export function roleArnAccount(arn: string): string | undefined {
  const parsed = parseArn(arn);
  return parsed?.partition === 'aws' &&
    parsed.service === 'iam' &&
    parsed.region === '' &&
    isAccountId(parsed.account) &&
    ROLE_RESOURCE.test(parsed.resource)
    ? parsed.account
    : undefined;
}

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
    Arn: buildArn('sts', '', account, `assumed-role/${role.roleName}/${sessionName}`),
  };
}

/** A new session of `role` named `sessionName`: its credentials and the identity AWS reports. */
export async function roleSession(
  deps: StsDeps,
  account: string,
  role: { roleId: string; roleName: string },
  sessionName: string,
  session: SessionContext | undefined,
  durationSeconds: number,
): Promise<{ Credentials: Credentials; AssumedRoleUser: { AssumedRoleId: string; Arn: string } }> {
  const assumed = assumedRoleUser(account, role, sessionName);
  const Credentials = await mintCredentials(
    deps,
    account,
    { arn: assumed.Arn, userId: assumed.AssumedRoleId, ...(session && { session }) },
    durationSeconds,
  );
  return { Credentials, AssumedRoleUser: assumed };
}

/** Mints a session and returns it as the Credentials shape STS answers with. */
export async function mintCredentials(
  deps: StsDeps,
  account: string,
  principal: Principal,
  durationSeconds: number,
): Promise<Credentials> {
  const now = deps.now ?? Date.now;
  const session = await mintSession(deps.sessions, now(), account, principal, durationSeconds);
  return {
    AccessKeyId: session.accessKeyId,
    SecretAccessKey: session.secretAccessKey,
    SessionToken: session.sessionToken,
    Expiration: new Date(session.expiresAt),
  };
}

/** A session may not outlast the role's MaxSessionDuration. */
export function checkRoleDuration(durationSeconds: number, role: IamRoleInfo): void {
  if (durationSeconds > role.maxSessionDuration) {
    throw validationError(
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
}

/**
 * Whether the role's trust policy lets the users of a federated identity provider (OIDC or
 * SAML) assume it: an Allow for `action` to the provider and no Deny, given `facts`.
 */
export function trustAllowsFederated(
  role: IamRoleInfo,
  action: string,
  facts: RequestFacts,
  providerArn: string,
): boolean {
  const trust = compiledPolicy(JSON.stringify(role.assumeRolePolicyDocument), role.arn);
  const verdict = evaluatePolicies(
    [trust],
    { action, resource: role.arn, facts },
    { federated: providerArn },
  );
  return !verdict.deny && verdict.allow !== undefined;
}
