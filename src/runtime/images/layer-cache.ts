/**
 * The layer cache and rootfs assembly of the runc driver.
 *
 * Each layer is unpacked once, by digest, into `<dir>/sha256/<hex>/root` with its
 * metadata (whiteouts, opaque directories, skipped entries) in `meta.json` beside it. An
 * unpack goes to `<dir>/tmp/` first and is renamed into place when complete, so a crash
 * leaves either nothing or a whole layer (leftovers in tmp/ are removed on first use);
 * containers starting from the same image at once share one unpack (one promise per
 * digest). `dir` is made private (0700): cached layers keep their setuid files.
 *
 * A rootfs is an overlayfs mount (the cached layers as lower directories, a writable
 * upper and work directory per container) or, where overlayfs is not available (not
 * root, no kernel support, a state directory on a file system overlayfs refuses), a copy
 * of the layers with the whiteouts applied (copy-rootfs.ts). Whether overlayfs works is
 * probed once; layers unpacked for overlayfs carry their whiteouts as overlay whiteouts.
 *
 * Collection: every prepared rootfs holds a reference on its layers until release(); the
 * owner calls collect(keep) to delete the layers no live rootfs uses and that are not in
 * `keep` (the layers of images it wants to keep warm), or collectIdle(idleMs) to delete
 * those unused for that long; the server's container layer (runtime/select.ts) runs
 * collectIdle on a timer. A layer dropped too early is only unpacked again.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageLayer, ResolvedImage } from '../container.js';
import { copyRootfs } from './copy-rootfs.js';
import { LayerRefusedError, type LayerMeta } from './extract.js';
import { materializeWhiteouts, mountOverlay, probeOverlay, unmount } from './overlay.js';
import { unpackLayer } from './unpack.js';

export interface CachedLayer {
  digest: string;
  /** The layer's files. */
  root: string;
  meta: StoredMeta;
}

interface StoredMeta extends LayerMeta {
  /** Whiteouts also exist as overlay whiteouts in root/. */
  overlay: boolean;
}

export interface PreparedRootfs {
  path: string;
  /** overlay: a mount over the cached layers; copy: a private copy. */
  mode: 'overlay' | 'copy';
  /** Unmounts and removes the writable layer; drops the references on the layers. */
  release(): Promise<void>;
}

/** What overlayLayers hands a runtime that mounts the overlay itself. */
export interface OverlayLayers {
  /** Layer roots, top first (overlayfs' lowerdir order). */
  lower: string[];
  upper: string;
  work: string;
  /** The empty directory the overlay is mounted on. */
  rootfs: string;
  /** Removes upper/work/rootfs (never mounted on the host); drops the layer references. */
  release(): Promise<void>;
}

/** One page holds the whole mount option string; leave room for upperdir/workdir. */
const OPTIONS_BUDGET = 3800;

export interface LayerCacheOptions {
  /** `auto` probes overlayfs; `copy` never mounts (tests, unusual file systems). */
  mode?: 'auto' | 'copy';
}

const HEX = /^[0-9a-f]{64}$/;

export class LayerCache {
  private readonly layersDir: string;
  private readonly tmpDir: string;
  private ready: Promise<boolean> | undefined;
  private readonly unpacking = new Map<string, Promise<CachedLayer>>();
  private readonly refs = new Map<string, number>();
  /** Date.now() a layer was last held or let go by a rootfs (collectIdle's clock). */
  private readonly lastUsed = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly opts: LayerCacheOptions = {},
  ) {
    this.layersDir = join(dir, 'sha256');
    this.tmpDir = join(dir, 'tmp');
  }

  /** Whether rootfs are overlay mounts here (probes once; also prepares the directory). */
  overlay(): Promise<boolean> {
    this.ready ??= (async () => {
      await mkdir(this.layersDir, { recursive: true });
      await chmod(this.dir, 0o700);
      await rm(this.tmpDir, { recursive: true, force: true });
      await mkdir(this.tmpDir, { recursive: true });
      if (this.opts.mode === 'copy' || !(await probeOverlay(this.tmpDir))) return false;
      await makeMountpoints(join(this.dir, 'mountpoints'));
      return true;
    })();
    return this.ready;
  }

  /** The top lower layer of every overlay: the mount points runc needs (see MOUNTPOINTS). */
  private get mountpointsDir(): string {
    return join(this.dir, 'mountpoints', 'root');
  }

  /** The layer unpacked in the cache (unpacking it first if needed). */
  async layer(image: ResolvedImage, layer: ImageLayer): Promise<CachedLayer> {
    const hex = hexOf(layer.digest);
    const overlay = await this.overlay();
    const done = this.read(layer.digest);
    if (done) return done;
    let pending = this.unpacking.get(layer.digest);
    if (!pending) {
      pending = this.unpack(image, layer, hex, overlay).finally(() =>
        this.unpacking.delete(layer.digest),
      );
      this.unpacking.set(layer.digest, pending);
    }
    return pending;
  }

  private read(digest: string): CachedLayer | undefined {
    const base = join(this.layersDir, hexOf(digest));
    if (!existsSync(join(base, 'meta.json'))) return undefined;
    const meta = JSON.parse(readFileSync(join(base, 'meta.json'), 'utf8')) as StoredMeta;
    return { digest, root: join(base, 'root'), meta };
  }

  private async unpack(
    image: ResolvedImage,
    layer: ImageLayer,
    hex: string,
    overlay: boolean,
  ): Promise<CachedLayer> {
    const work = join(this.tmpDir, `${hex}-${randomBytes(6).toString('hex')}`);
    const root = join(work, 'root');
    mkdirSync(root, { recursive: true, mode: 0o700 });
    try {
      const source = await image.openLayer(layer.digest);
      let meta: LayerMeta;
      try {
        meta = await unpackLayer(source, root, {
          chown: process.getuid?.() === 0,
          size: layer.size,
        });
      } catch (err) {
        if (err instanceof LayerRefusedError) {
          throw new LayerRefusedError(err.path, `${err.reason} (layer ${layer.digest})`);
        }
        throw err;
      }
      if (overlay) await materializeWhiteouts(root, meta);
      const stored: StoredMeta = { ...meta, overlay };
      writeFileSync(join(work, 'meta.json'), JSON.stringify(stored));
      const base = join(this.layersDir, hex);
      try {
        renameSync(work, base);
      } catch (err) {
        // Someone else's unpack of the same layer landed first: theirs is as good.
        const code = (err as { code?: unknown }).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      return { digest: layer.digest, root: join(base, 'root'), meta: stored };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Holds `digests` against collection; the returned function (idempotent) lets go. */
  private reference(digests: readonly string[]): () => void {
    const now = Date.now();
    for (const d of digests) {
      this.refs.set(d, (this.refs.get(d) ?? 0) + 1);
      this.lastUsed.set(d, now);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const at = Date.now();
      for (const d of digests) {
        this.lastUsed.set(d, at);
        const n = (this.refs.get(d) ?? 1) - 1;
        if (n > 0) this.refs.set(d, n);
        else this.refs.delete(d);
      }
    };
  }

  /**
   * Assembles the image's root file system under `containerDir` (`rootfs/`, plus
   * `upper/`, `work/` and `lower/` for an overlay). Rejects with LayerRefusedError for a
   * hostile layer, with ImageNotFoundError when a layer's blob is gone.
   */
  async prepareRootfs(image: ResolvedImage, containerDir: string): Promise<PreparedRootfs> {
    const digests = image.layers.map((l) => l.digest);
    const unref = this.reference(digests);
    const path = join(containerDir, 'rootfs');
    try {
      const overlay = await this.overlay();
      const layers = await limited(image.layers, 2, (l) => this.layer(image, l));
      // A layer unpacked before overlayfs worked has no overlay whiteouts: copy then.
      const mode =
        overlay &&
        layers.length > 0 &&
        layers.every(
          (l) => l.meta.overlay || (l.meta.whiteouts.length === 0 && l.meta.opaque.length === 0),
        )
          ? 'overlay'
          : 'copy';
      await mkdir(containerDir, { recursive: true });
      if (mode === 'overlay') {
        await mountOverlay({
          lower: layers.map((l) => l.root).reverse(),
          links: join(containerDir, 'lower'),
          upper: join(containerDir, 'upper'),
          work: join(containerDir, 'work'),
          target: path,
        });
      } else {
        await mkdir(path, { recursive: true });
        await copyRootfs(layers, path);
      }
      return {
        path,
        mode,
        release: async () => {
          await LayerCache.discard(containerDir);
          unref();
        },
      };
    } catch (err) {
      await LayerCache.discard(containerDir).catch(() => undefined);
      unref();
      throw err;
    }
  }

  /**
   * The overlay for a runtime that mounts it itself: runc mounts it at the container's
   * `/` inside the container's own mount namespace, so the host never holds the mount, no
   * `mount`/`umount` process runs per container and a crash leaves no mount behind.
   * Returns the layer roots (top first) and empty `upper/`, `work/`, `rootfs/` under
   * `containerDir`; undefined where prepareRootfs must do it (no overlayfs, a layer
   * without overlay whiteouts, or a lowerdir list too long for one mount option page).
   */
  async overlayLayers(
    image: ResolvedImage,
    containerDir: string,
  ): Promise<OverlayLayers | undefined> {
    if (!(await this.overlay()) || image.layers.length === 0) return undefined;
    const digests = image.layers.map((l) => l.digest);
    const unref = this.reference(digests);
    try {
      const layers = await limited(image.layers, 2, (l) => this.layer(image, l));
      const lower = [this.mountpointsDir, ...layers.map((l) => l.root).reverse()];
      const usable =
        layers.every(
          (l) => l.meta.overlay || (l.meta.whiteouts.length === 0 && l.meta.opaque.length === 0),
        ) && lower.join(':').length + 2 * containerDir.length < OPTIONS_BUDGET;
      if (!usable) {
        unref();
        return undefined;
      }
      const upper = join(containerDir, 'upper');
      const work = join(containerDir, 'work');
      const rootfs = join(containerDir, 'rootfs');
      for (const d of [upper, work, rootfs]) await mkdir(d, { recursive: true });
      return {
        lower,
        upper,
        work,
        rootfs,
        release: async () => {
          for (const d of [upper, work, rootfs]) await rm(d, { recursive: true, force: true });
          unref();
        },
      };
    } catch (err) {
      unref();
      throw err;
    }
  }

  /**
   * Removes what prepareRootfs made under `containerDir` (unmounting it): release() does
   * this; a driver calls it for a container left over by a crashed Stratus.
   */
  static async discard(containerDir: string): Promise<void> {
    const path = join(containerDir, 'rootfs');
    if (existsSync(join(containerDir, 'work'))) await unmount(path);
    for (const name of ['rootfs', 'upper', 'work', 'lower']) {
      await rm(join(containerDir, name), { recursive: true, force: true });
    }
  }

  /**
   * Deletes every cached layer that no live rootfs uses and whose digest is not in
   * `keep`; resolves the digests removed. Each goes by a rename into tmp/ first, so a
   * concurrent reader sees the whole layer or none.
   */
  async collect(keep: Iterable<string>): Promise<string[]> {
    await this.overlay();
    const kept = new Set(keep);
    const removed: string[] = [];
    for (const hex of await readdir(this.layersDir)) {
      const digest = `sha256:${hex}`;
      if (!HEX.test(hex) || kept.has(digest) || this.refs.has(digest)) continue;
      if (this.unpacking.has(digest)) continue;
      const doomed = join(this.tmpDir, `${hex}-gc-${randomBytes(6).toString('hex')}`);
      await rename(join(this.layersDir, hex), doomed);
      await rm(doomed, { recursive: true, force: true });
      removed.push(digest);
    }
    return removed;
  }

  /**
   * Collects the layers no live rootfs has used for `idleMs`: in this process, since their
   * last use; unused since this process started, since they were unpacked (the layer
   * directory's time, set when it was renamed into place).
   */
  async collectIdle(idleMs: number, now = Date.now()): Promise<string[]> {
    await this.overlay();
    const keep: string[] = [];
    for (const hex of await readdir(this.layersDir)) {
      const digest = `sha256:${hex}`;
      const used =
        this.lastUsed.get(digest) ??
        (await stat(join(this.layersDir, hex)).then(
          (s) => s.mtimeMs,
          () => now,
        ));
      if (now - used < idleMs) keep.push(digest);
    }
    const removed = await this.collect(keep);
    for (const d of removed) this.lastUsed.delete(d);
    return removed;
  }

  /** Digests in the cache (for tests and diagnostics). */
  async cached(): Promise<string[]> {
    await this.overlay();
    return (await readdir(this.layersDir)).filter((h) => HEX.test(h)).map((h) => `sha256:${h}`);
  }
}

/**
 * The mount points of every container (runc's /proc, /dev, /sys and the bind-mounted
 * /etc files), made once as the top lower layer of every overlay. Without them runc
 * creates each in the container's fresh upper directory (a copy-up of / and /etc per
 * start), which made a start from a cached image ~1.7× a raw runc run of the same bundle.
 * Directories merge with the image's; the image's own /etc files stay under these empty
 * ones only where a bind mount covers them anyway. / and /etc are 0755 root, as images
 * have them (the top layer's attributes win for a merged directory).
 */
const MOUNTPOINTS = {
  dirs: ['proc', 'dev', 'sys', 'etc'],
  files: ['etc/hosts', 'etc/resolv.conf', 'etc/hostname'],
};

async function makeMountpoints(dir: string): Promise<void> {
  if (existsSync(join(dir, 'done'))) return;
  const work = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
  const root = join(work, 'root');
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755);
  for (const d of MOUNTPOINTS.dirs) await mkdir(join(root, d), { mode: 0o755 });
  for (const f of MOUNTPOINTS.files) writeFileSync(join(root, f), '', { mode: 0o644 });
  writeFileSync(join(work, 'done'), '');
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir).catch(async (err: unknown) => {
    await rm(work, { recursive: true, force: true });
    if (!existsSync(join(dir, 'done'))) throw err;
  });
}

function hexOf(digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : '';
  if (!HEX.test(hex)) throw new Error(`not a sha256 digest: ${JSON.stringify(digest)}`);
  return hex;
}

/** Maps with at most `n` calls in flight; results in input order. */
async function limited<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(runners);
  return results;
}
