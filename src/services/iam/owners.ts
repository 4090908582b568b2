/**
 * Look-ups of the identities policies hang off (roles and users), with AWS's not-found
 * messages, and their output shapes.
 */
import { NoSuchEntityException } from '../../api/iam/errors.js';
import type { Group, Role, User } from '../../api/iam/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { encodeDocument } from '../../shared/policy-documents.js';
import {
  nameKey,
  T,
  type GroupRecord,
  type OwnerKind,
  type RoleRecord,
  type UserRecord,
} from './store.js';

export async function getRole(
  ops: MetadataOps,
  account: string,
  name: string,
): Promise<RoleRecord> {
  const role = await ops.get<RoleRecord>(T.roles, nameKey(account, name));
  if (!role) throw new NoSuchEntityException(`The role with name ${name} cannot be found.`);
  return role;
}

export async function getUser(
  ops: MetadataOps,
  account: string,
  name: string,
): Promise<UserRecord> {
  const user = await ops.get<UserRecord>(T.users, nameKey(account, name));
  if (!user) throw new NoSuchEntityException(`The user with name ${name} cannot be found.`);
  return user;
}

export async function getGroup(
  ops: MetadataOps,
  account: string,
  name: string,
): Promise<GroupRecord> {
  const group = await ops.get<GroupRecord>(T.groups, nameKey(account, name));
  if (!group) throw new NoSuchEntityException(`The group with name ${name} cannot be found.`);
  return group;
}

/** Resolves the owner and returns its canonical (stored) name. */
export async function getOwner(
  ops: MetadataOps,
  account: string,
  kind: OwnerKind,
  name: string,
): Promise<string> {
  switch (kind) {
    case 'role':
      return (await getRole(ops, account, name)).name;
    case 'user':
      return (await getUser(ops, account, name)).name;
    case 'group':
      return (await getGroup(ops, account, name)).name;
  }
}

export function groupOutput(g: GroupRecord): Group {
  return {
    Path: g.path,
    GroupName: g.name,
    GroupId: g.id,
    Arn: g.arn,
    CreateDate: new Date(g.created),
  };
}

/**
 * `full` adds what GetRole returns beyond ListRoles: "ListRoles doesn't return
 * PermissionsBoundary, RoleLastUsed or Tags; use GetRole" (ListRoles reference).
 */
export function roleOutput(r: RoleRecord, full: boolean): Role {
  const out: Role = {
    Path: r.path,
    RoleName: r.name,
    RoleId: r.id,
    Arn: r.arn,
    CreateDate: new Date(r.created),
    AssumeRolePolicyDocument: encodeDocument(r.trustPolicy),
    MaxSessionDuration: r.maxSessionDuration,
  };
  if (r.description !== undefined) out.Description = r.description;
  if (full) {
    if (r.permissionsBoundary !== undefined) {
      out.PermissionsBoundary = {
        PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
        PermissionsBoundaryArn: r.permissionsBoundary,
      };
    }
    if (r.tags.length > 0) out.Tags = r.tags;
    out.RoleLastUsed = {};
  }
  return out;
}

export function userOutput(u: UserRecord, full: boolean): User {
  const out: User = {
    Path: u.path,
    UserName: u.name,
    UserId: u.id,
    Arn: u.arn,
    CreateDate: new Date(u.created),
  };
  if (full) {
    if (u.permissionsBoundary !== undefined) {
      out.PermissionsBoundary = {
        PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
        PermissionsBoundaryArn: u.permissionsBoundary,
      };
    }
    if (u.tags.length > 0) out.Tags = u.tags;
  }
  return out;
}
