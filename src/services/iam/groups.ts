/**
 * IAM groups: a user's identity-based policies include those of every group it belongs to
 * ("Any user in a group automatically has the permissions that are assigned to the group").
 * Inline and attached group policies are in inline.ts and policies.ts.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
 */
import { DeleteConflictException, EntityAlreadyExistsException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import { uniqueId } from '../../shared/aws-ids.js';
import { iamArn } from './arns.js';
import { timestamp, type IamDeps } from './common.js';
import { getGroup, getUser, groupOutput, userOutput } from './owners.js';
import { pageStore } from './paging.js';
import {
  memberKey,
  nameKey,
  ownerPrefix,
  T,
  userGroupKey,
  type GroupRecord,
  type MembershipRecord,
  type UserRecord,
} from './store.js';

type GroupOps = Pick<
  IamOperations,
  | 'CreateGroup'
  | 'GetGroup'
  | 'ListGroups'
  | 'DeleteGroup'
  | 'AddUserToGroup'
  | 'RemoveUserFromGroup'
  | 'ListGroupsForUser'
>;

export function groupOperations(deps: IamDeps): GroupOps {
  const { store } = deps;
  return {
    async CreateGroup(input, ctx) {
      const path = input.Path ?? '/';
      const group: GroupRecord = {
        path,
        name: input.GroupName,
        id: uniqueId('AGPA'),
        arn: iamArn(ctx.account, 'group', path, input.GroupName),
        created: timestamp(deps),
      };
      const inserted = await store.insert(T.groups, nameKey(ctx.account, group.name), group);
      if (!inserted) {
        throw new EntityAlreadyExistsException(`Group with name ${group.name} already exists.`);
      }
      return { Group: groupOutput(group) };
    },

    async GetGroup(input, ctx) {
      const group = await getGroup(store, ctx.account, input.GroupName);
      const page = await pageStore<MembershipRecord>(
        store,
        T.groupMembers,
        `${ctx.account}/${group.name.toLowerCase()}/`,
        input.Marker,
        input.MaxItems,
      );
      const Users = [];
      for (const m of page.items) {
        const user = await store.get<UserRecord>(T.users, nameKey(ctx.account, m.user));
        if (user) Users.push(userOutput(user, false));
      }
      return {
        Group: groupOutput(group),
        Users,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async ListGroups(input, ctx) {
      const pathPrefix = input.PathPrefix ?? '/';
      const page = await pageStore<GroupRecord>(
        store,
        T.groups,
        `${ctx.account}/`,
        input.Marker,
        input.MaxItems,
        (g) => g.path.startsWith(pathPrefix),
      );
      return {
        Groups: page.items.map(groupOutput),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async DeleteGroup(input, ctx) {
      await store.transaction(async (tx) => {
        const group = await getGroup(tx, ctx.account, input.GroupName);
        const owned = ownerPrefix(ctx.account, 'group', group.name);
        if ((await tx.count(T.groupMembers, `${ctx.account}/${group.name.toLowerCase()}/`)) > 0) {
          throw new DeleteConflictException(
            'Cannot delete entity, must remove users from group first.',
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
        await tx.delete(T.groups, nameKey(ctx.account, group.name));
      });
    },

    async AddUserToGroup(input, ctx) {
      await store.transaction(async (tx) => {
        const group = await getGroup(tx, ctx.account, input.GroupName);
        const user = await getUser(tx, ctx.account, input.UserName);
        const m: MembershipRecord = { group: group.name, user: user.name };
        await tx.put(T.groupMembers, memberKey(ctx.account, group.name, user.name), m);
        await tx.put(T.userGroups, userGroupKey(ctx.account, user.name, group.name), m);
      });
    },

    async RemoveUserFromGroup(input, ctx) {
      await store.transaction(async (tx) => {
        const group = await getGroup(tx, ctx.account, input.GroupName);
        const user = await getUser(tx, ctx.account, input.UserName);
        await tx.delete(T.groupMembers, memberKey(ctx.account, group.name, user.name));
        await tx.delete(T.userGroups, userGroupKey(ctx.account, user.name, group.name));
      });
    },

    async ListGroupsForUser(input, ctx) {
      const user = await getUser(store, ctx.account, input.UserName);
      const page = await pageStore<MembershipRecord>(
        store,
        T.userGroups,
        `${ctx.account}/${user.name.toLowerCase()}/`,
        input.Marker,
        input.MaxItems,
      );
      const Groups = [];
      for (const m of page.items) {
        const g = await store.get<GroupRecord>(T.groups, nameKey(ctx.account, m.group));
        if (g) Groups.push(groupOutput(g));
      }
      return {
        Groups,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}

/** The groups a user belongs to (their names as created), for its identity policies. */
export async function groupsOf(
  ops: Pick<IamDeps['store'], 'list'>,
  account: string,
  user: string,
): Promise<string[]> {
  const rows = await ops.list<MembershipRecord>(T.userGroups, {
    prefix: `${account}/${user.toLowerCase()}/`,
  });
  return rows.map((r) => r.value.group);
}
