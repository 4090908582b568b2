/**
 * ECR archive (2025): UpdateImageStorageClass moves an image to the archival storage class
 * and back. "Archived images cannot be pulled. Requests to pull the archived image will
 * fail with a 404 error. While the image cannot be pulled, it can still be described using
 * the describe-images command, or listed using the list-images command. The image status
 * will be shown as ARCHIVED." A restore takes time on AWS (the image is ACTIVATING until it
 * is back); here it completes RESTORE_MS after it was asked for. Re-pushing an archived
 * image makes it ACTIVE at once ("restored … by re-pushing the image to the repository").
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html
 */
import {
  ImageNotFoundException,
  ImageStorageClassUpdateNotSupportedException,
  InvalidParameterException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { ImageStatus, ImageStatusFilter } from '../../api/ecr/types.js';
import { findRepository } from './api-support.js';
import type { EcrDeps } from './common.js';
import { isFailure, resolveImage } from './image-ids.js';
import type { ImageRecord } from './store.js';

/** How long a restore from the archive takes here (AWS: up to about 20 minutes). */
export const RESTORE_MS = 2000;

/** An image's status now: ACTIVATING turns ACTIVE once its restore time has passed. */
export function imageStatus(image: ImageRecord, now: number): ImageStatus {
  if (image.archive === undefined) return 'ACTIVE';
  if (image.archive.status === 'ACTIVATING' && now >= image.archive.activeFrom) return 'ACTIVE';
  return image.archive.status;
}

/** "If not specified, only images with ACTIVE status are returned." */
export function matchesStatus(
  image: ImageRecord,
  filter: ImageStatusFilter | undefined,
  now: number,
): boolean {
  return filter === 'ANY' || imageStatus(image, now) === (filter ?? 'ACTIVE');
}

/** DescribeImages' imageStatus, lastArchivedAt and lastActivatedAt. */
export function storageFields(image: ImageRecord, now: number) {
  const a = image.archive;
  return {
    imageStatus: imageStatus(image, now),
    ...(a?.archivedAt !== undefined && { lastArchivedAt: new Date(a.archivedAt) }),
    ...(a?.activatedAt !== undefined && { lastActivatedAt: new Date(a.activatedAt) }),
  };
}

/** The image moved to the archive at `now` (unchanged unless it is ACTIVE). */
export function archived(image: ImageRecord, now: number): ImageRecord {
  if (imageStatus(image, now) !== 'ACTIVE') return image;
  return { ...image, archive: { ...image.archive, status: 'ARCHIVED', archivedAt: now } };
}

type StorageClassOps = Pick<EcrOperations, 'UpdateImageStorageClass'>;

export function storageClassOperations(deps: EcrDeps): StorageClassOps {
  return {
    async UpdateImageStorageClass(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const found = await resolveImage(deps, repo, input.imageId);
      if (isFailure(found)) {
        if (found.failureCode !== 'ImageNotFound') {
          throw new InvalidParameterException(found.failureReason);
        }
        throw new ImageNotFoundException(
          `The image with imageId {imageDigest:'${input.imageId.imageDigest ?? 'null'}', imageTag:'${input.imageId.imageTag ?? 'null'}'} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
        );
      }
      const target = input.targetStorageClass;
      const updated = await deps.registry.updateImage(repo, found.digest, (image) => {
        const now = deps.now();
        const status = imageStatus(image, now);
        if (target === 'ARCHIVE') {
          if (status !== 'ACTIVE') {
            throw new ImageStorageClassUpdateNotSupportedException(
              `The image is ${status} and cannot be moved to the ARCHIVE storage class.`,
            );
          }
          return archived(image, now);
        }
        if (status !== 'ARCHIVED') {
          throw new ImageStorageClassUpdateNotSupportedException(
            `The image is ${status} and cannot be moved to the STANDARD storage class.`,
          );
        }
        return {
          ...image,
          archive: {
            ...image.archive,
            status: 'ACTIVATING',
            activeFrom: now + RESTORE_MS,
            activatedAt: now + RESTORE_MS,
          },
        };
      });
      return {
        registryId: repo.account,
        repositoryName: repo.name,
        imageId: {
          imageDigest: found.digest,
          ...(input.imageId.imageTag !== undefined && { imageTag: input.imageId.imageTag }),
        },
        imageStatus: imageStatus(updated, deps.now()),
      };
    },
  };
}
