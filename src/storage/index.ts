import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FileBlobStore } from './file-blob-store.js';
import { SqliteMetadataStore } from './sqlite-store.js';
import { acquireStateLock, StateDirLockedError } from './state-lock.js';
import type { BlobStore, MetadataStore } from './types.js';

export type {
  BlobInfo,
  BlobStore,
  BlobUploads,
  Item,
  ListOptions,
  MetadataOps,
  MetadataStore,
} from './types.js';
export { DigestMismatchError, InvalidDigestError, isValidDigest } from './blob-digest.js';
export { FileBlobStore } from './file-blob-store.js';
export { FileBlobUploads, isUploadId } from './file-blob-uploads.js';
export { UploadNotFoundError, UploadOffsetError } from './upload-errors.js';
export { SqliteMetadataStore } from './sqlite-store.js';
export { StateDirLockedError } from './state-lock.js';

export interface StorageOptions {
  /** Created if missing (mode 0700: it holds credentials). Ignored when ephemeral. */
  stateDir: string;
  /**
   * State in a temporary directory (SQLite database and blobs), deleted by close() or at
   * exit (or by the next Stratus, for one that was killed).
   */
  ephemeral: boolean;
}

export interface Storage {
  store: MetadataStore;
  /** The default blob store (Lambda zips, ...); POST /_stratus/reset wipes it. */
  blobs: BlobStore;
  /**
   * A blob store of its own for a service whose blobs have their own lifecycle: ECR
   * garbage-collects unreferenced layers and must never delete a Lambda zip that happens to
   * have the same content. Opened once per name; `name` matches /^[a-z][a-z0-9-]{0,30}$/.
   * Its owner resets it (POST /_stratus/reset only wipes `blobs`); close() closes it.
   */
  namespace(name: string): Promise<BlobStore>;
  /** Closes the database, releases the state directory (or deletes ephemeral blobs). */
  close(): Promise<void>;
}

const NAMESPACE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** Beside sha256/, tmp/ and uploads/ in the temporary blob root (which nothing else lists). */
const EPHEMERAL_DB = 'stratus.db';

/**
 * Layout of a state directory:
 *   stratus.lock    pid of the Stratus using it (see state-lock.ts)
 *   stratus.db      SQLite metadata (+ stratus.db-wal)
 *   blobs/          shared content-addressed blobs and uploads (see file-blob-store.ts)
 *   blobs-<name>/   the same for the blob namespace <name> (Storage.namespace)
 * Throws StateDirLockedError when another live Stratus holds the directory.
 */
export async function openStorage(opts: StorageOptions): Promise<Storage> {
  if (opts.ephemeral) {
    const blobs = await FileBlobStore.openTemporary();
    // On disk in the temporary directory, not ':memory:': state grows with use (every
    // invoke adds log events and a usage row), and a file costs page cache (SQLite's own
    // cache is capped at 16 MiB), where ':memory:' kept every row in the heap for good.
    // The database goes before the directory: closeAll closes the store first.
    const store = new SqliteMetadataStore(join(blobs.root, EPHEMERAL_DB));
    const namespaces = new BlobNamespaces(() => FileBlobStore.openTemporary());
    return {
      store,
      blobs,
      namespace: (name) => namespaces.get(name),
      close: once(() => closeAll(store, blobs, namespaces)),
    };
  }

  const dir = resolve(opts.stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, 'stratus.lock');
  const lock = acquireStateLock(lockPath);
  let store: SqliteMetadataStore | undefined;
  try {
    try {
      store = new SqliteMetadataStore(join(dir, 'stratus.db'));
    } catch (err) {
      // The database's exclusive lock is held by another process.
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new StateDirLockedError(lockPath, undefined);
      }
      throw err;
    }
    const blobs = await FileBlobStore.open(join(dir, 'blobs'));
    const namespaces = new BlobNamespaces((name) => FileBlobStore.open(join(dir, `blobs-${name}`)));
    const opened = store;
    return {
      store: opened,
      blobs,
      namespace: (name) => namespaces.get(name),
      close: once(async () => {
        try {
          await closeAll(opened, blobs, namespaces);
        } finally {
          lock.release();
        }
      }),
    };
  } catch (err) {
    await store?.close();
    lock.release();
    throw err;
  }
}

/** The namespaced blob stores opened so far, each opened once however many ask at once. */
class BlobNamespaces {
  private readonly opened = new Map<string, Promise<FileBlobStore>>();
  private closed = false;

  constructor(private readonly openStore: (name: string) => Promise<FileBlobStore>) {}

  get(name: string): Promise<FileBlobStore> {
    if (this.closed) return Promise.reject(new Error('storage is closed'));
    if (!NAMESPACE_NAME.test(name)) {
      return Promise.reject(
        new RangeError(
          `invalid blob namespace ${JSON.stringify(name.slice(0, 100))}: expected ${NAMESPACE_NAME}`,
        ),
      );
    }
    const cached = this.opened.get(name);
    if (cached !== undefined) return cached;
    const opening = this.openStore(name);
    this.opened.set(name, opening);
    // A failed open is not cached: the next call tries again.
    opening.catch(() => {
      if (this.opened.get(name) === opening) this.opened.delete(name);
    });
    return opening;
  }

  /** Closes every store opened (waiting for opens in flight); refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    // An open that failed was already reported to its caller; only close failures count.
    const results = await Promise.allSettled(
      [...this.opened.values()].map((opening) =>
        opening.then(
          (store) => store.close(),
          () => undefined,
        ),
      ),
    );
    this.opened.clear();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}

async function closeAll(
  store: MetadataStore,
  blobs: FileBlobStore,
  namespaces: BlobNamespaces,
): Promise<void> {
  try {
    await store.close();
  } finally {
    try {
      await blobs.close();
    } finally {
      await namespaces.close();
    }
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
