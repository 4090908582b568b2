/**
 * ECR's tables in the MetadataStore and the key layout that orders them.
 *
 * Repository keys are `<account>:<region>:<name>`. Repository names never contain ':'
 * (ECR's pattern allows lower-case letters, digits, '.', '_', '-' and '/'), nor do tags, so
 * `<repo key>:` is a prefix no other repository shares, and a repository's images, tags,
 * blob links and referrers list by that prefix.
 *
 * Blobs are content-addressed and shared by every repository of every account: one row per
 * digest in `ecr_blobs` counts the images referencing it (see gc.ts), and one link row per
 * repository says the repository may serve it (OCI: a blob is pushed *to a repository*).
 */
import type {
  EncryptionConfiguration,
  ImageTagMutability,
  ImageTagMutabilityExclusionFilter,
} from '../../api/ecr/types.js';

export const T = {
  repositories: 'ecr_repositories',
  /** `<repo key>:<digest>` → ImageRecord */
  images: 'ecr_images',
  /** `<repo key>:<tag>` → TagRecord */
  tags: 'ecr_tags',
  /** `<repo key>:<subject digest>:<digest>` → ReferrerRecord (OCI 1.1 referrers). */
  referrers: 'ecr_referrers',
  /** `<repo key>:<digest>` → BlobLink: the repository holds this blob. */
  links: 'ecr_blob_links',
  /** `<digest>` → BlobRecord */
  blobs: 'ecr_blobs',
  /** `<upload id>` → UploadRecord */
  uploads: 'ecr_uploads',
  /** `<repo key>` → LifecyclePreviewRecord */
  previews: 'ecr_lifecycle_previews',
  /** `<name>` → string: the token signing secret and other per-installation values. */
  settings: 'ecr_settings',
  /** `<account>:<region>:<setting>` → the registry's policy, scanning, replication, account settings. */
  registry: 'ecr_registry_settings',
  /** `<account>:<region>:<prefix>` → repository creation template. */
  templates: 'ecr_creation_templates',
  /** `<account>:<region>:<ecr repository prefix>` → pull-through cache rule. */
  pullThrough: 'ecr_pull_through_rules',
  /** `<repo key>:<digest>` → the last image scan. */
  scans: 'ecr_image_scans',
  /** `<repo key>:<digest>:<destination account>:<destination region>` → ReplicationRecord. */
  replication: 'ecr_image_replication',
  /** `<repo key>:<converted digest>` → ConversionRecord: a manifest served converted. */
  conversions: 'ecr_manifest_conversions',
} as const;

export interface Scope {
  account: string;
  region: string;
}

export const scopePrefix = (scope: Scope): string => `${scope.account}:${scope.region}:`;
export const repositoryKey = (scope: Scope, name: string): string => scopePrefix(scope) + name;
/** Prefix of every row a repository owns in images, tags, links and referrers. */
export const childPrefix = (repoKey: string): string => repoKey + ':';
export const childKey = (repoKey: string, id: string): string => `${repoKey}:${id}`;
export const referrerKey = (repoKey: string, subject: string, digest: string): string =>
  `${repoKey}:${subject}:${digest}`;

export interface RepositoryRecord {
  account: string;
  region: string;
  name: string;
  createdAt: number;
  imageTagMutability: ImageTagMutability;
  imageTagMutabilityExclusionFilters?: ImageTagMutabilityExclusionFilter[];
  scanOnPush: boolean;
  encryption: EncryptionConfiguration;
  /** Resource tags, in the order they were first set. */
  tags: { Key: string; Value: string }[];
  policyText?: string;
  lifecyclePolicy?: { text: string; updatedAt: number };
}

export interface ImageRecord {
  digest: string;
  mediaType: string;
  /** The manifest exactly as pushed: JSON, hence valid UTF-8, so a string keeps every byte. */
  manifest: string;
  /** ECR's imageSizeInBytes: config + layers for an image, the manifest for an index. */
  size: number;
  pushedAt: number;
  lastPulledAt?: number;
  artifactType?: string;
  /** OCI 1.1 `subject`: the digest of the manifest this one refers to. */
  subject?: string;
  /** Blobs (config, layers) this image holds a reference on, each counted once. */
  blobs: string[];
  /** Child manifests of an index, in this repository. */
  children: string[];
  tags: string[];
  /** Set once the image was archived (storage-class.ts); absent: ACTIVE, never archived. */
  archive?: ArchiveState;
}

/** An image's archive history; ACTIVATING is ACTIVE from `activeFrom` on. */
export type ArchiveState =
  | { status: 'ARCHIVED'; archivedAt: number; activatedAt?: number }
  | { status: 'ACTIVATING'; archivedAt?: number; activeFrom: number; activatedAt: number }
  | { status: 'ACTIVE'; archivedAt?: number; activatedAt: number };

export interface TagRecord {
  digest: string;
  at: number;
}

export interface ReferrerRecord {
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface BlobLink {
  size: number;
  at: number;
}

export interface BlobRecord {
  size: number;
  /** Images (in any repository) whose manifest references this blob. */
  refs: number;
  /**
   * A push may be in progress that will reference this blob (it was uploaded, mounted or
   * found by HEAD just now): garbage collection leaves it alone until this time even when
   * `refs` is 0. A manifest that references the blob clears it.
   */
  pendingUntil: number;
}

export interface UploadRecord {
  account: string;
  region: string;
  repository: string;
  createdAt: number;
}

export interface LifecyclePreviewRecord {
  policyText: string;
  status: 'IN_PROGRESS' | 'COMPLETE' | 'EXPIRED' | 'FAILED';
  results: {
    imageDigest: string;
    imageTags: string[];
    imagePushedAt: number;
    appliedRulePriority: number;
    /** A `transition` rule's: the image would be archived, not expired. */
    transition?: 'archive';
    /** The image's storage class when it is archived. */
    storageClass?: 'archive';
  }[];
}

export interface ReplicationRecord {
  region: string;
  registryId: string;
  status: 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';
  failureCode?: string;
  updatedAt: number;
}

/** A converted manifest's digest, so that a client resolving a tag then fetching by digest gets it. */
export interface ConversionRecord {
  /** The stored image the converted manifest was made from. */
  source: string;
  mediaType: string;
}
