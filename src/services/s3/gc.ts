/**
 * The blob collector: S3's blobs that no object and no multipart part references any more
 * (deleted or overwritten objects and versions, aborted uploads, a PutObject cut off by `kill -9` after
 * its blob landed but before its record did) are deleted once older than a grace period.
 * Blobs are content-addressed and shared between objects, so deletes never remove a blob
 * directly: only this sweep does, and it spares blobs written recently (a put that reuses
 * an old blob's digest is recorded in the guard before its record commits).
 */
import type { BlobStore, MetadataStore } from '../../storage/types.js';
import {
  OBJECTS,
  PARTS,
  VERSIONS,
  blobDigests,
  type ObjectRecord,
  type PartRecord,
  type VersionEntry,
} from './store.js';

const PAGE = 1000;

export class BlobGuard {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number,
  ) {}

  /** A blob a write is about to reference. */
  protect(digest: string): void {
    this.written.set(digest, this.now());
  }

  protected(digest: string): boolean {
    const at = this.written.get(digest);
    if (at === undefined) return false;
    if (this.now() - at > this.graceMs) {
      this.written.delete(digest);
      return false;
    }
    return true;
  }
}

export class BlobCollector {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly guard: BlobGuard,
    private readonly graceMs: number,
    private readonly now: () => number,
  ) {}

  /** One sweep; resolves how many blobs went. */
  async collect(): Promise<number> {
    const referenced = new Set<string>();
    // Inline objects (common.ts, INLINE_MAX_BYTES) reference no blob.
    await this.scan<ObjectRecord>(OBJECTS, (o) =>
      blobDigests(o.content).forEach((d) => referenced.add(d)),
    );
    await this.scan<VersionEntry>(VERSIONS, (v) =>
      v.deleteMarker ? undefined : blobDigests(v.content).forEach((d) => referenced.add(d)),
    );
    await this.scan<PartRecord>(PARTS, (p) => referenced.add(p.digest));
    let removed = 0;
    const cutoff = this.now() - this.graceMs;
    for await (const blob of this.blobs.list()) {
      if (referenced.has(blob.digest) || blob.modifiedAt > cutoff) continue;
      if (this.guard.protected(blob.digest)) continue;
      if (await this.blobs.delete(blob.digest)) removed++;
    }
    return removed;
  }

  private async scan<T>(table: string, visit: (value: T) => void): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const rows = await this.store.list<T>(table, { after, limit: PAGE });
      for (const row of rows) visit(row.value);
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1].key;
    }
  }
}
