/**
 * GetDownloadUrlForLayer's URLs and the data plane that serves them. AWS answers with a
 * pre-signed Amazon S3 URL; here the URL points at Stratus itself:
 *
 *   <endpoint>/_stratus/ecr/layer/<payload>.<signature>
 *
 * The payload (base64url JSON) names account, region, repository, digest and expiry; the
 * signature is an HMAC with a per-installation secret kept in the metadata store, so a URL
 * cannot be forged or pointed at another blob, stays valid across a restart, and the
 * provider that signs and the data plane that checks need share nothing but the store.
 * Refusals are S3's, as a pre-signed S3 URL would give them. The blob is streamed (with
 * single `Range` requests), never held in memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import { NO_SUCH_KEY, s3ErrorBody, type S3Refusal } from '../../shared/s3-errors.js';
import { PresignedTokens, storedSecret } from '../../shared/signed-token.js';
import type { MetadataStore } from '../../storage/types.js';
import type { DataPlane } from '../plugin.js';
import { isDigest, isRepositoryName } from './names.js';
import { RegistryError } from './registry-errors.js';
import type { Registry } from './registry.js';
import { T, type RepositoryRecord } from './store.js';
import { sendStream } from '../../storage/file-range-stream.js';

export const LAYER_URL_PREFIX = '/_stratus/ecr/layer/';
/**
 * How long a URL stays valid. AWS does not document it; the S3 URLs ECR hands out carry
 * `X-Amz-Expires=3600` as far as we know.
 */
export const LAYER_URL_TTL_SECONDS = 3600;

const SECRET_SETTING = 'layer-url-secret';

export interface LayerClaims {
  account: string;
  region: string;
  repository: string;
  digest: string;
  /** Epoch seconds. */
  expires: number;
}

export class LayerUrls {
  private readonly tokens: PresignedTokens;

  constructor(store: MetadataStore, now: () => number = Date.now) {
    this.tokens = new PresignedTokens(storedSecret(store, T.settings, SECRET_SETTING), now);
  }

  /** A download URL for `digest` of `repo`, valid for LAYER_URL_TTL_SECONDS. */
  async url(endpoint: string, repo: RepositoryRecord, digest: string): Promise<string> {
    const token = await this.tokens.seal(
      { a: repo.account, r: repo.region, n: repo.name, d: digest },
      LAYER_URL_TTL_SECONDS,
    );
    return `${endpoint}${LAYER_URL_PREFIX}${token}`;
  }

  /** The claims of a token (the path after the prefix), or why it is refused. */
  async verify(token: string): Promise<LayerClaims | S3Refusal> {
    const opened = await this.tokens.open(
      token,
      (c) => isRepositoryName(String(c.n)) && isDigest(String(c.d)),
    );
    if (!opened.ok) return opened.refusal;
    const raw = opened.claims;
    return {
      account: String(raw.a),
      region: String(raw.r),
      repository: String(raw.n),
      digest: String(raw.d),
      expires: Number(raw.x),
    };
  }
}

export interface LayerDownloadDeps {
  store: MetadataStore;
  registry: Registry;
  log: Logger;
  now?: () => number;
}

/** Serves `GET|HEAD /_stratus/ecr/layer/<token>`: the layer's bytes, exactly. */
export function layerDownloadPlane(deps: LayerDownloadDeps): DataPlane {
  const urls = new LayerUrls(deps.store, deps.now);
  return {
    name: 'ecr-layer',
    title: 'ECR layer downloads (GetDownloadUrlForLayer)',
    paths: [`${LAYER_URL_PREFIX}{token}`],
    async handle(req, res) {
      req.resume();
      try {
        await serve(deps, urls, req, res);
      } catch (err) {
        // Mid-body, the client went away (or the read failed): nothing left to answer.
        if (res.headersSent) {
          res.destroy();
          return;
        }
        deps.log.error('ecr layer download failed', {
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        s3Error(
          req,
          res,
          500,
          'InternalError',
          'We encountered an internal error. Please try again.',
        );
      }
    },
  };
}

async function serve(
  deps: LayerDownloadDeps,
  urls: LayerUrls,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    return s3Error(
      req,
      res,
      405,
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
    );
  }
  const path = (req.url ?? '/').split('?')[0];
  const claims = await urls.verify(path.slice(LAYER_URL_PREFIX.length));
  if ('status' in claims) return s3Error(req, res, claims.status, claims.code, claims.message);
  const noSuchKey = () =>
    s3Error(req, res, NO_SUCH_KEY.status, NO_SUCH_KEY.code, NO_SUCH_KEY.message);
  let repo: RepositoryRecord;
  try {
    repo = await deps.registry.repository(claims, claims.repository);
  } catch (err) {
    if (err instanceof RegistryError) return noSuchKey();
    throw err;
  }
  const size = await deps.registry.blobSize(repo, claims.digest);
  if (size === undefined) return noSuchKey();
  const range = parseRange(req.headers.range, size);
  if (range === 'invalid') {
    res.setHeader('Content-Range', `bytes */${size}`);
    return s3Error(req, res, 416, 'InvalidRange', 'The requested range is not satisfiable');
  }
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${claims.digest.slice('sha256:'.length)}"`,
    'Content-Length': String(range ? range.end - range.start + 1 : size),
  };
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  if (method === 'HEAD') {
    res.writeHead(range ? 206 : 200, headers).end();
    return;
  }
  const blob = await deps.registry.openBlob(repo, claims.digest, range);
  if (!blob) return noSuchKey();
  res.writeHead(range ? 206 : 200, headers);
  await sendStream(blob.stream, res);
}

/**
 * A single `bytes=` range, clamped to the blob; undefined for none (or for ranges this
 * does not serve, such as several at once: the whole blob then answers, as HTTP allows).
 */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'invalid' {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'invalid';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

function s3Error(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  const body = s3ErrorBody(code, message);
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': String(body.length),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
