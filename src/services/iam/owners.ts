/**
 * Look-ups of the identities policies hang off (roles and users), with AWS's not-found
 * messages, and their output shapes.
 */
import { NoSuchEntityException } from '../../api/iam/errors.js';
import type { Role, User } from '../../api/iam/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { encodeDocument } from '../../shared/policy-documents.js';
import { nameKey, T, type OwnerKind, type RoleRecord, type UserRecord } from './store.js';

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

/** Resolves the owner and returns its canonical (stored) name. */
export async function getOwner(
  ops: MetadataOps,
  account: string,
  kind: OwnerKind,
  name: string,
): Promise<string> {
  return kind === 'role'
    ? (await getRole(ops, account, name)).name
    : (await getUser(ops, account, name)).name;
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
