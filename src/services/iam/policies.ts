/**
 * Managed policies, their versions, tags and their attachments to roles, users and groups.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html
 * Customer managed policies live in the account; AWS managed ones (account `aws`) are
 * resolved by aws-managed.ts and only their per-account attachment counts are stored.
 */
import {
  DeleteConflictException,
  EntityAlreadyExistsException,
  InvalidInputException,
  LimitExceededException,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type {
  AttachedPolicy,
  Policy,
  PolicyGroup,
  PolicyRole,
  PolicyUser,
  PolicyVersion,
} from '../../api/iam/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { iamArn, parseIamArn, type ParsedIamArn } from './arns.js';
import { awsPolicyDocument, awsPolicyOutput, catalogArns } from './aws-managed.js';
import { encodeDocument, policyDocumentError, policySize } from '../../shared/policy-documents.js';
import { timestamp, type IamDeps } from './common.js';
import { uniqueId } from '../../shared/aws-ids.js';
import { getGroup, getOwner, getRole, getUser } from './owners.js';
import { pageArray, pageStore } from './paging.js';
import {
  nameKey,
  ownerPrefix,
  T,
  type AttachmentRecord,
  type AwsPolicyUsageRecord,
  type OwnerKind,
  type PolicyRecord,
  type PolicyVersionRecord,
} from './store.js';
import { tagPosition } from './roles.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

/** PolicySize quota for managed policies (white space not counted). */
const MANAGED_POLICY_QUOTA = 6144;
/** "A managed policy can have up to five versions." */
const MAX_VERSIONS = 5;
/**
 * Managed policies per role or user: 10 by default, adjustable to 20. Stratus allows the
 * adjusted value so that nothing AWS can be configured to accept is refused.
 */
export const MAX_ATTACHED = 20;

type Resolved =
  | { kind: 'aws'; arn: string; parsed: ParsedIamArn }
  | { kind: 'local'; arn: string; parsed: ParsedIamArn; key: string; record: PolicyRecord };

function parsePolicyArn(arn: string): ParsedIamArn {
  const parsed = parseIamArn(arn, 'policy');
  if (!parsed) throw new InvalidInputException(`ARN ${arn} is not valid.`);
  return parsed;
}

/** Finds the policy an ARN names; `notFound` is the operation's own message. */
async function resolvePolicy(
  ops: MetadataOps,
  account: string,
  arn: string,
  notFound: (arn: string) => string,
): Promise<Resolved> {
  const parsed = parsePolicyArn(arn);
  if (parsed.account === 'aws') return { kind: 'aws', arn, parsed };
  if (parsed.account === account) {
    const key = nameKey(account, parsed.name);
    const record = await ops.get<PolicyRecord>(T.policies, key);
    if (record && record.arn === arn) return { kind: 'local', arn, parsed, key, record };
  }
  throw new NoSuchEntityException(notFound(arn));
}

async function resolveLocal(ops: MetadataOps, account: string, arn: string) {
  const found = await resolvePolicy(ops, account, arn, notFound);
  if (found.kind !== 'local') throw new NoSuchEntityException(notFound(arn));
  return found;
}

const notFound = (arn: string) => `Policy ${arn} was not found.`;
const notAttachable = (arn: string) => `Policy ${arn} does not exist or is not attachable.`;
const noVersion = (arn: string, v: string) =>
  `Policy ${arn} version ${v} does not exist or is not attachable.`;

/** A permissions boundary must name an existing managed policy. */
export async function checkPermissionsBoundary(
  ops: MetadataOps,
  account: string,
  arn: string,
): Promise<void> {
  await resolvePolicy(
    ops,
    account,
    arn,
    (a) => `Scope ARN: ${a} does not exist or is not attachable.`,
  );
}

function checkManagedDocument(doc: string): void {
  const error = policyDocumentError(doc, 'permissions');
  if (error) throw new MalformedPolicyDocumentException(error);
  if (policySize(doc) > MANAGED_POLICY_QUOTA) {
    throw new LimitExceededException(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_QUOTA}`);
  }
}

/** `full` adds Description and Tags, which ListPolicies leaves out. */
export function policyOutput(p: PolicyRecord, full: boolean): Policy {
  const out: Policy = {
    PolicyName: p.name,
    PolicyId: p.id,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: p.attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    CreateDate: new Date(p.created),
    UpdateDate: new Date(p.updated),
  };
  if (full) {
    if (p.description !== undefined) out.Description = p.description;
    if (p.tags.length > 0) out.Tags = p.tags;
  }
  return out;
}

function versionOutput(
  p: PolicyRecord,
  v: PolicyVersionRecord,
  withDocument: boolean,
): PolicyVersion {
  const out: PolicyVersion = {
    VersionId: v.id,
    IsDefaultVersion: v.id === p.defaultVersionId,
    CreateDate: new Date(v.created),
  };
  if (withDocument) out.Document = encodeDocument(v.document);
  return out;
}

async function awsUsage(ops: MetadataOps, account: string, arn: string): Promise<number> {
  return (
    (await ops.get<AwsPolicyUsageRecord>(T.awsPolicyUsage, `${account}/${arn}`))?.attachmentCount ??
    0
  );
}

/** Adjusts a policy's AttachmentCount by `delta` inside the caller's transaction. */
async function countAttachment(tx: MetadataOps, account: string, p: Resolved, delta: number) {
  if (p.kind === 'local') {
    p.record.attachmentCount += delta;
    await tx.put(T.policies, p.key, p.record);
    return;
  }
  const key = `${account}/${p.arn}`;
  const count = (await awsUsage(tx, account, p.arn)) + delta;
  if (count > 0)
    await tx.put<AwsPolicyUsageRecord>(T.awsPolicyUsage, key, { attachmentCount: count });
  else await tx.delete(T.awsPolicyUsage, key);
}

type PolicyOps = Pick<
  IamOperations,
  | 'CreatePolicy'
  | 'GetPolicy'
  | 'ListPolicies'
  | 'DeletePolicy'
  | 'CreatePolicyVersion'
  | 'GetPolicyVersion'
  | 'ListPolicyVersions'
  | 'DeletePolicyVersion'
  | 'SetDefaultPolicyVersion'
  | 'AttachRolePolicy'
  | 'DetachRolePolicy'
  | 'ListAttachedRolePolicies'
  | 'AttachUserPolicy'
  | 'DetachUserPolicy'
  | 'ListAttachedUserPolicies'
  | 'AttachGroupPolicy'
  | 'DetachGroupPolicy'
  | 'ListAttachedGroupPolicies'
  | 'ListEntitiesForPolicy'
  | 'TagPolicy'
  | 'UntagPolicy'
  | 'ListPolicyTags'
>;

export function policyOperations(deps: IamDeps): PolicyOps {
  const { store } = deps;

  const attach = (account: string, kind: OwnerKind, ownerName: string, arn: string) =>
    store.transaction(async (tx) => {
      const owner = await getOwner(tx, account, kind, ownerName);
      const policy = await resolvePolicy(tx, account, arn, notAttachable);
      const prefix = ownerPrefix(account, kind, owner);
      if (await tx.get(T.attached, prefix + arn)) return; // attaching twice is a no-op
      if ((await tx.count(T.attached, prefix)) >= MAX_ATTACHED) {
        const entity = kind === 'role' ? 'Role' : kind === 'user' ? 'User' : 'Group';
        throw new LimitExceededException(
          `Cannot exceed quota for PoliciesPer${entity}: ${MAX_ATTACHED}`,
        );
      }
      await tx.insert<AttachmentRecord>(T.attached, prefix + arn, {
        policyName: policy.parsed.name,
        policyArn: arn,
        owner,
      });
      await countAttachment(tx, account, policy, 1);
    });

  const updatePolicy = (account: string, arn: string, change: (p: PolicyRecord) => void) =>
    store.transaction(async (tx) => {
      const { key, record } = await resolveLocal(tx, account, arn);
      change(record);
      await tx.put(T.policies, key, record);
    });

  const detach = (account: string, kind: OwnerKind, ownerName: string, arn: string) =>
    store.transaction(async (tx) => {
      const owner = await getOwner(tx, account, kind, ownerName);
      const policy = await resolvePolicy(tx, account, arn, notFound);
      if (!(await tx.delete(T.attached, ownerPrefix(account, kind, owner) + arn))) {
        throw new NoSuchEntityException(notFound(arn));
      }
      await countAttachment(tx, account, policy, -1);
    });

  const listAttached = async (
    account: string,
    kind: OwnerKind,
    ownerName: string,
    input: { PathPrefix?: string; Marker?: string; MaxItems?: number },
  ) => {
    const owner = await getOwner(store, account, kind, ownerName);
    const pathPrefix = input.PathPrefix ?? '/';
    const page = await pageStore<AttachmentRecord>(
      store,
      T.attached,
      ownerPrefix(account, kind, owner),
      input.Marker,
      input.MaxItems,
      pathPrefix === '/'
        ? undefined
        : (a) => (parseIamArn(a.policyArn, 'policy')?.path ?? '/').startsWith(pathPrefix),
    );
    const AttachedPolicies: AttachedPolicy[] = page.items.map((a) => ({
      PolicyName: a.policyName,
      PolicyArn: a.policyArn,
    }));
    return {
      AttachedPolicies,
      IsTruncated: page.isTruncated,
      ...(page.marker !== undefined && { Marker: page.marker }),
    };
  };

  return {
    async CreatePolicy(input, ctx) {
      checkManagedDocument(input.PolicyDocument);
      const tags = checkTags(input.Tags);
      const path = input.Path ?? '/';
      const now = timestamp(deps);
      const record: PolicyRecord = {
        name: input.PolicyName,
        id: uniqueId('ANPA'),
        arn: iamArn(ctx.account, 'policy', path, input.PolicyName),
        path,
        created: now,
        updated: now,
        defaultVersionId: 'v1',
        attachmentCount: 0,
        tags,
        versions: [{ id: 'v1', document: input.PolicyDocument, created: now }],
        nextVersion: 2,
      };
      if (input.Description !== undefined) record.description = input.Description;
      const inserted = await store.transaction((tx) =>
        tx.insert(T.policies, nameKey(ctx.account, record.name), record),
      );
      if (!inserted) {
        throw new EntityAlreadyExistsException(
          `A policy called ${record.name} already exists. Duplicate names are not allowed.`,
        );
      }
      const out = policyOutput(record, false);
      if (tags.length > 0) out.Tags = tags;
      return { Policy: out };
    },

    async GetPolicy(input, ctx) {
      const p = await resolvePolicy(store, ctx.account, input.PolicyArn, notFound);
      if (p.kind === 'local') return { Policy: policyOutput(p.record, true) };
      return { Policy: awsPolicyOutput(p.parsed, await awsUsage(store, ctx.account, p.arn)) };
    },

    async ListPolicies(input, ctx) {
      const scope = input.Scope ?? 'All';
      const pathPrefix = input.PathPrefix ?? '/';
      const all: Policy[] = [];
      if (scope !== 'AWS') {
        for (const { value } of await store.list<PolicyRecord>(T.policies, {
          prefix: `${ctx.account}/`,
        })) {
          all.push(policyOutput(value, false));
        }
      }
      if (scope !== 'Local') {
        const usage = new Map<string, number>();
        const rows = await store.list<AwsPolicyUsageRecord>(T.awsPolicyUsage, {
          prefix: `${ctx.account}/`,
        });
        for (const { key, value } of rows) {
          usage.set(key.slice(ctx.account.length + 1), value.attachmentCount);
        }
        for (const arn of new Set([...catalogArns(), ...usage.keys()])) {
          const parsed = parseIamArn(arn, 'policy');
          if (parsed) all.push(awsPolicyOutput(parsed, usage.get(arn) ?? 0));
        }
      }
      // PermissionsBoundaryUsageCount is not tracked (always 0), so that filter keeps none.
      const boundariesOnly = input.PolicyUsageFilter === 'PermissionsBoundary';
      const kept = all
        .filter(
          (p) =>
            !boundariesOnly &&
            (p.Path ?? '/').startsWith(pathPrefix) &&
            (!input.OnlyAttached || (p.AttachmentCount ?? 0) > 0),
        )
        .sort((a, b) => (listKey(a) < listKey(b) ? -1 : 1));
      const page = pageArray(kept, listKey, input.Marker, input.MaxItems);
      return {
        Policies: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async DeletePolicy(input, ctx) {
      await store.transaction(async (tx) => {
        const p = await resolveLocal(tx, ctx.account, input.PolicyArn);
        if (p.record.attachmentCount > 0) {
          throw new DeleteConflictException('Cannot delete a policy attached to entities.');
        }
        if (p.record.versions.length > 1) {
          throw new DeleteConflictException(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
          );
        }
        await tx.delete(T.policies, p.key);
      });
    },

    async CreatePolicyVersion(input, ctx) {
      checkManagedDocument(input.PolicyDocument);
      return store.transaction(async (tx) => {
        const { record, key } = await resolveLocal(tx, ctx.account, input.PolicyArn);
        if (record.versions.length >= MAX_VERSIONS) {
          throw new LimitExceededException(
            `A managed policy can have up to ${MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version.`,
          );
        }
        const now = timestamp(deps);
        const version = {
          id: `v${record.nextVersion}`,
          document: input.PolicyDocument,
          created: now,
        };
        record.nextVersion++;
        record.versions.push(version);
        if (input.SetAsDefault) {
          record.defaultVersionId = version.id;
          record.updated = now;
        }
        await tx.put(T.policies, key, record);
        return { PolicyVersion: versionOutput(record, version, false) };
      });
    },

    async GetPolicyVersion(input, ctx) {
      const p = await resolvePolicy(store, ctx.account, input.PolicyArn, notFound);
      if (p.kind === 'aws') {
        const document = input.VersionId === 'v1' ? awsPolicyDocument(p.arn) : undefined;
        if (document === undefined)
          throw new NoSuchEntityException(noVersion(p.arn, input.VersionId));
        return {
          PolicyVersion: {
            Document: encodeDocument(document),
            VersionId: 'v1',
            IsDefaultVersion: true,
            CreateDate: new Date('2015-02-06T18:39:46Z'),
          },
        };
      }
      const version = p.record.versions.find((v) => v.id === input.VersionId);
      if (!version) throw new NoSuchEntityException(noVersion(p.arn, input.VersionId));
      return { PolicyVersion: versionOutput(p.record, version, true) };
    },

    async ListPolicyVersions(input, ctx) {
      const { record } = await resolveLocal(store, ctx.account, input.PolicyArn);
      // Newest first, as AWS lists them.
      const versions = [...record.versions].reverse();
      const page = pageArray(
        versions,
        (v) => String(1e6 - Number(v.id.slice(1))),
        input.Marker,
        input.MaxItems,
      );
      return {
        Versions: page.items.map((v) => versionOutput(record, v, false)),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async DeletePolicyVersion(input, ctx) {
      await store.transaction(async (tx) => {
        const { record, key, arn } = await resolveLocal(tx, ctx.account, input.PolicyArn);
        const at = record.versions.findIndex((v) => v.id === input.VersionId);
        if (at < 0) throw new NoSuchEntityException(noVersion(arn, input.VersionId));
        if (record.defaultVersionId === input.VersionId) {
          throw new DeleteConflictException('Cannot delete the default version of a policy.');
        }
        record.versions.splice(at, 1);
        await tx.put(T.policies, key, record);
      });
    },

    async SetDefaultPolicyVersion(input, ctx) {
      await store.transaction(async (tx) => {
        const { record, key, arn } = await resolveLocal(tx, ctx.account, input.PolicyArn);
        if (!record.versions.some((v) => v.id === input.VersionId)) {
          throw new NoSuchEntityException(noVersion(arn, input.VersionId));
        }
        record.defaultVersionId = input.VersionId;
        record.updated = timestamp(deps);
        await tx.put(T.policies, key, record);
      });
    },

    async AttachRolePolicy(input, ctx) {
      await attach(ctx.account, 'role', input.RoleName, input.PolicyArn);
    },
    async DetachRolePolicy(input, ctx) {
      await detach(ctx.account, 'role', input.RoleName, input.PolicyArn);
    },
    async ListAttachedRolePolicies(input, ctx) {
      return listAttached(ctx.account, 'role', input.RoleName, input);
    },
    async AttachUserPolicy(input, ctx) {
      await attach(ctx.account, 'user', input.UserName, input.PolicyArn);
    },
    async DetachUserPolicy(input, ctx) {
      await detach(ctx.account, 'user', input.UserName, input.PolicyArn);
    },
    async ListAttachedUserPolicies(input, ctx) {
      return listAttached(ctx.account, 'user', input.UserName, input);
    },
    async AttachGroupPolicy(input, ctx) {
      await attach(ctx.account, 'group', input.GroupName, input.PolicyArn);
    },
    async DetachGroupPolicy(input, ctx) {
      await detach(ctx.account, 'group', input.GroupName, input.PolicyArn);
    },
    async ListAttachedGroupPolicies(input, ctx) {
      return listAttached(ctx.account, 'group', input.GroupName, input);
    },

    async ListEntitiesForPolicy(input, ctx) {
      const policy = await resolvePolicy(store, ctx.account, input.PolicyArn, notFound);
      const pathPrefix = input.PathPrefix ?? '/';
      const PolicyRoles: PolicyRole[] = [];
      const PolicyUsers: PolicyUser[] = [];
      const PolicyGroups: PolicyGroup[] = [];
      if (input.PolicyUsageFilter !== 'PermissionsBoundary') {
        // Attachments are keyed by owner; a scan of the account's is fine at emulator scale.
        const filterOf = { role: 'Role', user: 'User', group: 'Group' } as const;
        for (const kind of ['role', 'user', 'group'] as const) {
          const filter = input.EntityFilter;
          if (filter && filter !== filterOf[kind]) continue;
          const rows = await store.list<AttachmentRecord>(T.attached, {
            prefix: `${ctx.account}/${kind}/`,
          });
          for (const { value } of rows) {
            if (value.policyArn !== policy.arn) continue;
            if (kind === 'role') {
              const role = await getRole(store, ctx.account, value.owner);
              if (role.path.startsWith(pathPrefix))
                PolicyRoles.push({ RoleName: role.name, RoleId: role.id });
            } else if (kind === 'group') {
              const group = await getGroup(store, ctx.account, value.owner);
              if (group.path.startsWith(pathPrefix))
                PolicyGroups.push({ GroupName: group.name, GroupId: group.id });
            } else {
              const user = await getUser(store, ctx.account, value.owner);
              if (user.path.startsWith(pathPrefix))
                PolicyUsers.push({ UserName: user.name, UserId: user.id });
            }
          }
        }
      }
      return { PolicyGroups, PolicyUsers, PolicyRoles, IsTruncated: false };
    },

    // Tags of customer managed policies; an AWS managed policy is not found.
    async TagPolicy(input, ctx) {
      await updatePolicy(ctx.account, input.PolicyArn, (p) => {
        p.tags = mergeTags(p.tags, input.Tags, 'Policy');
      });
    },

    async UntagPolicy(input, ctx) {
      await updatePolicy(ctx.account, input.PolicyArn, (p) => {
        p.tags = removeTags(p.tags, input.TagKeys);
      });
    },

    async ListPolicyTags(input, ctx) {
      const { record } = await resolveLocal(store, ctx.account, input.PolicyArn);
      const page = pageArray(record.tags, tagPosition(record.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}

/** ListPolicies order: by name, then ARN. */
function listKey(p: Policy): string {
  return `${(p.PolicyName ?? '').toLowerCase()}\u0000${p.Arn ?? ''}`;
}
