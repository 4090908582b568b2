/**
 * The HTTP data plane of an Application Load Balancer listener: rules in priority order,
 * then the listener's default actions; forward (weighted over target groups, round robin
 * over a group's healthy targets, keep-alive connections to them), fixed-response and
 * redirect. Requests carry X-Forwarded-For/-Proto/-Port and X-Amzn-Trace-Id; failures
 * answer as an ALB does: 502 when a target refuses, resets or answers malformed, 503 when
 * a group has no target to send to, 504 when a target does not answer within the load
 * balancer's idle timeout.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html#http-502-issues
 */
import { randomBytes, randomInt } from 'node:crypto';
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Action } from '../../../api/elbv2/types.js';
import type { HealthMonitor } from '../health.js';
import type { ListenerView, Snapshot } from '../snapshot.js';
import type { TargetGroupRecord, TargetRecord } from '../store.js';
import { TargetPicker } from './balancing.js';
import { albAnswer, albEvent, MAX_LAMBDA_REQUEST } from './lambda-event.js';
import { type RequestFacts, ruleMatches } from './match.js';
import { targetHost } from './probe.js';
import { HOP_BY_HOP } from '../../../shared/hop-by-hop.js';
import { UpstreamPools } from './upstream.js';
import { requestFields, withoutLines, type RequestHead } from './http1.js';
import type { Client, ForwardPlan } from './relay.js';

/** Invokes a Lambda function synchronously (the `functions` link, when Lambda runs). */
export type FunctionInvoke = (
  functionArn: string,
  payload: Buffer,
) => Promise<{ ok: boolean; payload: Buffer }>;

export interface ProxyDeps {
  snapshot(): Snapshot;
  health: HealthMonitor;
  invoke?: FunctionInvoke;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Where the request came in: the listener's own socket, or the gateway's host/path forms. */
export interface Entry {
  /** The request path as the client sent it, minus the gateway's `/_stratus/elb/<name>` prefix. */
  url: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Time-out',
  413: 'Request Entity Too Large',
  460: '',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** An ALB's own error page (it answers HTML, with `Server: awselb/2.0`). */
export function errorPage(res: ServerResponse, status: number, head: boolean): void {
  if (res.headersSent) {
    // An answer is already on its way (or done): cut it short only if it is unfinished.
    if (!res.writableEnded) res.destroy();
    return;
  }
  const body = errorBody(status);
  res.writeHead(status, {
    server: 'awselb/2.0',
    'content-type': 'text/html',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(head ? undefined : body);
}

function errorBody(status: number): string {
  const title = `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
  return (
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
    `<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`
  );
}

/** The error page as an HTTP/1.1 answer, for the raw relay (relay.ts). */
export function errorAnswer(status: number, head: boolean, close: boolean): string {
  const body = errorBody(status);
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\nServer: awselb/2.0\r\n` +
    `Content-Type: text/html\r\nContent-Length: ${body.length}\r\n` +
    `${close ? 'Connection: close\r\n' : ''}\r\n${head ? '' : body}`
  );
}

/** Random hex drawn from a pool refilled 4 KiB of bytes at a time: one syscall per 341 trace ids. */
const pool = { hex: '', at: 0 };
function randomHex(n: number): string {
  if (pool.at + 2 * n > pool.hex.length) {
    pool.hex = randomBytes(4096).toString('hex');
    pool.at = 0;
  }
  pool.at += 2 * n;
  return pool.hex.slice(pool.at - 2 * n, pool.at);
}

/** The epoch seconds of the trace ids, in hex, made once a second. */
const epoch = { second: -1, hex: '' };

/** `1-<epoch seconds hex>-<24 hex>`: the X-Ray trace id format ALB writes. */
function traceSegment(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== epoch.second) {
    epoch.second = second;
    epoch.hex = second.toString(16);
  }
  return `1-${epoch.hex}-${randomHex(12)}`;
}

/**
 * "If the X-Amzn-Trace-Id header is not present on an incoming request, the load balancer
 * generates a header with a Root field … If the header is present and contains a valid
 * Root field, the load balancer inserts a Self field."
 */
export function traceHeader(incoming: string | undefined): string {
  if (incoming !== undefined && /(^|;)\s*Root=1-[0-9a-f]{8}-[0-9a-f]{24}/i.test(incoming)) {
    const without = incoming
      .split(';')
      .filter((p) => !p.trim().startsWith('Self='))
      .join(';');
    return `Self=${traceSegment()};${without}`;
  }
  return `Root=${traceSegment()}`;
}

/** One request on its way to one target. */
interface Hop {
  tg: TargetGroupRecord;
  target: TargetRecord;
  req: IncomingMessage;
  res: ServerResponse;
  headers: OutgoingHttpHeaders;
  url: string;
  /** The load balancer's idle timeout: no answer within it is a 504. */
  idleMs: number;
  /** Stickiness cookies to set on the answer. */
  cookies?: string[];
  /** The client sends no body (no Content-Length, no Transfer-Encoding). */
  bodyless: boolean;
}

export class HttpProxy {
  private readonly upstream = new UpstreamPools();
  private readonly picker: TargetPicker;

  constructor(private readonly deps: ProxyDeps) {
    this.picker = new TargetPicker(deps.health);
  }

  /** The rule (or default) action a request takes, with what the actions need of it. */
  private route(view: ListenerView, req: IncomingMessage, url: string) {
    return route(view, req.method ?? 'GET', url, req.headers.host, req.headers, sourceIp(req));
  }

  /**
   * For the listener's raw relay (relay.ts): where a plain forward of `req` goes, with the
   * request head to send. Undefined when the request needs Node's full path: any action
   * other than a forward to an instance or ip group, or no target to send to (the full
   * path answers those: fixed-response, redirect, Lambda, 503).
   */
  plan(view: ListenerView, req: RequestHead, client: Client): ForwardPlan | undefined {
    const ip = client.address;
    // Without rules the default action is taken: nothing of the request is looked at.
    const action =
      view.rules.length === 0
        ? takenAction(view.listener.defaultActions)
        : route(view, req.method, req.target, req.host, requestFields(req), ip).action;
    if (action?.Type !== 'forward') return undefined;
    const snap = this.deps.snapshot();
    const tg = this.pickGroup(action, snap);
    if (!tg || tg.targetType === 'lambda') return undefined;
    const picked = this.picker.pick(tg, snap.targets.get(tg.arn) ?? [], req.cookie);
    if (!picked) return undefined;
    const f = forwarding(view, ip, client.port, req.xff, req.trace);
    const text =
      withoutLines(req.text, 0, req.skip) +
      (f.xff === undefined ? '' : `\r\nX-Forwarded-For: ${f.xff}`) +
      `\r\nX-Forwarded-Proto: ${f.proto}\r\nX-Forwarded-Port: ${f.port}\r\nX-Amzn-Trace-Id: ${f.trace}\r\n\r\n`;
    const { target, cookies } = picked;
    return {
      origin: originOf(tg, target),
      host: targetHost(tg, target),
      port: target.port,
      head: text,
      retryable: req.contentLength === 0,
      idleMs: idleMsOf(view),
      cookies,
      done: this.deps.health.begin(tg.arn, target),
    };
  }

  async handle(
    view: ListenerView,
    req: IncomingMessage,
    res: ServerResponse,
    entry: Entry,
  ): Promise<void> {
    const head = req.method === 'HEAD';
    const { action, facts, path, rawQuery } = this.route(view, req, entry.url);
    if (!action) return errorPage(res, 503, head);
    switch (action.Type) {
      case 'fixed-response':
        return this.fixed(view, action, res, head);
      case 'redirect':
        return redirect(view, action, facts, rawQuery, res, head);
      case 'forward':
        return this.forward(view, action, req, res, { path, rawQuery, url: entry.url });
      default:
        return errorPage(res, 500, head);
    }
  }

  /**
   * An HTTP/1.1 Upgrade (WebSockets): "Application Load Balancers provide native support
   * for WebSockets" on HTTP listeners. The request goes to a target as any forward does;
   * from its 101 on, bytes flow both ways untouched.
   */
  upgrade(view: ListenerView, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number) => {
      const title = `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
      socket.end(
        `HTTP/1.1 ${title}\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
    };
    socket.on('error', () => socket.destroy());
    const { action } = this.route(view, req, req.url ?? '/');
    if (action?.Type !== 'forward') return refuse(400);
    const snap = this.deps.snapshot();
    const tg = this.pickGroup(action, snap);
    if (!tg || tg.targetType === 'lambda') return refuse(tg ? 400 : 503);
    const target = this.picker.pick(tg, snap.targets.get(tg.arn) ?? [], undefined)?.target;
    if (!target) return refuse(503);
    const done = this.deps.health.begin(tg.arn, target);
    const headers = forwardedHeaders(req, view);
    headers.connection = 'Upgrade';
    headers.upgrade = req.headers.upgrade;
    let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      for (const one of Array.isArray(v) ? v : [v])
        if (one !== undefined) text += `${k}: ${String(one)}\r\n`;
    }
    const upstream = connect({ host: targetHost(tg, target), port: target.port });
    upstream.once('connect', () => {
      upstream.write(text + '\r\n');
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.once('error', () => {
      if (upstream.bytesRead === 0 && socket.writable) refuse(502);
      else socket.destroy();
    });
    upstream.once('close', () => {
      socket.end();
      done();
    });
    socket.once('close', () => upstream.destroy());
  }

  private fixed(view: ListenerView, action: Action, res: ServerResponse, head: boolean): void {
    const c = action.FixedResponseConfig!;
    const body = Buffer.from(c.MessageBody ?? '', 'utf8');
    const headers: OutgoingHttpHeaders = {
      'content-type': c.ContentType ?? 'text/plain; charset=utf-8',
      'content-length': String(body.length),
    };
    if (view.listener.attributes['routing.http.response.server.enabled'] !== 'false') {
      headers.server = 'awselb/2.0';
    }
    res.writeHead(Number(c.StatusCode), headers);
    res.end(head ? undefined : body);
  }

  /** Picks a group by weight (zero-weight groups take nothing). */
  private pickGroup(action: Action, snap: Snapshot): TargetGroupRecord | undefined {
    const tuples = action.ForwardConfig?.TargetGroups;
    if (tuples === undefined || tuples.length === 1) {
      const arn = tuples === undefined ? action.TargetGroupArn : tuples[0].TargetGroupArn;
      return arn === undefined ? undefined : snap.targetGroups.get(arn);
    }
    const total = tuples.reduce((n, t) => n + (t.Weight ?? 1), 0);
    let arn = tuples[0]?.TargetGroupArn;
    if (total > 0) {
      let roll = randomInt(total);
      for (const t of tuples) {
        roll -= t.Weight ?? 1;
        if (roll < 0) {
          arn = t.TargetGroupArn;
          break;
        }
      }
    }
    return arn === undefined ? undefined : snap.targetGroups.get(arn);
  }

  private async forward(
    view: ListenerView,
    action: Action,
    req: IncomingMessage,
    res: ServerResponse,
    where: { path: string; rawQuery: string; url: string },
  ): Promise<void> {
    const head = req.method === 'HEAD';
    const snap = this.deps.snapshot();
    const tg = this.pickGroup(action, snap);
    if (!tg) return errorPage(res, 503, head);
    const headers = forwardedHeaders(req, view);
    if (tg.targetType === 'lambda') return this.lambda(tg, req, res, headers, where);
    const picked = this.picker.pick(tg, snap.targets.get(tg.arn) ?? [], req.headers.cookie);
    if (!picked) return errorPage(res, 503, head);
    const { target, cookies } = picked;
    const done = this.deps.health.begin(tg.arn, target);
    res.once('close', done);
    const idleMs = idleMsOf(view);
    const bodyless =
      req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
    this.send(
      { tg, target, req, res, headers, url: where.url, idleMs, cookies, bodyless },
      bodyless,
    );
  }

  /** Sends one request to its target; `retryable` (no body) allows one retry on a stale socket. */
  private send(hop: Hop, retryable: boolean): void {
    const { tg, target, req, res, headers, url, idleMs, cookies, bodyless } = hop;
    const head = req.method === 'HEAD';
    this.upstream.relay(
      {
        origin: originOf(tg, target),
        method: req.method ?? 'GET',
        path: url,
        headers,
        body: bodyless ? null : req,
        idleMs,
        cookies,
      },
      res,
      {
        onTimeout: () => errorPage(res, 504, head),
        onFailure: (stale) => {
          // A kept-alive connection the target closed meanwhile: try a fresh one once.
          if (retryable && stale && !res.destroyed) this.send(hop, false);
          else errorPage(res, 502, head);
        },
      },
    );
  }

  private async lambda(
    tg: TargetGroupRecord,
    req: IncomingMessage,
    res: ServerResponse,
    headers: OutgoingHttpHeaders,
    where: { path: string; rawQuery: string },
  ): Promise<void> {
    const head = req.method === 'HEAD';
    const snap = this.deps.snapshot();
    const fn = snap.targets.get(tg.arn)?.[0];
    const invoke = this.deps.invoke;
    if (!fn || !invoke) {
      req.resume();
      return errorPage(res, 503, head);
    }
    // "The maximum size of the request body that you can send to a Lambda function is 1 MB."
    let body: Buffer | undefined;
    try {
      body = await readBody(req, MAX_LAMBDA_REQUEST);
    } catch {
      return void res.destroy();
    }
    if (!body) return errorPage(res, 413, head);
    const rawHeaders: string[] = [];
    for (const [k, v] of Object.entries(headers)) {
      for (const one of Array.isArray(v) ? v : [v]) rawHeaders.push(k, String(one));
    }
    const event = albEvent({
      method: req.method ?? 'GET',
      path: where.path,
      rawQuery: where.rawQuery,
      rawHeaders,
      body,
      targetGroupArn: tg.arn,
      multiValue: tg.attributes['lambda.multi_value_headers.enabled'] === 'true',
    });
    const done = this.deps.health.begin(tg.arn, fn);
    try {
      const outcome = await invoke(fn.id, Buffer.from(JSON.stringify(event)));
      const answer = outcome.ok ? albAnswer(outcome.payload) : undefined;
      if (!answer) return errorPage(res, 502, head);
      res.writeHead(answer.status, {
        ...answer.headers,
        'content-length': String(answer.body.length),
      });
      res.end(head ? undefined : answer.body);
    } catch (err) {
      this.deps.warn('load balancer could not invoke its Lambda target', { error: String(err) });
      errorPage(res, 502, head);
    } finally {
      done();
    }
  }

  /**
   * After each change of the snapshot: closes the keep-alive pools of targets no load
   * balancer routes to any more (deregistered, their group or load balancer deleted), and
   * returns the origins still routed (the listeners' relay keeps connections to those).
   */
  sync(snap: Snapshot): ReadonlySet<string> {
    const routed = new Set<string>();
    for (const [tgArn, lbs] of snap.usage) {
      const tg = snap.targetGroups.get(tgArn);
      if (!tg || lbs.size === 0 || tg.targetType === 'lambda') continue;
      for (const t of snap.targets.get(tgArn) ?? []) routed.add(originOf(tg, t));
    }
    this.upstream.retain(routed);
    return routed;
  }

  close(): void {
    this.upstream.close();
  }
}

/** Origins by target record: a record belongs to one group, whose target type is fixed. */
const origins = new WeakMap<TargetRecord, string>();

/**
 * The origin of a target's keep-alive pool (its pool key). Kept per record, so that each
 * request looks its connections up with a string whose hash is already known.
 */
function originOf(tg: TargetGroupRecord, target: TargetRecord): string {
  let origin = origins.get(target);
  if (origin === undefined) {
    const host = targetHost(tg, target);
    origin = `http://${host.includes(':') ? `[${host}]` : host}:${target.port}`;
    origins.set(target, origin);
  }
  return origin;
}

function forwardedHeaders(req: IncomingMessage, view: ListenerView): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const h: IncomingHttpHeaders = req.headers;
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  const trace = h['x-amzn-trace-id'];
  const xff = h['x-forwarded-for'];
  const f = forwarding(
    view,
    sourceIp(req),
    req.socket.remotePort,
    Array.isArray(xff) ? xff.join(', ') : xff,
    typeof trace === 'string' ? trace : undefined,
  );
  if (f.xff === undefined) delete out['x-forwarded-for'];
  else out['x-forwarded-for'] = f.xff;
  out['x-forwarded-proto'] = f.proto;
  out['x-forwarded-port'] = f.port;
  out['x-amzn-trace-id'] = f.trace;
  return out;
}

/** What forwarding on a listener needs of its settings, read once per snapshot. */
interface ListenerFacts {
  xffMode: string;
  xffClientPort: boolean;
  proto: string;
  port: string;
  idleMs: number;
}

const listenerFacts = new WeakMap<ListenerView, ListenerFacts>();

function factsOf(view: ListenerView): ListenerFacts {
  let f = listenerFacts.get(view);
  if (!f) {
    const a = view.loadBalancer.attributes;
    f = {
      xffMode: a['routing.http.xff_header_processing.mode'] ?? 'append',
      xffClientPort: a['routing.http.xff_client_port.enabled'] === 'true',
      proto: view.listener.protocol === 'HTTPS' ? 'https' : 'http',
      port: String(view.listener.port),
      // "The load balancer's idle timeout": no answer from a target within it is a 504.
      idleMs: Number(a['idle_timeout.timeout_seconds'] ?? 60) * 1000,
    };
    listenerFacts.set(view, f);
  }
  return f;
}

/**
 * X-Forwarded-For as the load balancer's `routing.http.xff_header_processing.mode` says
 * (append the client, preserve, or remove: undefined), -Proto, -Port and the trace id.
 */
function forwarding(
  view: ListenerView,
  clientIp: string,
  clientPort: number | undefined,
  priorXff: string | undefined,
  priorTrace: string | undefined,
): { xff: string | undefined; proto: string; port: string; trace: string } {
  const f = factsOf(view);
  let xff = priorXff;
  if (f.xffMode === 'remove') xff = undefined;
  else if (f.xffMode === 'append') {
    const client = unmapped(clientIp);
    const added = f.xffClientPort ? `${client}:${clientPort ?? 0}` : client;
    xff = priorXff ? `${priorXff}, ${added}` : added;
  }
  return { xff, proto: f.proto, port: f.port, trace: traceHeader(priorTrace) };
}

/** The rule (or default) action a request takes, with what the actions need of it. */
function route(
  view: ListenerView,
  method: string,
  url: string,
  hostHeader: string | undefined,
  headers: RequestFacts['headers'],
  ip: string,
) {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const facts: RequestFacts = {
    method,
    path,
    host: stripPort(hostHeader ?? '').toLowerCase(),
    headers,
    // Only rules look at the query: a listener without rules does not decode it.
    query: view.rules.length === 0 ? [] : parseQuery(rawQuery),
    sourceIp: ip,
  };
  const rule = view.rules.find((r) => ruleMatches(r.conditions, facts));
  return {
    action: takenAction(rule?.actions ?? view.listener.defaultActions),
    facts,
    path,
    rawQuery,
  };
}

/**
 * The action a rule's (or the default) list ends with is the one taken: the authenticate
 * actions that may come before it are not applied here.
 */
const takenAction = (actions: readonly Action[]): Action | undefined => actions.at(-1);

const idleMsOf = (view: ListenerView): number => factsOf(view).idleMs;

const sourceIp = (req: IncomingMessage): string => req.socket.remoteAddress ?? '';

/**
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#redirect-actions
 * "#{protocol}, #{host}, #{port}, #{path} (the leading "/" is removed) and #{query}".
 */
function redirect(
  view: ListenerView,
  action: Action,
  facts: RequestFacts,
  rawQuery: string,
  res: ServerResponse,
  head: boolean,
): void {
  const c = action.RedirectConfig!;
  const vars: Record<string, string> = {
    protocol: view.listener.protocol.toLowerCase(),
    host: facts.host,
    port: String(view.listener.port),
    path: facts.path.replace(/^\//, ''),
    query: rawQuery,
  };
  const fill = (s: string) =>
    s.replace(/#\{(protocol|host|port|path|query)\}/g, (_, k: string) => vars[k]);
  const protocol = fill(c.Protocol ?? '#{protocol}').toLowerCase();
  const port = fill(c.Port ?? '#{port}');
  const defaultPort =
    (protocol === 'https' && port === '443') || (protocol === 'http' && port === '80');
  const query = fill(c.Query ?? '#{query}');
  const location =
    `${protocol}://${fill(c.Host ?? '#{host}')}${defaultPort ? '' : `:${port}`}` +
    `${fill(c.Path ?? '/#{path}')}${query ? `?${query}` : ''}`;
  const status = c.StatusCode === 'HTTP_301' ? 301 : 302;
  const body =
    `<html>\r\n<head><title>${status} ${status === 301 ? 'Moved Permanently' : 'Moved Temporarily'}</title></head>\r\n` +
    `<body>\r\n<center><h1>${status} ${status === 301 ? 'Moved Permanently' : 'Moved Temporarily'}</h1></center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, {
    server: 'awselb/2.0',
    location,
    'content-type': 'text/html',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(head ? undefined : body);
}

/** The whole body, or undefined (once it was all read and dropped) when over `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.once('error', reject);
    // A client gone before the end: nothing to invoke with.
    req.once('close', () => {
      if (!req.complete) reject(new Error('client closed the request'));
    });
  });
}

function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    return [decode(k), decode(v)];
  });
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function stripPort(host: string): string {
  const colon = host.lastIndexOf(':');
  return colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
}

const unmapped = (ip: string): string => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);
