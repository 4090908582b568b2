/**
 * Job queues: priority, up to three compute environments in order, state, and an optional
 * fair-share scheduling policy.
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html
 *
 * Like environments, a queue is CREATING / UPDATING and VALID on the next turn. Deleting
 * takes a DISABLED queue.
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import type { ComputeEnvironmentOrder, JobQueueDetail } from '../../api/batch/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { checkTimeLimitActions } from './time-limits.js';
import {
  arnOf,
  checkName,
  clientError,
  findEnvironment,
  findPolicy,
  findQueue,
  describeResources,
  scopeOf,
  type BatchDeps,
} from './common.js';
import { T, resourceKey, type PolicyRecord, type QueueRecord, type Scope } from './store.js';

type Ops = Pick<
  BatchOperations,
  'CreateJobQueue' | 'DescribeJobQueues' | 'UpdateJobQueue' | 'DeleteJobQueue'
>;

const isFargate = (type: string | undefined): boolean =>
  type === 'FARGATE' || type === 'FARGATE_SPOT';

/** The order's environments as ARNs, checked as AWS checks them. */
async function resolveOrder(
  tx: MetadataOps,
  scope: Scope,
  order: ComputeEnvironmentOrder[],
): Promise<ComputeEnvironmentOrder[]> {
  if (order.length === 0) throw clientError('computeEnvironmentOrder must not be empty');
  if (order.length > 3) {
    throw clientError('A job queue can have at most 3 compute environments');
  }
  if (new Set(order.map((o) => o.order)).size !== order.length) {
    throw clientError('computeEnvironmentOrder must have unique order values');
  }
  const out: ComputeEnvironmentOrder[] = [];
  let fargate: boolean | undefined;
  for (const o of order) {
    const env = await findEnvironment(tx, scope, o.computeEnvironment);
    if (!env) throw clientError(`computeEnvironment ${o.computeEnvironment} does not exist`);
    const f = isFargate(env.computeResources?.type);
    if (fargate !== undefined && fargate !== f) {
      throw clientError('computeEnvironmentOrder cannot mix Fargate and EC2 compute environments');
    }
    fargate = f;
    out.push({ order: o.order, computeEnvironment: env.computeEnvironmentArn });
  }
  return out;
}

function checkPriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < 0 || priority > 1000) {
    throw clientError('priority must be between 0 and 1000');
  }
}

export function queueOperations(deps: BatchDeps): Ops {
  const { store, engine } = deps;

  const policyOf = async (q: QueueRecord): Promise<PolicyRecord | undefined> => {
    if (!q.schedulingPolicyArn) return undefined;
    const scope = { account: q.jobQueueArn.split(':')[4], region: q.jobQueueArn.split(':')[3] };
    return findPolicy(store, scope, q.schedulingPolicyArn);
  };

  const settle = (key: string): void => {
    setImmediate(() => {
      void store
        .transaction(async (tx) => {
          const q = await tx.get<QueueRecord>(T.queues, key);
          if (!q || (q.status !== 'CREATING' && q.status !== 'UPDATING')) return undefined;
          q.status = 'VALID';
          q.statusReason = 'JobQueue Healthy';
          await tx.put(T.queues, key, q);
          return q;
        })
        .then(async (q) => q && engine.queueChanged(q.jobQueueArn, q, await policyOf(q)))
        .catch(() => undefined);
    });
  };

  return {
    async CreateJobQueue(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('Job queue', input.jobQueueName);
      checkPriority(input.priority);
      checkTimeLimitActions(input.jobStateTimeLimitActions);
      if (input.serviceEnvironmentOrder?.length) {
        throw clientError(
          'serviceEnvironmentOrder (SageMaker Training jobs) is not supported by Stratus',
        );
      }
      const arn = arnOf(scope, 'job-queue', input.jobQueueName);
      const key = resourceKey(scope, input.jobQueueName);
      await store.transaction(async (tx) => {
        const order = await resolveOrder(tx, scope, input.computeEnvironmentOrder ?? []);
        if (input.schedulingPolicyArn !== undefined) {
          if (!(await findPolicy(tx, scope, input.schedulingPolicyArn))) {
            throw clientError(`schedulingPolicyArn ${input.schedulingPolicyArn} does not exist`);
          }
        }
        const record: QueueRecord = {
          jobQueueName: input.jobQueueName,
          jobQueueArn: arn,
          state: input.state ?? 'ENABLED',
          status: 'CREATING',
          statusReason: 'JobQueue is being created',
          priority: input.priority,
          schedulingPolicyArn: input.schedulingPolicyArn,
          computeEnvironmentOrder: order,
          jobQueueType: 'ECS',
          tags: input.tags,
          jobStateTimeLimitActions: input.jobStateTimeLimitActions,
          createdAt: deps.now(),
        };
        if (!(await tx.insert(T.queues, key, record))) throw clientError('Object already exists');
      });
      settle(key);
      return { jobQueueName: input.jobQueueName, jobQueueArn: arn };
    },

    async DescribeJobQueues(input, ctx) {
      const scope = scopeOf(ctx);
      const page = await describeResources(store, T.queues, scope, input, detail, {
        refs: input.jobQueues,
        find: findQueue,
      });
      return { jobQueues: page.items, nextToken: page.nextToken };
    },

    async UpdateJobQueue(input, ctx) {
      const scope = scopeOf(ctx);
      const q = await store.transaction(async (tx) => {
        const found = await findQueue(tx, scope, input.jobQueue);
        if (!found) throw clientError(`${input.jobQueue} does not exist`);
        if (input.priority !== undefined) {
          checkPriority(input.priority);
          found.priority = input.priority;
        }
        if (input.state !== undefined) found.state = input.state;
        if (input.computeEnvironmentOrder !== undefined) {
          found.computeEnvironmentOrder = await resolveOrder(
            tx,
            scope,
            input.computeEnvironmentOrder,
          );
        }
        if (input.schedulingPolicyArn !== undefined) {
          // "You can't add a fair-share policy to a FIFO queue or remove one."
          if (found.schedulingPolicyArn === undefined) {
            throw clientError('Cannot add a scheduling policy to a job queue created without one');
          }
          if (!(await findPolicy(tx, scope, input.schedulingPolicyArn))) {
            throw clientError(`schedulingPolicyArn ${input.schedulingPolicyArn} does not exist`);
          }
          found.schedulingPolicyArn = input.schedulingPolicyArn;
        }
        if (input.jobStateTimeLimitActions !== undefined) {
          checkTimeLimitActions(input.jobStateTimeLimitActions);
          found.jobStateTimeLimitActions = input.jobStateTimeLimitActions;
        }
        found.status = 'UPDATING';
        await tx.put(T.queues, resourceKey(scope, found.jobQueueName), found);
        return found;
      });
      engine.queueChanged(q.jobQueueArn, q, await policyOf(q));
      settle(resourceKey(scope, q.jobQueueName));
      return { jobQueueName: q.jobQueueName, jobQueueArn: q.jobQueueArn };
    },

    async DeleteJobQueue(input, ctx) {
      const scope = scopeOf(ctx);
      const arn = await store.transaction(async (tx) => {
        const q = await findQueue(tx, scope, input.jobQueue);
        if (!q) throw clientError(`${input.jobQueue} does not exist`);
        if (q.state !== 'DISABLED') {
          throw clientError('Cannot delete, JobQueue is not in DISABLED state');
        }
        await tx.delete(T.queues, resourceKey(scope, q.jobQueueName));
        return q.jobQueueArn;
      });
      engine.queueChanged(arn, undefined, undefined);
      return {};
    },
  };
}

function detail(q: QueueRecord): JobQueueDetail {
  const { createdAt: _createdAt, ...rest } = q;
  return rest;
}

/** Pushes a changed policy to every queue that uses it. */
export async function policyChanged(deps: BatchDeps, policy: PolicyRecord): Promise<void> {
  const scopePart = policy.arn.split(':');
  const scope = { account: scopePart[4], region: scopePart[3] };
  const queues = await deps.store.list<QueueRecord>(T.queues, {
    prefix: `${scope.account}/${scope.region}/`,
  });
  for (const { value } of queues) {
    if (value.schedulingPolicyArn === policy.arn) {
      deps.engine.queueChanged(value.jobQueueArn, value, policy);
    }
  }
}
