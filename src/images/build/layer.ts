/**
 * Image layers as gzipped tars (application/vnd.oci.image.layer.v1.tar+gzip), written
 * into the build cache with both digests computed on the way: the diff id (sha256 of the
 * tar) for the config, the digest (sha256 of the gzip) for the manifest.
 *
 * Deterministic where the inputs are: entries come in a fixed order (directories walked in
 * byte order of names), owned by root, with one fixed mtime and no user/group names, and
 * gzip is written with mtime 0 (zlib's header), so unchanged inputs give unchanged digests.
 * https://github.com/opencontainers/image-spec/blob/main/layer.md
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { BuildCache, LayerRecord } from './cache.js';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Every entry and the image's `created` carry this time (2024-01-01T00:00:00Z). */
export const SOURCE_DATE_EPOCH = 1704067200;
export const FIXED_MTIME = new Date(SOURCE_DATE_EPOCH * 1000);

type EntryHeader = Parameters<tar.Pack['entry']>[0];

export interface LayerEntry {
  /** Path inside the image, relative (no leading slash); directories without a trailing one. */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  /** Symlinks: the target. */
  linkname?: string;
  /** Files: the content, as bytes or a stream of exactly `size` bytes. */
  content?: Buffer | (() => AsyncIterable<Buffer | Uint8Array>);
  size?: number;
}

/** Counts and hashes what flows through. */
class Digester extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    done(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * Gzips a tar stream into the cache. `onBytes` sees the uncompressed bytes as they pass.
 */
export async function storeTar(
  tarStream: Readable | tar.Pack,
  cache: BuildCache,
  description: string,
  onBytes?: (n: number) => void,
): Promise<LayerRecord> {
  const tarHash = new Digester(onBytes);
  const gzHash = new Digester();
  const tmp = cache.tempBlobPath();
  try {
    await pipeline(tarStream, tarHash, createGzip({ level: 6 }), gzHash, createWriteStream(tmp));
    const digest = gzHash.digest();
    await rename(tmp, cache.blobPath(digest));
    return {
      digest,
      diffId: tarHash.digest(),
      size: gzHash.bytes,
      mediaType: LAYER_MEDIA_TYPE,
      description,
    };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Writes `entries` as a tar (root-owned, fixed mtime) and stores it gzipped. */
export function storeEntries(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  cache: BuildCache,
  description: string,
  onBytes?: (n: number) => void,
): Promise<LayerRecord> {
  const pack = tar.pack();
  const feeding = feed(pack, entries);
  const stored = storeTar(pack, cache, description, onBytes);
  return Promise.all([feeding, stored]).then(([, record]) => record);
}

async function feed(
  pack: tar.Pack,
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
): Promise<void> {
  try {
    for await (const e of entries) {
      const header: EntryHeader = {
        name: e.type === 'directory' ? `${e.name}/` : e.name,
        type: e.type,
        mode: e.mode & 0o7777,
        uid: 0,
        gid: 0,
        mtime: FIXED_MTIME,
      };
      if (e.type === 'symlink') {
        header.linkname = e.linkname;
        await entry(pack, header);
      } else if (e.type === 'directory') {
        await entry(pack, header);
      } else if (Buffer.isBuffer(e.content)) {
        header.size = e.content.length;
        await entry(pack, header, e.content);
      } else if (e.content) {
        header.size = e.size;
        await streamEntry(pack, header, e.content());
      } else {
        throw new Error(`layer entry ${e.name} has no content`);
      }
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  }
}

/** Copies a file's stream into its tar entry, honouring back-pressure. */
async function streamEntry(
  pack: tar.Pack,
  header: EntryHeader,
  source: AsyncIterable<Buffer | Uint8Array>,
) {
  let done: (err?: Error | null) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    done = (err) => (err ? reject(err) : resolve());
  });
  const sink = pack.entry(header, (err) => done(err));
  for await (const chunk of source) {
    if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  sink.end(undefined);
  await finished;
}

function entry(pack: tar.Pack, header: EntryHeader, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (data) pack.entry(header, data, cb);
    else pack.entry(header, cb);
  });
}

/** Parent directories of `prefix` (`var/runtime` gives `var`, `var/runtime`), as entries. */
export function* parentDirs(prefix: string, mode = 0o755): Iterable<LayerEntry> {
  const parts = prefix.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    yield { name: parts.slice(0, i).join('/'), type: 'directory', mode };
  }
}

/**
 * Walks `root` in byte order of names and yields its tree under `prefix` (which is not
 * itself yielded). Hard links become copies; sockets, fifos and devices are skipped.
 */
export async function* walkDirectory(root: string, prefix: string): AsyncIterable<LayerEntry> {
  const names = (await readdir(root)).sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
  for (const name of names) {
    const path = join(root, name);
    const target = `${prefix}/${name}`;
    const s = await lstat(path);
    if (s.isDirectory()) {
      yield { name: target, type: 'directory', mode: s.mode };
      yield* walkDirectory(path, target);
    } else if (s.isSymbolicLink()) {
      yield { name: target, type: 'symlink', mode: 0o777, linkname: await readlink(path) };
    } else if (s.isFile()) {
      yield {
        name: target,
        type: 'file',
        mode: s.mode,
        size: s.size,
        content: () => createReadStream(path),
      };
    }
  }
}
