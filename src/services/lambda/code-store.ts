/**
 * Deployment packages: the zip lives in the content-addressed BlobStore (digest = the sha256
 * Lambda reports, hex there, base64 as CodeSha256) and is extracted once per sha to
 * `<root>/<sha>` (root: `<stateDir>/lambda/code`, or a temporary directory when the state
 * is ephemeral). Extraction goes to a temporary sibling that is renamed into place, so a
 * directory under its final name is always complete; after a restart or a wiped temporary
 * directory it is extracted again from the blob on first use.
 *
 * A zip shared by several versions, functions or layers is stored and extracted once;
 * `lambda_code_refs` counts its users, and the last one gone deletes blob and directory.
 * One in-process lock per sha orders "store and reference" against "collect", so a zip
 * being referenced by a transaction in flight is never collected under it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyedMutex } from '../../shared/keyed-mutex.js';
import { NO_SUCH_KEY, s3ErrorResponse } from '../../shared/s3-errors.js';
import { PresignedTokens } from '../../shared/signed-token.js';
import { isProcessRunning } from '../../storage/state-lock.js';
import type { BlobStore } from '../../storage/types.js';
import { requestTooLarge } from './errors.js';
import type { CodeRef } from './store.js';
import { MAX_ZIPPED_BYTES, extractZip, listEntries } from './zip.js';

/** AWS's presigned code URLs are valid for 10 minutes. */
export const CODE_URL_TTL_SECONDS = 600;
export const CODE_URL_PREFIX = '/_stratus/lambda/code/';

export interface Lease {
  code: CodeRef;
  /** Call once the transaction referencing the code committed (or failed). */
  release(): void;
}

export interface DownloadResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export const digestOf = (sha: string): string => `sha256:${sha}`;
/** CodeSha256 as Lambda reports it: the base64 sha256 of the zip. */
export const codeSha256 = (sha: string): string => Buffer.from(sha, 'hex').toString('base64');

export class CodeStore {
  private readonly locks = new KeyedMutex();
  private readonly extracted = new Set<string>();
  private readonly extracting = new Map<string, Promise<string>>();
  /** Signed with a key of this process: URLs do not outlive it, as AWS's expire in 10 minutes. */
  private readonly urls = new PresignedTokens(
    (
      (key) => async () =>
        key
    )(randomBytes(32)),
  );
  private rootPromise: Promise<string> | undefined;

  /**
   * @param stateDir where `lambda/code` lives; undefined for a temporary directory that
   *   close() removes.
   */
  constructor(
    private readonly blobs: BlobStore,
    private readonly stateDir: string | undefined,
  ) {}

  /** The directory extracted packages live in (created on first use). */
  root(): Promise<string> {
    this.rootPromise ??= (async () => {
      if (this.stateDir === undefined) return temporaryRoot();
      const dir = join(this.stateDir, 'lambda', 'code');
      await mkdir(dir, { recursive: true });
      // Leftovers of extractions a crash interrupted.
      for (const name of await readdir(dir)) {
        if (name.startsWith('.tmp-')) await rm(join(dir, name), { recursive: true, force: true });
      }
      return dir;
    })();
    return this.rootPromise;
  }

  /**
   * Checks, extracts and stores a zip uploaded directly (ZipFile). Throws AWS's errors for
   * an oversized or unsafe package. The lease keeps the code from being collected until
   * the caller's transaction referenced it.
   */
  async ingest(zip: Buffer): Promise<Lease> {
    if (zip.length > MAX_ZIPPED_BYTES) {
      throw requestTooLarge(`Zipped size must be smaller than ${MAX_ZIPPED_BYTES} bytes`);
    }
    const sha = createHash('sha256').update(zip).digest('hex');
    let unzippedSize = 0;
    for (const e of listEntries(zip)) unzippedSize += e.size;
    const unlock = await this.locks.lock(sha);
    try {
      await this.extract(sha, zip);
      await this.blobs.put(zip, digestOf(sha));
    } catch (err) {
      unlock();
      throw err;
    }
    return { code: { sha, size: zip.length, unzippedSize }, release: unlock };
  }

  /** The extracted package, extracting it again from the blob when it is not on disk. */
  async directory(sha: string): Promise<string> {
    const root = await this.root();
    const dir = join(root, sha);
    if (this.extracted.has(sha)) return dir;
    const zip = await this.blobs.read(digestOf(sha));
    if (!zip) throw new Error(`lambda code ${sha} is missing from the blob store`);
    return this.extract(sha, zip);
  }

  private extract(sha: string, zip: Buffer): Promise<string> {
    let pending = this.extracting.get(sha);
    if (!pending) {
      pending = this.extractOnce(sha, zip).finally(() => this.extracting.delete(sha));
      this.extracting.set(sha, pending);
    }
    return pending;
  }

  private async extractOnce(sha: string, zip: Buffer): Promise<string> {
    const root = await this.root();
    const dir = join(root, sha);
    if (await isDirectory(dir)) {
      this.extracted.add(sha);
      return dir;
    }
    const tmp = join(root, `.tmp-${sha}-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp);
    try {
      await extractZip(zip, tmp);
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      const code = (err as { code?: string }).code;
      // Another process or call renamed the same package into place first.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await isDirectory(dir))) throw err;
    }
    this.extracted.add(sha);
    return dir;
  }

  /**
   * Deletes blobs and directories of zips whose reference count reached zero, unless
   * `stillUsed` says a transaction referenced them again meanwhile.
   */
  async collect(
    shas: readonly string[],
    stillUsed: (sha: string) => Promise<boolean>,
  ): Promise<void> {
    for (const sha of shas) {
      const unlock = await this.locks.lock(sha);
      try {
        if (await stillUsed(sha)) continue;
        this.extracted.delete(sha);
        await this.blobs.delete(digestOf(sha));
        await rm(join(await this.root(), sha), { recursive: true, force: true });
      } finally {
        unlock();
      }
    }
  }

  read(sha: string): Promise<Buffer | undefined> {
    return this.blobs.read(digestOf(sha));
  }

  /** A presigned-like download URL for the zip, valid for 10 minutes. */
  async downloadUrl(endpoint: string, sha: string, now = Date.now()): Promise<string> {
    const token = await this.urls.seal({ s: sha }, CODE_URL_TTL_SECONDS, now);
    return `${endpoint}${CODE_URL_PREFIX}${token}`;
  }

  /**
   * Serves `GET <CODE_URL_PREFIX><token>`; undefined for any other path. Expired or forged
   * tokens get S3's 403, as a presigned S3 URL would.
   */
  async serveDownload(path: string, now = Date.now()): Promise<DownloadResponse | undefined> {
    const q = path.indexOf('?');
    const clean = q < 0 ? path : path.slice(0, q);
    if (!clean.startsWith(CODE_URL_PREFIX)) return undefined;
    const opened = await this.urls.open(
      clean.slice(CODE_URL_PREFIX.length),
      (c) => typeof c.s === 'string' && /^[0-9a-f]{64}$/.test(c.s),
      now,
    );
    if (!opened.ok) return s3ErrorResponse(opened.refusal);
    const sha = String(opened.claims.s);
    const zip = await this.read(sha);
    if (!zip) return s3ErrorResponse(NO_SUCH_KEY);
    return {
      status: 200,
      headers: {
        'content-type': 'application/zip',
        'content-length': String(zip.length),
        etag: `"${sha}"`,
      },
      body: zip,
    };
  }

  /** Removes the temporary root of an ephemeral store. */
  async close(): Promise<void> {
    if (this.stateDir === undefined && this.rootPromise) {
      const root = await this.rootPromise;
      await rm(root, { recursive: true, force: true });
      temporaryRoots.delete(root);
    }
  }
}

const TEMP_PREFIX = 'stratus-lambda-code-';
const TEMP_NAME = /^stratus-lambda-code-(\d+)-/;
const temporaryRoots = new Set<string>();
let exitHookInstalled = false;

/**
 * Ephemeral state: a fresh directory under os.tmpdir() named after the pid, removed by
 * close() or at exit; those of processes that were killed are swept by the next one (as
 * the temporary BlobStore does).
 */
async function temporaryRoot(): Promise<string> {
  for (const name of await readdir(tmpdir())) {
    const match = TEMP_NAME.exec(name);
    if (match === null || isProcessRunning(Number(match[1]))) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
  const root = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  temporaryRoots.add(root);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const dir of temporaryRoots) rmSync(dir, { recursive: true, force: true });
    });
  }
  return root;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
