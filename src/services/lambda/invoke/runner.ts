/**
 * Runs one invocation of a resolved function, whatever asked for it (Invoke, the async
 * queue, a function URL, the streaming invoke): state check, concurrency slot, execution
 * role credentials, the executor, and the usage row.
 *
 * The warm path is all in memory: the resolution is cached by LambdaFunctions, the slot is
 * a Map update, the credentials and the spec handed to the executor are cached per version,
 * and the usage row is buffered.
 */
import { ResourceConflictException, ServiceException } from '../../../api/lambda/errors.js';
import { AwsError } from '../../../shared/errors.js';
import type { Executor, FunctionVersionSpec, InvokeOutcome } from '../execution/types.js';
import type { InvocationTarget, ResolvedVersion } from '../functions-api.js';
import type { Credentials, RoleCredentialCache } from './credentials.js';
import { scopeKeyOf, type ReservationTotals } from './reservations.js';
import { throttled, type ConcurrencyGate, type Lease } from './throttle.js';
import type { LambdaMetrics } from './metrics.js';
import type { UsageMeter, UsageSource } from './usage.js';

export interface RunOptions {
  requestId: string;
  payload: Buffer;
  /** Base64 JSON, passed through to the runtime (synchronous invocations only). */
  clientContext?: string;
  /** Collect the log tail (`LogType: Tail`). */
  tailLogs: boolean;
  source: UsageSource;
  /** Streaming data planes: receives a streamed answer chunk by chunk as it arrives. */
  onChunk?: (chunk: Buffer) => void;
  /** Asynchronous invocations: how long the event waited in the queue (AsyncEventAge). */
  eventAgeMs?: number;
}

export interface RunnerDeps {
  executor(): Executor;
  credentials: RoleCredentialCache;
  gate: ConcurrencyGate;
  reservations: ReservationTotals;
  usage: UsageMeter;
  /** CloudWatch's AWS/Lambda metrics (absent: none published). */
  metrics?: LambdaMetrics;
  now?: () => number;
}

interface CachedSpec {
  credentials: Credentials;
  spec: FunctionVersionSpec;
}

export class InvocationRunner {
  /** The spec handed to the executor, per resolved version and session. */
  private readonly specs = new WeakMap<ResolvedVersion, CachedSpec>();
  /** The session each function's environments were started with. */
  private readonly sessions = new Map<string, Credentials>();
  private readonly now: () => number;

  constructor(private readonly deps: RunnerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Runs the invocation and resolves with what the function answered (errors included).
   * Throws TooManyRequestsException when no concurrency is left, Lambda's errors for a
   * function that cannot run, ServiceException when execution itself failed.
   */
  async run(target: InvocationTarget, opts: RunOptions): Promise<InvokeOutcome> {
    checkState(target);
    let lease: Lease;
    try {
      lease = this.acquire(target) ?? (await this.acquireSlow(target));
    } catch (err) {
      if (err instanceof AwsError && err.status === 429) this.deps.metrics?.throttled(target);
      throw err;
    }
    try {
      const spec = this.spec(target) ?? (await this.specSlow(target));
      let outcome: InvokeOutcome;
      try {
        outcome = await this.deps.executor().invoke(spec, {
          requestId: opts.requestId,
          invokedFunctionArn: target.invokedFunctionArn,
          payload: opts.payload,
          clientContext: opts.clientContext,
          tailLogs: opts.tailLogs,
          onChunk: opts.onChunk,
        });
      } catch (err) {
        throw err instanceof AwsError ? err : serviceError(err);
      }
      this.meter(target, opts, outcome);
      this.deps.metrics?.invoked(
        target,
        outcome,
        this.deps.gate.running(scopeKeyOf(target) + target.functionName),
        opts.eventAgeMs,
      );
      return outcome;
    } finally {
      lease.release();
    }
  }

  /** Resolves once the log lines of every invocation run so far are in CloudWatch Logs. */
  async flushLogs(): Promise<void> {
    await this.deps.executor().flushLogs?.();
  }

  /** Undefined when the region's reservation total must be read first. */
  private acquire(target: InvocationTarget): Lease | undefined {
    const scopeKey = scopeKeyOf(target);
    let total = 0;
    if (target.reservedConcurrency === undefined) {
      const known = this.deps.reservations.peek(scopeKey);
      if (known === undefined) return undefined;
      total = known;
    }
    const got = this.deps.gate.acquire(
      scopeKey,
      scopeKey + target.functionName,
      target.reservedConcurrency,
      total,
    );
    if (typeof got === 'string') throw throttled(got);
    return got;
  }

  private async acquireSlow(target: InvocationTarget): Promise<Lease> {
    const total = await this.deps.reservations.load(target);
    const scopeKey = scopeKeyOf(target);
    const got = this.deps.gate.acquire(scopeKey, scopeKey + target.functionName, undefined, total);
    if (typeof got === 'string') throw throttled(got);
    return got;
  }

  /** The spec the executor runs a target with (its role's session included). */
  async specFor(target: InvocationTarget): Promise<FunctionVersionSpec> {
    return this.spec(target) ?? (await this.specSlow(target));
  }

  private spec(target: InvocationTarget): FunctionVersionSpec | undefined {
    const v = target.version;
    const credentials = this.deps.credentials.peek(target.account, v.role, target.functionName);
    if (credentials === undefined) return undefined;
    const cached = this.specs.get(v);
    if (cached?.credentials === credentials) return cached.spec;
    const spec: FunctionVersionSpec = { ...v.spec, credentials };
    this.specs.set(v, { credentials, spec });
    return spec;
  }

  private async specSlow(target: InvocationTarget): Promise<FunctionVersionSpec> {
    const v = target.version;
    let credentials: Credentials;
    try {
      credentials = await this.deps.credentials.get(target.account, v.role, target.functionName);
    } catch (err) {
      // The role vanished after the function was created: Lambda cannot assume it.
      throw new AwsError(
        'ServiceException',
        500,
        false,
        `Lambda was unable to assume the function's execution role ${v.role}: ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
    // Environments keep the session they started with: when it is renewed, they are
    // replaced, so a function never runs with expired credentials (strict mode refuses them).
    const key = scopeKeyOf(target) + target.functionName;
    const previous = this.sessions.get(key);
    this.sessions.set(key, credentials);
    if (previous !== undefined && previous.accessKeyId !== credentials.accessKeyId) {
      await this.deps
        .executor()
        .retire(target.account, target.region, target.functionName)
        .catch(() => {});
    }
    const spec: FunctionVersionSpec = { ...v.spec, credentials };
    this.specs.set(v, { credentials, spec });
    return spec;
  }

  /** Forgets the sessions environments were started with (the executor was replaced). */
  forgetSessions(): void {
    this.sessions.clear();
  }

  private meter(target: InvocationTarget, opts: RunOptions, outcome: InvokeOutcome): void {
    const v = target.version;
    this.deps.usage.record({
      account: target.account,
      region: target.region,
      functionName: target.functionName,
      version: target.executedVersion,
      requestId: opts.requestId,
      timestamp: this.now(),
      durationMs: outcome.durationMs,
      billedDurationMs: outcome.billedDurationMs,
      ...(outcome.initDurationMs !== undefined && { initDurationMs: outcome.initDurationMs }),
      memoryMb: v.spec.memoryMb,
      ephemeralStorageMb: v.spec.ephemeralStorageMb,
      architecture: v.architectures[0] ?? 'x86_64',
      requests: 1,
      outcome: outcome.kind,
      source: opts.source,
    });
  }
}

/**
 * New functions and versions are Pending until ready (LambdaFunctions.resolve waits for
 * the flip, so this only shows a function that could not become Active).
 * https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
 */
function checkState(target: InvocationTarget): void {
  const state = target.version.state;
  if (state === 'Active' || state === 'Inactive') return;
  throw new ResourceConflictException(
    `The operation cannot be performed at this time. The function is currently in the following state: ${state}`,
    { Type: 'User' },
  );
}

function serviceError(err: unknown): ServiceException {
  return new ServiceException(
    `Lambda could not run the function: ${err instanceof Error ? err.message : String(err)}`,
    { Type: 'Service' },
  );
}
