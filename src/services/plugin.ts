import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceModel } from '../protocol/model.js';
import type { RequestContext, CredentialSource, Principal } from '../shared/context.js';
import type { AwsError } from '../shared/errors.js';
import type { BlobStore, MetadataStore } from '../storage/types.js';
import type { LogSink } from '../events/logs.js';
import type { StratusConfig } from '../config.js';
import type { ContainerDriver, ImageSource } from '../runtime/container.js';
import type { IamDirectory } from './iam/directory.js';
import type { SessionIssuer } from './sts/issuer.js';

/** What the gateway hands every plugin when the server starts. */
export interface PluginDeps {
  config: StratusConfig;
  store: MetadataStore;
  /** The shared blob store (never garbage-collected). */
  blobs: BlobStore;
  /** A blob store of the plugin's own, for blobs it garbage-collects itself (ECR). */
  blobNamespace(name: string): Promise<BlobStore>;
  /** CloudWatch Logs' typed append interface (exported by the logs plugin). */
  logs: LogSink;
  /** IAM's typed lookups (role existence, trust policies). */
  iam: IamDirectory;
  /** STS's role sessions for service principals (Lambda execution roles). */
  sts: SessionIssuer;
  /**
   * SigV4 authentication for data planes AWS authenticates itself (function URLs with
   * AuthType AWS_IAM, Lambda's event-stream invoke). Absent where no gateway runs (unit
   * tests): such requests are then refused.
   */
  signatures?: RequestAuthenticator;
  /** Where containers run (the driver `--driver` chose; runtime/select.ts). */
  containers: ContainerDriver;
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
  return (operation, input, ctx) => {
    const fn = table[operation];
    if (typeof fn !== 'function') return NOT_IMPLEMENTED;
    return (fn as (i: unknown, c: RequestContext) => Promise<unknown>).call(provider, input, ctx);
  };
}

export interface ServiceInstance {
  dispatch: Dispatch;
  /** Plugins that mint credentials register them for strict-mode authentication. */
  credentials?: CredentialSource;
  /** Typed interface other plugins may use (e.g. the logs plugin's LogSink). */
  logSink?: LogSink;
  /** IAM's typed lookups, exported by the iam plugin. */
  iamDirectory?: IamDirectory;
  /** STS's role-session issuer, exported by the sts plugin. */
  sessionIssuer?: SessionIssuer;
  /** Image references resolved against the registry, exported by the ecr plugin. */
  imageSource?: ImageSource;
  /**
   * HTTP served outside the AWS API chain, where AWS uses other hosts or paths (function
   * URLs, code downloads, the OCI registry). Routed by path prefix before the chain.
   */
  dataPlanes?: readonly DataPlane[];
  /** Background work started once the server listens, stopped before shutdown. */
  start?(server: { endpoint: string }): Promise<void>;
  stop?(): Promise<void>;
  /** Drops in-memory caches after POST /_stratus/reset wiped the stores. */
  reset?(): Promise<void>;
}

export interface ServicePlugin {
  /** Directory name under src/api (its model's endpoint prefix), e.g. 'iam', 'logs'. */
  name: string;
  /** Lazily loads the generated shape table. */
  model(): Promise<ServiceModel>;
  /** IAM and STS are global: their resources are scoped by account only. */
  global?: boolean;
  /** Largest API request body this service accepts (default: the gateway's limit). */
  maxRequestBytes?: number;
  create(deps: PluginDeps): ServiceInstance | Promise<ServiceInstance>;
}

export interface DataPlane {
  /** Path prefix this data plane owns, e.g. '/_stratus/lambda-url/'. */
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}
