/**
 * What every ECR API module shares: its dependencies, the ids and URIs ECR reports, and
 * the translation of registry-core errors into ECR's exceptions.
 */
import { buildArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import type { RegistryTokens } from './auth-token.js';
import type { LifecycleRunner } from './lifecycle-runner.js';
import { RegistryError } from './registry-errors.js';
import type { Registry } from './registry.js';
import type { RepositoryRecord, Scope } from './store.js';

export interface EcrDeps {
  store: MetadataStore;
  registry: Registry;
  tokens: RegistryTokens;
  lifecycle: LifecycleRunner;
  /** Where clients reach Stratus (layer download URLs), no trailing slash. */
  endpoint(): string;
  now(): number;
}

/**
 * The registry an operation addresses: `registryId` when given (an account id), else the
 * caller's account; always the caller's region.
 */
export function scopeOf(ctx: RequestContext, registryId?: string): Scope {
  return { account: registryId ?? ctx.account, region: ctx.region };
}

export const repositoryArn = (repo: RepositoryRecord): string =>
  buildArn('ecr', repo.region, repo.account, `repository/${repo.name}`);

/** The image URI prefix users copy from the console: `<acct>.dkr.ecr.<region>.amazonaws.com/<name>`. */
export const repositoryUri = (repo: RepositoryRecord): string =>
  `${registryHost(repo)}/${repo.name}`;

export const registryHost = (scope: Scope): string =>
  `${scope.account}.dkr.ecr.${scope.region}.amazonaws.com`;

/** Runs a registry-core call, turning its RegistryErrors into ECR's exceptions. */
export async function ecrCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RegistryError) throw err.toAwsError();
    throw err;
  }
}
