/**
 * Image ids as the batch operations take them (`{imageDigest?, imageTag?}`), resolved to
 * images or to the per-id failures BatchGetImage and BatchDeleteImage report.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageFailure.html
 */
import type { ImageFailureCode, ImageIdentifier } from '../../api/ecr/types.js';
import type { EcrDeps } from './common.js';
import { isDigest, isTag } from './names.js';
import { RegistryError } from './registry-errors.js';
import type { ImageRecord, RepositoryRecord } from './store.js';

export interface Failure {
  failureCode: ImageFailureCode;
  failureReason: string;
}

export function isFailure(value: object): value is Failure {
  return 'failureCode' in value;
}

/** ECR's ImageDigest check, as its failure reason quotes it. */
const ECR_DIGEST = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;

const failure = (failureCode: ImageFailureCode, failureReason: string): Failure => ({
  failureCode,
  failureReason,
});

const NOT_FOUND = failure('ImageNotFound', 'Requested image not found');

/** Refusals that need no lookup; undefined for an id worth looking up. */
function checkId(id: ImageIdentifier): Failure | undefined {
  if (id.imageDigest === undefined && id.imageTag === undefined) {
    return failure(
      'MissingDigestAndTag',
      'Invalid request parameters: both tag and digest cannot be null',
    );
  }
  if (id.imageDigest !== undefined && !ECR_DIGEST.test(id.imageDigest)) {
    return failure(
      'InvalidImageDigest',
      "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    );
  }
  if (id.imageTag !== undefined && !isTag(id.imageTag)) {
    return failure(
      'InvalidImageTag',
      "Invalid request parameters: image tag should satisfy the regex '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,299}'",
    );
  }
  // Well formed but not sha256: no image here can have it.
  if (id.imageDigest !== undefined && !isDigest(id.imageDigest)) return NOT_FOUND;
  return undefined;
}

/**
 * The image an id names. With both a digest and a tag the tag must name that digest
 * (ImageTagDoesNotMatchDigest otherwise).
 */
export async function resolveImage(
  deps: EcrDeps,
  repo: RepositoryRecord,
  id: ImageIdentifier,
): Promise<ImageRecord | Failure> {
  const refused = checkId(id);
  if (refused) return refused;
  const find = (ref: string) => deps.registry.findImage(deps.store, repo, ref);
  const byDigest = id.imageDigest === undefined ? undefined : await find(id.imageDigest);
  const byTag = id.imageTag === undefined ? undefined : await find(id.imageTag);
  if (id.imageDigest !== undefined && id.imageTag !== undefined) {
    if (!byDigest || !byTag) return NOT_FOUND;
    if (byTag.digest !== byDigest.digest) {
      return failure(
        'ImageTagDoesNotMatchDigest',
        'Invalid request parameters: image tag does not match the image digest',
      );
    }
  }
  return byDigest ?? byTag ?? NOT_FOUND;
}

/**
 * BatchDeleteImage for one id. A tag alone removes that tag, and "when you remove the last
 * tag from an image, the image is deleted from your repository" (API reference); a digest
 * deletes the image with all its tags. Resolves the ids removed, one per tag.
 */
export async function deleteImageId(
  deps: EcrDeps,
  repo: RepositoryRecord,
  id: ImageIdentifier,
): Promise<ImageIdentifier[] | Failure> {
  try {
    if (id.imageDigest === undefined && id.imageTag !== undefined) {
      const refused = checkId(id);
      if (refused) return refused;
      return await untag(deps, repo, id.imageTag);
    }
    const image = await resolveImage(deps, repo, id);
    if (isFailure(image)) return image;
    const deleted = await deps.registry.deleteImage(repo, image.digest);
    if (deleted.tags.length === 0) return [{ imageDigest: deleted.digest }];
    return deleted.tags.map((imageTag) => ({ imageDigest: deleted.digest, imageTag }));
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    if (err.kind === 'manifest-unknown') return NOT_FOUND;
    if (err.kind === 'image-referenced') {
      return failure('ImageReferencedByManifestList', err.message);
    }
    throw err.toAwsError();
  }
}

async function untag(
  deps: EcrDeps,
  repo: RepositoryRecord,
  tag: string,
): Promise<ImageIdentifier[]> {
  const { image } = await deps.registry.untag(repo, tag, { deleteUntagged: true });
  return [{ imageDigest: image.digest, imageTag: tag }];
}
