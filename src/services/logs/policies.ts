/**
 * CloudWatch Logs policies, stored and returned as AWS does:
 *  - resource policies (up to 10 per account and region), which let AWS services write to
 *    log groups: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html
 *  - account policies (data protection, subscription filter, field index, transformer,
 *    metric extraction): https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutAccountPolicy.html
 *  - per group: a data protection policy and a field index policy.
 * Stratus keeps the documents; it masks no data and builds no index from them.
 */
import { randomUUID } from 'node:crypto';
import { LimitExceededException, ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type { AccountPolicy, IndexPolicy, ResourcePolicy } from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import {
  checkJsonDocument,
  groupArn,
  groupNotFound,
  invalid,
  pageList,
  resolveGroupName,
  scopeOf,
  type LogsDeps,
} from './common.js';
import {
  ACCOUNT_POLICIES,
  DATA_PROTECTION,
  GROUPS,
  INDEX_POLICIES,
  RESOURCE_POLICIES,
  groupKey,
  scopePrefix,
} from './store.js';

type PolicyOps = Pick<
  LogsOperations,
  | 'PutResourcePolicy'
  | 'DescribeResourcePolicies'
  | 'DeleteResourcePolicy'
  | 'PutAccountPolicy'
  | 'DescribeAccountPolicies'
  | 'DeleteAccountPolicy'
  | 'PutDataProtectionPolicy'
  | 'GetDataProtectionPolicy'
  | 'DeleteDataProtectionPolicy'
  | 'PutIndexPolicy'
  | 'DescribeIndexPolicies'
  | 'DeleteIndexPolicy'
>;

const MAX_RESOURCE_POLICIES = 10;

interface GroupPolicyRecord {
  logGroupName: string;
  policyDocument: string;
  lastUpdatedTime: number;
}

export function policyOperations(deps: LogsDeps): PolicyOps {
  const { store } = deps;

  /** The key of the group an identifier names, after checking the group exists. */
  async function existingGroup(
    ctx: RequestContext,
    identifier: string,
  ): Promise<{ key: string; name: string }> {
    const scope = scopeOf(ctx);
    const name = resolveGroupName({ logGroupIdentifier: identifier }, scope);
    const key = groupKey(scope, name);
    if (!(await store.get(GROUPS, key))) throw groupNotFound();
    return { key, name };
  }

  const indexView = (ctx: RequestContext, rec: GroupPolicyRecord): IndexPolicy => ({
    logGroupIdentifier: groupArn(scopeOf(ctx), rec.logGroupName),
    lastUpdateTime: rec.lastUpdatedTime,
    policyDocument: rec.policyDocument,
    policyName: 'log-group-level-policy',
    source: 'LOG_GROUP',
  });

  return {
    async PutResourcePolicy(input, ctx) {
      if (input.resourceArn !== undefined) {
        throw invalid('Resource-scoped policies (resourceArn) are not supported by Stratus.');
      }
      if (!input.policyName || !input.policyDocument) {
        throw invalid('policyName and policyDocument are required.');
      }
      checkJsonDocument(input.policyDocument);
      const key = scopePrefix(scopeOf(ctx)) + input.policyName;
      const rec: ResourcePolicy = {
        policyName: input.policyName,
        policyDocument: input.policyDocument,
        lastUpdatedTime: deps.now(),
        policyScope: 'ACCOUNT',
        revisionId: randomUUID(),
      };
      await store.transaction(async (tx) => {
        if (!(await tx.get(RESOURCE_POLICIES, key))) {
          const n = (await tx.list(RESOURCE_POLICIES, { prefix: scopePrefix(scopeOf(ctx)) }))
            .length;
          if (n >= MAX_RESOURCE_POLICIES) {
            throw new LimitExceededException('Resource limit exceeded.');
          }
        }
        await tx.put(RESOURCE_POLICIES, key, rec);
      });
      return { resourcePolicy: rec, revisionId: rec.revisionId };
    },

    async DescribeResourcePolicies(input, ctx) {
      const rows = await store.list<ResourcePolicy>(RESOURCE_POLICIES, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const page = pageList(
        rows.map((r) => r.value),
        (p) => p.policyName ?? '',
        input.nextToken,
        input.limit,
        50,
      );
      return page.nextToken === undefined
        ? { resourcePolicies: page.items }
        : { resourcePolicies: page.items, nextToken: page.nextToken };
    },

    async DeleteResourcePolicy(input, ctx) {
      const name = input.policyName ?? '';
      const key = scopePrefix(scopeOf(ctx)) + name;
      await store.transaction(async (tx) => {
        if (!(await tx.get(RESOURCE_POLICIES, key))) {
          throw new ResourceNotFoundException(`Policy with name [${name}] does not exist`);
        }
        await tx.delete(RESOURCE_POLICIES, key);
      });
    },

    async PutAccountPolicy(input, ctx) {
      checkJsonDocument(input.policyDocument);
      const rec: AccountPolicy = {
        policyName: input.policyName,
        policyDocument: input.policyDocument,
        lastUpdatedTime: deps.now(),
        policyType: input.policyType,
        scope: input.scope ?? 'ALL',
        accountId: ctx.account,
      };
      if (input.selectionCriteria !== undefined) rec.selectionCriteria = input.selectionCriteria;
      const key = `${scopePrefix(scopeOf(ctx))}${input.policyType}:${input.policyName}`;
      await store.put(ACCOUNT_POLICIES, key, rec);
      return { accountPolicy: rec };
    },

    async DescribeAccountPolicies(input, ctx) {
      const prefix = `${scopePrefix(scopeOf(ctx))}${input.policyType}:`;
      const rows = await store.list<AccountPolicy>(ACCOUNT_POLICIES, { prefix });
      const all = rows
        .map((r) => r.value)
        .filter((p) => input.policyName === undefined || p.policyName === input.policyName)
        .filter(
          (p) =>
            !input.accountIdentifiers?.length ||
            input.accountIdentifiers.includes(p.accountId ?? ''),
        );
      return { accountPolicies: all };
    },

    async DeleteAccountPolicy(input, ctx) {
      const key = `${scopePrefix(scopeOf(ctx))}${input.policyType}:${input.policyName}`;
      await store.transaction(async (tx) => {
        if (!(await tx.get(ACCOUNT_POLICIES, key))) {
          throw new ResourceNotFoundException('Policy not found.');
        }
        await tx.delete(ACCOUNT_POLICIES, key);
      });
    },

    async PutDataProtectionPolicy(input, ctx) {
      checkJsonDocument(input.policyDocument);
      const { key, name } = await existingGroup(ctx, input.logGroupIdentifier);
      const rec: GroupPolicyRecord = {
        logGroupName: name,
        policyDocument: input.policyDocument,
        lastUpdatedTime: deps.now(),
      };
      await store.put(DATA_PROTECTION, key, rec);
      return {
        logGroupIdentifier: input.logGroupIdentifier,
        policyDocument: rec.policyDocument,
        lastUpdatedTime: rec.lastUpdatedTime,
      };
    },

    async GetDataProtectionPolicy(input, ctx) {
      const { key } = await existingGroup(ctx, input.logGroupIdentifier);
      const rec = await store.get<GroupPolicyRecord>(DATA_PROTECTION, key);
      if (!rec) return { logGroupIdentifier: input.logGroupIdentifier };
      return {
        logGroupIdentifier: input.logGroupIdentifier,
        policyDocument: rec.policyDocument,
        lastUpdatedTime: rec.lastUpdatedTime,
      };
    },

    async DeleteDataProtectionPolicy(input, ctx) {
      const { key } = await existingGroup(ctx, input.logGroupIdentifier);
      await store.transaction(async (tx) => {
        if (!(await tx.get(DATA_PROTECTION, key))) {
          throw new ResourceNotFoundException('The specified resource does not exist.');
        }
        await tx.delete(DATA_PROTECTION, key);
      });
    },

    async PutIndexPolicy(input, ctx) {
      checkJsonDocument(input.policyDocument);
      const { key, name } = await existingGroup(ctx, input.logGroupIdentifier);
      const rec: GroupPolicyRecord = {
        logGroupName: name,
        policyDocument: input.policyDocument,
        lastUpdatedTime: deps.now(),
      };
      await store.put(INDEX_POLICIES, key, rec);
      return { indexPolicy: indexView(ctx, rec) };
    },

    async DescribeIndexPolicies(input, ctx) {
      const out: IndexPolicy[] = [];
      for (const id of input.logGroupIdentifiers) {
        const { key } = await existingGroup(ctx, id);
        const rec = await store.get<GroupPolicyRecord>(INDEX_POLICIES, key);
        if (rec) out.push(indexView(ctx, rec));
      }
      return { indexPolicies: out };
    },

    async DeleteIndexPolicy(input, ctx) {
      const { key } = await existingGroup(ctx, input.logGroupIdentifier);
      await store.transaction(async (tx) => {
        if (!(await tx.get(INDEX_POLICIES, key))) {
          throw new ResourceNotFoundException('The specified resource does not exist.');
        }
        await tx.delete(INDEX_POLICIES, key);
      });
      return {};
    },
  };
}
