/**
 * Object ACLs: canned ACLs (`x-amz-acl` on PutObject, CopyObject, CreateMultipartUpload and
 * PutObjectAcl) and explicit grants (PutObjectAcl's AccessControlPolicy) are stored with the
 * object version and given back by GetObjectAcl. They grant nothing here (one owner per
 * bucket; IAM decides). A bucket whose ObjectOwnership is BucketOwnerEnforced (the default
 * for new buckets) refuses every ACL but `bucket-owner-full-control`, as S3 does.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
 */
import type { S3Operations } from '../../api/s3/operations.js';
import type { Grant, ObjectCannedACL } from '../../api/s3/types.js';
import { AwsError } from '../../shared/errors.js';
import { ownerOf } from './buckets.js';
import { requireBucket, requireObject, type S3Deps } from './common.js';
import { S3Errors } from './errors.js';
import { OBJECTS, objectKey, type BucketRecord, type ObjectRecord } from './store.js';
import { findVersion } from './versions.js';

type AclOps = Pick<S3Operations, 'GetObjectAcl' | 'PutObjectAcl'>;

const CANNED: readonly ObjectCannedACL[] = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
];

const group = (name: string) => ({
  Type: 'Group' as const,
  URI: `http://acs.amazonaws.com/groups/global/${name}`,
});

/** The grants a canned ACL stands for (object owner = bucket owner here). */
export function cannedGrants(acl: ObjectCannedACL, account: string): Grant[] {
  const owner = ownerOf(account);
  const me = { Type: 'CanonicalUser' as const, ID: owner.ID, DisplayName: owner.DisplayName };
  const grants: Grant[] = [{ Grantee: me, Permission: 'FULL_CONTROL' }];
  switch (acl) {
    case 'public-read':
      grants.push({ Grantee: group('AllUsers'), Permission: 'READ' });
      break;
    case 'public-read-write':
      grants.push(
        { Grantee: group('AllUsers'), Permission: 'READ' },
        { Grantee: group('AllUsers'), Permission: 'WRITE' },
      );
      break;
    case 'authenticated-read':
      grants.push({ Grantee: group('AuthenticatedUsers'), Permission: 'READ' });
      break;
    case 'bucket-owner-read':
      grants.push({ Grantee: me, Permission: 'READ' });
      break;
    case 'bucket-owner-full-control':
      grants.push({ Grantee: me, Permission: 'FULL_CONTROL' });
      break;
    default:
      break;
  }
  return grants;
}

const aclsNotSupported = () =>
  new AwsError('AccessControlListNotSupported', 400, true, 'The bucket does not allow ACLs');

/**
 * The canned ACL a write asks for, checked against the bucket: undefined when none (or the
 * default `private`) was asked for.
 */
export function requestedAcl(
  bucket: BucketRecord,
  acl: string | undefined,
): ObjectCannedACL | undefined {
  if (acl === undefined) return undefined;
  if (!CANNED.includes(acl as ObjectCannedACL))
    throw S3Errors.invalidArgument('', 'x-amz-acl', acl);
  if (
    (bucket.ownership ?? 'BucketOwnerEnforced') === 'BucketOwnerEnforced' &&
    acl !== 'bucket-owner-full-control'
  ) {
    throw aclsNotSupported();
  }
  return acl === 'private' ? undefined : (acl as ObjectCannedACL);
}

export function aclOperations(deps: S3Deps): AclOps {
  const { store } = deps;
  return {
    async GetObjectAcl(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const obj = await requireObject(store, input.Bucket, input.Key, input.VersionId);
      return {
        Owner: ownerOf(bucket.account),
        Grants: obj.grants ?? cannedGrants(obj.acl ?? 'private', bucket.account),
      };
    },

    async PutObjectAcl(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const grants = input.AccessControlPolicy?.Grants;
      if (input.ACL === undefined && grants === undefined) throw S3Errors.malformedXml();
      if (
        grants !== undefined &&
        (bucket.ownership ?? 'BucketOwnerEnforced') === 'BucketOwnerEnforced'
      )
        throw aclsNotSupported();
      const acl = requestedAcl(bucket, input.ACL);
      await store.transaction(async (tx) => {
        const current = await requireObject(tx, input.Bucket, input.Key, input.VersionId, 'PUT');
        const found =
          input.VersionId === undefined
            ? undefined
            : await findVersion(tx, input.Bucket, input.Key, input.VersionId);
        const next: ObjectRecord = { ...current, acl, grants };
        if (next.acl === undefined) delete next.acl;
        if (next.grants === undefined) delete next.grants;
        if (found) await tx.put(found.table, found.storeKey, next);
        else await tx.put(OBJECTS, objectKey(input.Bucket, input.Key), next);
      });
      return {};
    },
  };
}
