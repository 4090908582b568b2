/**
 * Registry-wide settings: the registry policy, scanning configuration, replication
 * configuration (DescribeRegistry reports it), account settings, and the per-repository
 * view of scanning. https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-settings.html
 * Replication rules are stored here; replication.ts copies the images they select.
 */
import {
  InvalidParameterException,
  RegistryPolicyNotFoundException,
  ValidationException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type {
  RegistryScanningConfiguration,
  ReplicationConfiguration,
  RepositoryScanningConfiguration,
  RepositoryScanningConfigurationFailure,
} from '../../api/ecr/types.js';
import type { RequestContext } from '../../shared/context.js';
import { findRepository } from './api-support.js';
import { ecrCall, repositoryArn, type EcrDeps } from './common.js';
import { keyOf } from './registry.js';
import {
  T,
  childKey,
  scopePrefix,
  type ReplicationRecord,
  type RepositoryRecord,
} from './store.js';

type RegistrySettingsOperations = Pick<
  EcrOperations,
  | 'DescribeRegistry'
  | 'PutRegistryPolicy'
  | 'GetRegistryPolicy'
  | 'DeleteRegistryPolicy'
  | 'PutRegistryScanningConfiguration'
  | 'GetRegistryScanningConfiguration'
  | 'PutReplicationConfiguration'
  | 'DescribeImageReplicationStatus'
  | 'PutAccountSetting'
  | 'GetAccountSetting'
  | 'BatchGetRepositoryScanningConfiguration'
>;

/** Account settings and the values AWS accepts for them, default first. */
const ACCOUNT_SETTINGS: Record<string, string[]> = {
  BASIC_SCAN_TYPE_VERSION: ['AWS_NATIVE', 'CLAIR'],
  REGISTRY_POLICY_SCOPE: ['V2', 'V1'],
};

const DEFAULT_SCANNING: RegistryScanningConfiguration = { scanType: 'BASIC', rules: [] };

/** The filter syntax of scanning rules: `*` wildcards, as ECR's docs describe. */
export function wildcardMatch(filter: string, name: string): boolean {
  const re = new RegExp(
    '^' +
      filter
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return re.test(name);
}

export function registrySettingsOperations(deps: EcrDeps): RegistrySettingsOperations {
  const { store } = deps;
  const key = (ctx: RequestContext, setting: string) =>
    scopePrefix({ account: ctx.account, region: ctx.region }) + setting;

  const scanning = async (ctx: RequestContext): Promise<RegistryScanningConfiguration> =>
    (await store.get<RegistryScanningConfiguration>(T.registry, key(ctx, 'scanning'))) ??
    DEFAULT_SCANNING;

  return {
    async DescribeRegistry(_input, ctx) {
      const replication = await store.get<ReplicationConfiguration>(
        T.registry,
        key(ctx, 'replication'),
      );
      return { registryId: ctx.account, replicationConfiguration: replication ?? { rules: [] } };
    },

    async PutRegistryPolicy(input, ctx) {
      try {
        JSON.parse(input.policyText);
      } catch {
        throw new InvalidParameterException(
          "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'",
        );
      }
      await store.put(T.registry, key(ctx, 'policy'), input.policyText);
      return { registryId: ctx.account, policyText: input.policyText };
    },

    async GetRegistryPolicy(_input, ctx) {
      const policyText = await store.get<string>(T.registry, key(ctx, 'policy'));
      if (policyText === undefined) {
        throw new RegistryPolicyNotFoundException(
          `Registry policy does not exist in the registry with id '${ctx.account}'`,
        );
      }
      return { registryId: ctx.account, policyText };
    },

    async DeleteRegistryPolicy(_input, ctx) {
      const policyText = await store.transaction(async (tx) => {
        const text = await tx.get<string>(T.registry, key(ctx, 'policy'));
        if (text === undefined) {
          throw new RegistryPolicyNotFoundException(
            `Registry policy does not exist in the registry with id '${ctx.account}'`,
          );
        }
        await tx.delete(T.registry, key(ctx, 'policy'));
        return text;
      });
      return { registryId: ctx.account, policyText };
    },

    async PutRegistryScanningConfiguration(input, ctx) {
      const config: RegistryScanningConfiguration = {
        scanType: input.scanType ?? 'BASIC',
        rules: input.rules ?? [],
      };
      if (config.scanType === 'BASIC') {
        for (const rule of config.rules ?? []) {
          if (rule.scanFrequency === 'CONTINUOUS_SCAN') {
            throw new ValidationException(
              'CONTINUOUS_SCAN frequency is not supported for BASIC scan type.',
            );
          }
        }
      }
      await store.put(T.registry, key(ctx, 'scanning'), config);
      return { registryScanningConfiguration: config };
    },

    async GetRegistryScanningConfiguration(_input, ctx) {
      return { registryId: ctx.account, scanningConfiguration: await scanning(ctx) };
    },

    async PutReplicationConfiguration(input, ctx) {
      for (const rule of input.replicationConfiguration.rules) {
        for (const d of rule.destinations) {
          if (d.region === ctx.region && d.registryId === ctx.account) {
            throw new InvalidParameterException(
              "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Replication destination cannot be the source registry'",
            );
          }
        }
      }
      await store.put(T.registry, key(ctx, 'replication'), input.replicationConfiguration);
      return { replicationConfiguration: input.replicationConfiguration };
    },

    async DescribeImageReplicationStatus(input, ctx) {
      const repo = await findRepository(deps, ctx, input.registryId, input.repositoryName);
      const reference = input.imageId.imageDigest ?? input.imageId.imageTag;
      if (reference === undefined) {
        throw new InvalidParameterException(
          "Invalid parameter at 'imageId' failed to satisfy constraint: 'imageDigest or imageTag must be specified'",
        );
      }
      const image = await ecrCall(() => deps.registry.image(repo, reference));
      const rows = await store.list<ReplicationRecord>(T.replication, {
        prefix: childKey(keyOf(repo), image.digest) + ':',
      });
      return {
        repositoryName: repo.name,
        imageId: { ...input.imageId, imageDigest: image.digest },
        replicationStatuses: rows.map(({ value }) => ({
          region: value.region,
          registryId: value.registryId,
          status: value.status,
          ...(value.failureCode === undefined ? {} : { failureCode: value.failureCode }),
        })),
      };
    },

    async PutAccountSetting(input, ctx) {
      const allowed = ACCOUNT_SETTINGS[input.name];
      if (allowed === undefined) {
        throw new ValidationException(`Invalid account setting name: ${input.name}`);
      }
      if (!allowed.includes(input.value)) {
        throw new ValidationException(
          `Invalid value for ${input.name}: ${input.value}. Valid values are ${allowed.join(', ')}.`,
        );
      }
      await store.put(T.registry, key(ctx, `account-setting:${input.name}`), input.value);
      return { name: input.name, value: input.value };
    },

    async GetAccountSetting(input, ctx) {
      const allowed = ACCOUNT_SETTINGS[input.name];
      if (allowed === undefined) {
        throw new ValidationException(`Invalid account setting name: ${input.name}`);
      }
      const value = await store.get<string>(T.registry, key(ctx, `account-setting:${input.name}`));
      return { name: input.name, value: value ?? allowed[0] };
    },

    async BatchGetRepositoryScanningConfiguration(input, ctx) {
      const config = await scanning(ctx);
      const scanningConfigurations: RepositoryScanningConfiguration[] = [];
      const failures: RepositoryScanningConfigurationFailure[] = [];
      for (const name of input.repositoryNames) {
        let repo: RepositoryRecord;
        try {
          repo = await deps.registry.repository({ account: ctx.account, region: ctx.region }, name);
        } catch {
          failures.push({
            repositoryName: name,
            failureCode: 'REPOSITORY_NOT_FOUND',
            failureReason: 'REPOSITORY_NOT_FOUND',
          });
          continue;
        }
        const rule = (config.rules ?? []).find((r) =>
          r.repositoryFilters.some((f) => wildcardMatch(f.filter, name)),
        );
        scanningConfigurations.push({
          repositoryArn: repositoryArn(repo),
          repositoryName: name,
          scanOnPush: repo.scanOnPush || rule?.scanFrequency === 'SCAN_ON_PUSH',
          scanFrequency: rule?.scanFrequency ?? (repo.scanOnPush ? 'SCAN_ON_PUSH' : 'MANUAL'),
          appliedScanFilters: rule?.repositoryFilters ?? [],
        });
      }
      return { scanningConfigurations, failures };
    },
  };
}
