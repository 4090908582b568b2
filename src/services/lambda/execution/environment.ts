/**
 * One execution environment: a runtime process, its own Runtime API listener, its own
 * /tmp and its own log stream. It serves one invocation at a time; the pool reuses it
 * warm for the same function revision until it idles out, times out or crashes.
 *
 * Lifecycle (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):
 * INIT runs from spawn (or, for a pre-started process, from assignment) to the runtime's
 * first /next, and is reported as `Init Duration`; INVOKE runs from handing the event over
 * to the answer. A timeout kills the environment; so does a runtime that exits.
 *
 * Extensions (extensions-api.ts, extensions.ts): INIT also waits for every extension to
 * register and ask for its next event; an invocation's answer goes out when the runtime
 * gives it, but the invocation (its REPORT) ends when the extensions ask for their next
 * event too; kill() runs the Shutdown phase first. Telemetry subscribers (telemetry.ts)
 * get the platform events and log lines.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionDriver, ExitStatus, SpawnedProcess } from '../../../runtime/types.js';
import {
  errorTypeOf,
  exitErrorMessage,
  exitErrorType,
  exitPayload,
  launchErrorPayload,
  timeoutPayload,
  tooLargePayload,
} from './error-payloads.js';
import { clientContextHeader } from './client-context.js';
import type { CodeSlot, ContainerSandbox } from './container-sandbox.js';
import { LineSplitter, type LogStream, type LogWriter } from '../../../events/log-writer.js';
import { logStreamName } from './log-writer.js';
import { type InvocationResult, MAX_RESPONSE_BYTES, RuntimeApi } from './runtime-api.js';
import {
  applyExecWrapper,
  buildEnvironment,
  LaunchError,
  launchCommand,
  type RuntimeFamily,
  type RuntimeHost,
} from './runtimes.js';
import type {
  FunctionVersionSpec,
  InvokeOutcome,
  InvokeOutcomeKind,
  InvokeRequest,
} from './types.js';
import { ExtensionsApi, type ExtensionsHost, type ShutdownReason } from './extensions-api.js';
import { externalExtensions, shutdownPhase } from './extensions.js';
import { Telemetry } from './telemetry.js';

/** AWS gives INIT 10 s of its own; past it, init goes on within the invocation's timeout. */
export const INIT_TIMEOUT_MS = 10_000;
/** `LogType: Tail` returns the last 4 KB of the invocation's log. */
const TAIL_BYTES = 4096;
/** Reading /proc costs ~0.1 ms: the memory figure is refreshed at most this often. */
const MEMORY_SAMPLE_MS = 1000;

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

interface ReportStatus {
  status: 'timeout' | 'error';
  errorType?: string;
}

/** An invocation answered by the runtime while extensions still work on it. */
interface PostInvoke {
  inv: ActiveInvocation;
  durationMs: number;
  /** performance.now() of the runtime's answer. */
  answeredAt: number;
  report: ReportStatus | undefined;
  timer: NodeJS.Timeout;
  done: () => void;
}

export class Environment {
  readonly id = randomBytes(8).toString('hex');
  state: EnvironmentState = 'starting';
  /** Date.now() of the last completed invocation (the pool's idle clock). */
  lastUsedAt = Date.now();
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
  private ready = false;
  /** performance.now() when INIT started (spawn, or assignment of a pre-started process). */
  private initStart = 0;
  private initTimer: NodeJS.Timeout | null = null;
  private inv: ActiveInvocation | null = null;
  private initError: { body: Buffer; errorType: string | undefined } | null = null;
  private launchError: LaunchError | null = null;
  private peakMb = 0;
  private peakSampledAt = 0;
  private goneNotified = false;
  private exitStatus: ExitStatus | null = null;
  /** Whether an invocation has been answered yet (the cold start is over). */
  private answeredOnce = false;
  private afterFirst: (() => void) | null = null;
  /** A pre-started container's code slot and its image's Env (container-sandbox.ts). */
  private slot: { slot: CodeSlot; imageEnv: Record<string, string> } | null = null;
  /** The Extensions API of this environment (from its assignment on). */
  private ext: ExtensionsApi | null = null;
  /** External extension processes (process driver; in a container the entrypoint starts them). */
  private extProcs: SpawnedProcess[] = [];
  private readonly telemetry: Telemetry;
  /** The runtime has asked for work (INIT also waits for the extensions). */
  private runtimeReady = false;
  private post: PostInvoke | null = null;
  /**
   * Set while the runtime has answered but extensions still work on the invocation: it
   * resolves when the invoke phase is over (every extension back on /next).
   */
  postInvoke: Promise<void> | null = null;
  private killing: Promise<void> | null = null;

  private constructor(
    private readonly ctx: EnvironmentContext,
    readonly family: RuntimeFamily,
  ) {
    this.dir = join(ctx.tmpRoot, this.id);
    this.out = new LineSplitter(this.onOutputLine);
    this.err = new LineSplitter(this.onOutputLine);
    this.telemetry = new Telemetry(() => this.api?.peerAddress ?? '127.0.0.1', ctx.warn);
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
          io: { onStdout: (c) => env.out.write(c), onStderr: (c) => env.err.write(c) },
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
    const env = buildEnvironment(
      fn,
      this.family,
      this.ctx.host,
      {
        runtimeApi: api.address,
        logStreamName: this.stream!.name,
        tmpDir: join(this.dir, 'tmp'),
        endpoint: this.ctx.endpoint(),
      },
      this.runtimeDir(),
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
    this.ext = new ExtensionsApi(
      this.extensionsHost,
      fn.image === undefined ? new Set(externalExtensions(fn.layerDirs).keys()) : new Set(),
    );
    this.telemetry.emit('platform.initStart', {
      initializationType: initializationTypeOf(this),
      phase: 'init',
      runtimeVersion: fn.runtime,
      runtimeVersionArn: `arn:aws:lambda:${fn.region}::runtime:stratus-${fn.runtime}`,
      functionName: fn.functionName,
      functionVersion: fn.version,
    });
    // A container image has no managed runtime version to name.
    if (fn.image === undefined)
      this.platformLine(`INIT_START Runtime Version: ${fn.runtime}:stratus`);
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
    if (this.post !== null) this.endPostInvoke({ status: 'error', errorType: 'Runtime.ExitError' });
    const proc = this.proc;
    const procs = proc !== null ? [proc, ...this.extProcs] : this.extProcs;
    if (procs.length > 0 && this.ext !== null && this.ext.registered > 0) {
      await shutdownPhase(this.ext, reason, Promise.all(procs.map((p) => p.exited)), async () => {
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
    }
    await Promise.all(this.extProcs.map((p) => p.kill()));
    if (proc !== null) {
      await proc.kill();
    } else {
      this.gone();
    }
  }

  // -------------------------------------------------------------------------------------
  // Launch

  private runtimeDir(): string {
    const host = this.ctx.host;
    return this.family === 'python'
      ? join(host.pythonBootstrap, '..')
      : join(host.nodeBootstrap, '..');
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
        onOtherRequest: (req, res) => this.ext?.handle(req, res) ?? false,
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
    const env = buildEnvironment(
      fn,
      this.family,
      this.ctx.host,
      {
        runtimeApi: api.address,
        logStreamName: this.stream!.name,
        tmpDir,
        endpoint: this.ctx.endpoint(),
      },
      cmd.runtimeDir,
    );
    await this.startExtensions(fn, env);
    if (this.goneNotified || this.state === 'dead') return;
    const { command, args } = applyExecWrapper(cmd, env);
    await this.spawn(command, args, env, fn.codeDir, fn.memoryMb);
  }

  /**
   * External extensions start first, with the runtime's environment; the runtime starts
   * once each has registered. One that exits before it registers fails INIT.
   */
  private async startExtensions(
    fn: FunctionVersionSpec,
    env: Record<string, string>,
  ): Promise<void> {
    const ext = this.ext!;
    const files = externalExtensions(fn.layerDirs);
    if (files.size === 0) return;
    const registered = new Promise<void>((resolve, reject) => {
      this.extRegistered = () => {
        for (const name of files.keys()) if (!ext.names.some((n) => n.name === name)) return;
        resolve();
      };
      for (const [name, path] of files) {
        const io = this.extensionIo(name);
        this.ctx.driver
          .spawn({ command: path, args: [], cwd: fn.codeDir, env, memoryMb: 0 }, io)
          .then(
            (proc) => {
              this.extProcs.push(proc);
              if (this.state === 'dead') void proc.kill();
              void proc.exited.then((status) => {
                if (ext.names.some((n) => n.name === name)) return;
                const how = status.signal
                  ? `signal: ${status.signal}`
                  : `exit status ${status.code}`;
                reject(
                  new LaunchError(
                    'Extension.Crash',
                    `Error: extension ${name} exited before registering: ${how}`,
                  ),
                );
              });
            },
            (err: unknown) =>
              reject(
                new LaunchError(
                  'Extension.LaunchError',
                  `Error: fork/exec /opt/extensions/${name}: ${(err as Error).message}`,
                ),
              ),
          );
      }
    });
    try {
      await registered;
    } finally {
      this.extRegistered = null;
    }
  }

  /** Called on each registration while startExtensions waits for them. */
  private extRegistered: (() => void) | null = null;

  /** An extension's output: into the function's log, and to telemetry as `extension`. */
  private extensionIo(name: string): { onStdout(c: Buffer): void; onStderr(c: Buffer): void } {
    const lines = new LineSplitter((line) => {
      this.stream?.push(Date.now(), line);
      this.telemetry.emit('extension', line);
      const inv = this.inv;
      if (inv !== null && inv.lines !== null) inv.lines.push(line);
    });
    void name;
    return { onStdout: (c) => lines.write(c), onStderr: (c) => lines.write(c) };
  }

  private readonly extensionsHost: ExtensionsHost = {
    registration: () => {
      const fn = this.spec!;
      return {
        functionName: fn.functionName,
        functionVersion: fn.version,
        handler: fn.handler,
        accountId: fn.account,
      };
    },
    initializing: () => !this.ready && this.state !== 'dead',
    onChange: () => {
      this.extRegistered?.();
      this.checkReady();
      this.checkPostInvoke();
    },
    onInitError: (name, errorType) => {
      const body = Buffer.from(
        JSON.stringify({ errorMessage: `Extension ${name} failed to initialize`, errorType }),
      );
      this.onInitError(body, errorType);
    },
    onExitError: (name, errorType) => {
      this.platformLine(`EXTENSION\tName: ${name}\tState: ExitError\tError Type: ${errorType}`);
    },
    onSubscribe: (name, body) => this.telemetry.subscribe(name, body),
  };

  /** The runtime in a container of its runtime image (container-sandbox.ts). */
  private async launchContainer(fn: FunctionVersionSpec, sandbox: ContainerSandbox): Promise<void> {
    const api = await this.startApi(true);
    if (this.goneNotified) return this.cleanUp();
    const proc = await sandbox.launch({
      fn,
      family: this.family,
      api,
      logStreamName: this.stream!.name,
      io: { onStdout: (c) => this.out.write(c), onStderr: (c) => this.err.write(c) },
    });
    this.proc = proc;
    void proc.exited.then(this.onExit);
    if (this.state === 'dead') void proc.kill();
  }

  private async spawnPrestarted(): Promise<void> {
    const [tmpDir, api] = await Promise.all([this.prepareDir(), this.startApi()]);
    if (this.goneNotified) return this.cleanUp();
    const host = this.ctx.host;
    const env: Record<string, string> = {
      PATH: host.basePath,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: tmpDir,
      TMP: tmpDir,
      TEMP: tmpDir,
      AWS_LAMBDA_RUNTIME_API: api.address,
      LAMBDA_RUNTIME_DIR: this.runtimeDir(),
      STRATUS_PRESTART: '1',
    };
    if (this.family === 'python') {
      await this.spawn(await host.pythonExecutable(), ['-u', host.pythonBootstrap], env, tmpDir, 0);
    } else {
      if (host.sdkNodeModules) env.NODE_PATH = host.sdkNodeModules;
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
      proc = await this.ctx.driver.spawn(
        { command, args, cwd, env, memoryMb },
        { onStdout: (c) => this.out.write(c), onStderr: (c) => this.err.write(c) },
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'ENOENT' || code === 'ENOEXEC') {
        throw new LaunchError(
          'Runtime.InvalidEntrypoint',
          `Error: fork/exec ${command}: ${code === 'EACCES' ? 'permission denied' : 'no such file or directory'}`,
        );
      }
      throw err;
    }
    this.proc = proc;
    void proc.exited.then(this.onExit);
    // Recorded so that a Stratus restart can reap what a crash left behind (executor.ts).
    void writeFile(join(this.dir, 'owner'), `${process.pid} ${proc.pid}\n`).catch(() => {});
    if (this.state === 'dead') void proc.kill();
  }

  private failLaunch(err: unknown): void {
    const launchError =
      err instanceof LaunchError
        ? err
        : new LaunchError(
            'Runtime.Unknown',
            `Error: ${err instanceof Error ? err.message : String(err)}`,
          );
    if (!(err instanceof LaunchError)) this.ctx.warn('lambda environment failed to start', err);
    this.launchError = launchError;
    this.state = 'dead';
    const inv = this.inv;
    if (inv !== null) this.finishLaunchError(inv, launchError);
    this.gone();
  }

  private finishLaunchError(inv: ActiveInvocation, e: LaunchError): void {
    const id = inv.req.requestId;
    const message = `RequestId: ${id} ${e.message}`;
    this.platformLine(`${message}\n${e.errorType}`);
    inv.initDurationMs = performance.now() - this.initStart;
    this.finish(inv, 'init-error', launchErrorPayload(id, e.errorType, e.message), 0, {
      status: 'error',
      errorType: e.errorType,
    });
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
    const ext = this.ext;
    if (ext !== null && !ext.ready) return;
    this.ready = true;
    if (this.initTimer !== null) {
      clearTimeout(this.initTimer);
      this.initTimer = null;
    }
    const initMs = performance.now() - this.initStart;
    if (this.state === 'starting') this.state = 'idle';
    if (this.telemetry.active) {
      const initializationType = initializationTypeOf(this);
      this.telemetry.emit('platform.initRuntimeDone', {
        initializationType,
        phase: 'init',
        status: 'success',
      });
      this.telemetry.emit('platform.initReport', {
        initializationType,
        phase: 'init',
        status: 'success',
        metrics: { durationMs: round2(initMs) },
      });
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
    this.platformLine(`START RequestId: ${req.requestId} Version: ${fn.version}`);
    const timeoutMs = fn.timeoutSeconds * 1000;
    inv.timer = setTimeout(this.onTimeout, timeoutMs);
    const deadlineMs = Date.now() + timeoutMs;
    const invokedFunctionArn = req.invokedFunctionArn ?? fn.functionArn;
    const traceId = req.traceId ?? newTraceId();
    this.telemetry.emit('platform.start', {
      requestId: req.requestId,
      version: fn.version,
      tracing: { type: 'X-Amzn-Trace-Id', value: traceId },
    });
    this.ext?.dispatch({
      eventType: 'INVOKE',
      deadlineMs,
      requestId: req.requestId,
      invokedFunctionArn,
      tracing: { type: 'X-Amzn-Trace-Id', value: traceId },
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
      if (inv.done) return;
      const durationMs = end - inv.start;
      switch (result.kind) {
        case 'response':
          return this.finish(inv, 'success', result.body, durationMs, undefined);
        case 'error':
          return this.finish(inv, 'function-error', result.body, durationMs, {
            status: 'error',
            errorType: errorTypeOf(result.body, result.errorType),
          });
        case 'too-large':
          return this.finish(
            inv,
            'function-error',
            tooLargePayload(result.size, MAX_RESPONSE_BYTES),
            durationMs,
            { status: 'error', errorType: 'Function.ResponseSizeTooLarge' },
          );
        default: {
          const never: never = result;
          throw new Error(`unknown result ${String(never)}`);
        }
      }
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
        this.finish(inv, 'init-error', body, durationMs, {
          status: 'error',
          errorType: errorTypeOf(body, errorType),
        });
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
    this.finish(
      inv,
      'timeout',
      timeoutPayload(inv.req.requestId, fn.timeoutSeconds),
      fn.timeoutSeconds * 1000,
      {
        status: 'timeout',
      },
    );
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
      this.finish(inv, 'timeout', timeoutPayload(inv.req.requestId, fn.timeoutSeconds), 0, {
        status: 'timeout',
      });
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
      const payload =
        initializing && this.initError !== null ? this.initError.body : exitPayload(id, status);
      const errorType =
        initializing && this.initError !== null
          ? errorTypeOf(this.initError.body, this.initError.errorType)
          : exitErrorType(status);
      if (errorType === exitErrorType(status)) {
        this.platformLine(`${exitErrorMessage(id, status)}\n${errorType}`);
      }
      const durationMs = initializing ? 0 : performance.now() - inv.start;
      this.finish(inv, initializing ? 'init-error' : 'runtime-exit', payload, durationMs, {
        status: 'error',
        errorType,
      });
    }
    // Extensions outlive the runtime until their Shutdown phase is over.
    if (this.killing === null && this.extProcs.length > 0) void this.kill('failure');
    if (this.killing !== null) void this.killing.then(() => this.gone());
    else this.gone();
  };

  // -------------------------------------------------------------------------------------
  // Completion, logs, metering

  private finish(
    inv: ActiveInvocation,
    kind: InvokeOutcomeKind,
    payload: Buffer,
    durationMs: number,
    report: ReportStatus | undefined,
  ): void {
    inv.done = true;
    if (inv.timer !== null) clearTimeout(inv.timer);
    if (this.inv === inv) this.inv = null;
    if (this.state === 'busy') this.state = 'idle';
    // Max Memory Used is refreshed on cold starts, failures and at most once a second
    // (reading /proc costs ~0.1 ms); otherwise the last figure stands.
    const proc = this.proc;
    const now = performance.now();
    if (
      proc !== null &&
      (inv.initDurationMs !== undefined ||
        report !== undefined ||
        now - this.peakSampledAt >= MEMORY_SAMPLE_MS)
    ) {
      this.peakSampledAt = now;
      void proc.peakMemoryMb().then(
        (mb) => {
          if (mb > this.peakMb) this.peakMb = mb;
          this.complete(inv, kind, payload, durationMs, report);
        },
        () => this.complete(inv, kind, payload, durationMs, report),
      );
    } else {
      this.complete(inv, kind, payload, durationMs, report);
    }
  }

  private complete(
    inv: ActiveInvocation,
    kind: InvokeOutcomeKind,
    payload: Buffer,
    durationMs: number,
    report: ReportStatus | undefined,
  ): void {
    const fn = this.spec!;
    const id = inv.req.requestId;
    const initMs = inv.initDurationMs;
    const maxMemoryUsedMb = this.peakMb;
    const billedDurationMs = Math.max(1, Math.ceil(durationMs + (initMs ?? 0)));

    if (inv.start === 0) {
      // INIT failed: the invocation never started; AWS reports the init phase, then the
      // invocation it failed.
      let init = `INIT_REPORT Init Duration: ${(initMs ?? 0).toFixed(2)} ms\tPhase: init`;
      if (report !== undefined) init += `\tStatus: ${report.status}`;
      if (report?.errorType !== undefined) init += `\tError Type: ${report.errorType}`;
      this.logLine(inv, init);
      this.logLine(inv, `START RequestId: ${id} Version: ${fn.version}`);
    }
    this.telemetry.emit('platform.runtimeDone', {
      requestId: id,
      status: report?.status ?? (kind === 'success' ? 'success' : 'error'),
      ...(report?.errorType !== undefined && { errorType: report.errorType }),
      metrics: { durationMs: round2(durationMs), producedBytes: payload.length },
    });
    const ext = this.ext;
    const extensionsBusy = ext !== null && !ext.idle && this.state !== 'dead';
    if (extensionsBusy) {
      // The answer goes out now; the invoke phase (and its REPORT, which counts the
      // extensions' time) ends when every extension has asked for its next event.
      this.state = 'busy';
      const remaining = Math.max(1, fn.timeoutSeconds * 1000 - durationMs);
      let done = () => {};
      this.postInvoke = new Promise<void>((resolve) => (done = resolve));
      this.post = {
        inv,
        durationMs,
        answeredAt: performance.now(),
        report,
        done,
        timer: setTimeout(() => {
          this.endPostInvoke({ status: 'timeout' });
          void this.kill('timeout');
        }, remaining),
      };
    } else {
      this.report(inv, durationMs, report);
    }

    const outcome: InvokeOutcome = {
      kind,
      payload,
      durationMs,
      billedDurationMs,
      maxMemoryUsedMb,
    };
    if (initMs !== undefined) outcome.initDurationMs = initMs;
    if (inv.lines !== null) outcome.logTail = tail(inv.lines);
    this.lastUsedAt = Date.now();
    inv.resolve(outcome);
    this.answeredOnce = true;
    this.settleFirst();
  }

  /** END and REPORT (and platform.report) of an invocation. */
  private report(
    inv: ActiveInvocation,
    durationMs: number,
    report: ReportStatus | undefined,
  ): void {
    const fn = this.spec!;
    const id = inv.req.requestId;
    const initMs = inv.initDurationMs;
    const billedDurationMs = Math.max(1, Math.ceil(durationMs + (initMs ?? 0)));
    this.logLine(inv, `END RequestId: ${id}`);
    let line = `REPORT RequestId: ${id}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${billedDurationMs} ms\tMemory Size: ${fn.memoryMb} MB\tMax Memory Used: ${this.peakMb} MB`;
    if (initMs !== undefined) line += `\tInit Duration: ${initMs.toFixed(2)} ms`;
    if (report !== undefined) {
      line += `\tStatus: ${report.status}`;
      if (report.errorType !== undefined) line += `\tError Type: ${report.errorType}`;
    }
    this.logLine(inv, line);
    if (this.telemetry.active) {
      const metrics: Record<string, number> = {
        durationMs: round2(durationMs),
        billedDurationMs,
        memorySizeMB: fn.memoryMb,
        maxMemoryUsedMB: this.peakMb,
      };
      if (initMs !== undefined) metrics.initDurationMs = round2(initMs);
      this.telemetry.emit('platform.report', {
        requestId: id,
        status: report?.status ?? 'success',
        ...(report?.errorType !== undefined && { errorType: report.errorType }),
        metrics,
      });
    }
  }

  /** Extensions are done with an answered invocation: its REPORT, and the environment is free. */
  private checkPostInvoke(): void {
    if (this.post !== null && this.ext !== null && this.ext.idle) this.endPostInvoke(undefined);
  }

  private endPostInvoke(override: ReportStatus | undefined): void {
    const post = this.post;
    if (post === null) return;
    this.post = null;
    this.postInvoke = null;
    clearTimeout(post.timer);
    // "the extensions' time after the response" is part of the invocation's Duration.
    const durationMs = post.durationMs + (performance.now() - post.answeredAt);
    this.report(post.inv, durationMs, override ?? post.report);
    if (this.state === 'busy') this.state = 'idle';
    this.lastUsedAt = Date.now();
    post.done();
  }

  /** A platform line of one invocation (END and REPORT come after it left `this.inv`). */
  private logLine(inv: ActiveInvocation, message: string): void {
    this.stream?.push(Date.now(), message);
    if (inv.lines !== null) inv.lines.push(message);
  }

  private platformLine(message: string): void {
    this.stream?.push(Date.now(), message);
    const inv = this.inv;
    if (inv !== null && inv.lines !== null) inv.lines.push(message);
  }

  private readonly onOutputLine = (line: string): void => {
    const stream = this.stream;
    if (stream === null) return; // a pre-started process before its assignment
    stream.push(Date.now(), line);
    this.telemetry.emit('function', line);
    const inv = this.inv;
    if (inv !== null && inv.lines !== null) inv.lines.push(line);
  };

  private gone(): void {
    if (this.goneNotified) return;
    this.goneNotified = true;
    this.state = 'dead';
    if (this.initTimer !== null) clearTimeout(this.initTimer);
    for (const p of this.extProcs) void p.kill();
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

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The last 4 KB of an invocation's log text, cut at a character boundary. */
function tail(lines: string[]): string {
  const text = lines.join('\n') + '\n';
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= TAIL_BYTES) return text;
  let start = buf.length - TAIL_BYTES;
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return buf.toString('utf8', start);
}

/** An X-Ray trace header like the ones Lambda hands every invocation. */
function newTraceId(): string {
  const u = randomUUID();
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  const root = u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24, 28);
  return `Root=1-${epoch}-${root};Parent=${u.slice(28, 36)}${u.slice(0, 8)};Sampled=0;Lineage=1:${u.slice(0, 8)}:0`;
}
