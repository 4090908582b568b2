/**
 * Job definitions: container jobs with parameters, retry strategy, timeout and platform
 * capabilities, kept as numbered revisions (a name's revisions never reuse a number, even
 * after deregistering).
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_RegisterJobDefinition.html
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import type {
  ContainerProperties,
  JobDefinition,
  ResourceRequirement,
  RetryStrategy,
  JobTimeout,
} from '../../api/batch/types.js';
import {
  arnOf,
  checkName,
  clientError,
  encodeToken,
  findDefinition,
  pageSize,
  readToken,
  scopeOf,
  type BatchDeps,
} from './common.js';
import { checkNodeProperties } from './multi-node.js';
import { T, definitionKey, resourceKey, scopePrefix, type DefinitionRecord } from './store.js';

type Ops = Pick<
  BatchOperations,
  'RegisterJobDefinition' | 'DescribeJobDefinitions' | 'DeregisterJobDefinition'
>;

/** Fargate's vCPU → memory (MiB) table, as ECS's task sizes. */
const FARGATE: ReadonlyMap<number, readonly number[]> = new Map([
  [0.25, [512, 1024, 2048]],
  [0.5, range(1024, 4096, 1024)],
  [1, range(2048, 8192, 1024)],
  [2, range(4096, 16384, 1024)],
  [4, range(8192, 30720, 1024)],
  [8, range(16384, 61440, 4096)],
  [16, range(32768, 122880, 8192)],
]);

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** vCPUs and memory (MiB) a container asks for: resourceRequirements, else the legacy fields. */
export function resourcesOf(c: {
  vcpus?: number;
  memory?: number;
  resourceRequirements?: ResourceRequirement[];
}): { vcpus?: number; memory?: number } {
  const req = (type: string): number | undefined => {
    const r = c.resourceRequirements?.find((x) => x.type === type);
    return r === undefined ? undefined : Number(r.value);
  };
  return { vcpus: req('VCPU') ?? c.vcpus, memory: req('MEMORY') ?? c.memory };
}

/** AWS's checks of a container's size for the platform it runs on. */
export function checkResources(
  c: { vcpus?: number; memory?: number; resourceRequirements?: ResourceRequirement[] },
  fargate: boolean,
): void {
  const { vcpus, memory } = resourcesOf(c);
  if (c.resourceRequirements?.some((r) => r.type === 'GPU')) {
    throw clientError('GPU resource requirements are not supported by Stratus (no GPUs here)');
  }
  if (vcpus === undefined || Number.isNaN(vcpus)) {
    throw clientError('Error executing request, Exception : vCPUs must be specified');
  }
  if (memory === undefined || Number.isNaN(memory)) {
    throw clientError('Error executing request, Exception : memory must be specified');
  }
  if (fargate) {
    const sizes = FARGATE.get(vcpus);
    if (!sizes) {
      throw clientError(
        `Error executing request, Exception : Fargate resource requirements VCPU=${vcpus} is not supported (0.25, 0.5, 1, 2, 4, 8, 16)`,
      );
    }
    if (!sizes.includes(memory)) {
      throw clientError(
        `Error executing request, Exception : Fargate resource requirements VCPU=${vcpus} MEMORY=${memory} is not a supported combination`,
      );
    }
    return;
  }
  if (!Number.isInteger(vcpus) || vcpus < 1) {
    throw clientError(
      'Error executing request, Exception : vCPUs must be an integer of at least 1 for EC2 resources',
    );
  }
  if (!Number.isInteger(memory) || memory < 4) {
    throw clientError('Error executing request, Exception : memory must be at least 4 MiB');
  }
}

export function checkRetryStrategy(r: RetryStrategy | undefined): void {
  if (!r) return;
  if (r.attempts !== undefined && (r.attempts < 1 || r.attempts > 10)) {
    throw clientError(
      'Error executing request, Exception : Retry strategy attempts must be between 1 and 10',
    );
  }
  const conditions = r.evaluateOnExit ?? [];
  if (conditions.length > 5) {
    throw clientError(
      'Error executing request, Exception : evaluateOnExit can have at most 5 conditions',
    );
  }
  for (const c of conditions) {
    if (c.onExitCode !== undefined && !/^[0-9]*\*?$/.test(c.onExitCode)) {
      throw clientError(
        `Error executing request, Exception : onExitCode ${c.onExitCode} can contain only numbers and can end with an asterisk`,
      );
    }
    for (const v of [c.onReason, c.onStatusReason]) {
      if (v !== undefined && !/^[A-Za-z0-9.: ]*\*?$/.test(v)) {
        throw clientError(
          `Error executing request, Exception : ${v} can contain only letters, numbers, periods, colons and white space, and can end with an asterisk`,
        );
      }
    }
  }
}

export function checkTimeout(t: JobTimeout | undefined): void {
  if (t?.attemptDurationSeconds !== undefined && t.attemptDurationSeconds < 60) {
    throw clientError('Error executing request, Exception : The minimum timeout is 60 seconds');
  }
}

function checkContainer(c: ContainerProperties | undefined, fargate: boolean): ContainerProperties {
  if (!c)
    throw clientError(
      'Error executing request, Exception : containerProperties must be specified for container jobs',
    );
  if (!c.image) throw clientError('Error executing request, Exception : Image must be specified');
  if (c.privileged) {
    // Neither runc's nor docker's driver is given privileged containers by Stratus.
    throw clientError(
      'Error executing request, Exception : privileged containers are not supported by Stratus',
    );
  }
  checkResources(c, fargate);
  return c;
}

export function definitionOperations(deps: BatchDeps): Ops {
  const { store } = deps;
  return {
    async RegisterJobDefinition(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('Job definition', input.jobDefinitionName);
      if (input.type !== 'container' && input.type !== 'multinode') {
        throw clientError(
          `Job definition type ${input.type} is not supported by Stratus (container and multinode only)`,
        );
      }
      if (input.eksProperties || input.ecsProperties) {
        throw clientError('eksProperties and ecsProperties are not supported by Stratus');
      }
      const platforms = input.platformCapabilities ?? ['EC2'];
      const fargate = platforms.includes('FARGATE');
      const multinode = input.type === 'multinode';
      if (!multinode && input.nodeProperties) {
        throw clientError(
          'Error executing request, Exception : nodeProperties are only valid for multinode jobs',
        );
      }
      if (multinode && input.containerProperties) {
        throw clientError(
          'Error executing request, Exception : containerProperties must not be specified for multinode jobs; use nodeProperties',
        );
      }
      const container = multinode ? undefined : checkContainer(input.containerProperties, fargate);
      const nodeProperties = multinode
        ? checkNodeProperties(input.nodeProperties, platforms, (c) => checkContainer(c, false))
        : undefined;
      checkRetryStrategy(input.retryStrategy);
      checkTimeout(input.timeout);
      const prefix = `${resourceKey(scope, input.jobDefinitionName)}/`;
      const record = await store.transaction(async (tx) => {
        const last = await tx.list<DefinitionRecord>(T.definitions, {
          prefix,
          reverse: true,
          limit: 1,
        });
        const revision = (last[0]?.value.revision ?? 0) + 1;
        const r: DefinitionRecord = {
          jobDefinitionName: input.jobDefinitionName,
          jobDefinitionArn: arnOf(
            scope,
            'job-definition',
            `${input.jobDefinitionName}:${revision}`,
          ),
          revision,
          status: 'ACTIVE',
          type: input.type,
          schedulingPriority: input.schedulingPriority,
          parameters: input.parameters,
          retryStrategy: input.retryStrategy,
          containerProperties: container,
          nodeProperties,
          timeout: input.timeout,
          tags: input.tags,
          propagateTags: input.propagateTags,
          platformCapabilities: platforms,
          containerOrchestrationType: 'ECS',
        };
        await tx.put(T.definitions, definitionKey(scope, input.jobDefinitionName, revision), r);
        return r;
      });
      return {
        jobDefinitionName: record.jobDefinitionName,
        jobDefinitionArn: record.jobDefinitionArn,
        revision: record.revision,
      };
    },

    async DescribeJobDefinitions(input, ctx) {
      const scope = scopeOf(ctx);
      const statusOk = (d: JobDefinition): boolean =>
        input.status === undefined || d.status === input.status;
      if (input.jobDefinitions && input.jobDefinitions.length > 0) {
        const found: JobDefinition[] = [];
        for (const ref of input.jobDefinitions) {
          // A bare name means every revision of it.
          if (!ref.startsWith('arn:') && !ref.includes(':')) {
            const rows = await store.list<DefinitionRecord>(T.definitions, {
              prefix: `${resourceKey(scope, ref)}/`,
            });
            found.push(...rows.map((r) => r.value).filter(statusOk));
            continue;
          }
          const d = await findDefinition(store, scope, ref);
          if (d && statusOk(d)) found.push(d);
        }
        return { jobDefinitions: found };
      }
      const prefix =
        input.jobDefinitionName !== undefined
          ? `${resourceKey(scope, input.jobDefinitionName)}/`
          : scopePrefix(scope);
      let after = readToken(input.nextToken, (v): v is string => typeof v === 'string');
      if (after !== undefined && !after.startsWith(prefix)) throw clientError('Invalid nextToken');
      const max = pageSize(input.maxResults);
      const out: JobDefinition[] = [];
      for (;;) {
        const rows = await store.list<DefinitionRecord>(T.definitions, {
          prefix,
          after,
          limit: 100,
        });
        for (const r of rows) {
          if (!statusOk(r.value)) continue;
          if (out.length === max) {
            return { jobDefinitions: out, nextToken: encodeToken(after) };
          }
          out.push(r.value);
          after = r.key;
        }
        if (rows.length < 100) return { jobDefinitions: out };
        after = rows[rows.length - 1].key;
      }
    },

    async DeregisterJobDefinition(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const d = await findDefinition(tx, scope, input.jobDefinition);
        if (!d) throw clientError(`Job definition ${input.jobDefinition} does not exist`);
        d.status = 'INACTIVE';
        await tx.put(T.definitions, definitionKey(scope, d.jobDefinitionName, d.revision), d);
      });
      return {};
    },
  };
}
