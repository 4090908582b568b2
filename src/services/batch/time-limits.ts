/**
 * Job queues' jobStateTimeLimitActions: "Specifies an action that AWS Batch will take after
 * the job has remained at the head of the queue in the specified state for longer than the
 * specified time" (https://docs.aws.amazon.com/batch/latest/APIReference/API_JobStateTimeLimitAction.html,
 * https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable.html).
 *
 * The blocked reason Stratus can infer is the one its scheduler sees: a RUNNABLE job at the
 * head of its queue that no usable compute environment of the queue has the vCPUs for. Its
 * statusReason becomes AWS's text for that case, and an action of the queue with that
 * reason cancels (or terminates) it `maxTimeSeconds` after it was first blocked.
 */
import type { JobStateTimeLimitAction } from '../../api/batch/types.js';
import { clientError } from './common.js';

export const BLOCKED = {
  reason: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE',
  statusReason:
    'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job.',
} as const;

/** The statusReason of a job an action ended. */
export const actionReason = (a: JobStateTimeLimitAction): string =>
  `${a.action === 'CANCEL' ? 'Canceled' : 'Terminated'} by JobStateTimeLimit action due to reason: ${a.reason}`;

/** CreateJobQueue / UpdateJobQueue's checks. */
export function checkTimeLimitActions(actions: JobStateTimeLimitAction[] | undefined): void {
  for (const a of actions ?? []) {
    if (a.state !== 'RUNNABLE') {
      throw clientError('jobStateTimeLimitActions state must be RUNNABLE');
    }
    if (a.action !== 'CANCEL' && a.action !== 'TERMINATE') {
      throw clientError('jobStateTimeLimitActions action must be CANCEL or TERMINATE');
    }
    if (
      !Number.isInteger(a.maxTimeSeconds) ||
      a.maxTimeSeconds < 600 ||
      a.maxTimeSeconds > 86_400
    ) {
      throw clientError('jobStateTimeLimitActions maxTimeSeconds must be between 600 and 86400');
    }
    if (!a.reason) throw clientError('jobStateTimeLimitActions reason must be specified');
  }
}

export interface TimeLimitDeps {
  now(): number;
  /** Runs the action on the job if it is still blocked. */
  act(jobId: string, action: JobStateTimeLimitAction): void;
}

/** One timer per blocked job whose queue has an action for its reason. */
export class TimeLimits {
  private readonly actions = new Map<string, JobStateTimeLimitAction[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: TimeLimitDeps) {}

  setQueue(arn: string, actions: JobStateTimeLimitAction[] | undefined): void {
    if (actions?.length) this.actions.set(arn, actions);
    else this.actions.delete(arn);
  }

  /** A job of `queue` blocked since `since` (ms): arms its queue's action, if any. */
  blocked(jobId: string, queue: string, since: number): void {
    const action = this.actions
      .get(queue)
      ?.find((a) => a.state === 'RUNNABLE' && a.reason === BLOCKED.reason);
    if (!action || this.timers.has(jobId)) return;
    const delay = Math.max(0, since + action.maxTimeSeconds * 1000 - this.deps.now());
    const timer = setTimeout(() => {
      this.timers.delete(jobId);
      this.deps.act(jobId, action);
    }, delay);
    timer.unref();
    this.timers.set(jobId, timer);
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
