/**
 * Compute environments: MANAGED (EC2, SPOT, FARGATE, FARGATE_SPOT) and UNMANAGED.
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateComputeEnvironment.html
 *
 * A new or updated environment is CREATING / UPDATING and turns VALID on the next turn of
 * the event loop (there are no instances to provision: capacity is a share of this machine,
 * see scheduler.ts). Deleting takes a DISABLED environment that no queue uses.
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import type {
  ComputeEnvironmentDetail,
  ComputeResource,
  CreateComputeEnvironmentRequest,
} from '../../api/batch/types.js';
import { randomUUID } from 'node:crypto';
import { buildArn } from '../../shared/arn.js';
import {
  arnOf,
  checkName,
  clientError,
  findEnvironment,
  describeResources,
  scopeOf,
  type BatchDeps,
} from './common.js';
import { T, resourceKey, scopePrefix, type EnvironmentRecord, type QueueRecord } from './store.js';

type Ops = Pick<
  BatchOperations,
  | 'CreateComputeEnvironment'
  | 'DescribeComputeEnvironments'
  | 'UpdateComputeEnvironment'
  | 'DeleteComputeEnvironment'
>;

const isFargate = (type: string | undefined): boolean =>
  type === 'FARGATE' || type === 'FARGATE_SPOT';

/** AWS's checks of computeResources (the ones that matter on one machine). */
function checkResources(r: ComputeResource): void {
  if (r.maxvCpus < 0) throw clientError('maxvCpus must be greater than or equal to 0');
  if (isFargate(r.type)) {
    for (const field of ['minvCpus', 'desiredvCpus', 'instanceTypes', 'imageId'] as const) {
      if (r[field] !== undefined) {
        throw clientError(
          `Error executing request, Exception : ${field} is not applicable for Fargate compute resources`,
        );
      }
    }
    return;
  }
  const min = r.minvCpus ?? 0;
  if (min < 0) throw clientError('minvCpus must be greater than or equal to 0');
  if (min > r.maxvCpus) throw clientError('minvCpus must be less than or equal to maxvCpus');
  const desired = r.desiredvCpus ?? min;
  if (desired < min || desired > r.maxvCpus) {
    throw clientError('desiredvCpus must be between minvCpus and maxvCpus');
  }
}

export function environmentOperations(deps: BatchDeps): Ops {
  const { store, engine } = deps;

  /** CREATING/UPDATING → VALID once the request is answered. */
  const settle = (key: string): void => {
    setImmediate(() => {
      void store
        .transaction(async (tx) => {
          const env = await tx.get<EnvironmentRecord>(T.environments, key);
          if (!env || (env.status !== 'CREATING' && env.status !== 'UPDATING')) return undefined;
          env.status = 'VALID';
          env.statusReason = 'ComputeEnvironment Healthy';
          await tx.put(T.environments, key, env);
          return env;
        })
        .then((env) => env && engine.environmentChanged(env.computeEnvironmentArn, env))
        .catch(() => undefined);
    });
  };

  return {
    async CreateComputeEnvironment(input: CreateComputeEnvironmentRequest, ctx) {
      const scope = scopeOf(ctx);
      const name = input.computeEnvironmentName;
      checkName('Compute environment', name);
      const r = input.computeResources;
      if (input.type === 'MANAGED') {
        if (!r)
          throw clientError('computeResources must be specified for MANAGED compute environments');
        checkResources(r);
      } else if (r) {
        throw clientError(
          'computeResources must not be specified for UNMANAGED compute environments',
        );
      }
      const arn = arnOf(scope, 'compute-environment', name);
      const uuid = randomUUID();
      const record: EnvironmentRecord = {
        computeEnvironmentName: name,
        computeEnvironmentArn: arn,
        ecsClusterArn: buildArn(
          'ecs',
          scope.region,
          scope.account,
          `cluster/AWSBatch-${name}-${uuid}`,
        ),
        type: input.type,
        state: input.state ?? 'ENABLED',
        status: 'CREATING',
        statusReason: 'ComputeEnvironment is being created',
        computeResources: r && {
          ...r,
          minvCpus: isFargate(r.type) ? undefined : (r.minvCpus ?? 0),
          desiredvCpus: isFargate(r.type) ? undefined : (r.desiredvCpus ?? r.minvCpus ?? 0),
        },
        unmanagedvCpus: input.unmanagedvCpus,
        serviceRole:
          input.serviceRole ??
          buildArn(
            'iam',
            '',
            scope.account,
            'role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch',
          ),
        tags: input.tags,
        containerOrchestrationType: 'ECS',
        uuid,
        context: input.context,
        createdAt: deps.now(),
      };
      const key = resourceKey(scope, name);
      if (!(await store.insert(T.environments, key, record))) {
        throw clientError('Object already exists');
      }
      settle(key);
      return { computeEnvironmentName: name, computeEnvironmentArn: arn };
    },

    async DescribeComputeEnvironments(input, ctx) {
      const scope = scopeOf(ctx);
      const page = await describeResources(store, T.environments, scope, input, detail, {
        refs: input.computeEnvironments,
        find: findEnvironment,
      });
      return { computeEnvironments: page.items, nextToken: page.nextToken };
    },

    async UpdateComputeEnvironment(input, ctx) {
      const scope = scopeOf(ctx);
      const env = await store.transaction(async (tx) => {
        const found = await findEnvironment(tx, scope, input.computeEnvironment);
        if (!found) throw clientError(`${input.computeEnvironment} does not exist`);
        if (input.state !== undefined) found.state = input.state;
        if (input.unmanagedvCpus !== undefined) {
          if (found.type !== 'MANAGED') found.unmanagedvCpus = input.unmanagedvCpus;
          else
            throw clientError(
              'unmanagedvCpus can only be specified for UNMANAGED compute environments',
            );
        }
        if (input.computeResources) {
          if (!found.computeResources) {
            throw clientError(
              'computeResources can only be specified for MANAGED compute environments',
            );
          }
          const next = { ...found.computeResources };
          for (const [k, v] of Object.entries(input.computeResources)) {
            if (v !== undefined && k !== 'updateToLatestImageVersion') {
              (next as Record<string, unknown>)[k] = v;
            }
          }
          checkResources(next);
          found.computeResources = next;
        }
        if (input.serviceRole !== undefined) found.serviceRole = input.serviceRole;
        if (input.updatePolicy !== undefined) found.updatePolicy = input.updatePolicy;
        if (input.context !== undefined) found.context = input.context;
        found.status = 'UPDATING';
        await tx.put(T.environments, resourceKey(scope, found.computeEnvironmentName), found);
        return found;
      });
      engine.environmentChanged(env.computeEnvironmentArn, env);
      settle(resourceKey(scope, env.computeEnvironmentName));
      return {
        computeEnvironmentName: env.computeEnvironmentName,
        computeEnvironmentArn: env.computeEnvironmentArn,
      };
    },

    async DeleteComputeEnvironment(input, ctx) {
      const scope = scopeOf(ctx);
      const arn = await store.transaction(async (tx) => {
        const env = await findEnvironment(tx, scope, input.computeEnvironment);
        if (!env) throw clientError(`${input.computeEnvironment} does not exist`);
        if (env.state !== 'DISABLED') {
          throw clientError('Cannot delete, ComputeEnvironment is not in DISABLED state');
        }
        const queues = await tx.list<QueueRecord>(T.queues, { prefix: scopePrefix(scope) });
        if (
          queues.some((q) =>
            q.value.computeEnvironmentOrder.some(
              (o) => o.computeEnvironment === env.computeEnvironmentArn,
            ),
          )
        ) {
          throw clientError('Cannot delete, found existing JobQueue relationship');
        }
        await tx.delete(T.environments, resourceKey(scope, env.computeEnvironmentName));
        return env.computeEnvironmentArn;
      });
      engine.environmentChanged(arn, undefined);
      return {};
    },
  };
}

function detail(env: EnvironmentRecord): ComputeEnvironmentDetail {
  const { createdAt: _createdAt, ...rest } = env;
  return rest;
}
