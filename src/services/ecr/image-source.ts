/**
 * ECR's ImageSource (src/runtime/container.ts): resolves an image reference to what a
 * container driver needs (platform manifest, runtime config, layers, a loopback pull
 * reference) from Stratus's own registry. Nothing here ever touches the network: a
 * reference naming any other registry is refused.
 *
 * References:
 * - AWS's `<acct>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@sha256:…]` addresses that
 *   account's registry in that region;
 * - the local URI form `127.0.0.1:<port>/<acct>.dkr.ecr.<region>/repo…` (common.ts)
 *   addresses that account's registry in that region;
 * - the local forms `127.0.0.1:<port>/repo…`, `localhost:<port>/repo…` (Stratus's own
 *   port) and bare `repo[:tag]` address the caller's registry. The tag defaults to
 *   `latest`; `repo:tag@digest` resolves by digest, as Docker does.
 *
 * Manifests: Docker image manifest v2 schema 2 and manifest list, OCI image manifest and
 * index (the four the registry stores). From an index, `linux/amd64` is picked (an entry
 * without a variant first). Layers: tar, tar+gzip and tar+zstd in their OCI, Docker and
 * (deprecated) non-distributable/foreign media types; the layer cache
 * (src/runtime/images/) detects the compression from the bytes themselves.
 *
 * A missing repository, tag, digest or platform rejects with ImageNotFoundError whose
 * reason is what containerd says in that case (`not found`), so a service can quote it as
 * ECS does: `CannotPullContainerError: pull image manifest has been retried 1 time(s):
 * failed to resolve ref <ref>: <ref>: not found`.
 */
import type { Readable } from 'node:stream';
import { imageStatus } from './storage-class.js';
import {
  ImageNotFoundError,
  type ImageLayer,
  type ImageRuntimeConfig,
  type ImageSource,
  type ResolvedImage,
} from '../../runtime/container.js';
import type { RegistryTokens } from './auth-token.js';
import { MediaTypes, parseManifest, type Descriptor, type ParsedManifest } from './manifest.js';
import { isDigest, isRepositoryName, isTag } from './names.js';
import { RegistryError } from './registry-errors.js';
import type { Registry } from './registry.js';
import type { ImageRecord, RepositoryRecord } from './store.js';

/** The platform every Stratus driver runs (x86-64 Linux). */
/**
 * The key id in the tokens Stratus issues itself to pull images for its own containers (the
 * service pulling, as Lambda does on AWS): not a principal, so the registry does not ask IAM.
 */
export const SERVICE_TOKEN_KEY = 'stratus-image-source';

export const PLATFORM = { os: 'linux', architecture: 'amd64' } as const;

/** Layer media types the layer cache unpacks. */
export const LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

const CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** Image configs are a few KB; this bounds what a hostile one can make us buffer. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

const AWS_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::443)?$/;
const LOCAL_REGISTRY = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\//;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** containerd's words for a reference that does not resolve (ECS quotes them). */
const NOT_FOUND = 'not found';
const INVALID_REFERENCE = 'invalid reference format';

export interface ParsedReference {
  account: string;
  region: string;
  repository: string;
  /** A tag or a digest. */
  reference: string;
}

/**
 * Splits `reference` into registry, repository and tag/digest; undefined when it is not
 * a reference at all. `foreign` is set when it names a registry other than Stratus's.
 */
export function parseImageReference(
  reference: string,
  caller: { account: string; region: string },
  ownHost: string,
): ParsedReference | { foreign: string } | undefined {
  if (reference.length === 0 || reference.length > 1024) return undefined;
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) return undefined;
  }
  let scope = caller;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  // Docker's rule: the first component is a registry host when it has a '.' or a ':'
  // or is `localhost`.
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    rest = rest.slice(slash + 1);
    const aws = AWS_HOST.exec(first);
    if (aws) scope = { account: aws[1], region: aws[2] };
    else if (!isOwnHost(first, ownHost)) return { foreign: first };
    else {
      // The local URI form: `127.0.0.1:<port>/<account>.dkr.ecr.<region>/<repo>`.
      const local = LOCAL_REGISTRY.exec(rest);
      if (local) {
        scope = { account: local[1], region: local[2] };
        rest = rest.slice(local[0].length);
      }
    }
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) return undefined;
  }
  if (!isRepositoryName(rest)) return undefined;
  return { ...scope, repository: rest, reference: digest ?? tag };
}

/** `127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>` or the configured host:port. */
function isOwnHost(host: string, ownHost: string): boolean {
  if (host === ownHost) return true;
  const ownPort = ownHost.slice(ownHost.lastIndexOf(':') + 1);
  const colon = host.lastIndexOf(':');
  if (colon < 0 || host.slice(colon + 1) !== ownPort) return false;
  return LOOPBACK_HOSTS.has(host.slice(0, colon));
}

export interface EcrImageSourceDeps {
  registry: Registry;
  tokens: RegistryTokens;
  /** Where Stratus listens (`http://127.0.0.1:4566`), for the loopback pull reference. */
  endpoint(): string;
}

/** How many parsed image configs EcrImageSource keeps (by digest; a few hundred bytes each). */
const CONFIG_CACHE_SIZE = 256;

export class EcrImageSource implements ImageSource {
  /**
   * Runtime configs by config digest. A config blob is content-addressed, so its parse
   * never changes; reading the blob again was most of a cached image's resolve (~2 ms of
   * a task's start, bench/ecs.ts). The image and its manifest are still looked up on
   * every resolve, so a deleted or archived image is refused as before.
   */
  private readonly configs = new Map<string, ImageRuntimeConfig>();

  constructor(private readonly deps: EcrImageSourceDeps) {}

  async resolve(reference: string, account: string, region: string): Promise<ResolvedImage> {
    const ownHost = new URL(this.deps.endpoint()).host;
    const parsed = parseImageReference(reference, { account, region }, ownHost);
    if (parsed === undefined) throw new ImageNotFoundError(reference, INVALID_REFERENCE);
    if ('foreign' in parsed) {
      throw new ImageNotFoundError(
        reference,
        `${NOT_FOUND}: ${parsed.foreign} is not Stratus's registry (${ownHost}); ` +
          'Stratus runs images from its own ECR only and never pulls from the network',
      );
    }
    const notFound = (why?: string) =>
      new ImageNotFoundError(reference, why === undefined ? NOT_FOUND : `${NOT_FOUND}: ${why}`);
    try {
      const repo = await this.deps.registry.repository(parsed, parsed.repository);
      const top = await this.deps.registry.image(repo, parsed.reference);
      if (imageStatus(top, Date.now()) !== 'ACTIVE') {
        throw notFound(
          `the image is ${imageStatus(top, Date.now())}: restore it to STANDARD first`,
        );
      }
      const image = await this.platformImage(repo, top, reference);
      const manifest = parseManifest(Buffer.from(image.manifest, 'utf8'), image.mediaType);
      if (manifest.kind !== 'image') throw notFound('an index inside an index');
      const [configDescriptor, ...layerDescriptors] = manifest.blobs;
      checkImageTypes(reference, configDescriptor, layerDescriptors);
      const config = await this.readConfig(repo, configDescriptor, reference);
      await this.deps.registry.recordPull(repo, top);
      return await this.resolved(reference, repo, image, manifest, config);
    } catch (err) {
      if (err instanceof RegistryError) {
        if (err.kind === 'repository-not-found' || err.kind === 'manifest-unknown') {
          throw notFound();
        }
        if (err.kind === 'digest-invalid' || err.kind === 'tag-invalid') {
          throw new ImageNotFoundError(reference, INVALID_REFERENCE);
        }
      }
      throw err;
    }
  }

  /** The image itself, or the linux/amd64 child of an index. */
  private async platformImage(
    repo: RepositoryRecord,
    image: ImageRecord,
    reference: string,
  ): Promise<ImageRecord> {
    if (image.mediaType !== MediaTypes.ociIndex && image.mediaType !== MediaTypes.dockerList) {
      return image;
    }
    const index = parseManifest(Buffer.from(image.manifest, 'utf8'), image.mediaType);
    const child = pickPlatform(index.manifests);
    if (!child) {
      // ECS's words for an image without a linux/amd64 variant.
      throw new ImageNotFoundError(
        reference,
        `image Manifest does not contain descriptor matching platform '${PLATFORM.os}/${PLATFORM.architecture}'`,
      );
    }
    return this.deps.registry.image(repo, child.digest);
  }

  private async readConfig(
    repo: RepositoryRecord,
    descriptor: Descriptor,
    reference: string,
  ): Promise<ImageRuntimeConfig> {
    if (descriptor.size > MAX_CONFIG_BYTES) {
      throw new ImageNotFoundError(
        reference,
        `image config is ${descriptor.size} bytes, more than ${MAX_CONFIG_BYTES}`,
      );
    }
    const cached = this.configs.get(descriptor.digest);
    if (cached) return structuredClone(cached);
    const blob = await this.deps.registry.openBlob(repo, descriptor.digest);
    if (!blob) throw new ImageNotFoundError(reference, `${NOT_FOUND}: config ${descriptor.digest}`);
    const bytes = await readAll(blob.stream, MAX_CONFIG_BYTES);
    let document: unknown;
    try {
      document = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ImageNotFoundError(reference, `image config ${descriptor.digest} is not JSON`);
    }
    const config =
      typeof document === 'object' && document !== null && 'config' in document
        ? document.config
        : undefined;
    const parsed = runtimeConfig(config);
    if (this.configs.size >= CONFIG_CACHE_SIZE) {
      this.configs.delete(this.configs.keys().next().value as string);
    }
    this.configs.set(descriptor.digest, structuredClone(parsed));
    return parsed;
  }

  private async resolved(
    reference: string,
    repo: RepositoryRecord,
    image: ImageRecord,
    manifest: ParsedManifest,
    config: ImageRuntimeConfig,
  ): Promise<ResolvedImage> {
    // Sizes as stored, not as the manifest claims them: the layer cache decides by size
    // whether a layer is small enough to unpack on the server's own thread.
    const layers: ImageLayer[] = [];
    for (const d of manifest.blobs.slice(1)) {
      const size = await this.deps.registry.blobSize(repo, d.digest);
      if (size === undefined) {
        throw new ImageNotFoundError(reference, `${NOT_FOUND}: layer ${d.digest}`);
      }
      layers.push({ digest: d.digest, mediaType: d.mediaType, size });
    }
    const digests = new Set(layers.map((l) => l.digest));
    const { token } = await this.deps.tokens.issue({
      account: repo.account,
      region: repo.region,
      accessKeyId: SERVICE_TOKEN_KEY,
    });
    const password = Buffer.from(token, 'base64').toString('utf8').slice('AWS:'.length);
    const registry = this.deps.registry;
    return {
      reference,
      account: repo.account,
      region: repo.region,
      repository: repo.name,
      manifestDigest: image.digest,
      config,
      layers,
      pull: {
        reference: `${new URL(this.deps.endpoint()).host}/${repo.name}@${image.digest}`,
        username: 'AWS',
        password,
      },
      async openLayer(digest: string): Promise<Readable> {
        if (!digests.has(digest)) {
          throw new ImageNotFoundError(reference, `${NOT_FOUND}: ${digest} is not a layer of it`);
        }
        const blob = await registry.openBlob(repo, digest);
        if (!blob) throw new ImageNotFoundError(reference, `${NOT_FOUND}: layer ${digest}`);
        return blob.stream;
      },
    };
  }
}

/** linux/amd64, an entry without a variant first (amd64 variants are v2, v3, …). */
function pickPlatform(manifests: Descriptor[]): Descriptor | undefined {
  const matching = manifests.filter(
    (m) => m.platform?.os === PLATFORM.os && m.platform.architecture === PLATFORM.architecture,
  );
  return matching.find((m) => m.platform?.variant === undefined) ?? matching[0];
}

/** An artifact (a Helm chart, a signature) is not an image a container can run. */
function checkImageTypes(reference: string, config: Descriptor, layers: Descriptor[]): void {
  if (!CONFIG_MEDIA_TYPES.has(config.mediaType)) {
    throw new ImageNotFoundError(
      reference,
      `${NOT_FOUND}: not a container image (config media type ${config.mediaType})`,
    );
  }
  for (const layer of layers) {
    if (!LAYER_MEDIA_TYPES.has(layer.mediaType)) {
      throw new ImageNotFoundError(
        reference,
        `unsupported layer media type ${layer.mediaType} (layer ${layer.digest})`,
      );
    }
  }
}

/** The OCI config's runtime part, keeping only well-typed fields. */
function runtimeConfig(value: unknown): ImageRuntimeConfig {
  if (typeof value !== 'object' || value === null) return {};
  const v = value as Record<string, unknown>;
  const out: ImageRuntimeConfig = {};
  const strings = (x: unknown): string[] | undefined =>
    Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : undefined;
  const record = <T>(x: unknown, ok: (e: unknown) => boolean): Record<string, T> | undefined =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every(ok)
      ? (x as Record<string, T>)
      : undefined;
  const entrypoint = strings(v.Entrypoint);
  if (entrypoint) out.Entrypoint = entrypoint;
  const cmd = strings(v.Cmd);
  if (cmd) out.Cmd = cmd;
  const env = strings(v.Env);
  if (env) out.Env = env;
  if (typeof v.WorkingDir === 'string' && v.WorkingDir !== '') out.WorkingDir = v.WorkingDir;
  if (typeof v.User === 'string' && v.User !== '') out.User = v.User;
  if (typeof v.StopSignal === 'string' && v.StopSignal !== '') out.StopSignal = v.StopSignal;
  const ports = record<object>(v.ExposedPorts, (e) => typeof e === 'object' && e !== null);
  if (ports) out.ExposedPorts = ports;
  const labels = record<string>(v.Labels, (e) => typeof e === 'string');
  if (labels) out.Labels = labels;
  return out;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new Error(`blob larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
