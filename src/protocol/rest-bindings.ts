/**
 * HTTP bindings shared by rest-json and rest-xml
 * (https://smithy.io/2.0/spec/http-bindings.html): the per-model router that maps
 * method + path (+ literal query parts) to an operation, and the uri/querystring/header/
 * headers/statusCode members of inputs and outputs.
 */
import type { OperationModel, ServiceModel, Shape } from './model.js';
import { percentDecode } from '../shared/percent.js';
import { BadValue, INVALID, formatScalar, parseScalar, setKey } from './scalars.js';
import { type MemberInfo, isRecord, shapeOf, structMembers } from './shapes.js';
import { timestampFormatOf } from './timestamps.js';
import type { Struct, WireRequest } from './types.js';

// ---------------------------------------------------------------------------------------
// Routing

type Segment = { kind: 'literal'; text: string } | { kind: 'label'; name: string; greedy: boolean };

interface Route {
  op: OperationModel;
  segments: Segment[];
  /** Literal query parts of the requestUri: `?tagging` → ['tagging', undefined]. */
  queryLiterals: [string, string | undefined][];
  /** Required querystring members and (lower-cased) header members of the input. */
  requiredQuery: string[];
  requiredHeaders: string[];
}

interface TrieNode {
  literal: Map<string, TrieNode>;
  label?: TrieNode;
  /** Routes ending exactly here. */
  routes: Route[];
  /** Routes whose greedy label starts here. */
  greedy: Route[];
}

const newNode = (): TrieNode => ({ literal: new Map(), routes: [], greedy: [] });

interface Router {
  root: TrieNode;
  routes: Map<string, Route>;
}

const routers = new WeakMap<ServiceModel, Router>();

function compileRoute(op: OperationModel, model: ServiceModel): Route {
  const uri = op.http.requestUri;
  const q = uri.indexOf('?');
  const pathPart = q < 0 ? uri : uri.slice(0, q);
  const queryLiterals: [string, string | undefined][] = [];
  if (q >= 0) {
    for (const part of uri.slice(q + 1).split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      queryLiterals.push(eq < 0 ? [part, undefined] : [part.slice(0, eq), part.slice(eq + 1)]);
    }
  }
  const segments: Segment[] = splitPath(pathPart)
    .filter((s, i, all) => !(s === '' && i === all.length - 1))
    .map((s) => {
      const m = /^\{([^}]+?)(\+)?\}$/.exec(s);
      return m ? { kind: 'label', name: m[1], greedy: !!m[2] } : { kind: 'literal', text: s };
    });
  const requiredQuery: string[] = [];
  const requiredHeaders: string[] = [];
  if (op.input) {
    for (const m of structMembers(model, shapeOf(model, op.input.shape))) {
      if (!m.required) continue;
      if (m.ref.location === 'querystring' && m.ref.locationName)
        requiredQuery.push(m.ref.locationName);
      if (m.ref.location === 'header' && m.ref.locationName) {
        requiredHeaders.push(m.ref.locationName.toLowerCase());
      }
    }
  }
  return { op, segments, queryLiterals, requiredQuery, requiredHeaders };
}

/** Path segments without the leading slash ('/a/b/' → ['a', 'b', '']). */
function splitPath(path: string): string[] {
  const p = path.startsWith('/') ? path.slice(1) : path;
  return p === '' ? [] : p.split('/');
}

function router(model: ServiceModel): Router {
  let r = routers.get(model);
  if (r) return r;
  r = { root: newNode(), routes: new Map() };
  for (const op of Object.values(model.operations)) {
    const route = compileRoute(op, model);
    r.routes.set(op.name, route);
    let node = r.root;
    let greedy = false;
    for (const seg of route.segments) {
      if (seg.kind === 'literal') {
        let next = node.literal.get(seg.text);
        if (!next) node.literal.set(seg.text, (next = newNode()));
        node = next;
      } else if (seg.greedy) {
        node.greedy.push(route);
        greedy = true;
        break;
      } else {
        node = node.label ??= newNode();
      }
    }
    if (!greedy) node.routes.push(route);
  }
  routers.set(model, r);
  return r;
}

export type RouteResult =
  | { op: OperationModel }
  /** The path is known but not for this method. */
  | { op: undefined; methodMismatch: boolean };

/**
 * The operation for a request: literal segments beat labels, labels beat greedy labels;
 * among routes with the same path, those whose literal query parts, required query
 * parameters and required headers are all present win, the most demanding first
 * (S3: UploadPartCopy over UploadPart over CopyObject over PutObject).
 */
export function resolveRoute(req: WireRequest, model: ServiceModel): RouteResult {
  const segs = splitPath(req.path);
  const state = { methodMismatch: false };
  const route = walk(router(model).root, segs, 0, req, state);
  return route ? { op: route.op } : { op: undefined, methodMismatch: state.methodMismatch };
}

function walk(
  node: TrieNode,
  segs: string[],
  i: number,
  req: WireRequest,
  state: { methodMismatch: boolean },
): Route | undefined {
  // A trailing slash matches the route without it ('/bucket/' is ListObjects on 'bucket').
  if (i === segs.length || (i === segs.length - 1 && segs[i] === '')) {
    const r = pick(node.routes, req, state);
    if (r) return r;
  }
  if (i < segs.length) {
    const lit = node.literal.get(segs[i]);
    if (lit) {
      const r = walk(lit, segs, i + 1, req, state);
      if (r) return r;
    }
    if (node.label && segs[i] !== '') {
      const r = walk(node.label, segs, i + 1, req, state);
      if (r) return r;
    }
    if (node.greedy.length && segs.slice(i).join('/') !== '') {
      return pick(node.greedy, req, state);
    }
  }
  return undefined;
}

function pick(
  routes: Route[],
  req: WireRequest,
  state: { methodMismatch: boolean },
): Route | undefined {
  if (routes.length === 0) return undefined;
  let best: Route | undefined;
  let bestScore = -1;
  const xId = req.query.get('x-id');
  for (const r of routes) {
    if (r.op.http.method !== req.method) {
      state.methodMismatch = true;
      continue;
    }
    let ok = true;
    for (const [k, v] of r.queryLiterals) {
      const got = req.query.get(k);
      if (got === null || (v !== undefined && got !== v)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    let bindings = 0;
    let complete = true;
    for (const k of r.requiredQuery) {
      if (req.query.has(k)) bindings++;
      else complete = false;
    }
    for (const h of r.requiredHeaders) {
      if (req.headers[h] !== undefined) bindings++;
      else complete = false;
    }
    // SDK v3 adds `x-id=<Operation>` to S3 requests that would otherwise be ambiguous.
    const score =
      (xId === r.op.name ? 1_000_000 : 0) +
      (complete ? 10_000 : 0) +
      r.queryLiterals.length * 100 +
      bindings +
      // A deprecated operation loses a tie with its successor on the same route (S3's
      // PutBucketNotification and PutBucketNotificationConfiguration).
      (r.op.deprecated ? 0 : 0.5);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

/** URI label values of the operation's route for this request (percent-decoded). */
export function uriLabels(
  req: WireRequest,
  op: OperationModel,
  model: ServiceModel,
): Record<string, string> {
  const route = router(model).routes.get(op.name);
  const labels: Record<string, string> = {};
  if (!route) return labels;
  const segs = splitPath(req.path);
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i];
    if (seg.kind !== 'label') continue;
    if (seg.greedy) {
      labels[seg.name] = percentDecode(segs.slice(i).join('/'));
      break;
    }
    if (i < segs.length) labels[seg.name] = percentDecode(segs[i]);
  }
  return labels;
}

// ---------------------------------------------------------------------------------------
// Bound members

interface BindingPlan {
  uri: MemberInfo[];
  query: MemberInfo[];
  /** A map member bound to the whole query string (`location: querystring`, no name). */
  queryMap?: MemberInfo;
  header: MemberInfo[];
  prefixHeaders: MemberInfo[];
  statusCode?: MemberInfo;
  payload?: MemberInfo;
  /** Members that live in the body when there is no payload member. */
  body: MemberInfo[];
  hasBindings: boolean;
}

const plans = new WeakMap<Shape, BindingPlan>();

export function bindingPlan(shape: Shape, model: ServiceModel): BindingPlan {
  let plan = plans.get(shape);
  if (plan) return plan;
  plan = { uri: [], query: [], header: [], prefixHeaders: [], body: [], hasBindings: false };
  for (const m of structMembers(model, shape)) {
    switch (m.ref.location) {
      case 'uri':
        plan.uri.push(m);
        break;
      case 'querystring':
        if (m.shape.type === 'map') plan.queryMap = m;
        else plan.query.push(m);
        break;
      case 'header':
        plan.header.push(m);
        break;
      case 'headers':
        plan.prefixHeaders.push(m);
        break;
      case 'statusCode':
        plan.statusCode = m;
        break;
      default:
        if (m.name === shape.payload) plan.payload = m;
        else plan.body.push(m);
    }
  }
  plan.hasBindings =
    plan.uri.length + plan.query.length + plan.header.length + plan.prefixHeaders.length > 0 ||
    !!plan.queryMap ||
    !!plan.statusCode ||
    !!plan.payload;
  plans.set(shape, plan);
  return plan;
}

/** Whether a member is bound to this header (then it sets the value, not the codec). */
export function bindsHeader(shape: Shape, model: ServiceModel, lowerName: string): boolean {
  return bindingPlan(shape, model).header.some(
    (m) => (m.ref.locationName ?? '').toLowerCase() === lowerName,
  );
}

function scalar(raw: string, m: MemberInfo, shape: Shape = m.shape): unknown {
  const v = parseScalar(raw, shape);
  if (v === INVALID) throw new BadValue(raw, shape).prepend(m.path, m.ref.locationName ?? m.name);
  return v;
}

/**
 * Reads uri, querystring and header members into `input`. Throws BadValue (with the
 * member's path) for text that does not fit its type.
 */
export function readBoundMembers(
  req: WireRequest,
  op: OperationModel,
  shape: Shape,
  model: ServiceModel,
  input: Struct,
): void {
  const plan = bindingPlan(shape, model);
  if (plan.uri.length) {
    const labels = uriLabels(req, op, model);
    for (const m of plan.uri) {
      const raw = labels[m.ref.locationName ?? m.name];
      if (raw !== undefined) input[m.name] = scalar(raw, m);
    }
  }
  for (const m of plan.query) {
    const name = m.ref.locationName ?? m.name;
    if (m.shape.type === 'list') {
      const all = req.query.getAll(name);
      if (all.length === 0) continue;
      const ms = shapeOf(model, m.shape.member!.shape);
      input[m.name] = all.map((raw) => scalar(raw, m, ms));
    } else {
      const raw = req.query.get(name);
      if (raw !== null) input[m.name] = scalar(raw, m);
    }
  }
  if (plan.queryMap) {
    // Parameters bound to named members stay out of the catch-all map.
    const taken = new Set(plan.query.map((m) => m.ref.locationName ?? m.name));
    const vs = shapeOf(model, plan.queryMap.shape.value!.shape);
    const map: Struct = {};
    let any = false;
    for (const [k, raw] of req.query) {
      if (taken.has(k)) continue;
      any = true;
      if (vs.type === 'list') {
        const prev = map[k];
        if (Array.isArray(prev)) prev.push(raw);
        else setKey(map, k, [raw]);
      } else if (!Object.hasOwn(map, k)) setKey(map, k, raw);
    }
    if (any) input[plan.queryMap.name] = map;
  }
  for (const m of plan.header) {
    const raw = req.headers[(m.ref.locationName ?? m.name).toLowerCase()];
    if (raw === undefined) continue;
    input[m.name] = readHeader(raw, m, model);
  }
  for (const m of plan.prefixHeaders) {
    const prefix = (m.ref.locationName ?? '').toLowerCase();
    const map: Struct = {};
    let any = false;
    for (const [k, v] of Object.entries(req.headers)) {
      if (k.startsWith(prefix) && k.length > prefix.length) {
        setKey(map, k.slice(prefix.length), v);
        any = true;
      }
    }
    if (any) input[m.name] = map;
  }
}

function readHeader(raw: string, m: MemberInfo, model: ServiceModel): unknown {
  if (m.shape.type === 'string' && m.ref.jsonvalue) {
    try {
      return JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as unknown;
    } catch {
      throw new BadValue(raw, m.shape).prepend(m.path, m.ref.locationName ?? m.name);
    }
  }
  if (m.shape.type === 'list') {
    const ms = shapeOf(model, m.shape.member!.shape);
    // HTTP dates contain a comma themselves: split after each `GMT`.
    const parts = ms.type === 'timestamp' ? raw.split(/(?<=GMT)\s*,\s*/) : splitHeaderList(raw);
    return parts.map((p) => scalar(p, m, ms));
  }
  return scalar(m.shape.type === 'string' ? raw : raw.trim(), m);
}

/** Comma-separated header items; items may be quoted strings (RFC 9110 §5.6.4). */
function splitHeaderList(raw: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i <= raw.length) {
    while (raw[i] === ' ' || raw[i] === '\t') i++;
    let item = '';
    if (raw[i] === '"') {
      for (i++; i < raw.length && raw[i] !== '"'; i++) item += raw[i] === '\\' ? raw[++i] : raw[i];
      i = raw.indexOf(',', i);
    } else {
      const end = raw.indexOf(',', i);
      item = (end < 0 ? raw.slice(i) : raw.slice(i, end)).trim();
      i = end;
    }
    items.push(item);
    if (i < 0) break;
    i++;
  }
  return items;
}

/** Characters Node refuses in header values (and CR/LF, which would split the header). */
const UNSAFE_HEADER = /[^\t\x20-\x7e]/;

/** A header value; non-ASCII text goes out RFC 2047-encoded, as S3 does for metadata. */
export function headerText(s: string): string {
  return UNSAFE_HEADER.test(s) ? `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=` : s;
}

function formatHeader(v: unknown, m: MemberInfo, model: ServiceModel): string {
  if (m.ref.jsonvalue) return Buffer.from(JSON.stringify(v)).toString('base64');
  if (m.shape.type === 'list' && Array.isArray(v)) {
    const ms = shapeOf(model, m.shape.member!.shape);
    return v
      .map((x) => {
        const s = formatScalar(x, ms, m.shape.member, 'rfc822');
        return ms.type === 'string' && /[",]/.test(s) ? `"${s.replace(/(["\\])/g, '\\$1')}"` : s;
      })
      .join(', ');
  }
  return formatScalar(v, m.shape, m.ref, timestampFormatOf(m.ref, m.shape, 'rfc822'));
}

/**
 * Writes header/headers members of an output (or error) to `headers` and returns the
 * value of a statusCode member, if any.
 */
export function writeBoundMembers(
  v: Struct,
  shape: Shape,
  model: ServiceModel,
  headers: Record<string, string>,
): number | undefined {
  const plan = bindingPlan(shape, model);
  for (const m of plan.header) {
    const val = v[m.name];
    if (val === undefined || val === null) continue;
    headers[m.ref.locationName ?? m.name] = headerText(formatHeader(val, m, model));
  }
  for (const m of plan.prefixHeaders) {
    const map = v[m.name];
    if (!isRecord(map)) continue;
    const prefix = m.ref.locationName ?? '';
    for (const [k, val] of Object.entries(map)) {
      if (val !== undefined && val !== null) headers[prefix + k] = headerText(String(val));
    }
  }
  if (plan.statusCode) {
    const s = v[plan.statusCode.name];
    if (typeof s === 'number') return s;
  }
  return undefined;
}
