/** How the blob store writes streamed files: batch size and early writeback. */
import type { FileHandle } from 'node:fs/promises';

/**
 * Bytes gathered from a stream before they are written. Not more: the kernel sizes page
 * cache folios by the write, and on a VM that hands freed memory back to its host
 * (virtio-balloon free page reporting, as on the development machine) large folios often
 * come from pages the host must fault in again. Writing 1 GB into a new file here cost
 * 0.18–2.5 s of system time in 1 MB writes (slow in 8 runs of 12) and 0.18–0.20 s in
 * 128 KB ones (slow in 1 run of 18, 0.86 s): rarer, not gone (bench/README.md, S3).
 */
export const WRITE_BATCH = 128 * 1024;

/** Bytes written between two early writebacks. */
const WRITEBACK_EVERY = 64 * 1024 * 1024;

/**
 * Starts the disk writes of a large file while it is still being written: an fdatasync
 * every WRITEBACK_EVERY bytes, one at a time, on the thread pool beside the writes. The
 * fsync that makes the file durable at the end then finds at most that much left to write.
 * Without it, that fsync wrote the whole file with the disk idle until then: ~0.65 s per GB
 * here, more than a quarter of a 1 GB upload's time (bench/README.md, S3). Used by
 * streamed puts and by resumable uploads' appends. A failed datasync fails the put (after
 * a failed fsync the kernel may have dropped the dirty pages).
 */
export class EarlyWriteback {
  private pending: Promise<void> | undefined;
  private failure: unknown;
  private syncedAt: number;

  /** `written`: the bytes already in the file (and left to the final fsync). */
  constructor(
    private readonly file: FileHandle,
    written = 0,
    private readonly every = WRITEBACK_EVERY,
  ) {
    this.syncedAt = written;
  }

  /** `written`: the bytes in the file so far. */
  wrote(written: number): void {
    if (this.pending !== undefined || written - this.syncedAt < this.every) return;
    this.syncedAt = written;
    this.pending = this.file.datasync().then(
      () => {
        this.pending = undefined;
      },
      (err: unknown) => {
        this.failure ??= err;
        this.pending = undefined;
      },
    );
  }

  /** Waits for a datasync in flight; throws the first one that failed. */
  async settled(): Promise<void> {
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }
}
