/**
 * Authorisation: every API operation (from the chain, one call after validation) and every
 * data-plane request AWS authorises (function URLs with AWS_IAM, registry pushes and pulls)
 * is decided here by AWS's policy evaluation logic (src/policy/). `--iam enforce` (the
 * default with `--auth strict`) refuses with AWS's AccessDenied; `--iam soft` lets the call
 * through and records what would have been refused (GET /_stratus/iam/denied);
 * `--iam off` (the default with permissive auth) decides nothing.
 */
import type { ServiceInfo } from '../api/services.js';
import type { IamMode } from '../config.js';
import type { ProtocolName } from '../protocol/model.js';
import { ServiceActions, iamPrefix, requestTagFacts, resourceArnFor } from '../policy/actions.js';
import { type ContextValue, RequestFacts } from '../policy/context.js';
import { type Decision, accessDeniedMessage, evaluate } from '../policy/evaluate.js';
import type {
  AccessRecorder,
  AuthzCall,
  PrincipalDirectory,
  PrincipalInfo,
  ResourceInfo,
  ResourcePolicySource,
} from '../policy/sources.js';
import { parseArn } from '../shared/arn.js';
import { AwsError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

/** A refusal to answer with, undefined to go ahead; a promise only when something had to be loaded. */
export type Refusal = AwsError | undefined | Promise<AwsError | undefined>;

export interface AuthzResult {
  decision: Decision;
  message: string;
}

/** Operations anyone authenticated may call: "No permissions are required to perform this operation." */
const ALWAYS_ALLOWED = new Set(['sts:GetCallerIdentity', 'sts:GetSessionToken']);

/**
 * Global keys whose value changes from one call to the next for the same principal, action,
 * resource, account and region: a decision that read one of them is not remembered.
 */
const VOLATILE_KEYS = new Set([
  'aws:currenttime',
  'aws:epochtime',
  'aws:sourceip',
  'aws:multifactorauthage',
]);

/** Decisions remembered per principal (at most this many; then forgotten all at once). */
const MAX_REMEMBERED = 4096;

export class Authorizer {
  private readonly catalogs = new Map<string, ServiceActions | Promise<ServiceActions>>();
  private readonly sources = new Map<string, ResourcePolicySource>();
  /**
   * Decisions already made, per principal's policies: the directory hands out a new
   * PrincipalInfo after any IAM change, so a policy change forgets them.
   */
  private readonly decided = new WeakMap<PrincipalInfo, Map<string, AuthzResult>>();
  readonly denials = new DenialLog();

  constructor(
    readonly mode: IamMode,
    private readonly directory: PrincipalDirectory,
    sources: readonly ResourcePolicySource[],
    private readonly log: Logger,
    /** IAM's service last accessed data: every authenticated attempt, in every mode. */
    private readonly access?: AccessRecorder,
  ) {
    for (const s of sources) this.sources.set(s.prefix, s);
  }

  /**
   * Authorises an API operation: the protocol's AccessDenied error when it is refused,
   * undefined when it may go ahead (always, in soft mode). Synchronous when everything it
   * needs is cached (the common case: it runs on every call).
   */
  operation(
    call: Omit<AuthzCall, 'action' | 'resource'> & {
      service: ServiceInfo;
      protocol: ProtocolName;
      operation: string;
      input: Readonly<Record<string, unknown>>;
    },
  ): Refusal {
    if (this.mode === 'off' && !this.access) return undefined;
    const catalog = this.catalog(iamPrefix(call.service));
    if (catalog instanceof Promise) return catalog.then(() => this.operation(call));
    const authz = catalog.operation(call.operation);
    this.access?.attempted(call.principal, authz.action, call.region);
    if (this.mode === 'off' || ALWAYS_ALLOWED.has(authz.action)) return undefined;
    const registryId = call.input.registryId;
    const resource = resourceArnFor(authz, withCallerUser(authz.resourceArn, call), {
      partition: partitionOf(call.region),
      region: call.region,
      account: typeof registryId === 'string' && registryId !== '' ? registryId : call.account,
    });
    const facts = new RequestFacts();
    requestTagFacts(call.input, facts);
    // AssumeRole with an MFA code: the trust policy sees MFA present; STS then checks the
    // code and refuses the call when it is wrong, so a made-up code gains nothing.
    if (
      authz.action === 'sts:AssumeRole' &&
      typeof call.input.SerialNumber === 'string' &&
      typeof call.input.TokenCode === 'string'
    ) {
      facts.set('aws:MultiFactorAuthPresent', 'true').set('aws:MultiFactorAuthAge', '0');
    }
    return this.refusalFor({ ...call, action: authz.action, resource, facts }, call.protocol);
  }

  /**
   * Decides a data-plane call and, when refused, answers the protocol's AccessDenied
   * (undefined in soft mode).
   */
  refusal(call: AuthzCall, protocol: ProtocolName): Refusal {
    this.access?.attempted(call.principal, call.action, call.region);
    return this.refusalFor(call, protocol);
  }

  private refusalFor(call: AuthzCall, protocol: ProtocolName): Refusal {
    if (this.mode === 'off') return undefined;
    const result = this.decide(call);
    return result instanceof Promise
      ? result.then((r) => this.refused(call, protocol, r))
      : this.refused(call, protocol, result);
  }

  private refused(call: AuthzCall, protocol: ProtocolName, result: AuthzResult) {
    if (result.decision.allowed) return undefined;
    if (this.mode === 'soft') {
      this.denials.record(call, result);
      this.log.warn('IAM would deny', {
        principal: call.principal.arn,
        action: call.action,
        resource: call.resource,
        reason: result.message,
      });
      return undefined;
    }
    return accessDenied(protocol, result.message);
  }

  /** The decision for a call; synchronous when the principal is cached and the resource has no source. */
  decide(call: AuthzCall): AuthzResult | Promise<AuthzResult> {
    const info = this.directory.principal(call.principal, call.account);
    const source = this.sourceFor(call.resource);
    if (info instanceof Promise || source) {
      return (async () => {
        const resource = source ? await source.resource(call.resource) : undefined;
        return this.decideWith(call, await info, resource);
      })();
    }
    if (!info || (call.facts !== undefined && !call.facts.isEmpty())) {
      return this.decideWith(call, info, undefined);
    }
    // Nothing but the principal, the action, the resource, the account and the region went
    // in (no request facts): the decision is remembered unless it read a volatile key.
    let known = this.decided.get(info);
    const key = `${call.action}\u0000${call.resource}\u0000${call.account}\u0000${call.region}`;
    const found = known?.get(key);
    if (found) return found;
    let volatile = false;
    const result = this.decideWith(call, info, undefined, (k) => {
      if (VOLATILE_KEYS.has(k)) volatile = true;
    });
    if (!volatile) {
      if (!known || known.size >= MAX_REMEMBERED) this.decided.set(info, (known = new Map()));
      known.set(key, result);
    }
    return result;
  }

  private decideWith(
    call: AuthzCall,
    info: PrincipalInfo | undefined,
    resource: ResourceInfo | undefined,
    onGlobalKey?: (lowerKey: string) => void,
  ): AuthzResult {
    const resourceAccount = accountOf(call.resource);
    const keys = globalKeys(call, info, resourceAccount, resource?.tags);
    const facts = (call.facts ?? new RequestFacts()).withFallback(
      onGlobalKey
        ? (k) => {
            onGlobalKey(k);
            return keys(k);
          }
        : keys,
    );
    const decision = evaluate({
      request: { action: call.action, resource: call.resource, facts },
      caller: info?.caller ?? { self: call.principal.arn, account: call.account },
      isRoot: info?.isRoot ?? false,
      policies: info ? info.policies : { identity: [] },
      resourcePolicy: resource?.policy,
      resourceAccount,
      resourcePolicyRequired: resource?.requiredFor?.(call.action) ?? false,
    });
    return { decision, message: deniedMessage(call, decision) };
  }

  private sourceFor(resource: string): ResourcePolicySource | undefined {
    if (resource === '*') return undefined;
    const arn = parseArn(resource);
    return arn ? this.sources.get(arn.service) : undefined;
  }

  private catalog(prefix: string): ServiceActions | Promise<ServiceActions> {
    let found = this.catalogs.get(prefix);
    if (!found) {
      const loading = ServiceActions.load(prefix).then((c) => {
        this.catalogs.set(prefix, c);
        return c;
      });
      this.catalogs.set(prefix, loading);
      found = loading;
    }
    return found;
  }
}

function deniedMessage(call: AuthzCall, decision: Decision): string {
  // AssumeRole names no reason: "User: … is not authorized to perform: sts:AssumeRole on resource: …".
  if (call.action.startsWith('sts:AssumeRole')) {
    return accessDeniedMessage(call.principal.arn, call, { ...decision, denial: undefined });
  }
  return accessDeniedMessage(call.principal.arn, call, decision);
}

/**
 * The global condition keys of a request, worked out when a condition reads one.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
function globalKeys(
  call: AuthzCall,
  info: PrincipalInfo | undefined,
  resourceAccount: string | undefined,
  resourceTags: Readonly<Record<string, string>> | undefined,
): (lowerKey: string) => ContextValue | undefined {
  const now = Date.now();
  return (key) => {
    switch (key) {
      case 'aws:principalarn':
        return info?.principalArn ?? call.principal.arn;
      case 'aws:principalaccount':
        return info?.caller.account ?? call.account;
      case 'aws:principaltype':
        return info?.type;
      case 'aws:username':
        return info?.username;
      case 'aws:userid':
        return call.principal.userId;
      case 'aws:currenttime':
        return new Date(now).toISOString();
      case 'aws:epochtime':
        return String(Math.floor(now / 1000));
      case 'aws:securetransport':
        return 'false';
      case 'aws:sourceip':
        return call.sourceIp?.replace(/^::ffff:/, '');
      case 'aws:requestedregion':
        return call.region;
      case 'aws:resourceaccount':
        return resourceAccount;
      case 'aws:principalisawsservice':
        return info?.caller.service !== undefined ? 'true' : 'false';
      case 'aws:multifactorauthpresent':
        return multiFactorPresent(call);
      case 'aws:multifactorauthage': {
        const at = call.principal.session?.mfaAuthenticatedAt;
        return at === undefined ? undefined : String(Math.floor((now - at) / 1000));
      }
    }
    if (key.startsWith('aws:principaltag/')) return tag(info?.tags, key.slice(17));
    if (key.startsWith('aws:resourcetag/')) return tag(resourceTags, key.slice(16));
    return undefined;
  };
}

/**
 * IAM user operations without a UserName act on the caller: "If you do not specify a user
 * name, IAM determines the user name implicitly based on the AWS access key ID used to
 * sign the request" (ChangePassword, ListAccessKeys, ListMFADevices, …), and so are
 * authorised against the caller's own ARN.
 */
function withCallerUser(
  template: string | undefined,
  call: { principal: { arn: string }; input: Readonly<Record<string, unknown>> },
): Readonly<Record<string, unknown>> {
  if (!template?.includes(':user/') || call.input.UserName !== undefined) return call.input;
  const arn = call.principal.arn;
  const at = arn.indexOf(':user/');
  if (!arn.startsWith('arn:') || at < 0) return call.input;
  return { ...call.input, UserName: arn.slice(at + ':user/'.length) };
}

/**
 * "true" for a session whose MFA code was checked, "false" for other temporary credentials,
 * absent for long-term keys: "If the key is not present … the request was not authenticated
 * with temporary credentials" (reference_policies_condition-keys.html#condition-keys-multifactorauthpresent).
 */
function multiFactorPresent(call: AuthzCall): string | undefined {
  const s = call.principal.session;
  if (s?.mfaAuthenticatedAt !== undefined) return 'true';
  const arn = call.principal.arn;
  if (s?.temporary || arn.includes(':assumed-role/') || arn.includes(':federated-user/')) {
    return 'false';
  }
  return undefined;
}

/** Tag keys are matched without regard to case, as condition keys are. */
function tag(tags: Readonly<Record<string, string>> | undefined, lowerKey: string) {
  if (!tags) return undefined;
  for (const k in tags) if (k.toLowerCase() === lowerKey) return tags[k];
  return undefined;
}

/** ARNs of resources in another partition name it (`arn:aws-cn:…`). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function accountOf(resource: string): string | undefined {
  if (resource === '*') return undefined;
  const account = parseArn(resource)?.account;
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** json-style protocols name it AccessDeniedException; query, ec2 and rest-xml AccessDenied. */
export function accessDenied(protocol: ProtocolName, message: string): AwsError {
  const json = protocol === 'json' || protocol === 'rest-json' || protocol === 'smithy-rpc-v2-cbor';
  return new AwsError(json ? 'AccessDeniedException' : 'AccessDenied', 403, true, message);
}

const DENIAL_LOG_PRINCIPALS = 10_000;
const DENIAL_LOG_RESOURCES = 1_000;

/**
 * What soft mode would have refused, per principal (a role session is recorded under its
 * role, so all sessions of a function's role add up), as a least-privilege policy.
 */
export class DenialLog {
  private readonly byPrincipal = new Map<
    string,
    Map<string, { resources: Set<string>; reason: string }>
  >();

  record(call: AuthzCall, result: AuthzResult): void {
    const who = roleOfSession(call.principal.arn);
    let actions = this.byPrincipal.get(who);
    if (!actions) {
      // Bounded: any access key id names a principal in permissive mode, and any call a
      // resource. Past the caps, what is already recorded stays and the rest is not added.
      if (this.byPrincipal.size >= DENIAL_LOG_PRINCIPALS) return;
      this.byPrincipal.set(who, (actions = new Map()));
    }
    let entry = actions.get(call.action);
    if (!entry)
      actions.set(call.action, (entry = { resources: new Set(), reason: result.message }));
    if (entry.resources.size < DENIAL_LOG_RESOURCES) entry.resources.add(call.resource);
  }

  clear(): void {
    this.byPrincipal.clear();
  }

  /** Per principal: what was denied and the policy that would have allowed it. */
  report(): DeniedReport[] {
    return [...this.byPrincipal].map(([principal, actions]) => {
      const denied = [...actions].map(([action, e]) => ({
        action,
        resources: [...e.resources].sort(),
        reason: e.reason,
      }));
      return {
        principal,
        denied,
        policy: {
          Version: '2012-10-17',
          Statement: denied.map((d) => ({
            Effect: 'Allow',
            Action: d.action,
            Resource: d.resources.length === 1 ? d.resources[0] : d.resources,
          })),
        },
      };
    });
  }
}

export interface DeniedReport {
  principal: string;
  denied: { action: string; resources: string[]; reason: string }[];
  policy: {
    Version: string;
    Statement: { Effect: string; Action: string; Resource: string | string[] }[];
  };
}

/** `arn:aws:sts::1:assumed-role/r/s` is recorded as the role `r` (without its path). */
function roleOfSession(arn: string): string {
  const m = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}
