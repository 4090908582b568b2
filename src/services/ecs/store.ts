/**
 * ECS's tables in the MetadataStore. Keys start with `<account>:<region>:`; cluster names,
 * families and service names never contain ':' (ECS's patterns: letters, digits, '-', '_'),
 * so a cluster's tasks and services list by the prefix `<cluster key>:`. Revisions are
 * zero-padded so a family's revisions list in order.
 */
import type {
  PlacementConstraint,
  PlacementStrategy,
  Tag,
  TaskDefinition,
  TaskOverride,
} from '../../api/ecs/types.js';
import type { TaskReport } from '../../runtime/tasks/spec.js';

export const T = {
  clusters: 'ecs_clusters',
  /** `<scope><family>:<revision, 9 digits>` → TaskDefinitionRecord */
  taskDefinitions: 'ecs_task_definitions',
  /** `<scope><cluster>:<task id>` → TaskRecord */
  tasks: 'ecs_tasks',
  /** `<scope><cluster>:<service name>` → ServiceRecord */
  services: 'ecs_services',
  /** `<scope><principal ARN or *>|<setting name>` → account-settings.ts's SettingRecord */
  accountSettings: 'ecs_account_settings',
  /** `<scope><cluster>:<container instance id>` → ContainerInstanceRecord */
  containerInstances: 'ecs_container_instances',
} as const;

export interface Scope {
  account: string;
  region: string;
}

export const scopePrefix = (s: Scope): string => `${s.account}:${s.region}:`;
export const clusterKey = (s: Scope, name: string): string => scopePrefix(s) + name;
export const familyPrefix = (s: Scope, family: string): string => `${scopePrefix(s)}${family}:`;
export const revisionKey = (s: Scope, family: string, revision: number): string =>
  familyPrefix(s, family) + String(revision).padStart(9, '0');
export const taskKey = (s: Scope, cluster: string, taskId: string): string =>
  `${clusterKey(s, cluster)}:${taskId}`;
export const serviceKey = (s: Scope, cluster: string, name: string): string =>
  `${clusterKey(s, cluster)}:${name}`;
export const instanceKey = (s: Scope, cluster: string, id: string): string =>
  `${clusterKey(s, cluster)}:${id}`;

/** One named value of a container instance (RegisterContainerInstance, PutAttributes). */
export interface AttributeRecord {
  name: string;
  value?: string;
}

/**
 * A registered container instance: on AWS an EC2 instance whose agent registered it; in
 * Stratus a share of this machine (CPU units, MiB) its tasks run on. What it has left is
 * computed from the tasks placed on it (TaskRecord.placement), so it needs no update when
 * they stop, and a restart (which stops them all) gives it back whole.
 */
export interface ContainerInstanceRecord extends Scope {
  id: string;
  cluster: string;
  ec2InstanceId: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  cpu: number;
  memory: number;
  /** Host ports the agent reserves (AWS: 22, 2375, 2376, 51678, 51679). */
  ports: number[];
  udpPorts: number[];
  attributes: AttributeRecord[];
  versionInfo: { agentVersion?: string; agentHash?: string; dockerVersion?: string };
  registeredAt: number;
  version: number;
  tags: Tag[];
}

/** Where an EC2 task was placed and what it holds there. */
export interface TaskPlacement {
  instanceId: string;
  cpu: number;
  memory: number;
  ports: number[];
  udpPorts: number[];
  availabilityZone?: string;
}

/** A service's or RunTask's placement settings, as the API takes them. */
export interface PlacementSettings {
  strategy: PlacementStrategy[];
  constraints: PlacementConstraint[];
}

export interface ClusterRecord extends Scope {
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  createdAt: number;
  tags: Tag[];
  settings: { name: string; value: string }[];
  capacityProviders: string[];
  defaultCapacityProviderStrategy: { capacityProvider: string; weight: number; base: number }[];
}

/** The task definition as DescribeTaskDefinition returns it, with its dates as ms. */
export interface TaskDefinitionRecord extends Scope {
  definition: Omit<TaskDefinition, 'registeredAt' | 'deregisteredAt' | 'deleteRequestedAt'>;
  registeredAt: number;
  deregisteredAt?: number;
  tags: Tag[];
}

export interface TaskRecord extends Scope {
  taskId: string;
  cluster: string;
  taskDefinitionArn: string;
  launchType: 'FARGATE' | 'EC2';
  capacityProviderName?: string;
  platformVersion?: string;
  cpu?: string;
  memory?: string;
  /** The task definition's runtimePlatform.cpuArchitecture, when ARM64 (the bill's usage type). */
  cpuArchitecture?: 'ARM64';
  group?: string;
  startedBy?: string;
  overrides: TaskOverride;
  tags: Tag[];
  createdAt: number;
  desiredStatus: 'RUNNING' | 'STOPPED';
  /** The runner's view: state, containers, times. */
  report: TaskReport;
  /** image per container name (as the task definition gave it, after overrides). */
  images: Record<string, string>;
  /** Per container: the container's ARN id (uuid). */
  containerIds: Record<string, string>;
  version: number;
  /** The service and deployment that started it. */
  service?: string;
  deploymentId?: string;
  /** Stopped because its health checks (container or load balancer) failed. */
  failedHealth?: boolean;
  /** The registered container instance it runs on (EC2 launch type). */
  placement?: TaskPlacement;
  /** Scale-in protection until then (ms; UpdateTaskProtection). */
  protectedUntil?: number;
}

export interface DeploymentRecord {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  taskDefinition: string;
  createdAt: number;
  updatedAt: number;
  failedTasks: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  /** When its last task went (a deployment that ended, in ServiceRecord.pastDeployments). */
  finishedAt?: number;
}

export interface ServiceEventRecord {
  id: string;
  createdAt: number;
  message: string;
}

export interface LoadBalancerRecord {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
}

export interface ServiceRecord extends Scope {
  name: string;
  cluster: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  taskDefinition: string;
  desiredCount: number;
  launchType: 'FARGATE' | 'EC2';
  platformVersion?: string;
  minimumHealthyPercent: number;
  maximumPercent: number;
  circuitBreaker: { enable: boolean; rollback: boolean };
  loadBalancers: LoadBalancerRecord[];
  networkConfiguration?: unknown;
  healthCheckGracePeriodSeconds: number;
  deployments: DeploymentRecord[];
  events: ServiceEventRecord[];
  tags: Tag[];
  createdAt: number;
  /** Whether the last reconcile found it steady (the event is written once per arrival). */
  steady: boolean;
  /** EC2 launch type on registered container instances. */
  placement?: PlacementSettings;
  /** Deployments that ended (newest first, at most 50): ListServiceDeployments' history. */
  pastDeployments?: DeploymentRecord[];
}
