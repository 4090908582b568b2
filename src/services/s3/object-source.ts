/**
 * What S3 offers other services: reading an object the way AWS services do on a caller's
 * behalf (Lambda's `Code.S3Bucket`/`S3Key`/`S3ObjectVersion`), with S3's own error code and
 * message when it cannot, which the caller words its own way.
 */
import type { S3Operations } from '../../api/s3/operations.js';
import type { RequestContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import type { BlobStore, MetadataStore } from '../../storage/types.js';
import { contentBody, requireBucket, requireObject } from './common.js';
import { readStreamingBlob } from '../../shared/streaming-blob.js';

export type S3ReadResult =
  { ok: true; body: Buffer } | { ok: false; code: string; message: string; status: number };

export interface S3ObjectSource {
  /** The bytes of an object the caller's account can read, up to `limit` bytes. */
  read(
    ctx: Pick<RequestContext, 'account'>,
    location: { bucket: string; key: string; versionId?: string },
    limit: number,
  ): Promise<S3ReadResult>;
}

export class StoredObjectSource implements S3ObjectSource {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
  ) {}

  async read(
    ctx: Pick<RequestContext, 'account'>,
    location: { bucket: string; key: string; versionId?: string },
    limit: number,
  ): Promise<S3ReadResult> {
    try {
      const caller = { account: ctx.account } as RequestContext;
      await requireBucket(this.store, location.bucket, caller);
      const obj = await requireObject(
        this.store,
        location.bucket,
        location.key,
        location.versionId,
      );
      if (obj.size > limit) {
        return {
          ok: false,
          code: 'EntityTooLarge',
          message: `The object is ${obj.size} bytes, more than ${limit}`,
          status: 400,
        };
      }
      const body = await readStreamingBlob(
        obj.size ? await contentBody(this.blobs, obj.content, 0, obj.size - 1) : Buffer.alloc(0),
        limit,
      );
      return { ok: true, body: body ?? Buffer.alloc(0) };
    } catch (err) {
      if (err instanceof AwsError) {
        return { ok: false, code: err.code, message: err.message, status: err.status };
      }
      throw err;
    }
  }
}

export type S3WriteResult = { ok: true } | { ok: false; code: string; message: string };

/**
 * Writing an object on a caller's behalf (CloudWatch Logs' export tasks): S3's own
 * PutObject, so versioning, notifications and object lock apply as to any other write.
 */
export interface S3ObjectWriter {
  write(
    ctx: RequestContext,
    location: { bucket: string; key: string },
    body: Buffer,
    contentType?: string,
  ): Promise<S3WriteResult>;
}

export class OperationsObjectWriter implements S3ObjectWriter {
  constructor(private readonly put: S3Operations['PutObject']) {}

  async write(
    ctx: RequestContext,
    location: { bucket: string; key: string },
    body: Buffer,
    contentType?: string,
  ): Promise<S3WriteResult> {
    try {
      await this.put(
        {
          Bucket: location.bucket,
          Key: location.key,
          Body: body,
          ContentLength: body.length,
          ContentType: contentType,
        },
        ctx,
      );
      return { ok: true };
    } catch (err) {
      if (err instanceof AwsError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  }
}
