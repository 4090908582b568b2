/**
 * Roles: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html and the
 * operations around it. Each mutation is one store transaction.
 */
import {
  DeleteConflictException,
  EntityAlreadyExistsException,
  LimitExceededException,
  MalformedPolicyDocumentException,
  UnmodifiableEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { MetadataOps } from '../../storage/types.js';
import { iamArn } from './arns.js';
import { policyDocumentError, policySize } from '../../shared/policy-documents.js';
import { timestamp, type IamDeps } from './common.js';
import { uniqueId } from '../../shared/aws-ids.js';
import { getRole, roleOutput } from './owners.js';
import { pageArray, pageStore } from './paging.js';
import { checkPermissionsBoundary } from './policies.js';
import { nameKey, ownerPrefix, T, type RoleRecord } from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

/** "The maximum session duration … defaults to one hour" (CreateRole reference). */
const DEFAULT_MAX_SESSION = 3600;
/** AssumeRolePolicySizeQuota: 2,048 characters, white space not counted. */
const TRUST_POLICY_QUOTA = 2048;

type RoleOps = Pick<
  IamOperations,
  | 'CreateRole'
  | 'GetRole'
  | 'ListRoles'
  | 'UpdateRole'
  | 'UpdateRoleDescription'
  | 'UpdateAssumeRolePolicy'
  | 'DeleteRole'
  | 'TagRole'
  | 'UntagRole'
  | 'ListRoleTags'
  | 'PutRolePermissionsBoundary'
  | 'DeleteRolePermissionsBoundary'
>;

export function roleOperations(deps: IamDeps): RoleOps {
  const { store } = deps;

  /** Reads, changes and writes back one role inside a transaction. */
  const updateRole = (
    account: string,
    name: string,
    change: (role: RoleRecord, tx: MetadataOps) => void | Promise<void>,
  ): Promise<RoleRecord> =>
    store.transaction(async (tx) => {
      const role = await getRole(tx, account, name);
      await change(role, tx);
      await tx.put(T.roles, nameKey(account, role.name), role);
      return role;
    });

  return {
    async CreateRole(input, ctx) {
      checkTrustPolicy(input.AssumeRolePolicyDocument);
      const tags = checkTags(input.Tags);
      const path = input.Path ?? '/';
      const role: RoleRecord = {
        path,
        name: input.RoleName,
        id: uniqueId('AROA'),
        arn: iamArn(ctx.account, 'role', path, input.RoleName),
        created: timestamp(deps),
        trustPolicy: input.AssumeRolePolicyDocument,
        maxSessionDuration: input.MaxSessionDuration ?? DEFAULT_MAX_SESSION,
        tags,
      };
      if (input.Description !== undefined) role.description = input.Description;
      await store.transaction(async (tx) => {
        if (input.PermissionsBoundary !== undefined) {
          await checkPermissionsBoundary(tx, ctx.account, input.PermissionsBoundary);
          role.permissionsBoundary = input.PermissionsBoundary;
        }
        if (!(await tx.insert(T.roles, nameKey(ctx.account, role.name), role))) {
          throw new EntityAlreadyExistsException(`Role with name ${role.name} already exists.`);
        }
      });
      const out = roleOutput(role, true);
      delete out.RoleLastUsed;
      return { Role: out };
    },

    async GetRole(input, ctx) {
      return { Role: roleOutput(await getRole(store, ctx.account, input.RoleName), true) };
    },

    async ListRoles(input, ctx) {
      const prefix = input.PathPrefix ?? '/';
      const page = await pageStore<RoleRecord>(
        store,
        T.roles,
        `${ctx.account}/`,
        input.Marker,
        input.MaxItems,
        prefix === '/' ? undefined : (r) => r.path.startsWith(prefix),
      );
      return {
        Roles: page.items.map((r) => roleOutput(r, false)),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async UpdateRole(input, ctx) {
      await updateRole(ctx.account, input.RoleName, (role) => {
        if (input.Description !== undefined) role.description = input.Description;
        if (input.MaxSessionDuration !== undefined) {
          role.maxSessionDuration = input.MaxSessionDuration;
        }
      });
      return {};
    },

    async UpdateRoleDescription(input, ctx) {
      const role = await updateRole(ctx.account, input.RoleName, (r) => {
        r.description = input.Description;
      });
      return { Role: roleOutput(role, true) };
    },

    async UpdateAssumeRolePolicy(input, ctx) {
      checkTrustPolicy(input.PolicyDocument);
      await updateRole(ctx.account, input.RoleName, (role) => {
        role.trustPolicy = input.PolicyDocument;
      });
    },

    async DeleteRole(input, ctx) {
      await store.transaction(async (tx) => {
        const role = await getRole(tx, ctx.account, input.RoleName);
        if (role.path.startsWith('/aws-service-role/')) {
          throw new UnmodifiableEntityException(
            `Cannot perform the operation on the protected role '${role.name}' - this role is only modifiable by AWS`,
          );
        }
        const owned = ownerPrefix(ctx.account, 'role', role.name);
        if ((await tx.count(T.attached, owned)) > 0) {
          throw new DeleteConflictException(
            'Cannot delete entity, must detach all policies first.',
          );
        }
        if ((await tx.count(T.inline, owned)) > 0) {
          throw new DeleteConflictException('Cannot delete entity, must delete policies first.');
        }
        if ((await tx.count(T.roleProfiles, `${ctx.account}/${role.name.toLowerCase()}/`)) > 0) {
          throw new DeleteConflictException(
            'Cannot delete entity, must remove roles from instance profile first.',
          );
        }
        await tx.delete(T.roles, nameKey(ctx.account, role.name));
      });
    },

    async TagRole(input, ctx) {
      await updateRole(ctx.account, input.RoleName, (role) => {
        role.tags = mergeTags(role.tags, input.Tags, 'Role');
      });
    },

    async UntagRole(input, ctx) {
      await updateRole(ctx.account, input.RoleName, (role) => {
        role.tags = removeTags(role.tags, input.TagKeys);
      });
    },

    async ListRoleTags(input, ctx) {
      const role = await getRole(store, ctx.account, input.RoleName);
      const page = pageArray(role.tags, tagPosition(role.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async PutRolePermissionsBoundary(input, ctx) {
      await updateRole(ctx.account, input.RoleName, async (role, tx) => {
        await checkPermissionsBoundary(tx, ctx.account, input.PermissionsBoundary);
        role.permissionsBoundary = input.PermissionsBoundary;
      });
    },

    async DeleteRolePermissionsBoundary(input, ctx) {
      await updateRole(ctx.account, input.RoleName, (role) => {
        delete role.permissionsBoundary;
      });
    },
  };
}

function checkTrustPolicy(doc: string): void {
  const error = policyDocumentError(doc, 'trust');
  if (error) throw new MalformedPolicyDocumentException(error);
  if (policySize(doc) > TRUST_POLICY_QUOTA) {
    throw new LimitExceededException(
      `Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_QUOTA}`,
    );
  }
}

/** Tags keep insertion order; their position (zero-padded) is their paging key. */
export function tagPosition<T>(list: readonly T[]): (item: T) => string {
  return (item) => String(list.indexOf(item)).padStart(4, '0');
}
