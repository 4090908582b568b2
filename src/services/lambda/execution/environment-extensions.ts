/**
 * The extensions side of one execution environment (environment.ts): its Extensions API,
 * the external extension processes it starts before the runtime, the wait after an
 * invocation's answer until every extension is back on /next, and the Shutdown phase.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
 */
import type { HttpRequest, HttpResponse } from './runtime-http.js';
import type { ExecutionDriver, SpawnedProcess } from '../../../runtime/types.js';
import { LineSplitter } from '../../../events/log-writer.js';
import {
  ExtensionsApi,
  type ExtensionEvent,
  type ExtensionsHost,
  type ShutdownReason,
} from './extensions-api.js';
import { externalExtensions, shutdownPhase } from './extensions.js';
import { extensionExitLine, type ReportStatus } from './platform-lines.js';
import { LaunchError } from './runtimes.js';
import type { Telemetry } from './telemetry.js';
import type { FunctionVersionSpec } from './types.js';

/** What the environment tells its extensions and does for them. */
export interface ExtensionsOwner {
  readonly driver: ExecutionDriver;
  readonly telemetry: Telemetry;
  /** The function assigned to the environment. */
  spec(): FunctionVersionSpec;
  /** INIT is running (registration is open). */
  initializing(): boolean;
  dead(): boolean;
  /** A registration or a /next: INIT may be over. */
  onChange(): void;
  /** An extension failed INIT (Extension.InitError and the like). */
  onInitError(body: Buffer, errorType: string): void;
  /** A line into the function's log (and the invocation's tail). */
  logLine(line: string): void;
}

/** An invocation answered by the runtime while extensions still work on it. */
interface PostInvoke {
  durationMs: number;
  /** performance.now() of the runtime's answer. */
  answeredAt: number;
  report: ReportStatus | undefined;
  timer: NodeJS.Timeout;
  end: (durationMs: number, report: ReportStatus | undefined) => void;
  done: () => void;
}

export class EnvironmentExtensions {
  /** The Extensions API of this environment (from its assignment on). */
  private api: ExtensionsApi | null = null;
  /** External extension processes (process driver; in a container the entrypoint starts them). */
  private readonly procs: SpawnedProcess[] = [];
  /** Called on each registration while start() waits for them. */
  private registeredHook: (() => void) | null = null;
  private post: PostInvoke | null = null;
  /**
   * Set while the runtime has answered but extensions still work on the invocation: it
   * resolves when the invoke phase is over (every extension back on /next).
   */
  postInvoke: Promise<void> | null = null;

  constructor(private readonly owner: ExtensionsOwner) {}

  /** The function is assigned: its Extensions API opens, expecting its layers' extensions. */
  open(fn: FunctionVersionSpec): void {
    this.api = new ExtensionsApi(
      this.host,
      fn.image === undefined ? new Set(externalExtensions(fn.layerDirs).keys()) : new Set(),
    );
  }

  /** Every extension has registered and waits on /next (INIT may end). */
  get ready(): boolean {
    return this.api === null || this.api.ready;
  }

  /** Some extension still works on the last event. */
  get busy(): boolean {
    return this.api !== null && !this.api.idle;
  }

  /** Whether external extension processes run (they outlive the runtime until Shutdown). */
  get running(): boolean {
    return this.procs.length > 0;
  }

  /** Serves an Extensions or Telemetry API request on the Runtime API listener. */
  handle(req: HttpRequest, res: HttpResponse): boolean {
    return this.api?.handle(req, res) ?? false;
  }

  dispatch(event: ExtensionEvent): void {
    this.api?.dispatch(event);
  }

  /**
   * External extensions start first, with the runtime's environment; the runtime starts
   * once each has registered. One that exits before it registers fails INIT.
   */
  async start(fn: FunctionVersionSpec, env: Record<string, string>): Promise<void> {
    const ext = this.api!;
    const files = externalExtensions(fn.layerDirs);
    if (files.size === 0) return;
    const registered = new Promise<void>((resolve, reject) => {
      this.registeredHook = () => {
        for (const name of files.keys()) if (!ext.names.some((n) => n.name === name)) return;
        resolve();
      };
      for (const [name, path] of files) {
        this.owner.driver
          .spawn({ command: path, args: [], cwd: fn.codeDir, env, memoryMb: 0 }, this.io())
          .then(
            (proc) => {
              this.procs.push(proc);
              if (this.owner.dead()) void proc.kill();
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
      this.registeredHook = null;
    }
  }

  /** An extension's output: into the function's log, and to telemetry as `extension`. */
  private io(): { onStdout(c: Buffer): void; onStderr(c: Buffer): void } {
    const lines = new LineSplitter((line) => {
      this.owner.logLine(line);
      this.owner.telemetry.emit('extension', line);
    });
    return { onStdout: (c) => lines.write(c), onStderr: (c) => lines.write(c) };
  }

  /**
   * The runtime answered at `answeredAt` (performance.now()), `durationMs` into the invoke:
   * the invoke phase (and its REPORT, which counts the extensions' time) ends when every
   * extension has asked for its next event, then `end` runs; at `timeoutMs` it ends as a
   * timeout and `onTimeout` runs.
   */
  awaitIdle(
    durationMs: number,
    answeredAt: number,
    report: ReportStatus | undefined,
    timeoutMs: number,
    end: (durationMs: number, report: ReportStatus | undefined) => void,
    onTimeout: () => void,
  ): void {
    let done = () => {};
    this.postInvoke = new Promise<void>((resolve) => (done = resolve));
    this.post = {
      durationMs,
      answeredAt,
      report,
      end,
      done,
      timer: setTimeout(() => {
        this.endPostInvoke({ status: 'timeout' });
        onTimeout();
      }, timeoutMs),
    };
  }

  /** Ends the wait of awaitIdle (if one runs), with `override` as its REPORT status if given. */
  endPostInvoke(override: ReportStatus | undefined): void {
    const post = this.post;
    if (post === null) return;
    this.post = null;
    this.postInvoke = null;
    clearTimeout(post.timer);
    // "the extensions' time after the response" is part of the invocation's Duration.
    post.end(post.durationMs + (performance.now() - post.answeredAt), override ?? post.report);
    post.done();
  }

  /**
   * The Shutdown phase when extensions registered (extensions.ts): waits for `runtime` and
   * the extension processes to exit (`beforeWait` runs once SHUTDOWN is out), then kills
   * the extension processes.
   */
  async shutDown(
    reason: ShutdownReason,
    runtime: SpawnedProcess | null,
    beforeWait: () => Promise<void>,
  ): Promise<void> {
    const procs = runtime !== null ? [runtime, ...this.procs] : this.procs;
    if (procs.length > 0 && this.api !== null && this.api.registered > 0) {
      await shutdownPhase(this.api, reason, Promise.all(procs.map((p) => p.exited)), beforeWait);
    }
    await Promise.all(this.procs.map((p) => p.kill()));
  }

  /** Kills the extension processes (the environment is gone). */
  killAll(): void {
    for (const p of this.procs) void p.kill();
  }

  private readonly host: ExtensionsHost = {
    registration: () => {
      const fn = this.owner.spec();
      return {
        functionName: fn.functionName,
        functionVersion: fn.version,
        handler: fn.handler,
        accountId: fn.account,
      };
    },
    initializing: () => this.owner.initializing(),
    onChange: () => {
      this.registeredHook?.();
      this.owner.onChange();
      if (this.post !== null && this.api !== null && this.api.idle) this.endPostInvoke(undefined);
    },
    onInitError: (name, errorType) => {
      const body = Buffer.from(
        JSON.stringify({ errorMessage: `Extension ${name} failed to initialize`, errorType }),
      );
      this.owner.onInitError(body, errorType);
    },
    onExitError: (name, errorType) => this.owner.logLine(extensionExitLine(name, errorType)),
    onSubscribe: (name, body) => this.owner.telemetry.subscribe(name, body),
  };
}
