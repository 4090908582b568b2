import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AuthzCall } from '../policy/sources.js';
import type { ProtocolName, ServiceModel } from '../protocol/model.js';
import type { Credential, RequestContext, Principal } from '../shared/context.js';
import type { WireResponse } from '../protocol/types.js';
import type { AwsError } from '../shared/errors.js';
import type { BlobStore, MetadataStore } from '../storage/types.js';
import type { StratusConfig } from '../config.js';
import type { LinkName, Links, Provided } from './links.js';

/** What the gateway hands every plugin when the server starts. */
export interface PluginDeps<N extends LinkName = never> {
  config: StratusConfig;
  store: MetadataStore;
  /** The shared blob store (never garbage-collected). */
  blobs: BlobStore;
  /** A blob store of the plugin's own, for blobs it garbage-collects itself (ECR). */
  blobNamespace(name: string): Promise<BlobStore>;
  /** The links the plugin declared in `needs`, typed by the registry in links.ts. */
  links: Links<N>;
}

/** A request as SigV4 sees it. */
export interface SignedRequest {
  method: string;
  /** Raw path, still percent-encoded, without the query string. */
  path: string;
  /** Raw query string without the leading `?`. */
  rawQuery: string;
  /** Lower-cased header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
}

/** Who signed a request. */
export interface Caller {
  account: string;
  region: string;
  accessKeyId: string;
  principal: Principal;
}

export interface RequestAuthenticator {
  /**
   * Authenticates a request signed for `service` (a service name such as 'lambda') as the
   * API chain would: strict mode checks the signature, session token and expiry against
   * the known credentials, permissive mode accepts any well-formed signature. Resolves
   * undefined for an unsigned request, the service protocol's auth error for a bad one.
   */
  authenticate(
    req: SignedRequest,
    body: Buffer,
    service: string,
  ): Promise<Caller | AwsError | undefined>;
  /**
   * Authorises what an authenticated caller asks of a data plane (`lambda:InvokeFunctionUrl`
   * on a function, `ecr:BatchGetImage` on a repository) by the same policy evaluation as
   * the API chain: resolves AccessDenied in the protocol's shape when refused.
   */
  authorize(call: AuthzCall, protocol: ProtocolName): Promise<AwsError | undefined>;
  /**
   * Who holds an access key (the caller behind an ECR registry token, which records the
   * key it was issued to); undefined for a key no longer known.
   */
  callerOf(accessKeyId: string): Promise<Caller | undefined>;
}

/**
 * Calls one operation. Resolves `undefined` output for operations without output;
 * returns `NOT_IMPLEMENTED` synchronously when the provider lacks the operation.
 */
export type Dispatch = (
  operation: string,
  input: Record<string, unknown>,
  ctx: RequestContext,
) => Promise<unknown> | typeof NOT_IMPLEMENTED;

export const NOT_IMPLEMENTED = Symbol('not implemented');

/**
 * Binds a provider typed by a generated `<Svc>Operations` interface (every method optional)
 * to the gateway's untyped dispatch. Inputs arrive already parsed and validated against
 * the same model the interface was generated from, which is what makes the cast sound.
 */
export function bindProvider<Ops extends object>(provider: Partial<Ops>): Dispatch {
  const table = provider as Record<string, unknown>;
  const dispatch: Dispatch = (operation, input, ctx) => {
    const fn = table[operation];
    if (typeof fn !== 'function') return NOT_IMPLEMENTED;
    return (fn as (i: unknown, c: RequestContext) => Promise<unknown>).call(provider, input, ctx);
  };
  boundProviders.set(dispatch, table);
  return dispatch;
}

const boundProviders = new WeakMap<Dispatch, Record<string, unknown>>();

/**
 * A dispatch that wraps one made by bindProvider (to act around each call), answering for
 * the same operations in GET /'s counts.
 */
export function wrapDispatch(bound: Dispatch, wrapper: Dispatch): Dispatch {
  const table = boundProviders.get(bound);
  if (table) boundProviders.set(wrapper, table);
  return wrapper;
}

/**
 * Whether a dispatch made by bindProvider has `operation` (for GET /'s operation counts);
 * undefined for a dispatch made some other way.
 */
export function dispatchHas(dispatch: Dispatch, operation: string): boolean | undefined {
  const table = boundProviders.get(dispatch);
  return table && typeof table[operation] === 'function';
}

/** What the gateway tells the form handler about the request. */
export interface FormUploadRequest {
  req: IncomingMessage;
  bucket: string;
  requestId: string;
  /** Strict mode: the policy's signature is verified. */
  strict: boolean;
  defaultAccount: string;
  defaultRegion: string;
  /** The bucket's URL as the client reached it (Location answers): the key follows a slash. */
  bucketUrl: string;
  findCredential(accessKeyId: string): Promise<Credential | undefined>;
  /** IAM's decision (`--iam`) on the upload as the PutObject it is: a refusal, or undefined. */
  authorize(
    ctx: RequestContext,
    input: { Bucket: string; Key: string },
  ): Promise<AwsError | undefined>;
}

export interface ServiceInstance {
  dispatch: Dispatch;
  /** The links the plugin declared in `provides` (see links.ts), by name. */
  provides?: Partial<Provided<LinkName>>;
  /**
   * HTTP served outside the AWS API chain, where AWS uses other hosts or paths (function
   * URLs, code downloads, the OCI registry), each declaring its host and path forms.
   */
  dataPlanes?: readonly DataPlane[];
  /**
   * S3's POST Object (browser form uploads): an unsigned multipart/form-data POST to a
   * bucket, authorised by the form's own signed policy rather than by the request's.
   */
  formUpload?(up: FormUploadRequest): Promise<WireResponse>;
  /** Background work started once the server listens, stopped before shutdown. */
  start?(server: { endpoint: string }): Promise<void>;
  stop?(): Promise<void>;
  /** Drops in-memory caches after POST /_stratus/reset wiped the stores. */
  reset?(): Promise<void>;
}

/** A plugin as the server sees it: its declared links, the rest erased (see definePlugin). */
export interface ServicePlugin {
  /** Directory name under src/api (its model's endpoint prefix), e.g. 'iam', 'logs'. */
  name: string;
  /** Lazily loads the generated shape table. */
  model(): Promise<ServiceModel>;
  /** IAM and STS are global: their resources are scoped by account only. */
  global?: boolean;
  /** Largest API request body this service accepts (default: the gateway's limit). */
  maxRequestBytes?: number;
  /** Links this plugin's `create` receives; the server creates their providers first. */
  needs: readonly LinkName[];
  /** Links this plugin's instance hands to others. */
  provides: readonly LinkName[];
  create(deps: PluginDeps<LinkName>): ServiceInstance | Promise<ServiceInstance>;
}

/** An instance that hands over every link in `P` (nothing more is asked when P is never). */
export type ProvidingInstance<P extends LinkName> = ServiceInstance &
  ([P] extends [never] ? unknown : { provides: Provided<P> });

/** A plugin as written: `needs` and `provides` type its `create`. */
export interface PluginSpec<N extends LinkName, P extends LinkName> {
  name: string;
  model(): Promise<ServiceModel>;
  global?: boolean;
  maxRequestBytes?: number;
  needs?: readonly N[];
  provides?: readonly P[];
  /** NoInfer: `provides` alone says what P is; the instance is checked against it. */
  create(deps: PluginDeps<N>): NoInfer<ProvidingInstance<P> | Promise<ProvidingInstance<P>>>;
}

/**
 * Declares a plugin. `needs: ['logs']` types `deps.links.logs` as LogSink; `provides:
 * ['iam']` makes the instance's `provides.iam` an IamDirectory the compiler checks.
 */
export function definePlugin<const N extends LinkName = never, const P extends LinkName = never>(
  spec: PluginSpec<N, P>,
): ServicePlugin {
  return { ...spec, needs: spec.needs ?? [], provides: spec.provides ?? [], create: spec.create };
}

/**
 * HTTP served outside the AWS API chain, where AWS uses other hosts or paths. A data plane
 * declares where it answers; the gateway's routing table (src/gateway/routes.ts) decides
 * in one place, by Host first, then SigV4 credential scope, then path.
 */
export interface DataPlane {
  /** Short name for the access log and GET /, e.g. 'lambda-url', 'registry'. */
  name: string;
  /** What it is, for people: GET / and the error for a request no route claims. */
  title: string;
  /**
   * Host names it owns, whatever the path (a port is ignored, case too). `{label}` captures
   * one or more DNS labels and reaches `handle` as `match.host.label`, e.g.
   * '{id}.lambda-url.{region}.localhost' or '{id}.lambda-url.{region}.on.aws'.
   */
  hosts?: readonly string[];
  /**
   * Paths it owns on any other host: a prefix, optionally followed by `{label}`s that only
   * document the form (`/_stratus/lambda-url/{id}/`). Every host form needs a path form
   * too: `*.localhost` names do not resolve through glibc (Node, Python, the SDKs).
   */
  paths?: readonly string[];
  /**
   * The services (SigV4 signing names) whose signed requests its paths take, where a path
   * is also an AWS API's (`/2021-11-15/functions/` is signed for 'lambda'). A request
   * signed for any other service is an API call and goes to the API chain (API Gateway v2's
   * `GET /v2/apis` is not for the registry). Paths under /_stratus/ ignore signatures.
   */
  signedFor?: readonly string[];
  /** Its requests are AWS API calls, which the API chain's access log records already. */
  apiCalls?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, match: RouteMatch): Promise<void>;
  /**
   * An HTTP Upgrade (WebSocket handshake) routed to this plane; without it the gateway
   * refuses upgrades. It owns the socket from here, errors included.
   */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch): void;
}

/** How the routing table chose a data plane. */
export interface RouteMatch {
  /** The labels a host form captured; undefined when a path form matched. */
  host?: Readonly<Record<string, string>>;
}
