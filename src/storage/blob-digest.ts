/**
 * Blob digests are `sha256:` + 64 lowercase hex digits (the OCI digest form ECR uses, see
 * https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests). Validation is
 * strict because a digest becomes a file name: nothing else can ever reach the file system.
 */

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isValidDigest(digest: string): boolean {
  return digest.length === 71 && DIGEST_PATTERN.test(digest);
}

/** Thrown for a digest string that is not `sha256:<64 lowercase hex>`. */
export class InvalidDigestError extends Error {
  readonly code = 'INVALID_DIGEST';

  constructor(readonly digest: string) {
    super(
      `invalid blob digest ${JSON.stringify(digest.slice(0, 100))}: expected sha256:<64 lowercase hex>`,
    );
    this.name = 'InvalidDigestError';
  }
}

/** Thrown by BlobStore.put when the content does not hash to the expected digest. */
export class DigestMismatchError extends Error {
  readonly code = 'DIGEST_MISMATCH';

  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`blob digest mismatch: expected ${expected}, content is ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

/** Returns the 64 hex digits of a valid digest; throws InvalidDigestError otherwise. */
export function digestHex(digest: string): string {
  if (!isValidDigest(digest)) throw new InvalidDigestError(digest);
  return digest.slice(7);
}
