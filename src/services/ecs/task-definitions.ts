/**
 * Task definitions: register (a new revision of the family each time), describe, list
 * (definitions and families, status filters, paging), deregister and delete.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
 */
import { ClientException, InvalidParameterException } from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type {
  ContainerDefinition,
  Failure,
  RegisterTaskDefinitionRequest,
  TaskDefinition,
} from '../../api/ecs/types.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import {
  findTaskDefinition,
  scopeOf,
  taskDefinitionArn,
  taskDefinitionNotFound,
  toDate,
  type EcsDeps,
} from './common.js';
import { checkFargateSize } from './fargate.js';
import { T, familyPrefix, revisionKey, scopePrefix, type TaskDefinitionRecord } from './store.js';

type TaskDefinitionOps = Pick<
  EcsOperations,
  | 'RegisterTaskDefinition'
  | 'DescribeTaskDefinition'
  | 'ListTaskDefinitions'
  | 'ListTaskDefinitionFamilies'
  | 'DeregisterTaskDefinition'
  | 'DeleteTaskDefinitions'
>;

const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;
const DEFAULT_PAGE = 100;

export function toTaskDefinition(r: TaskDefinitionRecord): TaskDefinition {
  return {
    ...r.definition,
    registeredAt: toDate(r.registeredAt),
    ...(r.deregisteredAt !== undefined && { deregisteredAt: toDate(r.deregisteredAt) }),
  };
}

export function taskDefinitionOperations(deps: EcsDeps): TaskDefinitionOps {
  return {
    async RegisterTaskDefinition(input, ctx) {
      const scope = scopeOf(ctx);
      validate(input);
      const networkMode = input.networkMode ?? 'bridge';
      const fargateReady =
        networkMode === 'awsvpc' && input.cpu !== undefined && input.memory !== undefined;
      const record = await deps.store.transaction(async (tx) => {
        const last = await tx.list<TaskDefinitionRecord>(T.taskDefinitions, {
          prefix: familyPrefix(scope, input.family),
          reverse: true,
          limit: 1,
        });
        const revision = (last[0]?.value.definition.revision ?? 0) + 1;
        const rec: TaskDefinitionRecord = {
          ...scope,
          registeredAt: deps.now(),
          tags: input.tags ?? [],
          definition: {
            taskDefinitionArn: taskDefinitionArn(scope, input.family, revision),
            containerDefinitions: input.containerDefinitions.map(withDefaults),
            family: input.family,
            ...(input.taskRoleArn && { taskRoleArn: input.taskRoleArn }),
            ...(input.executionRoleArn && { executionRoleArn: input.executionRoleArn }),
            networkMode,
            revision,
            volumes: input.volumes ?? [],
            status: 'ACTIVE',
            requiresAttributes: [],
            placementConstraints: input.placementConstraints ?? [],
            compatibilities: fargateReady ? ['EC2', 'FARGATE'] : ['EC2'],
            ...(input.requiresCompatibilities && {
              requiresCompatibilities: input.requiresCompatibilities,
            }),
            ...(input.runtimePlatform && { runtimePlatform: input.runtimePlatform }),
            ...(input.cpu !== undefined && { cpu: input.cpu }),
            ...(input.memory !== undefined && { memory: input.memory }),
            ...(input.pidMode && { pidMode: input.pidMode }),
            ...(input.ipcMode && { ipcMode: input.ipcMode }),
            ...(input.ephemeralStorage && { ephemeralStorage: input.ephemeralStorage }),
            registeredBy: ctx.principal?.arn ?? `arn:aws:iam::${ctx.account}:root`,
          },
        };
        await tx.put(T.taskDefinitions, revisionKey(scope, input.family, revision), rec);
        return rec;
      });
      return { taskDefinition: toTaskDefinition(record), tags: record.tags };
    },

    async DescribeTaskDefinition(input, ctx) {
      const record = await findTaskDefinition(deps.store, scopeOf(ctx), input.taskDefinition);
      if (!record) throw taskDefinitionNotFound();
      return {
        taskDefinition: toTaskDefinition(record),
        ...(input.include?.includes('TAGS') && { tags: record.tags }),
      };
    },

    async ListTaskDefinitions(input, ctx) {
      const scope = scopeOf(ctx);
      const status = input.status ?? 'ACTIVE';
      const prefix = input.familyPrefix
        ? familyPrefix(scope, input.familyPrefix).slice(0, -1)
        : scopePrefix(scope);
      const rows = await deps.store.list<TaskDefinitionRecord>(T.taskDefinitions, { prefix });
      let arns = rows
        .filter((r) => r.value.definition.status === status)
        .filter(
          (r) => !input.familyPrefix || r.value.definition.family!.startsWith(input.familyPrefix),
        )
        .map((r) => r.value.definition.taskDefinitionArn!);
      if (input.sort === 'DESC') arns = arns.reverse();
      const page = pageOf(arns, input.nextToken, input.maxResults);
      return { taskDefinitionArns: page.items, ...(page.next && { nextToken: page.next }) };
    },

    async ListTaskDefinitionFamilies(input, ctx) {
      const scope = scopeOf(ctx);
      const status = input.status ?? 'ACTIVE';
      const rows = await deps.store.list<TaskDefinitionRecord>(T.taskDefinitions, {
        prefix: scopePrefix(scope),
      });
      const families = new Map<string, boolean>();
      for (const r of rows) {
        const d = r.value.definition;
        const active = d.status === 'ACTIVE';
        families.set(d.family!, (families.get(d.family!) ?? false) || active);
      }
      const names = [...families]
        .filter(
          ([name, active]) =>
            (!input.familyPrefix || name.startsWith(input.familyPrefix)) &&
            (status === 'ALL' || (status === 'ACTIVE' ? active : !active)),
        )
        .map(([name]) => name);
      const page = pageOf(names, input.nextToken, input.maxResults);
      return { families: page.items, ...(page.next && { nextToken: page.next }) };
    },

    async DeregisterTaskDefinition(input, ctx) {
      const scope = scopeOf(ctx);
      if (!input.taskDefinition.includes(':'))
        throw new ClientException('Invalid revision number. Number: ' + input.taskDefinition);
      const record = await deps.store.transaction(async (tx) => {
        const rec = await findTaskDefinition(tx, scope, input.taskDefinition);
        if (!rec) throw taskDefinitionNotFound();
        if (rec.definition.status === 'ACTIVE') {
          rec.definition.status = 'INACTIVE';
          rec.deregisteredAt = deps.now();
          const d = rec.definition;
          await tx.put(T.taskDefinitions, revisionKey(scope, d.family!, d.revision!), rec);
        }
        return rec;
      });
      return { taskDefinition: toTaskDefinition(record) };
    },

    async DeleteTaskDefinitions(input, ctx) {
      const scope = scopeOf(ctx);
      const deleted: TaskDefinition[] = [];
      const failures: Failure[] = [];
      for (const ref of input.taskDefinitions) {
        await deps.store.transaction(async (tx) => {
          const rec = await findTaskDefinition(tx, scope, ref);
          if (!rec || !ref.includes(':')) {
            failures.push({ arn: ref, reason: 'TASK_DEFINITION_NOT_FOUND' });
            return;
          }
          if (rec.definition.status === 'ACTIVE') {
            failures.push({
              arn: rec.definition.taskDefinitionArn,
              reason:
                'The specified task definition is still in ACTIVE status. Please deregister the target and try again.',
            });
            return;
          }
          const d = rec.definition;
          // No task of Stratus holds on to a definition: deletion completes at once.
          await tx.delete(T.taskDefinitions, revisionKey(scope, d.family!, d.revision!));
          deleted.push({
            ...toTaskDefinition(rec),
            status: 'DELETE_IN_PROGRESS',
            deleteRequestedAt: new Date(deps.now()),
          });
        });
      }
      return { taskDefinitions: deleted, failures };
    },
  };
}

/** ECS's defaults, as DescribeTaskDefinition shows them. */
function withDefaults(c: ContainerDefinition): ContainerDefinition {
  return {
    ...c,
    cpu: c.cpu ?? 0,
    portMappings: (c.portMappings ?? []).map((p) => ({
      ...p,
      hostPort: p.hostPort ?? p.containerPort,
      protocol: p.protocol ?? 'tcp',
    })),
    essential: c.essential ?? true,
    environment: c.environment ?? [],
    mountPoints: c.mountPoints ?? [],
    volumesFrom: c.volumesFrom ?? [],
    ...(c.healthCheck && {
      healthCheck: {
        interval: 30,
        timeout: 5,
        retries: 3,
        startPeriod: 0,
        ...c.healthCheck,
      },
    }),
  };
}

function validate(input: RegisterTaskDefinitionRequest): void {
  if (!NAME_RE.test(input.family))
    throw new ClientException(
      'Family contains invalid characters. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.',
    );
  const defs = input.containerDefinitions;
  if (defs.length === 0) throw new ClientException('Container list cannot be empty.');
  const names = new Set<string>();
  for (const c of defs) {
    if (!c.name || !NAME_RE.test(c.name))
      throw new ClientException('Container.name should not be null or empty.');
    if (names.has(c.name)) throw new ClientException(`Duplicate container name found: ${c.name}`);
    names.add(c.name);
    if (!c.image) throw new ClientException('Container.image should not be null or empty.');
    if (input.memory === undefined && c.memory === undefined && c.memoryReservation === undefined)
      throw new ClientException(
        `Invalid setting for container '${c.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`,
      );
    if (
      c.memory !== undefined &&
      c.memoryReservation !== undefined &&
      c.memoryReservation > c.memory
    )
      throw new ClientException(
        `Invalid setting for container '${c.name}'. 'memory' must be greater than or equal to 'memoryReservation'.`,
      );
    const hc = c.healthCheck;
    if (hc) {
      const bad = (v: number | undefined, min: number, max: number) =>
        v !== undefined && (v < min || v > max);
      if (
        bad(hc.interval, 5, 300) ||
        bad(hc.timeout, 2, 60) ||
        bad(hc.retries, 1, 10) ||
        bad(hc.startPeriod, 0, 300)
      )
        throw new ClientException(
          'Health check interval must be 5-300 seconds, timeout 2-60 seconds, retries 1-10 and start period 0-300 seconds.',
        );
    }
    const logs = c.logConfiguration;
    if (logs?.logDriver === 'awslogs' && !logs.options?.['awslogs-group'])
      throw new ClientException(
        "Log driver awslogs option 'awslogs-group' should not be null or empty.",
      );
  }
  if (!defs.some((c) => c.essential !== false))
    throw new ClientException('Task definition does not have any essential container.');
  for (const c of defs)
    for (const d of c.dependsOn ?? [])
      if (!names.has(d.containerName))
        throw new ClientException(
          `Container '${c.name}' has a dependency on container '${d.containerName}' which does not exist in the task definition.`,
        );
  for (const c of defs)
    for (const m of c.mountPoints ?? [])
      if (!(input.volumes ?? []).some((v) => v.name === m.sourceVolume))
        throw new ClientException(
          `Invalid 'mountPoints' setting for container '${c.name}'. Unknown volume '${m.sourceVolume}'.`,
        );
  if (input.requiresCompatibilities?.includes('FARGATE')) {
    if ((input.networkMode ?? 'bridge') !== 'awsvpc')
      throw new ClientException('Fargate only supports network mode ‘awsvpc’.');
    checkFargateSize(input.cpu, input.memory);
  }
}

/** An index page over a listing (tokens carry the offset). */
function pageOf<V>(
  all: V[],
  token: string | undefined,
  max: number | undefined,
): { items: V[]; next?: string } {
  let start = 0;
  if (token !== undefined) {
    const t = decodeToken(token) as { o?: unknown } | undefined;
    if (typeof t?.o !== 'number') throw new InvalidParameterException('Invalid nextToken.');
    start = t.o;
  }
  const n = Math.min(Math.max(max ?? DEFAULT_PAGE, 1), 100);
  const items = all.slice(start, start + n);
  return start + n < all.length ? { items, next: encodeToken({ o: start + n }) } : { items };
}

export { pageOf };
