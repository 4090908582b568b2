/**
 * Managed signing: the registry's signing configuration (rules naming AWS Signer profiles,
 * optionally limited to repositories by wildcard filters) is stored and returned as ECR
 * does. Signing itself needs AWS Signer, which Stratus does not have, so an image a rule
 * selects reports FAILED for that rule's profile, with the reason; never a signature.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/managed-signing.html
 */
import {
  ImageNotFoundException,
  SigningConfigurationNotFoundException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { SigningConfiguration, SigningRule } from '../../api/ecr/types.js';
import type { RequestContext } from '../../shared/context.js';
import { findRepository } from './api-support.js';
import type { EcrDeps } from './common.js';
import { isFailure, resolveImage } from './image-ids.js';
import { wildcardMatch } from './registry-settings-api.js';
import { idText } from './scans-api.js';
import { T, scopePrefix } from './store.js';

type SigningOperations = Pick<
  EcrOperations,
  | 'PutSigningConfiguration'
  | 'GetSigningConfiguration'
  | 'DeleteSigningConfiguration'
  | 'DescribeImageSigningStatus'
>;

const FAILURE_CODE = 'SignerUnavailable';
const FAILURE_REASON =
  'Stratus has no AWS Signer: it cannot be reached without network access, so the image was not signed.';

/** A rule without filters selects every repository; otherwise any filter that matches. */
const selects = (rule: SigningRule, repository: string): boolean =>
  !rule.repositoryFilters?.length ||
  rule.repositoryFilters.some((f) => wildcardMatch(f.filter, repository));

export function signingOperations(deps: EcrDeps): SigningOperations {
  const { store } = deps;
  const key = (ctx: RequestContext) =>
    scopePrefix({ account: ctx.account, region: ctx.region }) + 'signing';
  const notFound = (ctx: RequestContext) =>
    new SigningConfigurationNotFoundException(
      `Signing configuration not found for registry '${ctx.account}'`,
    );

  return {
    async PutSigningConfiguration(input, ctx) {
      const config: SigningConfiguration = {
        rules: input.signingConfiguration.rules.map((r) => ({
          signingProfileArn: r.signingProfileArn,
          ...(r.repositoryFilters && {
            repositoryFilters: r.repositoryFilters.map((f) => ({ ...f })),
          }),
        })),
      };
      await store.put(T.registry, key(ctx), config);
      return { signingConfiguration: config };
    },

    async GetSigningConfiguration(_input, ctx) {
      const config = await store.get<SigningConfiguration>(T.registry, key(ctx));
      if (!config) throw notFound(ctx);
      return { registryId: ctx.account, signingConfiguration: config };
    },

    async DeleteSigningConfiguration(_input, ctx) {
      const config = await store.transaction(async (tx) => {
        const found = await tx.get<SigningConfiguration>(T.registry, key(ctx));
        if (found) await tx.delete(T.registry, key(ctx));
        return found;
      });
      if (!config) throw notFound(ctx);
      return { registryId: ctx.account, signingConfiguration: config };
    },

    async DescribeImageSigningStatus(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const found = await resolveImage(deps, repo, input.imageId);
      if (isFailure(found)) {
        throw new ImageNotFoundException(
          `The image with imageId ${idText(input.imageId)} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.account}'`,
        );
      }
      const config = await store.get<SigningConfiguration>(T.registry, key(ctx));
      const profiles = new Set(
        (config?.rules ?? []).filter((r) => selects(r, repo.name)).map((r) => r.signingProfileArn),
      );
      return {
        registryId: repo.account,
        repositoryName: repo.name,
        imageId: { ...input.imageId, imageDigest: found.digest },
        signingStatuses: [...profiles].map((signingProfileArn) => ({
          signingProfileArn,
          status: 'FAILED' as const,
          failureCode: FAILURE_CODE,
          failureReason: FAILURE_REASON,
        })),
      };
    },
  };
}
