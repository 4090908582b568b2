/**
 * The typed links between services: every interface one service offers another, by name.
 * A plugin declares the links it `provides` and the ones it `needs` (see definePlugin in
 * plugin.ts); `needs: ['logs', 'iam']` hands its `create` a typed `links.logs: LogSink`
 * and `links.iam: IamDirectory`. The server wires them in one generic place
 * (gateway/wiring.ts), provider before user, and refuses a missing or circular need at
 * start-up.
 *
 * The provider declares a service link's name and type beside its plugin, by merging into
 * ServiceLinks, so a new link touches only the providing plugin, the using plugin and
 * (for a new plugin) plugins.ts:
 *
 *   declare module '../links.js' {
 *     interface ServiceLinks {
 *       logs: LogSink;
 *     }
 *   }
 */
import type { Meter, UsageReader } from '../billing/meter.js';
import type {
  AccessRecorder,
  PrincipalDirectory,
  ResourcePolicySource,
} from '../policy/sources.js';
import type { ContainerDriver } from '../runtime/container.js';
import type { ExecuteApiRegistry } from '../gateway/execute-api.js';
import type { CredentialSource } from '../shared/context.js';
import type { EventBus } from '../events/bus.js';
import type { RequestAuthenticator } from './plugin.js';

declare const MANY: unique symbol;
/** A link any number of plugins contribute to (none included); a user gets them all. */
export interface Many<T> {
  readonly [MANY]: T;
}

/** The links the gateway itself takes part in. */
export interface CoreLinks {
  /** Secrets strict-mode SigV4 checks (IAM access keys, STS sessions); the gateway needs them. */
  credentials: Many<CredentialSource>;
  /**
   * SigV4 authentication for data planes AWS authenticates itself (function URLs with
   * AuthType AWS_IAM, Lambda's event-stream invoke). Provided by the gateway.
   */
  signatures: RequestAuthenticator;
  /** Where containers run: the driver `--driver` chose (runtime/select.ts). Provided by the gateway. */
  containers: ContainerDriver;
  /**
   * The internal durable event bus (src/events/bus.ts): services publish what happened,
   * EventBridge and the meters subscribe. Provided by the gateway.
   */
  bus: EventBus;
  /**
   * API Gateway's invoke URLs (`<api-id>.execute-api.localhost`, `/restapis/<id>/<stage>/
   * _user_request_/`): REST and HTTP/WebSocket APIs register their backends. Provided by
   * the gateway, which owns the one data plane both kinds share.
   */
  executeApis: ExecuteApiRegistry;
  /** Who may do what: principals' policies, for the gateway's authoriser. Provided by IAM. */
  principals: PrincipalDirectory;
  /** IAM's service last accessed data, recorded by the gateway's authoriser. Provided by IAM. */
  serviceAccess: AccessRecorder;
  /**
   * Resource-based policies and resource tags, each service for its own ARNs (IAM role
   * trust policies, Lambda function policies, ECR repository policies; S3 bucket policies
   * join the same way). The gateway's authoriser needs them all.
   */
  resourcePolicies: Many<ResourcePolicySource>;
  /**
   * The bill's meter (src/billing/meter.ts): every service records its usage as AWS bills
   * it (`count` requests, `level` running or stored things). Provided by the gateway.
   */
  meter: Meter;
  /** What the meter recorded, for Cost Explorer and `stratus cost`. Provided by the gateway. */
  usage: UsageReader;
}

/**
 * Links one service provides to others, each declared by its provider's plugin.ts
 * (logs: LogSink, iam: IamDirectory, sts: SessionIssuer, images: ImageSource).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ServiceLinks {}

export type LinkTable = CoreLinks & ServiceLinks;
export type LinkName = keyof LinkTable & string;

/** The interface behind one link name (what one provider hands over). */
export type LinkType<K extends LinkName> = LinkTable[K] extends Many<infer T> ? T : LinkTable[K];

/** What a plugin that needs `N` receives: a `many` link arrives as the list of all providers. */
export type Links<N extends LinkName> = {
  readonly [K in N]: LinkTable[K] extends Many<infer T> ? readonly T[] : LinkTable[K];
};

/** What a plugin that provides `P` hands over: one implementation per name. */
export type Provided<P extends LinkName> = { readonly [K in P]: LinkType<K> };

/** The `many` links (the rest have exactly one provider). */
const MANY_LINKS: ReadonlySet<string> = new Set<keyof CoreLinks>([
  'credentials',
  'resourcePolicies',
]);

export function linkKind(name: LinkName): 'one' | 'many' {
  return MANY_LINKS.has(name) ? 'many' : 'one';
}
