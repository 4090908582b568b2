/**
 * Container instances (EC2 launch type): RegisterContainerInstance, Deregister…, Describe…,
 * List… (with its cluster query language filter), UpdateContainerInstancesState, and the
 * attributes tasks are placed by (Put/Delete/ListAttributes).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterContainerInstance.html
 *
 * On AWS the ECS agent of an EC2 instance registers it; in Stratus a registered instance
 * is a share of this machine (CPU units, MiB of memory) that tasks are placed on and run
 * from, through the same task runner. Without totalResources it is the whole machine.
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import {
  AttributeLimitExceededException,
  ClientException,
  InvalidParameterException,
  TargetNotFoundException,
} from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { Attribute, ContainerInstance, Failure, Resource } from '../../api/ecs/types.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  containerInstanceArn,
  findCluster,
  nameOf,
  scopeOf,
  toDate,
  type EcsDeps,
} from './common.js';
import {
  AGENT_RESERVED_PORTS,
  loadInstances,
  parseExpression,
  querySubject,
  usageOf,
  type InstanceState,
} from './placement.js';
import { evaluate } from './query-language.js';
import { pageOf } from './task-definitions.js';
import {
  T,
  instanceKey,
  type AttributeRecord,
  type ContainerInstanceRecord,
  type Scope,
  type TaskRecord,
} from './store.js';

type InstanceOps = Pick<
  EcsOperations,
  | 'RegisterContainerInstance'
  | 'DeregisterContainerInstance'
  | 'DescribeContainerInstances'
  | 'ListContainerInstances'
  | 'UpdateContainerInstancesState'
  | 'PutAttributes'
  | 'DeleteAttributes'
  | 'ListAttributes'
>;

/** What Stratus reports as the agent that registered an instance. */
const VERSION_INFO = {
  agentVersion: '1.88.0',
  agentHash: 'stratus',
  dockerVersion: 'DockerVersion: 25.0.0',
};

/** "Up to 128 letters (uppercase and lowercase), numbers, hyphens, underscores, forward slashes, back slashes, or periods." */
const ATTRIBUTE_NAME_RE = /^[A-Za-z0-9_\-./\\]{1,128}$/;
/** "…letters, numbers, hyphens, underscores, periods, at signs (@), forward slashes, back slashes, colons, or spaces. The value can't start or end with a space." */
const ATTRIBUTE_VALUE_RE = /^(?! )[A-Za-z0-9_\-.@/\\: ]{1,128}(?<! )$/;
/** "You can apply up to 10 custom attributes for each resource." */
const MAX_CUSTOM_ATTRIBUTES = 10;

const integer = (n: number): Resource => ({
  name: '',
  type: 'INTEGER',
  integerValue: n,
  longValue: 0,
  doubleValue: 0,
});

function resources(
  cpu: number,
  memory: number,
  ports: Iterable<number>,
  udp: Iterable<number>,
): Resource[] {
  const set = (name: string, values: Iterable<number>): Resource => ({
    name,
    type: 'STRINGSET',
    integerValue: 0,
    longValue: 0,
    doubleValue: 0,
    stringSetValue: [...values].sort((a, b) => a - b).map(String),
  });
  return [
    { ...integer(cpu), name: 'CPU' },
    { ...integer(memory), name: 'MEMORY' },
    set('PORTS', ports),
    set('PORTS_UDP', udp),
  ];
}

export function toContainerInstance(
  state: InstanceState,
  include: string[] = [],
): ContainerInstance {
  const r = state.record;
  const u = usageOf(state);
  return {
    containerInstanceArn: containerInstanceArn(r, r.cluster, r.id),
    ec2InstanceId: r.ec2InstanceId,
    version: r.version,
    versionInfo: r.versionInfo,
    remainingResources: resources(r.cpu - u.cpu, r.memory - u.memory, u.ports, u.udpPorts),
    registeredResources: resources(r.cpu, r.memory, r.ports, r.udpPorts),
    status: r.status,
    agentConnected: r.status !== 'INACTIVE',
    runningTasksCount: u.running,
    pendingTasksCount: u.pending,
    attributes: r.attributes.map((a) => ({
      name: a.name,
      ...(a.value !== undefined && { value: a.value }),
    })),
    registeredAt: toDate(r.registeredAt),
    attachments: [],
    ...(include.includes('TAGS') && { tags: r.tags }),
    ...(include.includes('CONTAINER_INSTANCE_HEALTH') && {
      healthStatus: { overallStatus: 'OK', details: [] },
    }),
  };
}

function numberOf(r: Resource): number {
  return r.integerValue ?? r.longValue ?? r.doubleValue ?? 0;
}

/** The agent's attributes, from the identity document where one is given. */
function agentAttributes(scope: Scope, doc: Record<string, unknown>): AttributeRecord[] {
  const text = (k: string) => (typeof doc[k] === 'string' ? (doc[k] as string) : undefined);
  const out: AttributeRecord[] = [
    { name: 'ecs.availability-zone', value: text('availabilityZone') ?? `${scope.region}a` },
    { name: 'ecs.instance-type', value: text('instanceType') ?? 'stratus.local' },
    { name: 'ecs.os-type', value: 'linux' },
    { name: 'ecs.os-family', value: 'LINUX' },
    { name: 'ecs.cpu-architecture', value: process.arch === 'arm64' ? 'arm64' : 'x86_64' },
    { name: 'com.amazonaws.ecs.capability.docker-remote-api.1.17' },
    { name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' },
    { name: 'ecs.capability.task-eni' },
  ];
  const ami = text('imageId');
  if (ami) out.push({ name: 'ecs.ami-id', value: ami });
  return out;
}

function mergeAttributes(base: AttributeRecord[], added: AttributeRecord[]): AttributeRecord[] {
  const out = new Map(base.map((a) => [a.name, a]));
  for (const a of added) out.set(a.name, a);
  return [...out.values()];
}

function checkAttribute(a: Attribute): void {
  if (!ATTRIBUTE_NAME_RE.test(a.name))
    throw new InvalidParameterException(
      `Attribute name ${a.name} is invalid. Attribute names can contain up to 128 letters (uppercase and lowercase), numbers, hyphens, underscores, forward slashes, back slashes, or periods.`,
    );
  if (a.value !== undefined && !ATTRIBUTE_VALUE_RE.test(a.value))
    throw new InvalidParameterException(
      `Attribute value ${a.value} is invalid. Attribute values can contain up to 128 letters (uppercase and lowercase), numbers, hyphens, underscores, periods, at signs (@), forward slashes, back slashes, colons, or spaces. The value cannot start or end with a space.`,
    );
}

const isCustom = (name: string): boolean =>
  !name.startsWith('ecs.') && !name.startsWith('com.amazonaws.ecs.');

async function findInstance(
  ops: MetadataOps,
  scope: Scope,
  cluster: string,
  ref: string,
): Promise<ContainerInstanceRecord | undefined> {
  return ops.get<ContainerInstanceRecord>(
    T.containerInstances,
    instanceKey(scope, cluster, nameOf(ref, 'container-instance')),
  );
}

export function containerInstanceOperations(deps: EcsDeps): InstanceOps {
  const save = (tx: MetadataOps, r: ContainerInstanceRecord) =>
    tx.put(T.containerInstances, instanceKey(r, r.cluster, r.id), r);
  const stateOf = async (r: ContainerInstanceRecord): Promise<InstanceState> =>
    (await loadInstances(deps.store, r, r.cluster)).find((s) => s.record.id === r.id) ?? {
      record: r,
      tasks: [],
    };
  /** The cluster's tasks still holding part of an instance. */
  const tasksOn = async (r: ContainerInstanceRecord): Promise<TaskRecord[]> =>
    (
      await deps.store.list<TaskRecord>(T.tasks, {
        prefix: `${instanceKey(r, r.cluster, '')}`,
      })
    )
      .map((x) => x.value)
      .filter((t) => t.placement?.instanceId === r.id && t.report.lastStatus !== 'STOPPED');

  return {
    async RegisterContainerInstance(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      let doc: Record<string, unknown> = {};
      if (input.instanceIdentityDocument) {
        try {
          const parsed: unknown = JSON.parse(input.instanceIdentityDocument);
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
          doc = parsed as Record<string, unknown>;
        } catch {
          throw new ClientException('The instance identity document is not valid JSON.');
        }
      }
      const total = input.totalResources ?? [];
      const named = (n: string) => total.find((r) => r.name === n);
      const cpu = named('CPU') ? numberOf(named('CPU')!) : cpus().length * 1024;
      const memory = named('MEMORY')
        ? numberOf(named('MEMORY')!)
        : Math.floor(totalmem() / 1024 / 1024);
      for (const [name, n] of [
        ['CPU', cpu],
        ['MEMORY', memory],
      ] as const)
        if (!Number.isInteger(n) || n <= 0)
          throw new InvalidParameterException(`Resource ${name} must be a positive integer.`);
      const portList = (r: Resource | undefined, fallback: number[]) => {
        if (!r) return fallback;
        const ports = (r.stringSetValue ?? []).map(Number);
        if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
          throw new InvalidParameterException(`Resource ${r.name} must list ports (1-65535).`);
        return ports;
      };
      const ports = portList(named('PORTS'), AGENT_RESERVED_PORTS);
      const udpPorts = portList(named('PORTS_UDP'), []);
      for (const a of input.attributes ?? []) checkAttribute(a);
      const given = (input.attributes ?? []).map((a) => ({
        name: a.name,
        ...(a.value !== undefined && { value: a.value }),
      }));
      const record = await deps.store.transaction(async (tx) => {
        let existing: ContainerInstanceRecord | undefined;
        if (input.containerInstanceArn) {
          existing = await findInstance(tx, scope, cluster.name, input.containerInstanceArn);
          if (!existing || existing.status === 'INACTIVE')
            throw new InvalidParameterException('The referenced container instance was not found.');
        }
        const id = existing?.id ?? randomBytes(16).toString('hex');
        const r: ContainerInstanceRecord = {
          ...scope,
          id,
          cluster: cluster.name,
          ec2InstanceId:
            existing?.ec2InstanceId ??
            (typeof doc.instanceId === 'string'
              ? doc.instanceId
              : `i-${randomBytes(9).toString('hex').slice(0, 17)}`),
          status: existing?.status ?? 'ACTIVE',
          cpu,
          memory,
          ports,
          udpPorts,
          attributes: mergeAttributes(
            mergeAttributes(
              agentAttributes(scope, doc),
              (existing?.attributes ?? []).filter((a) => isCustom(a.name)),
            ),
            given,
          ),
          versionInfo: { ...VERSION_INFO, ...input.versionInfo },
          registeredAt: existing?.registeredAt ?? deps.now(),
          version: (existing?.version ?? 0) + 1,
          tags: input.tags ?? existing?.tags ?? [],
        };
        await save(tx, r);
        return r;
      });
      return { containerInstance: toContainerInstance(await stateOf(record), ['TAGS']) };
    },

    async DeregisterContainerInstance(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const r = await findInstance(deps.store, scope, cluster.name, input.containerInstance);
      if (!r || r.status === 'INACTIVE')
        throw new InvalidParameterException('The referenced container instance was not found.');
      const tasks = await tasksOn(r);
      if (tasks.length && !input.force)
        throw new InvalidParameterException('Found running tasks on the instance.');
      // Stratus's instance is a share of this machine: its tasks go with it (on AWS they
      // run on, orphaned, until the EC2 instance is terminated), and services replace them.
      for (const t of tasks)
        await deps.tasks.stop(
          t,
          t.cluster,
          t.taskId,
          'TerminationNotice',
          'Container instance deregistration forced by user',
        );
      r.status = 'INACTIVE';
      r.version++;
      await save(deps.store, r);
      await deps.scheduler.kickCluster(scope, cluster.name);
      return { containerInstance: toContainerInstance(await stateOf(r)) };
    },

    async DescribeContainerInstances(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.containerInstances.length > 100)
        throw new InvalidParameterException(
          'containerInstances cannot have more than 100 elements',
        );
      const out: ContainerInstance[] = [];
      const failures: Failure[] = [];
      for (const ref of input.containerInstances) {
        const r = await findInstance(deps.store, scope, cluster.name, ref);
        if (!r) {
          failures.push({
            arn: containerInstanceArn(scope, cluster.name, nameOf(ref, 'container-instance')),
            reason: 'MISSING',
          });
          continue;
        }
        out.push(toContainerInstance(await stateOf(r), input.include ?? []));
      }
      return { containerInstances: out, failures };
    },

    async ListContainerInstances(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      const query = input.filter ? parseExpression(input.filter, 'Filter') : undefined;
      const states = await loadInstances(deps.store, scope, cluster.name);
      const arns = states
        .filter((s) => (input.status ? s.record.status === input.status : true))
        .filter((s) => !query || evaluate(query, querySubject(s)))
        .map((s) => containerInstanceArn(scope, cluster.name, s.record.id));
      const page = pageOf(arns, input.nextToken, input.maxResults);
      return { containerInstanceArns: page.items, ...(page.next && { nextToken: page.next }) };
    },

    async UpdateContainerInstancesState(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.status !== 'ACTIVE' && input.status !== 'DRAINING')
        throw new InvalidParameterException(
          'Container instances status can only be updated to ACTIVE or DRAINING.',
        );
      if (input.containerInstances.length > 10)
        throw new InvalidParameterException('containerInstances cannot have more than 10 elements');
      const status = input.status;
      const updated: ContainerInstanceRecord[] = [];
      const failures: Failure[] = [];
      await deps.store.transaction(async (tx) => {
        for (const ref of input.containerInstances) {
          const r = await findInstance(tx, scope, cluster.name, ref);
          if (!r || r.status === 'INACTIVE') {
            failures.push({
              arn: containerInstanceArn(scope, cluster.name, nameOf(ref, 'container-instance')),
              reason: 'MISSING',
            });
            continue;
          }
          if (r.status !== status) {
            r.status = status;
            r.version++;
            await save(tx, r);
          }
          updated.push(r);
        }
      });
      // "Service tasks on the container instance that are in the RUNNING state are stopped
      // and replaced", within the service's deployment configuration (scheduler.ts).
      if (status === 'DRAINING' && updated.length)
        await deps.scheduler.kickCluster(scope, cluster.name);
      const states = await loadInstances(deps.store, scope, cluster.name);
      return {
        containerInstances: updated.map((r) =>
          toContainerInstance(states.find((s) => s.record.id === r.id) ?? { record: r, tasks: [] }),
        ),
        failures,
      };
    },

    async PutAttributes(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      for (const a of input.attributes) checkAttribute(a);
      await deps.store.transaction(async (tx) => {
        const changed = new Map<string, ContainerInstanceRecord>();
        for (const a of input.attributes) {
          const r = await attributeTarget(tx, scope, cluster.name, a, changed);
          r.attributes = mergeAttributes(r.attributes, [
            { name: a.name, ...(a.value !== undefined && { value: a.value }) },
          ]);
          if (r.attributes.filter((x) => isCustom(x.name)).length > MAX_CUSTOM_ATTRIBUTES)
            throw new AttributeLimitExceededException(
              'You can apply up to 10 custom attributes for each resource.',
            );
        }
        for (const r of changed.values()) await save(tx, r);
      });
      return { attributes: input.attributes };
    },

    async DeleteAttributes(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      await deps.store.transaction(async (tx) => {
        const changed = new Map<string, ContainerInstanceRecord>();
        for (const a of input.attributes) {
          const r = await attributeTarget(tx, scope, cluster.name, a, changed);
          r.attributes = r.attributes.filter((x) => x.name !== a.name);
        }
        for (const r of changed.values()) await save(tx, r);
      });
      return { attributes: input.attributes };
    },

    async ListAttributes(input, ctx) {
      const scope = scopeOf(ctx);
      const cluster = await findCluster(deps.store, scope, input.cluster);
      if (input.attributeValue !== undefined && input.attributeName === undefined)
        throw new InvalidParameterException(
          'attributeName must be specified when attributeValue is specified.',
        );
      const states = await loadInstances(deps.store, scope, cluster.name);
      const attributes: Attribute[] = states.flatMap((s) =>
        s.record.attributes
          .filter((a) => input.attributeName === undefined || a.name === input.attributeName)
          .filter((a) => input.attributeValue === undefined || a.value === input.attributeValue)
          .map((a) => ({
            name: a.name,
            ...(a.value !== undefined && { value: a.value }),
            targetType: 'container-instance' as const,
            targetId: containerInstanceArn(scope, cluster.name, s.record.id),
          })),
      );
      const page = pageOf(attributes, input.nextToken, input.maxResults);
      return { attributes: page.items, ...(page.next && { nextToken: page.next }) };
    },
  };
}

/** The container instance an attribute is for (`targetId`: its ARN or ID). */
async function attributeTarget(
  tx: MetadataOps,
  scope: Scope,
  cluster: string,
  a: Attribute,
  changed: Map<string, ContainerInstanceRecord>,
): Promise<ContainerInstanceRecord> {
  if (a.targetType !== undefined && a.targetType !== 'container-instance')
    throw new InvalidParameterException('targetType must be container-instance.');
  if (!a.targetId)
    throw new InvalidParameterException(`Attribute ${a.name} must specify a targetId.`);
  const id = nameOf(a.targetId, 'container-instance');
  const cached = changed.get(id);
  if (cached) return cached;
  const r = await findInstance(tx, scope, cluster, id);
  if (!r || r.status === 'INACTIVE')
    throw new TargetNotFoundException(
      `Could not find ${a.targetId}. Make sure the resource exists and the cluster is correct.`,
    );
  changed.set(id, r);
  return r;
}
