/**
 * The Lambda Extensions API on an environment's Runtime API listener (the same
 * AWS_LAMBDA_RUNTIME_API address), and the Telemetry API's subscribe call.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
 *
 *   POST /2020-01-01/extension/register      Lambda-Extension-Name, {"events":[…]}
 *                                            → 200, Lambda-Extension-Identifier
 *   GET  /2020-01-01/extension/event/next    long poll → INVOKE / SHUTDOWN event
 *   POST /2020-01-01/extension/init/error    Lambda-Extension-Function-Error-Type → 202
 *   POST /2020-01-01/extension/exit/error    → 202
 *   PUT  /2022-07-01/telemetry               subscribe (telemetry.ts) → 200
 *
 * External extensions are the executables in /opt/extensions (their file name is the name
 * they register with); anything else registering during INIT is an internal extension
 * (a thread of the runtime process), which may not take SHUTDOWN. Error types and
 * statuses are those of AWS's runtime interface emulator (rapid).
 *
 * An extension is `busy` from the moment an event is handed to it (or from its
 * registration) until it asks for the next one: INIT ends when the runtime and every
 * extension wait on /next, and so does an invocation.
 */
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse } from './runtime-http.js';
import { readBody } from './runtime-api.js';

const EXTENSION_PREFIX = '/2020-01-01/extension/';
const TELEMETRY_PATH = '/2022-07-01/telemetry';
/** AWS allows 10 extensions per function. */
const MAX_EXTENSIONS = 10;
const MAX_REQUEST_BYTES = 1024 * 1024;
const JSON_HEADERS = ['Content-Type', 'application/json'];

export type ShutdownReason = 'spindown' | 'timeout' | 'failure';

export type ExtensionEvent =
  | {
      eventType: 'INVOKE';
      deadlineMs: number;
      requestId: string;
      invokedFunctionArn: string;
      tracing: { type: 'X-Amzn-Trace-Id'; value: string };
    }
  | { eventType: 'SHUTDOWN'; shutdownReason: ShutdownReason; deadlineMs: number };

export interface ExtensionsHost {
  /** What Register answers (accountId only to those that accept the feature). */
  registration(): {
    functionName: string;
    functionVersion: string;
    handler: string;
    accountId: string;
  };
  /** INIT is running: registration is open. */
  initializing(): boolean;
  /** An extension registered or asked for its next event. */
  onChange(): void;
  /** …/init/error: INIT fails with this error type. */
  onInitError(name: string, errorType: string): void;
  /** …/exit/error: the extension is about to exit with this error. */
  onExitError(name: string, errorType: string): void;
  /** A registered extension subscribed to telemetry; an error message refuses it. */
  onSubscribe(name: string, body: unknown): string | undefined;
}

interface Extension {
  id: string;
  name: string;
  external: boolean;
  invoke: boolean;
  shutdown: boolean;
  /** Handed an event (or registered) and not back on /next yet. */
  busy: boolean;
  parked: HttpResponse | null;
  queued: ExtensionEvent | null;
}

export class ExtensionsApi {
  private readonly byId = new Map<string, Extension>();
  private readonly byName = new Map<string, Extension>();

  /** `expected`: the names of the external extensions (files in /opt/extensions). */
  constructor(
    private readonly host: ExtensionsHost,
    readonly expected: ReadonlySet<string>,
  ) {}

  /** Every external extension registered, and every registered one waits on /next. */
  get ready(): boolean {
    for (const name of this.expected) if (!this.byName.has(name)) return false;
    return this.idle;
  }

  /** No extension is working on an event. */
  get idle(): boolean {
    for (const e of this.byId.values()) if (e.busy) return false;
    return true;
  }

  get registered(): number {
    return this.byId.size;
  }

  /** Registered names and whether they run as their own process. */
  get names(): { name: string; external: boolean }[] {
    return [...this.byId.values()].map((e) => ({ name: e.name, external: e.external }));
  }

  /** Some registered extension takes SHUTDOWN (external ones only may). */
  get wantsShutdown(): boolean {
    for (const e of this.byId.values()) if (e.shutdown) return true;
    return false;
  }

  get hasExternal(): boolean {
    for (const e of this.byId.values()) if (e.external) return true;
    return false;
  }

  /** Hands `event` to every extension registered for it; they are busy until their /next. */
  dispatch(event: ExtensionEvent): void {
    for (const e of this.byId.values()) {
      if (event.eventType === 'INVOKE' ? !e.invoke : !e.shutdown) continue;
      e.busy = true;
      const res = e.parked;
      e.parked = null;
      if (res !== null && !res.destroyed) sendEvent(res, event);
      else e.queued = event;
    }
  }

  /** Routes an Extensions or Telemetry API request; false when the path is not theirs. */
  handle(req: HttpRequest, res: HttpResponse): boolean {
    const url = req.url;
    if (url.startsWith(EXTENSION_PREFIX)) {
      const action = url.slice(EXTENSION_PREFIX.length);
      if (action === 'register' && req.method === 'POST') this.register(req, res);
      else if (action === 'event/next' && req.method === 'GET') this.next(req, res);
      else if (action === 'init/error' && req.method === 'POST') this.reportError(req, res, true);
      else if (action === 'exit/error' && req.method === 'POST') this.reportError(req, res, false);
      else return false;
      return true;
    }
    if (url === TELEMETRY_PATH && req.method === 'PUT') {
      this.subscribe(req, res);
      return true;
    }
    return false;
  }

  private register(req: HttpRequest, res: HttpResponse): void {
    const name = req.headers['lambda-extension-name'];
    readBody(req, MAX_REQUEST_BYTES, (body) => {
      if (name === undefined || name === '') {
        return fail(res, 403, 'Extension.InvalidExtensionName', 'Empty extension name');
      }
      if (!this.host.initializing()) {
        return fail(res, 403, 'Extension.RegistrationClosed', 'Extension registration is closed');
      }
      let events: unknown;
      try {
        events = (JSON.parse((body ?? Buffer.alloc(0)).toString('utf8')) as { events?: unknown })
          .events;
      } catch {
        return fail(res, 403, 'InvalidRequestFormat', 'invalid JSON in the register request');
      }
      if (events !== undefined && !Array.isArray(events)) {
        return fail(res, 403, 'InvalidRequestFormat', '"events" must be an array');
      }
      const external = this.expected.has(name);
      const ext: Extension = {
        id: randomUUID(),
        name,
        external,
        invoke: false,
        shutdown: false,
        busy: true,
        parked: null,
        queued: null,
      };
      for (const event of (events ?? []) as unknown[]) {
        if (event === 'INVOKE') ext.invoke = true;
        else if (event === 'SHUTDOWN' && external) ext.shutdown = true;
        else {
          const type =
            event === 'SHUTDOWN'
              ? 'ShutdownEventNotSupportedForInternalExtension'
              : 'Extension.InvalidEventType';
          return fail(
            res,
            403,
            type,
            `ExtensionsAPI Failed to Register ${name}: event ${String(event)}`,
          );
        }
      }
      if (this.byName.has(name)) {
        return fail(res, 403, 'Extension.AlreadyRegistered', 'Extension already registered');
      }
      if (this.byId.size >= MAX_EXTENSIONS) {
        return fail(res, 403, 'Extension.TooManyExtensions', 'Too many extensions registered');
      }
      this.byId.set(ext.id, ext);
      this.byName.set(name, ext);
      const { accountId, ...info } = this.host.registration();
      const features = req.headers['lambda-extension-accept-feature'] ?? '';
      const answer = features.split(',').some((f) => f.trim() === 'accountId')
        ? { ...info, accountId }
        : info;
      res.send(
        200,
        [...JSON_HEADERS, 'Lambda-Extension-Identifier', ext.id],
        Buffer.from(JSON.stringify(answer)),
      );
      this.host.onChange();
    });
  }

  /** The extension named by Lambda-Extension-Identifier, or an answered 403. */
  private identify(req: HttpRequest, res: HttpResponse): Extension | undefined {
    const id = req.headers['lambda-extension-identifier'];
    if (id === undefined || id === '') {
      fail(res, 403, 'Extension.MissingHeader', 'Missing Lambda-Extension-Identifier header');
      return undefined;
    }
    const ext = this.byId.get(id);
    if (ext === undefined) {
      fail(res, 403, 'Extension.UnknownExtensionIdentifier', 'Unknown extension ' + id);
    }
    return ext;
  }

  private next(req: HttpRequest, res: HttpResponse): void {
    const ext = this.identify(req, res);
    if (ext === undefined) return;
    const queued = ext.queued;
    if (queued !== null) {
      ext.queued = null;
      sendEvent(res, queued);
      return;
    }
    ext.parked = res;
    if (ext.busy) {
      ext.busy = false;
      this.host.onChange();
    }
  }

  private reportError(req: HttpRequest, res: HttpResponse, init: boolean): void {
    const ext = this.identify(req, res);
    const errorType = req.headers['lambda-extension-function-error-type'];
    readBody(req, MAX_REQUEST_BYTES, () => {
      if (ext === undefined) return;
      if (errorType === undefined || errorType === '') {
        return fail(
          res,
          403,
          'Extension.MissingHeader',
          'Missing Lambda-Extension-Function-Error-Type header',
        );
      }
      res.send(202, JSON_HEADERS, '{"status":"OK"}');
      if (init) this.host.onInitError(ext.name, errorType);
      else this.host.onExitError(ext.name, errorType);
    });
  }

  private subscribe(req: HttpRequest, res: HttpResponse): void {
    const ext = this.identify(req, res);
    readBody(req, MAX_REQUEST_BYTES, (body) => {
      if (ext === undefined) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
      } catch {
        return fail(res, 400, 'InvalidRequest', 'invalid JSON in the subscription request');
      }
      const error = this.host.onSubscribe(ext.name, parsed);
      if (error !== undefined) return fail(res, 400, 'ValidationError', error);
      res.send(200, ['Content-Type', 'text/plain; charset=utf-8'], 'OK');
    });
  }
}

function sendEvent(res: HttpResponse, event: ExtensionEvent): void {
  res.send(
    200,
    [...JSON_HEADERS, 'Lambda-Extension-Event-Identifier', randomUUID()],
    Buffer.from(JSON.stringify(event)),
  );
}

function fail(res: HttpResponse, status: number, errorType: string, errorMessage: string): void {
  res.send(status, JSON_HEADERS, Buffer.from(JSON.stringify({ errorMessage, errorType })));
}
