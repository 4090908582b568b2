/**
 * The build cache: content-addressed blobs (gzipped layers, configs, manifests) and, per
 * step and per image, a small record keyed by the hash of everything that went into it
 * (Debian suite + package list, npm package versions, the bootstrap's bytes). A step whose
 * key has a record is not run again; a record whose blob is gone counts as a miss.
 *
 *   <dir>/blobs/sha256/<hex>
 *   <dir>/steps/<key>.json     a LayerRecord
 *   <dir>/images/<key>.json    a BuiltImageRecord
 *
 * Every file is written to a temp name and renamed, so an interrupted build leaves no
 * half-written entry; leftover temp files are swept at open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface LayerRecord {
  /** sha256 of the gzipped tar: the manifest's layer digest. */
  digest: string;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffId: string;
  /** Bytes of the gzipped tar. */
  size: number;
  mediaType: string;
  /** Shown in the image history and progress (`Node.js v20.20.2`). */
  description: string;
  /** Facts the step found out (e.g. the interpreter version it installed). */
  facts?: Record<string, string>;
}

export interface BuiltImageRecord {
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  layers: LayerRecord[];
  /** Labels of the image config (interpreter version, recipe hash). */
  labels: Record<string, string>;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATUS_IMAGE_CACHE) return env.STRATUS_IMAGE_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'stratus', 'images');
}

/** sha256 of a JSON value with sorted keys: the cache key of a step's inputs. */
export function hashKey(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const TEMP_MARK = '.tmp-';
/** Temp files older than this belong to a build that is gone. */
const STALE_MS = 6 * 3600 * 1000;

export class BuildCache {
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<BuildCache> {
    for (const sub of ['blobs/sha256', 'steps', 'images', 'work']) {
      await mkdir(join(dir, sub), { recursive: true });
    }
    const cache = new BuildCache(dir);
    await cache.sweep();
    return cache;
  }

  /**
   * Removes temp files and work directories an interrupted build left: only old ones, as
   * another build may be using the same cache right now.
   */
  private async sweep(): Promise<void> {
    const before = Date.now() - STALE_MS;
    const old = (path: string) =>
      stat(path).then(
        (s) => s.mtimeMs < before,
        () => false,
      );
    for (const sub of ['blobs/sha256', 'steps', 'images']) {
      for (const name of await readdir(join(this.dir, sub))) {
        const path = join(this.dir, sub, name);
        if (name.includes(TEMP_MARK) && (await old(path))) await rm(path, { force: true });
      }
    }
    for (const name of await readdir(join(this.dir, 'work'))) {
      const path = join(this.dir, 'work', name);
      if (await old(path)) await rm(path, { recursive: true, force: true });
    }
  }

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  }

  /** A fresh temp path next to the blobs (same filesystem, so rename is atomic). */
  tempBlobPath(): string {
    return join(this.dir, 'blobs', 'sha256', `${TEMP_MARK}${randomBytes(8).toString('hex')}`);
  }

  /** A scratch directory for one step, removed by the caller (or swept at next open). */
  async workDir(label: string): Promise<string> {
    const dir = join(this.dir, 'work', `${label}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async putBlob(data: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (!(await this.hasBlob(digest))) await this.atomicWrite(this.blobPath(digest), data);
    return digest;
  }

  readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  async getStep(key: string): Promise<LayerRecord | undefined> {
    const record = await this.readRecord<LayerRecord>('steps', key);
    return record && (await this.hasBlob(record.digest)) ? record : undefined;
  }

  putStep(key: string, record: LayerRecord): Promise<void> {
    return this.atomicWrite(join(this.dir, 'steps', `${key}.json`), JSON.stringify(record));
  }

  async getImage(key: string): Promise<BuiltImageRecord | undefined> {
    const record = await this.readRecord<BuiltImageRecord>('images', key);
    if (!record) return undefined;
    for (const d of [
      record.manifestDigest,
      record.configDigest,
      ...record.layers.map((l) => l.digest),
    ]) {
      if (!(await this.hasBlob(d))) return undefined;
    }
    return record;
  }

  putImage(key: string, record: BuiltImageRecord): Promise<void> {
    return this.atomicWrite(join(this.dir, 'images', `${key}.json`), JSON.stringify(record));
  }

  private async readRecord<T>(sub: string, key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, sub, `${key}.json`), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private async atomicWrite(path: string, data: Buffer | string): Promise<void> {
    const tmp = `${path}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }
}
