/**
 * The Executor: runs invocations in execution environments.
 *
 * One environment per concurrent request; an environment that finished is reused warm for
 * the same function revision (no process is spawned on the warm path) and shut down after
 * `idleTimeoutMs` without work. Cold starts take a pre-started runtime process when one
 * fits (see pool.ts), else spawn one.
 */
import { readdir, readFile, rm, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogSink } from '../../../events/logs.js';
import type { ExecutionDriver } from '../../../runtime/types.js';
import { Environment, type EnvironmentContext } from './environment.js';
import type { ContainerSandbox } from './container-sandbox.js';
import { interpreterNotice } from './interpreter-notice.js';
import { LogWriter } from '../../../events/log-writer.js';
import { canUsePrestarted, ContainerPrestartPool, PrestartPool, WarmPool } from './pool.js';
import {
  defaultRuntimeHost,
  type RuntimeFamily,
  runtimeFamily,
  type RuntimeHost,
} from './runtimes.js';
import type { Executor, FunctionVersionSpec, InvokeOutcome, InvokeRequest } from './types.js';

export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/**
 * AWS "terminates execution environments every few hours to allow for runtime updates and
 * maintenance, even for functions that are invoked continuously", with no figure published:
 * here, two hours. It also bounds what a long-lived runtime accumulates (glibc keeps every
 * value a runtime passes to setenv, such as each invocation's _X_AMZN_TRACE_ID).
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 */
export const DEFAULT_MAX_LIFETIME_MS = 2 * 60 * 60_000;
/**
 * Function log lines wait this long to be appended together: each flush is a SQLite
 * commit, and under load commits (WAL pages rewritten, checkpoints that fsync on the event
 * loop) cost more than the rows; at 20 ms a busy server lost ~15-20% of its invokes to them
 * (bench/README.md). CloudWatch Logs itself shows Lambda's lines seconds later.
 */
const DEFAULT_LOG_FLUSH_MS = 100;

export interface ExecutorOptions {
  driver: ExecutionDriver;
  logs: LogSink;
  /** Stratus's own URL, handed to functions as AWS_ENDPOINT_URL. */
  endpoint: () => string;
  /** Where environments get their private /tmp (default <os tmp>/stratus-lambda). */
  tmpRoot?: string;
  /** Idle keep-alive of a warm environment (default 5 minutes). */
  idleTimeoutMs?: number;
  /**
   * An environment this old is shut down when its invocation ends, or at the idle sweep
   * (default DEFAULT_MAX_LIFETIME_MS). Provisioned environments stay.
   */
  maxLifetimeMs?: number;
  /** Pre-started runtime processes per family (default 1 each for node and python; 0 turns
   *  it off). A family's pool fills on its first cold start, or at once with `prestartNow`. */
  prestart?: Partial<Record<RuntimeFamily, number>>;
  prestartNow?: boolean;
  /** How long function log lines may wait before they are appended (default 100 ms). */
  logFlushMs?: number;
  /** Interpreters and bootstraps (default: this host's node and python3, runtimes/). */
  host?: RuntimeHost;
  warn?: (msg: string, err?: unknown) => void;
  /**
   * Environments as containers of the runtime's image (runc): no pre-started processes,
   * the interpreter the runtime names. Unset: host processes on the host's interpreters.
   */
  sandbox?: ContainerSandbox;
}

export interface LambdaExecutor extends Executor {
  /** Appends every log line written so far to CloudWatch Logs. */
  flushLogs(): Promise<void>;
  /**
   * Keeps `count` environments of this version initialised and never idled out
   * (provisioned concurrency); surplus ones go back to the ordinary idle rules.
   */
  provision(fn: FunctionVersionSpec, count: number): Promise<void>;
  /** Provisioned environments of a revision that have finished INIT. */
  provisionedReady(
    account: string,
    region: string,
    functionName: string,
    revisionId: string,
  ): number;
}

export function createExecutor(opts: ExecutorOptions): LambdaExecutor {
  return new ProcessExecutor(opts);
}

class ProcessExecutor implements LambdaExecutor {
  private readonly warm = new WarmPool();
  private readonly prestart: PrestartPool;
  private readonly containerPool: ContainerPrestartPool | undefined;
  private readonly ctx: EnvironmentContext;
  private readonly logs: LogWriter;
  private readonly idleMs: number;
  private readonly maxLifetimeMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly started = new Set<RuntimeFamily>();
  /** Functions (and runtimes) whose log has said which interpreter they got. */
  private readonly noticed = new Set<string>();
  private readonly ready: Promise<void>;
  private stopped = false;

  constructor(opts: ExecutorOptions) {
    const warn =
      opts.warn ??
      ((msg: string, err?: unknown) => {
        process.emitWarning(
          `${msg}${err ? `: ${err instanceof Error ? err.message : String(err)}` : ''}`,
        );
      });
    this.idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxLifetimeMs = opts.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
    this.logs = new LogWriter(opts.logs, opts.logFlushMs ?? DEFAULT_LOG_FLUSH_MS, (err) =>
      warn('could not append Lambda logs', err),
    );
    const tmpRoot = opts.tmpRoot ?? join(tmpdir(), 'stratus-lambda');
    this.ctx = {
      driver: opts.driver,
      host: opts.host ?? defaultRuntimeHost(),
      logs: this.logs,
      endpoint: opts.endpoint,
      tmpRoot,
      sandbox: opts.sandbox,
      warn,
    };
    // `python3` may be a slow shim: find the real interpreter before the first cold start.
    void this.ctx.host.pythonExecutable();
    this.prestart = new PrestartPool(
      this.ctx,
      opts.sandbox ? {} : (opts.prestart ?? { node: 1, python: 1 }),
    );
    const sandbox = opts.sandbox;
    const poolOn = (opts.prestart?.node ?? 1) > 0 || (opts.prestart?.python ?? 1) > 0;
    this.containerPool =
      sandbox !== undefined && poolOn && sandbox.canPrestart
        ? new ContainerPrestartPool(this.ctx, sandbox)
        : undefined;
    this.ready = mkdir(tmpRoot, { recursive: true, mode: 0o700 })
      .then(() => Promise.all([reapOrphans(tmpRoot), sandbox?.reap()]))
      .then(() => undefined)
      .catch((err: unknown) => warn('could not prepare the Lambda tmp root', err));
    if (opts.prestartNow) {
      void this.ready.then(() => {
        for (const f of ['node', 'python'] as const) this.startFamily(f);
      });
    }
    const sweepEvery = Math.max(10, Math.min(this.idleMs / 2, 30_000));
    this.sweeper = setInterval(() => this.sweep(), sweepEvery);
    this.sweeper.unref();
  }

  async invoke(fn: FunctionVersionSpec, req: InvokeRequest): Promise<InvokeOutcome> {
    if (this.stopped) throw new Error('executor stopped');
    const key = WarmPool.key(fn.account, fn.region, fn.functionName);
    const group = this.warm.group(key);
    let env = group.take(fn.revisionId);
    if (env === undefined) {
      // An image brings its own runtime interface client: like `provided`, no pre-started
      // runtime fits it.
      const family = fn.image !== undefined ? 'provided' : runtimeFamily(fn.runtime);
      if (family === undefined) throw new Error(`unsupported runtime ${fn.runtime}`);
      await this.ready;
      const notice = fn.image !== undefined ? undefined : await this.notice(fn, family);
      env = this.coldEnvironment(fn, family, notice);
      this.warm.adopt(key, group, env);
    }
    const outcome = await env.invoke(req);
    // Extensions may still be working on the invocation: the environment is free after.
    const post = env.postInvoke;
    if (post !== null) void post.then(() => this.release(env, group));
    else this.release(env, group);
    return outcome;
  }

  private release(env: Environment, group: ReturnType<WarmPool['group']>): void {
    if (env.state !== 'idle') return;
    const outlived = !env.provisioned && Date.now() - env.startedAt >= this.maxLifetimeMs;
    if (env.retired || this.stopped || outlived) void env.kill();
    else group.putBack(env);
  }

  /** Once per function and runtime: which interpreter it got, where not the one named. */
  private async notice(
    fn: FunctionVersionSpec,
    family: RuntimeFamily,
  ): Promise<string | undefined> {
    const key = noticeKey(fn);
    if (this.noticed.has(key)) return undefined;
    this.noticed.add(key);
    return interpreterNotice(fn.runtime, family, this.ctx.sandbox ? undefined : this.ctx.host);
  }

  private coldEnvironment(
    fn: FunctionVersionSpec,
    family: RuntimeFamily,
    notice: string | undefined,
  ): Environment {
    const pool = this.containerPool;
    // Pre-started runtimes: Stratus's Node.js and Python clients wait for an assignment.
    const prestartable = family === 'node' || family === 'python';
    if (pool !== undefined && prestartable && canUsePrestarted(fn)) {
      const env = pool.take(fn, family);
      if (env !== undefined) {
        env.assign(fn, notice);
        return env;
      }
    }
    if (prestartable && this.ctx.sandbox === undefined) {
      this.startFamily(family);
      if (canUsePrestarted(fn)) {
        // A pre-started process that died while waiting is skipped (its exit may not have
        // been processed yet).
        for (
          let env = this.prestart.take(family);
          env !== undefined;
          env = this.prestart.take(family)
        ) {
          if (env.state === 'dead') continue;
          env.assign(fn, notice);
          return env;
        }
      }
    }
    return Environment.create(fn, family, this.ctx, notice);
  }

  private startFamily(family: RuntimeFamily): void {
    if (this.started.has(family)) return;
    this.started.add(family);
    this.prestart.fill(family);
  }

  async retire(account: string, region: string, functionName: string): Promise<void> {
    const g = this.warm.functions.get(WarmPool.key(account, region, functionName));
    if (g === undefined) return;
    const kills: Promise<void>[] = [];
    for (const env of g.all) {
      env.retired = true;
      if (env.state !== 'busy' && env.state !== 'starting') kills.push(env.kill());
    }
    g.idle.clear();
    await Promise.all(kills);
  }

  environmentCount(): number {
    return this.warm.size;
  }

  async provision(fn: FunctionVersionSpec, count: number): Promise<void> {
    if (this.stopped) return;
    const family = runtimeFamily(fn.runtime);
    if (family === undefined) throw new Error(`unsupported runtime ${fn.runtime}`);
    await this.ready;
    // Counted and started with no await in between: two calls at once (a scaling change
    // and the function change it fires) must not both start the missing environments.
    const notice = await this.notice(fn, family);
    if (this.stopped) return;
    const key = WarmPool.key(fn.account, fn.region, fn.functionName);
    const group = this.warm.group(key);
    // A retired environment (a change with no new revision, such as the runtime management
    // config) is on its way out and no longer counts, as provisionedReady does not count it:
    // counting it here left the configuration IN_PROGRESS for good.
    const mine = [...group.all].filter(
      (env) =>
        env.provisioned &&
        !env.retired &&
        env.spec?.revisionId === fn.revisionId &&
        env.state !== 'dead',
    );
    for (const env of mine.slice(count)) env.provisioned = false;
    const missing = count - mine.length;
    if (missing <= 0) {
      if (notice !== undefined) this.noticed.delete(noticeKey(fn));
      return;
    }
    for (let i = 0; i < missing; i++) {
      // INIT starts now, with no invocation waiting: the environment turns idle when ready.
      const env = Environment.create(fn, family, this.ctx, i === 0 ? notice : undefined);
      env.provisioned = true;
      this.warm.adopt(key, group, env);
      group.putBack(env);
    }
  }

  provisionedReady(account: string, region: string, functionName: string, revisionId: string) {
    const group = this.warm.functions.get(WarmPool.key(account, region, functionName));
    let n = 0;
    for (const env of group?.all ?? []) {
      if (!env.provisioned || env.retired || env.spec?.revisionId !== revisionId) continue;
      if (env.state === 'idle' || env.state === 'busy') n++;
    }
    return n;
  }

  flushLogs(): Promise<void> {
    return this.logs.flush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    await Promise.all([
      this.prestart.stop(),
      this.containerPool?.stop(),
      ...this.warm.everyEnvironment().map((env) => env.kill()),
    ]);
    await this.logs.flush();
  }

  private sweep(): void {
    const now = Date.now();
    for (const env of this.warm.expired(now, this.idleMs, this.maxLifetimeMs)) void env.kill();
    void this.ctx.sandbox
      ?.collectLayers(now, this.idleMs)
      .catch((err: unknown) => this.ctx.warn('could not remove merged Lambda layers', err));
  }
}

/**
 * Environments left behind by a Stratus that died without stopping them: each directory
 * under the tmp root records `<owner pid> <runtime pid>`. When the owner is gone and the
 * runtime still runs there (its TMPDIR says so), its process group is killed; the
 * directory is removed either way.
 */
async function reapOrphans(tmpRoot: string): Promise<void> {
  const entries = await readdir(tmpRoot).catch(() => [] as string[]);
  await Promise.all(
    entries.map(async (name) => {
      const dir = join(tmpRoot, name);
      const owner = await readFile(join(dir, 'owner'), 'utf8').catch(() => undefined);
      if (owner === undefined) return;
      const [ownerPid, runtimePid] = owner.trim().split(' ').map(Number);
      if (ownerPid === process.pid || pidAlive(ownerPid)) return;
      if (runtimePid > 0 && runsIn(runtimePid, join(dir, 'tmp'))) {
        try {
          process.kill(-runtimePid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }),
  );
}

function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runsIn(pid: number, tmpDir: string): boolean {
  try {
    return ('\0' + readFileSync(`/proc/${pid}/environ`, 'latin1')).includes(`\0TMPDIR=${tmpDir}\0`);
  } catch {
    return false;
  }
}

/** Each function's interpreter notice is logged once per runtime. */
function noticeKey(fn: FunctionVersionSpec): string {
  return `${WarmPool.key(fn.account, fn.region, fn.functionName)}\u0000${fn.runtime}`;
}
