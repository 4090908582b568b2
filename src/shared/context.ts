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
}

export interface Principal {
  /** e.g. arn:aws:iam::000000000000:root, …:user/alice, …:assumed-role/r/session */
  arn: string;
  /** AIDA… for users, AROA…:session for assumed roles, the account for root. */
  userId: string;
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
}
