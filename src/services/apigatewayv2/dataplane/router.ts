/**
 * HTTP API route selection. "API Gateway selects the route with the most-specific match,
 * using the following priorities: 1. Full match for a route and method. 2. Match for a
 * route and method with a greedy path variable ({proxy+}). 3. The $default route."
 * Routes with a method win over ANY; literal segments win over path variables.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
 */
import { percentDecode } from '../../../shared/percent.js';

interface Segment {
  literal?: string;
  /** A path variable's name (`{id}` → 'id'). */
  variable?: string;
}

interface Compiled<R> {
  route: R;
  method: string;
  segments: Segment[];
  /** The greedy variable's name when the key ends in `{name+}`. */
  greedy?: string;
}

export interface RouteMatch<R> {
  route: R;
  routeKey: string;
  pathParameters: Record<string, string>;
}

export class Router<R extends { routeKey: string }> {
  private readonly routes: Compiled<R>[] = [];
  private readonly fallback?: R;

  constructor(routes: readonly R[]) {
    for (const route of routes) {
      if (route.routeKey === '$default') {
        this.fallback = route;
        continue;
      }
      const space = route.routeKey.indexOf(' ');
      if (space < 0) continue;
      const method = route.routeKey.slice(0, space);
      const parts = route.routeKey
        .slice(space + 1)
        .split('/')
        .slice(1);
      const segments: Segment[] = [];
      let greedy: string | undefined;
      parts.forEach((part, i) => {
        const m = /^\{([^}+]+)(\+?)\}$/.exec(part);
        if (m && m[2] === '+' && i === parts.length - 1) greedy = m[1];
        else if (m) segments.push({ variable: m[1] });
        else segments.push({ literal: part });
      });
      this.routes.push({ route, method, segments, greedy });
    }
    this.routes.sort(bySpecificity);
  }

  /** The route for `method` and `path` (percent-encoded, starting with '/'). */
  match(method: string, path: string): RouteMatch<R> | undefined {
    const parts = path.split('/').slice(1);
    for (const c of this.routes) {
      if (c.method !== method && c.method !== 'ANY') continue;
      const params = matchSegments(c, parts);
      if (params) return { route: c.route, routeKey: c.route.routeKey, pathParameters: params };
    }
    if (this.fallback) {
      return { route: this.fallback, routeKey: '$default', pathParameters: {} };
    }
    return undefined;
  }
}

function matchSegments<R>(c: Compiled<R>, parts: string[]): Record<string, string> | undefined {
  const fixed = c.segments.length;
  if (c.greedy === undefined ? parts.length !== fixed : parts.length <= fixed) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < fixed; i++) {
    const seg = c.segments[i];
    const part = parts[i];
    if (seg.literal !== undefined) {
      if (seg.literal !== part && seg.literal !== percentDecode(part)) return undefined;
    } else {
      if (part === '') return undefined;
      params[seg.variable as string] = percentDecode(part);
    }
  }
  if (c.greedy !== undefined) {
    const rest = parts.slice(fixed).join('/');
    if (rest === '') return undefined;
    params[c.greedy] = percentDecode(rest);
  }
  return params;
}

/** Full matches before greedy ones; then literals before variables, left to right; then longer fixed prefixes; then methods before ANY. */
function bySpecificity<R>(a: Compiled<R>, b: Compiled<R>): number {
  const ga = a.greedy !== undefined ? 1 : 0;
  const gb = b.greedy !== undefined ? 1 : 0;
  if (ga !== gb) return ga - gb;
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const la = a.segments[i].literal !== undefined ? 0 : 1;
    const lb = b.segments[i].literal !== undefined ? 0 : 1;
    if (la !== lb) return la - lb;
  }
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  const ma = a.method === 'ANY' ? 1 : 0;
  const mb = b.method === 'ANY' ? 1 : 0;
  return ma - mb;
}
