import type { S3Operations } from '../../api/s3/operations.js';
import { aclOperations } from './acl.js';
import { bucketOperations } from './buckets.js';
import type { S3Deps } from './common.js';
import { listingOperations } from './listing.js';
import { lockOperations } from './object-lock.js';
import { multipartOperations } from './multipart.js';
import { notificationOperations } from './notification-config.js';
import { metricsConfigOperations } from './metrics-config.js';
import { objectOperations } from './objects.js';

/** `metricsChanged`: a bucket's metrics configurations changed (request metrics re-read them). */
export function s3Operations(
  deps: S3Deps,
  metricsChanged: (bucket: string) => void = () => undefined,
): Partial<S3Operations> {
  return {
    ...metricsConfigOperations(deps, metricsChanged),
    ...bucketOperations(deps),
    ...objectOperations(deps),
    ...listingOperations(deps),
    ...multipartOperations(deps),
    ...notificationOperations(deps),
    ...aclOperations(deps),
    ...lockOperations(deps),
  };
}
