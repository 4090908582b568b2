/**
 * Fair-share scheduling policies: share identifiers with weight factors, a compute
 * reservation and a share decay.
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_FairsharePolicy.html
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import type { FairsharePolicy, SchedulingPolicyDetail } from '../../api/batch/types.js';
import {
  arnOf,
  checkName,
  clientError,
  encodeToken,
  findPolicy,
  pageSize,
  readToken,
  scopeOf,
  type BatchDeps,
} from './common.js';
import { policyChanged } from './queues.js';
import { T, resourceKey, scopePrefix, type PolicyRecord, type QueueRecord } from './store.js';

type Ops = Pick<
  BatchOperations,
  | 'CreateSchedulingPolicy'
  | 'DescribeSchedulingPolicies'
  | 'ListSchedulingPolicies'
  | 'UpdateSchedulingPolicy'
  | 'DeleteSchedulingPolicy'
>;

/** AWS's bounds: weightFactor 0.0001–999.9999, computeReservation 0–99, decay 0–604800. */
function checkFairShare(p: FairsharePolicy | undefined): void {
  if (!p) return;
  if (
    p.computeReservation !== undefined &&
    (p.computeReservation < 0 || p.computeReservation > 99)
  ) {
    throw clientError('computeReservation must be between 0 and 99');
  }
  if (
    p.shareDecaySeconds !== undefined &&
    (p.shareDecaySeconds < 0 || p.shareDecaySeconds > 604800)
  ) {
    throw clientError('shareDecaySeconds must be between 0 and 604800');
  }
  const shares = p.shareDistribution ?? [];
  if (shares.length > 500) throw clientError('shareDistribution can have at most 500 entries');
  const ids = new Set<string>();
  for (const s of shares) {
    if (ids.has(s.shareIdentifier)) {
      throw clientError(`Duplicate shareIdentifier ${s.shareIdentifier} in shareDistribution`);
    }
    ids.add(s.shareIdentifier);
    if (s.weightFactor !== undefined && (s.weightFactor < 0.0001 || s.weightFactor > 999.9999)) {
      throw clientError('weightFactor must be between 0.0001 and 999.9999');
    }
  }
}

export function policyOperations(deps: BatchDeps): Ops {
  const { store } = deps;
  return {
    async CreateSchedulingPolicy(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('Scheduling policy', input.name);
      if (input.quotaSharePolicy !== undefined) {
        throw clientError('quotaSharePolicy is not supported by Stratus');
      }
      checkFairShare(input.fairsharePolicy);
      const arn = arnOf(scope, 'scheduling-policy', input.name);
      const record: PolicyRecord = {
        name: input.name,
        arn,
        fairsharePolicy: input.fairsharePolicy ?? {},
        tags: input.tags,
      };
      if (!(await store.insert(T.policies, resourceKey(scope, input.name), record))) {
        throw clientError('Object already exists');
      }
      return { name: input.name, arn };
    },

    async DescribeSchedulingPolicies(input, ctx) {
      const scope = scopeOf(ctx);
      const found: SchedulingPolicyDetail[] = [];
      for (const ref of input.arns) {
        const p = await findPolicy(store, scope, ref);
        if (p) found.push(p);
      }
      return { schedulingPolicies: found };
    },

    async ListSchedulingPolicies(input, ctx) {
      const scope = scopeOf(ctx);
      const prefix = scopePrefix(scope);
      const after = readToken(input.nextToken, (v): v is string => typeof v === 'string');
      if (after !== undefined && !after.startsWith(prefix)) throw clientError('Invalid nextToken');
      const max = pageSize(input.maxResults);
      const rows = await store.list<PolicyRecord>(T.policies, { prefix, after, limit: max + 1 });
      const page = rows.slice(0, max);
      return {
        schedulingPolicies: page.map((r) => ({ arn: r.value.arn })),
        nextToken: rows.length > max ? encodeToken(page[page.length - 1].key) : undefined,
      };
    },

    async UpdateSchedulingPolicy(input, ctx) {
      const scope = scopeOf(ctx);
      checkFairShare(input.fairsharePolicy);
      const policy = await store.transaction(async (tx) => {
        const p = await findPolicy(tx, scope, input.arn);
        if (!p) throw clientError(`${input.arn} does not exist`);
        if (input.fairsharePolicy !== undefined) p.fairsharePolicy = input.fairsharePolicy;
        await tx.put(T.policies, resourceKey(scope, p.name), p);
        return p;
      });
      await policyChanged(deps, policy);
      return {};
    },

    async DeleteSchedulingPolicy(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const p = await findPolicy(tx, scope, input.arn);
        if (!p) throw clientError(`${input.arn} does not exist`);
        const queues = await tx.list<QueueRecord>(T.queues, { prefix: scopePrefix(scope) });
        if (queues.some((q) => q.value.schedulingPolicyArn === p.arn)) {
          throw clientError('Cannot delete, found existing JobQueue relationship');
        }
        await tx.delete(T.policies, resourceKey(scope, p.name));
      });
      return {};
    },
  };
}
