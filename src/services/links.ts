/**
 * The typed links between services: every interface one service offers another, by name.
 * A plugin declares the links it `provides` and the ones it `needs` (see definePlugin in
 * plugin.ts); `needs: ['logs', 'iam']` hands its `create` a typed `links.logs: LogSink`
 * and `links.iam: IamDirectory`. The server wires them in one generic place
 * (gateway/wiring.ts), provider before user, and refuses a missing or circular need at
 * start-up. A new link is one line here; then only the two plugins and plugins.ts change.
 */
import type { LogSink } from '../events/logs.js';
import type { ContainerDriver, ImageSource } from '../runtime/container.js';
import type { CredentialSource } from '../shared/context.js';
import type { IamDirectory } from './iam/directory.js';
import type { RequestAuthenticator } from './plugin.js';
import type { SessionIssuer } from './sts/issuer.js';

/** A link exactly one plugin provides. */
export interface One<T> {
  readonly kind: 'one';
  /** Never set: carries the link's type for the mapped types below. */
  readonly type?: T;
}
/** A link any number of plugins contribute to (none included); a user gets them all. */
export interface Many<T> {
  readonly kind: 'many';
  readonly type?: T;
}
const one = <T>(): One<T> => ({ kind: 'one' });
const many = <T>(): Many<T> => ({ kind: 'many' });

/** The registry of link names and their interface types. */
export const LINKS = {
  /** CloudWatch Logs' typed append (provided by logs; Lambda writes function logs). */
  logs: one<LogSink>(),
  /** IAM's role lookups (provided by iam; STS AssumeRole, Lambda's execution role check). */
  iam: one<IamDirectory>(),
  /** Role sessions for service principals (provided by sts; Lambda execution roles). */
  sts: one<SessionIssuer>(),
  /** Secrets strict-mode SigV4 checks (IAM access keys, STS sessions; used by the gateway). */
  credentials: many<CredentialSource>(),
  /**
   * SigV4 authentication for data planes AWS authenticates itself (function URLs with
   * AuthType AWS_IAM, Lambda's event-stream invoke). Provided by the gateway.
   */
  signatures: one<RequestAuthenticator>(),
  /** Image references resolved against the registry (provided by ecr; Lambda/ECS images). */
  images: one<ImageSource>(),
  /** Where containers run: the driver `--driver` chose (runtime/select.ts). Provided by the gateway. */
  containers: one<ContainerDriver>(),
} as const;

export type LinkTable = typeof LINKS;
export type LinkName = keyof LinkTable;

/** The interface behind one link name (what one provider hands over). */
export type LinkType<K extends LinkName> =
  LinkTable[K] extends One<infer T> ? T : LinkTable[K] extends Many<infer T> ? T : never;

/** What a plugin that needs `N` receives: a `many` link arrives as the list of all providers. */
export type Links<N extends LinkName> = {
  readonly [K in N]: LinkTable[K] extends Many<infer T> ? readonly T[] : LinkType<K>;
};

/** What a plugin that provides `P` hands over: one implementation per name. */
export type Provided<P extends LinkName> = { readonly [K in P]: LinkType<K> };

export function linkKind(name: LinkName): 'one' | 'many' {
  return LINKS[name].kind;
}

export function isLinkName(name: string): name is LinkName {
  return Object.hasOwn(LINKS, name);
}
