/**
 * How the engine runs one attempt of a job: it hands an executor the job's container and
 * hears back when the container runs and when it exits. One attempt is one single-container
 * task, as on AWS (an ECS task on the compute environment's cluster).
 *
 * task-executor.ts runs it on the task runner (src/runtime/tasks); benchmarks plug in
 * executors of their own.
 */
import type { JobRecord } from './store.js';
import type { AttemptOutcome } from './retry.js';

export const LOG_GROUP = '/aws/batch/job';

export interface AttemptSpec {
  job: JobRecord;
  /** 1-based (AWS_BATCH_JOB_ATTEMPT). */
  attempt: number;
  environmentName: string;
  queueName: string;
  /** The ECS task's id (32 hex digits): the end of its ARN and of the log stream name. */
  taskId: string;
  /** `<job definition name>/default/<task id>` in LOG_GROUP. */
  logStreamName: string;
  /** A multi-node job's child node: the main node's address (multi-node.ts). */
  mainNodeAddress?: string;
}

export interface AttemptEvents {
  /** The container started (STARTING → RUNNING), with its own address where it has one. */
  running(info?: { privateIp?: string }): void;
  /** The attempt ended: the container exited, or it could not be started (no exit code). */
  exited(outcome: AttemptOutcome & { statusReason: string }): void;
}

export interface RunningAttempt {
  /** Asks the container to stop (stop signal, then SIGKILL after the grace period); exited follows. */
  stop(): Promise<void>;
}

export interface JobExecutor {
  launch(spec: AttemptSpec, events: AttemptEvents): RunningAttempt;
  /** Stops every attempt in progress (server shutdown); their jobs are recovered at start. */
  close(): Promise<void>;
}
