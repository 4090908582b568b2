/**
 * The layer operations behind `docker push` on ECR's API side: a layer is uploaded in
 * consecutive parts and completed under its digest; BatchCheckLayerAvailability and
 * GetDownloadUrlForLayer look at the layers a repository holds.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UploadLayerPart.html
 */
import {
  EmptyUploadException,
  InvalidLayerPartException,
  InvalidParameterException,
  LayerAlreadyExistsException,
  LayerInaccessibleException,
  LayersNotFoundException,
  UploadNotFoundException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { Layer, LayerFailure } from '../../api/ecr/types.js';
import { findRepository, repositoryIds } from './api-support.js';
import { ecrCall, type EcrDeps } from './common.js';
import { LayerUrls } from './layer-download.js';
import { isDigest } from './names.js';
import { RegistryError } from './registry-errors.js';
import type { RepositoryRecord } from './store.js';

/** What InitiateLayerUpload advises; parts may be up to 20 MiB (LayerPartBlob's limit). */
export const PART_SIZE = 10 * 1024 * 1024;

type LayerOperations = Pick<
  EcrOperations,
  | 'InitiateLayerUpload'
  | 'UploadLayerPart'
  | 'CompleteLayerUpload'
  | 'BatchCheckLayerAvailability'
  | 'GetDownloadUrlForLayer'
>;

export function layerOperations(deps: EcrDeps): LayerOperations {
  const urls = new LayerUrls(deps.store, deps.now);
  return {
    async InitiateLayerUpload(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const uploadId = await ecrCall(() => deps.registry.uploads.start(repo));
      return { uploadId, partSize: PART_SIZE };
    },

    async UploadLayerPart(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const part = Buffer.from(input.layerPartBlob);
      const received = await uploaded(deps, repo, input.uploadId);
      const refuse = (why: string) =>
        new InvalidLayerPartException(why, {
          ...repositoryIds(repo),
          uploadId: input.uploadId,
          lastValidByteReceived: received - 1,
        });
      if (input.partFirstByte !== received) {
        throw refuse(
          `The part's first byte ${input.partFirstByte} is not consecutive to the last byte received, ${received - 1}.`,
        );
      }
      if (input.partLastByte - input.partFirstByte + 1 !== part.length) {
        throw refuse(
          `The layer part size ${part.length} does not match the byte range ${input.partFirstByte}-${input.partLastByte}.`,
        );
      }
      let size: number;
      try {
        size = await deps.registry.uploads.append(repo, input.uploadId, part, received);
      } catch (err) {
        // Another part landed first.
        if (err instanceof RegistryError && err.kind === 'range-invalid') {
          throw refuse('The part is not consecutive to the last byte of the previous part.');
        }
        throw uploadError(err, repo, input.uploadId);
      }
      return { ...repositoryIds(repo), uploadId: input.uploadId, lastByteReceived: size - 1 };
    },

    async CompleteLayerUpload(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      if (input.layerDigests.length !== 1) {
        throw new InvalidParameterException(
          "Invalid parameter at 'layerDigests' failed to satisfy constraint: 'must contain exactly one digest'",
        );
      }
      const digest = input.layerDigests[0];
      const uploadId = input.uploadId;
      if ((await uploaded(deps, repo, uploadId)) === 0) {
        throw new EmptyUploadException(
          `The upload with id '${uploadId}' in the repository with name '${repo.name}' in registry with id '${repo.account}' cannot be completed because it does not have any parts`,
        );
      }
      if (isDigest(digest) && (await deps.registry.blobSize(repo, digest)) !== undefined) {
        // ECR refuses a second copy; the upload is of no further use.
        await deps.registry.uploads.cancel(repo, uploadId).catch(() => undefined);
        throw new LayerAlreadyExistsException(
          `The layer with digest '${digest}' already exists in the repository with name '${repo.name}' in registry with id '${repo.account}'`,
        );
      }
      try {
        await deps.registry.uploads.complete(repo, uploadId, digest);
      } catch (err) {
        throw uploadError(err, repo, uploadId);
      }
      return { ...repositoryIds(repo), uploadId, layerDigest: digest };
    },

    async BatchCheckLayerAvailability(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const layers: Layer[] = [];
      const failures: LayerFailure[] = [];
      for (const layerDigest of new Set(input.layerDigests)) {
        if (!isDigest(layerDigest)) {
          failures.push({
            layerDigest,
            failureCode: 'InvalidLayerDigest',
            failureReason: 'Invalid layer digest',
          });
          continue;
        }
        // A check during a push is a promise to reference the layer: pin it (see blob-guard.ts).
        const layerSize = await deps.registry.blobSize(repo, layerDigest, true);
        if (layerSize === undefined) {
          failures.push({
            layerDigest,
            failureCode: 'MissingLayerDigest',
            failureReason: 'Could not find layer',
          });
        } else {
          layers.push({ layerDigest, layerAvailability: 'AVAILABLE', layerSize });
        }
      }
      return { layers, failures };
    },

    async GetDownloadUrlForLayer(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const digest = input.layerDigest;
      if (!isDigest(digest)) {
        throw new InvalidParameterException(
          `Invalid parameter at 'layerDigest' failed to satisfy constraint: 'must be a sha256 digest (sha256:<64 hex characters>)'`,
        );
      }
      if ((await deps.registry.blobSize(repo, digest)) === undefined) {
        throw new LayersNotFoundException(
          `The layer with digest '${digest}' does not exist in the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
        );
      }
      if (!(await deps.registry.blobReferenced(digest))) {
        // ECR serves only layers an image uses: "The specified layer is not available
        // because it is not associated with an image. Unassociated image layers may be
        // cleaned up at any time."
        throw new LayerInaccessibleException(
          `The layer with digest '${digest}' is not available because it is not associated with an image. Unassociated image layers may be cleaned up at any time.`,
        );
      }
      return { downloadUrl: await urls.url(deps.endpoint(), repo, digest), layerDigest: digest };
    },
  };
}

/** Bytes an upload of this repository has received; UploadNotFoundException when unknown. */
async function uploaded(deps: EcrDeps, repo: RepositoryRecord, uploadId: string): Promise<number> {
  try {
    return await deps.registry.uploads.size(repo, uploadId);
  } catch (err) {
    throw uploadError(err, repo, uploadId);
  }
}

function uploadError(err: unknown, repo: RepositoryRecord, uploadId: string): unknown {
  if (!(err instanceof RegistryError)) return err;
  if (err.kind === 'upload-unknown') {
    return new UploadNotFoundException(
      `The upload with id '${uploadId}' does not exist in the repository with name '${repo.name}' in registry with id '${repo.account}'`,
    );
  }
  return err.toAwsError();
}
