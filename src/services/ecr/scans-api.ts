/**
 * Image scanning: StartImageScan and DescribeImageScanFindings.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html
 * Scanning needs a vulnerability database, which this machine (no network beyond itself)
 * cannot obtain. A scan is therefore recorded and reported `FAILED` with that reason, a
 * status ECR itself reports for images it cannot scan; no finding is ever invented.
 */
import { ScanNotFoundException } from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { ImageIdentifier, ImageScanStatus } from '../../api/ecr/types.js';
import { ImageNotFoundException } from '../../api/ecr/errors.js';
import { findRepository } from './api-support.js';
import type { EcrDeps } from './common.js';
import { isFailure, resolveImage } from './image-ids.js';
import { keyOf } from './registry.js';
import { T, childKey, type RepositoryRecord } from './store.js';
import type { MetadataStore } from '../../storage/types.js';

type ScanOperations = Pick<EcrOperations, 'StartImageScan' | 'DescribeImageScanFindings'>;

interface ScanRecord {
  status: ImageScanStatus;
  completedAt: number;
}

/**
 * Records the scan of an image: what StartImageScan does, and a push to a repository with
 * scanOnPush ("each image is automatically scanned after being pushed").
 */
export async function recordScan(
  store: MetadataStore,
  repo: RepositoryRecord,
  digest: string,
  now: number,
): Promise<void> {
  const rec: ScanRecord = { status: NO_VULNERABILITY_DATA, completedAt: now };
  await store.put(T.scans, childKey(keyOf(repo), digest), rec);
}

export const NO_VULNERABILITY_DATA: ImageScanStatus = {
  status: 'FAILED',
  description:
    'Stratus has no vulnerability database: it cannot be obtained without network access, so the image was not scanned.',
};

/** AWS's rendering of an image id inside messages: `{imageDigest:'…', imageTag:'…'}`. */
export const idText = (id: ImageIdentifier): string =>
  '{' +
  [
    id.imageDigest !== undefined ? `imageDigest:'${id.imageDigest}'` : undefined,
    id.imageTag !== undefined ? `imageTag:'${id.imageTag}'` : undefined,
  ]
    .filter(Boolean)
    .join(', ') +
  '}';

export function scanOperations(deps: EcrDeps): ScanOperations {
  async function image(
    ctx: Parameters<ScanOperations['StartImageScan']>[1],
    input: {
      registryId?: string;
      repositoryName: string;
      imageId: ImageIdentifier;
    },
  ) {
    const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
    const found = await resolveImage(deps, repo, input.imageId);
    if (isFailure(found)) {
      throw new ImageNotFoundException(
        `The image with imageId ${idText(input.imageId)} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
      );
    }
    return { repo, found, key: childKey(keyOf(repo), found.digest) };
  }

  return {
    async StartImageScan(input, ctx) {
      const { repo, found } = await image(ctx, input);
      await recordScan(deps.store, repo, found.digest, deps.now());
      return {
        registryId: repo.account,
        repositoryName: repo.name,
        imageId: { ...input.imageId, imageDigest: found.digest },
        imageScanStatus: { status: 'IN_PROGRESS' },
      };
    },

    async DescribeImageScanFindings(input, ctx) {
      const { repo, found, key } = await image(ctx, input);
      const rec = await deps.store.get<ScanRecord>(T.scans, key);
      if (!rec) {
        throw new ScanNotFoundException(
          `Image scan does not exist for the image with '${idText(input.imageId)}' in the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
        );
      }
      return {
        registryId: repo.account,
        repositoryName: repo.name,
        imageId: { ...input.imageId, imageDigest: found.digest },
        imageScanStatus: rec.status,
      };
    },
  };
}
