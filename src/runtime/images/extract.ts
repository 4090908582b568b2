/**
 * Hardened extraction of one image layer (an uncompressed tar stream, parsed by tar-stream)
 * into an empty directory that only this code writes to. Because the directory starts
 * empty, what this layer has created so far (`Tree`) is the whole truth about it: every
 * parent directory of an entry is checked against that record, never against the disk,
 * and nothing is ever opened or created through a symlink.
 *
 * Per case, what happens (test/image-layers-hostile.test.ts builds each one):
 * - absolute names (`/etc/passwd`): taken relative to the layer root, as Docker does;
 * - a `..` component anywhere, in a name, a hardlink target or a whiteout: layer refused;
 * - an entry below a symlink of this layer (`link -> /etc`, then `link/passwd`), or below
 *   a file: layer refused (a real file system cannot produce such a tar);
 * - a hardlink to anything but a file or symlink created earlier in this layer: refused;
 * - character and block devices, FIFOs: skipped and listed in the layer's metadata
 *   (Stratus may run rootless later, and runc gives containers their own /dev);
 * - a later entry of the same name replaces the earlier one (a file by a directory and
 *   vice versa), as tar does; symlink targets are kept as they are: they are only ever
 *   resolved inside the container;
 * - OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`) become metadata (LayerMeta), never files:
 *   the rootfs assembly turns them into overlay whiteouts or applies them when copying;
 *   other `.wh..wh.` names (AUFS bookkeeping) are dropped, as Docker drops them;
 * - ownership is kept (lchown) when running as root; permission bits including setuid,
 *   setgid and sticky are kept, which is why the cache directory is private (0700):
 *   no host user can reach a setuid file in it; modification times are kept (directories'
 *   at the end, once their entries are written);
 * - a tar that ends right after its last entry's content, without padding and the
 *   end-of-archive blocks, is taken as complete (GNU tar extracts it too); one cut inside
 *   an entry's content is an error.
 * https://github.com/opencontainers/image-spec/blob/main/layer.md
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { extract as tarExtract, type Header } from 'tar-stream';
import { READ_AHEAD } from './decompress.js';

/** What a layer says beyond its files. */
export interface LayerMeta {
  /** Paths (relative, `/`-separated) this layer deletes from the layers below. */
  whiteouts: string[];
  /** Directories whose lower contents this layer hides (`.wh..wh..opq`); `''` is the root. */
  opaque: string[];
  /** Entries not extracted, and why (device nodes). */
  skipped: { path: string; type: string }[];
  /** Bytes of file content written. */
  bytes: number;
  files: number;
}

/** A layer that tries to write outside its directory, or cannot be represented. */
export class LayerRefusedError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`layer refused: ${JSON.stringify(path.slice(0, 300))}: ${reason}`);
    this.name = 'LayerRefusedError';
  }
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

type Kind = 'dir' | 'file' | 'symlink';

interface DirAttrs {
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
}

const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Splits a tar name into components: leading `/`, `.` and empty components dropped; a `..`
 * anywhere refuses the layer. `''` is the layer root.
 */
export function cleanPath(name: string, what = 'name'): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new LayerRefusedError(name, `a ${what} with a '..' component`);
    parts.push(part);
  }
  return parts.join('/');
}

const parentOf = (path: string): string => {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
};

/** What this layer's extraction has created, by relative path. */
class Tree {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  readonly dirAttrs = new Map<string, DirAttrs>();

  constructor(private readonly root: string) {}

  abs(path: string): string {
    return path === '' ? this.root : `${this.root}/${path}`;
  }

  kind(path: string): Kind | undefined {
    return this.kinds.get(path);
  }

  /** Makes sure every ancestor of `path` is a directory of this layer (created 0755). */
  parents(path: string, original: string): void {
    const parent = parentOf(path);
    const kind = this.kinds.get(parent);
    if (kind === 'dir') return;
    if (kind === 'symlink') {
      throw new LayerRefusedError(original, `its parent '${parent}' is a symlink of the layer`);
    }
    if (kind === 'file') {
      throw new LayerRefusedError(original, `its parent '${parent}' is not a directory`);
    }
    this.parents(parent, original);
    mkdirSync(this.abs(parent), 0o755);
    this.kinds.set(parent, 'dir');
  }

  /** Removes whatever this layer has at `path` (a directory with everything below it). */
  remove(path: string): void {
    const kind = this.kinds.get(path);
    if (kind === undefined) return;
    if (kind === 'dir') {
      rmSync(this.abs(path), { recursive: true, force: true });
      const prefix = `${path}/`;
      for (const key of [...this.kinds.keys()]) {
        if (key.startsWith(prefix)) this.kinds.delete(key);
      }
      for (const key of [...this.dirAttrs.keys()]) {
        if (key === path || key.startsWith(prefix)) this.dirAttrs.delete(key);
      }
    } else {
      unlinkSync(this.abs(path));
    }
    this.kinds.delete(path);
  }

  set(path: string, kind: Kind): void {
    this.kinds.set(path, kind);
  }
}

export interface ExtractOptions {
  /** Apply the tar's owners (needs root); otherwise files belong to the extracting user. */
  chown: boolean;
}

/** Extracts the tar stream `source` into `dir` (an existing, empty directory). */
export async function extractLayer(
  source: Readable,
  dir: string,
  opts: ExtractOptions,
): Promise<LayerMeta> {
  const tree = new Tree(dir);
  // The layer root is the container's `/`: root's and 0755 unless the tar says otherwise
  // (many layers have no `./` entry; the directory itself was made private).
  tree.dirAttrs.set('', { mode: 0o755, uid: 0, gid: 0 });
  const meta: LayerMeta = { whiteouts: [], opaque: [], skipped: [], bytes: 0, files: 0 };
  const whiteouts = new Set<string>();
  const opaque = new Set<string>();
  const umask = process.umask();
  const parser = tarExtract({ highWaterMark: READ_AHEAD });
  // Entries are handled in tar-stream's callbacks with synchronous calls: no promise or
  // thread-pool round trip per entry (the event loop is the worker thread's, unpack.ts).
  await new Promise<void>((resolve, reject) => {
    // Whether the last entry was read whole: a tar that stops right after it, without the
    // padding and end-of-archive blocks (umoci writes such layers), is complete enough.
    let whole = true;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      source.unpipe(parser);
      source.destroy();
      parser.destroy();
      reject(translate(err));
    };
    const done = () => {
      whole = true;
    };
    parser.on('entry', (header, stream, next) => {
      whole = false;
      try {
        const path = cleanPath(header.name);
        const base = path.slice(path.lastIndexOf('/') + 1);
        if (base.startsWith(WHITEOUT_PREFIX)) {
          whiteoutEntry(tree, path, base, header.name, whiteouts, opaque);
        } else if (header.type === 'file' || header.type === 'contiguous-file') {
          meta.files++;
          const writer = fileWriter(tree, path, header, opts, umask);
          stream.on('data', (data: unknown) => {
            const chunk = data as Buffer;
            try {
              writer.write(chunk);
            } catch (err) {
              writer.abort();
              stream.destroy();
              fail(err);
            }
          });
          stream.on('error', (err) => {
            writer.abort();
            fail(err);
          });
          stream.on('end', () => {
            try {
              meta.bytes += writer.end();
            } catch (err) {
              fail(err);
              return;
            }
            done();
            next();
          });
          return;
        } else {
          other(tree, path, header, opts, meta);
        }
      } catch (err) {
        stream.resume();
        fail(err);
        return;
      }
      stream.on('end', () => {
        done();
        next();
      });
      stream.resume();
    });
    parser.on('finish', () => resolve());
    parser.on('error', (err: Error) => {
      if (whole && err.message === 'Unexpected end of data') resolve();
      else fail(err);
    });
    source.on('error', fail);
    source.pipe(parser);
  });
  // Directories last: writing their entries changed their times, and a read-only mode
  // would have stopped a non-root extraction from writing into them.
  for (const [path, attrs] of tree.dirAttrs) {
    if (tree.kind(path) !== 'dir') continue;
    const abs = tree.abs(path);
    if (opts.chown) lchownSync(abs, attrs.uid, attrs.gid);
    chmodSync(abs, attrs.mode);
    if (attrs.mtime) lutimesSync(abs, attrs.mtime, attrs.mtime);
  }
  // A whiteout of something the layer itself holds does not hide it (image-spec: whiteouts
  // apply to lower layers only); overlayfs could not hold both anyway.
  // One whose directory a later entry replaced by a file or symlink is moot (that entry
  // hides the lower directory) and must not be created through it.
  meta.whiteouts = [...whiteouts]
    .filter((p) => tree.kind(p) === undefined && tree.kind(parentOf(p)) === 'dir')
    .sort();
  meta.opaque = [...opaque].filter((p) => tree.kind(p) === 'dir').sort();
  return meta;
}

function translate(err: unknown): unknown {
  if (err instanceof LayerRefusedError) return err;
  const code = (err as { code?: unknown }).code;
  const path = (err as { path?: unknown }).path;
  if (code === 'ENAMETOOLONG' || code === 'ELOOP' || code === 'ENOTDIR') {
    return new LayerRefusedError(typeof path === 'string' ? path : '', String(code));
  }
  return err;
}

/** Clears the way for a new entry at `path`: parents made, an earlier entry removed. */
function replace(tree: Tree, path: string, original: string): void {
  if (path === '') throw new LayerRefusedError(original, 'the layer root is not a directory');
  tree.parents(path, original);
  tree.remove(path);
}

function directory(tree: Tree, path: string, header: Header): void {
  if (tree.kind(path) !== 'dir') {
    replace(tree, path, header.name);
    mkdirSync(tree.abs(path), 0o700);
    tree.set(path, 'dir');
  }
  tree.dirAttrs.set(path, {
    mode: (header.mode ?? 0o755) & 0o7777,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    mtime: header.mtime ?? new Date(0),
  });
}

interface FileWriter {
  write(chunk: Buffer): void;
  /** Sets owner, mode and times, closes; resolves the bytes written. */
  end(): number;
  abort(): void;
}

/** root creating a file makes it root's: only other owners need a chown. */
const isRoot = process.geteuid?.() === 0 && process.getegid?.() === 0;

function fileWriter(
  tree: Tree,
  path: string,
  header: Header,
  opts: ExtractOptions,
  umask: number,
): FileWriter {
  replace(tree, path, header.name);
  const mode = (header.mode ?? 0o644) & 0o7777;
  const fd = openSync(tree.abs(path), CREATE_FLAGS, mode & 0o777);
  tree.set(path, 'file');
  let written = 0;
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write(chunk) {
      let at = 0;
      while (at < chunk.length) at += writeSync(fd, chunk, at, chunk.length - at);
      written += chunk.length;
    },
    end() {
      try {
        const uid = header.uid ?? 0;
        const gid = header.gid ?? 0;
        if (opts.chown && (!isRoot || uid !== 0 || gid !== 0)) fchownSync(fd, uid, gid);
        // open() masks with the umask and never sets setuid/setgid/sticky; chown clears them.
        if ((mode & umask) !== 0 || mode > 0o777) fchmodSync(fd, mode);
        if (header.mtime) futimesSync(fd, header.mtime, header.mtime);
      } finally {
        close();
      }
      return written;
    },
    abort: close,
  };
}

function whiteoutEntry(
  tree: Tree,
  path: string,
  base: string,
  original: string,
  whiteouts: Set<string>,
  opaque: Set<string>,
): void {
  const parent = parentOf(path);
  if (base === OPAQUE_MARKER) {
    if (parent !== '') tree.parents(path, original);
    opaque.add(parent);
  } else if (!base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') {
      throw new LayerRefusedError(original, 'a whiteout naming no file of its directory');
    }
    tree.parents(path, original);
    whiteouts.add(parent === '' ? name : `${parent}/${name}`);
  }
}

/** Every entry without content: directories, links, devices. */
function other(tree: Tree, path: string, header: Header, opts: ExtractOptions, meta: LayerMeta) {
  switch (header.type) {
    case 'directory':
      directory(tree, path, header);
      break;
    case 'symlink': {
      replace(tree, path, header.name);
      symlinkSync(header.linkname ?? '', tree.abs(path));
      tree.set(path, 'symlink');
      const uid = header.uid ?? 0;
      const gid = header.gid ?? 0;
      if (opts.chown && (!isRoot || uid !== 0 || gid !== 0)) lchownSync(tree.abs(path), uid, gid);
      if (header.mtime) lutimesSync(tree.abs(path), header.mtime, header.mtime);
      break;
    }
    case 'link':
      hardlink(tree, path, header);
      break;
    default:
      // Devices, FIFOs and anything unknown.
      meta.skipped.push({ path, type: header.type ?? 'unknown' });
  }
}

function hardlink(tree: Tree, path: string, header: Header): void {
  const target = cleanPath(header.linkname ?? '', 'hardlink target');
  if (target === path) return;
  const kind = tree.kind(target);
  if (kind !== 'file' && kind !== 'symlink') {
    throw new LayerRefusedError(
      header.name,
      `a hardlink to '${target}', which is not a file of this layer`,
    );
  }
  replace(tree, path, header.name);
  // link(2) does not follow a symlink target: the new name is the symlink itself.
  linkSync(tree.abs(target), tree.abs(path));
  tree.set(path, kind);
}
