import { createHash, randomUUID } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KeyedMutex } from '../shared/keyed-mutex.js';
import { DigestMismatchError, digestHex } from './blob-digest.js';
import { EarlyWriteback, WRITE_BATCH } from './blob-file-writes.js';
import type { BlobInfo, BlobUploads } from './types.js';
import { UploadNotFoundError, UploadOffsetError } from './upload-errors.js';

/** What a committing upload needs from the store it lands in. */
export interface UploadTarget {
  /** Whether a blob with this digest is stored already. */
  has(digest: string): Promise<boolean>;
  /** Renames a complete, fsynced file into the blob's place and makes the rename durable. */
  moveIntoPlace(path: string, digest: string): Promise<void>;
}

/** What is known of an upload without reading its file: its size and the hash of its bytes. */
interface UploadState {
  size: number;
  hash: Hash;
}

/** The form randomUUID() produces, and nothing else: an id becomes a file name. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REHASH_BUFFER = 1024 * 1024;

export function isUploadId(id: string): boolean {
  return UPLOAD_ID.test(id);
}

/**
 * Resumable uploads as files `<dir>/<uuid>`, inside the store's root so that commit is a
 * rename. The directory is not swept on open: an upload outlives a restart and resumes.
 *
 * Each upload's sha256 is kept in memory and fed as bytes are appended, so commit needs no
 * second read. The hash state is forgotten when it may no longer match the file (a failed
 * write, a restart); the next append or commit then rebuilds it by reading the file once.
 * Appends are durable only from commit on (one fsync there, none per append): a crash can
 * cost the tail of an upload in progress, and the digest check at commit catches that.
 */
export class FileBlobUploads implements BlobUploads {
  private readonly states = new Map<string, UploadState>();
  /** Tail of each upload's queue of appends/commit/abort (a per-id mutex). */
  private readonly queues = new KeyedMutex();
  /** Bumped by reset() so that a rebuild racing it does not bring back a stale state. */
  private generation = 0;

  constructor(
    readonly dir: string,
    private readonly target: UploadTarget,
  ) {}

  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async create(): Promise<string> {
    const id = randomUUID();
    await (await open(this.pathOf(id), 'wx', 0o644)).close();
    this.states.set(id, { size: 0, hash: createHash('sha256') });
    return id;
  }

  /** The bytes on disk; not queued behind a running append, so it shows its progress. */
  async size(id: string): Promise<number | undefined> {
    if (!isUploadId(id)) return undefined;
    try {
      return (await stat(this.pathOf(id))).size;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async append(id: string, data: Buffer | Readable, offset: number): Promise<number> {
    const path = this.pathOf(id);
    return this.serialized(id, () =>
      this.withFile(id, path, 'r+', async (file) => {
        const known = this.states.get(id);
        const size = known?.size ?? (await file.stat()).size;
        if (offset !== size) throw new UploadOffsetError(id, size, offset);
        const state = known ?? (await this.rebuild(id, file, size));
        if (Buffer.isBuffer(data)) {
          await this.write(id, state, file, data);
          return state.size;
        }
        const writeback = new EarlyWriteback(file, size);
        try {
          // Socket-sized chunks (~64 KB) are gathered into writes of up to WRITE_BATCH bytes:
          // half the syscalls and thread-pool round trips. The stream is not pulled
          // while a batch is written. A source that fails leaves what was written so far (and
          // a hash that matches it); the batch in hand is written first.
          let batch: Buffer[] = [];
          let batched = 0;
          const flush = async () => {
            if (batched === 0) return;
            const buf = batch.length === 1 ? batch[0] : Buffer.concat(batch, batched);
            batch = [];
            batched = 0;
            await this.write(id, state, file, buf);
            writeback.wrote(state.size);
          };
          try {
            for await (const chunk of data as AsyncIterable<Buffer | string>) {
              const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              batch.push(buf);
              batched += buf.length;
              if (batched >= WRITE_BATCH) await flush();
            }
          } finally {
            await flush();
          }
          await writeback.settled();
        } finally {
          await writeback.settled().catch(() => undefined);
        }
        return state.size;
      }),
    );
  }

  async commit(id: string, expectedDigest?: string): Promise<BlobInfo> {
    if (expectedDigest !== undefined) digestHex(expectedDigest);
    const path = this.pathOf(id);
    return this.serialized(id, () =>
      this.withFile(id, path, 'r', async (file) => {
        const state =
          this.states.get(id) ?? (await this.rebuild(id, file, (await file.stat()).size));
        // copy(): digest() finalises a Hash, and after a mismatch the upload goes on as it was.
        const digest = `sha256:${state.hash.copy().digest('hex')}`;
        if (expectedDigest !== undefined && digest !== expectedDigest) {
          throw new DigestMismatchError(expectedDigest, digest);
        }
        try {
          if (await this.target.has(digest)) {
            await unlink(path);
          } else {
            await file.sync();
            await this.target.moveIntoPlace(path, digest);
          }
        } finally {
          // Whether or not the file moved, what we knew of it is no longer to be trusted.
          this.forget(id, state);
        }
        return { digest, size: state.size };
      }),
    );
  }

  async abort(id: string): Promise<boolean> {
    if (!isUploadId(id)) return false;
    return this.serialized(id, async () => {
      this.states.delete(id);
      try {
        await unlink(this.pathOf(id));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    });
  }

  async list(): Promise<{ id: string; size: number; modifiedAt: number }[]> {
    const ids = (await readdir(this.dir)).filter(isUploadId);
    const found = await Promise.all(
      ids.map(async (id) => {
        try {
          const st = await stat(this.pathOf(id));
          return { id, size: st.size, modifiedAt: st.mtimeMs };
        } catch (err) {
          if (isNotFound(err)) return undefined; // committed or aborted meanwhile
          throw err;
        }
      }),
    );
    return found.filter((upload) => upload !== undefined);
  }

  /** Removes every upload. Appends in flight finish on their (now unlinked) files. */
  async reset(): Promise<void> {
    this.generation++;
    this.states.clear();
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  /** Writes at the end of the upload; hashing runs while libuv's pool does the write. */
  private async write(id: string, state: UploadState, file: FileHandle, buf: Buffer) {
    const written = writeAt(file, buf, state.size);
    state.hash.update(buf);
    try {
      await written;
    } catch (err) {
      // Part of the chunk may be on disk: size and hash are unknown until rebuilt.
      this.forget(id, state);
      throw err;
    }
    state.size += buf.length;
  }

  /** Hashes the first `size` bytes of the file, reading the next block while hashing one. */
  private async rebuild(id: string, file: FileHandle, size: number): Promise<UploadState> {
    const generation = this.generation;
    const hash = createHash('sha256');
    const blockSize = Math.min(REHASH_BUFFER, size);
    const buffers = [Buffer.allocUnsafe(blockSize), Buffer.allocUnsafe(blockSize)];
    const readBlock = (index: number, position: number) => {
      const length = Math.min(blockSize, size - position);
      return file.read(buffers[index % 2], 0, length, position);
    };
    let position = 0;
    let index = 0;
    let pending = size > 0 ? readBlock(index, position) : undefined;
    while (pending !== undefined) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) throw new Error(`blob upload ${id} shrank while being read`);
      position += bytesRead;
      index++;
      pending = position < size ? readBlock(index, position) : undefined;
      hash.update(buffer.subarray(0, bytesRead));
    }
    const state = { size, hash };
    if (generation === this.generation) this.states.set(id, state);
    return state;
  }

  private forget(id: string, state: UploadState): void {
    if (this.states.get(id) === state) this.states.delete(id);
  }

  /** Runs `fn` with the upload's file open; a missing file is an unknown upload. */
  private async withFile<T>(
    id: string,
    path: string,
    flags: 'r' | 'r+',
    fn: (file: FileHandle) => Promise<T>,
  ): Promise<T> {
    let file: FileHandle;
    try {
      file = await open(path, flags);
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(id);
      throw err;
    }
    let result: T;
    try {
      result = await fn(file);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    try {
      await file.close();
    } catch (err) {
      // close() can report a deferred write error: the file may not hold what we think.
      this.states.delete(id);
      throw err;
    }
    return result;
  }

  /** Runs `fn` after everything already queued for the same upload. */
  private serialized<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.queues.with(id, fn);
  }

  /** The upload's file; an id that is not a UUID never reaches the file system. */
  private pathOf(id: string): string {
    if (!isUploadId(id)) throw new UploadNotFoundError(id);
    return join(this.dir, id);
  }
}

async function writeAt(file: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await file.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
