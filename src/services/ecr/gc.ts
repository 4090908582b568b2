/**
 * Garbage collection of ECR's blobs, online: a blob goes when no image references it
 * (BlobRecord.refs is 0) and no push is using it (it is not pinned, see blob-guard.ts).
 * Each removal re-checks under the blob's lock inside a transaction, then deletes the
 * file while still holding the lock, so an upload of the same content waits and then
 * writes it anew. Upload sessions idle for longer than the upload lifetime are discarded.
 *
 * A crash between an upload's commit (the file moved into place) and its metadata commit
 * leaves a blob file no row describes: the first pass after start-up removes such files
 * once they are older than the grace period.
 */
import type { Logger } from '../../shared/log.js';
import type { BlobStore, MetadataStore } from '../../storage/types.js';
import type { BlobGuard } from './blob-guard.js';
import { T, type BlobLink, type BlobRecord, type UploadRecord } from './store.js';

export interface CollectorDeps {
  store: MetadataStore;
  blobs: BlobStore;
  guard: BlobGuard;
  now(): number;
  log: Logger;
  /** Uploads untouched for this long are discarded (distribution's default is a week). */
  uploadLifetimeMs: number;
}

export interface CollectResult {
  blobs: number;
  bytes: number;
  uploads: number;
}

const DIGEST_LENGTH = 'sha256:'.length + 64;

/** How often collection runs without being asked (expired pins, abandoned uploads). */
const PERIOD_MS = 10 * 60 * 1000;

export class BlobCollector {
  private running: Promise<CollectResult> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CollectorDeps) {}

  start(): void {
    this.timer = setInterval(() => this.schedule(), PERIOD_MS);
    this.timer.unref();
    void this.sweepOrphans()
      .catch((err: unknown) =>
        this.deps.log.error('ecr orphan blob sweep failed', { error: String(err) }),
      )
      .finally(() => this.schedule());
  }

  /** Removes blob files without a metadata row (crash leftovers); resolves how many. */
  async sweepOrphans(): Promise<number> {
    const { store, blobs, guard } = this.deps;
    const cutoff = this.deps.now() - guard.graceMs;
    let removed = 0;
    for await (const blob of blobs.list()) {
      if (blob.modifiedAt >= cutoff || guard.isPinned(blob.digest)) continue;
      if (await store.get(T.blobs, blob.digest)) continue;
      await guard.locks.with(blob.digest, async () => {
        // Re-checked under the lock: an upload of this content may have just recorded it.
        if (await store.get(T.blobs, blob.digest)) return;
        if (await blobs.delete(blob.digest)) removed++;
      });
    }
    if (removed > 0) this.deps.log.info('removed orphaned ecr blobs', { blobs: removed });
    return removed;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs a collection soon; requests while one runs fold into one more run. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    void this.collect().catch((err: unknown) =>
      this.deps.log.error('ecr garbage collection failed', { error: String(err) }),
    );
  }

  /** One full pass; concurrent callers share it. */
  collect(): Promise<CollectResult> {
    this.running ??= (async () => {
      try {
        let total: CollectResult = { blobs: 0, bytes: 0, uploads: 0 };
        do {
          this.again = false;
          const pass = await this.pass();
          total = {
            blobs: total.blobs + pass.blobs,
            bytes: total.bytes + pass.bytes,
            uploads: total.uploads + pass.uploads,
          };
        } while (this.again);
        return total;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async pass(): Promise<CollectResult> {
    const { store, blobs, guard } = this.deps;
    const collectable = (d: string, b: BlobRecord | undefined): b is BlobRecord =>
      b !== undefined && b.refs <= 0 && b.pendingUntil <= this.deps.now() && !guard.isPinned(d);
    const removed = new Set<string>();
    let bytes = 0;
    for (const { key: digest, value } of await store.list<BlobRecord>(T.blobs)) {
      if (!collectable(digest, value)) continue;
      await guard.locks.with(digest, async () => {
        const size = await store.transaction(async (tx) => {
          const blob = await tx.get<BlobRecord>(T.blobs, digest);
          if (!collectable(digest, blob)) return undefined;
          await tx.delete(T.blobs, digest);
          return blob.size;
        });
        if (size === undefined) return;
        await blobs.delete(digest);
        removed.add(digest);
        bytes += size;
      });
    }
    if (removed.size > 0) await this.pruneLinks(removed);
    const uploads = await this.expireUploads();
    return { blobs: removed.size, bytes, uploads };
  }

  /** Links to removed blobs would make a later upload of the same content visible here. */
  private async pruneLinks(removed: ReadonlySet<string>): Promise<void> {
    await this.deps.store.transaction(async (tx) => {
      for (const { key } of await tx.list<BlobLink>(T.links)) {
        // `<repo key>:sha256:<64 hex>`
        const digest = key.slice(key.length - DIGEST_LENGTH);
        if (removed.has(digest) && !(await tx.get(T.blobs, digest))) await tx.delete(T.links, key);
      }
    });
  }

  private async expireUploads(): Promise<number> {
    const { store, blobs } = this.deps;
    const cutoff = this.deps.now() - this.deps.uploadLifetimeMs;
    const known = new Map(
      (await store.list<UploadRecord>(T.uploads)).map((i) => [i.key, i.value] as const),
    );
    let expired = 0;
    for (const upload of await blobs.uploads.list()) {
      // modifiedAt moves with every chunk: a slow upload that is still going is kept.
      if (upload.modifiedAt >= cutoff) continue;
      await blobs.uploads.abort(upload.id);
      if (known.has(upload.id)) await store.delete(T.uploads, upload.id);
      expired++;
    }
    return expired;
  }
}
