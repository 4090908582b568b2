/**
 * Batch test set-up through the SDK: an environment, a queue, a job definition running the
 * busybox image from ECR (`/bin/sh -c <script>`: the script is the `script` parameter),
 * and waiting for jobs to end.
 */
import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobQueuesCommand,
  DescribeJobsCommand,
  RegisterJobDefinitionCommand,
  type JobDetail,
  type JobStatus,
  type RegisterJobDefinitionCommandInput,
} from '@aws-sdk/client-batch';
import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { eventually } from './wait.js';

export async function createEnvironment(
  batch: BatchClient,
  name: string,
  maxvCpus: number,
  state: 'ENABLED' | 'DISABLED' = 'ENABLED',
): Promise<string> {
  const out = await batch.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      state,
      computeResources: {
        type: 'EC2',
        maxvCpus,
        subnets: ['subnet-1'],
        instanceTypes: ['optimal'],
      },
    }),
  );
  await until(async () => {
    const d = await batch.send(
      new DescribeComputeEnvironmentsCommand({ computeEnvironments: [name] }),
    );
    return d.computeEnvironments?.[0]?.status === 'VALID';
  });
  return out.computeEnvironmentArn ?? '';
}

export async function createQueue(
  batch: BatchClient,
  name: string,
  priority: number,
  environments: string[],
  schedulingPolicyArn?: string,
): Promise<string> {
  const out = await batch.send(
    new CreateJobQueueCommand({
      jobQueueName: name,
      priority,
      schedulingPolicyArn,
      computeEnvironmentOrder: environments.map((computeEnvironment, i) => ({
        order: i + 1,
        computeEnvironment,
      })),
    }),
  );
  await until(async () => {
    const d = await batch.send(new DescribeJobQueuesCommand({ jobQueues: [name] }));
    return d.jobQueues?.[0]?.status === 'VALID';
  });
  return out.jobQueueArn ?? '';
}

/** A definition of `image` whose command is the `script` parameter (the image runs sh -c). */
export async function shellDefinition(
  batch: BatchClient,
  name: string,
  image: string,
  extra: Partial<RegisterJobDefinitionCommandInput> = {},
): Promise<string> {
  const out = await batch.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      parameters: { script: 'true' },
      ...extra,
      containerProperties: {
        image,
        command: ['Ref::script'],
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '64' },
        ],
        ...extra.containerProperties,
      },
    }),
  );
  return out.jobDefinitionArn ?? '';
}

export async function describe(batch: BatchClient, jobId: string): Promise<JobDetail> {
  const out = await batch.send(new DescribeJobsCommand({ jobs: [jobId] }));
  const job = out.jobs?.[0];
  if (!job) throw new Error(`job ${jobId} not found`);
  return job;
}

/** Polls DescribeJobs until the job is in one of `statuses` (default: ended). */
export async function waitForJob(
  batch: BatchClient,
  jobId: string,
  statuses: JobStatus[] = ['SUCCEEDED', 'FAILED'],
  limitMs = 120_000,
): Promise<JobDetail> {
  let last: JobDetail | undefined;
  try {
    await until(async () => {
      last = await describe(batch, jobId);
      return statuses.includes(last.status as JobStatus);
    }, limitMs);
  } catch (err) {
    // Say where the job stood: a timeout alone does not tell a queued job from a hung one.
    const where = `${last?.status ?? 'not found'}${last?.statusReason ? ` (${last.statusReason})` : ''}`;
    throw new Error(`job ${jobId} is ${where}, not ${statuses.join('/')}: ${String(err)}`);
  }
  return last as JobDetail;
}

/** Polls `check` until it holds. */
export async function until(check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  await eventually('the condition', async () => ((await check()) ? true : undefined), limitMs);
}

/**
 * A queue's AWS/Batch metrics through GetMetricData since `from`: `<name>:Sum`,
 * `<name>:SampleCount` and `<name>:Minimum` of each metric that has data, polled (the
 * metrics link writes about once a second) until `ready` says so or a minute has passed.
 */
export async function batchMetrics(
  cw: CloudWatchClient,
  queueName: string,
  names: string[],
  from: Date,
  ready: (got: Map<string, number>) => boolean,
): Promise<Map<string, number>> {
  const stats = ['Sum', 'SampleCount', 'Minimum'] as const;
  const dims = [{ Name: 'JobQueueName', Value: queueName }];
  const read = async (): Promise<Map<string, number>> => {
    const out = await cw.send(
      new GetMetricDataCommand({
        StartTime: from,
        EndTime: new Date(Date.now() + 5 * 60_000),
        MetricDataQueries: names.flatMap((name, i) =>
          stats.map((stat, k) => ({
            Id: `m${i}_${k}`,
            MetricStat: {
              Metric: { Namespace: 'AWS/Batch', MetricName: name, Dimensions: dims },
              Period: 3600,
              Stat: stat,
            },
          })),
        ),
      }),
    );
    const got = new Map<string, number>();
    for (const r of out.MetricDataResults ?? []) {
      const [i, k] = (r.Id ?? '').slice(1).split('_').map(Number);
      const v = r.Values ?? [];
      if (v.length === 0) continue;
      // An hour boundary may split the data in two periods.
      const value = stats[k] === 'Minimum' ? Math.min(...v) : v.reduce((a, b) => a + b, 0);
      got.set(`${names[i]}:${stats[k]}`, value);
    }
    return got;
  };
  let got = new Map<string, number>();
  await until(async () => {
    got = await read();
    return ready(got);
  }, 60_000).catch(() => undefined);
  return got;
}
