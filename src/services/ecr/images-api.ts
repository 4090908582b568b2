/**
 * Images through the ECR API: listing and describing them, fetching manifests
 * (BatchGetImage), deleting images and tags, and pushing a manifest (PutImage). The
 * registry core (registry.ts) does the work the /v2/ data plane shares.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
 */
import { createHash } from 'node:crypto';
import {
  ImageAlreadyExistsException,
  ImageDigestDoesNotMatchException,
  ImageNotFoundException,
  InvalidParameterException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { ImageDetail, ImageFailure, ImageIdentifier, TagStatus } from '../../api/ecr/types.js';
import {
  DEFAULT_PAGE_SIZE,
  decodeToken,
  encodeToken,
  findRepository,
  refusePagingWithList,
  repositoryIds,
} from './api-support.js';
import * as paging from '../../shared/paging.js';
import { ecrCall, scopeOf, type EcrDeps } from './common.js';
import { deleteImageId, isFailure, resolveImage, type Failure } from './image-ids.js';
import { imageStatus, matchesStatus, storageFields } from './storage-class.js';
import { acceptsMediaType } from './manifest.js';
import type { ImageRecord, RepositoryRecord } from './store.js';

type ImageOperations = Pick<
  EcrOperations,
  | 'ListImages'
  | 'DescribeImages'
  | 'BatchGetImage'
  | 'BatchDeleteImage'
  | 'PutImage'
  | 'ListImageReferrers'
>;

/** Images are read from the store in batches of this many while a page fills. */
const BATCH = 100;

export function imageOperations(deps: EcrDeps): ImageOperations {
  return {
    async ListImages(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const tagStatus = input.filter?.tagStatus ?? 'ANY';
      const limit = input.maxResults ?? DEFAULT_PAGE_SIZE;
      const ids: ImageIdentifier[] = [];
      let after: string | undefined;
      if (input.nextToken !== undefined) {
        // `<digest>\n<tag>`: the last entry returned; '' for an untagged image.
        const [digest, tag = ''] = decodeToken('ListImages', input.nextToken).split('\n');
        after = digest;
        const image = tag === '' ? undefined : await findByDigest(deps, repo, digest);
        const rest = image ? listEntries(image, tagStatus) : [];
        ids.push(...rest.filter((e) => e.imageTag !== undefined && e.imageTag > tag));
      }
      const now = deps.now();
      for await (const image of imagesAfter(deps, repo, after)) {
        if (ids.length > limit) break;
        if (!matchesStatus(image, input.filter?.imageStatus, now)) continue;
        ids.push(...listEntries(image, tagStatus));
      }
      if (ids.length <= limit) return { imageIds: ids };
      const page = ids.slice(0, limit);
      const last = page[page.length - 1];
      return {
        imageIds: page,
        nextToken: encodeToken('ListImages', `${last.imageDigest}\n${last.imageTag ?? ''}`),
      };
    },

    async DescribeImages(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      refusePagingWithList('imageIds', input.imageIds, input);
      const tagStatus = input.filter?.tagStatus ?? 'ANY';
      const images: ImageRecord[] = [];
      let nextToken: string | undefined;
      if (input.imageIds?.length) {
        const seen = new Set<string>();
        for (const id of input.imageIds) {
          const found = await resolveImage(deps, repo, id);
          if (isFailure(found)) throw describeFailure(repo, id, found);
          if (!seen.has(found.digest)) images.push(found);
          seen.add(found.digest);
        }
      } else {
        const now = deps.now();
        const limit = input.maxResults ?? DEFAULT_PAGE_SIZE;
        const after =
          input.nextToken === undefined
            ? undefined
            : decodeToken('DescribeImages', input.nextToken);
        for await (const image of imagesAfter(deps, repo, after)) {
          if (!matchesTagStatus(image, tagStatus)) continue;
          if (!matchesStatus(image, input.filter?.imageStatus, now)) continue;
          if (images.length === limit) {
            nextToken = encodeToken('DescribeImages', images[limit - 1].digest);
            break;
          }
          images.push(image);
        }
      }
      const details = await describe(deps, repo, images);
      return { imageDetails: details, ...(nextToken ? { nextToken } : {}) };
    },

    async BatchGetImage(input, ctx) {
      const scope = scopeOf(ctx, input.registryId);
      const repo = await ecrCall(() =>
        deps.registry.repositoryOrUpstream(scope, input.repositoryName),
      );
      const images = [];
      const failures: ImageFailure[] = [];
      for (const id of unique(input.imageIds)) {
        const found = await resolveImage(deps, repo, id);
        if (isFailure(found)) {
          failures.push({ imageId: id, ...found });
          continue;
        }
        if (imageStatus(found, deps.now()) !== 'ACTIVE') {
          // "Archived images cannot be pulled."
          failures.push({
            imageId: id,
            failureCode: 'ImageNotFound',
            failureReason: `Requested image is ${imageStatus(found, deps.now())}: archived images cannot be pulled`,
          });
          continue;
        }
        // Asked by tag, a manifest of a type not accepted is converted as the registry
        // does (manifest-convert.ts); the converted manifest's own digest is reported.
        const served = await ecrCall(() =>
          deps.registry.manifestFor(repo, id.imageTag ?? found.digest, (type) =>
            acceptsMediaType(input.acceptedMediaTypes, type),
          ),
        );
        if (!served) {
          failures.push({
            imageId: id,
            failureCode: 'ImageNotFound',
            failureReason: `Requested image not found in the accepted media types: the image's manifest is ${found.mediaType}${id.imageTag === undefined ? ', and an image requested by digest is never converted' : ', which cannot be converted to an accepted type'}`,
          });
          continue;
        }
        images.push({
          ...repositoryIds(repo),
          imageId: { imageDigest: served.digest, ...tagOf(id) },
          imageManifest: served.body.toString('utf8'),
          imageManifestMediaType: served.mediaType,
        });
        await deps.registry.recordPull(repo, found, ctx.principal.arn);
      }
      return { images, failures };
    },

    /** The OCI 1.1 referrers of an image (signatures, SBOMs), as the registry's /referrers. */
    async ListImageReferrers(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const types = input.filter?.artifactTypes;
      const all = (
        await ecrCall(() => deps.registry.referrers(repo, input.subjectId.imageDigest))
      ).filter((r) => !types?.length || (r.artifactType && types.includes(r.artifactType)));
      all.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
      const page = paging.pageArray(all, (r) => r.digest, {
        marker: input.nextToken,
        max: input.maxResults ?? DEFAULT_PAGE_SIZE,
        resume: 'after',
        invalid: () =>
          new InvalidParameterException(
            "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
          ),
      });
      return {
        referrers: page.items.map((r) => ({
          digest: r.digest,
          mediaType: r.mediaType,
          size: r.size,
          ...(r.artifactType === undefined ? {} : { artifactType: r.artifactType }),
          ...(r.annotations === undefined ? {} : { annotations: r.annotations }),
          artifactStatus: 'ACTIVE' as const,
        })),
        ...(page.next === undefined ? {} : { nextToken: page.next }),
      };
    },

    async BatchDeleteImage(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const imageIds: ImageIdentifier[] = [];
      const failures: ImageFailure[] = [];
      for (const id of unique(input.imageIds)) {
        const result = await deleteImageId(deps, repo, id);
        if (isFailure(result)) failures.push({ imageId: id, ...result });
        else imageIds.push(...result);
      }
      return { imageIds, failures };
    },

    async PutImage(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const bytes = Buffer.from(input.imageManifest, 'utf8');
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (input.imageDigest !== undefined && input.imageDigest !== digest) {
        throw new ImageDigestDoesNotMatchException(
          `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The digest ${input.imageDigest} does not match the digest of the manifest, ${digest}'`,
        );
      }
      requireMediaType(input.imageManifest, input.imageManifestMediaType);
      const tag = input.imageTag;
      const result = await ecrCall(() =>
        deps.registry.putManifest(repo, tag ?? digest, bytes, input.imageManifestMediaType),
      );
      if (!result.changed) {
        throw new ImageAlreadyExistsException(
          tag === undefined
            ? `Image with digest '${digest}' already exists in the repository with name '${repo.name}' in registry with id '${repo.account}'`
            : `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${repo.name}' in registry with id '${repo.account}'`,
        );
      }
      const image = await ecrCall(() => deps.registry.image(repo, digest));
      return {
        image: {
          ...repositoryIds(repo),
          imageId: { imageDigest: digest, ...(tag === undefined ? {} : { imageTag: tag }) },
          imageManifest: input.imageManifest,
          imageManifestMediaType: image.mediaType,
        },
      };
    },
  };
}

/** ListImages: one entry per tag of the image, or one without a tag when it has none. */
function listEntries(image: ImageRecord, tagStatus: TagStatus): ImageIdentifier[] {
  if (image.tags.length === 0) {
    return tagStatus === 'TAGGED' ? [] : [{ imageDigest: image.digest }];
  }
  if (tagStatus === 'UNTAGGED') return [];
  return [...image.tags].sort().map((imageTag) => ({ imageDigest: image.digest, imageTag }));
}

function matchesTagStatus(image: ImageRecord, tagStatus: TagStatus): boolean {
  if (tagStatus === 'TAGGED') return image.tags.length > 0;
  if (tagStatus === 'UNTAGGED') return image.tags.length === 0;
  return true;
}

/** The repository's images in digest order after `after`, read in batches. */
async function* imagesAfter(
  deps: EcrDeps,
  repo: RepositoryRecord,
  after: string | undefined,
): AsyncGenerator<ImageRecord> {
  let from = after;
  for (;;) {
    const batch = await deps.registry.listImages(repo, { after: from, limit: BATCH });
    yield* batch;
    if (batch.length < BATCH) return;
    from = batch[batch.length - 1].digest;
  }
}

function findByDigest(
  deps: EcrDeps,
  repo: RepositoryRecord,
  digest: string,
): Promise<ImageRecord | undefined> {
  return deps.registry.imageByDigest(repo, digest);
}

/** ImageDetail of each image; a manifest list's size is the largest of its images'. */
async function describe(
  deps: EcrDeps,
  repo: RepositoryRecord,
  images: readonly ImageRecord[],
): Promise<ImageDetail[]> {
  const byDigest = new Map(images.map((i) => [i.digest, i]));
  const details: ImageDetail[] = [];
  for (const image of images) {
    let size = image.size;
    if (image.children.length > 0) {
      // "If the image is a manifest list, this will be the max size of all manifests in the list."
      size = 0;
      for (const d of image.children) {
        const child = byDigest.get(d) ?? (await findByDigest(deps, repo, d));
        if (child) size = Math.max(size, child.size);
      }
    }
    const configType = configMediaType(image);
    details.push({
      ...repositoryIds(repo),
      imageDigest: image.digest,
      ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
      imageSizeInBytes: size,
      imagePushedAt: new Date(image.pushedAt),
      imageManifestMediaType: image.mediaType,
      ...(configType === undefined ? {} : { artifactMediaType: configType }),
      ...(image.lastPulledAt === undefined
        ? {}
        : { lastRecordedPullTime: new Date(image.lastPulledAt) }),
      ...(image.subject === undefined ? {} : { subjectManifestDigest: image.subject }),
      ...storageFields(image, deps.now()),
    });
  }
  return details;
}

/** artifactMediaType: the media type of an image manifest's config blob. */
function configMediaType(image: ImageRecord): string | undefined {
  if (image.children.length > 0 || image.blobs.length === 0) return undefined;
  try {
    const doc = JSON.parse(image.manifest) as { config?: { mediaType?: unknown } };
    return typeof doc.config?.mediaType === 'string' ? doc.config.mediaType : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PutImage needs a media type, in the manifest or in imageManifestMediaType (moto, copying
 * AWS: "image manifest mediatype not provided in manifest or parameter"). Bytes that are
 * not JSON are left to the registry core, which words that refusal.
 */
function requireMediaType(manifest: string, given: string | undefined): void {
  if (given !== undefined) return;
  let doc: unknown;
  try {
    doc = JSON.parse(manifest);
  } catch {
    return;
  }
  if (typeof doc === 'object' && doc !== null && 'mediaType' in doc) return;
  throw new InvalidParameterException(
    'image manifest mediatype not provided in manifest or parameter',
  );
}

/** DescribeImages answers an image id that names nothing with an exception, not a failure. */
function describeFailure(repo: RepositoryRecord, id: ImageIdentifier, failure: Failure): Error {
  if (
    failure.failureCode === 'ImageNotFound' ||
    failure.failureCode === 'ImageTagDoesNotMatchDigest'
  ) {
    return new ImageNotFoundException(
      `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
    );
  }
  return new InvalidParameterException(failure.failureReason);
}

const tagOf = (id: ImageIdentifier): { imageTag?: string } =>
  id.imageTag === undefined ? {} : { imageTag: id.imageTag };

/** The same image id given twice is answered once. */
function unique(ids: readonly ImageIdentifier[]): ImageIdentifier[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = `${id.imageDigest ?? ''}\n${id.imageTag ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
