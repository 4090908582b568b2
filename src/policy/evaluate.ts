/**
 * AWS's policy evaluation logic for one request, within an account and across accounts:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 *
 *  1. An explicit Deny in any applicable policy (identity-based, resource-based,
 *     permissions boundary, session policy) decides.
 *  2. Same account: a resource-based policy that names the caller itself (an IAM user ARN
 *     or a role session ARN) allows on its own; one that names the role behind a session
 *     still needs the boundary and session policies; one that names the account delegates
 *     to the identity-based policies.
 *  3. Otherwise the identity-based policies must allow, and so must the permissions boundary
 *     and the session policies when there are any ("the effective permissions are the
 *     intersection").
 *  4. Across accounts, both the caller's side (3) and the resource-based policy must allow.
 *
 * Organizations SCPs and RCPs do not exist in Stratus; the account root may do everything
 * in its own account, except what a resource-based policy explicitly denies.
 */
import type { CompiledPolicy, AuthzRequest, CallerIds, PolicyVerdict } from './document.js';
import { evaluatePolicies } from './document.js';

export type PolicyType =
  'identity-based policy' | 'resource-based policy' | 'permissions boundary' | 'session policy';

/** The policies that apply to a principal. */
export interface PrincipalPolicies {
  /** The user's (and its groups') or the role's inline and managed policies. */
  identity: readonly CompiledPolicy[];
  boundary?: CompiledPolicy;
  /** A session's inline and managed session policies; undefined when it was given none. */
  session?: readonly CompiledPolicy[];
}

export interface EvaluationInput {
  request: AuthzRequest;
  caller: CallerIds;
  /** The account root user (no identity policies: it may do everything in its account). */
  isRoot: boolean;
  /** Undefined for a service principal, which only resource-based policies can allow. */
  policies?: PrincipalPolicies;
  resourcePolicy?: CompiledPolicy;
  /** The resource's account; undefined when it is the caller's (or has no owner). */
  resourceAccount?: string;
  /**
   * The resource-based policy must allow even within the account, as a role's trust
   * policy must for sts:AssumeRole ("you must … specify the user in the role trust policy";
   * an identity-based policy alone never lets anyone assume a role).
   */
  resourcePolicyRequired?: boolean;
}

export interface Decision {
  allowed: boolean;
  /** Why not: an explicit deny in, or no allow from, a kind of policy. */
  denial?: { explicit: boolean; in: PolicyType };
  /** The statements that decided (denying ones, or allowing ones). */
  matched: PolicyVerdict['matched'];
}

export function evaluate(input: EvaluationInput): Decision {
  const { request, caller, policies } = input;
  const resource = input.resourcePolicy
    ? evaluatePolicies([input.resourcePolicy], request, caller)
    : undefined;
  const identity = policies ? evaluatePolicies(policies.identity, request) : undefined;
  const boundary = policies?.boundary ? evaluatePolicies([policies.boundary], request) : undefined;
  const session = policies?.session ? evaluatePolicies(policies.session, request) : undefined;

  const denied = (inType: PolicyType, verdict: PolicyVerdict): Decision => ({
    allowed: false,
    denial: { explicit: true, in: inType },
    matched: verdict.matched,
  });
  if (identity?.deny) return denied('identity-based policy', identity);
  if (resource?.deny) return denied('resource-based policy', resource);
  if (boundary?.deny) return denied('permissions boundary', boundary);
  if (session?.deny) return denied('session policy', session);

  const allowed = (verdict: PolicyVerdict | undefined): Decision => ({
    allowed: true,
    matched: verdict?.matched ?? [],
  });
  const missing = (inType: PolicyType): Decision => ({
    allowed: false,
    denial: { explicit: false, in: inType },
    matched: [],
  });

  const crossAccount =
    input.resourceAccount !== undefined &&
    caller.account !== undefined &&
    input.resourceAccount !== caller.account;

  // A service principal (or another caller with no identity policies of its own here).
  if (!policies && !input.isRoot) {
    return resource?.allow ? allowed(resource) : missing('resource-based policy');
  }

  if (!crossAccount) {
    if (input.resourcePolicyRequired && !resource?.allow) return missing('resource-based policy');
    if (input.isRoot) return allowed(undefined);
    if (resource?.allow === 'self' || resource?.allow === true) return allowed(resource);
    const boundaryOk = !policies?.boundary || boundary?.allow !== undefined;
    const sessionOk = !policies?.session || session?.allow !== undefined;
    if (resource?.allow === 'role' && boundaryOk && sessionOk) return allowed(resource);
    if (!identity?.allow) return missing('identity-based policy');
    if (!boundaryOk) return missing('permissions boundary');
    if (!sessionOk) return missing('session policy');
    return allowed(identity);
  }

  // Across accounts: the caller's account must allow it, and the resource's account too.
  if (!input.isRoot) {
    if (!identity?.allow) return missing('identity-based policy');
    if (policies?.boundary && !boundary?.allow) return missing('permissions boundary');
    if (policies?.session && !session?.allow) return missing('session policy');
  }
  if (!resource?.allow) return missing('resource-based policy');
  return allowed(resource);
}

/**
 * AWS's AccessDenied message: "User: arn:aws:iam::111122223333:user/dev is not authorized
 * to perform: lambda:GetFunction on resource: arn:aws:lambda:…:function:f because no
 * identity-based policy allows the lambda:GetFunction action", or "… with an explicit deny
 * in an identity-based policy". "on resource: …" is left out for actions on `*`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
 */
export function accessDeniedMessage(
  principalArn: string,
  request: Pick<AuthzRequest, 'action' | 'resource'>,
  decision: Decision,
): string {
  const on = request.resource === '*' ? '' : ` on resource: ${request.resource}`;
  const head = `User: ${principalArn} is not authorized to perform: ${request.action}${on}`;
  const d = decision.denial;
  if (!d) return head;
  const article = d.in === 'identity-based policy' ? 'an' : 'a';
  return d.explicit
    ? `${head} with an explicit deny in ${article} ${d.in}`
    : `${head} because no ${d.in} allows the ${request.action} action`;
}
