/** What every provider operation learns about its caller. */
export interface RequestContext {
  requestId: string;
  /** 12-digit account id every resource is scoped by. */
  account: string;
  region: string;
  /** The caller's access key id ('' for unsigned requests). */
  accessKeyId: string;
  /** The identity behind the key, as STS GetCallerIdentity reports it. */
  principal: Principal;
  /**
   * The gateway's authoriser allowed this call by AWS's policy logic (`--iam enforce`): a
   * resource in another account named by the input was granted by its resource policy, so
   * the service may follow the reference instead of refusing it.
   */
  authorized?: boolean;
}

export interface Principal {
  /** e.g. arn:aws:iam::000000000000:root, …:user/alice, …:assumed-role/r/session */
  arn: string;
  /** AIDA… for users, AROA…:session for assumed roles, the account for root. */
  userId: string;
  /** What a temporary session carries beyond its identity (STS). */
  session?: SessionContext;
}

/**
 * A session's source and limits: "the resulting session's permissions are the intersection
 * of the role's identity-based policy and the session policies".
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
 */
export interface SessionContext {
  /** The IAM user behind a federation token (assumed-role sessions name their role in the ARN). */
  sourceUser?: string;
  /** Session policies: the inline document and managed policy ARNs passed to STS. */
  policy?: string;
  policyArns?: string[];
  /** Session tags (aws:PrincipalTag/*, over the role's own tags). */
  tags?: Record<string, string>;
  /** When the session's MFA code was checked (ms since the epoch): aws:MultiFactorAuthPresent. */
  mfaAuthenticatedAt?: number;
  /** Temporary credentials of a user (GetSessionToken): aws:MultiFactorAuthPresent is false without MFA. */
  temporary?: boolean;
}

/** Secrets the strict-mode authenticator checks signatures with. */
export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  account: string;
  principal: Principal;
  /** Temporary credentials carry a session token and expire. */
  sessionToken?: string;
  expiresAt?: number;
}

/** Implemented by the plugins that mint keys (IAM users, STS sessions). */
export interface CredentialSource {
  findCredential(accessKeyId: string): Promise<Credential | undefined>;
  /** Told of each request a key of this source authenticated (IAM's GetAccessKeyLastUsed). */
  recordUse?(accessKeyId: string, use: KeyUse): void;
}

/** One authenticated use of an access key: the service's signing name, region, when (ms). */
export interface KeyUse {
  service: string;
  region: string;
  at: number;
}
