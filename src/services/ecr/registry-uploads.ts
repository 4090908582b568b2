/**
 * Blob uploads of the registry (the OCI data plane's POST/PATCH/PUT of /blobs/uploads/ and
 * ECR's layer-upload operations): an upload belongs to one repository; completing it
 * verifies the digest and links the blob into that repository.
 */
import type { Readable } from 'node:stream';
import { DigestMismatchError } from '../../storage/blob-digest.js';
import type { BlobInfo, MetadataOps } from '../../storage/types.js';
import { isDigest } from './names.js';
import type { RegistryDeps } from './registry.js';
import {
  digestInvalid,
  RegistryError,
  translateUploadError,
  uploadUnknown,
} from './registry-errors.js';
import { T, type BlobRecord, type RepositoryRecord, type UploadRecord } from './store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Links a stored blob into a repository (the registry's one way, pinned against GC). */
export type LinkBlob = (
  tx: MetadataOps,
  repo: RepositoryRecord,
  digest: string,
  blob: Pick<BlobRecord, 'size' | 'refs'>,
) => Promise<void>;

export class RegistryUploads {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly link: LinkBlob,
  ) {}

  async start(repo: RepositoryRecord): Promise<string> {
    const id = await this.deps.blobs.uploads.create();
    await this.deps.store.put<UploadRecord>(T.uploads, id, {
      account: repo.account,
      region: repo.region,
      repository: repo.name,
      createdAt: this.deps.now(),
    });
    return id;
  }

  /** Bytes received so far by an upload of this repository. */
  async size(repo: RepositoryRecord, id: string): Promise<number> {
    await this.record(repo, id);
    const size = await this.deps.blobs.uploads.size(id);
    if (size === undefined) throw uploadUnknown(id);
    return size;
  }

  /** Appends at `offset`, which must be where the upload stands; resolves the new size. */
  async append(
    repo: RepositoryRecord,
    id: string,
    data: Buffer | Readable,
    offset?: number,
  ): Promise<number> {
    await this.record(repo, id);
    const at = offset ?? (await this.size(repo, id));
    try {
      return await this.deps.blobs.uploads.append(id, data, at);
    } catch (err) {
      throw translateUploadError(err, id);
    }
  }

  /**
   * Appends the last bytes (if any), verifies the digest and makes the blob available in
   * the repository. A wrong digest is DIGEST_INVALID and the upload is discarded.
   */
  async complete(
    repo: RepositoryRecord,
    id: string,
    digest: string,
    last?: Buffer | Readable,
  ): Promise<BlobInfo> {
    await this.record(repo, id);
    if (!isDigest(digest)) throw digestInvalid(digest);
    if (last !== undefined) await this.append(repo, id, last);
    return this.deps.guard.locks.with(digest, async () => {
      let info: BlobInfo;
      try {
        info = await this.deps.blobs.uploads.commit(id, digest);
      } catch (err) {
        if (err instanceof DigestMismatchError) {
          await this.cancel(repo, id);
          throw new RegistryError(
            'digest-invalid',
            `provided digest did not match uploaded content: expected ${digest}, got ${err.actual}`,
            { digest },
          );
        }
        throw translateUploadError(err, id);
      }
      await this.deps.store.transaction(async (tx) => {
        const blob = await tx.get<BlobRecord>(T.blobs, digest);
        await this.link(tx, repo, digest, { size: info.size, refs: blob?.refs ?? 0 });
        await tx.delete(T.uploads, id);
      });
      return info;
    });
  }

  async cancel(repo: RepositoryRecord, id: string): Promise<void> {
    await this.record(repo, id);
    await this.deps.blobs.uploads.abort(id);
    await this.deps.store.delete(T.uploads, id);
  }

  private async record(repo: RepositoryRecord, id: string): Promise<UploadRecord> {
    if (!UUID.test(id)) throw uploadUnknown(id);
    const record = await this.deps.store.get<UploadRecord>(T.uploads, id);
    if (
      !record ||
      record.account !== repo.account ||
      record.region !== repo.region ||
      record.repository !== repo.name
    ) {
      throw uploadUnknown(id);
    }
    return record;
  }
}
