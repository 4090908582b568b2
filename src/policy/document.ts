/**
 * Policy documents compiled once for evaluation: every wildcard turned into a matcher, every
 * Condition into tests, the Principal into the identifiers it names.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
import { type RequestFacts, hasVariable, substitute } from './context.js';
import { type CompiledCondition, ConditionSyntaxError, compileConditions } from './conditions.js';
import { type Glob, compileActionGlob, compileArnGlob } from './glob.js';
import { BoundedMap } from '../shared/bounded-map.js';

/** What a request is: the action, the resource, and its condition keys. */
export interface AuthzRequest {
  /** `service:Action`, e.g. `lambda:InvokeFunction`. */
  action: string;
  /** The resource ARN, or `*` for actions that take none. */
  resource: string;
  facts: RequestFacts;
}

/** The identifiers a caller answers to in a Principal element. */
export interface CallerIds {
  /** IAM user ARN or assumed-role session ARN: the caller itself. */
  self?: string;
  /** The role behind a role session (`arn:aws:iam::…:role/path/name`). */
  role?: string;
  /** The caller's account. */
  account?: string;
  /** A service principal (`lambda.amazonaws.com`). */
  service?: string;
  /** A federated provider (OIDC / SAML provider ARN, `cognito-identity.amazonaws.com`). */
  federated?: string;
}

/**
 * How a resource policy named the caller: the caller itself (a user or session ARN, or
 * `*`), the role behind its session, or its account (which delegates to the account's
 * identity policies).
 */
export type PrincipalMatch = 'self' | 'role' | 'account';

interface PrincipalSpec {
  any: boolean;
  aws: Set<string>;
  service: Set<string>;
  federated: Set<string>;
}

export interface CompiledStatement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  actions?: Glob[];
  notActions?: Glob[];
  resources?: ResourceMatcher[];
  notResources?: ResourceMatcher[];
  principal?: PrincipalSpec;
  notPrincipal?: PrincipalSpec;
  conditions: CompiledCondition[];
}

type ResourceMatcher = (resource: string, facts: RequestFacts) => boolean;

export interface CompiledPolicy {
  /** The policy's name or ARN, for explanations (SimulatePrincipalPolicy's MatchedStatements). */
  id: string;
  statements: CompiledStatement[];
}

export class PolicySyntaxError extends Error {}

/** Compiles a document (text or parsed JSON). Throws PolicySyntaxError when it cannot be read. */
export function compilePolicy(document: string | unknown, id: string): CompiledPolicy {
  let doc: unknown = document;
  if (typeof document === 'string') {
    try {
      doc = JSON.parse(document);
    } catch {
      throw new PolicySyntaxError('Syntax errors in policy.');
    }
  }
  if (!isRecord(doc)) throw new PolicySyntaxError('Syntax errors in policy.');
  // Policy variables exist only in version 2012-10-17; older documents read `${…}` literally.
  const variables = doc.Version === '2012-10-17';
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  try {
    return {
      id,
      statements: list.map((s) => compileStatement(s, variables)),
    };
  } catch (err) {
    if (err instanceof ConditionSyntaxError) throw new PolicySyntaxError(err.message);
    throw err;
  }
}

function compileStatement(s: unknown, variables: boolean): CompiledStatement {
  if (!isRecord(s)) throw new PolicySyntaxError('Syntax errors in policy.');
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
    throw new PolicySyntaxError('Syntax errors in policy.');
  }
  const out: CompiledStatement = {
    effect: s.Effect,
    conditions: compileConditions(s.Condition),
  };
  if (typeof s.Sid === 'string') out.sid = s.Sid;
  if (s.Action !== undefined) out.actions = strings(s.Action).map(compileActionGlob);
  if (s.NotAction !== undefined) out.notActions = strings(s.NotAction).map(compileActionGlob);
  if (s.Resource !== undefined) {
    out.resources = strings(s.Resource).map((r) => resourceMatcher(r, variables));
  }
  if (s.NotResource !== undefined) {
    out.notResources = strings(s.NotResource).map((r) => resourceMatcher(r, variables));
  }
  if (s.Principal !== undefined) out.principal = principalSpec(s.Principal);
  if (s.NotPrincipal !== undefined) out.notPrincipal = principalSpec(s.NotPrincipal);
  return out;
}

function resourceMatcher(pattern: string, variables: boolean): ResourceMatcher {
  if (!variables || !hasVariable(pattern)) {
    const glob = compileArnGlob(pattern);
    return (resource) => glob(resource);
  }
  return (resource, facts) => {
    const concrete = substitute(pattern, facts);
    return concrete !== undefined && compileArnGlob(concrete)(resource);
  };
}

function principalSpec(p: unknown): PrincipalSpec {
  const spec: PrincipalSpec = {
    any: false,
    aws: new Set(),
    service: new Set(),
    federated: new Set(),
  };
  if (p === '*') {
    spec.any = true;
    return spec;
  }
  if (!isRecord(p)) throw new PolicySyntaxError('Syntax errors in policy.');
  for (const [kind, value] of Object.entries(p)) {
    for (const v of strings(value)) {
      if (kind === 'AWS') {
        if (v === '*') spec.any = true;
        // "123456789012" is short for the account's root ARN.
        else spec.aws.add(/^\d{12}$/.test(v) ? `arn:aws:iam::${v}:root` : v);
      } else if (kind === 'Service') spec.service.add(v.toLowerCase());
      else if (kind === 'Federated') spec.federated.add(v);
      // CanonicalUser (S3) names no caller Stratus has.
    }
  }
  return spec;
}

/** How `spec` names the caller, or undefined when it does not. */
function principalMatch(spec: PrincipalSpec, caller: CallerIds): PrincipalMatch | undefined {
  if (caller.service !== undefined) {
    if (spec.service.has(caller.service.toLowerCase())) return 'self';
    return spec.any ? 'self' : undefined;
  }
  if (caller.federated !== undefined && spec.federated.has(caller.federated)) return 'self';
  if (spec.any) return 'self';
  if (caller.self !== undefined && spec.aws.has(caller.self)) return 'self';
  if (caller.role !== undefined && spec.aws.has(caller.role)) return 'role';
  if (caller.account !== undefined && spec.aws.has(accountRoot(caller.account))) return 'account';
  return undefined;
}

const accountRoot = (account: string) => `arn:aws:iam::${account}:root`;

/**
 * Whether the statement applies to the request (everything but the Effect); `action` is
 * the request's action lower-cased.
 */
function statementApplies(
  s: CompiledStatement,
  action: string,
  request: AuthzRequest,
  caller?: CallerIds,
): PrincipalMatch | boolean {
  if (s.actions && !s.actions.some((g) => g(action))) return false;
  if (s.notActions?.some((g) => g(action))) return false;
  const facts = request.facts;
  if (s.resources && !s.resources.some((m) => m(request.resource, facts))) return false;
  if (s.notResources?.some((m) => m(request.resource, facts))) return false;
  let match: PrincipalMatch | true = true;
  if (s.principal) {
    const found = caller ? principalMatch(s.principal, caller) : undefined;
    if (!found) return false;
    match = found;
  }
  if (s.notPrincipal) {
    if (caller && principalMatch(s.notPrincipal, caller)) return false;
    match = 'self';
  }
  for (const c of s.conditions) if (!c.test(facts)) return false;
  return match;
}

/** What one policy says about a request. */
export interface PolicyVerdict {
  /** An Allow statement applies (with how it named the caller, for resource policies). */
  allow?: PrincipalMatch | true;
  /** A Deny statement applies. */
  deny: boolean;
  /** The statements that applied (Deny ones when denied), for explanations. */
  matched: { policy: string; index: number; sid?: string }[];
}

export function evaluatePolicies(
  policies: readonly CompiledPolicy[],
  request: AuthzRequest,
  caller?: CallerIds,
): PolicyVerdict {
  const verdict: PolicyVerdict = { deny: false, matched: [] };
  const allows: PolicyVerdict['matched'] = [];
  const action = request.action.toLowerCase();
  for (const p of policies) {
    for (let i = 0; i < p.statements.length; i++) {
      const s = p.statements[i];
      const applies = statementApplies(s, action, request, caller);
      if (applies === false) continue;
      const where = { policy: p.id, index: i, ...(s.sid !== undefined && { sid: s.sid }) };
      if (s.effect === 'Deny') {
        verdict.deny = true;
        verdict.matched.push(where);
      } else {
        allows.push(where);
        // The strongest naming wins: the caller itself, then its role, then its account.
        if (verdict.allow === undefined || rank(applies) < rank(verdict.allow)) {
          verdict.allow = applies;
        }
      }
    }
  }
  if (!verdict.deny) verdict.matched = allows;
  return verdict;
}

const rank = (m: PrincipalMatch | true): number =>
  m === true || m === 'self' ? 0 : m === 'role' ? 1 : 2;

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new PolicySyntaxError('Syntax errors in policy.');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const compiledTexts = new BoundedMap<string, CompiledPolicy>(10_000);

/**
 * A stored policy text, compiled once (texts are immutable: a change is a new text). A text
 * that no longer compiles allows and denies nothing.
 */
export function compiledPolicy(text: string, id: string): CompiledPolicy {
  const key = `${id}\u0000${text}`;
  let compiled = compiledTexts.get(key);
  if (!compiled) {
    try {
      compiled = compilePolicy(text, id);
    } catch (err) {
      if (!(err instanceof PolicySyntaxError)) throw err;
      compiled = { id, statements: [] };
    }
    compiledTexts.set(key, compiled);
  }
  return compiled;
}
