/**
 * What keeps garbage collection from racing a push. A push uploads (or HEADs, or mounts)
 * its blobs first and references them by a manifest last; between the two a blob is
 * referenced by nothing. Two guards cover that window:
 *  - a per-digest lock orders "commit a blob and record it" against "collect it", so a
 *    blob never disappears under an upload of the same content;
 *  - pins: a blob a push has just touched is left alone for the grace period. Pins from
 *    uploads and mounts are persisted (BlobRecord.pendingUntil, written anyway); pins from
 *    HEAD requests, which happen for every layer of every push, live here in memory.
 */
import { KeyedMutex } from '../../shared/keyed-mutex.js';

export class BlobGuard {
  readonly locks = new KeyedMutex();
  private readonly pins = new Map<string, number>();

  constructor(
    /** How long a touched, unreferenced blob is kept for the push that touched it. */
    readonly graceMs: number,
    private readonly now: () => number,
  ) {}

  /** Pins `digest` for the grace period from now. */
  touch(digest: string): void {
    this.pins.set(digest, this.now() + this.graceMs);
  }

  /** A manifest referencing the blob was committed: the push no longer needs the pin. */
  release(digest: string): void {
    this.pins.delete(digest);
  }

  isPinned(digest: string): boolean {
    const until = this.pins.get(digest);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.pins.delete(digest);
    return false;
  }
}
