/**
 * A listener's fast path: a relay of plain HTTP/1.1 requests on the raw sockets (for HTTPS,
 * the TLS sockets), in front of the full path (Node's HTTP server and proxy.ts). A request forwarded to an
 * instance or ip target goes out as its head was read, with the load balancer's fields
 * added, on a kept-alive target connection, and the target's answer comes back as it
 * arrives with only its hop-by-hop fields changed: no request, response or header objects
 * are made, and a head repeated byte for byte is not parsed again. That took the load
 * balancer from ~57 to ~17 µs of CPU per proxied request
 * (bench/README.md, "Load balancer benchmark").
 *
 * Anything else is handed, connection and all, to Node's HTTP server at the request it
 * starts with: HTTP/1.0, chunked or large request bodies, Expect, Upgrade (WebSockets),
 * malformed requests (Node answers 400), and actions other than a forward (fixed-response,
 * redirect, Lambda, no target: 503). The connection stays on the full path from then on.
 */
import { connect, type Socket } from 'node:net';
import { HEAD_END, MAX_HEAD_BYTES } from '../../../shared/http1-syntax.js';
import {
  ChunkedEnd,
  clientResponseHead,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from './http1.js';
import { errorAnswer } from './proxy.js';
import { CLIENT_IDLE_MS, REQUEST_MS, TARGET_IDLE_MS } from './timeouts.js';

/** Where one request goes, made by HttpProxy.plan. */
export interface ForwardPlan {
  /** The target's pool key (proxy.ts originOf). */
  origin: string;
  host: string;
  port: number;
  /** The request head for the target, blank line included. */
  head: string;
  /** No body: may be sent again on a fresh connection when a kept-alive one was stale. */
  retryable: boolean;
  /** No answer's head within this is a 504; a body silent this long is cut. */
  idleMs: number;
  /** Stickiness cookies to add to the answer. */
  cookies?: string[];
  /** Ends the request's count in flight at its target (exactly once). */
  done(): void;
}

/** The client a request came from. */
export interface Client {
  readonly address: string;
  readonly port: number | undefined;
}

export interface RelayDeps {
  /** The forward a request takes on `listenerArn`, or undefined for the full path. */
  plan(listenerArn: string, req: RequestHead, client: Client): ForwardPlan | undefined;
  /** Hands a connection to Node's HTTP server, with the bytes read and not yet handled. */
  fallback(listenerArn: string, socket: Socket, pending: Buffer | null): void;
  /**
   * A bug of ours thrown in a socket callback: reported, and the connections it concerns
   * closed, rather than let it end the server.
   */
  failed(err: unknown): void;
}

/** Request bodies up to this size are read whole and forwarded with their head. */
const MAX_BODY = 64 * 1024;
/** Answer bytes up to this size leave with the head as one latin1 string (one write). */
const ONE_WRITE = 16 * 1024;
/**
 * Timeouts are counted in ticks of the sweep (a second each) rather than per-socket timers,
 * which node re-arms on every read and write.
 */
const TICK_MS = 1000;
const CLIENT_IDLE_TICKS = CLIENT_IDLE_MS / TICK_MS;
const REQUEST_TICKS = REQUEST_MS / TICK_MS;
const TARGET_IDLE_TICKS = TARGET_IDLE_MS / TICK_MS;

/** `buf[0..end)` is the head `last` holds, byte for byte (one native compare, no string made). */
const repeats = (last: Buffer | null, buf: Buffer, end: number): boolean =>
  last !== null && last.length === end && buf.compare(last, 0, end, 0, end) === 0;

/** Target reads land here and are copied out before the callback returns (net's `onread`). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class Relay {
  private readonly idle = new Map<string, TargetConnection[]>();
  /** Origins some load balancer routes to; null until the first snapshot. */
  private routed: ReadonlySet<string> | null = null;
  /** Client connections on the fast path, for the timeouts. */
  readonly clients = new Set<ClientConnection>();
  /** Seconds since start, counted by the sweep: the clock of every timeout here. */
  tick = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(readonly deps: RelayDeps) {
    this.sweeper = setInterval(() => this.sweep(), TICK_MS);
    this.sweeper.unref();
  }

  /** A new client connection on an HTTP listener (or an HTTPS one, its TLS done). */
  accept(listenerArn: string, socket: Socket): void {
    this.clients.add(new ClientConnection(this, listenerArn, socket));
  }

  /** Sends an exchange's request on an idle connection to its target, or a new one. */
  send(ex: Exchange, fresh: boolean): void {
    const list = fresh ? undefined : this.idle.get(ex.plan.origin);
    const conn = list?.pop();
    if (conn) ex.attach(conn, true);
    else ex.attach(new TargetConnection(this, ex.plan), false);
  }

  /** A connection whose answer ended cleanly: kept for the next request to its target. */
  release(conn: TargetConnection): void {
    if (this.routed !== null && !this.routed.has(conn.origin)) return void conn.socket.destroy();
    conn.idleSince = this.tick;
    let list = this.idle.get(conn.origin);
    if (!list) this.idle.set(conn.origin, (list = []));
    list.push(conn);
  }

  /** A connection closed: no longer idle. */
  forget(conn: TargetConnection): void {
    const list = this.idle.get(conn.origin);
    const at = list?.indexOf(conn) ?? -1;
    if (list && at >= 0) {
      list.splice(at, 1);
      if (list.length === 0) this.idle.delete(conn.origin);
    }
  }

  /** After each snapshot change: idle connections to targets no longer routed are closed. */
  retain(routed: ReadonlySet<string>): void {
    this.routed = routed;
    for (const [origin, list] of this.idle) {
      if (routed.has(origin)) continue;
      this.idle.delete(origin);
      for (const conn of list) conn.socket.destroy();
    }
  }

  /** A bug of ours thrown in a socket callback: reported, and the client's connection closed. */
  fault(err: unknown, client: Socket | undefined): void {
    this.deps.failed(err);
    client?.destroy();
  }

  private sweep(): void {
    const tick = ++this.tick;
    for (const client of this.clients) {
      try {
        client.checkIdle(tick);
      } catch (err) {
        this.fault(err, client.socket);
      }
    }
    for (const list of this.idle.values()) {
      for (const conn of list) if (tick - conn.idleSince > TARGET_IDLE_TICKS) conn.socket.destroy();
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const list of this.idle.values()) for (const conn of list) conn.socket.destroy();
    this.idle.clear();
    for (const client of this.clients) client.socket.destroy();
    this.clients.clear();
  }
}

/** A client's connection while it is on the fast path. */
class ClientConnection {
  /** Bytes read and not yet handled: `pending`, then `later` (joined only when needed). */
  private pending: Buffer | null = null;
  private later: Buffer[] = [];
  private laterLength = 0;
  /** The bytes the request begun in `pending` needs in all, once its head is read. */
  private awaiting = 0;
  /** The tick its first bytes came, while a request is incomplete; -1 otherwise. */
  private waitingSince = -1;
  private exchange: Exchange | null = null;
  /** The client sent its FIN: answer what is complete, then end. */
  private ended = false;
  /** The answer in flight is the last (`Connection: close`, or the target's body ends with its close). */
  closeAfter = false;
  private gone = false;
  /** The relay's tick when the client last sent something or got its answer. */
  private active: number;
  /** The last request head parsed, and its bytes: a client repeating it is not parsed again. */
  private lastHead: Buffer | null = null;
  private lastRequest: RequestHead | undefined;
  /** The client's address and port (read once: each read of them is a call into node). */
  readonly address: string;
  readonly port: number | undefined;

  constructor(
    private readonly relay: Relay,
    private readonly listenerArn: string,
    readonly socket: Socket,
  ) {
    this.active = relay.tick;
    this.address = socket.remoteAddress ?? '';
    this.port = socket.remotePort;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Each tick: a quiet connection goes; an answer late past the idle timeout is given up. */
  checkIdle(tick: number): void {
    if (this.exchange !== null) this.exchange.checkIdle(tick);
    else if (this.waitingSince >= 0 && tick - this.waitingSince > REQUEST_TICKS) this.refuse(408);
    else if (tick - this.active > CLIENT_IDLE_TICKS) this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.active = this.relay.tick;
    if (this.pending === null) this.pending = chunk;
    else {
      // Kept apart until needed: a body or pipelined requests trickling in are joined once.
      this.later.push(chunk);
      this.laterLength += chunk.length;
    }
    const have = (this.pending?.length ?? 0) + this.laterLength;
    if (this.exchange !== null) {
      // Pipelined requests wait their turn; past a head and a body's worth, reading stops.
      if (have > MAX_HEAD_BYTES + MAX_BODY) this.socket.pause();
    } else if (have >= this.awaiting) this.guarded();
  };

  /** `pending` and `later` as one buffer. */
  private joined(): Buffer | null {
    if (this.laterLength > 0) {
      this.pending = Buffer.concat([this.pending as Buffer, ...this.later]);
      this.later = [];
      this.laterLength = 0;
    }
    return this.pending;
  }

  /** Answers the load balancer's error page and ends the connection. */
  private refuse(status: number): void {
    this.gone = true;
    this.pending = null;
    this.socket.end(errorAnswer(status, false, true), 'latin1');
  }

  private readonly onEnd = (): void => {
    this.ended = true;
    if (this.exchange === null) this.guarded();
  };

  private guarded(): void {
    try {
      this.next();
    } catch (err) {
      this.relay.fault(err, this.socket);
    }
  }

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.relay.clients.delete(this);
    this.exchange?.abort();
    this.exchange = null;
  };

  /** The next request, if it is all here: forwarded, or the connection handed over. */
  private next(): void {
    if (this.gone) return;
    const buf = this.joined();
    const end = buf === null ? -1 : buf.indexOf(HEAD_END);
    if (buf === null || end < 0) {
      if (buf !== null && buf.length > MAX_HEAD_BYTES) return this.handOver();
      // A request cut short by the client's FIN can never be complete.
      if (this.ended) return buf === null ? void this.socket.end() : this.refuse(400);
      if (buf !== null && this.waitingSince < 0) this.waitingSince = this.relay.tick;
      return;
    }
    const req = this.requestHead(buf, end);
    if (!req || req.contentLength > MAX_BODY) return this.handOver();
    const total = end + 4 + req.contentLength;
    if (buf.length < total) {
      if (this.ended) return this.refuse(400);
      this.awaiting = total;
      if (this.waitingSince < 0) this.waitingSince = this.relay.tick;
      return;
    }
    this.awaiting = 0;
    this.waitingSince = -1;
    const plan = this.relay.deps.plan(this.listenerArn, req, this);
    if (!plan) return this.handOver();
    const body = req.contentLength === 0 ? '' : buf.toString('latin1', end + 4, total);
    this.pending = buf.length > total ? buf.subarray(total) : null;
    this.closeAfter = req.close;
    this.exchange = new Exchange(this.relay, this, plan, plan.head + body, req.method === 'HEAD');
    this.relay.send(this.exchange, false);
  }

  /** The request head in `buf[0..end)`, parsed, or as it was the last time the same bytes came. */
  private requestHead(buf: Buffer, end: number): RequestHead | undefined {
    if (repeats(this.lastHead, buf, end)) return this.lastRequest;
    const req = parseRequestHead(buf.toString('latin1', 0, end));
    this.lastHead = req ? Buffer.from(buf.subarray(0, end)) : null;
    this.lastRequest = req;
    return req;
  }

  /** The exchange in flight ended (its answer written, or the connection cut). */
  finished(): void {
    this.exchange = null;
    this.active = this.relay.tick;
    if (this.gone) return;
    if (this.closeAfter) return void this.socket.end();
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  /** Node's HTTP server takes the connection from the request in `pending` on. */
  private handOver(): void {
    const socket = this.socket;
    this.relay.clients.delete(this);
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    if (socket.isPaused()) socket.resume();
    const pending = this.joined();
    this.pending = null;
    this.relay.deps.fallback(this.listenerArn, socket, pending);
  }
}

/** A kept-alive connection to one target; it carries one exchange at a time. */
class TargetConnection {
  readonly origin: string;
  readonly socket: Socket;
  exchange: Exchange | null = null;
  /** The relay's tick when it was last put back idle. */
  idleSince = 0;
  /**
   * The last answer head parsed, its bytes, and the head the client got for it with no
   * fields added: a target's heads repeat (all but a Date field that changes once a
   * second), and one equal byte for byte is not parsed or rebuilt again.
   */
  private lastHead: Buffer | null = null;
  private lastParsed: ResponseHead | undefined;
  private lastClientHead = '';

  constructor(relay: Relay, plan: ForwardPlan) {
    this.origin = plan.origin;
    this.socket = connect({
      host: plan.host,
      port: plan.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          const ex = this.exchange;
          try {
            // Bytes from a target between answers: it is out of step, so it is closed.
            if (ex !== null) return ex.onTargetData(buf as Buffer, n);
          } catch (err) {
            relay.fault(err, ex?.client.socket);
          }
          this.socket.destroy();
          return false;
        },
      },
    });
    this.socket.on('error', () => this.socket.destroy());
    this.socket.on('close', () => {
      relay.forget(this);
      const ex = this.exchange;
      this.exchange = null;
      try {
        ex?.targetClosed();
      } catch (err) {
        relay.fault(err, ex?.client.socket);
      }
    });
  }

  /** The answer head in `buf[0..end)`, parsed, or as it was the last time the same bytes came. */
  responseHead(buf: Buffer, end: number): ResponseHead | undefined {
    if (repeats(this.lastHead, buf, end)) return this.lastParsed;
    this.lastParsed = parseResponseHead(buf.toString('latin1', 0, end));
    this.lastHead = Buffer.from(buf.subarray(0, end));
    this.lastClientHead = '';
    return this.lastParsed;
  }

  /** The head the client gets for the last answer head when no field is added, built once. */
  clientHead(head: ResponseHead): string {
    if (this.lastClientHead === '') this.lastClientHead = clientResponseHead(head, '');
    return this.lastClientHead;
  }
}

const enum Phase {
  /** Waiting for the answer's head. */
  Head,
  Body,
  Done,
}

/** One request and its answer. */
class Exchange {
  private conn: TargetConnection | null = null;
  private phase = Phase.Head;
  private reused = false;
  private retried = false;
  /** Any answer byte came. */
  private heard = false;
  /** A head split over reads, copied out of the read buffer. */
  private partial: Buffer | null = null;
  private remaining = 0;
  private chunks: ChunkedEnd | null = null;
  /** The answer has no length: its body ends when the target closes. */
  private untilClose = false;
  private keepTarget = true;
  /** The relay's tick when the target was last heard from (or the request sent). */
  private lastHeard: number;

  constructor(
    private readonly relay: Relay,
    readonly client: ClientConnection,
    readonly plan: ForwardPlan,
    private readonly request: string,
    private readonly noBody: boolean,
  ) {
    this.lastHeard = relay.tick;
  }

  attach(conn: TargetConnection, reused: boolean): void {
    this.conn = conn;
    this.reused = reused;
    conn.exchange = this;
    this.lastHeard = this.relay.tick;
    conn.socket.write(this.request, 'latin1');
  }

  /** A read from the target (a view of the shared read buffer); false pauses the target. */
  onTargetData(buf: Buffer, n: number): boolean {
    this.heard = true;
    this.lastHeard = this.relay.tick;
    if (this.phase === Phase.Body) return this.relayBody(buf, 0, n, '');
    let data = buf.subarray(0, n);
    if (this.partial !== null) data = Buffer.concat([this.partial, data]);
    this.partial = null;
    for (;;) {
      const end = data.indexOf(HEAD_END);
      if (end < 0) {
        if (data.length > MAX_HEAD_BYTES) return this.fail(502);
        this.partial = Buffer.from(data);
        return true;
      }
      const conn = this.conn as TargetConnection;
      const head = conn.responseHead(data, end);
      if (!head || head.status === 101) return this.fail(502);
      if (head.status >= 200) {
        const noBody = this.noBody || head.status === 204 || head.status === 304;
        if (noBody) this.remaining = 0;
        else if (head.chunked) this.chunks = new ChunkedEnd();
        else if (head.contentLength >= 0) this.remaining = head.contentLength;
        else this.untilClose = true;
        this.keepTarget = !head.close && !this.untilClose;
        // With no length, only the close can end the body: the client's connection ends too.
        if (this.untilClose) this.client.closeAfter = true;
        let extra = '';
        if (this.plan.cookies) for (const c of this.plan.cookies) extra += `Set-Cookie: ${c}\r\n`;
        if (this.client.closeAfter) extra += 'Connection: close\r\n';
        this.phase = Phase.Body;
        const text = extra !== '' ? clientResponseHead(head, extra) : conn.clientHead(head);
        return this.relayBody(data, end + 4, data.length, text);
      }
      // 1xx interim answers are not relayed (as on the full path).
      data = data.subarray(end + 4);
      if (data.length === 0) return true;
    }
  }

  /** Relays `buf[from..to)` of the body (after `headText`, if any); false pauses the target. */
  private relayBody(buf: Buffer, from: number, to: number, headText: string): boolean {
    let stop = to;
    let complete = false;
    if (this.chunks !== null) {
      const at = this.chunks.feed(buf, from, to);
      if (at === -2) return headText ? this.fail(502) : this.cut();
      if (at >= 0) {
        stop = at;
        complete = true;
      }
    } else if (!this.untilClose) {
      stop = from + Math.min(this.remaining, to - from);
      this.remaining -= stop - from;
      complete = this.remaining === 0;
    }
    // Bytes past the answer's end: the target is out of step, so it is not reused.
    if (stop < to) this.keepTarget = false;
    const socket = this.client.socket;
    let ok = true;
    if (stop - from <= ONE_WRITE) {
      const text = headText + buf.toString('latin1', from, stop);
      if (text.length > 0) ok = socket.write(text, 'latin1');
    } else {
      socket.cork();
      if (headText) socket.write(headText, 'latin1');
      ok = socket.write(Buffer.from(buf.subarray(from, stop)));
      socket.uncork();
    }
    if (complete) {
      this.end(this.keepTarget);
      return true;
    }
    if (ok) return true;
    const target = this.conn?.socket;
    socket.once('drain', () => target?.resume());
    return false;
  }

  /** The target closed its connection during this exchange. */
  targetClosed(): void {
    this.conn = null;
    if (this.phase === Phase.Done) return;
    if (this.phase === Phase.Body) {
      // A body that runs to the close is complete; any other is cut short.
      if (this.untilClose) return void this.end(false);
      return void this.cut();
    }
    // A kept-alive connection the target had closed meanwhile: a fresh one, once.
    if (this.reused && !this.heard && !this.retried && this.plan.retryable) {
      this.retried = true;
      this.relay.send(this, true);
      return;
    }
    this.fail(502);
  }

  /** The answer's head never came, or came malformed: the client gets the load balancer's page. */
  private fail(status: number): false {
    this.client.socket.write(errorAnswer(status, this.noBody, this.client.closeAfter), 'latin1');
    this.end(false);
    return false;
  }

  /** The answer broke off after its head was relayed: the client's connection is cut. */
  private cut(): false {
    this.client.socket.destroy();
    this.end(false);
    return false;
  }

  /** No answer's head within the idle timeout (504), or a body silent that long (cut). */
  checkIdle(tick: number): void {
    if ((tick - this.lastHeard) * TICK_MS <= this.plan.idleMs) return;
    if (this.phase === Phase.Head) this.fail(504);
    else this.cut();
  }

  /** The client went away: the target connection goes too. */
  abort(): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    this.release(false);
  }

  private end(keepTarget: boolean): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    this.release(keepTarget);
    this.client.finished();
  }

  private release(keepTarget: boolean): void {
    this.plan.done();
    const conn = this.conn;
    this.conn = null;
    if (conn === null) return;
    conn.exchange = null;
    if (keepTarget) this.relay.release(conn);
    else conn.socket.destroy();
  }
}
