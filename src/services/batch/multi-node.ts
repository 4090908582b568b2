/**
 * Multi-node parallel jobs: one job of `numNodes` nodes, each node a container of its own
 * (an ECS task with its own address on Stratus's bridge, so the nodes reach each other as
 * AWS's nodes do over the VPC), started together and ended with the main node.
 * https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html
 *
 * As on AWS the job (the "parent") is what the scheduler places, with the vCPUs and memory
 * of all its nodes at once; its nodes are jobs `<job id>#<node index>` that DescribeJobs
 * shows and ListJobs lists by `multiNodeJobId`. "The main node is launched first. After the
 * main node starts, the child nodes are launched and started" with
 * AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS ("This variable is only set in multi-node
 * parallel job child nodes"), and "the job's status is determined by the main node's exit
 * code": when the main node exits, the nodes still running are stopped, and the job's
 * attempt ends (retried as its retry strategy says) once every node has exited.
 */
import type { ContainerProperties, NodeProperties } from '../../api/batch/types.js';
import { clientError } from './common.js';
import type { AttemptEvents, AttemptSpec, JobExecutor, RunningAttempt } from './executor.js';
import type { AttemptOutcome } from './retry.js';
import type { JobRecord } from './store.js';

export const nodeJobId = (parentId: string, index: number): string => `${parentId}#${index}`;

/** A multi-node job (the parent) rather than one of its nodes or a plain job. */
export const isNodeParent = (job: JobRecord): boolean =>
  job.node !== undefined && job.node.parentId === undefined;

/** A node of a multi-node job. */
export const isNode = (job: JobRecord): boolean => job.node?.parentId !== undefined;

/**
 * `targetNodes` as AWS reads it: "0:3" is nodes 0 through 3, ":3" starts at 0, "4:" ends at
 * the last node, "2" is one node. Undefined when it is not such a range of `numNodes` nodes.
 */
export function nodeRange(target: string, numNodes: number): [number, number] | undefined {
  const m = /^(\d*)(:?)(\d*)$/.exec(target);
  if (!m || (m[1] === '' && m[3] === '' && m[2] === '')) return undefined;
  const from = m[1] === '' ? 0 : Number(m[1]);
  const to = m[2] === '' ? from : m[3] === '' ? numNodes - 1 : Number(m[3]);
  if (from > to || to >= numNodes) return undefined;
  return [from, to];
}

/**
 * Each node's container: "You can nest node ranges, for example 0:10 and 4:5. In this
 * case, the 4:5 range properties override the 0:10 properties" (the narrower range wins).
 */
export function nodeContainers(p: NodeProperties): ContainerProperties[] {
  const ranges = p.nodeRangeProperties
    .map((r) => ({ r, span: nodeRange(r.targetNodes, p.numNodes) ?? [0, -1] }))
    .sort((a, b) => b.span[1] - b.span[0] - (a.span[1] - a.span[0]));
  const out: ContainerProperties[] = [];
  for (const { r, span } of ranges) {
    for (let i = span[0]; i <= span[1]; i++) if (r.container) out[i] = r.container;
  }
  return out;
}

/** RegisterJobDefinition's checks of nodeProperties (type multinode). */
export function checkNodeProperties(
  p: NodeProperties | undefined,
  platforms: readonly string[],
  checkContainer: (c: ContainerProperties | undefined) => void,
): NodeProperties {
  const error = (m: string) => clientError(`Error executing request, Exception : ${m}`);
  if (!p) throw error('nodeProperties must be specified for multinode jobs');
  if (platforms.includes('FARGATE')) {
    throw error('Multi-node parallel jobs are not supported on Fargate resources');
  }
  if (!Number.isInteger(p.numNodes) || p.numNodes < 1 || p.numNodes > 1000) {
    throw error('numNodes must be between 1 and 1000');
  }
  if (!Number.isInteger(p.mainNode) || p.mainNode < 0 || p.mainNode >= p.numNodes) {
    throw error('mainNode must be a node index lower than numNodes');
  }
  if (!p.nodeRangeProperties?.length) throw error('nodeRangeProperties must be specified');
  for (const r of p.nodeRangeProperties) {
    if (!nodeRange(r.targetNodes, p.numNodes)) {
      throw error(`Invalid targetNodes ${r.targetNodes} for ${p.numNodes} nodes`);
    }
    if (r.ecsProperties || r.eksProperties) {
      throw error('ecsProperties and eksProperties of nodes are not supported by Stratus');
    }
    checkContainer(r.container);
  }
  const containers = nodeContainers(p);
  for (let i = 0; i < p.numNodes; i++) {
    if (!containers[i]) throw error(`Node ${i} is not covered by any nodeRangeProperties`);
  }
  return p;
}

export interface NodeGroupEvents {
  /** A node's container runs (the node goes RUNNING). */
  nodeRunning(node: JobRecord): void;
  /** A node's container exited, or never started (the node ends). */
  nodeExited(node: JobRecord, outcome: AttemptOutcome & { statusReason: string }): void;
}

/**
 * One attempt of a multi-node job: the main node first, the other nodes once the main
 * node runs and has its address. To the engine it is one attempt of the parent: running()
 * when the main node runs, exited() with the main node's outcome once every node ended.
 */
export function launchNodeGroup(
  executor: JobExecutor,
  nodes: JobRecord[],
  spec: (node: JobRecord, mainNodeAddress?: string) => AttemptSpec,
  parent: AttemptEvents,
  events: NodeGroupEvents,
): RunningAttempt {
  const mainIndex = nodes[0]?.node?.mainNode ?? 0;
  const main = nodes.find((n) => n.node?.index === mainIndex);
  const handles: RunningAttempt[] = [];
  let live = 0;
  let stopping = false;
  let outcome: (AttemptOutcome & { statusReason: string }) | undefined;
  const ended = (): void => {
    if (--live === 0)
      parent.exited(outcome ?? { statusReason: 'Essential container in task exited' });
  };
  const stopAll = (): Promise<void> => {
    stopping = true;
    return Promise.all(handles.map((h) => h.stop())).then(() => undefined);
  };
  const launch = (node: JobRecord, address: string | undefined, isMain: boolean): void => {
    live++;
    handles.push(
      executor.launch(spec(node, address), {
        running: (info) => {
          events.nodeRunning(node);
          if (!isMain) return;
          parent.running(info);
          if (stopping) return;
          for (const other of nodes) if (other !== node) launch(other, info?.privateIp, false);
        },
        exited: (o) => {
          events.nodeExited(node, o);
          if (isMain) {
            outcome = o;
            void stopAll();
          }
          ended();
        },
      }),
    );
  };
  if (main) launch(main, undefined, true);
  else
    setImmediate(() => parent.exited({ statusReason: 'CannotStartContainerError: no main node' }));
  return { stop: stopAll };
}
