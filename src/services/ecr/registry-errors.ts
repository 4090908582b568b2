/**
 * What can go wrong in the registry core (registry.ts), independent of the wire: the OCI
 * data plane answers with the distribution spec's error codes, the ECR API with ECR's
 * exceptions. One table maps each kind to both.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
import {
  ImageAlreadyExistsException,
  ImageDigestDoesNotMatchException,
  ImageNotFoundException,
  ImageTagAlreadyExistsException,
  InvalidLayerException,
  InvalidLayerPartException,
  InvalidParameterException,
  LayersNotFoundException,
  ReferencedImagesNotFoundException,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  UnableToGetUpstreamImageException,
  UploadNotFoundException,
} from '../../api/ecr/errors.js';
import type { AwsError } from '../../shared/errors.js';
import { UploadNotFoundError, UploadOffsetError } from '../../storage/upload-errors.js';
import type { RepositoryRecord } from './store.js';

export type RegistryErrorKind =
  | 'repository-not-found'
  | 'name-invalid'
  | 'blob-unknown'
  | 'upload-unknown'
  | 'digest-invalid'
  | 'range-invalid'
  | 'size-invalid'
  | 'manifest-invalid'
  | 'manifest-blob-unknown'
  | 'manifest-child-unknown'
  | 'manifest-unknown'
  | 'tag-invalid'
  | 'tag-immutable'
  | 'image-digest-mismatch'
  | 'image-already-exists'
  | 'image-referenced'
  | 'repository-not-empty'
  | 'upstream-unreachable'
  | 'unsupported';

interface Mapping {
  oci: string;
  status: number;
  ecr: (message: string) => AwsError;
}

const MAPPINGS: Record<RegistryErrorKind, Mapping> = {
  'repository-not-found': {
    oci: 'NAME_UNKNOWN',
    status: 404,
    ecr: (m) => new RepositoryNotFoundException(m),
  },
  'name-invalid': {
    oci: 'NAME_INVALID',
    status: 400,
    ecr: (m) => new InvalidParameterException(m),
  },
  'blob-unknown': { oci: 'BLOB_UNKNOWN', status: 404, ecr: (m) => new LayersNotFoundException(m) },
  'upload-unknown': {
    oci: 'BLOB_UPLOAD_UNKNOWN',
    status: 404,
    ecr: (m) => new UploadNotFoundException(m),
  },
  'digest-invalid': {
    oci: 'DIGEST_INVALID',
    status: 400,
    ecr: (m) => new InvalidLayerException(m),
  },
  'range-invalid': {
    oci: 'RANGE_INVALID',
    status: 416,
    ecr: (m) => new InvalidLayerPartException(m),
  },
  'size-invalid': {
    oci: 'SIZE_INVALID',
    status: 400,
    ecr: (m) => new InvalidParameterException(m),
  },
  'manifest-invalid': {
    oci: 'MANIFEST_INVALID',
    status: 400,
    ecr: (m) => new InvalidParameterException(m),
  },
  'manifest-blob-unknown': {
    oci: 'MANIFEST_BLOB_UNKNOWN',
    status: 404,
    ecr: (m) => new LayersNotFoundException(m),
  },
  'manifest-child-unknown': {
    oci: 'MANIFEST_BLOB_UNKNOWN',
    status: 404,
    ecr: (m) => new ReferencedImagesNotFoundException(m),
  },
  'manifest-unknown': {
    oci: 'MANIFEST_UNKNOWN',
    status: 404,
    ecr: (m) => new ImageNotFoundException(m),
  },
  'tag-invalid': { oci: 'TAG_INVALID', status: 400, ecr: (m) => new InvalidParameterException(m) },
  // ECR's registry answers an overwrite of an immutable tag with TAG_INVALID.
  'tag-immutable': {
    oci: 'TAG_INVALID',
    status: 400,
    ecr: (m) => new ImageTagAlreadyExistsException(m),
  },
  'image-digest-mismatch': {
    oci: 'DIGEST_INVALID',
    status: 400,
    ecr: (m) => new ImageDigestDoesNotMatchException(m),
  },
  'image-already-exists': {
    oci: 'MANIFEST_INVALID',
    status: 400,
    ecr: (m) => new ImageAlreadyExistsException(m),
  },
  'image-referenced': {
    oci: 'DENIED',
    status: 403,
    ecr: (m) => new InvalidParameterException(m),
  },
  'repository-not-empty': {
    oci: 'DENIED',
    status: 403,
    ecr: (m) => new RepositoryNotEmptyException(m),
  },
  // A pull through cache rule's upstream: Stratus reaches no registry beyond this machine.
  'upstream-unreachable': {
    oci: 'MANIFEST_UNKNOWN',
    status: 404,
    ecr: (m) => new UnableToGetUpstreamImageException(m),
  },
  unsupported: { oci: 'UNSUPPORTED', status: 415, ecr: (m) => new InvalidParameterException(m) },
};

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    /** The OCI error's `detail` (e.g. the unknown digest). */
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'RegistryError';
  }

  get ociCode(): string {
    return MAPPINGS[this.kind].oci;
  }

  get httpStatus(): number {
    return MAPPINGS[this.kind].status;
  }

  toAwsError(): AwsError {
    return MAPPINGS[this.kind].ecr(this.message);
  }
}

export const repositoryNotFound = (name: string, registryId: string): RegistryError =>
  new RegistryError(
    'repository-not-found',
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
    { name },
  );

/** The blob store's upload errors, as the registry reports them. */
export function translateUploadError(err: unknown, id: string): unknown {
  if (err instanceof UploadNotFoundError) return uploadUnknown(id);
  if (err instanceof UploadOffsetError) {
    return new RegistryError(
      'range-invalid',
      `upload ${id} is at byte ${err.expected}; a chunk starting at byte ${err.actual} does not continue it`,
      { size: err.expected },
    );
  }
  return err;
}

export function layersNotFound(repo: RepositoryRecord, digests: string[]): RegistryError {
  return new RegistryError(
    'manifest-blob-unknown',
    `Layers with digests '[${digests.join(', ')}]' required for pushing image into repository with name '${repo.name}' in the registry with id '${repo.account}' do not exist`,
    { digests },
  );
}

export const imageNotFound = (): RegistryError =>
  new RegistryError('manifest-unknown', 'Requested image not found');

export const digestInvalid = (digest: string): RegistryError =>
  new RegistryError('digest-invalid', `invalid digest ${JSON.stringify(digest.slice(0, 100))}`, {
    digest: digest.slice(0, 100),
  });

export const tagInvalid = (tag: string): RegistryError =>
  new RegistryError('tag-invalid', `invalid tag ${JSON.stringify(tag.slice(0, 100))}`);

export const uploadUnknown = (id: string): RegistryError =>
  new RegistryError('upload-unknown', `upload ${JSON.stringify(id.slice(0, 100))} is unknown`);
