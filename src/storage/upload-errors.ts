/**
 * Errors of BlobUploads (types.ts). The registry maps them to the OCI distribution errors:
 * UploadNotFoundError → BLOB_UPLOAD_UNKNOWN (404), UploadOffsetError → 416 Range Not
 * Satisfiable with the current `Range` (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-a-blob-in-chunks).
 */

/** No such upload: never created, committed, aborted, or the id is not a valid upload id. */
export class UploadNotFoundError extends Error {
  readonly code = 'UPLOAD_NOT_FOUND';

  constructor(readonly uploadId: string) {
    super(`blob upload ${JSON.stringify(uploadId.slice(0, 100))} not found`);
    this.name = 'UploadNotFoundError';
  }
}

/** An append did not start where the upload ends; nothing was written. */
export class UploadOffsetError extends Error {
  readonly code = 'UPLOAD_OFFSET';

  constructor(
    readonly uploadId: string,
    /** The current size of the upload: where the append had to start. */
    readonly expected: number,
    /** The offset the append asked for. */
    readonly actual: number,
  ) {
    super(
      `blob upload ${uploadId}: append at offset ${actual}, but the upload has ${expected} bytes`,
    );
    this.name = 'UploadOffsetError';
  }
}
