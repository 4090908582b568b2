/**
 * Where the authoriser learns what it evaluates: IAM answers for principals (their
 * identity policies, boundary, tags; a session's session policies), each service that
 * has resource-based policies answers for its resources (Lambda function policies, ECR
 * repository policies, IAM role trust policies; S3 bucket policies plug in the same way).
 */
import type { Principal } from '../shared/context.js';
import type { RequestFacts } from './context.js';
import type { CallerIds, CompiledPolicy } from './document.js';
import type { PrincipalPolicies } from './evaluate.js';

export interface PrincipalInfo {
  caller: CallerIds;
  /** The account root user. */
  isRoot: boolean;
  /** Undefined for the root user. */
  policies?: PrincipalPolicies;
  /** aws:PrincipalTag/* */
  tags: Readonly<Record<string, string>>;
  /** aws:PrincipalArn: the role ARN for a role session, the ARN itself otherwise. */
  principalArn: string;
  /** aws:username, for IAM users. */
  username?: string;
  /** aws:PrincipalType: User, AssumedRole, FederatedUser, Account. */
  type: 'User' | 'AssumedRole' | 'FederatedUser' | 'Account';
}

/** IAM's side: what a principal may do. */
export interface PrincipalDirectory {
  /**
   * Undefined when the principal is unknown here (it then has no permissions). Answers
   * synchronously from its cache: this runs on every call.
   */
  principal(
    principal: Principal,
    account: string,
  ): PrincipalInfo | undefined | Promise<PrincipalInfo | undefined>;
}

export interface ResourceInfo {
  /** The resource-based policy, if the resource has one. */
  policy?: CompiledPolicy;
  /** aws:ResourceTag/* */
  tags?: Readonly<Record<string, string>>;
  /** Actions for which the policy must allow even within the account (a role's trust policy). */
  requiredFor?: (action: string) => boolean;
}

/** A service's side: the policy and tags of one of its resources, by ARN. */
export interface ResourcePolicySource {
  /** The IAM service prefix whose ARNs it answers for (`lambda`, `ecr`, `iam`, `s3`). */
  prefix: string;
  resource(arn: string): Promise<ResourceInfo | undefined>;
}

/** One request to authorise. */
export interface AuthzCall {
  principal: Principal;
  /** The caller's account. */
  account: string;
  region: string;
  /** `service:Action` */
  action: string;
  /** The resource ARN, or `*`. */
  resource: string;
  /** The client's address (aws:SourceIp). */
  sourceIp?: string;
  /** Extra condition keys (aws:RequestTag/*, service keys). */
  facts?: RequestFacts;
}

/**
 * IAM's service last accessed data: every authenticated attempt to call an action, allowed
 * or not ("The service last accessed data includes all attempts to access an AWS API, not
 * just the successful ones"). Called on every authorised call, so it must cost a map write.
 */
export interface AccessRecorder {
  attempted(principal: Principal, action: string, region: string): void;
}
