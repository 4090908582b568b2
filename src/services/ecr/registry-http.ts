/**
 * The OCI distribution API (v1.1) on `/v2/` of Stratus's port: what `docker push`,
 * `skopeo copy` and containerd speak. Routing, headers and the spec's error bodies live
 * here; what happens to blobs, uploads and manifests is registry.ts.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { StratusConfig } from '../../config.js';
import { clientGone } from '../../shared/client-gone.js';
import type { Logger } from '../../shared/log.js';
import type { DataPlane } from '../plugin.js';
import { parseBasicAuth, type RegistryTokens } from './auth-token.js';
import { acceptsMediaType, MediaTypes } from './manifest.js';
import { isDigest, isRepositoryName } from './names.js';
import { RegistryError } from './registry-errors.js';
import { MAX_MANIFEST_BYTES, type Registry } from './registry.js';
import { digestInvalid } from './registry-errors.js';
import type { RepositoryRecord, Scope } from './store.js';
import type { MetricSink } from '../../events/metrics.js';
import { sendStream } from '../../storage/file-range-stream.js';

export const REGISTRY_PREFIX = '/v2/';

/** Page size for `_catalog` and tag lists when the client gives no `n`. */
const DEFAULT_PAGE = 1000;

/**
 * `<account>.dkr.ecr.<region>.amazonaws.com`, as the console shows image URIs (mapped to
 * 127.0.0.1 in /etc/hosts), and its local twin under `.localhost`.
 */
const ECR_HOSTS = [
  '{account}.dkr.ecr.{region}.localhost',
  '{account}.dkr.ecr.{region}.amazonaws.com',
] as const;
const ACCOUNT = /^\d{12}$/;

/**
 * The local repository URI form (common.ts): `127.0.0.1:<port>/<account>.dkr.ecr.<region>/<repo>`
 * names the registry in the path's first segment, since `*.localhost` host names do not
 * resolve everywhere (glibc without nss-myhostname, Go's resolver in docker and skopeo).
 */
const PATH_REGISTRY = /^\/v2\/(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\/(?=.)/;

/** The registry segment a request's path carried, for the Location headers of its answers. */
const pathPrefixes = new WeakMap<ServerResponse, string>();

/** `/v2/<repo>` as the client addressed it (with the registry segment when it used one). */
const pathOf = (res: ServerResponse, repo: RepositoryRecord): string =>
  `/v2/${pathPrefixes.get(res) ?? ''}${repo.name}`;

export interface RegistryHttpDeps {
  config: StratusConfig;
  registry: Registry;
  tokens: RegistryTokens;
  log: Logger;
  /** CloudWatch: AWS/ECR RepositoryPullCount per pulled image manifest. */
  metrics?: MetricSink;
  /**
   * IAM's verdict on what the holder of a token's access key asks (`ecr:BatchGetImage` on a
   * repository): the AccessDenied message, or undefined to go ahead.
   */
  authorize?(
    accessKeyId: string,
    scope: Scope,
    action: string,
    repository: string,
  ): Promise<string | undefined>;
}

interface Route {
  name?: string;
  kind: 'base' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'uploads' | 'upload' | 'referrers';
  /** The manifest reference, blob digest or upload id. */
  ref?: string;
}

/** Matched from the end, so a repository may itself contain segments such as `blobs`. */
const ROUTES: [RegExp, Route['kind']][] = [
  [/^(.+)\/manifests\/([^/]+)$/, 'manifest'],
  [/^(.+)\/blobs\/uploads\/?$/, 'uploads'],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, 'upload'],
  [/^(.+)\/blobs\/([^/]+)$/, 'blob'],
  [/^(.+)\/tags\/list$/, 'tags'],
  [/^(.+)\/referrers\/([^/]+)$/, 'referrers'],
];

/** Routes that only answer GET and HEAD. */
const READ_ONLY: ReadonlySet<Route['kind']> = new Set(['base', 'catalog', 'tags', 'referrers']);

export function registryDataPlane(deps: RegistryHttpDeps): DataPlane {
  return {
    name: 'registry',
    title:
      'ECR registry (OCI distribution: docker push 127.0.0.1:<port>/<repo>, or repositoryUri: 127.0.0.1:<port>/<account>.dkr.ecr.<region>/<repo>)',
    hosts: ECR_HOSTS,
    paths: [REGISTRY_PREFIX],
    async handle(req, res, match) {
      res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
      const host = match.host;
      let addressed =
        host && ACCOUNT.test(host.account)
          ? { account: host.account, region: host.region }
          : undefined;
      let url = req.url ?? '/';
      const inPath = PATH_REGISTRY.exec(url);
      if (inPath) {
        addressed = { account: inPath[1], region: inPath[2] };
        pathPrefixes.set(res, inPath[0].slice(REGISTRY_PREFIX.length));
        url = REGISTRY_PREFIX + url.slice(inPath[0].length);
      }
      try {
        await serve(deps, req, res, addressed, url);
      } catch (err) {
        if (err instanceof RegistryError)
          return sendError(req, res, err.httpStatus, err.ociCode, err.message, err.detail);
        if (clientGone(req, err) || res.destroyed) {
          // A pull cancelled halfway, a push cut off: nothing is wrong on this side.
          deps.log.debug('registry client went away', { method: req.method, url: req.url });
          return void res.destroy();
        }
        deps.log.error('registry request failed', {
          method: req.method,
          url: req.url,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        sendError(req, res, 500, 'UNKNOWN', 'internal error');
      }
    },
  };
}

async function serve(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  addressed: Scope | undefined,
  /** The request's URL without the registry segment of the local URI form. */
  target: string,
): Promise<void> {
  const url = new URL(target, 'http://registry');
  // Route on the path as sent: URL parsing resolves `..` and `%2e%2e` segments, which would
  // turn `/v2/a/../b/...` into a request for `b` instead of refusing the name.
  const path = target.split('?', 1)[0];
  const method = req.method ?? 'GET';
  if (!path.startsWith(REGISTRY_PREFIX)) {
    // A registry host name, but not the distribution API.
    req.resume();
    return sendError(req, res, 404, 'NAME_UNKNOWN', `no registry route for ${path.slice(0, 300)}`);
  }
  const scope = await authenticate(deps, req, res, path === REGISTRY_PREFIX, addressed);
  if (!scope) return;
  const route = matchRoute(path);
  if (READ_ONLY.has(route.kind) && method !== 'GET' && method !== 'HEAD') {
    req.resume();
    return sendError(req, res, 405, 'UNSUPPORTED', `${method} is not supported on this path`);
  }
  if (route.kind === 'base') {
    req.resume();
    return sendJson(req, res, 200, {});
  }
  if (route.kind === 'catalog') {
    req.resume();
    const { n, last } = paging(url);
    // One more than asked for tells whether a next page exists.
    const repositories = await deps.registry.catalog(scope, n + 1, last);
    if (repositories.length > n) {
      repositories.length = n;
      setNextLink(res, '/v2/_catalog', n, repositories[n - 1]);
    }
    return sendJson(req, res, 200, { repositories });
  }
  const name = route.name ?? '';
  if (!isRepositoryName(name)) {
    req.resume();
    throw new RegistryError(
      'name-invalid',
      `invalid repository name ${JSON.stringify(name.slice(0, 300))}`,
      { name: name.slice(0, 300) },
    );
  }
  const action = routeAction(route.kind, method);
  if (action && scope.accessKeyId !== undefined && deps.authorize) {
    const refused = await deps.authorize(scope.accessKeyId, scope, action, name);
    if (refused !== undefined) {
      req.resume();
      return sendError(req, res, 403, 'DENIED', refused);
    }
  }
  const pull = route.kind === 'manifest' && (method === 'GET' || method === 'HEAD');
  const repo = pull
    ? await deps.registry.repositoryOrUpstream(scope, name)
    : await deps.registry.repository(scope, name);
  const ref = route.ref ?? '';
  switch (route.kind) {
    case 'tags':
      return listTags(deps, req, res, url, repo);
    case 'manifest':
      if (method === 'GET' || method === 'HEAD') return getManifest(deps, req, res, repo, ref);
      if (method === 'PUT') return putManifest(deps, req, res, repo, ref);
      if (method === 'DELETE') return deleteManifest(deps, req, res, repo, ref);
      break;
    case 'blob':
      if (method === 'GET' || method === 'HEAD') return getBlob(deps, req, res, repo, ref);
      if (method === 'DELETE') return deleteBlob(deps, req, res, repo, ref);
      break;
    case 'uploads':
      if (method === 'POST') return startUpload(deps, req, res, url, repo);
      break;
    case 'upload':
      if (method === 'GET') return uploadStatus(deps, req, res, repo, ref);
      if (method === 'PATCH') return patchUpload(deps, req, res, repo, ref);
      if (method === 'PUT') return finishUpload(deps, req, res, url, repo, ref);
      if (method === 'DELETE') return cancelUpload(deps, req, res, repo, ref);
      break;
    case 'referrers':
      return listReferrers(deps, req, res, url, repo, ref);
  }
  req.resume();
  sendError(req, res, 405, 'UNSUPPORTED', `${method} is not supported on this path`);
}

/**
 * The ECR action a registry request is authorised as ("Amazon ECR requires … permissions
 * for the docker push and pull": ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
 * ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart,
 * ecr:CompleteLayerUpload, ecr:PutImage).
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html
 */
function routeAction(kind: Route['kind'], method: string): string | undefined {
  const read = method === 'GET' || method === 'HEAD';
  switch (kind) {
    case 'manifest':
      return read
        ? 'ecr:BatchGetImage'
        : method === 'DELETE'
          ? 'ecr:BatchDeleteImage'
          : 'ecr:PutImage';
    case 'blob':
      return method === 'HEAD'
        ? 'ecr:BatchCheckLayerAvailability'
        : read
          ? 'ecr:GetDownloadUrlForLayer'
          : 'ecr:BatchDeleteImage';
    case 'uploads':
      return 'ecr:InitiateLayerUpload';
    case 'upload':
      return method === 'PUT' ? 'ecr:CompleteLayerUpload' : 'ecr:UploadLayerPart';
    case 'tags':
    case 'referrers':
      return 'ecr:ListImages';
    default:
      return undefined;
  }
}

function matchRoute(path: string): Route {
  const rest = path.slice(REGISTRY_PREFIX.length);
  if (rest === '') return { kind: 'base' };
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [pattern, kind] of ROUTES) {
    const m = pattern.exec(rest);
    if (m) return { kind, name: decode(m[1]), ref: m[2] === undefined ? undefined : decode(m[2]) };
  }
  throw new RegistryError(
    'name-invalid',
    `no registry route for ${JSON.stringify(path.slice(0, 300))}`,
  );
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RegistryError(
      'name-invalid',
      `malformed escape in ${JSON.stringify(part.slice(0, 300))}`,
    );
  }
}

// ----- authentication -------------------------------------------------------------------

/**
 * Which registry (account and region) a request addresses, or undefined once a challenge
 * or refusal was sent. The registry the request names (an ECR-style Host header, or the
 * path segment of the local URI form) decides, as the host does on AWS; otherwise a valid
 * token's registry; otherwise the default account and region. Strict mode requires a valid token. Anonymous `GET /v2/`
 * is challenged in both modes, as ECR does, so that docker and skopeo send their
 * credentials (they only ever answer a challenge).
 */
async function authenticate(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  isBase: boolean,
  addressed: Scope | undefined,
): Promise<(Scope & { accessKeyId?: string }) | undefined> {
  const strict = deps.config.auth === 'strict';
  const fallback: Scope = addressed ?? {
    account: deps.config.defaultAccount,
    region: deps.config.defaultRegion,
  };
  const basic = parseBasicAuth(req.headers.authorization);
  if (!basic) {
    if (strict || isBase) {
      challenge(req, res, 'no basic auth credentials');
      return undefined;
    }
    return fallback;
  }
  const check = await deps.tokens.verify(basic.password);
  if (check.ok) {
    if (addressed && strict && addressed.account !== check.claims.account) {
      req.resume();
      sendError(req, res, 403, 'DENIED', 'Your authorization token is for a different registry.');
      return undefined;
    }
    return {
      ...(addressed ?? { account: check.claims.account, region: check.claims.region }),
      accessKeyId: check.claims.accessKeyId,
    };
  }
  if (!strict) return fallback;
  if (check.reason === 'expired') {
    req.resume();
    sendError(
      req,
      res,
      403,
      'DENIED',
      'Your authorization token has expired. Reauthenticate and try again.',
    );
    return undefined;
  }
  challenge(req, res, 'Your authorization token is invalid.');
  return undefined;
}

function challenge(req: IncomingMessage, res: ServerResponse, message: string): void {
  req.resume();
  // The Host header is the client's to choose: only a plain host[:port] goes into the quotes.
  const host = req.headers.host ?? '';
  const realm = `http://${/^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? host : '127.0.0.1'}/`;
  res.setHeader('WWW-Authenticate', `Basic realm="${realm}",service="ecr.amazonaws.com"`);
  sendError(req, res, 401, 'UNAUTHORIZED', message);
}

// ----- manifests ------------------------------------------------------------------------

async function getManifest(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  reference: string,
): Promise<void> {
  req.resume();
  const accept = req.headers.accept === undefined ? undefined : [req.headers.accept];
  // A Docker schema 2 manifest is served as OCI to a client that only takes OCI, and the
  // reverse, when pulled by tag (manifest-convert.ts).
  const served = await deps.registry.manifestFor(repo, reference, (type) =>
    acceptsMediaType(accept, type),
  );
  if (!served) {
    const stored = await deps.registry.image(repo, reference);
    throw new RegistryError(
      'manifest-unknown',
      `The manifest is ${stored.mediaType}, which the request's Accept header does not list` +
        (isDigest(reference)
          ? ' (a manifest pulled by digest is never converted)'
          : ', and it cannot be converted to a type it lists'),
    );
  }
  const { image, body } = served;
  res.writeHead(200, {
    'Content-Type': served.mediaType,
    'Content-Length': body.length,
    'Docker-Content-Digest': served.digest,
    ETag: `"${served.digest}"`,
  });
  if (req.method === 'HEAD') return void res.end();
  res.end(body);
  // "RepositoryPullCount: The total number of pulls for the images in the repository."
  // https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-repository-metrics.html
  deps.metrics?.put(
    repo,
    'AWS/ECR',
    'RepositoryPullCount',
    [{ Name: 'RepositoryName', Value: repo.name }],
    1,
    'Count',
  );
  await deps.registry.recordPull(repo, image);
}

async function putManifest(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  reference: string,
): Promise<void> {
  const body = await readLimited(req, MAX_MANIFEST_BYTES);
  if (body === undefined) {
    return sendError(
      req,
      res,
      413,
      'SIZE_INVALID',
      `manifest exceeds the ${MAX_MANIFEST_BYTES} byte limit`,
    );
  }
  const result = await deps.registry.putManifest(
    repo,
    reference,
    body,
    req.headers['content-type'],
  );
  const headers: Record<string, string | number> = {
    Location: `${pathOf(res, repo)}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
    'Content-Length': 0,
  };
  if (result.subject !== undefined) headers['OCI-Subject'] = result.subject;
  res.writeHead(201, headers).end();
}

async function deleteManifest(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  reference: string,
): Promise<void> {
  req.resume();
  if (reference.includes(':')) await deps.registry.deleteImage(repo, reference);
  else await deps.registry.untag(repo, reference);
  res.writeHead(202, { 'Content-Length': 0 }).end();
}

async function listTags(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  repo: RepositoryRecord,
): Promise<void> {
  req.resume();
  const { n, last } = paging(url);
  const tags = await deps.registry.listTags(repo, n + 1, last);
  if (tags.length > n) {
    tags.length = n;
    setNextLink(res, `${pathOf(res, repo)}/tags/list`, n, tags[n - 1]);
  }
  sendJson(req, res, 200, { name: repo.name, tags });
}

async function listReferrers(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  repo: RepositoryRecord,
  digest: string,
): Promise<void> {
  req.resume();
  const artifactType = url.searchParams.get('artifactType') ?? undefined;
  const manifests = await deps.registry.referrers(repo, digest, artifactType);
  if (artifactType !== undefined) res.setHeader('OCI-Filters-Applied', 'artifactType');
  const body = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }),
  );
  res.writeHead(200, { 'Content-Type': MediaTypes.ociIndex, 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

// ----- blobs ----------------------------------------------------------------------------

async function getBlob(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  digest: string,
): Promise<void> {
  req.resume();
  const head = req.method === 'HEAD';
  const size = await deps.registry.blobSize(repo, digest, head);
  if (size === undefined) throw blobUnknown(digest);
  const range = parseRange(req.headers.range, size);
  if (range === 'invalid') {
    res.setHeader('Content-Range', `bytes */${size}`);
    throw new RegistryError(
      'range-invalid',
      `the blob has ${size} bytes; the Range ${JSON.stringify(req.headers.range?.slice(0, 100))} is not satisfiable`,
      { size },
    );
  }
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
  };
  if (head) {
    res.writeHead(200, { ...headers, 'Content-Length': size });
    return void res.end();
  }
  const blob = await deps.registry.openBlob(repo, digest, range);
  if (!blob) throw blobUnknown(digest);
  if (range) {
    const end = Math.min(range.end, size - 1);
    res.writeHead(206, {
      ...headers,
      'Content-Length': end - range.start + 1,
      'Content-Range': `bytes ${range.start}-${end}/${size}`,
    });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': size });
  }
  await sendStream(blob.stream, res);
}

async function deleteBlob(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  digest: string,
): Promise<void> {
  req.resume();
  if (!(await deps.registry.unlinkBlob(repo, digest))) throw blobUnknown(digest);
  res.writeHead(202, { 'Content-Length': 0 }).end();
}

/** `bytes=a-b` or `bytes=a-` (one range); undefined when absent. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return 'invalid';
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

const blobUnknown = (digest: string): RegistryError =>
  new RegistryError('blob-unknown', 'blob unknown to registry', { digest: digest.slice(0, 100) });

// ----- uploads --------------------------------------------------------------------------

async function startUpload(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  repo: RepositoryRecord,
): Promise<void> {
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null && from !== null && isRepositoryName(from)) {
    if (await deps.registry.mount(repo, from, mount)) {
      req.resume();
      return blobCreated(res, repo, mount);
    }
  }
  const digest = url.searchParams.get('digest');
  // Checked before the upload exists, so a refused request leaves no upload behind.
  if (digest !== null && !isDigest(digest)) {
    req.resume();
    throw digestInvalid(digest);
  }
  const id = await deps.registry.uploads.start(repo);
  if (digest !== null) {
    // Monolithic upload: the whole blob is this request's body.
    await deps.registry.uploads.complete(repo, id, digest, req);
    return blobCreated(res, repo, digest);
  }
  req.resume();
  uploadAccepted(res, repo, id, 0, 202);
}

async function uploadStatus(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  id: string,
): Promise<void> {
  req.resume();
  uploadAccepted(res, repo, id, await deps.registry.uploads.size(repo, id), 204);
}

/** A chunk: `Content-Range: <start>-<end>` must continue the upload exactly. */
async function patchUpload(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  id: string,
): Promise<void> {
  const range = req.headers['content-range'];
  let offset: number | undefined;
  let body: Readable = req;
  if (range !== undefined) {
    const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(range.trim());
    const length = req.headers['content-length'];
    const claimed = m ? Number(m[2]) - Number(m[1]) + 1 : 0;
    if (!m || claimed <= 0 || (length !== undefined && Number(length) !== claimed)) {
      req.resume();
      const size = await deps.registry.uploads.size(repo, id);
      res.setHeader('Range', rangeHeader(size));
      throw new RegistryError(
        'range-invalid',
        `invalid Content-Range ${JSON.stringify(range.slice(0, 100))}`,
      );
    }
    offset = Number(m[1]);
    // A chunked body has no Content-Length to hold the range to: count as it arrives.
    if (length === undefined) body = Readable.from(exactly(req, claimed, range));
  }
  let size: number;
  try {
    size = await deps.registry.uploads.append(repo, id, body, offset);
  } catch (err) {
    if (err instanceof RegistryError && err.kind === 'range-invalid') {
      req.resume();
      res.setHeader('Range', rangeHeader(await deps.registry.uploads.size(repo, id)));
      res.setHeader('Connection', 'close');
    }
    throw err;
  }
  uploadAccepted(res, repo, id, size, 202);
}

/** The chunks of `source`, failing with RANGE_INVALID unless they are `length` bytes. */
async function* exactly(
  source: AsyncIterable<Buffer>,
  length: number,
  range: string,
): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > length) break;
    yield chunk;
  }
  if (seen !== length) {
    throw new RegistryError(
      'range-invalid',
      `the body is not the ${length} bytes Content-Range ${JSON.stringify(range.slice(0, 100))} announced`,
    );
  }
}

async function finishUpload(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  repo: RepositoryRecord,
  id: string,
): Promise<void> {
  const digest = url.searchParams.get('digest');
  if (digest === null) {
    req.resume();
    throw new RegistryError('digest-invalid', 'the digest query parameter is required');
  }
  await deps.registry.uploads.complete(repo, id, digest, req);
  blobCreated(res, repo, digest);
}

async function cancelUpload(
  deps: RegistryHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  repo: RepositoryRecord,
  id: string,
): Promise<void> {
  req.resume();
  await deps.registry.uploads.cancel(repo, id);
  res.writeHead(204).end();
}

function uploadAccepted(
  res: ServerResponse,
  repo: RepositoryRecord,
  id: string,
  size: number,
  status: 202 | 204,
): void {
  res
    .writeHead(status, {
      Location: `${pathOf(res, repo)}/blobs/uploads/${id}`,
      Range: rangeHeader(size),
      'Docker-Upload-UUID': id,
      'Content-Length': 0,
    })
    .end();
}

function blobCreated(res: ServerResponse, repo: RepositoryRecord, digest: string): void {
  res
    .writeHead(201, {
      Location: `${pathOf(res, repo)}/blobs/${digest}`,
      'Docker-Content-Digest': digest,
      'Content-Length': 0,
    })
    .end();
}

/** The spec's `Range: 0-<last byte>` (docker's form: `0-0` while empty). */
const rangeHeader = (size: number): string => `0-${Math.max(0, size - 1)}`;

// ----- plumbing -------------------------------------------------------------------------

function paging(url: URL): { n: number; last?: string } {
  const raw = url.searchParams.get('n');
  const n = raw === null ? DEFAULT_PAGE : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) {
    throw new RegistryError('size-invalid', `invalid page size n=${JSON.stringify(raw)}`);
  }
  return { n: n === 0 ? DEFAULT_PAGE : n, last: url.searchParams.get('last') ?? undefined };
}

function setNextLink(res: ServerResponse, path: string, n: number, last: string): void {
  res.setHeader('Link', `<${path}?last=${encodeURIComponent(last)}&n=${n}>; rel="next"`);
}

/** How long the rest of a refused body is read before the connection is cut. */
const LINGER_MS = 2000;

/**
 * Reads a body of at most `limit` bytes; undefined when it is larger, so an oversized
 * manifest never sits in memory whole. The rest of a refused body is read and dropped
 * rather than the connection closed at once: a socket closed with unread data is reset by
 * the kernel, and the client may lose the answer before reading it ("lingering close", as
 * web servers do). A client still sending LINGER_MS after that is cut off.
 */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const refuse = () => {
    req.removeAllListeners('data');
    req.resume();
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    req.once('end', () => clearTimeout(timer));
    req.socket.once('close', () => clearTimeout(timer));
    return undefined;
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(refuse());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) resolve(refuse());
      else chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  detail?: unknown,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(req, res, status, { errors: [{ code, message, detail: detail ?? null }] });
}
