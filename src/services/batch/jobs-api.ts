/**
 * SubmitJob, DescribeJobs, ListJobs, CancelJob and TerminateJob. SubmitJob builds the job
 * record (definition, parameters, overrides, dependencies, array children) and hands it to
 * the engine, which owns every status change after that.
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html
 */
import { randomUUID } from 'node:crypto';
import type { BatchOperations } from '../../api/batch/operations.js';
import type {
  ContainerDetail,
  ContainerProperties,
  JobDetail,
  JobStatus,
  JobSummary,
  KeyValuePair,
  SubmitJobRequest,
} from '../../api/batch/types.js';
import { encodeKey, decodeKey } from '../../shared/paging.js';
import {
  arnOf,
  checkName,
  clientError,
  findDefinition,
  findPolicy,
  findQueue,
  nameFrom,
  pageSize,
  scopeOf,
  type BatchDeps,
} from './common.js';
import { checkResources, checkRetryStrategy, checkTimeout, resourcesOf } from './definitions.js';
import { nodeContainers, nodeJobId } from './multi-node.js';
import { globMatches } from './retry.js';
import { T, TERMINAL, arrayScope, nodeScope, type JobRecord, type Scope } from './store.js';

type Ops = Pick<
  BatchOperations,
  'SubmitJob' | 'DescribeJobs' | 'ListJobs' | 'CancelJob' | 'TerminateJob'
>;

const STATUSES: readonly JobStatus[] = [
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
];

/** `Ref::name` placeholders in the command, replaced by parameter values. */
export function substitute(
  command: string[] | undefined,
  params: Record<string, string>,
): string[] | undefined {
  return command?.map((arg) =>
    arg.replace(/Ref::([A-Za-z0-9_]+)/g, (m, name: string) => params[name] ?? m),
  );
}

function mergeEnvironment(base: KeyValuePair[] = [], over: KeyValuePair[] = []): KeyValuePair[] {
  const byName = new Map(base.map((kv) => [kv.name, kv]));
  for (const kv of over) {
    if (kv.name?.startsWith('AWS_BATCH')) {
      throw clientError('Environment variable names starting with AWS_BATCH are reserved');
    }
    byName.set(kv.name, kv);
  }
  return [...byName.values()];
}

/** The container as it will run: the definition's, the overrides over it, Ref:: applied. */
function containerOf(
  base: ContainerProperties,
  input: Pick<SubmitJobRequest, 'containerOverrides'>,
  params: Record<string, string>,
): ContainerDetail {
  const o = input.containerOverrides ?? {};
  const c: ContainerDetail = {
    ...base,
    command: substitute(o.command ?? base.command, params),
    environment: mergeEnvironment(base.environment, o.environment),
  };
  if (o.instanceType !== undefined) c.instanceType = o.instanceType;
  if (o.resourceRequirements !== undefined || o.vcpus !== undefined || o.memory !== undefined) {
    const baseRes = resourcesOf(base);
    const over = resourcesOf(o);
    const vcpus = over.vcpus ?? baseRes.vcpus;
    const memory = over.memory ?? baseRes.memory;
    c.resourceRequirements = [
      { type: 'VCPU', value: String(vcpus) },
      { type: 'MEMORY', value: String(memory) },
    ];
    delete c.vcpus;
    delete c.memory;
  }
  return c;
}

export function jobOperations(deps: BatchDeps): Ops {
  const { store, engine } = deps;

  const findJob = async (scope: Scope, id: string): Promise<JobRecord | undefined> => {
    const job = await store.get<JobRecord>(T.jobs, id);
    return job && job.account === scope.account && job.region === scope.region ? job : undefined;
  };

  return {
    async SubmitJob(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('Job', input.jobName);
      if (input.nodeOverrides || input.eksPropertiesOverride || input.ecsPropertiesOverride) {
        throw clientError(
          'nodeOverrides, eksPropertiesOverride and ecsPropertiesOverride are not supported by Stratus',
        );
      }
      const queue = await findQueue(store, scope, input.jobQueue);
      if (!queue) throw clientError(`Job Queue ${input.jobQueue} does not exist`);
      if (queue.state !== 'ENABLED') {
        throw clientError(`Job Queue ${queue.jobQueueArn} is not in ENABLED state`);
      }
      const def = await findDefinition(store, scope, input.jobDefinition);
      if (!def || def.status !== 'ACTIVE') {
        throw clientError(`Job definition ${input.jobDefinition} does not exist or is not ACTIVE`);
      }
      const fairShare = queue.schedulingPolicyArn !== undefined;
      if (fairShare && input.shareIdentifier === undefined) {
        throw clientError(
          'shareIdentifier must be specified for a job queue with a scheduling policy',
        );
      }
      if (!fairShare && input.shareIdentifier !== undefined) {
        throw clientError(
          'shareIdentifier can only be specified for a job queue with a scheduling policy',
        );
      }
      if (
        fairShare &&
        queue.schedulingPolicyArn &&
        !(await findPolicy(store, scope, queue.schedulingPolicyArn))
      ) {
        throw clientError(`Scheduling policy ${queue.schedulingPolicyArn} does not exist`);
      }
      const size = input.arrayProperties?.size;
      if (size !== undefined && (size < 2 || size > 10_000)) {
        throw clientError('Array properties size must be between 2 and 10000');
      }
      const deps20 = input.dependsOn ?? [];
      if (deps20.length > 20) throw clientError('A job can depend on at most 20 jobs');
      const retryStrategy = input.retryStrategy ?? def.retryStrategy;
      checkRetryStrategy(retryStrategy);
      const timeout = input.timeout ?? def.timeout;
      checkTimeout(timeout);
      const params = { ...def.parameters, ...input.parameters };
      const nodeProps = def.type === 'multinode' ? def.nodeProperties : undefined;
      if (nodeProps && size !== undefined) {
        throw clientError('Array properties are not supported for multi-node parallel jobs');
      }
      // A multi-node job's container is its nodes' (multi-node.ts); it reserves them all.
      const nodeContainersRun = nodeProps
        ? nodeContainers(nodeProps).map((c) => containerOf(c, {}, params))
        : undefined;
      const container: ContainerDetail = nodeContainersRun
        ? {}
        : containerOf(def.containerProperties ?? {}, input, params);
      const fargate = def.platformCapabilities?.includes('FARGATE') === true;
      let vcpus = 0;
      let memory = 0;
      for (const c of nodeContainersRun ?? [container]) {
        checkResources(c, fargate);
        const r = resourcesOf(c);
        vcpus += r.vcpus ?? 1;
        memory += r.memory ?? 2048;
      }

      const jobId = randomUUID();
      // Dependencies: the whole job's, and per child the N_TO_N / SEQUENTIAL ones.
      const jobWide: string[] = [];
      const nToN: { id: string; size: number }[] = [];
      let sequential = false;
      for (const d of deps20) {
        if (d.type === 'SEQUENTIAL') {
          if (size === undefined)
            throw clientError('SEQUENTIAL dependencies are only valid for array jobs');
          if (d.jobId !== undefined && d.jobId !== jobId) {
            throw clientError('A SEQUENTIAL dependency must not specify a job ID');
          }
          sequential = true;
          continue;
        }
        if (d.jobId === undefined) throw clientError('dependsOn jobId must be specified');
        const dep = await findJob(scope, d.jobId);
        if (!dep) throw clientError(`Dependent Job ID ${d.jobId} does not exist`);
        if (d.type === 'N_TO_N') {
          if (size === undefined || dep.array?.size !== size || dep.array.parentId !== undefined) {
            throw clientError(
              'N_TO_N dependencies are only valid between array jobs of the same size',
            );
          }
          nToN.push({ id: dep.jobId, size });
        } else {
          jobWide.push(dep.jobId);
        }
      }
      const now = deps.now();
      const tags =
        input.tags ?? ((input.propagateTags ?? def.propagateTags) ? def.tags : undefined);
      const base = (id: string, waitingOn: string[]): JobRecord => ({
        jobId: id,
        jobArn: arnOf(scope, 'job', id),
        jobName: input.jobName,
        account: scope.account,
        region: scope.region,
        jobQueue: queue.jobQueueArn,
        status: waitingOn.length > 0 ? 'PENDING' : 'RUNNABLE',
        seq: engine.nextSeq(),
        createdAt: now,
        jobDefinition: def.jobDefinitionArn,
        definitionName: def.jobDefinitionName,
        shareIdentifier: input.shareIdentifier,
        schedulingPriority: input.schedulingPriorityOverride ?? def.schedulingPriority,
        dependsOn: deps20,
        parameters: Object.keys(params).length > 0 ? params : undefined,
        container,
        milliVcpus: Math.round(vcpus * 1000),
        memoryMib: memory,
        retryStrategy,
        timeout,
        tags,
        propagateTags: input.propagateTags ?? def.propagateTags,
        platformCapabilities: def.platformCapabilities,
        attempts: [],
        waitingOn,
      });
      const records: JobRecord[] = [];
      if (nodeProps && nodeContainersRun) {
        const parent = base(jobId, jobWide);
        const { numNodes, mainNode } = nodeProps;
        parent.node = { numNodes, mainNode };
        parent.nodeProperties = nodeProps;
        records.push(parent);
        nodeContainersRun.forEach((c, index) => {
          const node = base(nodeJobId(jobId, index), []);
          const r = resourcesOf(c);
          Object.assign(node, {
            status: parent.status,
            container: c,
            milliVcpus: Math.round((r.vcpus ?? 1) * 1000),
            memoryMib: r.memory ?? 2048,
            node: { numNodes, mainNode, index, parentId: jobId },
          });
          records.push(node);
        });
      } else if (size === undefined) {
        records.push(base(jobId, jobWide));
      } else {
        const parent = base(jobId, []);
        parent.status = 'PENDING';
        parent.array = { size, summary: {} };
        records.push(parent);
        for (let i = 0; i < size; i++) {
          const waits = [...jobWide, ...nToN.map((d) => `${d.id}:${i}`)];
          if (sequential && i > 0) waits.push(`${jobId}:${i - 1}`);
          const child = base(`${jobId}:${i}`, waits);
          child.array = { size, index: i, parentId: jobId };
          records.push(child);
        }
      }
      await engine.submit(records);
      return { jobArn: arnOf(scope, 'job', jobId), jobName: input.jobName, jobId };
    },

    async DescribeJobs(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.jobs.length > 100) {
        throw clientError('A maximum of 100 jobs can be described in one request');
      }
      const jobs: JobDetail[] = [];
      for (const ref of input.jobs) {
        const id = nameFrom(scope, 'job', ref);
        const job = id === undefined ? undefined : await findJob(scope, id);
        if (job) jobs.push(detail(job));
      }
      return { jobs };
    },

    async ListJobs(input, ctx) {
      const scope = scopeOf(ctx);
      let listScope: string;
      if (input.arrayJobId !== undefined) {
        listScope = arrayScope(input.arrayJobId);
      } else if (input.jobQueue !== undefined) {
        const q = await findQueue(store, scope, input.jobQueue);
        if (!q) return { jobSummaryList: [] };
        listScope = q.jobQueueArn;
      } else if (input.multiNodeJobId !== undefined) {
        listScope = nodeScope(input.multiNodeJobId);
      } else {
        throw clientError('Either jobQueue, arrayJobId or multiNodeJobId must be specified');
      }
      const filters = input.filters ?? [];
      // "If the filters parameter is specified, the jobStatus parameter is ignored and jobs
      // with any status are returned. If you don't specify a status, only RUNNING jobs are
      // returned."
      let table: string = T.list;
      let prefix =
        filters.length > 0 ? `${listScope}/` : `${listScope}/${input.jobStatus ?? 'RUNNING'}/`;
      const byName = filters.find((f) => f.name === 'JOB_NAME')?.values?.[0];
      if (byName !== undefined && input.arrayJobId === undefined) {
        // A name or a name prefix: a range of the name index.
        table = T.names;
        prefix = byName.endsWith('*')
          ? `${listScope}/${byName.slice(0, -1)}`
          : `${listScope}/${byName}/`;
      }
      const keep = jobFilter(scope, filters);
      const max = pageSize(input.maxResults, 1000);
      let after: string | undefined;
      if (input.nextToken !== undefined) {
        after = decodeKey(input.nextToken);
        if (!after.startsWith(prefix)) throw clientError('Invalid nextToken');
      }
      const out: JobSummary[] = [];
      for (;;) {
        const rows = await store.list<string>(table, {
          prefix,
          after,
          limit: Math.max(max + 1, 100),
        });
        for (const row of rows) {
          const job = await store.get<JobRecord>(T.jobs, row.value);
          if (!job || !keep(job)) continue;
          if (out.length === max) return { jobSummaryList: out, nextToken: encodeKey(after ?? '') };
          out.push(summary(job));
          after = row.key;
        }
        if (rows.length < Math.max(max + 1, 100)) return { jobSummaryList: out };
        after = rows[rows.length - 1].key;
      }
    },

    async CancelJob(input, ctx) {
      const job = await findJob(scopeOf(ctx), input.jobId);
      if (!job) throw clientError(`Job ${input.jobId} does not exist`);
      await engine.cancel(job, input.reason);
      return {};
    },

    async TerminateJob(input, ctx) {
      const job = await findJob(scopeOf(ctx), input.jobId);
      if (!job) throw clientError(`Job ${input.jobId} does not exist`);
      await engine.terminate(job, input.reason);
      return {};
    },
  };
}

/** ListJobs filters: JOB_NAME (a `*` suffix is a prefix), JOB_DEFINITION, BEFORE/AFTER_CREATED_AT. */
function jobFilter(
  scope: Scope,
  filters: { name?: string; values?: string[] }[],
): (j: JobRecord) => boolean {
  const tests: ((j: JobRecord) => boolean)[] = [];
  for (const f of filters) {
    const value = f.values?.[0];
    if (value === undefined) continue;
    switch (f.name) {
      case 'JOB_NAME':
        tests.push((j) => globMatches(value, j.jobName));
        break;
      case 'JOB_DEFINITION': {
        const spec = nameFrom(scope, 'job-definition', value) ?? value;
        tests.push((j) => {
          const mine = j.jobDefinition.slice(j.jobDefinition.indexOf('/') + 1);
          return spec.includes(':') ? mine === spec : j.definitionName === spec;
        });
        break;
      }
      case 'BEFORE_CREATED_AT':
        tests.push((j) => j.createdAt < Number(value));
        break;
      case 'AFTER_CREATED_AT':
        tests.push((j) => j.createdAt > Number(value));
        break;
      default:
        throw clientError(`Invalid filter name ${String(f.name)}`);
    }
  }
  return (j) => tests.every((t) => t(j));
}

function arrayDetail(job: JobRecord): JobDetail['arrayProperties'] {
  if (!job.array) return undefined;
  if (job.array.parentId !== undefined) return { index: job.array.index };
  const statusSummary: Record<string, number> = {};
  for (const s of STATUSES) statusSummary[s] = job.array.summary?.[s] ?? 0;
  return { size: job.array.size, statusSummary };
}

export function detail(job: JobRecord): JobDetail {
  return {
    jobArn: job.jobArn,
    jobName: job.jobName,
    jobId: job.jobId,
    jobQueue: job.jobQueue,
    status: job.status,
    shareIdentifier: job.shareIdentifier,
    schedulingPriority: job.schedulingPriority,
    attempts: job.attempts,
    statusReason: job.statusReason,
    createdAt: job.createdAt,
    retryStrategy: job.retryStrategy,
    // The model marks startedAt required; AWS omits it until the job runs.
    startedAt: job.startedAt as number,
    stoppedAt: TERMINAL.has(job.status) ? job.stoppedAt : undefined,
    dependsOn: job.dependsOn,
    jobDefinition: job.jobDefinition,
    parameters: job.parameters,
    container: job.nodeProperties ? undefined : job.container,
    arrayProperties: arrayDetail(job),
    nodeProperties: job.nodeProperties,
    nodeDetails:
      job.node?.index !== undefined
        ? { nodeIndex: job.node.index, isMainNode: job.node.index === job.node.mainNode }
        : undefined,
    timeout: job.timeout,
    tags: job.tags,
    propagateTags: job.propagateTags,
    platformCapabilities: job.platformCapabilities as JobDetail['platformCapabilities'],
    isCancelled: job.isCancelled ?? false,
    isTerminated: job.isTerminated ?? false,
  };
}

function summary(job: JobRecord): JobSummary {
  const a = arrayDetail(job);
  return {
    jobArn: job.jobArn,
    jobId: job.jobId,
    jobName: job.jobName,
    createdAt: job.createdAt,
    shareIdentifier: job.shareIdentifier,
    status: job.status,
    statusReason: job.statusReason,
    startedAt: job.startedAt,
    stoppedAt: TERMINAL.has(job.status) ? job.stoppedAt : undefined,
    container:
      job.container.exitCode !== undefined || job.container.reason !== undefined
        ? { exitCode: job.container.exitCode, reason: job.container.reason }
        : undefined,
    arrayProperties: a && { size: a.size, index: a.index },
    nodeProperties: job.node && {
      numNodes: job.node.index === undefined ? job.node.numNodes : undefined,
      nodeIndex: job.node.index,
      isMainNode: job.node.index === undefined ? undefined : job.node.index === job.node.mainNode,
    },
    jobDefinition: job.jobDefinition,
  };
}
