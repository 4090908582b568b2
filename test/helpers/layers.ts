/**
 * Image layers built in the test with tar-stream (hostile ones included: tar-stream writes
 * whatever names, link targets and types it is given), and a ResolvedImage serving them,
 * for the layer cache tests and the layer benchmark.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import type { ImageLayer, ResolvedImage } from '../../src/runtime/container.js';

export type Entry = Partial<Header> & { name: string; body?: string | Buffer };

/** A file entry (mode 0644 unless given). */
export const file = (name: string, body: string | Buffer = name, extra: Partial<Header> = {}) =>
  ({ name, type: 'file', mode: 0o644, body, ...extra }) as Entry;
export const dir = (name: string, extra: Partial<Header> = {}) =>
  ({ name, type: 'directory', mode: 0o755, ...extra }) as Entry;
export const symlink = (name: string, linkname: string) =>
  ({ name, type: 'symlink', linkname, mode: 0o777 }) as Entry;
export const hardlink = (name: string, linkname: string) =>
  ({ name, type: 'link', linkname, mode: 0o644 }) as Entry;
/** An OCI whiteout of `name` in `parent` ('' for the root). */
export const whiteout = (parent: string, name: string) =>
  file(`${parent === '' ? '' : `${parent}/`}.wh.${name}`, '');
export const opaque = (parent: string) =>
  file(`${parent === '' ? '' : `${parent}/`}.wh..wh..opq`, '');

/** The uncompressed tar of `entries`, in order. */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    archive.on('data', (c: unknown) => chunks.push(c as Buffer));
    archive.on('end', () => resolve());
    archive.on('error', reject);
  });
  for (const { body, ...header } of entries) {
    const data = body === undefined ? undefined : Buffer.from(body);
    await new Promise<void>((resolve, reject) => {
      const sink = data
        ? archive.entry({ mtime: new Date(1_700_000_000_000), ...header, size: data.length }, data)
        : archive.entry({ mtime: new Date(1_700_000_000_000), ...header });
      sink.on('error', reject);
      if (data) resolve();
      else sink.end(() => resolve());
    });
  }
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function compress(tar: Buffer, how: Compression): Buffer {
  switch (how) {
    case 'gzip':
      return gzipSync(tar);
    case 'zstd': {
      const r = spawnSync('zstd', ['-c', '-q'], { input: tar, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
      return r.stdout;
    }
    case 'none':
      return tar;
  }
}

const MEDIA_TYPES: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface TestImage extends ResolvedImage {
  /** How many times each layer was opened. */
  opened: Map<string, number>;
}

/** A ResolvedImage whose layers are these blobs (bottom first). */
export function imageOf(blobs: Buffer[], compression: Compression = 'gzip'): TestImage {
  const byDigest = new Map<string, Buffer>();
  const layers: ImageLayer[] = blobs.map((b) => {
    const digest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    byDigest.set(digest, b);
    return { digest, mediaType: MEDIA_TYPES[compression], size: b.length };
  });
  const opened = new Map<string, number>();
  return {
    reference: 'test/layers:latest',
    account: '000000000000',
    region: 'us-east-1',
    repository: 'test/layers',
    manifestDigest: `sha256:${'0'.repeat(64)}`,
    config: {},
    layers,
    pull: { reference: '', username: '', password: '' },
    opened,
    async openLayer(digest) {
      const blob = byDigest.get(digest);
      if (!blob) throw new Error(`no layer ${digest}`);
      opened.set(digest, (opened.get(digest) ?? 0) + 1);
      // Small chunks, as a blob store stream gives them.
      const chunks: Buffer[] = [];
      for (let at = 0; at < blob.length; at += 65536) chunks.push(blob.subarray(at, at + 65536));
      return Readable.from(chunks);
    },
  };
}
