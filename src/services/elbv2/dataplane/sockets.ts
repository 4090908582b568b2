/**
 * Each listener's own socket on this machine: the listener's port on the server's host
 * (127.0.0.1 by default) when it is free, an ephemeral port otherwise (another load
 * balancer, or another program, has it). HTTP listeners go through the ALB proxy; HTTPS
 * listeners terminate TLS (dataplane/tls.ts) and then do the same; TCP listeners (Network
 * Load Balancers) are spliced to a target connection by connection.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import {
  connect,
  createServer as createTcpServer,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { answerHalfClosedClients } from '../../../shared/client-gone.js';
import type { HealthMonitor } from '../health.js';
import type { ListenerView, Snapshot } from '../snapshot.js';
import { errorAnswer, errorPage, type HttpProxy } from './proxy.js';
import { targetHost } from './probe.js';
import { Relay } from './relay.js';
import { CLIENT_IDLE_MS, REQUEST_MS } from './timeouts.js';
import { chooseContext, type ListenerTls, loadTls, tlsKeyOf } from './tls.js';
import type { CertificateSource } from '../certificates.js';

interface Bound {
  server: TcpServer;
  /** HTTPS: what it serves with now (replaced in place when certificates change). */
  tls?: { current: ListenerTls };
  /** The listener's port and protocol when bound. */
  wanted: string;
  address: string;
  connections: Set<Socket>;
}

export interface SocketDeps {
  host: string;
  proxy: HttpProxy;
  health: HealthMonitor;
  snapshot(): Snapshot;
  /** HTTPS listeners' certificates, with their keys. */
  certificates: CertificateSource;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export class ListenerSockets {
  private readonly bound = new Map<string, Bound>();
  /** HTTP listeners' Node servers, which take the connections the relay hands over. */
  private readonly fallbacks = new Map<string, HttpServer>();
  private readonly relay: Relay;

  constructor(private readonly deps: SocketDeps) {
    this.relay = new Relay({
      plan: (arn, req, client) => {
        const view = deps.snapshot().listeners.get(arn);
        return view && deps.proxy.plan(view, req, client);
      },
      fallback: (arn, socket, pending) => {
        const http = this.fallbacks.get(arn);
        if (!http) return void socket.destroy();
        http.emit('connection', socket);
        // Node's parser reads the socket from now on; what the relay had read goes first.
        if (pending) socket.emit('data', pending);
      },
      failed: (err) =>
        deps.warn('load balancer relay failed; its connections were closed', {
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
    });
  }

  /** Where a listener is served (`127.0.0.1:8080`), once bound. */
  address(listenerArn: string): string | undefined {
    return this.bound.get(listenerArn)?.address;
  }

  /** Opens sockets for new listeners, moves changed ones, closes deleted ones. */
  async sync(snap: Snapshot): Promise<void> {
    for (const [arn, b] of this.bound) {
      const view = snap.listeners.get(arn);
      if (!view || wantedOf(view) !== b.wanted) {
        this.bound.delete(arn);
        this.fallbacks.delete(arn);
        await closeBound(b);
      }
    }
    for (const [arn, view] of snap.listeners) {
      const existing = this.bound.get(arn);
      if (existing) {
        if (existing.tls && existing.tls.current.key !== tlsKeyOf(view.listener)) {
          await this.reloadTls(existing, view);
        }
        continue;
      }
      let tls: ListenerTls | undefined;
      if (view.listener.protocol === 'HTTPS') {
        tls = await this.loadTls(view);
        if (!tls) continue;
      }
      const b = await this.open(arn, view, tls);
      this.bound.set(arn, b);
      this.deps.info('load balancer listener serving', {
        loadBalancer: view.loadBalancer.name,
        port: view.listener.port,
        address: b.address,
      });
    }
  }

  /** An HTTPS listener's certificates; undefined (and a warning) when IAM lacks them. */
  private async loadTls(view: ListenerView): Promise<ListenerTls | undefined> {
    const tls = await loadTls(view.listener, view.loadBalancer.account, this.deps.certificates);
    if (!tls) {
      this.deps.warn('HTTPS listener not served: its default certificate is not in IAM', {
        loadBalancer: view.loadBalancer.name,
        port: view.listener.port,
        certificate: view.listener.certificates?.[0]?.CertificateArn,
      });
    }
    return tls;
  }

  /** New certificates or policy for a listener already serving: new handshakes use them. */
  private async reloadTls(b: Bound, view: ListenerView): Promise<void> {
    const tls = await this.loadTls(view);
    if (!tls) return;
    if (b.tls) b.tls.current = tls;
    (b.server as TlsServer).setSecureContext(tls.options);
  }

  private async open(arn: string, view: ListenerView, tls?: ListenerTls): Promise<Bound> {
    const connections = new Set<Socket>();
    const current = () => this.deps.snapshot().listeners.get(arn);
    let server: TcpServer;
    const served = tls && { current: tls };
    if (view.listener.protocol === 'TCP') {
      // Half-open: a client's FIN travels to the target, whose answer still comes back.
      server = createTcpServer({ allowHalfOpen: true }, (socket) => this.splice(current(), socket));
    } else {
      const handler = (req: IncomingMessage, res: ServerResponse) => {
        const v = current();
        if (!v) return errorPage(res, 503, req.method === 'HEAD');
        void this.deps.proxy.handle(v, req, res, { url: req.url ?? '/' });
      };
      // Connections start on the raw relay; what it does not take goes on through `http`
      // (for HTTPS, once TLS is done: node's HTTP server reads a TLS socket as any other).
      const http = createHttpServer(handler);
      http.on('upgrade', (req, socket: Socket, head: Buffer) => {
        const v = current();
        if (v) this.deps.proxy.upgrade(v, req, socket, head);
        else socket.destroy();
      });
      // A request the HTTP parser refuses gets ALB's 400 page, as ALB answers one.
      http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
        if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
        socket.end(errorAnswer(400, false, true), 'latin1');
      });
      // As on the relay, which answers a half-closed client too.
      answerHalfClosedClients(http);
      http.keepAliveTimeout = CLIENT_IDLE_MS;
      http.headersTimeout = REQUEST_MS;
      this.fallbacks.set(arn, http);
      const accept = (socket: Socket) => this.relay.accept(arn, socket);
      server = served
        ? createTlsServer(
            {
              ...served.current.options,
              // As https.Server: HTTP/1.1 is what ALPN offers.
              ALPNProtocols: ['http/1.1'],
              // The certificate list: the one whose names match the client's SNI name.
              SNICallback: (name, cb) => cb(null, served && chooseContext(served.current, name)),
              allowHalfOpen: true,
              noDelay: true,
            },
            accept,
          )
        : createTcpServer({ allowHalfOpen: true, noDelay: true }, accept);
    }
    server.on('connection', (s: Socket) => {
      connections.add(s);
      s.once('close', () => connections.delete(s));
    });
    const port = await listen(server, view.listener.port, this.deps.host).catch(() =>
      listen(server, 0, this.deps.host),
    );
    return {
      server,
      ...(served && { tls: served }),
      wanted: wantedOf(view),
      address: `${this.deps.host}:${port}`,
      connections,
    };
  }

  /** A Network Load Balancer connection: to one routable target of the default forward. */
  private splice(view: ListenerView | undefined, client: Socket): void {
    const action = view?.listener.defaultActions.at(-1);
    const snap = this.deps.snapshot();
    const tgArn =
      action?.TargetGroupArn ?? action?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
    const tg = tgArn === undefined ? undefined : snap.targetGroups.get(tgArn);
    const targets = tg ? this.deps.health.routable(tg.arn, snap.targets.get(tg.arn) ?? []) : [];
    if (!tg || targets.length === 0) {
      client.destroy();
      return;
    }
    const target = targets[Math.floor(Math.random() * targets.length)];
    const done = this.deps.health.begin(tg.arn, target);
    const upstream = connect({
      host: targetHost(tg, target),
      port: target.port,
      allowHalfOpen: true,
    });
    client.pipe(upstream).pipe(client);
    const abort = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', abort);
    client.on('error', abort);
    // Each side's end travels through the pipes; a side that closes ends the other gently.
    client.once('close', () => upstream.end());
    upstream.once('close', () => {
      client.end();
      done();
    });
  }

  /** Target connections the relay keeps: those to targets no longer routed are closed. */
  retain(routed: ReadonlySet<string>): void {
    this.relay.retain(routed);
  }

  async close(): Promise<void> {
    this.relay.close();
    const all = [...this.bound.values()];
    this.bound.clear();
    this.fallbacks.clear();
    await Promise.all(all.map(closeBound));
  }
}

const wantedOf = (v: ListenerView): string => `${v.listener.protocol}:${v.listener.port}`;

function listen(server: TcpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

async function closeBound(b: Bound): Promise<void> {
  await new Promise<void>((resolve) => {
    b.server.close(() => resolve());
    for (const s of b.connections) s.destroy();
  });
}
