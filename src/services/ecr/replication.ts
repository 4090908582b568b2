/**
 * Private image replication: an image pushed to a repository that a rule of the registry's
 * replication configuration selects is copied to each destination (another region of the
 * account, or another account's registry inside Stratus), with its tags, and
 * DescribeImageReplicationStatus reports IN_PROGRESS, COMPLETE or FAILED per destination.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html
 *
 * As AWS documents it:
 * - "Only repository content pushed to a repository after replication is configured is
 *   replicated. Any preexisting content in a repository isn't replicated."
 * - "Repository names will remain the same across Regions and accounts when replication
 *   occurs." A missing destination repository is created, from the destination's
 *   repository creation template for REPLICATION when one matches.
 * - Cross-account: "the destination account must grant the source account permission to
 *   replicate" in its registry policy (`ecr:CreateRepository`, `ecr:ReplicateImage`).
 * - Deletions are not replicated, and an image that arrived by replication is not
 *   replicated further.
 *
 * The copy runs after the push answered, in the background, one destination at a time.
 * Status rows are written before the work is queued, so a restart resumes what was
 * IN_PROGRESS (the copy is idempotent).
 */
import type { ReplicationConfiguration, ReplicationDestination } from '../../api/ecr/types.js';
import { evaluatePolicies, compiledPolicy } from '../../policy/document.js';
import { RequestFacts } from '../../policy/context.js';
import { buildArn } from '../../shared/arn.js';
import type { Logger } from '../../shared/log.js';
import type { MetadataStore } from '../../storage/types.js';
import { RegistryError } from './registry-errors.js';
import { keyOf, type Registry } from './registry.js';
import {
  T,
  childKey,
  repositoryKey,
  scopePrefix,
  type ReplicationRecord,
  type RepositoryRecord,
  type Scope,
} from './store.js';

export interface ReplicationDeps {
  store: MetadataStore;
  registry: Registry;
  now(): number;
  log: Logger;
}

interface Job {
  /** The source repository's key. */
  repoKey: string;
  digest: string;
  dest: ReplicationDestination;
}

/** The registry-setting row keys (registry-settings-api.ts writes them). */
export const replicationSettingKey = (scope: Scope): string => scopePrefix(scope) + 'replication';
export const policySettingKey = (scope: Scope): string => scopePrefix(scope) + 'policy';

export const replicationKey = (repoKey: string, digest: string, dest: ReplicationDestination) =>
  `${childKey(repoKey, digest)}:${dest.registryId}:${dest.region}`;

/** The destinations of the rules whose filters select `name` (no filter: every repository). */
export function destinationsFor(
  config: ReplicationConfiguration,
  name: string,
): ReplicationDestination[] {
  const seen = new Map<string, ReplicationDestination>();
  for (const rule of config.rules) {
    const filters = rule.repositoryFilters ?? [];
    const selected =
      filters.length === 0 ||
      filters.some((f) => f.filterType === 'PREFIX_MATCH' && name.startsWith(f.filter));
    if (!selected) continue;
    for (const d of rule.destinations) {
      seen.set(`${d.registryId}:${d.region}`, { region: d.region, registryId: d.registryId });
    }
  }
  return [...seen.values()];
}

export class ReplicationRunner {
  private readonly queue: Job[] = [];
  private draining: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: ReplicationDeps) {}

  /** Resumes the copies a stop or crash interrupted. */
  async start(): Promise<void> {
    this.stopped = false;
    const rows = await this.deps.store.list<ReplicationRecord>(T.replication);
    for (const { key, value } of rows) {
      if (value.status !== 'IN_PROGRESS') continue;
      // `<repo key>:<digest>:<account>:<region>`; the digest is `sha256:<hex>`.
      const m = /^(.*):(sha256:[0-9a-f]{64}):(\d{12}):([^:]+)$/.exec(key);
      if (!m) continue;
      this.enqueue({ repoKey: m[1], digest: m[2], dest: { registryId: m[3], region: m[4] } });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.draining;
  }

  /**
   * A push landed in `repo`: records IN_PROGRESS for each destination its rules name and
   * queues the copies. Never rejects: a push is not refused for its replication.
   */
  pushed(repo: RepositoryRecord, digest: string): Promise<void> {
    return this.plan(repo, digest).catch((err: unknown) =>
      this.deps.log.error('image replication could not be planned', {
        repository: repo.name,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    );
  }

  /** Waits until every queued copy is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async plan(repo: RepositoryRecord, digest: string): Promise<void> {
    const config = await this.deps.store.get<ReplicationConfiguration>(
      T.registry,
      replicationSettingKey(repo),
    );
    if (!config) return;
    const repoKey = keyOf(repo);
    const jobs = destinationsFor(config, repo.name).map((dest) => ({ repoKey, digest, dest }));
    if (jobs.length === 0) return;
    await this.deps.store.transaction(async (tx) => {
      for (const job of jobs) {
        await tx.put<ReplicationRecord>(T.replication, replicationKey(repoKey, digest, job.dest), {
          region: job.dest.region,
          registryId: job.dest.registryId,
          status: 'IN_PROGRESS',
          updatedAt: this.deps.now(),
        });
      }
    });
    for (const job of jobs) this.enqueue(job);
  }

  private enqueue(job: Job): void {
    if (this.stopped) return;
    this.queue.push(job);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job && !this.stopped; job = this.queue.shift()) {
      let outcome: Pick<ReplicationRecord, 'status' | 'failureCode'>;
      try {
        const failure = await this.copy(job);
        outcome = failure ? { status: 'FAILED', failureCode: failure } : { status: 'COMPLETE' };
      } catch (err) {
        if (!(err instanceof RegistryError)) {
          this.deps.log.error('image replication failed', {
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          });
        }
        outcome = { status: 'FAILED', failureCode: err instanceof Error ? err.message : 'error' };
      }
      await this.record(job, outcome);
    }
  }

  private async record(
    job: Job,
    outcome: Pick<ReplicationRecord, 'status' | 'failureCode'>,
  ): Promise<void> {
    const key = replicationKey(job.repoKey, job.digest, job.dest);
    await this.deps.store.transaction(async (tx) => {
      // The source image (and its status rows) may have been deleted meanwhile.
      if (!(await tx.get(T.replication, key))) return;
      await tx.put<ReplicationRecord>(T.replication, key, {
        region: job.dest.region,
        registryId: job.dest.registryId,
        ...outcome,
        updatedAt: this.deps.now(),
      });
    });
  }

  /** Copies one image to one destination; resolves the failure, if any. */
  private async copy(job: Job): Promise<string | undefined> {
    const source = await this.deps.store.get<RepositoryRecord>(T.repositories, job.repoKey);
    if (!source) return 'The source repository was deleted before the image was replicated.';
    const image = await this.deps.registry.imageByDigest(source, job.digest);
    if (!image) return 'The image was deleted before it was replicated.';
    const scope: Scope = { account: job.dest.registryId, region: job.dest.region };
    let dest = await this.deps.store.get<RepositoryRecord>(
      T.repositories,
      repositoryKey(scope, source.name),
    );
    const crossAccount = scope.account !== source.account;
    if (crossAccount) {
      const refused = await this.refused(source, scope, dest ? [] : ['ecr:CreateRepository']);
      if (refused) return refused;
    }
    if (!dest) {
      dest = await this.createDestination(source, scope);
    }
    await this.deps.registry.replicate(source, image, dest);
    return undefined;
  }

  /**
   * Why the destination registry's policy refuses the source account, or undefined when it
   * allows `ecr:ReplicateImage` (and `extra`) on the destination repository.
   */
  private async refused(
    source: RepositoryRecord,
    dest: Scope,
    extra: string[],
  ): Promise<string | undefined> {
    const text = await this.deps.store.get<string>(T.registry, policySettingKey(dest));
    const resource = buildArn('ecr', dest.region, dest.account, `repository/${source.name}`);
    for (const action of ['ecr:ReplicateImage', ...extra]) {
      const verdict =
        text === undefined
          ? undefined
          : evaluatePolicies(
              [compiledPolicy(text, `registry-policy/${dest.account}`)],
              { action, resource, facts: new RequestFacts() },
              { account: source.account },
            );
      if (!verdict || verdict.deny || verdict.allow === undefined) {
        return `The registry policy of account ${dest.account} in ${dest.region} does not allow account ${source.account} to perform ${action} on ${resource}.`;
      }
    }
    return undefined;
  }

  /** The destination repository, from a REPLICATION creation template when one matches. */
  private async createDestination(
    source: RepositoryRecord,
    scope: Scope,
  ): Promise<RepositoryRecord> {
    const template = await creationTemplate(this.deps.store, scope, source.name, 'REPLICATION');
    const repo: RepositoryRecord = {
      ...scope,
      name: source.name,
      createdAt: this.deps.now(),
      imageTagMutability: template?.imageTagMutability ?? 'MUTABLE',
      ...(template?.imageTagMutabilityExclusionFilters?.length
        ? { imageTagMutabilityExclusionFilters: template.imageTagMutabilityExclusionFilters }
        : {}),
      scanOnPush: false,
      encryption: template?.encryptionConfiguration ?? { encryptionType: 'AES256' },
      tags: template?.resourceTags ?? [],
      ...(template?.repositoryPolicy ? { policyText: template.repositoryPolicy } : {}),
      ...(template?.lifecyclePolicy
        ? { lifecyclePolicy: { text: template.lifecyclePolicy, updatedAt: this.deps.now() } }
        : {}),
    };
    await this.deps.registry.createRepository(repo);
    // Another copy may have created it first: use what is stored.
    return this.deps.registry.repository(scope, source.name);
  }
}

/** The fields of a stored creation template (templates-api.ts) a new repository takes. */
export interface CreationTemplateFields {
  prefix: string;
  appliedFor?: string[];
  imageTagMutability?: RepositoryRecord['imageTagMutability'];
  imageTagMutabilityExclusionFilters?: RepositoryRecord['imageTagMutabilityExclusionFilters'];
  encryptionConfiguration?: RepositoryRecord['encryption'];
  resourceTags?: { Key: string; Value: string }[];
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
}

/**
 * The creation template of `scope` that applies to a repository named `name` created for
 * `use`: the longest prefix matching the name ("prod" matches "prod/app"), else `ROOT`.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html
 */
export async function creationTemplate(
  store: MetadataStore,
  scope: Scope,
  name: string,
  use: 'REPLICATION' | 'PULL_THROUGH_CACHE' | 'CREATE_ON_PUSH',
): Promise<CreationTemplateFields | undefined> {
  const rows = await store.list<CreationTemplateFields>(T.templates, {
    prefix: scopePrefix(scope),
  });
  let best: CreationTemplateFields | undefined;
  for (const { value } of rows) {
    if (!value.appliedFor?.includes(use)) continue;
    const matches =
      value.prefix === 'ROOT' || name === value.prefix || name.startsWith(`${value.prefix}/`);
    if (!matches) continue;
    const rank = (t: CreationTemplateFields) => (t.prefix === 'ROOT' ? 0 : t.prefix.length);
    if (!best || rank(value) > rank(best)) best = value;
  }
  return best;
}
