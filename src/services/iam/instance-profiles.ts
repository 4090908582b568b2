/**
 * Instance profiles: containers for one role that EC2 passes to instances.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html
 * "An instance profile can contain only one IAM role" (AddRoleToInstanceProfile): a second
 * one is refused with LimitExceeded. The role's profiles are indexed by role so that
 * ListInstanceProfilesForRole and DeleteRole's DeleteConflict need no scan.
 */
import {
  DeleteConflictException,
  EntityAlreadyExistsException,
  LimitExceededException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { InstanceProfile } from '../../api/iam/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { uniqueId } from '../../shared/aws-ids.js';
import { iamArn } from './arns.js';
import { timestamp, type IamDeps } from './common.js';
import { getRole, roleOutput } from './owners.js';
import { pageArray, pageStore } from './paging.js';
import { tagPosition } from './roles.js';
import {
  nameKey,
  roleProfileKey,
  T,
  type InstanceProfileRecord,
  type RoleProfileRecord,
  type RoleRecord,
} from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

/** "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1" (AWS's message). */
const ROLES_PER_PROFILE = 1;

type InstanceProfileOps = Pick<
  IamOperations,
  | 'CreateInstanceProfile'
  | 'GetInstanceProfile'
  | 'DeleteInstanceProfile'
  | 'AddRoleToInstanceProfile'
  | 'RemoveRoleFromInstanceProfile'
  | 'ListInstanceProfiles'
  | 'ListInstanceProfilesForRole'
  | 'TagInstanceProfile'
  | 'UntagInstanceProfile'
  | 'ListInstanceProfileTags'
>;

export async function getInstanceProfile(
  ops: MetadataOps,
  account: string,
  name: string,
): Promise<InstanceProfileRecord> {
  const p = await ops.get<InstanceProfileRecord>(T.instanceProfiles, nameKey(account, name));
  if (!p) throw new NoSuchEntityException(`Instance Profile ${name} cannot be found.`);
  return p;
}

/** The profile as AWS returns it: its role in full (trust policy included). */
async function profileOutput(
  ops: MetadataOps,
  account: string,
  p: InstanceProfileRecord,
): Promise<InstanceProfile> {
  const roles: RoleRecord[] = [];
  if (p.role !== undefined) {
    const role = await ops.get<RoleRecord>(T.roles, nameKey(account, p.role));
    if (role) roles.push(role);
  }
  const out: InstanceProfile = {
    Path: p.path,
    InstanceProfileName: p.name,
    InstanceProfileId: p.id,
    Arn: p.arn,
    CreateDate: new Date(p.created),
    Roles: roles.map((r) => roleOutput(r, false)),
  };
  if (p.tags.length > 0) out.Tags = p.tags;
  return out;
}

export function instanceProfileOperations(deps: IamDeps): InstanceProfileOps {
  const { store } = deps;

  const updateProfile = (
    account: string,
    name: string,
    change: (p: InstanceProfileRecord, tx: MetadataOps) => void | Promise<void>,
  ): Promise<InstanceProfileRecord> =>
    store.transaction(async (tx) => {
      const p = await getInstanceProfile(tx, account, name);
      await change(p, tx);
      await tx.put(T.instanceProfiles, nameKey(account, p.name), p);
      return p;
    });

  return {
    async CreateInstanceProfile(input, ctx) {
      const path = input.Path ?? '/';
      const p: InstanceProfileRecord = {
        path,
        name: input.InstanceProfileName,
        id: uniqueId('AIPA'),
        arn: iamArn(ctx.account, 'instance-profile', path, input.InstanceProfileName),
        created: timestamp(deps),
        tags: checkTags(input.Tags),
      };
      if (!(await store.insert(T.instanceProfiles, nameKey(ctx.account, p.name), p))) {
        throw new EntityAlreadyExistsException(`Instance Profile ${p.name} already exists.`);
      }
      return { InstanceProfile: await profileOutput(store, ctx.account, p) };
    },

    async GetInstanceProfile(input, ctx) {
      const p = await getInstanceProfile(store, ctx.account, input.InstanceProfileName);
      return { InstanceProfile: await profileOutput(store, ctx.account, p) };
    },

    async DeleteInstanceProfile(input, ctx) {
      await store.transaction(async (tx) => {
        const p = await getInstanceProfile(tx, ctx.account, input.InstanceProfileName);
        if (p.role !== undefined) {
          throw new DeleteConflictException(
            'Cannot delete entity, must remove roles from instance profile first.',
          );
        }
        await tx.delete(T.instanceProfiles, nameKey(ctx.account, p.name));
      });
    },

    async AddRoleToInstanceProfile(input, ctx) {
      await updateProfile(ctx.account, input.InstanceProfileName, async (p, tx) => {
        const role = await getRole(tx, ctx.account, input.RoleName);
        if (p.role !== undefined) {
          throw new LimitExceededException(
            `Cannot exceed quota for InstanceSessionsPerInstanceProfile: ${ROLES_PER_PROFILE}`,
          );
        }
        p.role = role.name;
        const link: RoleProfileRecord = { profile: p.name };
        await tx.put(T.roleProfiles, roleProfileKey(ctx.account, role.name, p.name), link);
      });
    },

    async RemoveRoleFromInstanceProfile(input, ctx) {
      await updateProfile(ctx.account, input.InstanceProfileName, async (p, tx) => {
        const role = await getRole(tx, ctx.account, input.RoleName);
        if (p.role?.toLowerCase() !== role.name.toLowerCase()) {
          throw new NoSuchEntityException(
            `The role with name ${input.RoleName} cannot be found in instance profile ${p.name}.`,
          );
        }
        delete p.role;
        await tx.delete(T.roleProfiles, roleProfileKey(ctx.account, role.name, p.name));
      });
    },

    async ListInstanceProfiles(input, ctx) {
      const prefix = input.PathPrefix ?? '/';
      const page = await pageStore<InstanceProfileRecord>(
        store,
        T.instanceProfiles,
        `${ctx.account}/`,
        input.Marker,
        input.MaxItems,
        prefix === '/' ? undefined : (p) => p.path.startsWith(prefix),
      );
      const InstanceProfiles = [];
      for (const p of page.items) InstanceProfiles.push(await profileOutput(store, ctx.account, p));
      return {
        InstanceProfiles,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async ListInstanceProfilesForRole(input, ctx) {
      const role = await getRole(store, ctx.account, input.RoleName);
      const page = await pageStore<RoleProfileRecord>(
        store,
        T.roleProfiles,
        `${ctx.account}/${role.name.toLowerCase()}/`,
        input.Marker,
        input.MaxItems,
      );
      const InstanceProfiles = [];
      for (const link of page.items) {
        const p = await store.get<InstanceProfileRecord>(
          T.instanceProfiles,
          nameKey(ctx.account, link.profile),
        );
        if (p) InstanceProfiles.push(await profileOutput(store, ctx.account, p));
      }
      return {
        InstanceProfiles,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async TagInstanceProfile(input, ctx) {
      await updateProfile(ctx.account, input.InstanceProfileName, (p) => {
        p.tags = mergeTags(p.tags, input.Tags, 'InstanceProfile');
      });
    },

    async UntagInstanceProfile(input, ctx) {
      await updateProfile(ctx.account, input.InstanceProfileName, (p) => {
        p.tags = removeTags(p.tags, input.TagKeys);
      });
    },

    async ListInstanceProfileTags(input, ctx) {
      const p = await getInstanceProfile(store, ctx.account, input.InstanceProfileName);
      const page = pageArray(p.tags, tagPosition(p.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}
