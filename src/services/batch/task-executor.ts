/**
 * Runs a job attempt as AWS Batch does: a one-container ECS task, here on the task runner
 * (src/runtime/tasks) over the `containers` link, its image from Stratus's ECR, its output
 * in CloudWatch Logs as `awslogs` writes it (`/aws/batch/job`, stream
 * `<job definition>/default/<task id>`).
 *
 * The task's stoppedReason is the attempt's statusReason ("Essential container in task
 * exited", or the CannotPullContainerError / CannotStartContainerError a task that could
 * not start gets). A driver that runs no images (the process driver) fails the attempt with
 * that reason rather than pretending.
 *
 * The bill: "There is no additional charge for AWS Batch. You pay for AWS resources (e.g.
 * EC2 instances, AWS Lambda functions or AWS Fargate) you create" (https://aws.amazon.com/batch/pricing/).
 * A job on FARGATE or FARGATE_SPOT is metered as the Fargate task it is (vCPUs and GB while
 * it runs, one-minute minimum); jobs on EC2 compute environments are billed as the
 * instances, which Stratus does not model.
 */
import type { LogSink } from '../../events/logs.js';
import type { ContainerDriver, ImageSource } from '../../runtime/container.js';
import { TaskRunner, type RunningTask } from '../../runtime/tasks/runner.js';
import type { TaskSpec, TaskTimes } from '../../runtime/tasks/spec.js';
import type { Meter } from '../../billing/meter.js';
import type { Logger } from '../../shared/log.js';
import { LOG_GROUP, type AttemptEvents, type AttemptSpec, type JobExecutor } from './executor.js';

export class TaskExecutor implements JobExecutor {
  private readonly runner: TaskRunner;
  private readonly live = new Set<RunningTask>();

  constructor(
    private readonly driver: ContainerDriver,
    images: ImageSource,
    logs: LogSink,
    workDir: string,
    log: Logger,
    private readonly meter?: Meter,
  ) {
    this.runner = new TaskRunner({
      containers: driver,
      images,
      logs,
      workDir,
      log: (message) => log.warn(`batch: ${message}`),
    });
  }

  launch(spec: AttemptSpec, events: AttemptEvents): { stop(): Promise<void> } {
    if (!this.driver.capabilities.images) {
      setImmediate(() =>
        events.exited({
          statusReason: `CannotStartContainerError: the ${this.driver.name} driver runs no images; start Stratus with --driver runc or docker`,
        }),
      );
      return { stop: async () => undefined };
    }
    let running = false;
    const metered = this.fargateMeter(spec);
    const task = this.runner.run(taskSpec(spec), {
      onChange: (report) => {
        metered?.(report.times);
        if (report.lastStatus === 'RUNNING' && !running) {
          running = true;
          events.running({ privateIp: report.privateIp });
        }
      },
    });
    this.live.add(task);
    void task.done.then((report) => {
      metered?.(report.times, true);
      this.live.delete(task);
      const c = report.containers[0];
      events.exited({
        exitCode: c?.exitCode,
        reason: c?.reason,
        statusReason: report.stoppedReason ?? 'Essential container in task exited',
      });
    });
    return {
      // Returns at once: the exit (after the stop signal's grace period) reports the end.
      stop: async () => task.stop('UserInitiated', 'Stopped by AWS Batch'),
    };
  }

  /** For a Fargate job: records the task's levels as its times become known. */
  private fargateMeter(spec: AttemptSpec) {
    const { job } = spec;
    const meter = this.meter;
    if (!meter?.enabled || !job.platformCapabilities?.includes('FARGATE')) return undefined;
    const def = job.jobDefinition;
    const base = {
      account: job.account,
      region: job.region,
      service: 'AmazonECS' as const,
      resource: def.replace(/:\d+$/, ''),
      series: `batch/${spec.taskId}`,
    };
    const levels = [
      { usageType: 'Fargate-vCPU-Hours:perCPU', value: job.milliVcpus / 1000 },
      { usageType: 'Fargate-GB-Hours', value: job.memoryMib / 1024 },
    ];
    let from: number | undefined;
    return (times: TaskTimes, done = false) => {
      const start = times.pullStartedAt ?? times.startedAt;
      if (start === undefined) return;
      if (from === undefined) {
        from = start;
        for (const l of levels) meter.level({ ...base, ...l, at: start, minimumSeconds: 60 });
      }
      const end = times.stoppedAt ?? times.executionStoppedAt;
      if (done && end !== undefined) {
        const to = from + Math.ceil(Math.max(0, end - from) / 1000) * 1000;
        for (const l of levels) meter.level({ ...base, ...l, value: 0, at: to });
      }
    };
  }

  async close(): Promise<void> {
    const tasks = [...this.live];
    for (const t of tasks) t.stop('UserInitiated', 'Stratus is shutting down');
    await Promise.all(tasks.map((t) => t.done));
  }
}

/** The job's container as a one-container task. */
function taskSpec(spec: AttemptSpec): TaskSpec {
  const { job } = spec;
  const c = job.container;
  const environment: Record<string, string> = {};
  for (const kv of c.environment ?? []) {
    if (kv.name !== undefined) environment[kv.name] = kv.value ?? '';
  }
  // The variables AWS sets in every job's container (over the job's own).
  Object.assign(environment, {
    AWS_BATCH_JOB_ID: job.jobId,
    AWS_BATCH_JQ_NAME: spec.queueName,
    AWS_BATCH_CE_NAME: spec.environmentName,
    AWS_BATCH_JOB_ATTEMPT: String(spec.attempt),
    AWS_REGION: job.region,
    AWS_DEFAULT_REGION: job.region,
  });
  if (job.array?.index !== undefined) {
    environment.AWS_BATCH_JOB_ARRAY_INDEX = String(job.array.index);
    environment.AWS_BATCH_JOB_ARRAY_SIZE = String(job.array.size);
  }
  // A multi-node job's node (https://docs.aws.amazon.com/batch/latest/userguide/job_env_vars.html).
  if (job.node?.index !== undefined) {
    environment.AWS_BATCH_JOB_NODE_INDEX = String(job.node.index);
    environment.AWS_BATCH_JOB_NUM_NODES = String(job.node.numNodes);
    environment.AWS_BATCH_JOB_MAIN_NODE_INDEX = String(job.node.mainNode);
    if (spec.mainNodeAddress !== undefined) {
      environment.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS = spec.mainNodeAddress;
    }
  }
  const volumes = (c.volumes ?? []).map((v) => ({
    name: v.name ?? '',
    hostPath: v.host?.sourcePath,
  }));
  return {
    taskId: spec.taskId,
    account: job.account,
    region: job.region,
    networkMode: 'awsvpc',
    cpu: Math.round((job.milliVcpus / 1000) * 1024),
    memory: job.memoryMib,
    volumes,
    labels: { 'dev.stratus.service': 'batch', 'dev.stratus.batch.job': job.jobId },
    containers: [
      {
        name: 'default',
        image: c.image ?? '',
        essential: true,
        command: c.command,
        environment,
        user: c.user,
        readonlyRootFilesystem: c.readonlyRootFilesystem,
        ulimits: c.ulimits?.map((u) => ({ name: u.name, soft: u.softLimit, hard: u.hardLimit })),
        mountPoints: (c.mountPoints ?? []).map((m) => ({
          sourceVolume: m.sourceVolume ?? '',
          containerPath: m.containerPath ?? '',
          readOnly: m.readOnly === true,
        })),
        logging: { logGroup: LOG_GROUP, region: job.region, streamPrefix: job.definitionName },
      },
    ],
  };
}
