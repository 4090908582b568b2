/**
 * Stratus's own endpoints:
 *  - `GET /`: what is running (HTML for a browser, JSON for `Accept: application/json`,
 *    plain text otherwise): version, state, auth mode, services with their operation
 *    counts, and the URL forms of every data plane;
 *  - `GET /_stratus/health`: readiness (200 once every service started);
 *  - `GET /_stratus/iam/denied`: what `--iam soft` would have refused, per principal, with
 *    the policy that would allow it;
 *  - `POST /_stratus/reset`: wipes all state, for test suites. Open in permissive mode on a
 *    loopback address; otherwise (strict mode, or bound beyond loopback) it must be signed
 *    with SigV4 by the root keys (any service and region in the credential scope).
 *  - `GET /_stratus/memory`: the server's memory (RSS, V8 heap, external and array
 *    buffers, live handles by kind), and `POST /_stratus/gc`: SQLite's page cache given
 *    back, a full garbage collection, then malloc's free memory returned to the system
 *    (malloc-trim.ts; the answer's `mallocTrim` says `released`, `none` or, without
 *    glibc, `unavailable`), when node runs with `--expose-gc`
 *    (`NODE_OPTIONS=--expose-gc`): to tell a leak from a cache or a high-water mark
 *    (bench/fuzz.ts). Guarded as reset is: a full collection stops the server a moment.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { StratusConfig } from '../config.js';
import { parseSignature, verifySignature } from '../protocol/sigv4.js';
import { sigV4Error } from '../protocol/sigv4-errors.js';
import { dispatchHas } from '../services/plugin.js';
import { AwsError } from '../shared/errors.js';
import type { BlobStore, MetadataStore } from '../storage/types.js';
import { AuthErrors } from './auth.js';
import type { DenialLog } from './authorize.js';
import { readBody } from './body.js';
import { modelledOperationCounts } from './operation-counts.js';
import type { RouteTable } from './routes.js';
import type { TrimOutcome } from './malloc-trim.js';
import { ServiceRegistry } from './services.js';

export interface AdminDeps {
  config: StratusConfig;
  registry: ServiceRegistry;
  routes: RouteTable;
  store: MetadataStore;
  blobs: BlobStore;
  version: string;
  /** e.g. http://127.0.0.1:4566 */
  endpoint(): string;
  isReady(): boolean;
  /** What soft IAM mode would have refused (GET /_stratus/iam/denied). */
  denials?: DenialLog;
  /** The bill's meter: what it holds unwritten goes with a reset. */
  ledger?: { reset(): Promise<void> };
  /** Returns malloc's free memory to the system (malloc-trim.ts); POST /_stratus/gc calls it. */
  trimMemory: () => TrimOutcome;
}

export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  deps: AdminDeps,
): Promise<void> {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const path = url.split('?', 1)[0];
  if (path === '/' && (method === 'GET' || method === 'HEAD')) {
    req.resume();
    return home(req, res, deps);
  }
  if (path === '/_stratus/health' && (method === 'GET' || method === 'HEAD')) {
    req.resume();
    const services: Record<string, string> = {};
    for (const { plugin } of deps.registry.implemented()) {
      services[plugin.name] = deps.isReady() ? 'running' : 'starting';
    }
    return json(res, deps.isReady() ? 200 : 503, {
      status: deps.isReady() ? 'running' : 'starting',
      version: deps.version,
      services,
    });
  }
  if (path === '/_stratus/iam/denied' && method === 'GET') {
    req.resume();
    return json(res, 200, { principals: deps.denials?.report() ?? [] });
  }
  if (path === '/_stratus/reset' && method === 'POST') {
    const refused = await authorizeAdmin(req, url, deps.config, 'POST /_stratus/reset');
    if (refused) return awsError(res, refused);
    await deps.ledger?.reset();
    await deps.store.reset();
    await deps.blobs.reset();
    for (const { instance } of deps.registry.implemented()) await instance.reset?.();
    deps.denials?.clear();
    return json(res, 200, { reset: true });
  }
  if (
    (path === '/_stratus/memory' && (method === 'GET' || method === 'HEAD')) ||
    (path === '/_stratus/gc' && method === 'POST')
  ) {
    const refused = await authorizeAdmin(req, url, deps.config, `${method} ${path}`);
    if (refused) return awsError(res, refused);
    if (path === '/_stratus/gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) {
        return json(res, 409, {
          message: 'node runs without --expose-gc: start Stratus with NODE_OPTIONS=--expose-gc',
        });
      }
      await deps.store.releaseMemory();
      gc();
      const mallocTrim = deps.trimMemory();
      return json(res, 200, { ...memory(), mallocTrim });
    }
    return json(res, 200, memory());
  }
  req.resume();
  return json(res, 404, {
    message: `No Stratus admin endpoint ${method} ${path}: see GET ${deps.endpoint()}/`,
  });
}

/** What the process holds, in bytes; `handles` counts libuv handles and requests by kind. */
function memory(): Record<string, unknown> {
  const heap = getHeapStatistics();
  const handles: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  return {
    ...process.memoryUsage(),
    mallocedMemory: heap.malloced_memory,
    peakMallocedMemory: heap.peak_malloced_memory,
    nativeContexts: heap.number_of_native_contexts,
    detachedContexts: heap.number_of_detached_contexts,
    handles,
    /** Each V8 space's committed size and what is in use, in bytes. */
    heapSpaces: Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [
        s.space_name,
        { size: s.space_size, used: s.space_used_size },
      ]),
    ),
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
  };
}

// ----- reset, memory: who may use them ---------------------------------------------------

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Undefined when the caller may use the endpoint; the error to answer otherwise. */
async function authorizeAdmin(
  req: IncomingMessage,
  url: string,
  config: StratusConfig,
  endpoint: string,
): Promise<AwsError | undefined> {
  const open = config.auth === 'permissive' && isLoopback(config.host);
  const body = await readBody(req, 64 * 1024);
  if (open) return undefined;
  if (body === 'too-large') return new AwsError('ValidationException', 400, true, 'Body too large');
  const q = url.indexOf('?');
  const sigReq = {
    method: req.method ?? 'POST',
    path: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers as Record<string, string>,
  };
  const sig = parseSignature(sigReq);
  if (!sig) return AuthErrors.missing('rest-json');
  if ('reason' in sig) return sigV4Error(sig, 'json');
  if (sig.accessKeyId !== config.rootAccessKeyId) {
    return new AwsError(
      'AccessDeniedException',
      403,
      true,
      `${endpoint} needs the root credentials of the default account ` +
        '(STRATUS_ROOT_ACCESS_KEY_ID / STRATUS_ROOT_SECRET_ACCESS_KEY).',
    );
  }
  const failure = verifySignature(sigReq, body, sig, config.rootSecretAccessKey, Date.now());
  return failure ? sigV4Error(failure, 'json') : undefined;
}

// ----- GET / -----------------------------------------------------------------------------

interface ServiceSummary {
  name: string;
  /** Operations the provider answers; 0 for a service recognised but not implemented. */
  implemented: number;
  modelled: number;
}

interface Overview {
  name: 'Stratus';
  version: string;
  status: 'running' | 'starting';
  endpoint: string;
  state: string;
  auth: string;
  account: string;
  region: string;
  services: ServiceSummary[];
  dataPlanes: { name: string; title: string; urls: string[] }[];
  admin: string[];
}

async function overview(deps: AdminDeps): Promise<Overview> {
  const counts = await modelledOperationCounts();
  const implemented = new Map(deps.registry.implemented().map((i) => [i.plugin.name, i]));
  const services: ServiceSummary[] = [];
  for (const info of ServiceRegistry.all()) {
    const impl = implemented.get(info.name);
    let n = 0;
    if (impl) {
      const model = await impl.plugin.model();
      for (const op of Object.keys(model.operations)) {
        if (dispatchHas(impl.instance.dispatch, op)) n++;
      }
    }
    services.push({ name: info.name, implemented: n, modelled: counts.get(info.name) ?? 0 });
  }
  services.sort((a, b) => b.implemented - a.implemented || a.name.localeCompare(b.name));
  const endpoint = deps.endpoint();
  const { config } = deps;
  return {
    name: 'Stratus',
    version: deps.version,
    status: deps.isReady() ? 'running' : 'starting',
    endpoint,
    state: config.ephemeral ? 'ephemeral (nothing is kept)' : config.stateDir,
    auth: config.auth,
    account: config.defaultAccount,
    region: config.defaultRegion,
    services,
    dataPlanes: deps.routes.forms(endpoint),
    admin: [
      `GET ${endpoint}/_stratus/health`,
      `POST ${endpoint}/_stratus/reset`,
      `GET ${endpoint}/_stratus/memory`,
      `POST ${endpoint}/_stratus/gc`,
    ],
  };
}

const LOCALHOST_NOTE =
  '*.localhost names resolve in curl and browsers; Node, Python and the AWS SDKs need an ' +
  '/etc/hosts line for them (as for the AWS names): use the path forms there.';

async function home(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  const o = await overview(deps);
  const accept = req.headers.accept ?? '';
  if (accept.includes('text/html')) return send(res, 200, 'text/html; charset=utf-8', html(o));
  if (accept.includes('application/json')) return json(res, 200, o);
  return send(res, 200, 'text/plain; charset=utf-8', text(o));
}

function text(o: Overview): string {
  const width = Math.max(...o.services.map((s) => s.name.length));
  const lines = [
    `Stratus ${o.version} (${o.status}) at ${o.endpoint}`,
    `state: ${o.state}`,
    `auth: ${o.auth}   default account: ${o.account}   default region: ${o.region}`,
    '',
    'Services (operations implemented / modelled; the others answer NotImplementedException):',
    ...o.services.map(
      (s) => `  ${s.name.padEnd(width)}  ${String(s.implemented).padStart(3)} / ${s.modelled}`,
    ),
    '',
    'Data planes:',
    ...o.dataPlanes.flatMap((p) => [`  ${p.title}`, ...p.urls.map((u) => `    ${u}`)]),
    `  (${LOCALHOST_NOTE})`,
    '',
    'Admin:',
    ...o.admin.map((a) => `  ${a}`),
    '',
    `Point every client here: export AWS_ENDPOINT_URL=${o.endpoint}`,
    '',
  ];
  return lines.join('\n');
}

function html(o: Overview): string {
  const e = escapeHtml;
  const rows = o.services
    .map(
      (s) =>
        `<tr${s.implemented ? '' : ' class="off"'}><td>${e(s.name)}</td>` +
        `<td>${s.implemented} / ${s.modelled}</td></tr>`,
    )
    .join('\n');
  const planes = o.dataPlanes
    .map(
      (p) =>
        `<li>${e(p.title)}<ul>${p.urls.map((u) => `<li><code>${e(u)}</code></li>`).join('')}</ul></li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stratus ${e(o.version)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em}
td{padding:0 1.5em 0 0}.off{color:#888}code{font-size:90%}</style></head><body>
<h1>Stratus ${e(o.version)} <small>(${e(o.status)})</small></h1>
<p>Endpoint <code>${e(o.endpoint)}</code> · state <code>${e(o.state)}</code> · auth
<code>${e(o.auth)}</code> · default account <code>${e(o.account)}</code>, region
<code>${e(o.region)}</code></p>
<p>Point every client here: <code>export AWS_ENDPOINT_URL=${e(o.endpoint)}</code></p>
<h2>Services</h2>
<p>Operations implemented / modelled; the others answer <code>NotImplementedException</code>.</p>
<table>
${rows}
</table>
<h2>Data planes</h2>
<ul>
${planes}
</ul>
<p>${e(LOCALHOST_NOTE)}</p>
<h2>Admin</h2>
<ul>${o.admin.map((a) => `<li><code>${e(a)}</code></li>`).join('')}</ul>
</body></html>
`;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

// ----- answers ---------------------------------------------------------------------------

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

/** rest-json's error shape: the code in X-Amzn-ErrorType and `__type`. */
function awsError(res: ServerResponse, err: AwsError): void {
  const body = JSON.stringify({ __type: err.code, message: err.message });
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-errortype': err.code,
  });
  res.end(body);
}
