/**
 * What the ECR API modules share beyond common.ts: finding the repository an operation
 * names, the Repository shape ECR returns, and opaque paging tokens.
 */
import { InvalidParameterException } from '../../api/ecr/errors.js';
import type { Repository } from '../../api/ecr/types.js';
import type { RequestContext } from '../../shared/context.js';
import * as paging from '../../shared/paging.js';
import { ecrCall, repositoryArn, repositoryUri, scopeOf, type EcrDeps } from './common.js';
import type { RepositoryRecord } from './store.js';

/** The repository `name` of the addressed registry; RepositoryNotFoundException when none. */
export function findRepository(
  deps: EcrDeps,
  ctx: RequestContext,
  registryId: string | undefined,
  name: string,
): Promise<RepositoryRecord> {
  return ecrCall(() => deps.registry.repository(scopeOf(ctx, registryId), name));
}

/** The Repository shape of CreateRepository, DescribeRepositories and DeleteRepository. */
export function toRepository(deps: EcrDeps, repo: RepositoryRecord): Repository {
  return {
    repositoryArn: repositoryArn(repo),
    registryId: repo.account,
    repositoryName: repo.name,
    repositoryUri: repositoryUri(deps, repo),
    createdAt: new Date(repo.createdAt),
    imageTagMutability: repo.imageTagMutability,
    ...(repo.imageTagMutabilityExclusionFilters?.length
      ? { imageTagMutabilityExclusionFilters: repo.imageTagMutabilityExclusionFilters }
      : {}),
    imageScanningConfiguration: { scanOnPush: repo.scanOnPush },
    encryptionConfiguration: repo.encryption,
  };
}

/** The fields every repository-scoped response starts with. */
export const repositoryIds = (
  repo: RepositoryRecord,
): { registryId: string; repositoryName: string } => ({
  registryId: repo.account,
  repositoryName: repo.name,
});

// ----- paging ---------------------------------------------------------------------------
// ECR's nextToken is opaque. Ours is base64url JSON naming the operation it came from and
// where the next page starts, so a token handed to another operation is refused.

export function encodeToken(op: string, position: string): string {
  return paging.encodeToken({ o: op, p: position });
}

/** The position a token of `op` carries; InvalidParameterException for anything else. */
export function decodeToken(op: string, token: string): string {
  const raw = paging.decodeToken(token);
  if (
    typeof raw === 'object' &&
    raw !== null &&
    (raw as { o?: unknown }).o === op &&
    typeof (raw as { p?: unknown }).p === 'string'
  ) {
    return (raw as { p: string }).p;
  }
  throw new InvalidParameterException(
    "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
  );
}

/**
 * ECR refuses paging parameters together with an explicit list ("This option cannot be
 * used when you specify repositories with repositoryNames", DescribeRepositories).
 */
export function refusePagingWithList(
  listName: string,
  list: readonly unknown[] | undefined,
  input: { maxResults?: number; nextToken?: string },
): void {
  if (!list?.length) return;
  if (input.maxResults !== undefined || input.nextToken !== undefined) {
    throw new InvalidParameterException(
      `Invalid parameter: maxResults and nextToken cannot be used together with ${listName}`,
    );
  }
}

/** DescribeRepositories, ListImages and DescribeImages return up to 100 items by default. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * Rewrites a repository record in one transaction, from its current state (another
 * request may have changed it since it was read); RepositoryNotFoundException when it went.
 */
export function updateRepository(
  deps: EcrDeps,
  repo: RepositoryRecord,
  change: (current: RepositoryRecord) => RepositoryRecord,
): Promise<RepositoryRecord> {
  return ecrCall(() => deps.registry.updateRepository(repo, change));
}
