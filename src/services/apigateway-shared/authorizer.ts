/**
 * What Lambda authorizers decide, for REST APIs (TOKEN and REQUEST authorizers) and HTTP
 * APIs (payload 1.0 policies): the IAM policy the function returns is evaluated against the
 * method ARN of the request, `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/
 * <METHOD>/<path>`, with IAM's wildcards (`*`, `?`, per ARN component), through the same
 * policy engine as IAM (src/policy/).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
 *
 * AWS caches the authorizer's whole output (not the decision) for the TTL, keyed by the
 * identity sources, and evaluates the cached policy against each new method ARN: a policy
 * that names only the first method called denies the others until the entry expires, a
 * quirk users meet and that this cache keeps.
 */
import { RequestFacts } from '../../policy/context.js';
import { compilePolicy, evaluatePolicies, PolicySyntaxError } from '../../policy/document.js';

/** What a Lambda authorizer returns (REST APIs; HTTP APIs' payload 1.0 too). */
export interface AuthorizerOutput {
  principalId?: unknown;
  policyDocument?: unknown;
  /** Passed to the integration as `$context.authorizer.<key>` (string, number, boolean values). */
  context?: Record<string, unknown>;
  /** The API key a usage plan meters when the API's key source is AUTHORIZER. */
  usageIdentifierKey?: unknown;
}

/**
 * Allow, or why not: AWS answers 403 `{"Message":"User is not authorized to access this
 * resource"}` when no statement allows and `… with an explicit deny` when one denies; a
 * policy it cannot read is a 500 (AuthorizerConfigurationException).
 */
export type PolicyDecision = 'allow' | 'implicit-deny' | 'explicit-deny' | 'invalid';

export function decide(policyDocument: unknown, methodArn: string): PolicyDecision {
  if (typeof policyDocument !== 'object' || policyDocument === null) return 'invalid';
  let policy;
  try {
    policy = compilePolicy(policyDocument, 'authorizer');
  } catch (err) {
    if (err instanceof PolicySyntaxError) return 'invalid';
    throw err;
  }
  const verdict = evaluatePolicies([policy], {
    action: 'execute-api:Invoke',
    resource: methodArn,
    facts: new RequestFacts(),
  });
  if (verdict.deny) return 'explicit-deny';
  return verdict.allow !== undefined ? 'allow' : 'implicit-deny';
}

/** The body AWS sends with each refusal (REST APIs spell it `Message`). */
export function denialMessage(decision: Exclude<PolicyDecision, 'allow' | 'invalid'>): string {
  return decision === 'explicit-deny'
    ? 'User is not authorized to access this resource with an explicit deny'
    : 'User is not authorized to access this resource';
}

/**
 * `$context.authorizer.*`: AWS passes string, number and boolean values of the returned
 * `context` (as strings to mapping templates); objects and arrays make the authorizer
 * fail with a 500 ("AuthorizerConfigurationException"), which `undefined` signals.
 */
export function authorizerContext(
  out: AuthorizerOutput,
): Record<string, string | number | boolean> | undefined {
  const ctx: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(out.context ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') ctx[k] = v;
    else if (v !== null && v !== undefined) return undefined;
  }
  if (out.principalId !== undefined) ctx.principalId = String(out.principalId);
  return ctx;
}

/**
 * Authorizer results by key (authorizer id + identity source values) for their TTL
 * (`authorizerResultTtlInSeconds`, 0 = no caching, at most 3600). Bounded: the oldest
 * entries go first.
 */
export class AuthorizerCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlSeconds: number): void {
    if (ttlSeconds <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlSeconds * 1000 });
  }

  /** Drops the entries of one authorizer (it was updated or deleted), or all. */
  clear(prefix?: string): void {
    if (prefix === undefined) return this.entries.clear();
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
