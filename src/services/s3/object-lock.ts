/**
 * Object Lock: a bucket's configuration (enabled at creation or on a versioned bucket, with
 * an optional default retention), a version's retention (GOVERNANCE or COMPLIANCE until a
 * date) and legal hold. A locked version cannot be deleted by version id (GOVERNANCE gives
 * way to `x-amz-bypass-governance-retention`); deletes without a version id only add a
 * delete marker, as on S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
import type { S3Operations } from '../../api/s3/operations.js';
import type {
  ObjectLockConfiguration,
  ObjectLockLegalHoldStatus,
  ObjectLockMode,
} from '../../api/s3/types.js';
import { AwsError } from '../../shared/errors.js';
import { requireBucket, requireObject, type S3Deps } from './common.js';
import { S3Errors } from './errors.js';
import {
  BUCKETS,
  OBJECTS,
  objectKey,
  type BucketRecord,
  type ObjectRecord,
  type VersionEntry,
} from './store.js';
import { findVersion } from './versions.js';

type LockOps = Pick<
  S3Operations,
  | 'PutObjectLockConfiguration'
  | 'GetObjectLockConfiguration'
  | 'PutObjectRetention'
  | 'GetObjectRetention'
  | 'PutObjectLegalHold'
  | 'GetObjectLegalHold'
>;

const DAY_MS = 24 * 3600 * 1000;

const e = (code: string, status: number, message: string) =>
  new AwsError(code, status, true, message);

export const LockErrors = {
  missingConfiguration: () =>
    e('InvalidRequest', 400, 'Bucket is missing Object Lock Configuration'),
  versioningRequired: () =>
    e(
      'InvalidBucketState',
      409,
      "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    ),
  versioningLocked: () =>
    e(
      'InvalidBucketState',
      409,
      'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
    ),
  noRetention: () =>
    e(
      'NoSuchObjectLockConfiguration',
      404,
      'The specified object does not have a ObjectLock configuration',
    ),
  protected: () => e('AccessDenied', 403, 'Access Denied because object protected by object lock.'),
} as const;

export const lockEnabled = (bucket: BucketRecord) =>
  bucket.objectLock?.ObjectLockEnabled === 'Enabled';

/** A write's lock settings: explicit ones, else the bucket's default retention. */
export function lockOnWrite(
  bucket: BucketRecord,
  input: {
    ObjectLockMode?: ObjectLockMode;
    ObjectLockRetainUntilDate?: Date;
    ObjectLockLegalHoldStatus?: ObjectLockLegalHoldStatus;
  },
  now: number,
): Pick<ObjectRecord, 'retention' | 'legalHold'> {
  const explicit =
    input.ObjectLockMode !== undefined ||
    input.ObjectLockRetainUntilDate !== undefined ||
    input.ObjectLockLegalHoldStatus !== undefined;
  if (!lockEnabled(bucket)) {
    if (explicit) throw LockErrors.missingConfiguration();
    return {};
  }
  const out: Pick<ObjectRecord, 'retention' | 'legalHold'> = {};
  if (input.ObjectLockMode !== undefined || input.ObjectLockRetainUntilDate !== undefined) {
    if (input.ObjectLockMode === undefined || input.ObjectLockRetainUntilDate === undefined) {
      throw S3Errors.invalidArgument(
        'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      );
    }
    out.retention = {
      Mode: input.ObjectLockMode,
      RetainUntilDate: input.ObjectLockRetainUntilDate.getTime(),
    };
  } else {
    const d = bucket.objectLock?.Rule?.DefaultRetention;
    if (d?.Mode) {
      const days = (d.Days ?? 0) + (d.Years ?? 0) * 365;
      out.retention = { Mode: d.Mode, RetainUntilDate: now + days * DAY_MS };
    }
  }
  if (input.ObjectLockLegalHoldStatus === 'ON') out.legalHold = 'ON';
  return out;
}

/** Refuses a permanent delete of a locked version. */
export function checkDeletable(entry: VersionEntry, bypassGovernance: boolean, now: number): void {
  if (entry.deleteMarker) return;
  if (entry.legalHold === 'ON') throw LockErrors.protected();
  const r = entry.retention;
  if (r && r.RetainUntilDate > now && !(r.Mode === 'GOVERNANCE' && bypassGovernance)) {
    throw LockErrors.protected();
  }
}

export function lockOperations(deps: S3Deps): LockOps {
  const { store } = deps;

  /** Changes one version's record where it is kept. */
  async function updateVersion(
    input: { Bucket: string; Key: string; VersionId?: string },
    ctx: Parameters<LockOps['PutObjectRetention']>[1],
    change: (bucket: BucketRecord, obj: ObjectRecord) => void,
  ): Promise<void> {
    await store.transaction(async (tx) => {
      const bucket = await requireBucket(tx, input.Bucket, ctx);
      if (!lockEnabled(bucket)) throw LockErrors.missingConfiguration();
      const obj = await requireObject(tx, input.Bucket, input.Key, input.VersionId, 'PUT');
      change(bucket, obj);
      const found =
        input.VersionId === undefined
          ? undefined
          : await findVersion(tx, input.Bucket, input.Key, input.VersionId);
      if (found) await tx.put(found.table, found.storeKey, obj);
      else await tx.put(OBJECTS, objectKey(input.Bucket, input.Key), obj);
    });
  }

  async function lockedObject(
    input: { Bucket: string; Key: string; VersionId?: string },
    ctx: Parameters<LockOps['GetObjectRetention']>[1],
  ): Promise<ObjectRecord> {
    const bucket = await requireBucket(store, input.Bucket, ctx);
    if (!lockEnabled(bucket)) throw LockErrors.missingConfiguration();
    return requireObject(store, input.Bucket, input.Key, input.VersionId);
  }

  return {
    async PutObjectLockConfiguration(input, ctx) {
      const config: ObjectLockConfiguration = input.ObjectLockConfiguration ?? {};
      if (config.ObjectLockEnabled !== 'Enabled') throw S3Errors.malformedXml();
      const d = config.Rule?.DefaultRetention;
      if (d && (!d.Mode || (d.Days === undefined) === (d.Years === undefined))) {
        throw S3Errors.malformedXml();
      }
      await store.transaction(async (tx) => {
        const bucket = await requireBucket(tx, input.Bucket, ctx);
        if (bucket.versioning !== 'Enabled') throw LockErrors.versioningRequired();
        bucket.objectLock = config;
        await tx.put(BUCKETS, bucket.name, bucket);
      });
      return {};
    },

    async GetObjectLockConfiguration(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      if (!bucket.objectLock) throw S3Errors.noObjectLock(input.Bucket);
      return { ObjectLockConfiguration: bucket.objectLock };
    },

    async PutObjectRetention(input, ctx) {
      const wanted = input.Retention;
      await updateVersion(input, ctx, (_bucket, obj) => {
        const now = deps.now();
        const current = obj.retention;
        // COMPLIANCE cannot be shortened or weakened; GOVERNANCE only with the bypass.
        const shortening =
          current &&
          current.RetainUntilDate > now &&
          (wanted?.Mode !== current.Mode ||
            (wanted.RetainUntilDate?.getTime() ?? 0) < current.RetainUntilDate);
        if (
          shortening &&
          (current.Mode === 'COMPLIANCE' || input.BypassGovernanceRetention !== true)
        ) {
          throw LockErrors.protected();
        }
        if (wanted?.Mode && wanted.RetainUntilDate) {
          obj.retention = { Mode: wanted.Mode, RetainUntilDate: wanted.RetainUntilDate.getTime() };
        } else {
          delete obj.retention;
        }
      });
      return {};
    },

    async GetObjectRetention(input, ctx) {
      const obj = await lockedObject(input, ctx);
      if (!obj.retention) throw LockErrors.noRetention();
      return {
        Retention: {
          Mode: obj.retention.Mode,
          RetainUntilDate: new Date(obj.retention.RetainUntilDate),
        },
      };
    },

    async PutObjectLegalHold(input, ctx) {
      await updateVersion(input, ctx, (_bucket, obj) => {
        if (input.LegalHold?.Status === 'ON') obj.legalHold = 'ON';
        else delete obj.legalHold;
      });
      return {};
    },

    async GetObjectLegalHold(input, ctx) {
      const obj = await lockedObject(input, ctx);
      return { LegalHold: { Status: obj.legalHold ?? 'OFF' } };
    },
  };
}
