/** Buckets and their configurations (versioning, tagging, CORS, policy, lifecycle, …). */
import type { S3Operations } from '../../api/s3/operations.js';
import { BucketAlreadyExists, BucketAlreadyOwnedByYou } from '../../api/s3/errors.js';
import type {
  BucketLocationConstraint,
  CORSRules,
  LifecycleRules,
  NotificationConfiguration,
} from '../../api/s3/types.js';
import { buildArn } from '../../shared/arn.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import { checkTags, requireBucket, type S3Deps } from './common.js';
import { S3Errors } from './errors.js';
import { hasVersions } from './versions.js';
import { LockErrors, lockEnabled } from './object-lock.js';
import { BUCKETS, OBJECTS, UPLOADS, objectPrefix, type BucketRecord } from './store.js';

type BucketOps = Pick<
  S3Operations,
  | 'CreateBucket'
  | 'HeadBucket'
  | 'ListBuckets'
  | 'DeleteBucket'
  | 'GetBucketLocation'
  | 'PutBucketVersioning'
  | 'GetBucketVersioning'
  | 'PutBucketTagging'
  | 'GetBucketTagging'
  | 'DeleteBucketTagging'
  | 'PutBucketCors'
  | 'GetBucketCors'
  | 'DeleteBucketCors'
  | 'PutBucketPolicy'
  | 'GetBucketPolicy'
  | 'DeleteBucketPolicy'
  | 'PutBucketLifecycleConfiguration'
  | 'GetBucketLifecycleConfiguration'
  | 'DeleteBucketLifecycle'
  | 'GetBucketAcl'
>;

/**
 * "Bucket names must be between 3 and 63 characters long, can consist only of lowercase
 * letters, numbers, periods and hyphens, must begin and end with a letter or number, …
 * must not be formatted as an IP address".
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validBucketName(name: string): boolean {
  return (
    BUCKET_NAME.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  );
}

export function ownerOf(account: string) {
  return { ID: account, DisplayName: 'stratus' };
}

export function bucketOperations(deps: S3Deps): BucketOps {
  const { store } = deps;

  async function update(
    name: string,
    ctx: Parameters<BucketOps['HeadBucket']>[1],
    change: (b: BucketRecord) => void,
  ): Promise<void> {
    await store.transaction(async (tx) => {
      const bucket = await requireBucket(tx, name, ctx);
      change(bucket);
      await tx.put(BUCKETS, name, bucket);
    });
  }

  return {
    async CreateBucket(input, ctx) {
      const name = input.Bucket;
      if (!validBucketName(name)) throw S3Errors.invalidBucketName(name);
      // "If you send your create bucket request to the s3.amazonaws.com endpoint, the
      // request goes to the us-east-1 Region" and a constraint of us-east-1 is refused.
      const constraint: string | undefined = input.CreateBucketConfiguration?.LocationConstraint;
      if (ctx.region === 'us-east-1') {
        if (constraint === 'us-east-1') throw S3Errors.invalidLocationConstraint(constraint);
        if (constraint !== undefined && constraint !== ctx.region) {
          throw S3Errors.illegalLocationConstraint(constraint);
        }
      } else if (constraint !== ctx.region) {
        throw S3Errors.illegalLocationConstraint(constraint);
      }
      const record: BucketRecord = {
        name,
        account: ctx.account,
        region: ctx.region,
        createdAt: deps.now(),
        ownership: input.ObjectOwnership ?? 'BucketOwnerEnforced',
        tags: input.CreateBucketConfiguration?.Tags,
        // "Enabling Object Lock also enables versioning for the bucket."
        ...(input.ObjectLockEnabledForBucket
          ? { versioning: 'Enabled', objectLock: { ObjectLockEnabled: 'Enabled' } }
          : {}),
      };
      const created = await store.insert(BUCKETS, name, record);
      if (!created) {
        const existing = await store.get<BucketRecord>(BUCKETS, name);
        if (existing?.account !== ctx.account) {
          throw new BucketAlreadyExists(
            'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
            { BucketName: name },
          );
        }
        // us-east-1 answers 200 to its owner again (a legacy behaviour AWS keeps).
        if (ctx.region !== 'us-east-1' || existing.region !== 'us-east-1') {
          throw new BucketAlreadyOwnedByYou(
            'Your previous request to create the named bucket succeeded and you already own it.',
            { BucketName: name },
          );
        }
      }
      return { Location: `/${name}`, BucketArn: buildArn('s3', '', '', name) };
    },

    async HeadBucket(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      return {
        BucketRegion: bucket.region,
        BucketArn: buildArn('s3', '', '', bucket.name),
        AccessPointAlias: false,
      };
    },

    async ListBuckets(input, ctx) {
      const max = input.MaxBuckets ?? 10000;
      let after: string | undefined;
      if (input.ContinuationToken !== undefined) {
        const token = decodeToken(input.ContinuationToken);
        if (typeof token !== 'string')
          throw S3Errors.invalidArgument(
            'The continuation token provided is incorrect',
            'continuation-token',
            input.ContinuationToken,
          );
        after = token;
      }
      const rows = await store.list<BucketRecord>(BUCKETS, { after, prefix: input.Prefix });
      const mine = rows
        .map((r) => r.value)
        .filter((b) => b.account === ctx.account)
        .filter((b) => input.BucketRegion === undefined || b.region === input.BucketRegion);
      const page = mine.slice(0, max);
      return {
        Buckets: page.map((b) => ({
          Name: b.name,
          CreationDate: new Date(b.createdAt),
          BucketRegion: b.region,
          BucketArn: buildArn('s3', '', '', b.name),
        })),
        Owner: ownerOf(ctx.account),
        Prefix: input.Prefix,
        ContinuationToken: mine.length > max ? encodeToken(page[page.length - 1].name) : undefined,
      };
    },

    async DeleteBucket(input, ctx) {
      await store.transaction(async (tx) => {
        await requireBucket(tx, input.Bucket, ctx);
        const objects = await tx.list(OBJECTS, { prefix: objectPrefix(input.Bucket), limit: 1 });
        const uploads = await tx.list(UPLOADS, { prefix: objectPrefix(input.Bucket), limit: 1 });
        if (objects.length || uploads.length || (await hasVersions(tx, input.Bucket)))
          throw S3Errors.bucketNotEmpty(input.Bucket);
        await tx.delete(BUCKETS, input.Bucket);
      });
    },

    async GetBucketLocation(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      // us-east-1 buckets answer an empty LocationConstraint.
      return bucket.region === 'us-east-1'
        ? {}
        : { LocationConstraint: bucket.region as BucketLocationConstraint };
    },

    async PutBucketVersioning(input, ctx) {
      const status = input.VersioningConfiguration.Status;
      await update(input.Bucket, ctx, (b) => {
        if (status !== 'Enabled' && lockEnabled(b)) throw LockErrors.versioningLocked();
        if (status !== undefined) b.versioning = status;
      });
    },

    async GetBucketVersioning(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      return bucket.versioning ? { Status: bucket.versioning } : {};
    },

    async PutBucketTagging(input, ctx) {
      const tags = input.Tagging.TagSet;
      checkTags(tags);
      await update(input.Bucket, ctx, (b) => (b.tags = tags));
    },

    async GetBucketTagging(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      if (!bucket.tags?.length) throw S3Errors.noSuchTagSet();
      return { TagSet: bucket.tags };
    },

    async DeleteBucketTagging(input, ctx) {
      await update(input.Bucket, ctx, (b) => delete b.tags);
    },

    async PutBucketCors(input, ctx) {
      await update(input.Bucket, ctx, (b) => (b.cors = input.CORSConfiguration.CORSRules));
    },

    async GetBucketCors(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      if (!bucket.cors) throw S3Errors.noSuchCors(input.Bucket);
      return { CORSRules: bucket.cors as CORSRules };
    },

    async DeleteBucketCors(input, ctx) {
      await update(input.Bucket, ctx, (b) => delete b.cors);
    },

    // Stored, and given back; evaluated once IAM policy evaluation exists.
    async PutBucketPolicy(input, ctx) {
      if (!isJsonObject(input.Policy)) throw S3Errors.malformedPolicy();
      await update(input.Bucket, ctx, (b) => (b.policy = input.Policy));
    },

    async GetBucketPolicy(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      if (bucket.policy === undefined) throw S3Errors.noSuchPolicy(input.Bucket);
      return { Policy: bucket.policy };
    },

    async DeleteBucketPolicy(input, ctx) {
      await update(input.Bucket, ctx, (b) => delete b.policy);
    },

    async PutBucketLifecycleConfiguration(input, ctx) {
      await update(input.Bucket, ctx, (b) => (b.lifecycle = input.LifecycleConfiguration?.Rules));
      return {};
    },

    async GetBucketLifecycleConfiguration(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      if (!bucket.lifecycle) throw S3Errors.noSuchLifecycle(input.Bucket);
      return { Rules: bucket.lifecycle as LifecycleRules };
    },

    async DeleteBucketLifecycle(input, ctx) {
      await update(input.Bucket, ctx, (b) => delete b.lifecycle);
    },

    async GetBucketAcl(input, ctx) {
      await requireBucket(store, input.Bucket, ctx);
      const owner = ownerOf(ctx.account);
      return {
        Owner: owner,
        Grants: [
          {
            Grantee: { Type: 'CanonicalUser', ID: owner.ID, DisplayName: owner.DisplayName },
            Permission: 'FULL_CONTROL',
          },
        ],
      };
    },
  };
}

export function notificationConfig(bucket: BucketRecord): NotificationConfiguration {
  return (bucket.notification as NotificationConfiguration | undefined) ?? {};
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
