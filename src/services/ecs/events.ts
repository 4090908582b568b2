/**
 * ECS and EventBridge: task state changes published on the internal bus as AWS's
 * `ECS Task State Change` events (the detail is the task as DescribeTasks shows it), and
 * ECS as a target of rules and schedules (RunTask with the target's EcsParameters).
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html#targets-specifics-ecs-task
 */
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { RunTaskRequest } from '../../api/ecs/types.js';
import type { EventBus } from '../../events/bus.js';
import { DeliveryRefused, type TargetService } from '../../events/targets.js';
import { parseArn, rootPrincipal } from '../../shared/arn.js';
import type { EcsTasks } from './task-manager.js';
import { toTask } from './tasks.js';

/** Publishes each change of a task's lastStatus (or desiredStatus) once. */
export function publishTaskChanges(
  tasks: EcsTasks,
  bus: EventBus,
  warn: (message: string) => void,
): void {
  const seen = new Map<string, string>();
  tasks.onChange((record) => {
    const state = `${record.report.lastStatus}/${record.desiredStatus}`;
    const key = `${record.account}/${record.region}/${record.taskId}`;
    if (seen.get(key) === state) return;
    if (record.report.lastStatus === 'STOPPED') seen.delete(key);
    else seen.set(key, state);
    const task = toTask(record);
    // JSON as the event carries it: dates as ISO strings.
    const detail = JSON.parse(JSON.stringify(task)) as Record<string, unknown>;
    bus
      .publish([
        {
          source: 'aws.ecs',
          detailType: 'ECS Task State Change',
          account: record.account,
          region: record.region,
          resources: [task.taskArn ?? ''],
          detail,
        },
      ])
      .catch((err: unknown) => warn(`ecs: task state change not published: ${String(err)}`));
  });
}

type Params = Record<string, unknown>;

/** A rule's or schedule's EcsParameters as RunTask's input, for the cluster `arn`. */
export function runTaskInput(cluster: string, p: Params, payload: Buffer): RunTaskRequest {
  const vpc = (p.NetworkConfiguration as Params | undefined)?.awsvpcConfiguration as
    Params | undefined;
  const input: RunTaskRequest = {
    cluster,
    taskDefinition: String(p.TaskDefinitionArn ?? ''),
    count: typeof p.TaskCount === 'number' ? p.TaskCount : 1,
    startedBy: 'events-rule',
    ...(p.LaunchType !== undefined && { launchType: p.LaunchType as RunTaskRequest['launchType'] }),
    ...(p.PlatformVersion !== undefined && { platformVersion: String(p.PlatformVersion) }),
    ...(p.Group !== undefined && { group: String(p.Group) }),
    ...(vpc && {
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: (vpc.Subnets as string[] | undefined) ?? [],
          ...(vpc.SecurityGroups !== undefined && {
            securityGroups: vpc.SecurityGroups as string[],
          }),
          ...(vpc.AssignPublicIp !== undefined && {
            assignPublicIp: vpc.AssignPublicIp as 'ENABLED' | 'DISABLED',
          }),
        },
      },
    }),
  };
  // "The JSON text of Input [...] is passed as the overrides of the task".
  try {
    const body = JSON.parse(payload.toString('utf8')) as Params;
    if (body && typeof body === 'object' && Array.isArray(body.containerOverrides)) {
      input.overrides = body as RunTaskRequest['overrides'];
    }
  } catch {
    // Not JSON: no overrides.
  }
  return input;
}

/** ECS as a target: the target ARN is a cluster's, EcsParameters say what to run. */
export function ecsEventTarget(ops: Partial<Pick<EcsOperations, 'RunTask'>>): TargetService {
  return {
    async deliver(d) {
      const arn = parseArn(d.arn);
      if (!arn || !arn.resource.startsWith('cluster/')) {
        throw new DeliveryRefused(`not a cluster ARN: ${d.arn}`);
      }
      if (!ops.RunTask) throw new DeliveryRefused('ECS RunTask is not available');
      const params = d.ecsParameters ?? {};
      const out = await ops.RunTask(runTaskInput(d.arn, params, d.payload), {
        requestId: d.deliveryId,
        account: arn.account,
        region: arn.region,
        accessKeyId: '',
        principal: rootPrincipal(arn.account),
      });
      if (out.failures?.length) {
        throw new DeliveryRefused(`RunTask failed: ${JSON.stringify(out.failures)}`);
      }
    },
  };
}
