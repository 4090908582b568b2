import type { S3Operations } from '../../api/s3/operations.js';
import { aclOperations } from './acl.js';
import { bucketOperations } from './buckets.js';
import type { S3Deps } from './common.js';
import { listingOperations } from './listing.js';
import { lockOperations } from './object-lock.js';
import { multipartOperations } from './multipart.js';
import { notificationOperations } from './notification-config.js';
import { objectOperations } from './objects.js';

export function s3Operations(deps: S3Deps): Partial<S3Operations> {
  return {
    ...bucketOperations(deps),
    ...objectOperations(deps),
    ...listingOperations(deps),
    ...multipartOperations(deps),
    ...notificationOperations(deps),
    ...aclOperations(deps),
    ...lockOperations(deps),
  };
}
