/**
 * Where S3 reports object events (s3:ObjectCreated:*, s3:ObjectRemoved:*): behind this
 * small interface, so that Lambda targets and the EventBridge bus can plug in without
 * S3's operations knowing them.
 */
import type { NotificationConfiguration } from '../../api/s3/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { BucketRecord, ObjectRecord } from './store.js';

export type S3EventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectRemoved:Delete'
  | 'ObjectRemoved:DeleteMarkerCreated';

export interface S3ObjectEvent {
  name: S3EventName;
  bucket: BucketRecord;
  /** The object as stored (created), or its key and last state (removed). */
  object: Pick<ObjectRecord, 'key' | 'size' | 'etag' | 'versionId'>;
  requestId: string;
  sourceIp?: string;
  principalId: string;
  time: number;
}

export interface S3Notifier {
  /** Called after the change is committed. Must not throw into the request. */
  notify(event: S3ObjectEvent): void;
  /**
   * Checks a configuration's destinations before it is stored (S3's "Unable to validate
   * the following destination configurations"); throws the AwsError to answer.
   */
  validate(config: NotificationConfiguration, ctx: RequestContext): Promise<void>;
}

/** No notification targets: nothing delivered, nothing to check. */
export const NO_NOTIFICATIONS: S3Notifier = {
  notify: () => undefined,
  validate: async () => undefined,
};
