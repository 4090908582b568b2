/**
 * What the task runner (runner.ts) runs and what it reports: an ECS-shaped task (a group
 * of containers sharing a network and volumes, some essential) without ECS's API types,
 * so ECS (RunTask, services) and Batch (a job is a one-container task, as AWS Batch runs
 * jobs on ECS) each map their own API onto it.
 *
 * Units are ECS's: cpu in units (1024 = one vCPU), memory in MiB, times in seconds.
 */
import type { Ulimit } from '../container.js';

/**
 * awsvpc: one network namespace and address for the whole task (containers reach each
 * other on localhost); bridge: a namespace per container, its ports published on the host
 * (hostPort 0 or absent: a free port); host: the host's network; none: loopback only.
 */
export type TaskNetworkMode = 'awsvpc' | 'bridge' | 'host' | 'none';

export type DependencyCondition = 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY';

export interface TaskHealthCheck {
  /** ECS's form: `["CMD", "prog", "arg"]` or `["CMD-SHELL", "shell command"]`. */
  command: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  /** Failures within this grace period after start do not count (Docker's start period). */
  startPeriodSeconds: number;
}

/** awslogs: where a container's stdout and stderr go (CloudWatch Logs, one event per line). */
export interface TaskLogging {
  logGroup: string;
  region: string;
  /** `awslogs-stream-prefix`: stream `<prefix>/<container name>/<task id>`. */
  streamPrefix?: string;
}

export interface TaskPortMapping {
  containerPort: number;
  /** bridge mode: 0 or absent picks a free host port (ECS's dynamic port mapping). */
  hostPort?: number;
  protocol: 'tcp' | 'udp';
}

export interface TaskMountPoint {
  sourceVolume: string;
  containerPath: string;
  readOnly: boolean;
}

export interface TaskVolume {
  name: string;
  /** A host directory (ECS `host.sourcePath`); absent: a scratch directory the task's
   *  containers share, removed when the task stops (ECS's "bind mount" without a path). */
  hostPath?: string;
}

export interface TaskContainerSpec {
  name: string;
  /** Image reference resolved through the ImageSource (ECR), as the task definition has it. */
  image: string;
  essential: boolean;
  entryPoint?: string[];
  command?: string[];
  environment: Record<string, string>;
  user?: string;
  workingDirectory?: string;
  /** cpu units: a relative share (1024 = one vCPU's weight). */
  cpu?: number;
  /** Hard memory limit (MiB): the OOM killer ends the container beyond it. */
  memory?: number;
  memoryReservation?: number;
  ulimits?: Ulimit[];
  readonlyRootFilesystem?: boolean;
  mountPoints?: TaskMountPoint[];
  portMappings?: TaskPortMapping[];
  dependsOn?: { containerName: string; condition: DependencyCondition }[];
  healthCheck?: TaskHealthCheck;
  logging?: TaskLogging;
  /** Seconds between the stop signal and SIGKILL (ECS default 30). */
  stopTimeout?: number;
  /** Extra /etc/hosts entries. */
  extraHosts?: Record<string, string>;
}

export interface TaskSpec {
  /** The task's id (the last part of its ARN on ECS): names log streams and containers. */
  taskId: string;
  /** Whose images and logs: the account and region of the caller. */
  account: string;
  region: string;
  networkMode: TaskNetworkMode;
  /** Task-level cpu units: a hard cap of cpu/1024 CPUs for each container (Fargate). */
  cpu?: number;
  /** Task-level memory (MiB): the hard limit of containers that set none of their own. */
  memory?: number;
  containers: TaskContainerSpec[];
  volumes?: TaskVolume[];
  /** Put on every container (with the task id) so a crash's leftovers can be found. */
  labels: Record<string, string>;
}

/** ECS's task lastStatus values, in order. */
export type TaskStatus =
  | 'PROVISIONING'
  | 'PENDING'
  | 'ACTIVATING'
  | 'RUNNING'
  | 'DEACTIVATING'
  | 'STOPPING'
  | 'DEPROVISIONING'
  | 'STOPPED';

export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** ECS's stopCode values the runner itself produces; callers add their own. */
export type StopCode =
  | 'TaskFailedToStart'
  | 'EssentialContainerExited'
  | 'UserInitiated'
  | 'ServiceSchedulerInitiated'
  | 'SpotInterruption'
  | 'TerminationNotice';

export interface NetworkBinding {
  bindIP: string;
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp';
}

export interface ContainerReport {
  name: string;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  /** The driver's container id (ECS `runtimeId`). */
  runtimeId?: string;
  /** The platform manifest's digest the image resolved to. */
  imageDigest?: string;
  exitCode?: number;
  /** Why it stopped, as ECS writes it ("OutOfMemoryError: Container killed due to memory usage"). */
  reason?: string;
  healthStatus: HealthStatus;
  networkBindings: NetworkBinding[];
  /** The container's address (its task's in awsvpc mode). */
  privateIp?: string;
}

/** Times in ms since the epoch, set as the task passes each point (ECS's *At fields). */
export interface TaskTimes {
  pullStartedAt?: number;
  pullStoppedAt?: number;
  connectivityAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
}

export interface TaskReport {
  taskId: string;
  lastStatus: TaskStatus;
  /** The essential containers' health: UNHEALTHY if one is, HEALTHY if all with checks are. */
  healthStatus: HealthStatus;
  stopCode?: StopCode;
  stoppedReason?: string;
  /** The task's address in awsvpc mode (its ENI's on ECS). */
  privateIp?: string;
  containers: ContainerReport[];
  times: TaskTimes;
}
