/**
 * Server logs: a short line for people (coloured on a terminal), or one JSON object per line
 * for collectors (`--log-format json`; also the default when stderr is not a terminal).
 *
 * The access log is one line per request at `info`:
 *   pretty  `lambda.CreateFunction 400 InvalidParameterValueException 3 ms`
 *           `registry PUT /v2/team/app/manifests/v1 201 12 ms`
 *   json    {"time":…,"level":"info","msg":"lambda.CreateFunction 400 …","service":"lambda",
 *            "operation":"CreateFunction","status":400,"error":"…","ms":3.1,"requestId":"…"}
 * Lines are written in bulk (at most 20 ms late), not one write(2) per request, and are
 * built as strings directly (no field objects), so logging costs the warm path little.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** `auto`: pretty on a terminal, JSON lines otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOUR: Record<LogLevel, string> = {
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};
const GREY = '\x1b[90m';
const RESET = '\x1b[0m';

export interface Logger {
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** An API call: `lambda.CreateFunction 400 InvalidParameterValueException 3 ms`. */
  apiAccess(
    service: string,
    operation: string,
    status: number,
    errorCode: string | undefined,
    ms: number,
    requestId: string,
  ): void;
  /**
   * A data-plane request: `registry PUT /v2/team/app/manifests/v1 201 12 ms`. Status 0: the
   * connection closed before the answer was complete.
   */
  planeAccess(plane: string, method: string, url: string, status: number, ms: number): void;
}

export function createLogger(
  level: LogLevel,
  format: LogFormat = 'auto',
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Logger {
  const min = ORDER[level];
  const enabled = (l: LogLevel) => ORDER[l] >= min;
  const pretty = format === 'pretty' || (format === 'auto' && Boolean(out.isTTY));
  const colour = pretty && Boolean(out.isTTY);
  const write = bufferedWriter(out);

  /** `jsonFields`: `,"k":v…` already encoded, appended to the JSON object. */
  const emit = (l: LogLevel, msg: string, prettyExtra: string, jsonFields: string) => {
    const time = isoNow();
    if (!pretty) {
      write(`{"time":"${time}","level":"${l}","msg":${quote(msg)}${jsonFields}}\n`, l === 'error');
    } else if (colour) {
      write(
        `${GREY}${time.slice(11, 23)}${RESET} ${COLOUR[l]}${l.padEnd(5)}${RESET} ${msg}${prettyExtra}\n`,
        l === 'error',
      );
    } else {
      write(`${time.slice(11, 23)} ${l.padEnd(5)} ${msg}${prettyExtra}\n`, l === 'error');
    }
  };

  const log = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (!enabled(l)) return;
    if (!fields) return emit(l, msg, '', '');
    let prettyExtra = '';
    let jsonFields = '';
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      if (pretty) prettyExtra += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
      else jsonFields += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
    }
    emit(l, msg, prettyExtra, jsonFields);
  };

  return {
    enabled,
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    apiAccess(service, operation, status, errorCode, ms, requestId) {
      const l: LogLevel = status >= 500 ? 'warn' : 'info';
      if (!enabled(l)) return;
      const rounded = roundMs(ms);
      const msg = `${service}.${operation} ${status}${errorCode ? ' ' + errorCode : ''} ${rounded} ms`;
      emit(
        l,
        msg,
        '',
        pretty
          ? ''
          : `,"service":${quote(service)},"operation":${quote(operation)}` +
              `,"status":${status}${errorCode ? `,"error":${quote(errorCode)}` : ''}` +
              `,"ms":${rounded},"requestId":"${requestId}"`,
      );
    },
    planeAccess(plane, method, url, status, ms) {
      const l: LogLevel = status >= 500 ? 'warn' : 'info';
      if (!enabled(l)) return;
      const rounded = roundMs(ms);
      const path = summarisePath(url);
      const shown = status === 0 ? 'closed' : String(status);
      emit(
        l,
        `${plane} ${method} ${path} ${shown} ${rounded} ms`,
        '',
        pretty
          ? ''
          : `,"plane":${quote(plane)},"method":${quote(method)}` +
              `,"path":${quote(path)},"status":${status},"ms":${rounded}`,
      );
    },
  };
}

let secondStart = 0;
let secondText = '';

/** `new Date().toISOString()`, with the date and time up to the second built once a second. */
function isoNow(): string {
  const now = Date.now();
  if (now - secondStart >= 1000 || now < secondStart) {
    secondStart = now - (now % 1000);
    secondText = new Date(secondStart).toISOString().slice(0, 20);
  }
  const ms = now - secondStart;
  return `${secondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** A JSON string literal; names and codes (the usual case) need no escaping. */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}
const PLAIN = /^[\w .:/@+=,-]*$/;

/** Whole milliseconds from 10 ms up, one decimal below (a warm call takes well under 1 ms). */
function roundMs(ms: number): number {
  return ms >= 10 ? Math.round(ms) : Math.round(ms * 10) / 10;
}

const DIGEST = /(sha256:[0-9a-f]{12})[0-9a-f]{52}/g;
const UUID = /([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TOKEN = /([A-Za-z0-9_-]{12})[A-Za-z0-9_-]{28,}/g;
const MAX_PATH = 120;

/**
 * The path for people: no query string (it may carry signatures), digests, upload ids and
 * download tokens shortened to their first characters, and at most 120 characters.
 */
export function summarisePath(url: string): string {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  path = path.replace(DIGEST, '$1…').replace(UUID, '$1…').replace(TOKEN, '$1…');
  return path.length > MAX_PATH ? path.slice(0, MAX_PATH - 1) + '…' : path;
}

/**
 * Collects what is logged for up to FLUSH_MS and writes it at once: one write(2) however
 * many requests finished meanwhile. `now` flushes at once (errors: they may precede an exit).
 * One writer per stream, shared by every logger on it, so lines keep their order.
 */
function bufferedWriter(out: NodeJS.WritableStream): Writer {
  const known = writers.get(out);
  if (known) return known;
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  const created: Writer = Object.assign(
    (text: string, now: boolean) => {
      pending += text;
      if (now) return flush();
      if (pending.length > FLUSH_BYTES) return flush();
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, FLUSH_MS).unref();
      }
    },
    { flush },
  );
  writers.set(out, created);
  if (writers.size === 1) process.once('exit', () => writers.forEach((w) => w.flush()));
  return created;
}

interface Writer {
  (text: string, now: boolean): void;
  flush(): void;
}

const writers = new Map<NodeJS.WritableStream, Writer>();
/** Lines wait at most this long: a person does not see it, a busy server writes in bulk. */
const FLUSH_MS = 20;
const FLUSH_BYTES = 64 * 1024;
