/**
 * The registry core that both doors share: the OCI distribution data plane (/v2/) and the
 * ECR API (PutImage, BatchGetImage, the layer-upload operations, …). It owns blobs,
 * uploads, manifests, tags and referrers of existing repositories; every change of
 * metadata is one transaction, and errors are RegistryErrors each door translates.
 * Neither door writes ECR's tables behind its back: repositories and lifecycle previews
 * are created, listed and changed here too.
 */
import { imageStatus } from './storage-class.js';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore, MetadataOps, MetadataStore } from '../../storage/types.js';
import type { BlobGuard } from './blob-guard.js';
import { ManifestInvalidError, parseManifest, type Descriptor } from './manifest.js';
import { conversionTargets, convertManifest } from './manifest-convert.js';
import { isDigest, isDigestReference, isTag, wildcardMatches } from './names.js';
import {
  digestInvalid,
  imageNotFound,
  layersNotFound,
  RegistryError,
  repositoryNotFound,
  tagInvalid,
} from './registry-errors.js';
import { RegistryUploads } from './registry-uploads.js';
import { pullTimeExcluded } from './pull-exclusions-api.js';
import {
  T,
  type Scope,
  childKey,
  childPrefix,
  referrerKey,
  repositoryKey,
  type BlobLink,
  type BlobRecord,
  type ConversionRecord,
  type ImageRecord,
  type LifecyclePreviewRecord,
  type ReferrerRecord,
  type RepositoryRecord,
  type TagRecord,
} from './store.js';

/** ECR's ImageManifest limit (service model: 4,194,304 characters). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface RegistryDeps {
  store: MetadataStore;
  blobs: BlobStore;
  guard: BlobGuard;
  now(): number;
  /** Called after images were deleted: their blobs may now be collectable. */
  onImagesDeleted(): void;
  /**
   * Called after a manifest landed in a repository (lifecycle policies look again; the
   * registry's replication rules copy it unless it arrived by replication itself).
   */
  onPush(
    repo: RepositoryRecord,
    push: { digest: string; replicated: boolean },
  ): void | Promise<void>;
  /** Called after what a repository stores changed (images pushed or deleted): the bill. */
  onStored?(repo: RepositoryRecord): void;
}

export interface PutManifestResult {
  digest: string;
  /** False when the manifest and the tag were both there already. */
  changed: boolean;
  subject?: string;
}

/** A manifest as served to one client: as stored, or converted to a type it accepts. */
export interface ServedManifest {
  /** The stored image it is (or was converted from). */
  image: ImageRecord;
  body: Buffer;
  mediaType: string;
  digest: string;
}

export interface BlobRead {
  size: number;
  stream: Readable;
}

export const keyOf = (repo: RepositoryRecord): string => repositoryKey(repo, repo.name);

export class Registry {
  /** Blob uploads into a repository of this registry. */
  readonly uploads: RegistryUploads;

  constructor(private readonly deps: RegistryDeps) {
    this.uploads = new RegistryUploads(deps, (tx, repo, digest, blob) =>
      this.linkBlob(tx, repo, digest, blob),
    );
  }

  // ----- repositories -------------------------------------------------------------------

  async repository(
    scope: { account: string; region: string },
    name: string,
  ): Promise<RepositoryRecord> {
    const repo = await this.deps.store.get<RepositoryRecord>(
      T.repositories,
      repositoryKey(scope, name),
    );
    if (!repo) throw repositoryNotFound(name, scope.account);
    return repo;
  }

  /**
   * The repository `name`; when it does not exist but a pull through cache rule's prefix
   * covers it, the error says why ECR would have created it and cannot: pulling through
   * needs the upstream registry, and Stratus reaches nothing beyond this machine.
   * https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html
   */
  async repositoryOrUpstream(scope: Scope, name: string): Promise<RepositoryRecord> {
    try {
      return await this.repository(scope, name);
    } catch (err) {
      if (!(err instanceof RegistryError) || err.kind !== 'repository-not-found') throw err;
      const rules = await this.deps.store.list<{
        ecrRepositoryPrefix: string;
        upstreamRegistryUrl: string;
      }>(T.pullThrough, { prefix: repositoryKey(scope, '') });
      const rule = rules.find((r) => name.startsWith(`${r.value.ecrRepositoryPrefix}/`))?.value;
      if (!rule) throw err;
      throw new RegistryError(
        'upstream-unreachable',
        `The image ${name.slice(rule.ecrRepositoryPrefix.length + 1)} could not be pulled from the upstream registry ${rule.upstreamRegistryUrl} of the pull through cache rule '${rule.ecrRepositoryPrefix}': Stratus has no network access beyond this machine.`,
      );
    }
  }

  /** Repository names of one registry in byte order, for `_catalog`. */
  async catalog(
    scope: { account: string; region: string },
    limit: number,
    last?: string,
  ): Promise<string[]> {
    return (await this.repositories(scope, limit, last)).map((repo) => repo.name);
  }

  /** Repositories of one registry in name (byte) order, after the one named `last`. */
  async repositories(
    scope: { account: string; region: string },
    limit: number,
    last?: string,
  ): Promise<RepositoryRecord[]> {
    const prefix = repositoryKey(scope, '');
    const items = await this.deps.store.list<RepositoryRecord>(T.repositories, {
      prefix,
      after: last === undefined ? undefined : prefix + last,
      limit,
    });
    return items.map((i) => i.value);
  }

  /** Creates a repository; false when the registry has one of that name already. */
  createRepository(repo: RepositoryRecord): Promise<boolean> {
    return this.deps.store.insert(T.repositories, keyOf(repo), repo);
  }

  /**
   * Rewrites a repository record in one transaction, from its current state (another
   * request may have changed it since it was read); repository-not-found when it went.
   */
  async updateRepository(
    repo: RepositoryRecord,
    change: (current: RepositoryRecord) => RepositoryRecord,
  ): Promise<RepositoryRecord> {
    const key = keyOf(repo);
    return this.deps.store.transaction(async (tx) => {
      const current = await requireRepository(tx, repo);
      const updated = change(current);
      await tx.put(T.repositories, key, updated);
      return updated;
    });
  }

  /** Keeps the result of a lifecycle policy preview (deleted with the repository). */
  async savePreview(repo: RepositoryRecord, preview: LifecyclePreviewRecord): Promise<void> {
    await this.deps.store.transaction(async (tx) => {
      await requireRepository(tx, repo);
      await tx.put(T.previews, keyOf(repo), preview);
    });
  }

  preview(repo: RepositoryRecord): Promise<LifecyclePreviewRecord | undefined> {
    return this.deps.store.get<LifecyclePreviewRecord>(T.previews, keyOf(repo));
  }

  /**
   * Deletes a repository with its images, tags and blob links. Without `force` a
   * repository that still has images is refused, as DeleteRepository does.
   */
  async deleteRepository(repo: RepositoryRecord, force: boolean): Promise<number> {
    const repoKey = keyOf(repo);
    const deleted = await this.deps.store.transaction(async (tx) => {
      await requireRepository(tx, repo);
      const images = await tx.list<ImageRecord>(T.images, { prefix: childPrefix(repoKey) });
      if (images.length > 0 && !force) {
        throw new RegistryError(
          'repository-not-empty',
          `The repository with name '${repo.name}' in registry with id '${repo.account}' cannot be deleted because it still contains images`,
        );
      }
      for (const { value } of images) await releaseBlobs(tx, value.blobs);
      for (const table of [T.images, T.tags, T.referrers, T.links, T.replication, T.conversions]) {
        await tx.deletePrefix(table, childPrefix(repoKey));
      }
      await tx.delete(T.previews, repoKey);
      await tx.delete(T.repositories, repoKey);
      return images.length;
    });
    if (deleted > 0) {
      this.deps.onImagesDeleted();
      this.deps.onStored?.(repo);
    }
    return deleted;
  }

  // ----- blobs --------------------------------------------------------------------------

  /**
   * The size of a blob the repository holds, or undefined. `touch` pins it for the grace
   * period: a HEAD during a push means a manifest referencing it is on its way.
   */
  async blobSize(
    repo: RepositoryRecord,
    digest: string,
    touch = false,
  ): Promise<number | undefined> {
    if (!isDigest(digest)) throw digestInvalid(digest);
    const blob = await this.linkedBlob(this.deps.store, keyOf(repo), digest);
    if (blob && touch) this.deps.guard.touch(digest);
    return blob?.size;
  }

  /** Streams a blob of the repository (`range.end` inclusive), or undefined. */
  async openBlob(
    repo: RepositoryRecord,
    digest: string,
    range?: { start: number; end?: number },
  ): Promise<BlobRead | undefined> {
    if (!isDigest(digest)) throw digestInvalid(digest);
    const blob = await this.linkedBlob(this.deps.store, keyOf(repo), digest);
    if (!blob) return undefined;
    const stream = await this.deps.blobs.get(digest, range);
    return stream && { size: blob.size, stream };
  }

  /**
   * Cross-repository mount: links a blob `from` holds into `repo` without copying it.
   * Resolves false when `from` does not hold it (the client then uploads it).
   */
  async mount(repo: RepositoryRecord, from: string, digest: string): Promise<boolean> {
    if (!isDigest(digest)) throw digestInvalid(digest);
    const source = await this.deps.store.get<RepositoryRecord>(
      T.repositories,
      repositoryKey(repo, from),
    );
    if (!source) return false;
    return this.deps.guard.locks.with(digest, () =>
      this.deps.store.transaction(async (tx) => {
        await requireRepository(tx, repo);
        const blob = await this.linkedBlob(tx, keyOf(source), digest);
        if (!blob) return false;
        await this.linkBlob(tx, repo, digest, blob);
        return true;
      }),
    );
  }

  /**
   * Removes a blob from the repository (OCI blob DELETE). The content goes once no other
   * repository links it and no manifest references it.
   */
  async unlinkBlob(repo: RepositoryRecord, digest: string): Promise<boolean> {
    if (!isDigest(digest)) throw digestInvalid(digest);
    const removed = await this.deps.store.delete(T.links, childKey(keyOf(repo), digest));
    if (removed) this.deps.onImagesDeleted();
    return removed;
  }

  private async linkedBlob(
    ops: MetadataOps,
    repoKey: string,
    digest: string,
  ): Promise<BlobRecord | undefined> {
    if (!(await ops.get<BlobLink>(T.links, childKey(repoKey, digest)))) return undefined;
    return ops.get<BlobRecord>(T.blobs, digest);
  }

  private pinUntil(): number {
    return this.deps.now() + this.deps.guard.graceMs;
  }

  /**
   * Links a stored blob into `repo` (upload, mount, replication), pinned for the grace
   * period so garbage collection leaves it to the manifest that will reference it.
   */
  private async linkBlob(
    tx: MetadataOps,
    repo: RepositoryRecord,
    digest: string,
    blob: Pick<BlobRecord, 'size' | 'refs'>,
  ): Promise<void> {
    await tx.put<BlobRecord>(T.blobs, digest, {
      size: blob.size,
      refs: blob.refs,
      pendingUntil: this.pinUntil(),
    });
    await tx.put<BlobLink>(T.links, childKey(keyOf(repo), digest), {
      size: blob.size,
      at: this.deps.now(),
    });
  }

  // ----- manifests ----------------------------------------------------------------------

  /**
   * Stores a manifest under `reference` (a tag, or its own digest). Every blob it names
   * must be in the repository, every child manifest of an index too; a tag of an immutable
   * repository cannot move.
   */
  async putManifest(
    repo: RepositoryRecord,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    origin: 'push' | 'replication' = 'push',
  ): Promise<PutManifestResult> {
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError(
        'size-invalid',
        `manifest is ${bytes.length} bytes, more than the ${MAX_MANIFEST_BYTES} bytes allowed`,
      );
    }
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    let tag: string | undefined;
    if (isDigestReference(reference)) {
      if (!isDigest(reference)) throw digestInvalid(reference);
      if (reference !== digest) {
        throw new RegistryError(
          'digest-invalid',
          `manifest digest ${digest} does not match the reference ${reference}`,
          { digest: reference },
        );
      }
    } else {
      if (!isTag(reference)) throw tagInvalid(reference);
      tag = reference;
    }
    let parsed;
    try {
      parsed = parseManifest(bytes, contentType);
    } catch (err) {
      if (err instanceof ManifestInvalidError) {
        throw new RegistryError('manifest-invalid', err.message);
      }
      throw err;
    }
    const repoKey = keyOf(repo);
    const now = this.deps.now();
    const result = await this.deps.store.transaction(async (tx) => {
      await requireRepository(tx, repo);
      const missing: string[] = [];
      for (const blob of parsed.blobs) {
        if (!(await this.linkedBlob(tx, repoKey, blob.digest))) missing.push(blob.digest);
      }
      if (missing.length > 0) throw layersNotFound(repo, missing);
      for (const child of parsed.manifests) {
        if (!(await tx.get(T.images, childKey(repoKey, child.digest)))) {
          throw new RegistryError(
            'manifest-child-unknown',
            `The manifest list references an image that does not exist in the repository with name '${repo.name}' in the registry with id '${repo.account}': ${child.digest}`,
            { digest: child.digest },
          );
        }
      }
      const imageKey = childKey(repoKey, digest);
      let image = await tx.get<ImageRecord>(T.images, imageKey);
      let changed = false;
      if (!image) {
        const blobs = unique(parsed.blobs.map((b) => b.digest));
        for (const d of blobs) {
          const blob = await tx.get<BlobRecord>(T.blobs, d);
          if (blob)
            await tx.put<BlobRecord>(T.blobs, d, { ...blob, refs: blob.refs + 1, pendingUntil: 0 });
        }
        image = {
          digest,
          mediaType: parsed.mediaType,
          manifest: bytes.toString('utf8'),
          size: parsed.contentSize,
          pushedAt: now,
          artifactType: parsed.artifactType,
          subject: parsed.subject?.digest,
          blobs,
          children: unique(parsed.manifests.map((m) => m.digest)),
          tags: [],
        };
        if (parsed.subject) {
          await tx.put<ReferrerRecord>(
            T.referrers,
            referrerKey(repoKey, parsed.subject.digest, digest),
            {
              mediaType: parsed.mediaType,
              size: bytes.length,
              artifactType: parsed.artifactType,
              annotations: parsed.annotations,
            },
          );
        }
        changed = true;
      } else if (imageStatus(image, now) !== 'ACTIVE') {
        // "The image can be restored as an active image … by re-pushing the image."
        image = { ...image, archive: { ...image.archive, status: 'ACTIVE', activatedAt: now } };
        changed = true;
      }
      if (tag !== undefined) {
        const tagKey = childKey(repoKey, tag);
        const existing = await tx.get<TagRecord>(T.tags, tagKey);
        if (existing?.digest !== digest) {
          if (existing) {
            if (isImmutableTag(repo, tag)) {
              throw new RegistryError(
                'tag-immutable',
                `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the repository is immutable.`,
              );
            }
            await removeTag(tx, repoKey, existing.digest, tag);
          }
          await tx.put<TagRecord>(T.tags, tagKey, { digest, at: now });
          image.tags = [...image.tags, tag];
          changed = true;
        }
      }
      if (changed) await tx.put(T.images, imageKey, image);
      return { digest, changed, subject: parsed.subject?.digest };
    });
    for (const blob of parsed.blobs) this.deps.guard.release(blob.digest);
    if (result.changed) {
      // Awaited: the replication statuses of a push exist by the time it is answered.
      await this.deps.onPush(repo, { digest, replicated: origin === 'replication' });
      this.deps.onStored?.(repo);
    }
    return result;
  }

  /**
   * Copies an image of `source` (with its tags, and for an index its child images first)
   * into `dest`. Blobs are content-addressed and shared, so copying a layer is linking it
   * into the destination repository; the manifest is then stored there as a push would.
   */
  async replicate(
    source: RepositoryRecord,
    image: ImageRecord,
    dest: RepositoryRecord,
  ): Promise<void> {
    for (const child of image.children) {
      const found = await this.imageByDigest(source, child);
      if (!found) throw imageNotFound();
      await this.replicate(source, found, dest);
    }
    await this.deps.store.transaction(async (tx) => {
      await requireRepository(tx, dest);
      for (const digest of image.blobs) {
        const blob = await tx.get<BlobRecord>(T.blobs, digest);
        if (!blob) throw layersNotFound(source, [digest]);
        await this.linkBlob(tx, dest, digest, blob);
      }
    });
    const bytes = Buffer.from(image.manifest, 'utf8');
    for (const reference of [image.digest, ...image.tags]) {
      await this.putManifest(dest, reference, bytes, image.mediaType, 'replication');
    }
  }

  /** Whether an image references the blob (ECR serves only those layers for download). */
  async blobReferenced(digest: string): Promise<boolean> {
    const blob = await this.deps.store.get<BlobRecord>(T.blobs, digest);
    return blob !== undefined && blob.refs > 0;
  }

  /** Rewrites one image in a transaction (`change` may throw to refuse); the new record. */
  async updateImage(
    repo: RepositoryRecord,
    digest: string,
    change: (image: ImageRecord) => ImageRecord,
  ): Promise<ImageRecord> {
    const key = childKey(keyOf(repo), digest);
    return this.deps.store.transaction(async (tx) => {
      const image = await tx.get<ImageRecord>(T.images, key);
      if (!image) throw imageNotFound();
      const updated = change(image);
      await tx.put(T.images, key, updated);
      return updated;
    });
  }

  /** The image of `digest` (not validated: any string), if the repository has it. */
  imageByDigest(repo: RepositoryRecord, digest: string): Promise<ImageRecord | undefined> {
    return this.deps.store.get<ImageRecord>(T.images, childKey(keyOf(repo), digest));
  }

  /** The image a tag or digest names; MANIFEST_UNKNOWN / ImageNotFound when none. */
  async image(repo: RepositoryRecord, reference: string): Promise<ImageRecord> {
    const found = await this.findImage(this.deps.store, repo, reference);
    if (!found) throw imageNotFound();
    return found;
  }

  async findImage(
    ops: MetadataOps,
    repo: RepositoryRecord,
    reference: string,
  ): Promise<ImageRecord | undefined> {
    const repoKey = keyOf(repo);
    let digest = reference;
    if (isDigestReference(reference)) {
      if (!isDigest(reference)) throw digestInvalid(reference);
    } else {
      if (!isTag(reference)) throw tagInvalid(reference);
      const tag = await ops.get<TagRecord>(T.tags, childKey(repoKey, reference));
      if (!tag) return undefined;
      digest = tag.digest;
    }
    return ops.get<ImageRecord>(T.images, childKey(repoKey, digest));
  }

  /**
   * The manifest `reference` names, in a media type `accepts` takes: as stored, else
   * converted (manifest-convert.ts; for a tag only, as ECR). The digest of a manifest served
   * converted before names that conversion again, so a client that resolved a tag and then
   * fetches by the digest it was given gets those same bytes. Undefined when the stored
   * manifest is not accepted and cannot be converted; MANIFEST_UNKNOWN when nothing matches.
   */
  async manifestFor(
    repo: RepositoryRecord,
    reference: string,
    accepts: (mediaType: string) => boolean,
  ): Promise<ServedManifest | undefined> {
    const repoKey = keyOf(repo);
    const image = await this.findImage(this.deps.store, repo, reference);
    // "Archived images cannot be pulled. Requests to pull the archived image will fail with a 404 error."
    if (image && imageStatus(image, this.deps.now()) !== 'ACTIVE') throw imageNotFound();
    if (!image) {
      const seen = isDigest(reference)
        ? await this.deps.store.get<ConversionRecord>(T.conversions, childKey(repoKey, reference))
        : undefined;
      const source = seen && (await this.imageByDigest(repo, seen.source));
      const again = source && convertManifest(source.manifest, source.mediaType, seen.mediaType);
      if (!source || !again || again.digest !== reference) throw imageNotFound();
      if (!accepts(again.mediaType)) return undefined;
      return { image: source, ...again, body: again.bytes };
    }
    if (accepts(image.mediaType)) {
      return {
        image,
        body: Buffer.from(image.manifest, 'utf8'),
        mediaType: image.mediaType,
        digest: image.digest,
      };
    }
    if (isDigestReference(reference)) return undefined;
    for (const target of conversionTargets(image.mediaType).filter(accepts)) {
      const converted = convertManifest(image.manifest, image.mediaType, target);
      if (!converted) continue;
      // insert: a conversion served before is not written again on every pull.
      await this.deps.store.insert<ConversionRecord>(
        T.conversions,
        childKey(repoKey, converted.digest),
        { source: image.digest, mediaType: target },
      );
      return { image, body: converted.bytes, mediaType: target, digest: converted.digest };
    }
    return undefined;
  }

  /**
   * Records a pull for DescribeImages' lastRecordedPullTime (at most once a minute), unless
   * the caller (when known) is a registered pull time update exclusion.
   */
  async recordPull(repo: RepositoryRecord, image: ImageRecord, callerArn?: string): Promise<void> {
    const now = this.deps.now();
    if (image.lastPulledAt !== undefined && now - image.lastPulledAt < 60_000) return;
    if (callerArn !== undefined && (await pullTimeExcluded(this.deps.store, repo, callerArn))) {
      return;
    }
    const key = childKey(keyOf(repo), image.digest);
    await this.deps.store.transaction(async (tx) => {
      const current = await tx.get<ImageRecord>(T.images, key);
      if (current) await tx.put<ImageRecord>(T.images, key, { ...current, lastPulledAt: now });
    });
  }

  /**
   * Deletes an image with all its tags. An image a manifest list of the repository still
   * references is refused.
   */
  async deleteImage(repo: RepositoryRecord, digest: string): Promise<ImageRecord> {
    if (!isDigest(digest)) throw digestInvalid(digest);
    const repoKey = keyOf(repo);
    const image = await this.deps.store.transaction(async (tx) => {
      await requireRepository(tx, repo);
      const found = await tx.get<ImageRecord>(T.images, childKey(repoKey, digest));
      if (!found) throw imageNotFound();
      const parents = await parentsOf(tx, repoKey, digest);
      if (parents.length > 0) {
        throw new RegistryError(
          'image-referenced',
          `Requested image referenced by manifest list: [${parents.join(', ')}]`,
        );
      }
      await deleteImageRows(tx, repoKey, found);
      return found;
    });
    this.deps.onImagesDeleted();
    this.deps.onStored?.(repo);
    return image;
  }

  /**
   * Removes a tag; resolves the image it named, as it is now (without the tag). With
   * `deleteUntagged` (ECR's BatchDeleteImage: "when you remove the last tag from an image,
   * the image is deleted") an image left without tags goes in the same transaction, unless
   * a manifest list still references it; `deleted` says whether it went.
   */
  async untag(
    repo: RepositoryRecord,
    tag: string,
    options: { deleteUntagged?: boolean } = {},
  ): Promise<{ image: ImageRecord; deleted: boolean }> {
    if (!isTag(tag)) throw tagInvalid(tag);
    const repoKey = keyOf(repo);
    const result = await this.deps.store.transaction(async (tx) => {
      await requireRepository(tx, repo);
      const record = await tx.get<TagRecord>(T.tags, childKey(repoKey, tag));
      if (!record) throw imageNotFound();
      const image = await removeTag(tx, repoKey, record.digest, tag);
      await tx.delete(T.tags, childKey(repoKey, tag));
      if (!image) throw imageNotFound();
      const remove =
        options.deleteUntagged === true &&
        image.tags.length === 0 &&
        (await parentsOf(tx, repoKey, image.digest)).length === 0;
      if (remove) await deleteImageRows(tx, repoKey, image);
      return { image, deleted: remove };
    });
    if (result.deleted) {
      this.deps.onImagesDeleted();
      this.deps.onStored?.(repo);
    }
    return result;
  }

  /** Tags in byte order after `last`, at most `limit`. */
  async listTags(repo: RepositoryRecord, limit: number, last?: string): Promise<string[]> {
    const prefix = childPrefix(keyOf(repo));
    const items = await this.deps.store.list<TagRecord>(T.tags, {
      prefix,
      after: last === undefined ? undefined : prefix + last,
      limit,
    });
    return items.map((i) => i.key.slice(prefix.length));
  }

  /** Every image of the repository in digest order (DescribeImages, lifecycle policies). */
  async listImages(
    repo: RepositoryRecord,
    options: { after?: string; limit?: number } = {},
  ): Promise<ImageRecord[]> {
    const prefix = childPrefix(keyOf(repo));
    const items = await this.deps.store.list<ImageRecord>(T.images, {
      prefix,
      after: options.after === undefined ? undefined : prefix + options.after,
      limit: options.limit,
    });
    return items.map((i) => i.value);
  }

  /** OCI 1.1 referrers of `digest` in the repository, optionally of one artifact type. */
  async referrers(
    repo: RepositoryRecord,
    digest: string,
    artifactType?: string,
  ): Promise<Descriptor[]> {
    if (!isDigest(digest)) throw digestInvalid(digest);
    const prefix = referrerKey(keyOf(repo), digest, '');
    const items = await this.deps.store.list<ReferrerRecord>(T.referrers, { prefix });
    return items
      .filter((i) => artifactType === undefined || i.value.artifactType === artifactType)
      .map((i) => ({
        mediaType: i.value.mediaType,
        digest: i.key.slice(prefix.length),
        size: i.value.size,
        ...(i.value.artifactType === undefined ? {} : { artifactType: i.value.artifactType }),
        ...(i.value.annotations === undefined ? {} : { annotations: i.value.annotations }),
      }));
  }
}

async function requireRepository(
  tx: MetadataOps,
  repo: RepositoryRecord,
): Promise<RepositoryRecord> {
  const current = await tx.get<RepositoryRecord>(T.repositories, keyOf(repo));
  if (!current) throw repositoryNotFound(repo.name, repo.account);
  return current;
}

/** Digests of the manifest lists in the repository that reference `digest`. */
async function parentsOf(tx: MetadataOps, repoKey: string, digest: string): Promise<string[]> {
  return (await tx.list<ImageRecord>(T.images, { prefix: childPrefix(repoKey) }))
    .filter((i) => i.value.children.includes(digest))
    .map((i) => i.value.digest);
}

async function deleteImageRows(
  tx: MetadataOps,
  repoKey: string,
  image: ImageRecord,
): Promise<void> {
  for (const tag of image.tags) await tx.delete(T.tags, childKey(repoKey, tag));
  await tx.delete(T.images, childKey(repoKey, image.digest));
  await tx.deletePrefix(T.replication, childKey(repoKey, image.digest) + ':');
  if (image.subject) {
    await tx.delete(T.referrers, referrerKey(repoKey, image.subject, image.digest));
  }
  await releaseBlobs(tx, image.blobs);
}

/** Drops one reference per blob; blobs left with none are the collector's to remove. */
async function releaseBlobs(tx: MetadataOps, digests: readonly string[]): Promise<void> {
  for (const d of digests) {
    const blob = await tx.get<BlobRecord>(T.blobs, d);
    if (blob) await tx.put<BlobRecord>(T.blobs, d, { ...blob, refs: Math.max(0, blob.refs - 1) });
  }
}

async function removeTag(
  tx: MetadataOps,
  repoKey: string,
  digest: string,
  tag: string,
): Promise<ImageRecord | undefined> {
  const key = childKey(repoKey, digest);
  const image = await tx.get<ImageRecord>(T.images, key);
  if (!image) return undefined;
  const updated = { ...image, tags: image.tags.filter((t) => t !== tag) };
  await tx.put(T.images, key, updated);
  return updated;
}

/** Whether `tag` may not move, under the repository's mutability and its exclusions. */
export function isImmutableTag(repo: RepositoryRecord, tag: string): boolean {
  const excluded = (repo.imageTagMutabilityExclusionFilters ?? []).some((f) =>
    wildcardMatches(f.filter, tag),
  );
  switch (repo.imageTagMutability) {
    case 'MUTABLE':
      return false;
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
