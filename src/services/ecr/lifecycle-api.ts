/**
 * Lifecycle policies: stored on the repository and applied for real by the lifecycle
 * runner (lifecycle-runner.ts) shortly after they are put and after every push; previews
 * say what a policy would expire now, without expiring anything.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
 */
import {
  LifecyclePolicyNotFoundException,
  LifecyclePolicyPreviewNotFoundException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { ImageIdentifier, LifecyclePolicyPreviewResult } from '../../api/ecr/types.js';
import {
  decodeToken,
  encodeToken,
  findRepository,
  refusePagingWithList,
  repositoryIds,
  updateRepository,
} from './api-support.js';
import { ecrCall, type EcrDeps } from './common.js';
import { parseLifecyclePolicy } from './lifecycle-policy.js';
import type { LifecyclePreviewRecord, RepositoryRecord } from './store.js';

/** GetLifecyclePolicyPreview's maxResults range is 1-100. */
const PREVIEW_PAGE = 100;

type LifecycleOperations = Pick<
  EcrOperations,
  | 'PutLifecyclePolicy'
  | 'GetLifecyclePolicy'
  | 'DeleteLifecyclePolicy'
  | 'StartLifecyclePolicyPreview'
  | 'GetLifecyclePolicyPreview'
>;

export function lifecycleOperations(deps: EcrDeps): LifecycleOperations {
  return {
    async PutLifecyclePolicy(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const text = input.lifecyclePolicyText;
      parseLifecyclePolicy(text);
      const updated = await updateRepository(deps, repo, (current) => ({
        ...current,
        lifecyclePolicy: { text, updatedAt: deps.now() },
      }));
      deps.lifecycle.schedule(updated);
      return { ...repositoryIds(repo), lifecyclePolicyText: text };
    },

    async GetLifecyclePolicy(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      if (!repo.lifecyclePolicy) throw policyNotFound(repo);
      return {
        ...repositoryIds(repo),
        lifecyclePolicyText: repo.lifecyclePolicy.text,
        // The runner evaluates a policy right after it is put (and after each push).
        lastEvaluatedAt: new Date(repo.lifecyclePolicy.updatedAt),
      };
    },

    async DeleteLifecyclePolicy(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      let removed: RepositoryRecord['lifecyclePolicy'];
      await updateRepository(deps, repo, (current) => {
        removed = current.lifecyclePolicy;
        const { lifecyclePolicy: _dropped, ...rest } = current;
        return rest;
      });
      if (!removed) throw policyNotFound(repo);
      return {
        ...repositoryIds(repo),
        lifecyclePolicyText: removed.text,
        lastEvaluatedAt: new Date(removed.updatedAt),
      };
    },

    async StartLifecyclePolicyPreview(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const text = input.lifecyclePolicyText ?? repo.lifecyclePolicy?.text;
      if (text === undefined) throw policyNotFound(repo);
      const expired = await deps.lifecycle.preview(repo, text);
      const record: LifecyclePreviewRecord = {
        policyText: text,
        status: 'COMPLETE',
        results: expired.map((e) => ({
          imageDigest: e.digest,
          imageTags: e.tags,
          imagePushedAt: e.pushedAt,
          appliedRulePriority: e.rulePriority,
          ...(e.transition && { transition: e.transition }),
          ...(e.storageClass && { storageClass: e.storageClass }),
        })),
      };
      await ecrCall(() => deps.registry.savePreview(repo, record));
      // AWS starts the preview and reports it running; GetLifecyclePolicyPreview (which
      // clients poll) then finds it complete, as it already is here.
      return { ...repositoryIds(repo), lifecyclePolicyText: text, status: 'IN_PROGRESS' };
    },

    async GetLifecyclePolicyPreview(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      refusePagingWithList('imageIds', input.imageIds, input);
      const preview = await deps.registry.preview(repo);
      if (!preview) {
        throw new LifecyclePolicyPreviewNotFoundException(
          `Lifecycle policy preview does not exist for the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
        );
      }
      const tagStatus = input.filter?.tagStatus ?? 'ANY';
      const results = preview.results.filter(
        (r) =>
          (tagStatus === 'ANY' || (tagStatus === 'TAGGED') === r.imageTags.length > 0) &&
          (!input.imageIds?.length || input.imageIds.some((id) => names(id, r))),
      );
      const start =
        input.nextToken === undefined
          ? 0
          : Number(decodeToken('GetLifecyclePolicyPreview', input.nextToken));
      const limit = input.maxResults ?? PREVIEW_PAGE;
      const page = results.slice(start, start + limit);
      return {
        ...repositoryIds(repo),
        lifecyclePolicyText: preview.policyText,
        status: preview.status,
        previewResults: page.map((r): LifecyclePolicyPreviewResult => ({
          ...(r.imageTags.length > 0 ? { imageTags: r.imageTags } : {}),
          imageDigest: r.imageDigest,
          imagePushedAt: new Date(r.imagePushedAt),
          action: r.transition
            ? { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' }
            : { type: 'EXPIRE' },
          appliedRulePriority: r.appliedRulePriority,
          storageClass: r.storageClass === 'archive' ? 'ARCHIVE' : 'STANDARD',
        })),
        summary: previewSummary(preview),
        ...(start + limit < results.length
          ? { nextToken: encodeToken('GetLifecyclePolicyPreview', String(start + limit)) }
          : {}),
      };
    },
  };
}

/** How many images the preview expires, and how many it moves to each storage class. */
function previewSummary(preview: LifecyclePreviewRecord) {
  const transitioning = preview.results.filter((r) => r.transition).length;
  return {
    expiringImageTotalCount: preview.results.length - transitioning,
    ...(transitioning > 0 && {
      transitioningImageTotalCounts: [
        { targetStorageClass: 'ARCHIVE' as const, imageTotalCount: transitioning },
      ],
    }),
  };
}

function names(id: ImageIdentifier, r: LifecyclePreviewRecord['results'][number]): boolean {
  if (id.imageDigest !== undefined && id.imageDigest !== r.imageDigest) return false;
  if (id.imageTag !== undefined && !r.imageTags.includes(id.imageTag)) return false;
  return id.imageDigest !== undefined || id.imageTag !== undefined;
}

function policyNotFound(repo: RepositoryRecord): LifecyclePolicyNotFoundException {
  return new LifecyclePolicyNotFoundException(
    `Lifecycle policy does not exist for the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
  );
}
