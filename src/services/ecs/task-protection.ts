/**
 * Task scale-in protection: UpdateTaskProtection and GetTaskProtection. A protected task of
 * a service is not stopped by the service scheduler's scale-in or by a deployment until
 * its protection ends (scheduler.ts).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateTaskProtection.html
 *
 * "This operation is only supported for tasks belonging to an Amazon ECS service. Invoking
 * this operation for a standalone task will result in an TASK_NOT_VALID failure."
 */
import { InvalidParameterException } from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { Failure, ProtectedTask } from '../../api/ecs/types.js';
import { findCluster, nameOf, scopeOf, taskArn, toDate, type EcsDeps } from './common.js';
import { T, taskKey, type TaskRecord } from './store.js';

type ProtectionOps = Pick<EcsOperations, 'UpdateTaskProtection' | 'GetTaskProtection'>;

/** "The default value is 120 minutes (2 hours)"; at most 2,880 (48 hours). */
const DEFAULT_MINUTES = 120;
const MAX_MINUTES = 2880;

/** Whether scale-in and deployments must leave the task running now. */
export const isProtected = (t: TaskRecord, now: number): boolean =>
  t.protectedUntil !== undefined && t.protectedUntil > now;

function protectedTask(t: TaskRecord, now: number): ProtectedTask {
  const on = isProtected(t, now);
  return {
    taskArn: taskArn(t, t.cluster, t.taskId),
    protectionEnabled: on,
    ...(on && { expirationDate: toDate(t.protectedUntil) }),
  };
}

export function taskProtectionOperations(deps: EcsDeps): ProtectionOps {
  return {
    async UpdateTaskProtection(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.tasks.length < 1 || input.tasks.length > 10)
        throw new InvalidParameterException('tasks must contain between 1 and 10 tasks.');
      const minutes = input.expiresInMinutes ?? DEFAULT_MINUTES;
      if (input.protectionEnabled && (minutes < 1 || minutes > MAX_MINUTES))
        throw new InvalidParameterException(
          `expiresInMinutes must be between 1 and ${MAX_MINUTES}.`,
        );
      const now = deps.now();
      const protectedTasks: ProtectedTask[] = [];
      const failures: Failure[] = [];
      await deps.store.transaction(async (tx) => {
        for (const ref of input.tasks) {
          const id = nameOf(ref, 'task');
          const key = taskKey(scope, cluster.name, id);
          const t = await tx.get<TaskRecord>(T.tasks, key);
          const arn = taskArn(scope, cluster.name, id);
          if (!t || t.report.lastStatus === 'STOPPED') {
            failures.push({ arn, reason: 'MISSING' });
            continue;
          }
          if (!t.service) {
            failures.push({
              arn,
              reason: 'TASK_NOT_VALID',
              detail: 'The task is not part of a service.',
            });
            continue;
          }
          if (input.protectionEnabled) t.protectedUntil = now + minutes * 60_000;
          else delete t.protectedUntil;
          t.version++;
          await tx.put(T.tasks, key, t);
          protectedTasks.push(protectedTask(t, now));
        }
      });
      // Unprotected tasks may now be the scale-in the service was waiting for.
      if (!input.protectionEnabled) await deps.scheduler.kickCluster(scope, cluster.name);
      return { protectedTasks, failures };
    },

    async GetTaskProtection(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const now = deps.now();
      const protectedTasks: ProtectedTask[] = [];
      const failures: Failure[] = [];
      for (const ref of input.tasks ?? []) {
        const id = nameOf(ref, 'task');
        const t = await deps.store.get<TaskRecord>(T.tasks, taskKey(scope, cluster.name, id));
        if (!t) failures.push({ arn: taskArn(scope, cluster.name, id), reason: 'MISSING' });
        else protectedTasks.push(protectedTask(t, now));
      }
      return { protectedTasks, failures };
    },
  };
}
