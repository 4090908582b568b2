/**
 * Repositories: create, describe, delete, their settings (tag mutability, scanning),
 * repository policies and resource tags.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
 */
import { createHash } from 'node:crypto';
import {
  InvalidParameterException,
  InvalidTagParameterException,
  RepositoryAlreadyExistsException,
  RepositoryPolicyNotFoundException,
  TooManyTagsException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type {
  EncryptionConfiguration,
  ImageTagMutability,
  ImageTagMutabilityExclusionFilter,
  Tag,
} from '../../api/ecr/types.js';
import { policyDocumentError } from '../../shared/policy-documents.js';
import {
  DEFAULT_PAGE_SIZE,
  decodeToken,
  encodeToken,
  findRepository,
  refusePagingWithList,
  repositoryIds,
  toRepository,
  updateRepository,
} from './api-support.js';
import { buildArn, isAccountId, parseArn } from '../../shared/arn.js';
import { ecrCall, scopeOf, type EcrDeps } from './common.js';
import { isRepositoryName } from './names.js';
import type { RepositoryRecord, Scope } from './store.js';

/** "The maximum number of tags that can be applied to a repository is 50." */
const MAX_TAGS = 50;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;

type RepositoryOperations = Pick<
  EcrOperations,
  | 'CreateRepository'
  | 'DescribeRepositories'
  | 'DeleteRepository'
  | 'PutImageTagMutability'
  | 'PutImageScanningConfiguration'
  | 'SetRepositoryPolicy'
  | 'GetRepositoryPolicy'
  | 'DeleteRepositoryPolicy'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource'
>;

export function repositoryOperations(deps: EcrDeps): RepositoryOperations {
  return {
    async CreateRepository(input, ctx) {
      const scope = scopeOf(ctx, input.registryId);
      const mutability = input.imageTagMutability ?? 'MUTABLE';
      const repo: RepositoryRecord = {
        ...scope,
        name: input.repositoryName,
        createdAt: deps.now(),
        imageTagMutability: mutability,
        ...exclusionFilters(mutability, input.imageTagMutabilityExclusionFilters),
        scanOnPush: input.imageScanningConfiguration?.scanOnPush ?? false,
        encryption: encryption(scope, input.encryptionConfiguration),
        tags: mergeTags([], input.tags ?? []),
      };
      if (!(await deps.registry.createRepository(repo))) {
        throw new RepositoryAlreadyExistsException(
          `The repository with name '${repo.name}' already exists in the registry with id '${scope.account}'`,
        );
      }
      return { repository: toRepository(deps, repo) };
    },

    async DescribeRepositories(input, ctx) {
      const scope = scopeOf(ctx, input.registryId);
      refusePagingWithList('repositoryNames', input.repositoryNames, input);
      if (input.repositoryNames?.length) {
        const repositories = [];
        for (const name of new Set(input.repositoryNames)) {
          repositories.push(
            toRepository(deps, await findRepository(deps, ctx, input.registryId, name)),
          );
        }
        return { repositories };
      }
      const limit = input.maxResults ?? DEFAULT_PAGE_SIZE;
      const after =
        input.nextToken === undefined
          ? undefined
          : decodeToken('DescribeRepositories', input.nextToken);
      const items = await deps.registry.repositories(scope, limit + 1, after);
      const page = items.slice(0, limit);
      return {
        repositories: page.map((r) => toRepository(deps, r)),
        ...(items.length > limit
          ? { nextToken: encodeToken('DescribeRepositories', page[page.length - 1].name) }
          : {}),
      };
    },

    async DeleteRepository(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      await ecrCall(() => deps.registry.deleteRepository(repo, input.force ?? false));
      return { repository: toRepository(deps, repo) };
    },

    async PutImageTagMutability(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const filters = exclusionFilters(
        input.imageTagMutability,
        input.imageTagMutabilityExclusionFilters,
      );
      const updated = await updateRepository(deps, repo, (current) => {
        const { imageTagMutabilityExclusionFilters: _dropped, ...rest } = current;
        return { ...rest, imageTagMutability: input.imageTagMutability, ...filters };
      });
      return {
        ...repositoryIds(updated),
        imageTagMutability: updated.imageTagMutability,
        ...filters,
      };
    },

    async PutImageScanningConfiguration(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const scanOnPush = input.imageScanningConfiguration.scanOnPush ?? false;
      const updated = await updateRepository(deps, repo, (current) => ({
        ...current,
        scanOnPush,
      }));
      return { ...repositoryIds(updated), imageScanningConfiguration: { scanOnPush } };
    },

    async SetRepositoryPolicy(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      checkRepositoryPolicy(input.policyText);
      // `force` guards against a policy that locks the caller out; nothing is enforced
      // here, so there is nothing to guard.
      await updateRepository(deps, repo, (current) => ({
        ...current,
        policyText: input.policyText,
      }));
      return { ...repositoryIds(repo), policyText: input.policyText };
    },

    async GetRepositoryPolicy(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      if (repo.policyText === undefined) throw policyNotFound(repo);
      return { ...repositoryIds(repo), policyText: repo.policyText };
    },

    async DeleteRepositoryPolicy(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      let removed: string | undefined;
      await updateRepository(deps, repo, (current) => {
        removed = current.policyText;
        const { policyText: _dropped, ...rest } = current;
        return rest;
      });
      if (removed === undefined) throw policyNotFound(repo);
      return { ...repositoryIds(repo), policyText: removed };
    },

    async TagResource(input) {
      const repo = await repositoryOfArn(deps, input.resourceArn);
      await updateRepository(deps, repo, (current) => ({
        ...current,
        tags: mergeTags(current.tags, input.tags),
      }));
      return {};
    },

    async UntagResource(input) {
      const repo = await repositoryOfArn(deps, input.resourceArn);
      const keys = new Set(input.tagKeys);
      await updateRepository(deps, repo, (current) => ({
        ...current,
        tags: current.tags.filter((t) => !keys.has(t.Key)),
      }));
      return {};
    },

    async ListTagsForResource(input) {
      const repo = await repositoryOfArn(deps, input.resourceArn);
      return { tags: repo.tags.map((t) => ({ Key: t.Key, Value: t.Value })) };
    },
  };
}

/**
 * Exclusion filters belong to the two `*_WITH_EXCLUSION` settings, which need at least
 * one (the model allows up to five, each `[0-9a-zA-Z._*-]{1,128}`).
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
 */
function exclusionFilters(
  mutability: ImageTagMutability,
  filters: ImageTagMutabilityExclusionFilter[] | undefined,
): { imageTagMutabilityExclusionFilters?: ImageTagMutabilityExclusionFilter[] } {
  const withExclusion =
    mutability === 'IMMUTABLE_WITH_EXCLUSION' || mutability === 'MUTABLE_WITH_EXCLUSION';
  if (withExclusion && !filters?.length) {
    throw new InvalidParameterException(
      `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'must be specified when imageTagMutability is ${mutability}'`,
    );
  }
  if (!withExclusion && filters?.length) {
    throw new InvalidParameterException(
      `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'can only be specified when imageTagMutability is IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION'`,
    );
  }
  return withExclusion && filters
    ? {
        imageTagMutabilityExclusionFilters: filters.map((f) => ({
          filterType: f.filterType,
          filter: f.filter,
        })),
      }
    : {};
}

/**
 * Stored as given. KMS without a key means the AWS managed key `aws/ecr`, which ECR
 * reports by its key ARN; this one is stable per account and region.
 */
function encryption(scope: Scope, config?: EncryptionConfiguration): EncryptionConfiguration {
  if (!config) return { encryptionType: 'AES256' };
  if (config.encryptionType === 'AES256') {
    if (config.kmsKey !== undefined) {
      throw new InvalidParameterException(
        "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'kmsKey can only be specified when encryptionType is KMS or KMS_DSSE'",
      );
    }
    return { encryptionType: 'AES256' };
  }
  return {
    encryptionType: config.encryptionType,
    kmsKey: config.kmsKey ?? managedKeyArn(scope),
  };
}

function managedKeyArn(scope: Scope): string {
  const h = createHash('sha256').update(`aws/ecr:${scope.account}:${scope.region}`).digest('hex');
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return buildArn('kms', scope.region, scope.account, `key/${id}`);
}

/** Sets `added` over `existing` (a key given again gets the new value), within ECR's limits. */
function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const merged = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const { Key, Value } of added) {
    if (Key.length < 1 || Key.length > MAX_TAG_KEY || Value.length > MAX_TAG_VALUE) {
      throw new InvalidTagParameterException(
        'Tag keys can have a maximum character length of 128 characters, and tag values can have a maximum length of 256 characters.',
      );
    }
    if (Key.toLowerCase().startsWith('aws:')) {
      throw new InvalidTagParameterException(
        `Tag key '${Key}' is invalid: the aws: prefix is reserved for AWS use.`,
      );
    }
    merged.set(Key, Value);
  }
  if (merged.size > MAX_TAGS) {
    throw new TooManyTagsException(
      'The list of tags on the repository is over the limit. The maximum number of tags that can be applied to a repository is 50.',
    );
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

const REGION = /^[a-z0-9-]+$/;

/** The repository a resource ARN names (the only taggable ECR resource). */
async function repositoryOfArn(deps: EcrDeps, resourceArn: string): Promise<RepositoryRecord> {
  const arn = parseArn(resourceArn);
  const name = arn?.resource.startsWith('repository/') ? arn.resource.slice(11) : '';
  if (
    arn?.service !== 'ecr' ||
    !REGION.test(arn.region) ||
    !isAccountId(arn.account) ||
    !isRepositoryName(name)
  ) {
    throw new InvalidParameterException(
      "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'",
    );
  }
  return ecrCall(() =>
    deps.registry.repository({ account: arn.account, region: arn.region }, name),
  );
}

/**
 * A repository policy is a resource policy: valid JSON, statements with an Effect, a
 * principal and actions (no Resource needed: the repository is the resource).
 */
function checkRepositoryPolicy(text: string): void {
  const invalid = new InvalidParameterException(
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
  );
  if (policyDocumentError(text, 'trust') !== undefined) throw invalid;
  const doc = JSON.parse(text) as { Statement: unknown };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const s of statements as Record<string, unknown>[]) {
    if (!('Principal' in s) && !('NotPrincipal' in s)) throw invalid;
    if (!('Action' in s) && !('NotAction' in s)) throw invalid;
  }
}

function policyNotFound(repo: RepositoryRecord): RepositoryPolicyNotFoundException {
  return new RepositoryPolicyNotFoundException(
    `Repository policy does not exist for the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
  );
}
