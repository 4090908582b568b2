/**
 * The Lambda Runtime API, one listener per execution environment on 127.0.0.1:<ephemeral>
 * (the runtime finds it in AWS_LAMBDA_RUNTIME_API).
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 *
 *   GET  /2018-06-01/runtime/invocation/next            long poll, never times out
 *   POST /2018-06-01/runtime/invocation/{id}/response   202 {"status":"OK"}; 413 over 6 MB
 *   POST /2018-06-01/runtime/invocation/{id}/error      202; Lambda-Runtime-Function-Error-Type
 *   POST /2018-06-01/runtime/init/error                 202
 *
 * Error bodies and status codes follow AWS's runtime interface emulator (rapid):
 * 400 InvalidRequestID for an unknown or already answered id, 403 InvalidStateTransition
 * for a response while no invocation runs, 413 RequestEntityTooLarge.
 * Response streaming (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked, errors
 * in the Lambda-Runtime-Function-Error-Type/-Body trailers) is handed on chunk by chunk as
 * it arrives when the invocation has a sink (`RuntimeInvocation.onChunk`), else buffered.
 *
 * Timing: a runtime that pipelines its next /next behind an answer on the same connection
 * (Stratus's Node.js and Python bootstraps do) gets the answer's 202 together with the next
 * event, in one write; one that waits for the 202 gets it at once. The HTTP/1.1 server is
 * runtime-http.ts.
 *
 * Stratus adds one route of its own for pre-started runtimes: GET /stratus/v1/assignment
 * long-polls for the function such a process will serve.
 */
import {
  FixedHead,
  type HttpRequest,
  type HttpResponse,
  RuntimeHttpServer,
} from './runtime-http.js';

/** "6 MB": AWS's rapid allows 6 MiB + 100 bytes and names that figure in its errors. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;
/** Streamed responses may be larger (InvokeWithResponseStream: 20 MB). */
export const MAX_STREAMED_RESPONSE_BYTES = 20 * 1024 * 1024;

const RUNTIME_PREFIX = '/2018-06-01/runtime/';
const INVOCATION = 'invocation/';
const NEXT = 'invocation/next';
const INIT_ERROR = 'init/error';
const ASSIGNMENT_PATH = '/stratus/v1/assignment';

const ACCEPTED = '{"status":"OK"}';
const EMPTY = Buffer.alloc(0);
const JSON_HEADERS = ['Content-Type', 'application/json'];
/** Heads of the answers every invocation gets, formatted once. */
const ACCEPTED_HEAD = new FixedHead(202, JSON_HEADERS);
const EVENT_HEAD = new FixedHead(200, JSON_HEADERS);
const NO_FIELDS: readonly string[] = [];

/** What the environment hands the runtime on /next. */
export interface RuntimeInvocation {
  requestId: string;
  payload: Buffer;
  /** Epoch ms (Lambda-Runtime-Deadline-Ms). */
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId: string;
  /** JSON text (already decoded from the caller's base64). */
  clientContext?: string;
  cognitoIdentity?: string;
  /** Receives a streamed answer's body as it arrives (instead of buffering it). */
  onChunk?: (chunk: Buffer) => void;
}

export type InvocationResult =
  | { kind: 'response'; body: Buffer }
  | { kind: 'error'; body: Buffer; errorType: string | undefined }
  | { kind: 'too-large'; size: number };

export interface RuntimeApiEvents {
  /** The runtime asked for work for the first time: init is over. */
  onReady(): void;
  onResult(requestId: string, result: InvocationResult): void;
  onInitError(body: Buffer, errorType: string | undefined): void;
  /** A request could not be handled (a bug): its connection got a 500 and was closed. */
  onError(err: unknown): void;
  /**
   * Another API on the same listener (the Extensions and Telemetry APIs,
   * extensions-api.ts): true when it took the request.
   */
  onOtherRequest?(req: HttpRequest, res: HttpResponse): boolean;
}

export class RuntimeApi {
  private readonly server: RuntimeHttpServer;
  private port = 0;
  private ready = false;
  /** A /next waiting for work. */
  private parked: HttpResponse | null = null;
  /**
   * The 202 for an answer whose connection has the next /next pipelined behind it: it goes
   * out with the next event, in one write (the runtime is not waiting for it: it has asked
   * for more work already).
   */
  private owed: HttpResponse | null = null;
  /** Work waiting for a /next. */
  private pending: RuntimeInvocation | null = null;
  /** Sent to the runtime, not yet answered. */
  private current: string | null = null;
  private lastAnswered: string | null = null;
  /** Where the current invocation's streamed body goes, if anywhere. */
  private sink: ((chunk: Buffer) => void) | null = null;
  private assignmentWaiter: HttpResponse | null = null;
  private assignment: Buffer | null = null;
  /** The one address served (a container's), when restricted. */
  private peer: string | undefined;

  private constructor(private readonly events: RuntimeApiEvents) {
    // No timeouts: long polls and idle keep-alive connections are normal here.
    this.server = new RuntimeHttpServer(this.onRequest, (err) => this.events.onError(err));
  }

  /**
   * `restricted`: serve nobody until `allowPeer` names the one address to serve.
   * `host`: the address to listen on (default 127.0.0.1).
   */
  static async start(
    events: RuntimeApiEvents,
    restricted = false,
    host = '127.0.0.1',
  ): Promise<RuntimeApi> {
    const api = new RuntimeApi(events);
    if (restricted) api.server.restrict();
    api.port = await api.server.listen(host);
    return api;
  }

  /** Serves connections from `ip` only (the container's address). */
  allowPeer(ip: string): void {
    this.peer = ip;
    this.server.allowPeer(ip);
  }

  /** The container's address (where its own listeners are), or undefined on the host. */
  get peerAddress(): string | undefined {
    return this.peer;
  }

  get listenPort(): number {
    return this.port;
  }

  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Hands an invocation to the runtime now, or on its next /next. */
  deliver(inv: RuntimeInvocation): void {
    this.payOwed();
    const res = this.parked;
    if (res !== null && !res.destroyed) {
      this.parked = null;
      this.send(res, inv);
    } else {
      this.parked = null;
      this.pending = inv;
    }
  }

  /** Forgets an invocation that ended without an answer (timeout, crash). */
  abandon(requestId: string): void {
    if (this.current === requestId) {
      this.current = null;
      this.sink = null;
    }
    if (this.pending?.requestId === requestId) this.pending = null;
  }

  /** Pre-started runtimes: the function (environment, task root) to serve, as JSON. */
  assign(assignment: Buffer): void {
    const res = this.assignmentWaiter;
    if (res !== null && !res.destroyed) {
      this.assignmentWaiter = null;
      writeJson(res, 200, assignment);
    } else {
      this.assignment = assignment;
    }
  }

  close(): void {
    this.server.close();
  }

  private send(res: HttpResponse, inv: RuntimeInvocation): void {
    this.current = inv.requestId;
    this.sink = inv.onChunk ?? null;
    const headers = [
      'Lambda-Runtime-Aws-Request-Id',
      inv.requestId,
      'Lambda-Runtime-Deadline-Ms',
      String(inv.deadlineMs),
      'Lambda-Runtime-Invoked-Function-Arn',
      inv.invokedFunctionArn,
      'Lambda-Runtime-Trace-Id',
      inv.traceId,
    ];
    if (inv.clientContext !== undefined) {
      headers.push('Lambda-Runtime-Client-Context', inv.clientContext);
    }
    if (inv.cognitoIdentity !== undefined) {
      headers.push('Lambda-Runtime-Cognito-Identity', inv.cognitoIdentity);
    }
    res.sendWith(EVENT_HEAD, headers, inv.payload);
  }

  private readonly onRequest = (req: HttpRequest, res: HttpResponse): void => {
    const url = req.url;
    if (url.startsWith(RUNTIME_PREFIX)) {
      const rest = url.slice(RUNTIME_PREFIX.length);
      if (rest === NEXT) {
        if (req.method === 'GET') return this.next(res);
      } else if (rest.startsWith(INVOCATION)) {
        const slash = rest.lastIndexOf('/');
        const action = rest.slice(slash + 1);
        if (req.method === 'POST' && slash > INVOCATION.length) {
          let id = rest.slice(INVOCATION.length, slash);
          if (id.includes('%')) id = safeDecode(id);
          if (action === 'response') return this.response(req, res, id);
          if (action === 'error') return this.error(req, res, id);
        }
      } else if (rest === INIT_ERROR) {
        if (req.method === 'POST') return this.initError(req, res);
      }
    } else if (url === ASSIGNMENT_PATH && req.method === 'GET') {
      return this.awaitAssignment(res);
    } else if (this.events.onOtherRequest?.(req, res) === true) {
      return;
    }
    res.send(404, ['Content-Type', 'text/plain; charset=utf-8'], '404 page not found\n');
  };

  private next(res: HttpResponse): void {
    // An owed 202 on another connection (the runtime moved on) is not held back any longer.
    if (this.owed !== null && this.owed.connection !== res.connection) this.payOwed();
    if (!this.ready) {
      this.ready = true;
      this.events.onReady();
    }
    // A /next pipelined behind a response arrives while that response's body is still being
    // read: it is parked like any other and served once there is new work.
    const inv = this.pending;
    if (inv !== null) {
      this.pending = null;
      this.send(res, inv);
    } else {
      this.parked = res;
    }
  }

  /** Validates the id the way rapid does: state first, then the id. */
  private checkId(res: HttpResponse, id: string, transition: string): boolean {
    if (this.current === null) {
      if (id === this.lastAnswered) {
        invalidRequestId(res);
      } else {
        stateTransitionError(res, transition);
      }
      return false;
    }
    if (id !== this.current) {
      invalidRequestId(res);
      return false;
    }
    return true;
  }

  private response(req: HttpRequest, res: HttpResponse, id: string): void {
    if (!this.checkId(res, id, 'InvocationResponse')) return;
    const streaming = req.headers['lambda-runtime-function-response-mode'] === 'streaming';
    const limit = streaming ? MAX_STREAMED_RESPONSE_BYTES : MAX_RESPONSE_BYTES;
    const sink = streaming ? this.sink : null;
    const read = sink !== null ? this.forwardBody(req, id, sink, limit) : readBody;
    read(req, limit, (body, size) => {
      if (this.current !== id) return invalidRequestId(res);
      this.current = null;
      this.sink = null;
      this.lastAnswered = id;
      if (body === null) {
        writeJson(
          res,
          413,
          Buffer.from(
            JSON.stringify({
              errorMessage: `Exceeded maximum allowed payload size (${limit} bytes).`,
              errorType: 'RequestEntityTooLarge',
            }),
          ),
        );
        this.events.onResult(id, { kind: 'too-large', size });
        return;
      }
      const trailers = req.trailers;
      const errorType = trailers['lambda-runtime-function-error-type'];
      if (streaming && errorType !== undefined) {
        const encoded = trailers['lambda-runtime-function-error-body'];
        const errorBody =
          encoded !== undefined
            ? Buffer.from(encoded, 'base64')
            : Buffer.from(JSON.stringify({ errorType, errorMessage: '' }));
        this.events.onResult(id, { kind: 'error', body: errorBody, errorType });
      } else {
        this.events.onResult(id, { kind: 'response', body });
      }
      this.accept(res);
    });
  }

  /**
   * The 202 for an answer. When the runtime pipelined its next /next behind the answer on
   * the same connection (parsed by now: same read), the 202 waits for the next event and
   * leaves with it, so the runtime wakes once per invocation; else it goes out now.
   */
  private accept(res: HttpResponse): void {
    process.nextTick(() => {
      const parked = this.parked;
      if (parked !== null && parked.connection === res.connection && !parked.destroyed) {
        this.payOwed();
        this.owed = res;
      } else {
        accepted(res);
      }
    });
  }

  private payOwed(): void {
    const owed = this.owed;
    if (owed === null) return;
    this.owed = null;
    if (!owed.destroyed) accepted(owed);
  }

  /**
   * A body reader that hands each chunk to `sink` while `id` is still the invocation being
   * answered (a timeout abandons it) and the limit is not passed; past the limit it reports
   * null like readBody. The body it reports is empty: the sink had it all.
   */
  private forwardBody(
    req: HttpRequest,
    id: string,
    sink: (chunk: Buffer) => void,
    limit: number,
  ): typeof readBody {
    return (_req, _limit, done) => {
      let size = 0;
      req.body = {
        data: (chunk) => {
          size += chunk.length;
          if (size <= limit && this.current === id) sink(chunk);
        },
        end: () => done(size > limit ? null : EMPTY, size),
      };
    };
  }

  private error(req: HttpRequest, res: HttpResponse, id: string): void {
    if (!this.checkId(res, id, 'InvocationErrorResponse')) return;
    const errorType = headerValue(req, 'lambda-runtime-function-error-type');
    readBody(req, MAX_RESPONSE_BYTES, (body) => {
      if (this.current !== id) return invalidRequestId(res);
      this.current = null;
      this.sink = null;
      this.lastAnswered = id;
      this.events.onResult(id, {
        kind: 'error',
        body: errorPayload(body, errorType),
        errorType,
      });
      this.accept(res);
    });
  }

  private initError(req: HttpRequest, res: HttpResponse): void {
    const errorType = headerValue(req, 'lambda-runtime-function-error-type');
    readBody(req, MAX_RESPONSE_BYTES, (body) => {
      accepted(res);
      this.events.onInitError(errorPayload(body, errorType), errorType);
    });
  }

  private awaitAssignment(res: HttpResponse): void {
    const assignment = this.assignment;
    if (assignment !== null) {
      this.assignment = null;
      writeJson(res, 200, assignment);
    } else {
      this.assignmentWaiter = res;
    }
  }
}

/**
 * "Lambda's default behavior is to use Lambda-Runtime-Function-Error-Type header value to
 * construct an error response when error payload is not provided or can not be read."
 */
function errorPayload(body: Buffer | null, errorType: string | undefined): Buffer {
  if (body !== null && body.length > 0) return body;
  return Buffer.from(
    JSON.stringify({ errorMessage: '', errorType: errorType ?? 'Runtime.Unknown' }),
  );
}

/** Reads a body up to `limit` bytes; past it, drains the rest and reports null. */
export function readBody(
  req: HttpRequest,
  limit: number,
  done: (body: Buffer | null, size: number) => void,
): void {
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let size = 0;
  let over = false;
  req.body = {
    data(chunk) {
      size += chunk.length;
      if (over) return;
      if (size > limit) {
        over = true;
        first = null;
        chunks = null;
      } else if (first === null) {
        first = chunk;
      } else {
        chunks ??= [first];
        chunks.push(chunk);
      }
    },
    end() {
      if (over) return done(null, size);
      done(chunks !== null ? Buffer.concat(chunks, size) : (first ?? EMPTY), size);
    },
  };
}

function headerValue(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function accepted(res: HttpResponse): void {
  res.sendWith(ACCEPTED_HEAD, NO_FIELDS, ACCEPTED);
}

/** `body`: a Buffer, or an ASCII string. */
function writeJson(res: HttpResponse, status: number, body: Buffer | string): void {
  res.send(status, JSON_HEADERS, body);
}

function invalidRequestId(res: HttpResponse): void {
  writeJson(
    res,
    400,
    Buffer.from('{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}'),
  );
}

function stateTransitionError(res: HttpResponse, to: string): void {
  const from = 'Ready';
  writeJson(
    res,
    403,
    Buffer.from(
      JSON.stringify({
        errorMessage: `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`,
        errorType: 'InvalidStateTransition',
      }),
    ),
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
