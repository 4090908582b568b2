/**
 * Matching a request path to a deployed resource: literal path parts first, then a
 * `{param}` part, then a greedy `{proxy+}` that takes the rest (one segment at least), the
 * precedence AWS applies ("the most specific match wins").
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html#api-gateway-proxy-resource
 */
import type { Method } from '../../../api/apigateway/types.js';
import { resourcePath } from '../common.js';
import type { ApiDefinition, ResourceRecord } from '../store.js';

interface Node {
  resource?: ResourceRecord;
  path: string;
  literal: Map<string, Node>;
  param?: { name: string; node: Node };
  greedy?: { name: string; node: Node };
}

export interface RouteMatch {
  resource: ResourceRecord;
  /** `/items/{id}` */
  resourcePath: string;
  method: Method;
  pathParameters: Record<string, string>;
}

export class Router {
  private readonly root: Node;

  constructor(def: ApiDefinition) {
    const nodes = new Map<string, Node>();
    const nodeOf = (id: string): Node => {
      let n = nodes.get(id);
      if (n) return n;
      const r = def.resources[id];
      n = { literal: new Map(), path: resourcePath(def.resources, id), ...(r && { resource: r }) };
      nodes.set(id, n);
      if (r?.parentId !== undefined && r.pathPart !== undefined) {
        const parent = nodeOf(r.parentId);
        const part = r.pathPart;
        const m = /^\{(.+?)(\+?)\}$/.exec(part);
        if (m?.[1] !== undefined) {
          if (m[2] === '+') parent.greedy = { name: m[1], node: n };
          else parent.param = { name: m[1], node: n };
        } else parent.literal.set(part, n);
      }
      return n;
    };
    for (const id of Object.keys(def.resources)) nodeOf(id);
    this.root = nodeOf(def.rootResourceId);
  }

  /**
   * The resource and method for `segments` (decoded path parts after the stage) and the
   * HTTP method (ANY when the resource has no method of that name). Undefined when no
   * resource matches; `method` undefined when the resource has neither.
   */
  match(
    segments: readonly string[],
    httpMethod: string,
  ): { route?: RouteMatch; resourceFound: boolean } {
    const params: Record<string, string> = {};
    // `/prod/` is the root like `/prod`, and `/items/` is `/items`.
    const segs = segments.at(-1) === '' ? segments.slice(0, -1) : segments;
    const found = walk(this.root, segs, 0, params, httpMethod);
    if (!found) return { resourceFound: false };
    const r = found.resource;
    const method = r?.methods[httpMethod] ?? r?.methods.ANY;
    if (!r || !method) return { resourceFound: r !== undefined };
    return {
      resourceFound: true,
      route: { resource: r, resourcePath: found.path, method, pathParameters: params },
    };
  }
}

function walk(
  node: Node,
  segs: readonly string[],
  i: number,
  params: Record<string, string>,
  httpMethod: string,
): Node | undefined {
  if (i === segs.length) return node.resource ? node : undefined;
  const seg = segs[i] as string;
  const lit = node.literal.get(seg);
  if (lit) {
    const hit = walk(lit, segs, i + 1, params, httpMethod);
    if (hit && hasMethod(hit, httpMethod)) return hit;
  }
  if (node.param && seg !== '') {
    const hit = walk(node.param.node, segs, i + 1, params, httpMethod);
    if (hit && hasMethod(hit, httpMethod)) {
      params[node.param.name] = seg;
      return hit;
    }
  }
  if (node.greedy && segs.slice(i).join('/') !== '') {
    params[node.greedy.name] = segs.slice(i).join('/');
    return node.greedy.node;
  }
  // A literal or parameter match without the method still names the resource (405-like 403).
  return lit ? walk(lit, segs, i + 1, params, httpMethod) : undefined;
}

const hasMethod = (n: Node, m: string): boolean =>
  n.resource !== undefined && (m in n.resource.methods || 'ANY' in n.resource.methods);
