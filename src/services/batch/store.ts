/**
 * Batch's tables in the MetadataStore and the key layout that orders them.
 *
 * Resources (compute environments, job queues, scheduling policies) are keyed
 * `<account>/<region>/<name>`; job definitions `<account>/<region>/<name>/<revision, 9 digits>`
 * so a name's revisions list in order. Names never contain '/' (AWS's pattern is letters,
 * digits, '-' and '_').
 *
 * Jobs are keyed by job id (a UUID; an array child is `<parent id>:<index>`, AWS's form).
 * The store has no secondary indexes, so the scheduler's and ListJobs' queries each have a
 * table of their own, written in the same transaction as the job:
 *  - `batch_job_list`: `<list scope>/<status>/<seq, 16 digits>` → job id, where the list
 *    scope is the queue ARN (queue names have no '/') or, for an array child, `array/<parent
 *    id>` (AWS lists children only by their parent), for a multi-node job's node
 *    `node/<parent id>`: ListJobs by queue and status, or by array or multi-node parent, is
 *    one range scan in submission order;
 *  - `batch_job_names`: `<queue ARN>/<job name>/<seq>` → job id: ListJobs' JOB_NAME filter
 *    (an exact name, or a prefix ending with `*`) is a range scan too;
 *  - `batch_open_jobs`: `<job id>` → '' for every job not yet SUCCEEDED or FAILED: what a
 *    restart reloads into the scheduler, however many finished jobs are kept.
 */
import type {
  ComputeEnvironmentDetail,
  ContainerDetail,
  JobDefinition,
  JobDependency,
  JobQueueDetail,
  JobStatus,
  JobTimeout,
  AttemptDetail,
  RetryStrategy,
  SchedulingPolicyDetail,
  ArrayJobStatusSummary,
  NodeProperties,
} from '../../api/batch/types.js';

export const T = {
  environments: 'batch_compute_environments',
  queues: 'batch_job_queues',
  policies: 'batch_scheduling_policies',
  definitions: 'batch_job_definitions',
  jobs: 'batch_jobs',
  list: 'batch_job_list',
  names: 'batch_job_names',
  open: 'batch_open_jobs',
} as const;

export interface Scope {
  account: string;
  region: string;
}

export const resourceKey = (scope: Scope, name: string): string =>
  `${scope.account}/${scope.region}/${name}`;

export const scopePrefix = (scope: Scope): string => `${scope.account}/${scope.region}/`;

export const definitionKey = (scope: Scope, name: string, revision: number): string =>
  `${resourceKey(scope, name)}/${String(revision).padStart(9, '0')}`;

/** Where a job lists: its queue, and (for an array child) its parent too. */
export const listKey = (listScope: string, status: JobStatus, seq: number): string =>
  `${listScope}/${status}/${String(seq).padStart(16, '0')}`;

export const arrayScope = (parentId: string): string => `array/${parentId}`;

export type EnvironmentRecord = ComputeEnvironmentDetail & { createdAt: number };
export type QueueRecord = JobQueueDetail & { createdAt: number };
export type PolicyRecord = SchedulingPolicyDetail;
export type DefinitionRecord = JobDefinition;

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED']);

/** One job (or array parent, or array child) as stored. */
export interface JobRecord {
  jobId: string;
  jobArn: string;
  jobName: string;
  account: string;
  region: string;
  /** The queue's ARN. */
  jobQueue: string;
  status: JobStatus;
  statusReason?: string;
  /** Submission order: FIFO within a queue, and the list index's order. */
  seq: number;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  jobDefinition: string;
  /** The definition's name (the log stream's first part). */
  definitionName: string;
  shareIdentifier?: string;
  schedulingPriority?: number;
  dependsOn: JobDependency[];
  parameters?: Record<string, string>;
  /** The container as it runs: definition, overrides and Ref:: substitutions applied. */
  container: ContainerDetail;
  /** What the scheduler reserves: thousandths of a vCPU and MiB. */
  milliVcpus: number;
  memoryMib: number;
  retryStrategy?: RetryStrategy;
  timeout?: JobTimeout;
  tags?: Record<string, string>;
  propagateTags?: boolean;
  platformCapabilities?: string[];
  attempts: AttemptDetail[];
  /** Jobs (ids) this one still waits for before it can be RUNNABLE. */
  waitingOn: string[];
  /** Array parent: size and the children's status counts; child: its index and parent. */
  array?: { size: number; summary?: ArrayJobStatusSummary; index?: number; parentId?: string };
  /**
   * Multi-node parallel job (multi-node.ts): the parent has numNodes and mainNode (and the
   * definition's nodeProperties); a node `<parent id>#<index>` has its index and parent.
   */
  node?: { numNodes: number; mainNode: number; index?: number; parentId?: string };
  nodeProperties?: NodeProperties;
  /** The compute environment (ARN) of the attempt in progress. */
  computeEnvironment?: string;
  /** The attempt in progress (STARTING or RUNNING). */
  current?: { taskArn: string; logStreamName: string; instanceId: string };
  /** When it last entered RUNNABLE, and STARTING (the CloudWatch duration metrics, metrics.ts). */
  runnableAt?: number;
  startingAt?: number;
  /** When it was first found too big for its queue's environments (time-limits.ts). */
  blockedAt?: number;
  isCancelled?: boolean;
  isTerminated?: boolean;
}

export const nodeScope = (parentId: string): string => `node/${parentId}`;

/** The list scope a job appears in: its queue, or an array child or a node its parent's. */
export function listScope(job: JobRecord): string {
  if (job.array?.parentId !== undefined) return arrayScope(job.array.parentId);
  if (job.node?.parentId !== undefined) return nodeScope(job.node.parentId);
  return job.jobQueue;
}

/** Job names are letters, digits, '-' and '_': '/' ends a name. */
export const nameKey = (queueArn: string, jobName: string, seq: number): string =>
  `${queueArn}/${jobName}/${String(seq).padStart(16, '0')}`;
