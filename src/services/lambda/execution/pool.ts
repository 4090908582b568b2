/**
 * Environments kept for reuse.
 *
 * WarmPool: per function, the idle environments of each revision (a stack: the most
 * recently used one is reused first, so the others idle out), every live environment, and
 * an idle sweep.
 *
 * PrestartPool: Node.js and Python runtime processes started ahead of need. A cold start
 * takes one and hands it its function (environment variables, task root); the process then
 * imports the handler, so a cold start skips the interpreter's own start-up. A taken
 * process is replaced in the background once its cold start is over. Functions whose
 * configuration only takes effect at interpreter start (NODE_OPTIONS, PYTHON* options,
 * LD_* variables, an exec wrapper, native libraries under lib/) always get a process of
 * their own.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerSandbox } from './container-sandbox.js';
import { Environment, type EnvironmentContext } from './environment.js';
import { hasExtensions } from './extensions.js';
import type { RuntimeFamily } from './runtimes.js';
import type { FunctionVersionSpec } from './types.js';

export class FunctionEnvironments {
  readonly all = new Set<Environment>();
  readonly idle = new Map<string, Environment[]>();

  /** An idle environment of this revision, now reserved for the caller. */
  take(revisionId: string): Environment | undefined {
    const stack = this.idle.get(revisionId);
    if (stack === undefined) return undefined;
    // The most recently used ready environment; one still in INIT (provisioned ones are put
    // back while they start) only when none is ready, or a warm call would wait on an INIT.
    let i = stack.length - 1;
    while (i > 0 && stack[i].state === 'starting') i--;
    const env = i === stack.length - 1 ? stack.pop() : stack.splice(i, 1)[0];
    if (stack.length === 0) this.idle.delete(revisionId);
    return env;
  }

  putBack(env: Environment): void {
    const revision = env.spec!.revisionId;
    const stack = this.idle.get(revision);
    if (stack === undefined) this.idle.set(revision, [env]);
    else stack.push(env);
  }

  removeIdle(env: Environment): void {
    const revision = env.spec?.revisionId;
    if (revision === undefined) return;
    const stack = this.idle.get(revision);
    if (stack === undefined) return;
    const i = stack.indexOf(env);
    if (i >= 0) stack.splice(i, 1);
    if (stack.length === 0) this.idle.delete(revision);
  }
}

export class WarmPool {
  readonly functions = new Map<string, FunctionEnvironments>();
  private count = 0;

  static key(account: string, region: string, functionName: string): string {
    return `${account}\u0000${region}\u0000${functionName}`;
  }

  get size(): number {
    return this.count;
  }

  group(key: string): FunctionEnvironments {
    let g = this.functions.get(key);
    if (g === undefined) {
      g = new FunctionEnvironments();
      this.functions.set(key, g);
    }
    return g;
  }

  /** Tracks a new environment; it leaves the pool by itself when it dies. */
  adopt(key: string, g: FunctionEnvironments, env: Environment): void {
    g.all.add(env);
    this.count++;
    env.onGone = (gone) => {
      if (!g.all.delete(gone)) return;
      this.count--;
      g.removeIdle(gone);
      if (g.all.size === 0 && this.functions.get(key) === g) this.functions.delete(key);
    };
  }

  /**
   * Environments idle for longer than `idleMs`, or idle and older than `maxLifetimeMs`
   * (removed from the idle lists). Provisioned environments stay.
   */
  expired(now: number, idleMs: number, maxLifetimeMs = Infinity): Environment[] {
    const out: Environment[] = [];
    for (const g of this.functions.values()) {
      for (const [revision, stack] of g.idle) {
        const kept: Environment[] = [];
        for (const env of stack) {
          const stays =
            env.provisioned ||
            (now - env.lastUsedAt < idleMs && now - env.startedAt < maxLifetimeMs);
          (stays ? kept : out).push(env);
        }
        if (kept.length === stack.length) continue;
        if (kept.length === 0) g.idle.delete(revision);
        else g.idle.set(revision, kept);
      }
    }
    return out;
  }

  everyEnvironment(): Environment[] {
    const out: Environment[] = [];
    for (const g of this.functions.values()) out.push(...g.all);
    return out;
  }
}

/** Variables that only mean something when the interpreter starts. */
function startupOnlyVariable(name: string): boolean {
  if (name === 'NODE_PATH' || name === 'PYTHONPATH') return false;
  return (
    name.startsWith('NODE_') ||
    name.startsWith('PYTHON') ||
    name.startsWith('LD_') ||
    name.startsWith('LC_') ||
    name === 'LANG' ||
    name === 'AWS_LAMBDA_EXEC_WRAPPER' ||
    name === 'UV_THREADPOOL_SIZE'
  );
}

export function canUsePrestarted(fn: FunctionVersionSpec): boolean {
  for (const name in fn.environment) if (startupOnlyVariable(name)) return false;
  // LD_LIBRARY_PATH (<code>/lib, <layer>/lib) is read when the process starts.
  if (existsSync(join(fn.codeDir, 'lib'))) return false;
  for (const l of fn.layerDirs) if (existsSync(join(l, 'lib'))) return false;
  // External extensions start before the runtime (extensions.ts).
  if (hasExtensions(fn.layerDirs)) return false;
  return true;
}

/** The longest a taken process's replacement waits for that process's first answer. */
const REFILL_WAIT_MAX_MS = 500;

/**
 * The replacement of a taken pre-started environment starts once that environment has
 * answered its first invocation, or after REFILL_WAIT_MAX_MS, whichever comes first.
 */
function refillAfterFirstAnswer(env: Environment, fill: () => void): void {
  let refilled = false;
  const refill = () => {
    if (refilled) return;
    refilled = true;
    clearTimeout(timer);
    fill();
  };
  const timer = setTimeout(refill, REFILL_WAIT_MAX_MS);
  timer.unref();
  env.afterFirstInvocation(refill);
}

/** Puts a started environment in its waiting list, which it leaves when it dies. */
function wait(list: Environment[], env: Environment): void {
  env.onGone = (gone) => {
    const i = list.indexOf(gone);
    if (i >= 0) list.splice(i, 1);
  };
  list.push(env);
}

/** Lets the starts in flight finish, then kills every waiting environment. */
async function killWaiting(
  ready: Map<unknown, Environment[]>,
  pending: Set<Promise<void>>,
): Promise<void> {
  await Promise.all(pending);
  const all: Environment[] = [];
  for (const list of ready.values()) all.push(...list.splice(0));
  await Promise.all(all.map((e) => e.kill()));
}

export class PrestartPool {
  private readonly ready = new Map<RuntimeFamily, Environment[]>();
  private readonly starting = new Map<RuntimeFamily, number>();
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly ctx: EnvironmentContext,
    private readonly sizes: Partial<Record<RuntimeFamily, number>>,
  ) {}

  get size(): number {
    let n = 0;
    for (const list of this.ready.values()) n += list.length;
    for (const s of this.starting.values()) n += s;
    return n;
  }

  /**
   * A started process of this family, if one is waiting. Its replacement starts once the
   * taken process has answered its first invocation (or after REFILL_WAIT_MAX_MS): started
   * at once, its spawn (a fork of Stratus, during which the server waits) and interpreter
   * start-up would share the CPU with the very cold start the pool is there to speed up.
   */
  take(family: RuntimeFamily): Environment | undefined {
    const list = this.ready.get(family);
    const env = list?.pop();
    if (env === undefined || env.state === 'dead') {
      this.fill(family);
      return env;
    }
    refillAfterFirstAnswer(env, () => this.fill(family));
    return env;
  }

  /** Starts processes until the family's pool is full. */
  fill(family: RuntimeFamily): void {
    const want = this.sizes[family] ?? 0;
    if (this.stopped || want <= 0) return;
    const list = this.ready.get(family) ?? [];
    this.ready.set(family, list);
    let starting = this.starting.get(family) ?? 0;
    while (list.length + starting < want) {
      starting++;
      this.starting.set(family, starting);
      const p: Promise<void> = Environment.prestart(family, this.ctx).then(
        (env) => {
          this.starting.set(family, (this.starting.get(family) ?? 1) - 1);
          if (this.stopped) return env.kill();
          wait(list, env);
        },
        (err: unknown) => {
          this.starting.set(family, (this.starting.get(family) ?? 1) - 1);
          this.ctx.warn(`could not pre-start a ${family} runtime`, err);
        },
      );
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await killWaiting(this.ready, this.pending);
  }
}

/**
 * Pre-started containers (container-sandbox.ts), one per shape a cold start asked for:
 * runtime (its image), memory limit and /tmp size, which a container fixes when it is
 * created. The first cold start of a shape starts the pool; each taken container is
 * replaced once its cold start is over, as above.
 */
export class ContainerPrestartPool {
  private readonly ready = new Map<string, Environment[]>();
  private readonly starting = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly ctx: EnvironmentContext,
    private readonly sandbox: ContainerSandbox,
  ) {}

  static shape(fn: FunctionVersionSpec): string {
    return `${fn.runtime}\u0000${fn.memoryMb}\u0000${fn.ephemeralStorageMb}`;
  }

  /** A waiting container of `fn`'s shape, if any; starts a replacement either way. */
  take(fn: FunctionVersionSpec, family: RuntimeFamily): Environment | undefined {
    const key = ContainerPrestartPool.shape(fn);
    const list = this.ready.get(key);
    let env = list?.pop();
    while (env !== undefined && env.state === 'dead') env = list?.pop();
    if (env === undefined) {
      this.fill(key, fn, family);
      return undefined;
    }
    refillAfterFirstAnswer(env, () => this.fill(key, fn, family));
    return env;
  }

  private fill(key: string, shape: FunctionVersionSpec, family: RuntimeFamily): void {
    if (this.stopped || this.starting.has(key) || (this.ready.get(key)?.length ?? 0) > 0) return;
    this.starting.add(key);
    const p = Environment.prestartContainer(shape, family, this.ctx, this.sandbox).then(
      (env) => {
        this.starting.delete(key);
        if (this.stopped) return env.kill();
        const list = this.ready.get(key) ?? [];
        this.ready.set(key, list);
        wait(list, env);
      },
      (err: unknown) => {
        this.starting.delete(key);
        this.ctx.warn(`could not pre-start a ${shape.runtime} container`, err);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await killWaiting(this.ready, this.pending);
  }
}
