/**
 * A byte range of an open file as a stream: what the blob store hands out for reading.
 *
 * Read as any Readable, each chunk is a new buffer, as with fs.ReadStream. Sent to a
 * response with `sendStream`, the bytes go through a few buffers reused for the whole
 * transfer instead: a gigabyte read as new 1 MB buffers is a gigabyte of external memory
 * for V8, whose pressure starts a garbage collection every few megabytes, and on a heap
 * as large as the server's those collections cost more than the reads (a 1 GB
 * GetObject ran at 0.6 GB/s with 1.2 s of GC helper threads' CPU, against 1.2–1.4 GB/s
 * with the buffers reused; bench/README.md, "S3 benchmark").
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';

/** Bytes per read: large blobs are read in few thread-pool round trips and socket writes. */
const CHUNK = 1024 * 1024;
/** Buffers a transfer reuses: one being read while the others are written. */
const BUFFERS = 3;

export class FileRangeStream extends Readable {
  private position: number;
  /** One past the last byte. */
  private readonly limit: number;
  private started = false;

  /** Bytes [start, end] of `file` (end inclusive, as in HTTP Range; unbounded if absent). */
  constructor(
    private readonly file: FileHandle,
    start = 0,
    end?: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.position = start;
    this.limit = end === undefined ? Infinity : end + 1;
  }

  override _read(): void {
    this.started = true;
    const n = Math.min(CHUNK, this.limit - this.position);
    if (n <= 0) return void this.push(null);
    this.file.read(Buffer.allocUnsafeSlow(n), 0, n, this.position).then(
      ({ bytesRead, buffer }) => {
        if (bytesRead === 0) return void this.push(null);
        this.position += bytesRead;
        this.push(buffer.subarray(0, bytesRead));
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.file.close().then(
      () => callback(err),
      (closeErr: Error) => callback(err ?? closeErr),
    );
  }

  /**
   * Writes the range to `dest` through BUFFERS reused buffers (the next read overlaps the
   * previous writes), then ends `dest`; the file is closed either way. Only for a stream
   * nothing has read yet.
   */
  async sendTo(dest: Writable): Promise<void> {
    this.started = true;
    const size = Math.min(CHUNK, this.limit - this.position);
    const free: Buffer[] = [];
    for (let i = 0; i < BUFFERS && size > 0; i++) free.push(Buffer.allocUnsafeSlow(size));
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const release = (buf: Buffer) => (err?: Error | null) => {
      if (err) failure ??= err;
      free.push(buf);
      wake?.();
    };
    const closed = () => {
      failure ??= new Error('the response closed before the body was sent');
      wake?.();
    };
    dest.once('close', closed);
    try {
      while (this.position < this.limit) {
        while (free.length === 0 && failure === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
        }
        if (failure) throw failure;
        const buf = free.pop() as Buffer;
        const n = Math.min(buf.length, this.limit - this.position);
        const { bytesRead } = await this.file.read(buf, 0, n, this.position);
        // An end past the file's is cut to it, as for a Readable.
        if (bytesRead === 0) break;
        this.position += bytesRead;
        dest.write(buf.subarray(0, bytesRead), release(buf));
      }
      dest.end();
      await finished(dest);
    } finally {
      dest.off('close', closed);
      // Settles once the file is closed.
      await new Promise((resolve) => this.destroy().once('close', resolve));
    }
  }

  /** Whether `sendTo` may still be used (nothing has been read). */
  get untouched(): boolean {
    return !this.started && !this.destroyed;
  }
}

/** Sends a body stream to a response and ends it: a file range through reused buffers. */
export function sendStream(body: Readable, dest: Writable): Promise<void> {
  if (body instanceof FileRangeStream && body.untouched) return body.sendTo(dest);
  return pipeline(body, dest);
}
