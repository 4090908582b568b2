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
  await until(async () => {
    last = await describe(batch, jobId);
    return statuses.includes(last.status as JobStatus);
  }, limitMs);
  return last as JobDetail;
}

/** Polls `check` until it holds. */
export async function until(check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  await eventually('the condition', async () => ((await check()) ? true : undefined), limitMs);
}
