/**
 * Layer decompression, chosen from the bytes themselves (media types are sometimes wrong):
 * gzip through zlib, zstd through Node's zlib where it has it (22.15+) else the `zstd`
 * command, anything else read as a plain tar.
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** zlib hands out this much per callback: fewer, larger chunks for the tar parser. */
const CHUNK = 1024 * 1024;
/**
 * Decompressed bytes buffered ahead of the tar parser: the thread pool inflates the next
 * chunks while the extraction writes files, instead of the two taking turns.
 */
export const READ_AHEAD = 16 * 1024 * 1024;

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** Resolves the decompressed stream of `source`; errors of either side reach it. */
export async function decompressed(source: Readable): Promise<Readable> {
  const head = await firstBytes(source, 4);
  const compression = detectCompression(head);
  let out: Duplex;
  switch (compression) {
    case 'gzip':
      // zlib hands its options to the Transform it is, highWaterMark included.
      out = zlib.createGunzip({ chunkSize: CHUNK, highWaterMark: READ_AHEAD } as zlib.ZlibOptions);
      break;
    case 'zstd':
      out = zstdDecompressor();
      break;
    case 'none':
      out = new PassThrough({ highWaterMark: READ_AHEAD });
      break;
  }
  source.on('error', (err) => out.destroy(err));
  out.write(head);
  source.pipe(out);
  return out;
}

/** Reads until `n` bytes (or the end) arrived; what was read is returned, not lost. */
async function firstBytes(source: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const chunk = source.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      size += chunk.length;
      continue;
    }
    if (source.readableEnded) break;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        source.off('readable', done);
        source.off('end', done);
        source.off('error', fail);
        resolve();
      };
      const fail = (err: Error) => {
        source.off('readable', done);
        source.off('end', done);
        reject(err);
      };
      source.once('readable', done);
      source.once('end', done);
      source.once('error', fail);
    });
  }
  return Buffer.concat(chunks);
}

type ZstdFactory = (opts?: { chunkSize?: number; highWaterMark?: number }) => Duplex;

function zstdDecompressor(): Duplex {
  const native = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  if (native) return native({ chunkSize: CHUNK, highWaterMark: READ_AHEAD });
  const child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  child.once('error', (err) =>
    duplex.destroy(new Error(`zstd layers need the zstd command (${err.message})`)),
  );
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) {
      duplex.destroy(new Error(`zstd -dc failed (${code}): ${Buffer.concat(stderr).toString()}`));
    }
  });
  duplex.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}
