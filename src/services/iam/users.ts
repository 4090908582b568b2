/**
 * Users and their access keys. Keys are what strict mode authenticates with, so every
 * committed key change is mirrored into the AccessKeyIndex right after its transaction.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
 */
import {
  DeleteConflictException,
  EntityAlreadyExistsException,
  LimitExceededException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { AccessKeyMetadata, User } from '../../api/iam/types.js';
import type { Principal, RequestContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import type { MetadataOps } from '../../storage/types.js';
import { iamArn } from './arns.js';
import { timestamp, type IamDeps } from './common.js';
import { accessKeyId, secretAccessKey, uniqueId } from '../../shared/aws-ids.js';
import { getUser, userOutput } from './owners.js';
import { pageArray, pageStore } from './paging.js';
import { checkPermissionsBoundary } from './policies.js';
import { tagPosition } from './roles.js';
import { nameKey, ownerPrefix, T, type AccessKeyRecord, type UserRecord } from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

/** AccessKeysPerUser quota. */
const MAX_KEYS = 2;

type UserOps = Pick<
  IamOperations,
  | 'CreateUser'
  | 'GetUser'
  | 'PutUserPermissionsBoundary'
  | 'DeleteUserPermissionsBoundary'
  | 'ListUsers'
  | 'DeleteUser'
  | 'TagUser'
  | 'UntagUser'
  | 'ListUserTags'
  | 'CreateAccessKey'
  | 'ListAccessKeys'
  | 'UpdateAccessKey'
  | 'DeleteAccessKey'
>;

/** The IAM user name behind a caller, when the caller is an IAM user. */
function callerUserName(principal: Principal): string | undefined {
  const at = principal.arn.indexOf(':user/');
  return at < 0 ? undefined : principal.arn.slice(principal.arn.lastIndexOf('/') + 1);
}

/** UserName, or the calling user when omitted ("defaults to the user making the request"). */
function userNameOrCaller(name: string | undefined, ctx: RequestContext): string {
  if (name !== undefined) return name;
  const caller = callerUserName(ctx.principal);
  if (caller === undefined) {
    throw new AwsError(
      'ValidationError',
      400,
      true,
      'Must specify userName when calling with non-User credentials',
    );
  }
  return caller;
}

const keyNotFound = (id: string) =>
  new NoSuchEntityException(`The Access Key with id ${id} cannot be found.`);

async function getUsersKey(
  ops: MetadataOps,
  account: string,
  userName: string,
  keyId: string,
): Promise<{ user: UserRecord; key: AccessKeyRecord }> {
  const user = await getUser(ops, account, userName);
  const key = await ops.get<AccessKeyRecord>(T.accessKeys, keyId);
  if (!key || key.account !== account || key.userName !== user.name) throw keyNotFound(keyId);
  return { user, key };
}

function keyMetadata(k: AccessKeyRecord): AccessKeyMetadata {
  return {
    UserName: k.userName,
    AccessKeyId: k.accessKeyId,
    Status: k.status,
    CreateDate: new Date(k.created),
  };
}

export function userOperations(deps: IamDeps): UserOps {
  const { store, keys } = deps;

  const updateUser = (account: string, name: string, change: (u: UserRecord) => void) =>
    store.transaction(async (tx) => {
      const user = await getUser(tx, account, name);
      change(user);
      await tx.put(T.users, nameKey(account, user.name), user);
    });

  return {
    async PutUserPermissionsBoundary(input, ctx) {
      await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, input.UserName);
        await checkPermissionsBoundary(tx, ctx.account, input.PermissionsBoundary);
        user.permissionsBoundary = input.PermissionsBoundary;
        await tx.put(T.users, nameKey(ctx.account, user.name), user);
      });
    },

    async DeleteUserPermissionsBoundary(input, ctx) {
      await updateUser(ctx.account, input.UserName, (u) => {
        delete u.permissionsBoundary;
      });
    },

    async CreateUser(input, ctx) {
      const path = input.Path ?? '/';
      const user: UserRecord = {
        path,
        name: input.UserName,
        id: uniqueId('AIDA'),
        arn: iamArn(ctx.account, 'user', path, input.UserName),
        created: timestamp(deps),
        tags: checkTags(input.Tags),
        accessKeyIds: [],
      };
      await store.transaction(async (tx) => {
        if (input.PermissionsBoundary !== undefined) {
          await checkPermissionsBoundary(tx, ctx.account, input.PermissionsBoundary);
          user.permissionsBoundary = input.PermissionsBoundary;
        }
        if (!(await tx.insert(T.users, nameKey(ctx.account, user.name), user))) {
          throw new EntityAlreadyExistsException(`User with name ${user.name} already exists.`);
        }
      });
      return { User: userOutput(user, true) };
    },

    async GetUser(input, ctx) {
      if (input.UserName === undefined && ctx.principal.arn.endsWith(':root')) {
        // The root user has no name or path; AWS answers with its ARN and account id.
        const root = { UserId: ctx.account, Arn: ctx.principal.arn, CreateDate: new Date(0) };
        return { User: root as User };
      }
      const user = await getUser(store, ctx.account, userNameOrCaller(input.UserName, ctx));
      return { User: userOutput(user, true) };
    },

    async ListUsers(input, ctx) {
      const prefix = input.PathPrefix ?? '/';
      const page = await pageStore<UserRecord>(
        store,
        T.users,
        `${ctx.account}/`,
        input.Marker,
        input.MaxItems,
        prefix === '/' ? undefined : (u) => u.path.startsWith(prefix),
      );
      return {
        Users: page.items.map((u) => userOutput(u, false)),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async DeleteUser(input, ctx) {
      await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, input.UserName);
        const owned = ownerPrefix(ctx.account, 'user', user.name);
        if (user.accessKeyIds.length > 0) {
          throw new DeleteConflictException('Cannot delete entity, must delete access keys first.');
        }
        if ((await tx.count(T.userGroups, `${ctx.account}/${user.name.toLowerCase()}/`)) > 0) {
          throw new DeleteConflictException(
            'Cannot delete entity, must remove users from all groups first.',
          );
        }
        if ((await tx.count(T.attached, owned)) > 0) {
          throw new DeleteConflictException(
            'Cannot delete entity, must detach all policies first.',
          );
        }
        if ((await tx.count(T.inline, owned)) > 0) {
          throw new DeleteConflictException('Cannot delete entity, must delete policies first.');
        }
        const mine = `${ctx.account}/${user.name.toLowerCase()}`;
        if (await tx.get(T.loginProfiles, mine)) {
          throw new DeleteConflictException(
            'Cannot delete entity, must delete login profile first.',
          );
        }
        for (const [table, what] of [
          [T.sshKeys, 'SSH public keys'],
          [T.serviceCredentials, 'service specific credentials'],
          [T.signingCertificates, 'signing certificates'],
        ] as const) {
          if ((await tx.count(table, `${mine}/`)) > 0) {
            throw new DeleteConflictException(`Cannot delete entity, must delete ${what} first.`);
          }
        }
        const devices = await tx.list<{ user?: string }>(T.mfaDevices, {
          prefix: `${ctx.account}/`,
        });
        if (devices.some((d) => d.value.user?.toLowerCase() === user.name.toLowerCase())) {
          throw new DeleteConflictException('Cannot delete entity, must delete MFA device first.');
        }
        await tx.delete(T.users, nameKey(ctx.account, user.name));
      });
    },

    async TagUser(input, ctx) {
      await updateUser(ctx.account, input.UserName, (u) => {
        u.tags = mergeTags(u.tags, input.Tags, 'User');
      });
    },

    async UntagUser(input, ctx) {
      await updateUser(ctx.account, input.UserName, (u) => {
        u.tags = removeTags(u.tags, input.TagKeys);
      });
    },

    async ListUserTags(input, ctx) {
      const user = await getUser(store, ctx.account, input.UserName);
      const page = pageArray(user.tags, tagPosition(user.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async CreateAccessKey(input, ctx) {
      const userName = userNameOrCaller(input.UserName, ctx);
      const record = await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, userName);
        if (user.accessKeyIds.length >= MAX_KEYS) {
          throw new LimitExceededException(
            `Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS}`,
          );
        }
        const key: AccessKeyRecord = {
          accessKeyId: accessKeyId('AKIA', ctx.account),
          secretAccessKey: secretAccessKey(),
          status: 'Active',
          created: timestamp(deps),
          account: ctx.account,
          userName: user.name,
          userArn: user.arn,
          userId: user.id,
        };
        if (!(await tx.insert(T.accessKeys, key.accessKeyId, key))) {
          throw new Error('access key id collision'); // 2^80 space: never in practice
        }
        user.accessKeyIds.push(key.accessKeyId);
        await tx.put(T.users, nameKey(ctx.account, user.name), user);
        return key;
      });
      keys.put(record);
      return {
        AccessKey: {
          UserName: record.userName,
          AccessKeyId: record.accessKeyId,
          Status: record.status,
          SecretAccessKey: record.secretAccessKey,
          CreateDate: new Date(record.created),
        },
      };
    },

    async ListAccessKeys(input, ctx) {
      const user = await getUser(store, ctx.account, userNameOrCaller(input.UserName, ctx));
      const AccessKeyMetadata: AccessKeyMetadata[] = [];
      for (const id of user.accessKeyIds) {
        const key = await store.get<AccessKeyRecord>(T.accessKeys, id);
        if (key) AccessKeyMetadata.push(keyMetadata(key));
      }
      return { AccessKeyMetadata, IsTruncated: false };
    },

    async UpdateAccessKey(input, ctx) {
      const userName = userNameOrCaller(input.UserName, ctx);
      const status = input.Status;
      if (status !== 'Active' && status !== 'Inactive') {
        // 'Expired' is in the model's enum but only AWS sets it.
        throw new AwsError('ValidationError', 400, true, `Invalid status: ${status}`);
      }
      const record = await store.transaction(async (tx) => {
        const { key } = await getUsersKey(tx, ctx.account, userName, input.AccessKeyId);
        key.status = status;
        await tx.put(T.accessKeys, key.accessKeyId, key);
        return key;
      });
      keys.put(record);
    },

    async DeleteAccessKey(input, ctx) {
      const userName = userNameOrCaller(input.UserName, ctx);
      await store.transaction(async (tx) => {
        const { user, key } = await getUsersKey(tx, ctx.account, userName, input.AccessKeyId);
        await tx.delete(T.accessKeys, key.accessKeyId);
        user.accessKeyIds = user.accessKeyIds.filter((id) => id !== key.accessKeyId);
        await tx.put(T.users, nameKey(ctx.account, user.name), user);
      });
      keys.remove(input.AccessKeyId);
    },
  };
}
