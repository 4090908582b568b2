/**
 * Applies repositories' lifecycle policies for real: the images a policy expires are
 * deleted (their blobs are then garbage-collected), those a `transition` rule selects are
 * archived (storage-class.ts). AWS applies a policy "within 24 hours";
 * Stratus applies it shortly after PutLifecyclePolicy, after each push to the repository,
 * and hourly for the `sinceImagePushed` rules that age into effect.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
 */
import type { Logger } from '../../shared/log.js';
import type { MetadataStore } from '../../storage/types.js';
import {
  evaluateLifecyclePolicy,
  parseLifecyclePolicy,
  type ExpiredImage,
  type LifecycleImage,
} from './lifecycle-policy.js';
import { archived, imageStatus } from './storage-class.js';
import { RegistryError } from './registry-errors.js';
import { keyOf, type Registry } from './registry.js';
import { T, type RepositoryRecord } from './store.js';

const HOURLY_MS = 60 * 60 * 1000;
/** Pushes in a burst (a CI pipeline tagging several images) are evaluated once. */
const DEBOUNCE_MS = 200;

export interface LifecycleRunnerDeps {
  store: MetadataStore;
  registry: Registry;
  now(): number;
  log: Logger;
}

export class LifecycleRunner {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: LifecycleRunnerDeps) {}

  start(): void {
    this.timer = setInterval(
      () =>
        void this.applyAll().catch((err: unknown) =>
          this.deps.log.error('lifecycle policy run failed', {
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
        ),
      HOURLY_MS,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Applies the repository's policy soon (no-op for repositories without one). */
  schedule(repo: RepositoryRecord): void {
    const key = keyOf(repo);
    if (this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      this.track(this.applyByKey(key));
    }, DEBOUNCE_MS);
    timer.unref();
    this.pending.set(key, timer);
  }

  /** What `policyText` would expire (or archive) in the repository now. */
  async preview(repo: RepositoryRecord, policyText: string): Promise<ExpiredImage[]> {
    const policy = parseLifecyclePolicy(policyText);
    const now = this.deps.now();
    const images = (await this.deps.registry.listImages(repo)).map((image): LifecycleImage => ({
      digest: image.digest,
      tags: image.tags,
      pushedAt: image.pushedAt,
      ...(image.lastPulledAt !== undefined && { lastPulledAt: image.lastPulledAt }),
      ...(imageStatus(image, now) === 'ARCHIVED' && {
        storageClass: 'archive' as const,
        archivedAt: image.archive?.archivedAt,
      }),
    }));
    return evaluateLifecyclePolicy(policy, images, now);
  }

  /** Applies the stored policy now; resolves the images it deleted. */
  async apply(repo: RepositoryRecord): Promise<ExpiredImage[]> {
    return this.applyByKey(keyOf(repo));
  }

  private async applyByKey(key: string): Promise<ExpiredImage[]> {
    const repo = await this.deps.store.get<RepositoryRecord>(T.repositories, key);
    if (!repo?.lifecyclePolicy) return [];
    const expired = await this.preview(repo, repo.lifecyclePolicy.text);
    const deleted: ExpiredImage[] = [];
    for (const image of expired) {
      try {
        if (image.transition) {
          await this.deps.registry.updateImage(repo, image.digest, (current) =>
            archived(current, this.deps.now()),
          );
        } else {
          await this.deps.registry.deleteImage(repo, image.digest);
        }
        deleted.push(image);
      } catch (err) {
        // Gone meanwhile, or still a child of a manifest list: nothing to expire.
        if (!(err instanceof RegistryError)) throw err;
      }
    }
    if (deleted.length > 0) {
      this.deps.log.info('lifecycle policy expired or archived images', {
        repository: repo.name,
        account: repo.account,
        images: deleted.length,
      });
    }
    return deleted;
  }

  private async applyAll(): Promise<void> {
    for (const { key, value } of await this.deps.store.list<RepositoryRecord>(T.repositories)) {
      if (value.lifecyclePolicy) await this.track(this.applyByKey(key));
    }
  }

  private track<T>(work: Promise<T>): Promise<T | undefined> {
    const guarded = work.catch((err: unknown) => {
      this.deps.log.error('lifecycle policy run failed', { error: String(err) });
      return undefined;
    });
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
    return guarded;
  }
}
