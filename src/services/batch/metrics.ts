/**
 * Batch's CloudWatch metrics, published through the `metrics` link on the transitions the
 * engine already makes (its onStatusChange, after each commit): no polling, a few in-memory
 * additions per transition (the sink folds them per minute and writes once a second).
 * https://docs.aws.amazon.com/batch/latest/userguide/using_cloudwatch_metrics.html
 *
 * "AWS Batch publishes these metrics under the `AWS/Batch` namespace" … "All metrics are
 * published with the `JobQueueName` dimension." "State transition metrics use the `Count`
 * unit and duration metrics use the `Milliseconds` unit."
 *
 * | Metric | Reporting behavior (AWS's words) |
 * | JobsSubmitted | "Emitted when a job is first submitted (enters the SUBMITTED state). For an
 * |   | array job, the value is the size of the array." |
 * | JobsMovedToPending | "Emitted when a job moves to PENDING." |
 * | JobsMovedToRunnable | "Emitted when a job moves to RUNNABLE, either the first time or as
 * |   | the result of a retry attempt." |
 * | JobsMovedToStarting, JobsMovedToRunning, JobsMovedToSucceeded | on entering the state |
 * | JobsMovedToFailed | "Includes jobs that were cancelled or terminated." |
 * | JobsCancelled | "Emitted when a job enters the FAILED state as the result of a cancel
 * |   | request (before the job started running)." |
 * | JobsTerminated | "… as the result of a terminate request." |
 * | JobsRetried | "Emitted when a job attempt fails and the job is returned to RUNNABLE to be
 * |   | retried." |
 * | JobSubmittedToRunnableDuration | "Emitted when the job enters RUNNABLE. For an array child
 * |   | job, this measures the time from when the parent job was submitted …" |
 * | JobAttemptStartingToRunningDuration | "Emitted per attempt when the job enters RUNNING." |
 * | JobAttemptExecutionDuration | "Emitted when a job attempt completes, measured from when
 * |   | the attempt started running to when it stopped." |
 * | JobAttemptDuration | "measured from when it entered STARTING until the attempt ended" …
 * |   | "either when the job reaches a terminal state … or when it returns to RUNNABLE" |
 * | JobSubmittedToFirstStartingDuration | "Emitted on the first attempt, when the job first
 * |   | enters STARTING." |
 * | JobAttemptRunnableToStartingDuration | "Emitted when the job enters STARTING." |
 *
 * The service-job metrics (JobsMovedToScheduled, JobsPreempted, …) are not emitted: Stratus
 * runs no SageMaker service jobs.
 *
 * Array and multi-node jobs: "The array parent job does not emit metrics, except for
 * `JobsSubmitted`. Instead, each array child job emits these metrics independently";
 * "MNP metrics are emitted from the MNP parent job … The individual MNP child (node) jobs do
 * not emit these metrics."
 */
import type { JobStatus } from '../../api/batch/types.js';
import type { MetricDimension, MetricSink } from '../../events/metrics.js';
import { isNode } from './multi-node.js';
import type { JobRecord } from './store.js';

const NS = 'AWS/Batch';

/** The engine's onStatusChange that publishes AWS's Batch metrics into `sink`. */
export function jobMetrics(
  sink: MetricSink,
  now: () => number,
): (job: JobRecord, before: JobStatus | undefined) => void {
  if (!sink.enabled) return () => undefined;
  // One frozen dimension list per queue: the sink finds its aggregates without a key string.
  const dimsOf = new Map<string, readonly MetricDimension[]>();
  return (job, before) => {
    if (isNode(job)) return;
    let dims = dimsOf.get(job.jobQueue);
    if (!dims) {
      const queueName = job.jobQueue.slice(job.jobQueue.lastIndexOf('/') + 1);
      dims = Object.freeze([Object.freeze({ Name: 'JobQueueName', Value: queueName })]);
      dimsOf.set(job.jobQueue, dims);
    }
    const t = now();
    const count = (name: string, value = 1): void =>
      sink.put(job, NS, name, dims, value, 'Count', t);
    const ms = (name: string, to: number | undefined, from: number | undefined): void => {
      if (to !== undefined && from !== undefined) {
        sink.put(job, NS, name, dims, Math.max(0, to - from), 'Milliseconds', t);
      }
    };
    const isArrayParent = job.array !== undefined && job.array.parentId === undefined;
    if (before === undefined && job.array?.parentId === undefined) {
      count('JobsSubmitted', isArrayParent ? (job.array?.size ?? 1) : 1);
    }
    if (isArrayParent) return;
    const attemptEnded = before === 'STARTING' || before === 'RUNNING';
    switch (job.status) {
      case 'PENDING':
        count('JobsMovedToPending');
        return;
      case 'RUNNABLE':
        count('JobsMovedToRunnable');
        if (attemptEnded) count('JobsRetried');
        else ms('JobSubmittedToRunnableDuration', job.runnableAt, job.createdAt);
        break;
      case 'STARTING':
        count('JobsMovedToStarting');
        if (job.attempts.length === 0) {
          ms('JobSubmittedToFirstStartingDuration', job.startingAt, job.createdAt);
        }
        ms('JobAttemptRunnableToStartingDuration', job.startingAt, job.runnableAt);
        return;
      case 'RUNNING':
        count('JobsMovedToRunning');
        ms('JobAttemptStartingToRunningDuration', job.startedAt, job.startingAt);
        return;
      case 'SUCCEEDED':
        count('JobsMovedToSucceeded');
        break;
      case 'FAILED':
        count('JobsMovedToFailed');
        if (job.isCancelled) count('JobsCancelled');
        if (job.isTerminated) count('JobsTerminated');
        break;
      default:
        return;
    }
    if (!attemptEnded) return;
    const last = job.attempts.at(-1);
    if (!last) return;
    if (before === 'RUNNING') ms('JobAttemptExecutionDuration', last.stoppedAt, last.startedAt);
    ms('JobAttemptDuration', last.stoppedAt, job.startingAt);
  };
}
