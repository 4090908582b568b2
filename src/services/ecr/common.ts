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
  uriForm: RepositoryUriForm;
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

/**
 * How repositoryUri is written (STRATUS_ECR_REPOSITORY_URI):
 * - `local` (default): `127.0.0.1:<port>/<acct>.dkr.ecr.<region>/<name>`, which docker,
 *   skopeo and Stratus's own drivers push to and pull from on this machine without any
 *   configuration: docker treats 127.0.0.0/8 as an insecure (plain HTTP) registry, and the
 *   account and region stay readable in the path. `<acct>.dkr.ecr.<region>.localhost` would
 *   be nicer, but it resolves only where the resolver maps `*.localhost` to loopback
 *   (systemd's nss-myhostname); glibc with `hosts: files dns`, and Go's resolver in dockerd
 *   and skopeo, answer "no such host" for it.
 * - `aws`: AWS's own `<acct>.dkr.ecr.<region>.amazonaws.com/<name>`, for scripts that parse
 *   it; clients reach it when that name maps to Stratus (an /etc/hosts entry and an
 *   `insecure-registries` entry for docker).
 */
export type RepositoryUriForm = 'local' | 'aws';

export function uriForm(raw: string | undefined): RepositoryUriForm {
  return raw === 'aws' ? 'aws' : 'local';
}

/** The image URI prefix of a repository, in the configured form. */
export const repositoryUri = (
  deps: Pick<EcrDeps, 'endpoint' | 'uriForm'>,
  repo: RepositoryRecord,
): string =>
  deps.uriForm === 'aws'
    ? `${registryHost(repo)}/${repo.name}`
    : `${new URL(deps.endpoint()).host}/${repo.account}.dkr.ecr.${repo.region}/${repo.name}`;

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
