/**
 * API Gateway's invoke URLs: one data plane for REST (v1), HTTP and WebSocket (v2) APIs,
 * which share one id space and one host form on AWS (`<api-id>.execute-api.<region>.
 * amazonaws.com`). The gateway owns the plane and hands the `executeApis` link to the
 * services that own APIs; each registers a backend, and a request goes to the backend that
 * knows its API id.
 *
 * URL forms (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html):
 *   host  http://<api-id>.execute-api.localhost:4566/<stage>/<path>
 *   path  http://127.0.0.1:4566/restapis/<api-id>/<stage>/_user_request_/<path>
 *         (the form existing local-AWS tooling knows, for clients that cannot set a host)
 * Both reach a backend as the same target: the API id and `/<stage>/<path>`. An HTTP API's
 * `$default` stage has no stage segment on AWS's host form; the backend decides whether
 * the first segment names a stage.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { DataPlane, RouteMatch } from '../services/plugin.js';

/** What a backend is asked to serve. */
export interface ExecuteApiTarget {
  apiId: string;
  /** `/<stage>/<path>`, still percent-encoded, without the query string. */
  path: string;
  /** The raw query string without `?` ('' when none). */
  query: string;
  /** The region of the host form when it names one. */
  region?: string;
  /** Which URL form the client used (the backend reports invoke URLs in the same form). */
  form: 'host' | 'path';
}

/** One kind of API (REST, or HTTP and WebSocket) that answers its invoke URLs. */
export interface ExecuteApiBackend {
  /** Whether `apiId` is one of this backend's APIs (in any account or region). */
  owns(apiId: string): Promise<boolean>;
  handle(req: IncomingMessage, res: ServerResponse, target: ExecuteApiTarget): Promise<void>;
  /** A WebSocket handshake (`Upgrade: websocket`) for one of its APIs. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, target: ExecuteApiTarget): void;
  /**
   * The server is shutting down: end open WebSockets now, without running routes (a
   * `$disconnect` would call services that are stopping).
   */
  shutdown?(): void;
}

/** The `executeApis` link: services register the backend for their APIs. */
export interface ExecuteApiRegistry {
  register(backend: ExecuteApiBackend): void;
}

const PATH_FORM = /^\/restapis\/([^/?]+)\/([^/?]+)\/_user_request_(\/[^?]*)?(?:\?(.*))?$/;
const STRATUS_FORM = /^\/_stratus\/execute-api\/([^/?]+)(\/[^?]*)?(?:\?(.*))?$/;

/**
 * The API chain, for the `@connections` management API on the invoke host
 * (`https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/@connections/<id>`): the
 * request is an apigatewaymanagementapi call whose operation path starts at `/@connections`.
 */
export type ApiChain = (
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  operationPath: string,
) => Promise<void>;

const CONNECTIONS_PATH = /^\/[^/]+(\/@connections(?:\/.*)?)$/;

export class ExecuteApis implements ExecuteApiRegistry {
  private readonly backends: ExecuteApiBackend[] = [];
  /** Set by the server once its chain exists. */
  apiChain: ApiChain | undefined;

  register(backend: ExecuteApiBackend): void {
    this.backends.push(backend);
  }

  /** Tells every backend the server is shutting down. */
  shutdown(): void {
    for (const backend of this.backends) backend.shutdown?.();
  }

  /** The data plane for the route table. */
  plane(): DataPlane {
    return {
      name: 'execute-api',
      title: 'API Gateway invoke URLs',
      hosts: [
        '{api-id}.execute-api.localhost',
        '{api-id}.execute-api.{region}.localhost',
        '{api-id}.execute-api.{region}.amazonaws.com',
      ],
      paths: ['/restapis/{api-id}/{stage}/_user_request_/', '/_stratus/execute-api/{api-id}/'],
      // IAM-authorised routes are signed for execute-api; `/restapis/…` signed for
      // apigateway is the REST API's control plane.
      signedFor: ['execute-api'],
      handle: (req, res, match) => this.handle(req, res, match),
      upgrade: (req, socket, head, match) => this.upgrade(req, socket, head, match),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse, match: RouteMatch) {
    const target = targetOf(req.url ?? '/', match);
    const connections = target && CONNECTIONS_PATH.exec(target.path);
    if (connections && this.apiChain) {
      const q = target.query ? `?${target.query}` : '';
      return this.apiChain(req, res, req.url ?? '/', `${connections[1] as string}${q}`);
    }
    const backend = target && (await this.backendFor(target.apiId));
    if (!target || !backend) {
      req.resume();
      return forbidden(res);
    }
    return backend.handle(req, res, target);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: RouteMatch): void {
    const target = targetOf(req.url ?? '/', match);
    if (!target) return refuseUpgrade(socket, 403);
    this.backendFor(target.apiId).then(
      (backend) => {
        if (!backend?.upgrade) return refuseUpgrade(socket, backend ? 400 : 403);
        backend.upgrade(req, socket, head, target);
      },
      () => refuseUpgrade(socket, 500),
    );
  }

  private async backendFor(apiId: string): Promise<ExecuteApiBackend | undefined> {
    for (const backend of this.backends) if (await backend.owns(apiId)) return backend;
    return undefined;
  }
}

/** The API id and `/<stage>/<path>` of either URL form; undefined for neither. */
export function targetOf(url: string, match: RouteMatch): ExecuteApiTarget | undefined {
  if (match.host) {
    const apiId = match.host['api-id'];
    if (apiId === undefined) return undefined;
    const q = url.indexOf('?');
    return {
      apiId,
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      region: match.host.region,
      form: 'host',
    };
  }
  const m = PATH_FORM.exec(url);
  if (m) {
    return {
      apiId: m[1] as string,
      path: `/${m[2] as string}${m[3] ?? '/'}`,
      query: m[4] ?? '',
      form: 'path',
    };
  }
  const s = STRATUS_FORM.exec(url);
  if (s) return { apiId: s[1] as string, path: s[2] ?? '/', query: s[3] ?? '', form: 'path' };
  return undefined;
}

/**
 * What API Gateway answers for an API or route that does not exist.
 * https://repost.aws/knowledge-center/api-gateway-authentication-token-errors
 */
function forbidden(res: ServerResponse): void {
  const body = JSON.stringify({ message: 'Missing Authentication Token' });
  res.writeHead(403, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': 'MissingAuthenticationTokenException',
  });
  res.end(body);
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
};

/** Refuses a WebSocket handshake with a plain HTTP status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Length: 0\r\n\r\n`);
}
