import type { Readable } from 'node:stream';

/**
 * State lives behind these two interfaces only. They are asynchronous on purpose: the
 * embedded SQLite / local-file backends answer at once, a PostgreSQL or object-store
 * backend can follow without any service changing.
 */

/** One stored document: `table` names the collection, `key` orders it (byte order). */
export interface Item<T = unknown> {
  key: string;
  value: T;
}

export interface ListOptions {
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** Only keys strictly after this one (exclusive start, for paging). */
  after?: string;
  /** Only keys strictly before this one. */
  before?: string;
  /** Descending key order. */
  reverse?: boolean;
  limit?: number;
}

/** Reads and writes available both directly and inside a transaction. */
export interface MetadataOps {
  get<T>(table: string, key: string): Promise<T | undefined>;
  /** Insert or replace. */
  put<T>(table: string, key: string, value: T): Promise<void>;
  /** Insert only; resolves false (and writes nothing) when the key exists. */
  insert<T>(table: string, key: string, value: T): Promise<boolean>;
  /** Resolves true when something was deleted. */
  delete(table: string, key: string): Promise<boolean>;
  /** Deletes every key with the prefix; resolves how many went. */
  deletePrefix(table: string, prefix: string): Promise<number>;
  list<T>(table: string, options?: ListOptions): Promise<Item<T>[]>;
  count(table: string, prefix?: string): Promise<number>;
}

export interface MetadataStore extends MetadataOps {
  /**
   * Runs `fn` as one atomic transaction: all its writes land or none do, and no other
   * writer interleaves. `fn` must only await store calls (no network, no timers).
   */
  transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T>;
  /** Wipe everything (POST /_stratus/reset). */
  reset(): Promise<void>;
  /** Gives back the memory caches hold (POST /_stratus/gc); they refill on use. */
  releaseMemory(): Promise<void>;
  close(): Promise<void>;
}

export interface BlobInfo {
  /** `sha256:<hex>` */
  digest: string;
  size: number;
}

/** Content-addressed blobs: written temp → fsync → rename, so a partial blob is never seen. */
export interface BlobStore {
  put(data: Buffer | Readable, expectedDigest?: string): Promise<BlobInfo>;
  get(digest: string, range?: { start: number; end?: number }): Promise<Readable | undefined>;
  read(digest: string): Promise<Buffer | undefined>;
  stat(digest: string): Promise<BlobInfo | undefined>;
  delete(digest: string): Promise<boolean>;
  /**
   * Every stored blob with its last modification time (ms), in no particular order: for
   * services that reconcile what is stored with what they reference (ECR's collector).
   */
  list(): AsyncIterable<BlobInfo & { modifiedAt: number }>;
  reset(): Promise<void>;
  /** Resumable uploads whose content becomes a blob once complete (OCI/ECR layer pushes). */
  readonly uploads: BlobUploads;
}

/**
 * Resumable uploads. Bytes are appended in order and kept on disk, so an upload survives a
 * restart and resumes at `size()`; commit verifies the digest and moves the content into
 * the store without copying it. Memory stays at one chunk however large the upload.
 * An id that is not a UUID is an unknown upload (it never reaches the file system). Errors
 * are in upload-errors.ts.
 */
export interface BlobUploads {
  /** Starts an empty upload; the id is a UUID. */
  create(): Promise<string>;
  /** Bytes received so far; undefined for an unknown (or committed, or aborted) upload. */
  size(id: string): Promise<number | undefined>;
  /**
   * Appends `data` when `offset` equals the current size, else throws UploadOffsetError
   * (nothing written, and a stream is left unread: draining or destroying it is the
   * caller's business). Appends, commit and abort of one upload are serialised. When the stream fails midway
   * the bytes that reached the disk stay appended, and size() tells where to resume.
   * Resolves the new size. Throws UploadNotFoundError for an unknown id.
   */
  append(id: string, data: Buffer | Readable, offset: number): Promise<number>;
  /**
   * Hashes what was received (incrementally: normally no second read), fsyncs it and moves
   * it into the store as a blob. Throws DigestMismatchError when it does not hash to
   * `expectedDigest`, leaving the upload as it was; UploadNotFoundError for an unknown id.
   * Without `expectedDigest` the content is committed under whatever digest it has.
   */
  commit(id: string, expectedDigest?: string): Promise<BlobInfo>;
  /** Deletes the upload; resolves false when there was none. */
  abort(id: string): Promise<boolean>;
  /** Ids of the uploads on disk with their last modification time (ms), for expiry sweeps. */
  list(): Promise<{ id: string; size: number; modifiedAt: number }[]>;
}
