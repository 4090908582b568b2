import { createHash, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { isCheckedPayload } from '../shared/streaming-blob.js';
import { DigestMismatchError, digestHex } from './blob-digest.js';
import { EarlyWriteback, WRITE_BATCH } from './blob-file-writes.js';
import { FileBlobUploads } from './file-blob-uploads.js';
import { FileRangeStream } from './file-range-stream.js';
import { isProcessRunning } from './state-lock.js';
import type { BlobInfo, BlobStore } from './types.js';

export { DigestMismatchError, InvalidDigestError, isValidDigest } from './blob-digest.js';

/**
 * Content-addressed blobs on the local file system:
 *
 *   <root>/sha256/<first 2 hex>/<64 hex>   complete blobs, immutable
 *   <root>/tmp/<uuid>                      blobs being written by put
 *   <root>/uploads/<uuid>                  resumable uploads (see file-blob-uploads.ts)
 *
 * A put streams into a temp file while hashing (memory stays at one chunk), fsyncs it,
 * renames it into place and fsyncs the directory, so a blob path only ever names complete
 * content, also after a crash or power loss. A put resolves only after all that, so a
 * metadata commit made afterwards never references a blob the disk could lose. Temp files
 * left by a crash are removed on open. Deletes are not fsynced: a deleted blob that comes
 * back after a power loss is unreferenced garbage, not corruption.
 *
 * Uploads are not crash leftovers: they survive a restart and are resumed or committed.
 *
 * The temp and upload directories sit inside the root so that rename never crosses file
 * systems.
 */
export class FileBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly tmpDir: string;
  /** Shard directories known to exist (saves a mkdir per put). */
  private readonly shards = new Set<string>();
  readonly uploads: FileBlobUploads;

  private constructor(
    readonly root: string,
    private readonly temporary: boolean,
  ) {
    this.blobDir = join(root, 'sha256');
    this.tmpDir = join(root, 'tmp');
    this.uploads = new FileBlobUploads(join(root, 'uploads'), {
      has: async (digest) => (await this.stat(digest)) !== undefined,
      moveIntoPlace: (path, digest) => this.moveIntoPlace(path, digest),
    });
  }

  /** Opens (creating if needed) a store rooted at `root` and removes crash leftovers. */
  static async open(root: string): Promise<FileBlobStore> {
    const store = new FileBlobStore(root, false);
    await store.prepare();
    return store;
  }

  /**
   * An ephemeral store in a fresh directory under os.tmpdir(), deleted by close() or, failing
   * that, when the process exits. The name carries the pid, so directories of processes
   * that were killed are swept by the next one.
   */
  static async openTemporary(): Promise<FileBlobStore> {
    await sweepDeadTemporaries();
    const root = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
    const store = new FileBlobStore(root, true);
    temporaryRoots.add(root);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const dir of temporaryRoots) rmSync(dir, { recursive: true, force: true });
      });
    }
    await store.prepare();
    return store;
  }

  private async prepare(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    await this.uploads.prepare();
    // Whoever wrote these died mid-put (the state directory lock guarantees no live writer).
    for (const name of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, name), { force: true, recursive: true });
    }
  }

  async put(data: Buffer | Readable, expectedDigest?: string): Promise<BlobInfo> {
    if (expectedDigest !== undefined) digestHex(expectedDigest);
    if (Buffer.isBuffer(data)) return this.putBuffer(data, expectedDigest);

    const tmp = join(this.tmpDir, randomUUID());
    // A large checked payload computes its SHA-256 with its other digests, off the event
    // loop (where it cost ~0.8 s per GB, the largest share of a 1 GB PutObject's time).
    const payload = isCheckedPayload(data) && data.wantSha256?.() === true ? data : undefined;
    const hash = payload ? undefined : createHash('sha256');
    let size = 0;
    const file = await open(tmp, 'wx', 0o644);
    const writeback = new EarlyWriteback(file);
    try {
      try {
        // Socket-sized chunks are gathered into writes of WRITE_BATCH bytes, and the next
        // batch is hashed while the previous one is written: at most two batches are held,
        // and the stream is not pulled further until the previous write is done.
        let batch: Buffer[] = [];
        let batched = 0;
        let writing: Promise<void> = Promise.resolve();
        const flush = (last = false) => {
          const bufs = batch;
          batch = [];
          // Whole multiples of WRITE_BATCH go out and the rest starts the next batch: every
          // write but the last starts at a multiple of WRITE_BATCH, whatever sizes the chunks
          // had (aws-chunked framing shifts them), so the page cache sees the same writes.
          let over = last ? 0 : batched % WRITE_BATCH;
          batched = 0;
          while (over > 0) {
            const b = bufs.pop()!;
            const keep = Math.max(0, b.length - over);
            if (keep > 0) bufs.push(b.subarray(0, keep));
            batch.unshift(b.subarray(keep));
            batched += b.length - keep;
            over -= b.length - keep;
          }
          // writev: the chunks go out as they are, never copied into a batch buffer.
          const upTo = size - batched;
          writing = writevAll(file, bufs).then(() => writeback.wrote(upTo));
          // Awaited before the next write or at the end; never left unhandled meanwhile.
          writing.catch(() => undefined);
        };
        await eachChunk(data, (buf) => {
          hash?.update(buf);
          size += buf.length;
          batch.push(buf);
          batched += buf.length;
          if (batched < WRITE_BATCH) return undefined;
          return writing.then(() => flush());
        });
        await writing;
        if (batched > 0) {
          flush(true);
          await writing;
        }
        await writeback.settled();
        await file.sync();
      } finally {
        await writeback.settled().catch(() => undefined);
        await file.close();
      }
      const hex = hash ? hash.digest('hex') : payload?.digests?.sha256;
      if (hex === undefined) throw new Error('the payload ended without its SHA-256');
      const digest = `sha256:${hex}`;
      if (expectedDigest !== undefined && digest !== expectedDigest) {
        throw new DigestMismatchError(expectedDigest, digest);
      }
      await this.moveIntoPlace(tmp, digest);
      return { digest, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** A buffer is hashed before anything is written: a mismatch or a duplicate costs no I/O. */
  private async putBuffer(data: Buffer, expectedDigest: string | undefined): Promise<BlobInfo> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (expectedDigest !== undefined && digest !== expectedDigest) {
      throw new DigestMismatchError(expectedDigest, digest);
    }
    const info = { digest, size: data.length };
    if ((await this.stat(digest)) !== undefined) return info;
    const tmp = join(this.tmpDir, randomUUID());
    try {
      const file = await open(tmp, 'wx', 0o644);
      try {
        await writeAll(file, data);
        await file.sync();
      } finally {
        await file.close();
      }
      await this.moveIntoPlace(tmp, digest);
      return info;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Rename is atomic; when two puts of the same content race, the second rename replaces
   * identical bytes, and readers holding the first file keep reading it. `tmp` (a put's temp
   * file or a committed upload) must be fsynced and inside the root.
   */
  private async moveIntoPlace(tmp: string, digest: string): Promise<void> {
    const hex = digest.slice(7);
    const shard = join(this.blobDir, hex.slice(0, 2));
    if (!this.shards.has(shard)) {
      const created = await mkdir(shard, { recursive: true });
      if (created !== undefined) await fsyncDir(this.blobDir);
      this.shards.add(shard);
    }
    await rename(tmp, join(shard, hex));
    await fsyncDir(shard);
  }

  /** `range.end` is inclusive, as in HTTP Range; a start past the end yields no bytes. */
  async get(
    digest: string,
    range?: { start: number; end?: number },
  ): Promise<FileRangeStream | undefined> {
    const path = this.pathOf(digest);
    if (range !== undefined) checkRange(range);
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    // The open handle keeps the content readable even if the blob is deleted meanwhile.
    return new FileRangeStream(file, range?.start, range?.end);
  }

  async read(digest: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(digest));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.pathOf(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(digest: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(digest));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async *list(): AsyncIterable<BlobInfo & { modifiedAt: number }> {
    for (const shard of await readdir(this.blobDir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      let names: string[];
      try {
        names = await readdir(join(this.blobDir, shard));
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      for (const hex of names) {
        if (!/^[0-9a-f]{64}$/.test(hex) || !hex.startsWith(shard)) continue;
        try {
          const st = await stat(join(this.blobDir, shard, hex));
          yield { digest: `sha256:${hex}`, size: st.size, modifiedAt: st.mtimeMs };
        } catch (err) {
          if (!isNotFound(err)) throw err; // deleted meanwhile
        }
      }
    }
  }

  /** Removes every blob and upload. Puts in flight keep their temp files and still land. */
  async reset(): Promise<void> {
    this.shards.clear();
    await rm(this.blobDir, { recursive: true, force: true });
    await mkdir(this.blobDir, { recursive: true });
    await this.uploads.reset();
  }

  /** Deletes the directory of a temporary store; a persistent store has nothing to release. */
  async close(): Promise<void> {
    if (!this.temporary) return;
    await rm(this.root, { recursive: true, force: true });
    temporaryRoots.delete(this.root);
  }

  private pathOf(digest: string): string {
    const hex = digestHex(digest);
    return join(this.blobDir, hex.slice(0, 2), hex);
  }
}

const TEMP_PREFIX = 'stratus-blobs-';
const TEMP_NAME = /^stratus-blobs-(\d+)-/;
const temporaryRoots = new Set<string>();
let exitHookInstalled = false;

async function sweepDeadTemporaries(): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    const match = TEMP_NAME.exec(name);
    if (match === null || isProcessRunning(Number(match[1]))) continue;
    // Best effort: another user's leftovers in a shared /tmp are not ours to remove.
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function writevAll(file: FileHandle, bufs: Buffer[]): Promise<void> {
  let { bytesWritten } = await file.writev(bufs);
  // A short write: the rest one buffer at a time.
  for (const buf of bufs) {
    if (bytesWritten >= buf.length) {
      bytesWritten -= buf.length;
      continue;
    }
    await writeAll(file, buf.subarray(bytesWritten));
    bytesWritten = 0;
  }
}

async function writeAll(file: FileHandle, buf: Buffer | Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await file.write(buf, offset, buf.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Feeds each chunk of `stream` to `take` as it arrives ('data' events), pausing the stream
 * while a promise `take` returned is pending. Unlike `for await`, whose `read()` joins the
 * buffered chunks into one new Buffer (a copy of every byte), the chunks pass as they are.
 * Resolves at the end; rejects on a stream error, an early close or a failed `take`.
 */
async function eachChunk(
  stream: Readable,
  take: (chunk: Buffer) => Promise<void> | undefined,
): Promise<void> {
  const ended = finished(stream);
  let failure: unknown;
  stream.on('data', (chunk: Buffer | string) => {
    if (failure !== undefined) return;
    let waiting: Promise<void> | undefined;
    try {
      waiting = take(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (err) {
      failure = err;
      stream.destroy(err as Error);
      return;
    }
    if (!waiting) return;
    stream.pause();
    waiting.then(
      () => stream.resume(),
      (err: unknown) => {
        failure = err;
        stream.destroy(err as Error);
      },
    );
  });
  try {
    await ended;
  } catch (err) {
    throw failure ?? err;
  }
  if (failure !== undefined) throw failure;
}

/** Makes a rename or create inside `dir` durable (POSIX needs the directory itself fsynced). */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function checkRange(range: { start: number; end?: number }): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new RangeError(`range start must be a non-negative integer, got ${start}`);
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError(`range end must be an integer >= start (${start}), got ${end}`);
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
