/**
 * The load balancer's side of a forward: keep-alive connection pools to targets (undici,
 * one Pool per target address) and a dispatch handler that relays the target's answer to
 * the client as it arrives, with backpressure both ways. undici's dispatch costs a fraction
 * of node:http's ClientRequest + Agent per request (no per-request socket bookkeeping, one
 * write for head and body), which is most of an ALB hop's CPU.
 * https://undici.nodejs.org/#/docs/api/Dispatcher?id=dispatcherdispatchoptions-handler
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { HOP_BY_HOP } from '../../../shared/hop-by-hop.js';
import { TARGET_IDLE_MS } from './timeouts.js';

/** What a relay reports back: how the exchange with the target ended. */
export interface RelayOutcome {
  /** The target did not answer within the idle timeout (before any header). */
  onTimeout(): void;
  /** The exchange failed before the answer's head was relayed; `stale` = a reused socket reset. */
  onFailure(stale: boolean): void;
}

export interface RelayRequest {
  origin: string;
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  /** The client's body, or null when it sends none. */
  body: IncomingMessage | null;
  idleMs: number;
  /** Stickiness cookies to add to the answer. */
  cookies?: string[];
}

/** How often pools with no connection and no request are dropped (see UpstreamPools). */
const IDLE_SWEEP_MS = 60_000;

/**
 * One undici Pool per target origin, made on a target's first request. A pool goes (its
 * keep-alive sockets closed once their requests end) when its target leaves every routed
 * group: `retain()` after each change of the data plane's snapshot (DeregisterTargets, a
 * task stopped, a group or load balancer deleted). A sweep every IDLE_SWEEP_MS drops pools
 * that hold no connection and no request (their sockets timed out, or a retry made one
 * again after its target left), so nothing is kept for the life of the server and the
 * request path does no bookkeeping.
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweepIdle(), IDLE_SWEEP_MS);
    this.sweeper.unref();
  }

  /** Closes the pools of every origin not in `routed` (graceful: requests in flight end). */
  retain(routed: ReadonlySet<string>): void {
    for (const [origin, pool] of this.pools) if (!routed.has(origin)) this.drop(origin, pool);
  }

  private sweepIdle(): void {
    for (const [origin, pool] of this.pools) {
      const s = pool.stats;
      if (s.connected === 0 && s.size === 0) this.drop(origin, pool);
    }
  }

  private drop(origin: string, pool: Pool): void {
    this.pools.delete(origin);
    void pool.close().catch(() => undefined);
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      // No pipelining: a target answering out of turn (or closing mid-stream) must cost
      // only its own request, as with an ALB's one-request-at-a-time target connections.
      pool = new Pool(origin, { pipelining: 1, keepAliveTimeout: TARGET_IDLE_MS });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  relay(r: RelayRequest, res: ServerResponse, outcome: RelayOutcome): void {
    const handler = new RelayHandler(res, outcome, r.cookies);
    const headers: string[] = [];
    for (const k in r.headers) {
      const v = r.headers[k];
      // Node's server already answered `Expect: 100-continue` itself.
      if (v === undefined || k === 'expect') continue;
      if (Array.isArray(v)) for (const one of v) headers.push(k, one);
      else headers.push(k, typeof v === 'string' ? v : String(v));
    }
    this.pool(r.origin).dispatch(
      {
        origin: r.origin,
        method: r.method as Dispatcher.HttpMethod,
        path: r.path,
        headers,
        body: r.body,
        headersTimeout: r.idleMs,
        bodyTimeout: r.idleMs,
      },
      handler,
    );
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
  }
}

/** Streams one answer from a target to the client. */
class RelayHandler implements Dispatcher.DispatchHandlers {
  private abort?: (err?: Error) => void;
  private resume?: () => void;

  constructor(
    private readonly res: ServerResponse,
    private readonly outcome: RelayOutcome,
    private readonly cookies: string[] | undefined,
  ) {
    res.once('close', () => {
      if (!res.writableFinished) this.abort?.();
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.res.destroyed) abort();
  }

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[] | string[] | null,
    resume: () => void,
    statusText?: string,
  ): boolean {
    // 1xx informational answers (other than 101) are not relayed.
    if (statusCode < 200) return true;
    this.resume = resume;
    const out: string[] = [];
    if (rawHeaders) {
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const k = rawHeaders[i].toString('latin1');
        if (HOP_BY_HOP.has(k.toLowerCase())) continue;
        out.push(k, rawHeaders[i + 1].toString('latin1'));
      }
    }
    if (this.cookies) for (const c of this.cookies) out.push('set-cookie', c);
    // Head, body and a chunked answer's last chunk parsed from one read leave in one write.
    this.res.cork();
    process.nextTick(() => this.res.uncork());
    this.res.writeHead(statusCode, statusText, out);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', () => this.resume?.());
    return false;
  }

  onComplete(): void {
    this.res.end();
  }

  onError(err: Error & { code?: string }): void {
    if (this.res.headersSent) {
      if (!this.res.writableEnded) this.res.destroy();
      return;
    }
    if (err.code === 'UND_ERR_HEADERS_TIMEOUT') this.outcome.onTimeout();
    else this.outcome.onFailure(err.code === 'UND_ERR_SOCKET' || err.code === 'ECONNRESET');
  }
}
