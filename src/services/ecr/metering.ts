/**
 * ECR storage for the bill: "$0.10 per GB-month of data stored in private repositories"
 * (https://aws.amazon.com/ecr/pricing/). After every push or deletion the repository's
 * stored bytes (each distinct blob its images reference: layers, configs) become the
 * meter's level for it, which the bill integrates into GB-months.
 */
import type { Meter } from '../../billing/meter.js';
import { buildArn } from '../../shared/arn.js';
import type { MetadataStore } from '../../storage/types.js';
import { keyOf } from './registry.js';
import {
  childPrefix,
  T,
  type BlobRecord,
  type ImageRecord,
  type RepositoryRecord,
} from './store.js';

const GB = 1024 ** 3;

export async function repositoryBytes(
  store: MetadataStore,
  repo: RepositoryRecord,
): Promise<number> {
  const images = await store.list<ImageRecord>(T.images, { prefix: childPrefix(keyOf(repo)) });
  const digests = new Set<string>();
  for (const { value } of images) for (const d of value.blobs) digests.add(d);
  let bytes = 0;
  for (const d of digests) bytes += (await store.get<BlobRecord>(T.blobs, d))?.size ?? 0;
  return bytes;
}

/** Meters repositories' storage, one computation at a time per repository, in order. */
export class StorageMeter {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: MetadataStore,
    private readonly meter: Meter,
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  changed(repo: RepositoryRecord): void {
    if (!this.meter.enabled) return;
    const key = keyOf(repo);
    const at = this.now();
    const run = (this.pending.get(key) ?? Promise.resolve())
      .then(async () => {
        const bytes = await repositoryBytes(this.store, repo);
        const arn = buildArn('ecr', repo.region, repo.account, `repository/${repo.name}`);
        this.meter.level({
          account: repo.account,
          region: repo.region,
          service: 'AmazonECR',
          usageType: 'TimedStorage-ByteHrs',
          resource: arn,
          series: arn,
          value: bytes / GB,
          at,
        });
      })
      .catch((err: unknown) =>
        this.warn(`ecr: metering ${repo.name}'s storage failed: ${String(err)}`),
      );
    this.pending.set(key, run);
    void run.then(() => {
      if (this.pending.get(key) === run) this.pending.delete(key);
    });
  }

  /** Waits for the computations under way (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.pending.values());
  }
}
