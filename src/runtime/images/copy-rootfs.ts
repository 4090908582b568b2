/**
 * The rootfs assembly where overlayfs is not available: the layers copied bottom to top
 * into one directory, with OCI whiteout semantics applied on the way (a layer's whiteouts
 * and opaque directories remove what the layers below put there, then its own entries
 * are copied). Exactly what the overlay shows, including a directory replacing a file or
 * symlink of a lower layer and vice versa.
 *
 * Every path written is below a directory this code has checked with lstat to be a real
 * directory (a lower layer's symlink in the way is replaced, as overlayfs would show it),
 * so nothing is ever written through a symlink. Hardlinks within a layer stay hardlinks.
 */
import type { Dirent, Stats } from 'node:fs';
import {
  chmod,
  copyFile,
  constants,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  rm,
  symlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerMeta } from './extract.js';

export interface CopyLayer {
  root: string;
  meta: Pick<LayerMeta, 'whiteouts' | 'opaque'>;
}

/** Copies `layers` (bottom first) into the empty directory `target`. */
export async function copyRootfs(layers: CopyLayer[], target: string): Promise<void> {
  const chown = process.getuid?.() === 0;
  for (const layer of layers) {
    const whiteouts = new Map<string, string[]>();
    for (const path of layer.meta.whiteouts) {
      const slash = path.lastIndexOf('/');
      const dir = slash < 0 ? '' : path.slice(0, slash);
      whiteouts.set(dir, [...(whiteouts.get(dir) ?? []), path.slice(slash + 1)]);
    }
    const ctx: MergeContext = {
      whiteouts,
      opaque: new Set(layer.meta.opaque),
      chown,
      links: new Map(),
    };
    await merge(ctx, layer.root, target, '');
    await copyAttrs(await lstat(layer.root), target, chown);
  }
}

interface MergeContext {
  whiteouts: Map<string, string[]>;
  opaque: Set<string>;
  chown: boolean;
  /** Inode of a multiply-linked file of this layer → where it was copied to. */
  links: Map<number, string>;
}

async function merge(ctx: MergeContext, src: string, dst: string, rel: string): Promise<void> {
  if (ctx.opaque.has(rel)) {
    for (const name of await readdir(dst)) await rm(join(dst, name), { recursive: true });
  }
  for (const name of ctx.whiteouts.get(rel) ?? []) {
    await rm(join(dst, name), { recursive: true, force: true });
  }
  const entries: Dirent[] = await readdir(src, { withFileTypes: true });
  for (const entry of entries) {
    const from = join(src, entry.name);
    const to = join(dst, entry.name);
    const st = await lstat(from);
    if (st.isCharacterDevice() && st.rdev === 0) {
      // An overlay whiteout (the layer was prepared for overlayfs).
      await rm(to, { recursive: true, force: true });
      continue;
    }
    const existing = await lstat(to).catch(() => undefined);
    if (st.isDirectory()) {
      if (!existing?.isDirectory()) {
        if (existing) await rm(to, { recursive: true });
        await mkdir(to, { mode: 0o700 });
      }
      await merge(ctx, from, to, rel === '' ? entry.name : `${rel}/${entry.name}`);
      await copyAttrs(st, to, ctx.chown);
      continue;
    }
    if (existing) await rm(to, { recursive: true });
    if (st.isFile()) {
      const linked = st.nlink > 1 ? ctx.links.get(st.ino) : undefined;
      if (linked !== undefined) {
        await link(linked, to);
        continue;
      }
      await copyFile(from, to, constants.COPYFILE_FICLONE);
      if (st.nlink > 1) ctx.links.set(st.ino, to);
      await copyAttrs(st, to, ctx.chown);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(from), to);
      if (ctx.chown) await lchown(to, st.uid, st.gid);
      await lutimes(to, st.atime, st.mtime);
    }
    // Nothing else is ever in a cached layer (extraction skips devices).
  }
}

async function copyAttrs(st: Stats, path: string, chown: boolean): Promise<void> {
  if (chown) await lchown(path, st.uid, st.gid);
  await chmod(path, st.mode & 0o7777);
  await lutimes(path, st.atime, st.mtime);
}
