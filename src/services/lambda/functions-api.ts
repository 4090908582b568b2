/**
 * The typed interface the invoke path (Invoke, async event queue, function URLs, other
 * services' triggers) uses instead of Lambda's store: resolve a function reference to what
 * runs, read async invocation settings, find a function URL's owner, read policies.
 *
 * Resolutions are cached in memory and dropped whenever the Lifecycle announces a change of
 * that function (every committed mutation does), so the warm invoke path costs a Map
 * lookup. A weighted alias picks its version per call.
 */
import type {
  FunctionConfiguration,
  FunctionEventInvokeConfig,
  FunctionUrlAuthType,
  Cors,
  InvokeMode,
  LastUpdateStatus,
  LoggingConfig,
  PutFunctionEventInvokeConfigRequest,
  State,
  TracingMode,
  Architecture,
  DurableConfig,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import { LATEST, functionArn, qualifiedArn, type Scope } from './arns.js';
import { locate, requireFunction, resolveTarget, type LambdaDeps, type Located } from './common.js';
import { FULL, configurationOf } from './config-view.js';
import { eventInvokeConfigView } from './event-invoke-config.js';
import type { ChangeListener, FunctionChange } from './lifecycle.js';
import type { FunctionVersionSpec } from './execution/types.js';
import {
  T,
  functionKey,
  qualifierKey,
  type EventInvokeConfigRecord,
  type FunctionRecord,
  type PolicyRecord,
  type PolicyStatement,
  type UrlConfigRecord,
  type UrlIdRecord,
  type VersionRecord,
} from './store.js';
import { functionUrl } from './url-config.js';
import { BoundedMap } from '../../shared/bounded-map.js';

/** One version, ready to run. */
export interface ResolvedVersion {
  /** Everything execution needs except the execution role's credentials. */
  spec: Omit<FunctionVersionSpec, 'credentials'>;
  /** Execution role ARN (credentials are minted for it by the invoke path). */
  role: string;
  /** The version as GetFunctionConfiguration shows it (ARN qualified by version). */
  configuration: FunctionConfiguration;
  state: State;
  lastUpdateStatus?: LastUpdateStatus;
  architectures: Architecture[];
  tracingMode: TracingMode;
  loggingConfig: LoggingConfig;
  deadLetterTargetArn?: string;
  /** Durable functions: DurableConfig (their invocations run durable executions). */
  durable?: DurableConfig;
}

/** What an Invoke of `FunctionName` (+ `Qualifier`) runs. */
export interface InvocationTarget {
  account: string;
  region: string;
  functionName: string;
  /** The function's unqualified ARN. */
  functionArn: string;
  /**
   * The ARN as the caller named the function: unqualified, or qualified by the version or
   * alias given. The runtime's context.invokedFunctionArn.
   */
  invokedFunctionArn: string;
  /** The qualifier the caller gave, if any. */
  qualifier?: string;
  /** Set when the qualifier is an alias. */
  alias?: string;
  /** `$LATEST` or a version number: X-Amz-Executed-Version. */
  executedVersion: string;
  version: ResolvedVersion;
  /** The function's reserved concurrency; undefined when it uses the unreserved pool. */
  reservedConcurrency?: number;
}

/** The owner of a function URL, for the URL data plane. */
export interface FunctionUrlTarget {
  account: string;
  region: string;
  functionName: string;
  /** The alias the URL belongs to; undefined for the unqualified function. */
  qualifier?: string;
  functionArn: string;
  functionUrl: string;
  authType: FunctionUrlAuthType;
  cors?: Cors;
  invokeMode: InvokeMode;
}

interface Entry {
  primary: InvocationTarget;
  /** A weighted alias's additional version and its weight (0–1). */
  additional?: { target: InvocationTarget; weight: number };
}

/** Function URL ids resolved (found or not) kept at most. */
const MAX_CACHED_URLS = 10_000;

export class LambdaFunctions {
  private readonly cache = new Map<string, Entry>();
  /** function key → its cache keys, and a generation that outdates loads in flight. */
  private readonly byFunction = new Map<string, { keys: Set<string>; generation: number }>();
  private readonly urls = new BoundedMap<string, FunctionUrlTarget | null>(MAX_CACHED_URLS);

  constructor(
    private readonly deps: LambdaDeps,
    private readonly putEventInvoke: (
      input: PutFunctionEventInvokeConfigRequest,
      ctx: RequestContext,
    ) => Promise<FunctionEventInvokeConfig>,
  ) {
    deps.lifecycle.onChange((change) => this.forget(change));
  }

  /** The account concurrency limit per region (GetAccountSettings' ConcurrentExecutions). */
  get concurrencyLimit(): number {
    return this.deps.concurrencyLimit;
  }

  /** Called after every committed change of a function (code, config, aliases, deletion). */
  onChange(listener: ChangeListener): () => void {
    return this.deps.lifecycle.onChange(listener);
  }

  /**
   * Resolves a name, full ARN or partial ARN (`123456789012:function:name`), with the
   * qualifier in the name or as `qualifier` ($LATEST, a version, an alias; a weighted alias
   * picks a version at random by weight). Waits for a state flip in flight, so a function
   * invoked right after CreateFunction runs Active. Throws Lambda's own errors
   * (ResourceNotFoundException "Function not found: <arn>", …).
   */
  async resolve(
    ctx: Pick<RequestContext, 'account' | 'region' | 'principal'>,
    functionName: string,
    qualifier?: string,
  ): Promise<InvocationTarget> {
    // Keyed by the reference as given: a warm call parses nothing.
    const raw = `${ctx.account}\0${ctx.region}\0${functionName}\0${qualifier ?? ''}`;
    const entry = this.cache.get(raw) ?? (await this.miss(ctx, raw, functionName, qualifier));
    const extra = entry.additional;
    return extra && Math.random() < extra.weight ? extra.target : entry.primary;
  }

  private async miss(
    ctx: Pick<RequestContext, 'account' | 'region' | 'principal'>,
    raw: string,
    functionName: string,
    qualifier: string | undefined,
  ): Promise<Entry> {
    const at = locate(ctx, functionName, qualifier, { action: 'InvokeFunction' });
    await this.deps.lifecycle.settled(at.scope, at.name);
    const slot = this.slot(at.key);
    const generation = slot.generation;
    let entry: Entry;
    try {
      entry = await this.load(at);
    } catch (err) {
      // A name that resolves to nothing keeps no slot: otherwise every distinct name a
      // client tries (a fuzzer, a typo loop) would stay in memory.
      if (slot.keys.size === 0 && this.byFunction.get(at.key) === slot) {
        this.byFunction.delete(at.key);
      }
      throw err;
    }
    // Not cached when the function changed (or the state was reset) while it loaded.
    if (this.byFunction.get(at.key) === slot && slot.generation === generation) {
      this.cache.set(raw, entry);
      slot.keys.add(raw);
    }
    return entry;
  }

  /** The async invocation settings that apply to an invocation through `qualifier`. */
  async getEventInvokeConfig(
    scope: Scope,
    functionName: string,
    qualifier: string = LATEST,
  ): Promise<FunctionEventInvokeConfig | undefined> {
    const rec = await this.deps.store.get<EventInvokeConfigRecord>(
      T.eventInvoke,
      qualifierKey(functionKey(scope, functionName), qualifier),
    );
    return rec && eventInvokeConfigView(scope, functionName, rec);
  }

  /** PutFunctionEventInvokeConfig with the API's own validation. */
  putEventInvokeConfig(
    ctx: RequestContext,
    input: PutFunctionEventInvokeConfigRequest,
  ): Promise<FunctionEventInvokeConfig> {
    return this.putEventInvoke(input, ctx);
  }

  /** The function URL `<endpoint>/_stratus/lambda-url/<urlId>/` belongs to, if any. */
  async getFunctionUrl(urlId: string): Promise<FunctionUrlTarget | undefined> {
    const cached = this.urls.get(urlId);
    if (cached !== undefined) return cached ?? undefined;
    const owner = await this.deps.store.get<UrlIdRecord>(T.urlIds, urlId);
    let target: FunctionUrlTarget | null = null;
    if (owner) {
      const scope = { account: owner.account, region: owner.region };
      const rec = await this.deps.store.get<UrlConfigRecord>(
        T.urls,
        qualifierKey(functionKey(scope, owner.functionName), owner.qualifier),
      );
      if (rec) {
        const alias = rec.qualifier === LATEST ? undefined : rec.qualifier;
        target = {
          account: owner.account,
          region: owner.region,
          functionName: owner.functionName,
          functionArn: alias
            ? qualifiedArn(scope, owner.functionName, alias)
            : functionArn(scope, owner.functionName),
          functionUrl: functionUrl(this.deps.endpoint(), urlId),
          authType: rec.authType,
          invokeMode: rec.invokeMode,
        };
        if (alias) target.qualifier = alias;
        if (rec.cors) target.cors = rec.cors;
      }
    }
    // Unknown ids are remembered too (a miss costs no read), so the map is bounded.
    this.urls.set(urlId, target);
    return target ?? undefined;
  }

  /** The resource policy statements of the function (or of one version / alias). */
  async getPolicy(
    scope: Scope,
    functionName: string,
    qualifier: string = LATEST,
  ): Promise<PolicyStatement[]> {
    const rec = await this.deps.store.get<PolicyRecord>(
      T.policies,
      qualifierKey(functionKey(scope, functionName), qualifier),
    );
    return rec?.statements ?? [];
  }

  /** Drops every cached resolution (after POST /_stratus/reset). */
  reset(): void {
    this.cache.clear();
    this.byFunction.clear();
    this.urls.clear();
  }

  private slot(fnKey: string): { keys: Set<string>; generation: number } {
    let slot = this.byFunction.get(fnKey);
    if (!slot) {
      slot = { keys: new Set(), generation: 0 };
      this.byFunction.set(fnKey, slot);
    }
    return slot;
  }

  private forget(change: FunctionChange): void {
    const key = functionKey(change, change.functionName);
    const slot = this.byFunction.get(key);
    if (slot) {
      for (const k of slot.keys) this.cache.delete(k);
      slot.keys.clear();
      slot.generation++;
    }
    this.urls.clear();
  }

  private async load(at: Located): Promise<Entry> {
    const { store } = this.deps;
    const fn: FunctionRecord = await requireFunction(store, at, at.qualifier);
    const { version, alias } = await resolveTarget(store, at, at.qualifier);
    const invoked =
      at.qualifier === undefined
        ? functionArn(at.scope, at.name)
        : qualifiedArn(at.scope, at.name, at.qualifier);
    const target = async (v: VersionRecord): Promise<InvocationTarget> => {
      const out: InvocationTarget = {
        account: at.scope.account,
        region: at.scope.region,
        functionName: at.name,
        functionArn: functionArn(at.scope, at.name),
        invokedFunctionArn: invoked,
        executedVersion: v.version,
        version: await this.resolveVersion(at, v),
      };
      if (at.qualifier !== undefined) out.qualifier = at.qualifier;
      if (alias) out.alias = alias.name;
      if (fn.reservedConcurrency !== undefined) out.reservedConcurrency = fn.reservedConcurrency;
      return out;
    };
    const entry: Entry = { primary: await target(version) };
    const weights = alias?.weights;
    if (weights) {
      const [extraVersion, weight] = Object.entries(weights)[0];
      const { version: extra } = await resolveTarget(store, at, extraVersion);
      entry.additional = { target: await target(extra), weight };
    }
    return entry;
  }

  private async resolveVersion(at: Located, v: VersionRecord): Promise<ResolvedVersion> {
    const { code } = this.deps;
    const codeDir = v.code ? await code.directory(v.code.sha) : '';
    const layerDirs: string[] = [];
    for (const l of v.layers) layerDirs.push(await code.directory(l.code.sha));
    const arn = qualifiedArn(at.scope, at.name, v.version);
    const out: ResolvedVersion = {
      spec: {
        account: at.scope.account,
        region: at.scope.region,
        functionName: at.name,
        functionArn: arn,
        version: v.version,
        runtime: v.runtime ?? '',
        handler: v.handler ?? '',
        memoryMb: v.memorySize,
        timeoutSeconds: v.timeout,
        ephemeralStorageMb: v.ephemeralStorage,
        environment: v.environment ?? {},
        codeDir,
        layerDirs,
        revisionId: v.revisionId,
        logGroupName: v.loggingConfig.LogGroup ?? `/aws/lambda/${at.name}`,
      },
      role: v.role,
      configuration: configurationOf(at.scope, at.name, v, arn, FULL),
      state: v.state,
      architectures: v.architectures,
      tracingMode: v.tracingMode,
      loggingConfig: v.loggingConfig,
    };
    if (v.image !== undefined) {
      const c = v.imageConfig ?? {};
      out.spec.image = { resolvedUri: v.image.resolvedUri };
      if (c.EntryPoint?.length) out.spec.image.entryPoint = c.EntryPoint;
      if (c.Command?.length) out.spec.image.command = c.Command;
      if (c.WorkingDirectory) out.spec.image.workingDirectory = c.WorkingDirectory;
    }
    if (v.lastUpdateStatus) out.lastUpdateStatus = v.lastUpdateStatus;
    if (v.deadLetterTargetArn) out.deadLetterTargetArn = v.deadLetterTargetArn;
    if (v.durable) out.durable = v.durable;
    return out;
  }
}
