/**
 * Manifest conversion as ECR does it: "If the stored image manifest format isn't
 * understood by the client, Amazon ECR converts the image manifest into a format that is
 * understood by the client." Between image manifests only: Docker image manifest v2
 * schema 2 → OCI, and OCI → Docker schema 2. ECR's table also lists schema 2 → schema 1,
 * a deprecated format Stratus neither stores nor serves. "When you pull an image by
 * digest, there's no translation available": callers only convert for a tag.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html
 *
 * The converted manifest is another document, so it has its own digest (sha256 of its
 * bytes), which is what the registry reports for it (Docker-Content-Digest), as a client
 * verifying what it received computes. Conversion is deterministic: the same stored
 * manifest always converts to the same bytes.
 *
 * Not convertible (undefined): indexes and manifest lists, OCI artifacts (an artifactType,
 * a subject, or a config that is not an image config), and layers Docker schema 2 has no
 * media type for (zstd).
 */
import { createHash } from 'node:crypto';
import { MediaTypes } from './manifest.js';

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** Docker layer media type → OCI, and its reverse. */
const LAYERS_TO_OCI: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip':
    'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip':
    'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
};
const LAYERS_TO_DOCKER: Record<string, string> = Object.fromEntries(
  Object.entries(LAYERS_TO_OCI).map(([docker, oci]) => [oci, docker]),
);

export interface ConvertedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

interface ImageManifestDoc {
  schemaVersion?: unknown;
  mediaType?: unknown;
  artifactType?: unknown;
  subject?: unknown;
  config?: { mediaType?: unknown; [k: string]: unknown };
  layers?: { mediaType?: unknown; [k: string]: unknown }[];
}

/** The media types a stored manifest of `mediaType` can be served as, besides its own. */
export function conversionTargets(mediaType: string): string[] {
  if (mediaType === MediaTypes.dockerManifest) return [MediaTypes.ociManifest];
  if (mediaType === MediaTypes.ociManifest) return [MediaTypes.dockerManifest];
  return [];
}

/** `manifest` (stored as `from`) rewritten as `to`; undefined when it cannot be. */
export function convertManifest(
  manifest: string,
  from: string,
  to: string,
): ConvertedManifest | undefined {
  if (!conversionTargets(from).includes(to)) return undefined;
  let doc: ImageManifestDoc;
  try {
    doc = JSON.parse(manifest) as ImageManifestDoc;
  } catch {
    return undefined;
  }
  if (doc.config === undefined || !Array.isArray(doc.layers)) return undefined;
  const toOci = to === MediaTypes.ociManifest;
  if (!toOci && (doc.artifactType !== undefined || doc.subject !== undefined)) return undefined;
  const configFrom = toOci ? DOCKER_CONFIG : OCI_CONFIG;
  if (doc.config.mediaType !== configFrom) return undefined;
  const table = toOci ? LAYERS_TO_OCI : LAYERS_TO_DOCKER;
  const layers = [];
  for (const layer of doc.layers) {
    const mapped = typeof layer.mediaType === 'string' ? table[layer.mediaType] : undefined;
    if (mapped === undefined) return undefined;
    layers.push({ ...layer, mediaType: mapped });
  }
  const converted = {
    schemaVersion: 2,
    mediaType: to,
    config: { ...doc.config, mediaType: toOci ? OCI_CONFIG : DOCKER_CONFIG },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(converted, null, 3), 'utf8');
  return {
    bytes,
    mediaType: to,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  };
}
