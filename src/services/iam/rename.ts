/**
 * UpdateUser and UpdateGroup: a new name and/or path. Everything keyed by the name (group
 * memberships, inline and attached policies, login profile, SSH keys, service credentials,
 * signing certificates, MFA assignments, access keys) follows the rename in one
 * transaction; the unique id stays and the ARN changes. AWS does not rewrite policies that
 * name the old ARN ("IAM does not automatically update policies that refer to the user").
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_manage.html#id_users_renaming
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups_manage_rename.html
 */
import { EntityAlreadyExistsException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { MetadataOps } from '../../storage/types.js';
import { iamArn } from './arns.js';
import type { IamDeps } from './common.js';
import type { MfaDeviceRecord } from './mfa.js';
import { getGroup, getUser } from './owners.js';
import {
  memberKey,
  nameKey,
  ownerPrefix,
  T,
  userGroupKey,
  type AccessKeyRecord,
  type AttachmentRecord,
  type MembershipRecord,
} from './store.js';

type RenameOps = Pick<IamOperations, 'UpdateUser' | 'UpdateGroup'>;

/**
 * Moves every row of `table` under `from` to the same suffix under `to`, letting `edit`
 * rewrite the value (the names it holds).
 */
async function moveRows<V>(
  tx: MetadataOps,
  table: string,
  from: string,
  to: string,
  edit: (v: V) => V = (v) => v,
): Promise<void> {
  if (from === to) {
    for (const row of await tx.list<V>(table, { prefix: from })) {
      await tx.put(table, row.key, edit(row.value));
    }
    return;
  }
  for (const row of await tx.list<V>(table, { prefix: from })) {
    await tx.delete(table, row.key);
    await tx.put(table, to + row.key.slice(from.length), edit(row.value));
  }
}

/** Moves the one row at `from` (if any) to `to`. */
async function moveRow<V>(
  tx: MetadataOps,
  table: string,
  from: string,
  to: string,
  edit: (v: V) => V,
): Promise<void> {
  const v = await tx.get<V>(table, from);
  if (v === undefined) return;
  if (from !== to) await tx.delete(table, from);
  await tx.put(table, to, edit(v));
}

export function renameOperations(deps: IamDeps): RenameOps {
  const { store, keys } = deps;
  return {
    async UpdateUser(input, ctx) {
      const account = ctx.account;
      const moved = await store.transaction(async (tx) => {
        const user = await getUser(tx, account, input.UserName);
        const oldName = user.name;
        const newName = input.NewUserName ?? oldName;
        const sameKey = oldName.toLowerCase() === newName.toLowerCase();
        if (!sameKey && (await tx.get(T.users, nameKey(account, newName)))) {
          throw new EntityAlreadyExistsException(`User with name ${newName} already exists.`);
        }
        user.name = newName;
        user.path = input.NewPath ?? user.path;
        user.arn = iamArn(account, 'user', user.path, newName);
        if (!sameKey) await tx.delete(T.users, nameKey(account, oldName));
        await tx.put(T.users, nameKey(account, newName), user);

        type Owned = { user?: string };
        const renamed = (v: Owned): Owned => ({ ...v, user: newName });
        const oldMine = `${account}/${oldName.toLowerCase()}/`;
        const newMine = `${account}/${newName.toLowerCase()}/`;
        for (const m of await tx.list<MembershipRecord>(T.userGroups, { prefix: oldMine })) {
          await tx.put(
            T.groupMembers,
            memberKey(account, m.value.group, newName),
            renamed(m.value),
          );
          if (!sameKey) await tx.delete(T.groupMembers, memberKey(account, m.value.group, oldName));
        }
        await moveRows<Owned>(tx, T.userGroups, oldMine, newMine, renamed);
        await moveRows<AttachmentRecord>(
          tx,
          T.attached,
          ownerPrefix(account, 'user', oldName),
          ownerPrefix(account, 'user', newName),
          (a) => ({ ...a, owner: newName }),
        );
        await moveRows(
          tx,
          T.inline,
          ownerPrefix(account, 'user', oldName),
          ownerPrefix(account, 'user', newName),
        );
        await moveRow<Owned>(
          tx,
          T.loginProfiles,
          nameKey(account, oldName),
          nameKey(account, newName),
          renamed,
        );
        for (const table of [T.sshKeys, T.serviceCredentials, T.signingCertificates]) {
          await moveRows<Owned>(tx, table, oldMine, newMine, renamed);
        }
        for (const d of await tx.list<MfaDeviceRecord>(T.mfaDevices, { prefix: `${account}/` })) {
          if (d.value.user?.toLowerCase() === oldName.toLowerCase()) {
            await tx.put(T.mfaDevices, d.key, renamed(d.value));
          }
        }
        const accessKeys: AccessKeyRecord[] = [];
        for (const id of user.accessKeyIds) {
          const key = await tx.get<AccessKeyRecord>(T.accessKeys, id);
          if (!key) continue;
          const updated = { ...key, userName: newName, userArn: user.arn };
          await tx.put(T.accessKeys, id, updated);
          accessKeys.push(updated);
        }
        return accessKeys;
      });
      // Strict mode authenticates keys through the index: callers' ARNs follow the rename.
      for (const k of moved) keys.put(k);
    },

    async UpdateGroup(input, ctx) {
      const account = ctx.account;
      await store.transaction(async (tx) => {
        const group = await getGroup(tx, account, input.GroupName);
        const oldName = group.name;
        const newName = input.NewGroupName ?? oldName;
        const sameKey = oldName.toLowerCase() === newName.toLowerCase();
        if (!sameKey && (await tx.get(T.groups, nameKey(account, newName)))) {
          throw new EntityAlreadyExistsException(`Group with name ${newName} already exists.`);
        }
        group.name = newName;
        group.path = input.NewPath ?? group.path;
        group.arn = iamArn(account, 'group', group.path, newName);
        if (!sameKey) await tx.delete(T.groups, nameKey(account, oldName));
        await tx.put(T.groups, nameKey(account, newName), group);

        const renamed = (m: MembershipRecord): MembershipRecord => ({ ...m, group: newName });
        const oldMembers = `${account}/${oldName.toLowerCase()}/`;
        for (const m of await tx.list<MembershipRecord>(T.groupMembers, { prefix: oldMembers })) {
          if (!sameKey) await tx.delete(T.userGroups, userGroupKey(account, m.value.user, oldName));
          await tx.put(
            T.userGroups,
            userGroupKey(account, m.value.user, newName),
            renamed(m.value),
          );
        }
        await moveRows(
          tx,
          T.groupMembers,
          oldMembers,
          `${account}/${newName.toLowerCase()}/`,
          renamed,
        );
        await moveRows<AttachmentRecord>(
          tx,
          T.attached,
          ownerPrefix(account, 'group', oldName),
          ownerPrefix(account, 'group', newName),
          (a) => ({ ...a, owner: newName }),
        );
        await moveRows(
          tx,
          T.inline,
          ownerPrefix(account, 'group', oldName),
          ownerPrefix(account, 'group', newName),
        );
      });
    },
  };
}
