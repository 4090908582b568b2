/**
 * Inline policies embedded in a role or user (PutRolePolicy, GetRolePolicy, …).
 * Quotas: the inline policies of a role may total 10,240 characters, of a user 2,048
 * (white space not counted), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 */
import {
  LimitExceededException,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import { encodeDocument, policyDocumentError, policySize } from '../../shared/policy-documents.js';
import type { IamDeps } from './common.js';
import { getOwner } from './owners.js';
import { pageStore } from './paging.js';
import { ownerPrefix, T, type InlinePolicyRecord, type OwnerKind } from './store.js';

const AGGREGATE_QUOTA: Record<OwnerKind, number> = { role: 10240, user: 2048, group: 5120 };

type InlineOps = Pick<
  IamOperations,
  | 'PutRolePolicy'
  | 'GetRolePolicy'
  | 'ListRolePolicies'
  | 'DeleteRolePolicy'
  | 'PutUserPolicy'
  | 'GetUserPolicy'
  | 'ListUserPolicies'
  | 'DeleteUserPolicy'
  | 'PutGroupPolicy'
  | 'GetGroupPolicy'
  | 'ListGroupPolicies'
  | 'DeleteGroupPolicy'
>;

const missing = (kind: OwnerKind, name: string) =>
  new NoSuchEntityException(`The ${kind} policy with name ${name} cannot be found.`);

export function inlinePolicyOperations(deps: IamDeps): InlineOps {
  const { store } = deps;

  const put = (account: string, kind: OwnerKind, ownerName: string, name: string, doc: string) => {
    const error = policyDocumentError(doc, 'permissions');
    if (error) throw new MalformedPolicyDocumentException(error);
    return store.transaction(async (tx) => {
      const owner = await getOwner(tx, account, kind, ownerName);
      const prefix = ownerPrefix(account, kind, owner);
      let total = policySize(doc);
      for (const { value } of await tx.list<InlinePolicyRecord>(T.inline, { prefix })) {
        if (value.name !== name) total += policySize(value.document);
      }
      if (total > AGGREGATE_QUOTA[kind]) {
        throw new LimitExceededException(
          `Maximum policy size of ${AGGREGATE_QUOTA[kind]} bytes exceeded for ${kind} ${owner}`,
        );
      }
      await tx.put<InlinePolicyRecord>(T.inline, prefix + name, { name, document: doc });
    });
  };

  const get = async (account: string, kind: OwnerKind, ownerName: string, name: string) => {
    const owner = await getOwner(store, account, kind, ownerName);
    const policy = await store.get<InlinePolicyRecord>(
      T.inline,
      ownerPrefix(account, kind, owner) + name,
    );
    if (!policy) throw missing(kind, name);
    return { owner, PolicyName: policy.name, PolicyDocument: encodeDocument(policy.document) };
  };

  const list = async (
    account: string,
    kind: OwnerKind,
    ownerName: string,
    marker: string | undefined,
    maxItems: number | undefined,
  ) => {
    const owner = await getOwner(store, account, kind, ownerName);
    const page = await pageStore<InlinePolicyRecord>(
      store,
      T.inline,
      ownerPrefix(account, kind, owner),
      marker,
      maxItems,
    );
    return {
      PolicyNames: page.items.map((p) => p.name),
      IsTruncated: page.isTruncated,
      ...(page.marker !== undefined && { Marker: page.marker }),
    };
  };

  const remove = (account: string, kind: OwnerKind, ownerName: string, name: string) =>
    store.transaction(async (tx) => {
      const owner = await getOwner(tx, account, kind, ownerName);
      if (!(await tx.delete(T.inline, ownerPrefix(account, kind, owner) + name)))
        throw missing(kind, name);
    });

  return {
    async PutRolePolicy(input, ctx) {
      await put(ctx.account, 'role', input.RoleName, input.PolicyName, input.PolicyDocument);
    },
    async GetRolePolicy(input, ctx) {
      const { owner, ...rest } = await get(ctx.account, 'role', input.RoleName, input.PolicyName);
      return { RoleName: owner, ...rest };
    },
    async ListRolePolicies(input, ctx) {
      return list(ctx.account, 'role', input.RoleName, input.Marker, input.MaxItems);
    },
    async DeleteRolePolicy(input, ctx) {
      await remove(ctx.account, 'role', input.RoleName, input.PolicyName);
    },
    async PutUserPolicy(input, ctx) {
      await put(ctx.account, 'user', input.UserName, input.PolicyName, input.PolicyDocument);
    },
    async GetUserPolicy(input, ctx) {
      const { owner, ...rest } = await get(ctx.account, 'user', input.UserName, input.PolicyName);
      return { UserName: owner, ...rest };
    },
    async ListUserPolicies(input, ctx) {
      return list(ctx.account, 'user', input.UserName, input.Marker, input.MaxItems);
    },
    async DeleteUserPolicy(input, ctx) {
      await remove(ctx.account, 'user', input.UserName, input.PolicyName);
    },
    async PutGroupPolicy(input, ctx) {
      await put(ctx.account, 'group', input.GroupName, input.PolicyName, input.PolicyDocument);
    },
    async GetGroupPolicy(input, ctx) {
      const { owner, ...rest } = await get(ctx.account, 'group', input.GroupName, input.PolicyName);
      return { GroupName: owner, ...rest };
    },
    async ListGroupPolicies(input, ctx) {
      return list(ctx.account, 'group', input.GroupName, input.Marker, input.MaxItems);
    },
    async DeleteGroupPolicy(input, ctx) {
      await remove(ctx.account, 'group', input.GroupName, input.PolicyName);
    },
  };
}
