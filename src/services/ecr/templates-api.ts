/**
 * Repository creation templates and pull-through cache rules: stored and returned as ECR
 * does.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html
 * Pulling through needs the upstream registry over the network, which this machine does
 * not have: ValidatePullThroughCacheRule says so instead of pretending the rule works.
 */
import {
  PullThroughCacheRuleAlreadyExistsException,
  PullThroughCacheRuleNotFoundException,
  TemplateAlreadyExistsException,
  TemplateNotFoundException,
  UnsupportedUpstreamRegistryException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type {
  PullThroughCacheRule,
  RepositoryCreationTemplate,
  UpstreamRegistry,
} from '../../api/ecr/types.js';
import type { RequestContext } from '../../shared/context.js';
import * as paging from '../../shared/paging.js';
import type { EcrDeps } from './common.js';
import { T, scopePrefix } from './store.js';

type TemplateOperations = Pick<
  EcrOperations,
  | 'CreateRepositoryCreationTemplate'
  | 'DescribeRepositoryCreationTemplates'
  | 'UpdateRepositoryCreationTemplate'
  | 'DeleteRepositoryCreationTemplate'
  | 'CreatePullThroughCacheRule'
  | 'DescribePullThroughCacheRules'
  | 'UpdatePullThroughCacheRule'
  | 'DeletePullThroughCacheRule'
  | 'ValidatePullThroughCacheRule'
>;

type TemplateRecord = Omit<RepositoryCreationTemplate, 'createdAt' | 'updatedAt'> & {
  prefix: string;
  createdAt: number;
  updatedAt: number;
};

type RuleRecord = Omit<PullThroughCacheRule, 'createdAt' | 'updatedAt'> & {
  ecrRepositoryPrefix: string;
  upstreamRegistryUrl: string;
  createdAt: number;
  updatedAt: number;
};

/** Upstream registries ECR supports, by URL. */
const UPSTREAMS: [RegExp, UpstreamRegistry][] = [
  [/^public\.ecr\.aws$/, 'ecr-public'],
  [/^registry-1\.docker\.io$/, 'docker-hub'],
  [/^quay\.io$/, 'quay'],
  [/^registry\.k8s\.io$/, 'k8s'],
  [/^ghcr\.io$/, 'github-container-registry'],
  [/^[a-z0-9-]+\.azurecr\.io$/, 'azure-container-registry'],
  [/^registry\.gitlab\.com$/, 'gitlab-container-registry'],
  [/^cgr\.dev$/, 'chainguard'],
  [/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$/, 'ecr'],
];

function upstreamOf(url: string): UpstreamRegistry {
  const found = UPSTREAMS.find(([re]) => re.test(url));
  if (!found) {
    throw new UnsupportedUpstreamRegistryException(
      `The specified upstream registry ${url} is not supported.`,
    );
  }
  return found[1];
}

const templateView = (t: TemplateRecord): RepositoryCreationTemplate => ({
  ...t,
  createdAt: new Date(t.createdAt),
  updatedAt: new Date(t.updatedAt),
});

const ruleView = (r: RuleRecord): PullThroughCacheRule => ({
  ...r,
  createdAt: new Date(r.createdAt),
  updatedAt: new Date(r.updatedAt),
});

export function templateOperations(deps: EcrDeps): TemplateOperations {
  const { store } = deps;
  const scoped = (ctx: RequestContext, registryId?: string) =>
    scopePrefix({ account: registryId ?? ctx.account, region: ctx.region });

  const templateMissing = (ctx: RequestContext, prefix: string) =>
    new TemplateNotFoundException(
      `The specified repository creation template with prefix '${prefix}' does not exist in the registry with id '${ctx.account}'`,
    );
  const ruleMissing = (ctx: RequestContext, prefix: string, registryId?: string) =>
    new PullThroughCacheRuleNotFoundException(
      `The pull through cache rule with prefix '${prefix}' does not exist in the registry with id '${registryId ?? ctx.account}'.`,
    );

  function page<V>(all: V[], keyOf: (v: V) => string, token?: string, max?: number) {
    const p = paging.pageArray(all, keyOf, {
      marker: token || undefined,
      max: max ?? 100,
      resume: 'after',
      invalid: () => new TemplateNotFoundException('Invalid nextToken'),
    });
    return p;
  }

  return {
    async CreateRepositoryCreationTemplate(input, ctx) {
      const now = deps.now();
      const rec: TemplateRecord = {
        prefix: input.prefix,
        description: input.description,
        encryptionConfiguration: input.encryptionConfiguration ?? { encryptionType: 'AES256' },
        resourceTags: input.resourceTags ?? [],
        imageTagMutability: input.imageTagMutability ?? 'MUTABLE',
        imageTagMutabilityExclusionFilters: input.imageTagMutabilityExclusionFilters,
        repositoryPolicy: input.repositoryPolicy,
        lifecyclePolicy: input.lifecyclePolicy,
        appliedFor: input.appliedFor,
        customRoleArn: input.customRoleArn,
        createdAt: now,
        updatedAt: now,
      };
      const key = scoped(ctx) + input.prefix;
      if (!(await store.insert(T.templates, key, rec))) {
        throw new TemplateAlreadyExistsException(
          `The repository creation template with prefix '${input.prefix}' already exists in the registry with id '${ctx.account}'`,
        );
      }
      return { registryId: ctx.account, repositoryCreationTemplate: templateView(rec) };
    },

    async DescribeRepositoryCreationTemplates(input, ctx) {
      const rows = await store.list<TemplateRecord>(T.templates, { prefix: scoped(ctx) });
      const wanted = input.prefixes?.length ? new Set(input.prefixes) : undefined;
      const all = rows.map((r) => r.value).filter((t) => !wanted || wanted.has(t.prefix));
      const p = page(all, (t) => t.prefix, input.nextToken, input.maxResults);
      return {
        registryId: ctx.account,
        repositoryCreationTemplates: p.items.map(templateView),
        nextToken: p.next,
      };
    },

    async UpdateRepositoryCreationTemplate(input, ctx) {
      const key = scoped(ctx) + input.prefix;
      const rec = await store.transaction(async (tx) => {
        const rec = await tx.get<TemplateRecord>(T.templates, key);
        if (!rec) throw templateMissing(ctx, input.prefix);
        const { prefix: _p, ...changes } = input;
        for (const [k, v] of Object.entries(changes)) {
          if (v !== undefined) Object.assign(rec, { [k]: v });
        }
        rec.updatedAt = deps.now();
        await tx.put(T.templates, key, rec);
        return rec;
      });
      return { registryId: ctx.account, repositoryCreationTemplate: templateView(rec) };
    },

    async DeleteRepositoryCreationTemplate(input, ctx) {
      const key = scoped(ctx) + input.prefix;
      const rec = await store.transaction(async (tx) => {
        const rec = await tx.get<TemplateRecord>(T.templates, key);
        if (!rec) throw templateMissing(ctx, input.prefix);
        await tx.delete(T.templates, key);
        return rec;
      });
      return { registryId: ctx.account, repositoryCreationTemplate: templateView(rec) };
    },

    async CreatePullThroughCacheRule(input, ctx) {
      const now = deps.now();
      const rec: RuleRecord = {
        ecrRepositoryPrefix: input.ecrRepositoryPrefix,
        upstreamRegistryUrl: input.upstreamRegistryUrl,
        upstreamRegistry: input.upstreamRegistry ?? upstreamOf(input.upstreamRegistryUrl),
        registryId: input.registryId ?? ctx.account,
        credentialArn: input.credentialArn,
        customRoleArn: input.customRoleArn,
        upstreamRepositoryPrefix: input.upstreamRepositoryPrefix,
        createdAt: now,
        updatedAt: now,
      };
      const key = scoped(ctx, input.registryId) + input.ecrRepositoryPrefix;
      if (!(await store.insert(T.pullThrough, key, rec))) {
        throw new PullThroughCacheRuleAlreadyExistsException(
          `A pull through cache rule with the prefix '${input.ecrRepositoryPrefix}' already exists in the registry with id '${rec.registryId}'.`,
        );
      }
      const { updatedAt: _u, ...out } = ruleView(rec);
      return out;
    },

    async DescribePullThroughCacheRules(input, ctx) {
      const rows = await store.list<RuleRecord>(T.pullThrough, {
        prefix: scoped(ctx, input.registryId),
      });
      const all = rows.map((r) => r.value);
      for (const prefix of input.ecrRepositoryPrefixes ?? []) {
        if (!all.some((r) => r.ecrRepositoryPrefix === prefix)) {
          throw ruleMissing(ctx, prefix, input.registryId);
        }
      }
      const wanted = input.ecrRepositoryPrefixes?.length
        ? new Set(input.ecrRepositoryPrefixes)
        : undefined;
      const p = page(
        all.filter((r) => !wanted || wanted.has(r.ecrRepositoryPrefix)),
        (r) => r.ecrRepositoryPrefix,
        input.nextToken,
        input.maxResults,
      );
      return { pullThroughCacheRules: p.items.map(ruleView), nextToken: p.next };
    },

    async UpdatePullThroughCacheRule(input, ctx) {
      const key = scoped(ctx, input.registryId) + input.ecrRepositoryPrefix;
      const rec = await store.transaction(async (tx) => {
        const rec = await tx.get<RuleRecord>(T.pullThrough, key);
        if (!rec) throw ruleMissing(ctx, input.ecrRepositoryPrefix, input.registryId);
        if (input.credentialArn !== undefined) rec.credentialArn = input.credentialArn;
        if (input.customRoleArn !== undefined) rec.customRoleArn = input.customRoleArn;
        rec.updatedAt = deps.now();
        await tx.put(T.pullThrough, key, rec);
        return rec;
      });
      return {
        ecrRepositoryPrefix: rec.ecrRepositoryPrefix,
        registryId: rec.registryId,
        updatedAt: new Date(rec.updatedAt),
        credentialArn: rec.credentialArn,
        customRoleArn: rec.customRoleArn,
        upstreamRepositoryPrefix: rec.upstreamRepositoryPrefix,
      };
    },

    async DeletePullThroughCacheRule(input, ctx) {
      const key = scoped(ctx, input.registryId) + input.ecrRepositoryPrefix;
      const rec = await store.transaction(async (tx) => {
        const rec = await tx.get<RuleRecord>(T.pullThrough, key);
        if (!rec) throw ruleMissing(ctx, input.ecrRepositoryPrefix, input.registryId);
        await tx.delete(T.pullThrough, key);
        return rec;
      });
      const { updatedAt: _u, upstreamRegistry: _r, ...out } = ruleView(rec);
      return out;
    },

    async ValidatePullThroughCacheRule(input, ctx) {
      const key = scoped(ctx, input.registryId) + input.ecrRepositoryPrefix;
      const rec = await store.get<RuleRecord>(T.pullThrough, key);
      if (!rec) throw ruleMissing(ctx, input.ecrRepositoryPrefix, input.registryId);
      return {
        ecrRepositoryPrefix: rec.ecrRepositoryPrefix,
        registryId: rec.registryId,
        upstreamRegistryUrl: rec.upstreamRegistryUrl,
        credentialArn: rec.credentialArn,
        customRoleArn: rec.customRoleArn,
        upstreamRepositoryPrefix: rec.upstreamRepositoryPrefix,
        isValid: false,
        failure: `Stratus cannot reach the upstream registry ${rec.upstreamRegistryUrl}: this machine has no network access beyond itself, so images cannot be pulled through.`,
      };
    },
  };
}
