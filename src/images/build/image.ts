/**
 * The image config and manifest (OCI image spec v1) for a list of layers: fixed `created`
 * time and history, so the same layers and settings give the same digests.
 * https://github.com/opencontainers/image-spec/blob/main/config.md
 * https://github.com/opencontainers/image-spec/blob/main/manifest.md
 */
import type { BuildCache, LayerRecord } from './cache.js';
import { FIXED_MTIME } from './layer.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

export interface ImageSettings {
  env: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  labels: Record<string, string>;
}

export interface AssembledImage {
  configDigest: string;
  manifestDigest: string;
  manifest: Buffer;
}

export async function assembleImage(
  layers: LayerRecord[],
  settings: ImageSettings,
  cache: BuildCache,
): Promise<AssembledImage> {
  const created = FIXED_MTIME.toISOString();
  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: settings.env,
      ...(settings.entrypoint ? { Entrypoint: settings.entrypoint } : {}),
      ...(settings.cmd ? { Cmd: settings.cmd } : {}),
      ...(settings.workingDir ? { WorkingDir: settings.workingDir } : {}),
      Labels: settings.labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created, created_by: `stratus image build: ${l.description}` })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = await cache.putBlob(configBytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = await cache.putBlob(manifest);
  return { configDigest, manifestDigest, manifest };
}
