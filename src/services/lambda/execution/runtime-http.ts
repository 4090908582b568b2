/**
 * The HTTP/1.1 server under the Runtime API (runtime-api.ts): a small one of its own rather
 * than node:http, because the Runtime API is a hot loop of tiny messages on one keep-alive
 * connection per environment. Owning the connection lets answers to pipelined requests
 * leave together (a 202 and the next event in one write, where node:http writes each
 * response of a pipelined connection on its own, a wake-up of the runtime each), and skips
 * node:http's per-request streams.
 *
 * What it speaks (RFC 9112): a request line and header fields (CRLF line ends, at most
 * 16 KiB, as node:http), bodies framed by Content-Length or `Transfer-Encoding: chunked`
 * (trailer fields kept), `Expect: 100-continue`, pipelining (answers in request order),
 * keep-alive, `Connection: close` and HTTP/1.0. A malformed request is answered 400 (431
 * for oversized header fields) and the connection closed, as node:http does.
 */
import { STATUS_CODES } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { hasToken, INVALID_VALUE, MAX_HEAD_BYTES, TOKEN } from '../../../shared/http1-syntax.js';

export { MAX_HEAD_BYTES };
/** Bodies up to this size go out as one latin1 string with their head: one chunk, one write. */
const SINGLE_WRITE_MAX = 64 * 1024;
const MAX_CHUNK_LINE = 1024;

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,15}$/;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export interface HttpRequest {
  readonly method: string;
  /** The request target as sent. */
  readonly url: string;
  /** Lower-case names; repeated fields joined with ', '. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** A chunked body's trailer fields (lower-case names), complete when `body.end` runs. */
  readonly trailers: Readonly<Record<string, string | undefined>>;
  /** Receives the body. Set it in the request handler (synchronously), or the body is dropped. */
  body: BodyReader | null;
}

export interface BodyReader {
  /** A piece of the body as it arrives (not reused afterwards). */
  data(chunk: Buffer): void;
  end(): void;
}

export type RequestHandler = (req: HttpRequest, res: HttpResponse) => void;
/** A handler (or body reader) threw: a bug of ours, reported with its stack. */
export type ErrorHandler = (err: unknown) => void;

type Fields = Record<string, string | undefined>;

interface ParsedRequest extends HttpRequest {
  trailers: Fields;
}

/** One answer. Answers on a connection leave in request order; ready ones leave together. */
export class HttpResponse {
  /** (Connection) The bytes to write once every earlier answer on the connection is out. */
  out: string | Buffer[] | null = null;
  /** (Connection) `Expect: 100-continue` not answered yet: it waits for earlier answers too. */
  continuePending = false;

  constructor(
    private readonly conn: Connection,
    readonly keepAlive: boolean,
    private readonly noBody: boolean,
    /** An HTTP/1.0 request that asked for keep-alive: the answer says it is granted. */
    private readonly http10KeepAlive = false,
  ) {}

  /** The connection is gone (closed, reset, or the server stopped). */
  get destroyed(): boolean {
    return this.conn.closed;
  }

  /** The connection the request came on (answers to pipelined requests share it). */
  get connection(): object {
    return this.conn;
  }

  /**
   * Answers. `headers` are name/value pairs (Content-Length is added); a string body is
   * written as latin1, one byte per char. Values with CR, LF or other control characters
   * are refused with node:http's error.
   */
  send(status: number, headers: readonly string[], body: Buffer | string): void {
    this.sendWith(statusLine(status), headers, body);
  }

  /** `send` with a status line and fields formatted (and checked) once: answers sent often. */
  sendWith(head: FixedHead, headers: readonly string[], body: Buffer | string): void {
    if (this.out !== null) throw new Error('already answered');
    let text = head.text;
    for (let i = 0; i < headers.length; i += 2) {
      const value = headers[i + 1];
      if (INVALID_VALUE.test(value)) throw invalidChar(headers[i]);
      text += `${headers[i]}: ${value}\r\n`;
    }
    text += `Content-Length: ${body.length}\r\n`;
    if (!this.keepAlive) text += 'Connection: close\r\n';
    else if (this.http10KeepAlive) text += 'Connection: keep-alive\r\n';
    text += '\r\n';
    if (this.noBody || body.length === 0) this.out = text;
    else if (typeof body === 'string') this.out = text + body;
    else if (body.length <= SINGLE_WRITE_MAX) this.out = text + body.toString('latin1');
    else this.out = [Buffer.from(text, 'latin1'), body];
    this.conn.ready(this);
  }
}

/** A status line and header fields, formatted and checked once (HttpResponse.sendWith). */
export class FixedHead {
  readonly text: string;

  constructor(status: number, headers: readonly string[] = []) {
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      if (INVALID_VALUE.test(headers[i + 1])) throw invalidChar(headers[i]);
      text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    this.text = text;
  }
}

/** Status lines by status: send() formats its fields per answer. */
const statusLines = new Map<number, FixedHead>();

function statusLine(status: number): FixedHead {
  let head = statusLines.get(status);
  if (head === undefined) {
    head = new FixedHead(status);
    statusLines.set(status, head);
  }
  return head;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  /** No more requests are read (Connection: close, an error, or the socket is gone). */
  Done,
}

class Connection {
  closed = false;
  private state = State.Head;
  /** Unparsed bytes ('data' buffers are not reused, so views of them are kept as they are). */
  private rest: Buffer | null = null;
  /** The request whose body is being read. */
  private req: ParsedRequest | null = null;
  private remaining = 0;
  /** The request being read did not ask for keep-alive: nothing after it is read. */
  private last = false;
  /** Answers not written yet, in request order. */
  private readonly queue: HttpResponse[] = [];
  private flushQueued = false;

  constructor(
    readonly socket: Socket,
    private readonly handler: RequestHandler,
    private readonly onError: ErrorHandler,
  ) {
    socket.on('data', this.onChunk);
    socket.on('error', () => socket.destroy());
    // The peer closed its side: like node:http (without httpAllowHalfOpen), answers still
    // waiting are dropped and the socket ends.
    socket.on('end', this.onGone);
    socket.on('close', this.onGone);
  }

  private readonly onGone = (): void => {
    this.closed = true;
    this.state = State.Done;
  };

  /** An answer is ready: it leaves with the others ready in the same turn. */
  ready(res: HttpResponse): void {
    if (this.queue[0] !== res || this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.closed) return;
    const queue = this.queue;
    let text = '';
    let buffers: Buffer[] | null = null;
    let end = false;
    while (queue.length > 0 && queue[0].out !== null) {
      const res = queue.shift() as HttpResponse;
      const out = res.out as string | Buffer[];
      if (typeof out === 'string' && buffers === null) {
        text += out;
      } else {
        buffers ??= text.length > 0 ? [Buffer.from(text, 'latin1')] : [];
        if (typeof out === 'string') buffers.push(Buffer.from(out, 'latin1'));
        else buffers.push(...out);
      }
      if (!res.keepAlive) {
        end = true;
        break;
      }
    }
    const socket = this.socket;
    if (buffers === null) {
      if (text.length > 0) socket.write(text, 'latin1');
    } else {
      socket.cork();
      for (const b of buffers) socket.write(b);
      socket.uncork();
    }
    if (end) {
      this.closed = true;
      socket.end();
    } else if (queue.length > 0 && queue[0].continuePending) {
      queue[0].continuePending = false;
      socket.write(CONTINUE, 'latin1');
    }
  };

  /**
   * An exception thrown by a handler or body reader must not escape a socket callback (it
   * would end the whole server): it is reported, and this connection answered 500 and
   * closed, as the Runtime API answers what it cannot handle.
   */
  private readonly onChunk = (chunk: Buffer): void => {
    try {
      this.onData(chunk);
    } catch (err) {
      this.onError(err);
      if (!this.closed) this.fail(500);
    }
  };

  private onData(chunk: Buffer): void {
    const buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case State.Head: {
          // Empty lines before a request line are ignored (RFC 9112 §2.2).
          while (pos < buf.length && (buf[pos] === 13 || buf[pos] === 10)) pos++;
          if (pos === buf.length) return;
          const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
          if (end < 0 || end - pos > MAX_HEAD_BYTES) {
            if (buf.length - pos > MAX_HEAD_BYTES) return void this.fail(431);
            this.rest = buf.subarray(pos);
            return;
          }
          const head = buf.toString('latin1', pos, end);
          pos = end + 4;
          if (!this.begin(head)) return;
          break;
        }
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - pos);
          const piece = n === buf.length && pos === 0 ? buf : buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          this.req?.body?.data(piece);
          if (this.remaining === 0) {
            if (this.state === State.Length) this.endBody();
            else this.state = State.ChunkEnd;
          }
          break;
        }
        case State.ChunkSize: {
          const eol = buf.indexOf('\r\n', pos, 'latin1');
          if (eol < 0) {
            if (buf.length - pos > MAX_CHUNK_LINE) return void this.fail(400);
            this.rest = buf.subarray(pos);
            return;
          }
          const line = buf.toString('latin1', pos, eol);
          const semi = line.indexOf(';');
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          if (!CHUNK_SIZE.test(hex)) return void this.fail(400);
          pos = eol + 2;
          const size = parseInt(hex, 16);
          if (size === 0) {
            this.state = State.Trailers;
          } else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkEnd: {
          if (buf.length - pos < 2) {
            this.rest = buf.subarray(pos);
            return;
          }
          if (buf[pos] !== 13 || buf[pos + 1] !== 10) return void this.fail(400);
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          if (buf.length - pos >= 2 && buf[pos] === 13 && buf[pos + 1] === 10) {
            pos += 2;
            this.endBody();
            break;
          }
          const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
          if (end < 0 || end - pos > MAX_HEAD_BYTES) {
            if (buf.length - pos > MAX_HEAD_BYTES) return void this.fail(431);
            this.rest = buf.subarray(pos);
            return;
          }
          const req = this.req as ParsedRequest;
          const lines = buf.toString('latin1', pos, end).split('\r\n');
          if (!parseFields(lines, 0, req.trailers)) return void this.fail(400);
          pos = end + 4;
          this.endBody();
          break;
        }
        case State.Done:
          return;
      }
    }
  }

  /** A request head: hands the request over; false when the connection failed. */
  private begin(head: string): boolean {
    const lines = head.split('\r\n');
    const m = REQUEST_LINE.exec(lines[0]);
    const headers: Fields = Object.create(null) as Fields;
    if (m === null || !parseFields(lines, 1, headers)) return this.fail(400);
    const http10 = m[3] === '0';
    const connection = headers.connection?.toLowerCase();
    const keepAlive =
      connection === undefined
        ? !http10
        : http10
          ? hasToken(connection, 'keep-alive')
          : !hasToken(connection, 'close');

    // Body framing (RFC 9112 §6.3): chunked last, else Content-Length, else none.
    let chunked = false;
    let length = 0;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined) {
      const codings = te.toLowerCase().split(',');
      if (cl !== undefined || http10 || codings[codings.length - 1].trim() !== 'chunked') {
        return this.fail(400);
      }
      chunked = true;
    } else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) return this.fail(400);
      length = Number(cl);
    }

    const req: ParsedRequest = {
      method: m[1],
      url: m[2],
      headers,
      trailers: Object.create(null) as Fields,
      body: null,
    };
    const res = new HttpResponse(this, keepAlive, req.method === 'HEAD', http10 && keepAlive);
    this.queue.push(res);
    if ((chunked || length > 0) && !http10 && headers.expect?.toLowerCase() === '100-continue') {
      if (this.queue.length === 1) this.socket.write(CONTINUE, 'latin1');
      else res.continuePending = true;
    }
    this.req = req;
    this.last = !keepAlive;
    if (chunked) this.state = State.ChunkSize;
    else if (length > 0) {
      this.state = State.Length;
      this.remaining = length;
    }
    this.handler(req, res);
    if (!chunked && length === 0) this.endBody();
    return true;
  }

  private endBody(): void {
    const req = this.req as ParsedRequest;
    this.req = null;
    // After Connection: close nothing more is read.
    this.state = this.last ? State.Done : State.Head;
    req.body?.end();
  }

  /** A malformed request: answered at once, and the connection closed (as node:http). */
  private fail(status: number): false {
    this.state = State.Done;
    this.rest = null;
    this.closed = true;
    const reason = STATUS_CODES[status] ?? 'Bad Request';
    this.socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    return false;
  }
}

/** Header (or trailer) field lines from `from` on into `into`; false when malformed. */
function parseFields(lines: string[], from: number, into: Fields): boolean {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return false;
    const name = line.slice(0, colon);
    // No whitespace before the colon, no obsolete line folding (RFC 9112 §5.1, §5.2).
    if (!TOKEN.test(name)) return false;
    const value = line.slice(colon + 1).trim();
    if (INVALID_VALUE.test(value)) return false;
    const key = name.toLowerCase();
    const seen = into[key];
    if (seen === undefined) into[key] = value;
    else if (key === 'content-length') {
      if (seen !== value) return false;
    } else into[key] = `${seen}, ${value}`;
  }
  return true;
}

function invalidChar(name: string): TypeError {
  const err = new TypeError(`Invalid character in header content ["${name}"]`);
  return Object.assign(err, { code: 'ERR_INVALID_CHAR' });
}

/**
 * A listener on 127.0.0.1 (or the address given) and an ephemeral port. With `peer` set (container environments),
 * only connections from that address are served: the container's own address, which the
 * gateway's DNAT keeps as the source; a host process connects from 127.0.0.1 and another
 * container from its own address, and both are cut at once. Until the address is known
 * (`peer` null) nothing is served.
 */
export class RuntimeHttpServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** Connections that arrived before the peer was known (`peer` null): judged by allowPeer. */
  private held: Socket[] = [];
  /** undefined: any local peer (process driver); null: nobody yet; else that address only. */
  private peer: string | null | undefined = undefined;

  constructor(
    private readonly handler: RequestHandler,
    private readonly onError: ErrorHandler,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => {
      if (this.peer === null) {
        // A Docker container's address is known only once it runs, and its runtime may
        // connect first: held until allowPeer says whether it is the one.
        this.held.push(socket);
        socket.once('close', () => (this.held = this.held.filter((s) => s !== socket)));
        return;
      }
      this.accept(socket);
    });
  }

  /** Serves nobody until allowPeer (connections meanwhile are held, not served). */
  restrict(): void {
    this.peer = null;
  }

  /** Serves `ip` only, from now on and among the held connections. */
  allowPeer(ip: string): void {
    this.peer = ip;
    const held = this.held;
    this.held = [];
    for (const socket of held) this.accept(socket);
  }

  private accept(socket: Socket): void {
    if (this.peer !== undefined && !samePeer(socket.remoteAddress, this.peer)) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this.handler, this.onError);
    this.connections.add(conn);
    socket.on('close', () => this.connections.delete(conn));
  }

  /** Listens on an ephemeral port of `host`; resolves with the port. */
  listen(host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  }

  /** Stops listening and closes every connection. */
  close(): void {
    this.server.close();
    for (const socket of this.held.splice(0)) socket.destroy();
    for (const conn of this.connections) {
      conn.closed = true;
      conn.socket.destroy();
    }
    this.connections.clear();
  }
}

function samePeer(remote: string | undefined, allowed: string | null): boolean {
  if (remote === undefined || allowed === null) return false;
  return remote === allowed || remote === `::ffff:${allowed}`;
}
