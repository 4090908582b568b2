/**
 * One execution environment: a runtime process, its own Runtime API listener, its own
 * /tmp and its own log stream. It serves one invocation at a time; the pool reuses it
 * warm for the same function revision until it idles out, times out or crashes.
 *
 * Lifecycle (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):
 * INIT runs from spawn (or, for a pre-started process, from assignment) to the runtime's
 * first /next, and is reported as `Init Duration`; INVOKE runs from handing the event over
 * to the answer. A timeout kills the environment; so does a runtime that exits. What each
 * way of ending gives the caller (kind, payload, REPORT status) is invocation-endings.ts.
 *
 * Extensions (environment-extensions.ts, over extensions-api.ts and extensions.ts): INIT
 * also waits for every extension to register and ask for its next event; an invocation's
 * answer goes out when the runtime gives it, but the invocation (its REPORT) ends when the
 * extensions ask for their next event too; kill() runs the Shutdown phase first. Telemetry
 * subscribers (telemetry.ts) get the platform events and log lines; platform-lines.ts
 * formats both.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ExecutionDriver,
  ExitStatus,
  ProcessIo,
  SpawnedProcess,
} from '../../../runtime/types.js';
import { exitErrorMessage, exitErrorType } from './error-payloads.js';
import { clientContextHeader } from './client-context.js';
import type { CodeSlot, ContainerSandbox } from './container-sandbox.js';
import { LineSplitter, type LogStream, type LogWriter } from '../../../events/log-writer.js';
import { logStreamName } from './log-writer.js';
import { type InvocationResult, RuntimeApi } from './runtime-api.js';
import {
  applyExecWrapper,
  asLaunchError,
  bootstrapDir,
  buildEnvironment,
  LaunchError,
  launchCommand,
  prestartEnvironment,
  type RuntimeFamily,
  type RuntimeHost,
  spawnFailure,
} from './runtimes.js';
import type { FunctionVersionSpec, InvokeOutcome, InvokeRequest } from './types.js';
import type { ShutdownReason } from './extensions-api.js';
import { EnvironmentExtensions } from './environment-extensions.js';
import {
  type Ending,
  exitEnding,
  initErrorEnding,
  invokeOutcome,
  launchErrorEnding,
  resultEnding,
  timeoutEnding,
} from './invocation-endings.js';
import * as platform from './platform-lines.js';
import { PeakMemory } from './peak-memory.js';
import { Telemetry } from './telemetry.js';

/** AWS gives INIT 10 s of its own; past it, init goes on within the invocation's timeout. */
export const INIT_TIMEOUT_MS = 10_000;

export interface EnvironmentContext {
  driver: ExecutionDriver;
  host: RuntimeHost;
  logs: LogWriter;
  endpoint: () => string;
  tmpRoot: string;
  /** Set when environments are containers (runc): see container-sandbox.ts. */
  sandbox?: ContainerSandbox;
  /** Server-side diagnostics (failed spawns, log sink errors). */
  warn: (msg: string, err?: unknown) => void;
}

export type EnvironmentState = 'starting' | 'idle' | 'busy' | 'dead';

interface ActiveInvocation {
  req: InvokeRequest;
  resolve: (outcome: InvokeOutcome) => void;
  /** performance.now() when the event was handed over; 0 while INIT runs. */
  start: number;
  timer: NodeJS.Timeout | null;
  /** Log lines kept for `LogType: Tail`. */
  lines: string[] | null;
  /** Set on the invocation that waited for INIT. */
  initDurationMs: number | undefined;
  done: boolean;
}

export class Environment {
  readonly id = randomBytes(8).toString('hex');
  state: EnvironmentState = 'starting';
  /** Date.now() of the last completed invocation (the pool's idle clock). */
  lastUsedAt = Date.now();
  /** Date.now() when it took its function (the maximum lifetime's clock). */
  startedAt = Date.now();
  /** Shut down once the running invocation completes (code or configuration changed). */
  retired = false;
  /** Kept initialised for provisioned concurrency: never shut down for being idle. */
  provisioned = false;
  /** Called once, when the environment is gone for good. */
  onGone: (env: Environment) => void = () => {};

  spec: FunctionVersionSpec | undefined;
  private readonly dir: string;
  private api: RuntimeApi | null = null;
  private proc: SpawnedProcess | null = null;
  private stream: LogStream | null = null;
  private readonly out: LineSplitter;
  private readonly err: LineSplitter;
  /** The runtime's stdout and stderr: line by line into the log. */
  private readonly io: ProcessIo;
  private ready = false;
  /** performance.now() when INIT started (spawn, or assignment of a pre-started process). */
  private initStart = 0;
  private initTimer: NodeJS.Timeout | null = null;
  private inv: ActiveInvocation | null = null;
  private initError: { body: Buffer; errorType: string | undefined } | null = null;
  private launchError: LaunchError | null = null;
  private readonly memory = new PeakMemory();
  private goneNotified = false;
  private exitStatus: ExitStatus | null = null;
  /** Whether an invocation has been answered yet (the cold start is over). */
  private answeredOnce = false;
  private afterFirst: (() => void) | null = null;
  /** A pre-started container's code slot and its image's Env (container-sandbox.ts). */
  private slot: { slot: CodeSlot; imageEnv: Record<string, string> } | null = null;
  private readonly telemetry: Telemetry;
  private readonly extensions: EnvironmentExtensions;
  /** The runtime has asked for work (INIT also waits for the extensions). */
  private runtimeReady = false;
  private killing: Promise<void> | null = null;

  private constructor(
    private readonly ctx: EnvironmentContext,
    readonly family: RuntimeFamily,
  ) {
    this.dir = join(ctx.tmpRoot, this.id);
    this.out = new LineSplitter(this.onOutputLine);
    this.err = new LineSplitter(this.onOutputLine);
    this.io = { onStdout: (c) => this.out.write(c), onStderr: (c) => this.err.write(c) };
    const telemetry = new Telemetry(() => this.api?.peerAddress ?? '127.0.0.1', ctx.warn);
    this.telemetry = telemetry;
    this.extensions = new EnvironmentExtensions({
      driver: ctx.driver,
      telemetry,
      spec: () => this.spec!,
      initializing: () => !this.ready && this.state !== 'dead',
      dead: () => this.state === 'dead',
      onChange: () => this.checkReady(),
      onInitError: (body, errorType) => this.onInitError(body, errorType),
      logLine: (line) => this.platformLine(line),
    });
  }

  /**
   * Set while the runtime has answered but extensions still work on the invocation: it
   * resolves when the invoke phase is over (every extension back on /next).
   */
  get postInvoke(): Promise<void> | null {
    return this.extensions.postInvoke;
  }

  /** A new environment for `fn`: INIT starts now; `invoke` may be called at once. */
  static create(
    fn: FunctionVersionSpec,
    family: RuntimeFamily,
    ctx: EnvironmentContext,
    notice?: string,
  ): Environment {
    const env = new Environment(ctx, family);
    env.opened(fn, notice);
    void env.launch(fn).catch((err: unknown) => env.failLaunch(err));
    return env;
  }

  /**
   * A runtime process started ahead of need (Node.js and Python only): it boots the
   * interpreter and the bootstrap, then waits for `assign`.
   */
  static async prestart(family: RuntimeFamily, ctx: EnvironmentContext): Promise<Environment> {
    const env = new Environment(ctx, family);
    try {
      await env.spawnPrestarted();
    } catch (err) {
      await env.kill();
      throw err;
    }
    return env;
  }

  /**
   * A container of `shape`'s runtime image, memory and /tmp size started ahead of need:
   * it boots the interpreter and the bootstrap, then waits for `assign`, which mounts the
   * function's code into it.
   */
  static async prestartContainer(
    shape: FunctionVersionSpec,
    family: RuntimeFamily,
    ctx: EnvironmentContext,
    sandbox: ContainerSandbox,
  ): Promise<Environment> {
    const env = new Environment(ctx, family);
    try {
      const api = await env.startApi(true);
      const started = await sandbox.prestart(
        {
          fn: shape,
          family,
          api,
          logStreamName: '',
          io: env.io,
        },
        env.id,
      );
      env.proc = started.proc;
      env.slot = { slot: started.slot, imageEnv: started.imageEnv };
      void started.proc.exited.then(env.onExit);
      if (env.goneNotified) void started.proc.kill();
    } catch (err) {
      await env.kill();
      throw err;
    }
    return env;
  }

  /** Hands a pre-started process its function; INIT (the handler's import) starts now. */
  assign(fn: FunctionVersionSpec, notice?: string): void {
    this.startedAt = Date.now();
    const api = this.api!;
    const slot = this.slot;
    const sandbox = this.ctx.sandbox;
    if (slot !== null && sandbox !== undefined) {
      this.opened(fn, notice);
      const env = {
        ...slot.imageEnv,
        ...sandbox.functionEnv({ fn, family: this.family, api, logStreamName: this.stream!.name }),
      };
      void sandbox.fill(slot.slot, fn).then(
        () => api.assign(Buffer.from(JSON.stringify({ env, cwd: '/var/task' }))),
        (err: unknown) => this.failLaunch(err),
      );
      return;
    }
    this.opened(fn, notice);
    const env = this.functionEnv(
      fn,
      api,
      join(this.dir, 'tmp'),
      bootstrapDir(this.ctx.host, this.family),
    );
    api.assign(Buffer.from(JSON.stringify({ env, cwd: fn.codeDir })));
  }

  /** The function's log stream opens and INIT starts (an assignment). */
  private opened(fn: FunctionVersionSpec, notice: string | undefined): void {
    this.spec = fn;
    this.stream = this.ctx.logs.open(
      { account: fn.account, region: fn.region },
      fn.logGroupName,
      logStreamName(fn.version),
    );
    this.initStart = performance.now();
    this.armInitTimer(fn);
    this.extensions.open(fn);
    this.telemetry.emit(
      'platform.initStart',
      platform.initStartRecord(fn, initializationTypeOf(this)),
    );
    // A container image has no managed runtime version to name.
    if (fn.image === undefined) this.platformLine(platform.initStartLine(fn.runtime));
    if (notice !== undefined) this.platformLine(notice);
  }

  /**
   * Calls `cb` once, when the first invocation has been answered or the environment is
   * gone, whichever comes first (after the answer has been handed on).
   */
  afterFirstInvocation(cb: () => void): void {
    this.afterFirst = cb;
    if (this.answeredOnce || this.goneNotified) this.settleFirst();
  }

  private settleFirst(): void {
    const cb = this.afterFirst;
    if (cb === null) return;
    this.afterFirst = null;
    // The caller's continuation (which writes the answer) runs before setImmediate.
    setImmediate(cb);
  }

  /** Runs one invocation. The caller makes sure the environment is not busy. */
  invoke(req: InvokeRequest): Promise<InvokeOutcome> {
    if (this.state !== 'dead') this.state = 'busy';
    return new Promise<InvokeOutcome>((resolve) => {
      const inv: ActiveInvocation = {
        req,
        resolve,
        start: 0,
        timer: null,
        lines: req.tailLogs ? [] : null,
        initDurationMs: undefined,
        done: false,
      };
      this.inv = inv;
      if (this.ready) {
        this.begin(inv);
      } else if (this.launchError !== null) {
        this.finishLaunchError(inv, this.launchError);
      } else if (this.goneNotified) {
        // The runtime died before it could take this invocation.
        this.onExit(this.exitStatus ?? { code: null, signal: 'SIGKILL' });
      }
      // Otherwise begin() runs when the runtime first asks for work.
    });
  }

  /**
   * Shuts the environment down: the Shutdown phase when extensions registered
   * (extensions.ts), then kills the runtime (and anything it started) and the extensions;
   * resolves once they are gone.
   */
  kill(reason: ShutdownReason = 'spindown'): Promise<void> {
    this.state = 'dead';
    this.killing ??= this.shutDown(reason);
    return this.killing;
  }

  private async shutDown(reason: ShutdownReason): Promise<void> {
    this.extensions.endPostInvoke({ status: 'error', errorType: 'Runtime.ExitError' });
    const proc = this.proc;
    await this.extensions.shutDown(reason, proc, async () => {
      // The runtime gets SIGTERM (host processes; a container's stop is SIGKILL).
      if (proc !== null && proc.pid > 0 && this.exitStatus === null) {
        try {
          process.kill(-proc.pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
      await this.telemetry.flush();
    });
    if (proc !== null) {
      await proc.kill();
    } else {
      this.gone();
    }
  }

  // -------------------------------------------------------------------------------------
  // Launch

  /** The runtime's (and external extensions') environment variables on the host. */
  private functionEnv(
    fn: FunctionVersionSpec,
    api: RuntimeApi,
    tmpDir: string,
    runtimeDir: string,
  ): Record<string, string> {
    const facts = {
      runtimeApi: api.address,
      logStreamName: this.stream!.name,
      tmpDir,
      endpoint: this.ctx.endpoint(),
    };
    return buildEnvironment(fn, this.family, this.ctx.host, facts, runtimeDir);
  }

  private async prepareDir(): Promise<string> {
    const tmp = join(this.dir, 'tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    return tmp;
  }

  private async startApi(restricted = false): Promise<RuntimeApi> {
    // A container's Runtime API listens where the sandbox says containers reach it.
    const host = restricted ? await this.ctx.sandbox?.listenHost() : undefined;
    const api = await RuntimeApi.start(
      {
        onReady: this.onReady,
        onResult: this.onResult,
        onInitError: this.onInitError,
        onError: (err) => this.ctx.warn('lambda Runtime API request failed', err),
        onOtherRequest: (req, res) => this.extensions.handle(req, res),
      },
      restricted,
      host,
    );
    this.api = api;
    return api;
  }

  private async launch(fn: FunctionVersionSpec): Promise<void> {
    const sandbox = this.ctx.sandbox;
    if (sandbox !== undefined) return this.launchContainer(fn, sandbox);
    if (fn.image !== undefined) {
      // Created on a container driver, invoked after a restart on the process driver.
      throw new LaunchError(
        'Runtime.Unknown',
        'Error: container image functions run in containers; this Stratus runs functions as host processes (start it with --driver runc)',
      );
    }
    const [tmpDir, api, cmd] = await Promise.all([
      this.prepareDir(),
      this.startApi(),
      launchCommand(fn, this.family, this.ctx.host),
    ]);
    if (this.goneNotified) return this.cleanUp();
    const env = this.functionEnv(fn, api, tmpDir, cmd.runtimeDir);
    await this.extensions.start(fn, env);
    if (this.goneNotified || this.state === 'dead') return;
    const { command, args } = applyExecWrapper(cmd, env);
    await this.spawn(command, args, env, fn.codeDir, fn.memoryMb);
  }

  /** The runtime in a container of its runtime image (container-sandbox.ts). */
  private async launchContainer(fn: FunctionVersionSpec, sandbox: ContainerSandbox): Promise<void> {
    const api = await this.startApi(true);
    if (this.goneNotified) return this.cleanUp();
    const proc = await sandbox.launch({
      fn,
      family: this.family,
      api,
      logStreamName: this.stream!.name,
      io: this.io,
    });
    this.proc = proc;
    void proc.exited.then(this.onExit);
    if (this.state === 'dead') void proc.kill();
  }

  private async spawnPrestarted(): Promise<void> {
    const [tmpDir, api] = await Promise.all([this.prepareDir(), this.startApi()]);
    if (this.goneNotified) return this.cleanUp();
    const host = this.ctx.host;
    const env = prestartEnvironment(host, this.family, tmpDir, api.address);
    if (this.family === 'python') {
      await this.spawn(await host.pythonExecutable(), ['-u', host.pythonBootstrap], env, tmpDir, 0);
    } else {
      await this.spawn(host.nodeExecutable, [host.nodeBootstrap], env, tmpDir, 0);
    }
  }

  private async spawn(
    command: string,
    args: string[],
    env: Record<string, string>,
    cwd: string,
    memoryMb: number,
  ): Promise<void> {
    let proc: SpawnedProcess;
    try {
      proc = await this.ctx.driver.spawn({ command, args, cwd, env, memoryMb }, this.io);
    } catch (err) {
      throw spawnFailure(command, err);
    }
    this.proc = proc;
    void proc.exited.then(this.onExit);
    // Recorded so that a Stratus restart can reap what a crash left behind (executor.ts).
    void writeFile(join(this.dir, 'owner'), `${process.pid} ${proc.pid}\n`).catch(() => {});
    if (this.state === 'dead') void proc.kill();
  }

  private failLaunch(err: unknown): void {
    const launchError = asLaunchError(err);
    if (!(err instanceof LaunchError)) this.ctx.warn('lambda environment failed to start', err);
    this.launchError = launchError;
    this.state = 'dead';
    const inv = this.inv;
    if (inv !== null) this.finishLaunchError(inv, launchError);
    this.gone();
  }

  private finishLaunchError(inv: ActiveInvocation, e: LaunchError): void {
    const id = inv.req.requestId;
    this.platformLine(platform.errorLine(`RequestId: ${id} ${e.message}`, e.errorType));
    inv.initDurationMs = performance.now() - this.initStart;
    this.finish(inv, launchErrorEnding(id, e));
  }

  private armInitTimer(fn: FunctionVersionSpec): void {
    this.initTimer = setTimeout(this.onInitTimeout, INIT_TIMEOUT_MS + fn.timeoutSeconds * 1000);
    this.initTimer.unref();
  }

  // -------------------------------------------------------------------------------------
  // Runtime API events

  private readonly onReady = (): void => {
    if (this.spec === undefined) return; // a pre-started process asking early: not yet
    this.runtimeReady = true;
    this.checkReady();
  };

  /** INIT is over once the runtime and every extension wait on /next. */
  private checkReady(): void {
    if (!this.runtimeReady || this.ready || this.state === 'dead') return;
    if (!this.extensions.ready) return;
    this.ready = true;
    if (this.initTimer !== null) {
      clearTimeout(this.initTimer);
      this.initTimer = null;
    }
    const initMs = performance.now() - this.initStart;
    if (this.state === 'starting') this.state = 'idle';
    if (this.telemetry.active) {
      const records = platform.initDoneRecords(initializationTypeOf(this), initMs);
      this.telemetry.emit('platform.initRuntimeDone', records.runtimeDone);
      this.telemetry.emit('platform.initReport', records.report);
    }
    this.telemetry.endInit();
    const inv = this.inv;
    if (inv !== null && inv.start === 0) {
      inv.initDurationMs = initMs;
      this.begin(inv);
    }
  }

  private begin(inv: ActiveInvocation): void {
    const fn = this.spec!;
    const req = inv.req;
    inv.start = performance.now();
    this.platformLine(platform.startLine(req.requestId, fn.version));
    const timeoutMs = fn.timeoutSeconds * 1000;
    inv.timer = setTimeout(this.onTimeout, timeoutMs);
    const deadlineMs = Date.now() + timeoutMs;
    const invokedFunctionArn = req.invokedFunctionArn ?? fn.functionArn;
    const traceId = req.traceId ?? platform.newTraceId();
    this.telemetry.emit('platform.start', {
      requestId: req.requestId,
      version: fn.version,
      tracing: platform.tracing(traceId),
    });
    this.extensions.dispatch({
      eventType: 'INVOKE',
      deadlineMs,
      requestId: req.requestId,
      invokedFunctionArn,
      tracing: platform.tracing(traceId),
    });
    this.api!.deliver({
      requestId: req.requestId,
      payload: req.payload,
      deadlineMs,
      invokedFunctionArn,
      traceId,
      // Checked at Invoke (InvalidRequestContentException); dropped here if it is not JSON.
      clientContext:
        req.clientContext !== undefined ? clientContextHeader(req.clientContext) : undefined,
      cognitoIdentity: req.cognitoIdentity,
      onChunk: req.onChunk,
    });
  }

  private readonly onResult = (requestId: string, result: InvocationResult): void => {
    const inv = this.inv;
    if (inv === null || inv.req.requestId !== requestId) return;
    const end = performance.now();
    // Output the runtime wrote before answering is in the pipe already: let it reach the
    // log first (pipe and socket events of one poll are handled before setImmediate).
    setImmediate(() => {
      if (!inv.done) this.finish(inv, resultEnding(result, end - inv.start));
    });
  };

  private readonly onInitError = (body: Buffer, errorType: string | undefined): void => {
    this.initError = { body, errorType };
    const inv = this.inv;
    // The runtime "should exit after reporting the error"; it is not given the chance to
    // linger. Its last lines are in the pipe already.
    setImmediate(() => {
      this.state = 'dead';
      if (inv !== null && !inv.done) {
        if (inv.initDurationMs === undefined && inv.start === 0) {
          inv.initDurationMs = performance.now() - this.initStart;
        }
        const durationMs = inv.start === 0 ? 0 : performance.now() - inv.start;
        this.finish(inv, initErrorEnding(body, errorType, durationMs));
      }
      void this.kill();
    });
  };

  private readonly onTimeout = (): void => {
    const inv = this.inv;
    if (inv === null || inv.done) return;
    const fn = this.spec!;
    this.state = 'dead';
    this.api?.abandon(inv.req.requestId);
    void this.kill('timeout');
    const timeoutMs = fn.timeoutSeconds * 1000;
    this.finish(inv, timeoutEnding(inv.req.requestId, fn.timeoutSeconds, timeoutMs));
  };

  private readonly onInitTimeout = (): void => {
    this.initTimer = null;
    if (this.ready) return;
    this.state = 'dead';
    const inv = this.inv;
    void this.kill('timeout');
    if (inv !== null && !inv.done) {
      const fn = this.spec!;
      inv.initDurationMs = performance.now() - this.initStart;
      this.finish(inv, timeoutEnding(inv.req.requestId, fn.timeoutSeconds, 0));
    }
  };

  private readonly onExit = (status: ExitStatus): void => {
    this.exitStatus = status;
    this.state = 'dead';
    this.out.end();
    this.err.end();
    const inv = this.inv;
    if (inv !== null && !inv.done) {
      const id = inv.req.requestId;
      const initializing = inv.start === 0;
      if (initializing) inv.initDurationMs = performance.now() - this.initStart;
      const durationMs = initializing ? 0 : performance.now() - inv.start;
      // During INIT, the init error the runtime reported (if any) before it exited.
      const initError = initializing ? this.initError : null;
      const ending =
        initError !== null
          ? initErrorEnding(initError.body, initError.errorType, durationMs)
          : exitEnding(id, status, initializing, durationMs);
      const errorType = ending.report?.errorType;
      if (errorType === exitErrorType(status)) {
        this.platformLine(platform.errorLine(exitErrorMessage(id, status), errorType));
      }
      this.finish(inv, ending);
    }
    // Extensions outlive the runtime until their Shutdown phase is over.
    if (this.killing === null && this.extensions.running) void this.kill('failure');
    if (this.killing !== null) void this.killing.then(() => this.gone());
    else this.gone();
  };

  // -------------------------------------------------------------------------------------
  // Completion, logs, metering

  private finish(inv: ActiveInvocation, ending: Ending): void {
    inv.done = true;
    if (inv.timer !== null) clearTimeout(inv.timer);
    if (this.inv === inv) this.inv = null;
    if (this.state === 'busy') this.state = 'idle';
    // Max Memory Used is refreshed on cold starts and failures (peak-memory.ts).
    const force = inv.initDurationMs !== undefined || ending.report !== undefined;
    this.memory.refresh(this.proc, force, () => this.complete(inv, ending));
  }

  private complete(inv: ActiveInvocation, ending: Ending): void {
    const { kind, payload, durationMs, report } = ending;
    const fn = this.spec!;
    const id = inv.req.requestId;
    const initMs = inv.initDurationMs;
    const maxMemoryUsedMb = this.memory.mb;

    if (inv.start === 0) {
      // INIT failed: the invocation never started; AWS reports the init phase, then the
      // invocation it failed.
      this.logLine(inv, platform.initReportLine(initMs ?? 0, report));
      this.logLine(inv, platform.startLine(id, fn.version));
    }
    this.telemetry.emit(
      'platform.runtimeDone',
      platform.runtimeDoneRecord(id, kind === 'success', report, durationMs, payload.length),
    );
    if (this.extensions.busy && this.state !== 'dead') {
      // The answer goes out now; the invoke phase (and its REPORT, which counts the
      // extensions' time) ends when every extension has asked for its next event.
      this.state = 'busy';
      const remaining = Math.max(1, fn.timeoutSeconds * 1000 - durationMs);
      this.extensions.awaitIdle(
        durationMs,
        // The answer came before the log flush and memory refresh that led here.
        inv.start + durationMs,
        report,
        remaining,
        (total, status) => {
          this.report(inv, total, status);
          if (this.state === 'busy') this.state = 'idle';
          this.lastUsedAt = Date.now();
        },
        () => void this.kill('timeout'),
      );
    } else {
      this.report(inv, durationMs, report);
    }

    const outcome = invokeOutcome(ending, initMs, maxMemoryUsedMb, inv.lines);
    this.lastUsedAt = Date.now();
    inv.resolve(outcome);
    this.answeredOnce = true;
    this.settleFirst();
  }

  /** END and REPORT (and platform.report) of an invocation. */
  private report(
    inv: ActiveInvocation,
    durationMs: number,
    status: platform.ReportStatus | undefined,
  ): void {
    const figures: platform.ReportFigures = {
      requestId: inv.req.requestId,
      durationMs,
      initDurationMs: inv.initDurationMs,
      memorySizeMb: this.spec!.memoryMb,
      maxMemoryUsedMb: this.memory.mb,
      status,
    };
    this.logLine(inv, `END RequestId: ${figures.requestId}`);
    this.logLine(inv, platform.reportLine(figures));
    if (this.telemetry.active)
      this.telemetry.emit('platform.report', platform.reportRecord(figures));
  }

  /** A platform line of one invocation (END and REPORT come after it left `this.inv`). */
  private logLine(inv: ActiveInvocation, message: string): void {
    this.stream?.push(Date.now(), message);
    if (inv.lines !== null) inv.lines.push(message);
  }

  /** A line into the log stream and the running invocation's tail. */
  private platformLine(message: string): void {
    this.stream?.push(Date.now(), message);
    const inv = this.inv;
    if (inv !== null && inv.lines !== null) inv.lines.push(message);
  }

  private readonly onOutputLine = (line: string): void => {
    if (this.stream === null) return; // a pre-started process before its assignment
    this.platformLine(line);
    this.telemetry.emit('function', line);
  };

  private gone(): void {
    if (this.goneNotified) return;
    this.goneNotified = true;
    this.state = 'dead';
    if (this.initTimer !== null) clearTimeout(this.initTimer);
    this.extensions.killAll();
    this.telemetry.close();
    this.cleanUp();
    this.settleFirst();
    this.onGone(this);
  }

  /** Closes the listener and removes the private /tmp (also when launch lost the race). */
  private cleanUp(): void {
    this.api?.close();
    void rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}

function initializationTypeOf(env: Environment): string {
  return env.provisioned ? 'provisioned-concurrency' : 'on-demand';
}
