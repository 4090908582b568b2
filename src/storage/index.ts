import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FileBlobStore } from './file-blob-store.js';
import { SqliteMetadataStore } from './sqlite-store.js';
import { acquireStateLock, StateDirLockedError } from './state-lock.js';
import type { BlobStore, MetadataStore } from './types.js';

export type {
  BlobInfo,
  BlobStore,
  Item,
  ListOptions,
  MetadataOps,
  MetadataStore,
} from './types.js';
export { DigestMismatchError, InvalidDigestError, isValidDigest } from './blob-digest.js';
export { FileBlobStore } from './file-blob-store.js';
export { SqliteMetadataStore } from './sqlite-store.js';
export { StateDirLockedError } from './state-lock.js';

export interface StorageOptions {
  /** Created if missing (mode 0700: it holds credentials). Ignored when ephemeral. */
  stateDir: string;
  /** In-memory SQLite and a temporary blob directory, both gone after close(). */
  ephemeral: boolean;
}

export interface Storage {
  store: MetadataStore;
  blobs: BlobStore;
  /** Closes the database, releases the state directory (or deletes ephemeral blobs). */
  close(): Promise<void>;
}

/**
 * Layout of a state directory:
 *   stratus.lock   pid of the Stratus using it (see state-lock.ts)
 *   stratus.db     SQLite metadata (+ stratus.db-wal)
 *   blobs/         content-addressed blobs (see file-blob-store.ts)
 * Throws StateDirLockedError when another live Stratus holds the directory.
 */
export async function openStorage(opts: StorageOptions): Promise<Storage> {
  if (opts.ephemeral) {
    const store = new SqliteMetadataStore(':memory:');
    const blobs = await FileBlobStore.openTemporary();
    return { store, blobs, close: once(() => closeAll(store, blobs)) };
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
    const opened = store;
    return {
      store: opened,
      blobs,
      close: once(async () => {
        try {
          await closeAll(opened, blobs);
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

async function closeAll(store: MetadataStore, blobs: FileBlobStore): Promise<void> {
  try {
    await store.close();
  } finally {
    await blobs.close();
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
