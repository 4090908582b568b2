/**
 * Stratus's Node.js runtime for Lambda (nodejs18.x … nodejs24.x on the host's node).
 *
 * Speaks the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) and behaves like AWS's own runtime
 * (aws-lambda-nodejs-runtime-interface-client): `<file>.<export>` handlers from
 * LAMBDA_TASK_ROOT (.js as CommonJS or ESM per package.json "type", .mjs, .cjs), async and
 * callback handlers with `callbackWaitsForEmptyEventLoop`, the context object, console
 * lines as `<ISO time>\t<requestId>\t<LEVEL>\t<message>`, errors as
 * {errorType, errorMessage, trace}, `Runtime.*` init errors, response streaming
 * (`awslambda.streamifyResponse`).
 *
 * Shipped as is (plain CommonJS starts faster than an ES module). It loads only node
 * built-ins before the handler, and exits when the Runtime API goes away so an orphaned
 * runtime never outlives Stratus.
 *
 * Pre-started mode (STRATUS_PRESTART=1): the process boots, then long-polls
 * GET /stratus/v1/assignment for the function it will serve (its environment variables and
 * task root) and only then loads the handler, so a cold start skips interpreter start-up.
 */
/* global require, process, console, Buffer, setImmediate */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

// Only modules Node has loaded before any script runs: `net` and `stream` are not among
// them and cost ~5 ms of a cold start (see openTcpHandle), so they load when first needed.
const path = require('node:path');
const fs = require('node:fs');
const util = require('node:util');
const url = require('node:url');

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

// ---------------------------------------------------------------------------------------
// Runtime API client: a small HTTP/1.1 client on one persistent connection. Requests are
// pipelined (the next /next goes out in the same write as a response, without waiting for
// its 202: a warm invocation costs one write and, as Stratus answers both together, one
// wake-up), and the socket does not hold the event loop open while nothing is pending, so
// `callbackWaitsForEmptyEventLoop` sees the handler's own work only.

const [API_HOST, API_PORT] = (process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const HEADER_END = Buffer.from('\r\n\r\n');
const NEXT_PATH = `${API_PREFIX}/invocation/next`;

/** The Runtime API is Stratus itself: when it is gone, so is this environment. */
function apiGone(err) {
  process.stderr.write(`Stratus runtime: Runtime API unreachable (${err.message}), exiting\n`);
  process.exit(1);
}

class ApiClient {
  constructor(host, port) {
    this.host = host;
    this.port = Number(port);
    this.socket = null;
    this.waiting = [];
    this.buf = null;
    /** A response whose body is still arriving: {status, headers, length, parts, got}. */
    this.partial = null;
    /** The answer to a /next sent ahead, in the same write as the previous answer. */
    this.prefetched = null;
  }

  connect() {
    const onData = (d) => this.onData(d);
    const onClose = () => {
      this.socket = null;
      if (this.waiting.length > 0) apiGone(new Error('connection closed'));
    };
    const s =
      openTcpHandle(this.host, this.port, onData, onClose) ||
      openNetSocket(this.host, this.port, onData, onClose);
    this.socket = s;
    return s;
  }

  head(method, urlPath, headers, length) {
    let head = `${method} ${urlPath} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Length: ${length}\r\n`;
    if (headers) for (const k in headers) head += `${k}: ${headers[k]}\r\n`;
    return head + '\r\n';
  }

  /**
   * Sends one request; resolves with {status, headers (lower-case), body}, or, with
   * `unanswered`, returns nothing and drops the answer unparsed (an invocation's 202). With
   * `thenNext`, a GET /next follows in the same write, and `next()` returns its answer.
   */
  request(method, urlPath, headers, body, thenNext, unanswered) {
    const s = this.socket || this.connect();
    // One write per request: a string body goes out with its head in one piece.
    const length =
      body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const head = this.head(method, urlPath, headers, length);
    const after = thenNext ? this.head('GET', NEXT_PATH, undefined, 0) : '';
    if (this.waiting.length === 0) s.ref();
    let done;
    if (unanswered) this.waiting.push(UNANSWERED);
    else done = new Promise((resolve) => this.waiting.push(resolve));
    if (thenNext) this.prefetched = new Promise((resolve) => this.waiting.push(resolve));
    if (typeof body === 'string') s.write(head + body + after, 'utf8');
    else if (body !== undefined && body.length > 0)
      s.write(Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from(after, 'latin1')]));
    else s.write(head + after, 'latin1');
    return done;
  }

  /** The next invocation: the /next sent ahead with the last answer, else a new one. */
  next() {
    const ahead = this.prefetched;
    if (ahead !== null) {
      this.prefetched = null;
      return ahead;
    }
    return this.request('GET', NEXT_PATH, undefined, undefined, false);
  }

  /** `chunk`: bytes as read (a buffer of its own, not reused by the reader). */
  onData(chunk) {
    const partial = this.partial;
    if (partial !== null) {
      // A large body arrives in many reads: its pieces are joined once, at the end.
      const take = Math.min(partial.length - partial.got, chunk.length);
      partial.parts.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      partial.got += take;
      if (partial.got < partial.length) return;
      this.partial = null;
      this.settle(partial.status, partial.headers, Buffer.concat(partial.parts, partial.length));
      if (take === chunk.length) return;
      chunk = chunk.subarray(take);
    }
    let buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = null;
    for (;;) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > 0) this.buf = buf;
        return;
      }
      const head = buf.toString('latin1', 0, end);
      const space = head.indexOf(' ');
      const status = Number(head.slice(space + 1, space + 4));
      // An answer nobody waits for (a 202) needs its length only.
      const headers = this.waiting[0] === UNANSWERED ? null : parseFields(head);
      const length = Number(
        (headers === null ? contentLength(head) : headers['content-length']) || 0,
      );
      const bodyStart = end + 4;
      const available = buf.length - bodyStart;
      if (available < length) {
        this.partial = {
          status,
          headers,
          length,
          parts: [buf.subarray(bodyStart)],
          got: available,
        };
        return;
      }
      this.settle(status, headers, buf.subarray(bodyStart, bodyStart + length));
      if (available === length) return;
      buf = buf.subarray(bodyStart + length);
    }
  }

  settle(status, headers, body) {
    const resolve = this.waiting.shift();
    if (this.waiting.length === 0) this.socket.unref();
    if (resolve !== UNANSWERED) resolve({ status, headers, body });
  }
}

/** The waiter of a request whose answer is dropped. */
const UNANSWERED = () => {};

/** The header fields of a response head (after its status line), by lower-case name. */
function parseFields(head) {
  const headers = {};
  let eol = head.indexOf('\r\n');
  while (eol >= 0) {
    const start = eol + 2;
    eol = head.indexOf('\r\n', start);
    const stop = eol < 0 ? head.length : eol;
    const colon = head.indexOf(':', start);
    if (colon > start && colon < stop) {
      headers[head.slice(start, colon).trim().toLowerCase()] = head.slice(colon + 1, stop).trim();
    }
  }
  return headers;
}

function contentLength(head) {
  const at = head.toLowerCase().indexOf('\r\ncontent-length:');
  if (at < 0) return undefined;
  const eol = head.indexOf('\r\n', at + 2);
  return head.slice(at + 17, eol < 0 ? head.length : eol).trim();
}

function openNetSocket(host, port, onData, onClose) {
  const s = require('node:net').connect({ host, port, noDelay: true });
  s.on('data', onData);
  s.on('error', apiGone);
  s.on('close', onClose);
  return s;
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const UV_EOF = -4095; // libuv's UV_EOF, the same on every platform

/** Node majors whose stream handle read protocol openTcpHandle was verified against. */
const VERIFIED_NODE = /^v20\./;

/**
 * The connection on libuv's TCP handle itself, with the part of a net.Socket that
 * ApiClient uses (write, ref, unref); null when the handle cannot be had (then `net`).
 *
 * Why: `net` and the stream modules it loads cost ~5 ms of every cold start on a ~40 ms
 * `node -e 0` (loading them ~2.7 ms, then compiling their functions on the first connect and
 * write), the handle ~1 ms. process.binding() is deprecated (DEP0111) but keeps tcp_wrap and
 * stream_wrap on its allow list in Node 18–24. Under --pending-deprecation it is wrapped to
 * warn (its name is then no longer `binding`), under policies or the permission model it
 * throws: `net` is used in both cases. The handle's read protocol (streamBaseState) is
 * internal, so it is used only on the Node major it was verified on; elsewhere `net`.
 */
function openTcpHandle(host, port, onData, onClose) {
  if (!VERIFIED_NODE.test(process.version)) return null;
  if (process.binding.name !== 'binding' || !IPV4.test(host)) return null;
  let tcpWrap;
  let streamWrap;
  try {
    tcpWrap = process.binding('tcp_wrap');
    streamWrap = process.binding('stream_wrap');
  } catch {
    return null;
  }
  const { TCP, TCPConnectWrap, constants } = tcpWrap;
  const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset } = streamWrap;
  if (
    typeof TCP !== 'function' ||
    typeof TCPConnectWrap !== 'function' ||
    typeof WriteWrap !== 'function' ||
    streamBaseState === undefined ||
    typeof kReadBytesOrError !== 'number' ||
    typeof kArrayBufferOffset !== 'number'
  ) {
    return null;
  }
  const handle = new TCP(constants.SOCKET);
  // Reads land in one buffer of ours (what net's `onread: {buffer}` option does), not in a
  // new 64 KiB allocation and ArrayBuffer per read; each read's bytes are copied out.
  const readBuffer =
    typeof handle.useUserBuffer === 'function' ? Buffer.allocUnsafeSlow(64 * 1024) : null;
  if (readBuffer !== null) handle.useUserBuffer(readBuffer);
  let closed = false;
  const address = `${host}:${port}`;
  /** Ends the runtime with net's wording: `connect ECONNREFUSED 127.0.0.1:9001`. */
  const fail = (syscall, code) => {
    if (closed) return;
    closed = true;
    handle.close();
    apiGone(new Error(`${syscall} ${util.getSystemErrorName(code)} ${address}`));
  };
  handle.onread = (arrayBuffer) => {
    const n = streamBaseState[kReadBytesOrError];
    if (n > 0) {
      if (readBuffer === null) {
        onData(Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], n));
      } else {
        const chunk = Buffer.allocUnsafe(n);
        readBuffer.copy(chunk, 0, 0, n);
        onData(chunk);
      }
    } else if (n === UV_EOF) {
      if (closed) return;
      closed = true;
      handle.close();
      onClose();
    } else if (n < 0) {
      fail('read', n);
    }
  };
  const connectReq = new TCPConnectWrap();
  connectReq.oncomplete = (status) => {
    if (status < 0) return fail('connect', status);
    const err = handle.readStart();
    if (err < 0) fail('read', err);
  };
  const err = handle.connect(connectReq, host, port);
  if (err < 0) fail('connect', err);
  else handle.setNoDelay(true);
  return {
    // libuv queues writes made while the connection is being made.
    write(data, encoding) {
      if (closed) return apiGone(new Error('connection closed'));
      const req = new WriteWrap();
      req.handle = handle;
      req.oncomplete = (status) => {
        if (status < 0) fail('write', status);
      };
      let e;
      if (typeof data !== 'string') {
        req.buffer = data; // kept alive until an asynchronous write completes
        e = handle.writeBuffer(req, data);
      } else if (encoding === 'latin1') {
        e = handle.writeLatin1String(req, data);
      } else {
        e = handle.writeUtf8String(req, data);
      }
      if (e < 0) fail('write', e);
    },
    ref: () => handle.ref(),
    unref: () => handle.unref(),
  };
}

const api = new ApiClient(API_HOST, API_PORT);

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function post(urlPath, body, headers, thenNext) {
  return api.request(
    'POST',
    urlPath,
    headers ? Object.assign({ 'Content-Type': 'application/json' }, headers) : JSON_HEADERS,
    body,
    thenNext,
    // The loop goes on without waiting for the 202.
    thenNext,
  );
}

/**
 * `thenNext`: the invoke loop goes on, so a /next goes out with the answer, and the
 * answer's own reply (202) is not waited for: the call returns nothing.
 */
const client = {
  next: () => api.next(),
  response: (id, json, thenNext) =>
    post(`${API_PREFIX}/invocation/${encodeURIComponent(id)}/response`, json, undefined, thenNext),
  error: (id, errorResponse, thenNext) =>
    post(
      `${API_PREFIX}/invocation/${encodeURIComponent(id)}/error`,
      safeStringify(errorResponse),
      { [ERROR_TYPE_HEADER]: headerSafe(errorResponse.errorType) },
      thenNext,
    ),
  initError: (errorResponse) =>
    post(`${API_PREFIX}/init/error`, safeStringify(errorResponse), {
      [ERROR_TYPE_HEADER]: headerSafe(errorResponse.errorType),
    }),
};

function headerSafe(value) {
  return String(value).replace(/[^\x20-\x7e]/g, '');
}

function safeStringify(value) {
  try {
    return JSON.stringify(value === undefined ? null : value);
  } catch {
    return JSON.stringify({
      errorType: 'Runtime.SerializationError',
      errorMessage: 'Unable to stringify response body',
    });
  }
}

// ---------------------------------------------------------------------------------------
// Errors, shaped as AWS's runtime shapes them

class RuntimeError extends Error {}
function runtimeError(name) {
  const cls = class extends RuntimeError {};
  Object.defineProperty(cls.prototype, 'name', { value: `Runtime.${name}` });
  return cls;
}
const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const UnhandledPromiseRejection = runtimeError('UnhandledPromiseRejection');
const NodeJsExit = runtimeError('NodeJsExit');

function isErrorLike(e) {
  return (
    e !== null &&
    typeof e === 'object' &&
    typeof e.name === 'string' &&
    typeof e.message === 'string' &&
    typeof e.stack === 'string'
  );
}

/** The body posted to …/error: {errorType, errorMessage, trace}. */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: String(error.stack).split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

/** The log form: a tab, then JSON with errorType/errorMessage/stack and own properties. */
function toFormatted(error) {
  const replacer = (_k, v) => {
    if (!(v instanceof Error)) return v;
    const out = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
    if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(error, replacer);
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------------------
// Console: AWS's line format, one CloudWatch event per call (newlines become \r, which
// Stratus turns back into newlines inside the event).

let currentRequestId;
const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };

function patchConsole() {
  const json = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
  const min = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || LEVELS.TRACE;
  const write = json
    ? (level, args) => {
        const entry = {
          timestamp: new Date().toISOString(),
          level,
          requestId: currentRequestId,
          message: args.length === 1 ? args[0] : util.format(...args),
        };
        let line;
        try {
          line = JSON.stringify(entry, (_k, v) =>
            v instanceof Error
              ? Object.assign(
                  {
                    errorType: v.name,
                    errorMessage: v.message,
                    stackTrace: String(v.stack).split('\n'),
                  },
                  v,
                )
              : v,
          );
        } catch {
          entry.message = util.format(...args);
          line = JSON.stringify(entry);
        }
        process.stdout.write(line.replace(/\n/g, '\r') + '\n');
      }
    : (level, args) => {
        const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
        process.stdout.write(line.replace(/\n/g, '\r') + '\n');
      };
  const nop = () => {};
  for (const [name, level] of [
    ['trace', 'TRACE'],
    ['debug', 'DEBUG'],
    ['info', 'INFO'],
    ['warn', 'WARN'],
    ['error', 'ERROR'],
    ['fatal', 'FATAL'],
  ]) {
    console[name] = LEVELS[level] >= min ? (...args) => write(level, args) : nop;
  }
  console.log = console.info;
}

function logError(prefix, err) {
  if ((process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON') {
    console.error(intoError(err));
  } else {
    console.error(prefix, toFormatted(intoError(err)));
  }
}

// ---------------------------------------------------------------------------------------
// Loading the handler (the same resolution order as AWS's runtime)

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

function hasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasTypeModule(path.resolve(folder, '..'));
}

function tryRequire(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImport(file) {
  return fs.existsSync(file) ? import(url.pathToFileURL(file).href) : undefined;
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const typeModule = hasTypeModule(path.dirname(base));
  if (!typeModule) {
    const cjs = tryRequire(base + '.js');
    if (cjs) return cjs;
  }
  const loaded =
    (typeModule && (await tryImport(base + '.js'))) ||
    (await tryImport(base + '.mjs')) ||
    tryRequire(base + '.cjs');
  if (loaded) return loaded;
  // A package name or a path node can resolve from the task root.
  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(FUNCTION_EXPR);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = match;

  installAwsLambdaGlobal();
  let app;
  try {
    app = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(e);
    }
    throw e;
  }
  const fn = handlerPath.split('.').reduce((o, k) => o && o[k], app);
  if (!fn) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return fn;
}

// ---------------------------------------------------------------------------------------
// Response streaming (awslambda.streamifyResponse)

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

function installAwsLambdaGlobal() {
  if (process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA) return;
  globalThis.awslambda = {
    streamifyResponse: (handler) => {
      handler[HANDLER_STREAMING] = 'response';
      return handler;
    },
    HttpResponseStream: {
      /** Writes the HTTP prelude (status, headers) and the 8-NUL delimiter. */
      from(stream, prelude) {
        stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
        stream.write(JSON.stringify(prelude));
        stream.write(Buffer.alloc(8));
        return stream;
      },
    },
  };
}

function createResponseStream(id) {
  const http = require('node:http');
  const req = http.request({
    host: API_HOST,
    port: API_PORT,
    method: 'POST',
    path: `${API_PREFIX}/invocation/${encodeURIComponent(id)}/response`,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      'Transfer-Encoding': 'chunked',
      Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      'Content-Type': 'application/octet-stream',
    },
  });
  const done = new Promise((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', apiGone);
  });
  const { Writable } = require('node:stream');
  const stream = new Writable({
    write(chunk, encoding, cb) {
      req.write(chunk, encoding, cb);
    },
    final(cb) {
      req.end(cb);
    },
  });
  stream.setContentType = (type) => {
    if (!req.headersSent) req.setHeader('Content-Type', type);
  };
  stream.failWith = (err) => {
    const body = toRapidResponse(err);
    req.addTrailers({
      'Lambda-Runtime-Function-Error-Type': headerSafe(body.errorType),
      'Lambda-Runtime-Function-Error-Body': Buffer.from(safeStringify(body)).toString('base64'),
    });
    req.end();
  };
  return { stream, done };
}

// ---------------------------------------------------------------------------------------
// The invoke loop

let beforeExitAction;
process.on('beforeExit', () => {
  const action = beforeExitAction;
  beforeExitAction = undefined;
  if (action) action();
});

let initialized = false;
/** The invocation being handled and not answered yet. */
let activeId = null;

/**
 * An uncaught exception or unhandled rejection ends the runtime (exit 129 / 128), as on
 * AWS; first it is reported: as the init error, or as the running invocation's error.
 */
function fatal(error, exitCode) {
  const exit = () => process.exit(exitCode);
  if (!initialized) return void client.initError(toRapidResponse(error)).then(exit);
  const id = activeId;
  activeId = null;
  if (id === null) return exit();
  client.error(id, toRapidResponse(error)).then(exit);
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

/**
 * The function's facts in the context (AWS's runtime reads them from the environment on
 * every invocation; they are read once here: five getenv calls cost the loop ~1.5 µs).
 */
let functionFacts = null;

function factsOf() {
  if (functionFacts === null) {
    const env = process.env;
    functionFacts = {
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    };
  }
  return functionFacts;
}

/** A streaming handler's context: the facts and the invocation's headers. */
function buildContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const facts = factsOf();
  return {
    functionVersion: facts.functionVersion,
    functionName: facts.functionName,
    memoryLimitInMB: facts.memoryLimitInMB,
    logGroupName: facts.logGroupName,
    logStreamName: facts.logStreamName,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

/**
 * The context (AWS's fields in AWS's order: the callback part, the facts, the headers'),
 * and callback(err, result); callback, context.done/succeed/fail: only the first call counts.
 */
function buildCallbackContext(id, headers, scheduleNext) {
  let waitForEmptyEventLoop = true;
  let completed = false;
  let finished = false;
  const postError = (err) => {
    logError('Invoke Error', err);
    activeId = null;
    // Pipelined: the next /next goes out with the error, without waiting for its 202.
    client.error(id, toRapidResponse(err), true);
    scheduleNext();
  };
  const complete = (result) => {
    if (completed) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    completed = true;
    activeId = null;
    client.response(id, safeStringify(result), true);
    scheduleNext();
  };
  const once =
    (fn) =>
    (...args) => {
      if (finished) return;
      finished = true;
      fn(...args);
    };
  const callback = once((err, result) => {
    beforeExitAction = undefined;
    if (err !== undefined && err !== null) postError(err);
    else if (!waitForEmptyEventLoop) complete(result);
    else beforeExitAction = () => setImmediate(() => complete(result));
  });
  const done = (err, result) => {
    beforeExitAction = undefined;
    if (err !== undefined && err !== null) postError(err);
    else complete(result);
  };
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const facts = factsOf();
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: once((result) => done(null, result)),
    fail: once((err) => done(err === undefined || err === null ? 'handled' : err, null)),
    done: once(done),
    functionVersion: facts.functionVersion,
    functionName: facts.functionName,
    memoryLimitInMB: facts.memoryLimitInMB,
    logGroupName: facts.logGroupName,
    logStreamName: facts.logStreamName,
    // Set from their headers with the event (handleOnce).
    clientContext: undefined,
    identity: undefined,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: id,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  return { callback, context, markCompleted: () => (completed = true) };
}

function isPromise(v) {
  return v !== null && typeof v === 'object' && typeof v.then === 'function';
}

function isAsyncFunction(fn) {
  return fn.constructor && fn.constructor.name === 'AsyncFunction';
}

function traceEnv(headers) {
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
}

async function handleOnce(handler, streaming, isAsync) {
  const { status, headers, body } = await client.next();
  if (status !== 200) {
    // "Container error. Non-recoverable state. Runtime should exit promptly."
    process.stderr.write(`Stratus runtime: /next answered ${status}: ${body}\n`);
    process.exit(1);
  }
  const id = headers['lambda-runtime-aws-request-id'];
  currentRequestId = id;
  activeId = id;
  traceEnv(headers);
  const scheduleNext = () => scheduleIteration(handler, streaming, isAsync);

  if (streaming) {
    const { stream, done } = createResponseStream(id);
    beforeExitAction = scheduleNext;
    try {
      const event = JSON.parse(body.toString('utf8'));
      const ctx = buildContext(headers);
      const result = handler(event, stream, ctx);
      if (!isPromise(result)) throw new Error('Streaming does not support non-async handlers.');
      await result;
      if (!stream.writableFinished) await new Promise((r) => stream.end(r));
      await done;
    } catch (err) {
      logError('Invoke Error', err);
      stream.failWith(intoError(err));
      await done;
    }
    activeId = null;
    beforeExitAction = undefined;
    scheduleNext();
    return;
  }

  const { callback, context, markCompleted } = buildCallbackContext(id, headers, scheduleNext);
  beforeExitAction = () => {
    markCompleted();
    activeId = null;
    if (isAsync) {
      const err = new NodeJsExit(
        'The Lambda runtime is exiting because the event loop is empty and the async handler has not resolved. Ensure the handler is awaiting promises.',
      );
      logError('Invoke Error', err);
      client.error(id, toRapidResponse(err), true);
    } else {
      client.response(id, 'null', true);
    }
    scheduleNext();
  };
  try {
    const event = JSON.parse(body.toString('utf8'));
    // Not JSON: the invocation fails, after an event that is not JSON (as on AWS).
    const clientContext = headers['lambda-runtime-client-context'];
    if (clientContext !== undefined) {
      context.clientContext = parseJsonHeader(clientContext, 'ClientContext');
    }
    const identity = headers['lambda-runtime-cognito-identity'];
    if (identity !== undefined) context.identity = parseJsonHeader(identity, 'CognitoIdentity');
    const result = handler(event, context, callback);
    if (isPromise(result)) result.then(context.succeed, context.fail).catch(context.fail);
  } catch (err) {
    callback(err);
  }
}

/**
 * The next turn of the loop. No setImmediate first (AWS's runtime has one): handleOnce
 * starts by awaiting the next event, which only ever arrives through the event loop, so the
 * loop turns before the next invocation anyway.
 */
function scheduleIteration(handler, streaming, isAsync) {
  handleOnce(handler, streaming, isAsync).catch((err) => {
    console.log(`Unexpected Top Level Error: ${err.toString()}`);
    fatal(err, 129);
  });
}

// ---------------------------------------------------------------------------------------
// Start-up

/** Pre-started mode: wait for the function this process will serve. */
async function awaitAssignment() {
  const res = await api.request('GET', '/stratus/v1/assignment', undefined, undefined);
  const assignment = JSON.parse(res.body.toString('utf8'));
  for (const key of Object.keys(process.env)) {
    if (!(key in assignment.env)) delete process.env[key];
  }
  Object.assign(process.env, assignment.env);
  process.chdir(assignment.cwd);
  // NODE_PATH is read once at start-up; re-read it for the function's layers.
  require('node:module').Module._initPaths();
}

async function main() {
  process.on('uncaughtException', (error) => {
    logError('Uncaught Exception', error);
    fatal(error, 129);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(String(reason));
    error.reason = reason;
    error.promise = promise;
    logError('Unhandled Promise Rejection', error);
    fatal(error, 128);
  });

  if (process.env.STRATUS_PRESTART === '1') await awaitAssignment();
  patchConsole();

  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handler = await loadHandler(appRoot, process.env._HANDLER || '');
  initialized = true;
  scheduleIteration(handler, handler[HANDLER_STREAMING] === 'response', isAsyncFunction(handler));
}

main().catch((err) => {
  logError('Uncaught Exception', err);
  fatal(err, 129);
});
