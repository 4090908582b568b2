/**
 * The routing table: which data plane, admin endpoint or the AWS API chain answers a
 * request, decided here and nowhere else, the way AWS's own front ends tell them apart:
 *
 *  1. Host. A data plane's host forms (`<url-id>.lambda-url.<region>.localhost`,
 *     `<account>.dkr.ecr.<region>.amazonaws.com`, …) take every request sent to them; WebSocket
 *     handshakes go to the data plane's `upgrade` the same way.
 *  2. SigV4 credential scope. A request signed for a service is an API call, unless a data
 *     plane declares that service for its paths (`signedFor`).
 *  3. Path. Data planes' path forms (`/v2/`, `/_stratus/lambda-url/<url-id>/`), Stratus's
 *     own `/_stratus/…`, `GET /` (what is running); everything else is the API chain.
 *
 * `*.localhost` names reach 127.0.0.1 from curl and browsers without set-up, but not
 * through glibc's resolver (Node, Python, the SDKs) without an /etc/hosts line: every host
 * form has a path form beside it.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { DataPlane, RouteMatch } from '../services/plugin.js';

export type Route =
  | { kind: 'api' }
  | { kind: 'home' }
  | { kind: 'admin' }
  | { kind: 'plane'; plane: DataPlane; match: RouteMatch };

const API: Route = { kind: 'api' };
const HOME: Route = { kind: 'home' };
const ADMIN: Route = { kind: 'admin' };
const BY_PATH: RouteMatch = Object.freeze({});

/** Stratus's own paths: no AWS API uses them, so a signature there is never an API call. */
export const STRATUS_PATH_PREFIX = '/_stratus/';

interface HostPattern {
  plane: DataPlane;
  regex: RegExp;
  labels: string[];
}

interface PathRoute {
  prefix: string;
  plane: DataPlane;
  signedFor: ReadonlySet<string>;
  route: Route;
}

export class RouteTable {
  private readonly hosts: HostPattern[] = [];
  /** One test that no host form can match (IP literals, `localhost`): the common case. */
  private readonly hostFilter: RegExp;
  /** Longest prefix first, so a more specific data plane wins. */
  private readonly paths: PathRoute[] = [];

  constructor(readonly planes: readonly DataPlane[]) {
    const suffixes = new Set<string>();
    for (const plane of planes) {
      for (const template of plane.hosts ?? []) {
        const { regex, labels } = compileHost(template);
        this.hosts.push({ plane, regex, labels });
        suffixes.add(template.slice(template.lastIndexOf('}') + 1));
      }
      for (const template of plane.paths ?? []) {
        const brace = template.indexOf('{');
        const prefix = brace < 0 ? template : template.slice(0, brace);
        this.paths.push({
          prefix,
          plane,
          signedFor: new Set(prefix.startsWith(STRATUS_PATH_PREFIX) ? [] : plane.signedFor),
          route: { kind: 'plane', plane, match: BY_PATH },
        });
      }
    }
    this.paths.sort((a, b) => b.prefix.length - a.prefix.length);
    const alternatives = [...suffixes].map(escapeRegex).join('|');
    this.hostFilter = new RegExp(`(?:${alternatives || '(?!)'})(?::\\d+)?$`, 'i');
  }

  route(method: string, url: string, headers: IncomingHttpHeaders): Route {
    // 1. Host
    const host = headers.host;
    if (host !== undefined && this.hostFilter.test(host)) {
      const byHost = this.matchHost(host);
      if (byHost) return byHost;
    }
    // 2 and 3. Credential scope, then path.
    for (const p of this.paths) {
      if (!url.startsWith(p.prefix)) continue;
      if (p.prefix.startsWith(STRATUS_PATH_PREFIX)) return p.route;
      const scope = signingService(url, headers);
      if (scope === undefined || p.signedFor.has(scope)) return p.route;
    }
    // A browser that opened GET / asks for an icon next: a plain 404, not an AWS error.
    if (url.startsWith(STRATUS_PATH_PREFIX) || url === '/favicon.ico') return ADMIN;
    if (
      url === '/' &&
      (method === 'GET' || method === 'HEAD') &&
      headers['x-amz-target'] === undefined &&
      signingService(url, headers) === undefined
    ) {
      return HOME;
    }
    return API;
  }

  private matchHost(raw: string): Route | undefined {
    const host = stripPort(raw.toLowerCase());
    for (const { plane, regex, labels } of this.hosts) {
      const m = regex.exec(host);
      if (!m) continue;
      const captured: Record<string, string> = {};
      labels.forEach((label, i) => (captured[label] = m[i + 1]));
      return { kind: 'plane', plane, match: { host: captured } };
    }
    return undefined;
  }

  /** Each data plane with its URL forms for `endpoint` (e.g. http://127.0.0.1:4566). */
  forms(endpoint: string): { name: string; title: string; urls: string[] }[] {
    const { protocol, host, port } = new URL(endpoint);
    const suffix = port ? `:${port}` : '';
    return this.planes.map((plane) => ({
      name: plane.name,
      title: plane.title,
      urls: [
        ...(plane.hosts ?? []).map((h) => `${protocol}//${placeholders(h)}${suffix}/`),
        ...(plane.paths ?? []).map((p) => `${protocol}//${host}${placeholders(p)}`),
      ],
    }));
  }

  /** The message for a request no route claims: which host and path forms exist. */
  unclaimed(endpoint: string): string {
    const lines = this.forms(endpoint).map((f) => `${f.title}: ${f.urls.join(' or ')}`);
    return (
      'Could not tell which AWS service or Stratus data plane this request is for. API calls: ' +
      'sign them with SigV4 (the credential scope names the service) or send X-Amz-Target. ' +
      `Data planes: ${lines.join('; ')}. What is running: GET ${endpoint}/`
    );
  }
}

/**
 * The service of the SigV4 credential scope (`<key>/<date>/<region>/<service>/aws4_request`)
 * in the Authorization header or a presigned URL's X-Amz-Credential; undefined when unsigned.
 * Only reads: the chain parses and verifies the signature itself.
 */
export function signingService(url: string, headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  let credential: string | undefined;
  if (auth !== undefined && auth.startsWith('AWS4-')) {
    const at = auth.indexOf('Credential=');
    if (at < 0) return undefined;
    const end = auth.indexOf(',', at);
    credential = auth.slice(at + 11, end < 0 ? undefined : end).trim();
  } else {
    const at = url.indexOf('X-Amz-Credential=');
    if (at < 0) return undefined;
    const end = url.indexOf('&', at);
    try {
      credential = decodeURIComponent(url.slice(at + 17, end < 0 ? undefined : end));
    } catch {
      return undefined;
    }
  }
  const parts = credential.split('/');
  return parts.length === 5 ? parts[3] : undefined;
}

/** `{id}.lambda-url.{region}.localhost` → an anchored regex capturing id and region. */
function compileHost(template: string): { regex: RegExp; labels: string[] } {
  const labels: string[] = [];
  let source = '';
  let rest = template;
  for (let open = rest.indexOf('{'); open >= 0; open = rest.indexOf('{')) {
    const close = rest.indexOf('}', open);
    source += escapeRegex(rest.slice(0, open)) + '([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)';
    labels.push(rest.slice(open + 1, close));
    rest = rest.slice(close + 1);
  }
  return { regex: new RegExp(`^${source}${escapeRegex(rest)}$`), labels };
}

function stripPort(host: string): string {
  const colon = host.lastIndexOf(':');
  return colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const placeholders = (template: string) => template.replace(/\{([^}]+)\}/g, '<$1>');

/**
 * S3's virtual-hosted style: the bucket is the host's first labels, the rest of the
 * request is an S3 API call (path style's `/<bucket>/<key>` is one already).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
export function s3VirtualHosts(
  api: (req: IncomingMessage, res: ServerResponse, url: string, bucket: string) => Promise<void>,
): DataPlane {
  return {
    name: 's3',
    title: 'S3 virtual-hosted buckets',
    hosts: [
      '{bucket}.s3.localhost',
      '{bucket}.s3.amazonaws.com',
      '{bucket}.s3.{region}.amazonaws.com',
      '{bucket}.s3-{region}.amazonaws.com',
    ],
    // The path form is S3's own path style (http://127.0.0.1:4566/<bucket>/<key>): an API call.
    apiCalls: true,
    handle: (req, res, match) => api(req, res, req.url ?? '/', match.host?.bucket ?? ''),
  };
}
