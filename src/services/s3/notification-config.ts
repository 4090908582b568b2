/** Bucket notification configurations: stored, and read by the notifier (notifications.ts). */
import type { S3Operations } from '../../api/s3/operations.js';
import { notificationConfig } from './buckets.js';
import { requireBucket, type S3Deps } from './common.js';
import { BUCKETS } from './store.js';

type NotificationOps = Pick<
  S3Operations,
  'PutBucketNotificationConfiguration' | 'GetBucketNotificationConfiguration'
>;

export function notificationOperations(deps: S3Deps): NotificationOps {
  const { store } = deps;
  return {
    async PutBucketNotificationConfiguration(input, ctx) {
      const config = input.NotificationConfiguration;
      await requireBucket(store, input.Bucket, ctx);
      if (!input.SkipDestinationValidation) await deps.notifier.validate(config, input.Bucket, ctx);
      // Each configuration gets an Id when it has none, as S3 assigns one.
      for (const c of config.LambdaFunctionConfigurations ?? []) c.Id ??= randomId();
      await store.transaction(async (tx) => {
        const bucket = await requireBucket(tx, input.Bucket, ctx);
        bucket.notification = config;
        await tx.put(BUCKETS, bucket.name, bucket);
      });
    },

    async GetBucketNotificationConfiguration(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      return notificationConfig(bucket);
    },
  };
}

function randomId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url');
}
