/**
 * ECR test fixtures through the API itself: a blob through the layer-upload operations,
 * and a one-layer OCI image pushed with PutImage.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteLayerUploadCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export const sha256 = (b: Buffer | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Pushed {
  digest: string;
  manifest: string;
  config: { digest: string; size: number };
  layers: { digest: string; size: number; bytes: Buffer }[];
}

/** InitiateLayerUpload, UploadLayerPart (in parts of `partSize`), CompleteLayerUpload. */
export async function uploadBlob(
  ecr: ECRClient,
  repo: string,
  bytes: Buffer,
  partSize = bytes.length,
): Promise<{ digest: string; size: number; bytes: Buffer }> {
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: repo }));
  for (let at = 0; at < bytes.length; at += partSize) {
    const part = bytes.subarray(at, at + partSize);
    const up = await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: repo,
        uploadId,
        partFirstByte: at,
        partLastByte: at + part.length - 1,
        layerPartBlob: part,
      }),
    );
    assert.equal(up.lastByteReceived, at + part.length - 1);
  }
  const done = await ecr.send(
    new CompleteLayerUploadCommand({
      repositoryName: repo,
      uploadId,
      layerDigests: [sha256(bytes)],
    }),
  );
  assert.equal(done.layerDigest, sha256(bytes));
  return { digest: sha256(bytes), size: bytes.length, bytes };
}

/** Builds and pushes a one-layer OCI image (config + random layer) under `tag`. */
export async function pushImage(
  ecr: ECRClient,
  repo: string,
  tag?: string,
  layerBytes = 512,
): Promise<Pushed> {
  const layer = await uploadBlob(ecr, repo, randomBytes(layerBytes));
  const configJson = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    config: { Env: [`SEED=${randomBytes(8).toString('hex')}`] },
  });
  const config = await uploadBlob(ecr, repo, Buffer.from(configJson));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
    layers: [{ mediaType: OCI_LAYER, digest: layer.digest, size: layer.size }],
  });
  const put = await ecr.send(
    new PutImageCommand({ repositoryName: repo, imageManifest: manifest, imageTag: tag }),
  );
  assert.equal(put.image?.imageId?.imageDigest, sha256(manifest));
  return { digest: sha256(manifest), manifest, config, layers: [layer] };
}
