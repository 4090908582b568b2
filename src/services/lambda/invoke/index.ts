/**
 * Lambda's invoke path, between the control plane and execution: Invoke / InvokeAsync,
 * the durable async queue with retries and destinations, concurrency and throttling,
 * execution role credentials, usage meters, the function URL data plane and the
 * event-stream invoke. Execution environments are retired whenever their function changes.
 */
import { join } from 'node:path';
import type { RequestContext } from '../../../shared/context.js';
import type { StratusConfig } from '../../../config.js';
import type { LogSink } from '../../../events/logs.js';
import type { ContainerDriver } from '../../../runtime/container.js';
import { ProcessDriver } from '../../../runtime/process/driver.js';
import { DockerDriver } from '../../../runtime/docker/driver.js';
import { RuncDriver } from '../../../runtime/runc/driver.js';
import type { Logger } from '../../../shared/log.js';
import type { MetadataStore } from '../../../storage/types.js';
import type { DataPlane, RequestAuthenticator } from '../../plugin.js';
import type { SessionIssuer } from '../../sts/issuer.js';
import {
  createExecutor,
  type ExecutorOptions,
  type LambdaExecutor,
} from '../execution/executor.js';
import { ContainerSandbox } from '../execution/container-sandbox.js';
import { dockerSandboxNetwork, runcSandboxNetwork } from '../execution/sandbox-network.js';
import type { RuntimeImages } from '../execution/runtime-image.js';
import type { LambdaFunctions } from '../functions-api.js';
import { EventQueue, retryDelaysFrom, throttleBackoffFrom } from './async-queue.js';
import { RoleCredentialCache } from './credentials.js';
import { invokeOperations, type InvokeOperations } from './operations.js';
import { ReservationTotals } from './reservations.js';
import { InvocationRunner } from './runner.js';
import { randomUUID } from 'node:crypto';
import { rootPrincipal } from '../../../shared/arn.js';
import { parseFunctionRef } from '../arns.js';
import { ProvisionedEnvironments } from './provisioning.js';
import { ManagedInstances } from './managed-instances.js';
import { DurableEngine } from '../durable/engine.js';
import { DurableExecutionAlreadyStartedException } from '../../../api/lambda/errors.js';
import { durableOperations, type DurableOperations } from '../durable/operations.js';
import { type FunctionInvoker, serviceInvoker } from './service-invoker.js';
import { streamInvokeDataPlane } from './stream-dataplane.js';
import { ConcurrencyGate } from './throttle.js';
import { functionUrlDataPlane } from './url-dataplane.js';
import { UsageMeter, type UsageRecord } from './usage.js';
import type { Meter } from '../../../billing/meter.js';
import { LambdaMetrics } from './metrics.js';
import type { MetricSink } from '../../../events/metrics.js';

export interface InvokePathDeps {
  config: StratusConfig;
  store: MetadataStore;
  logs: LogSink;
  sts: SessionIssuer;
  signatures: RequestAuthenticator;
  functions: LambdaFunctions;
  /** The URL functions reach Stratus at (AWS_ENDPOINT_URL). */
  endpoint: () => string;
  log: Logger;
  /** The bill's meter (the gateway's `meter` link). */
  meter: Meter;
  env?: NodeJS.ProcessEnv;
  /** Where containers run (the server's driver); runc puts environments in containers. */
  containers?: ContainerDriver;
  /** The runtime images (set with a container driver). */
  runtimeImages?: RuntimeImages;
  /** Execution backend (default: the process driver). */
  createExecutor?: (options: ExecutorOptions) => LambdaExecutor;
  /** CloudWatch, where AWS/Lambda metrics go (absent: none published). */
  metrics?: MetricSink;
}

export interface InvokePath {
  operations: InvokeOperations & DurableOperations;
  /**
   * Queues an asynchronous invocation on another service's behalf (S3 notifications), as
   * InvokeAsync does: durable before it resolves; the function's retries and destinations apply.
   */
  enqueueEvent(
    ctx: Pick<RequestContext, 'account' | 'region' | 'principal'>,
    functionName: string,
    requestId: string,
    payload: Buffer,
  ): Promise<void>;
  dataPlanes: DataPlane[];
  /** Creates the executor (reaping environments a crash left behind), resumes queued events. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** After POST /_stratus/reset: drops environments, sessions, queued work. */
  reset(): Promise<void>;
  /** Usage rows of one region of an account, oldest first (billing, tests). */
  listUsage(account: string, region: string, since?: number): Promise<UsageRecord[]>;
  /** Usage rows of every region of an account that ended in [from, to) (`stratus cost --what-if`). */
  listAccountUsage(account: string, from: number, to: number): Promise<UsageRecord[]>;
  /** Async events waiting or running. */
  queuedEvents(): number;
  /** Execution environments alive. */
  environmentCount(): number;
  /** Keeps the environments of provisioned concurrency configurations. */
  provisioner: ProvisionedEnvironments;
  /** Keeps the environments of versions on capacity providers (Managed Instances). */
  managed: ManagedInstances;
  /**
   * Queues an asynchronous invocation of a function named by ARN (as services such as
   * CloudWatch Logs subscriptions invoke); rejects when it does not resolve.
   */
  invokeEvent(functionArn: string, payload: Buffer): Promise<void>;
  /** Synchronous invokes for other services (the `functionInvoke` link). */
  invoker: FunctionInvoker;
}

export function createInvokePath(deps: InvokePathDeps): InvokePath {
  const env = deps.env ?? process.env;
  const warn = (msg: string, detail?: Record<string, unknown>) => deps.log.warn(msg, detail);
  const make = deps.createExecutor ?? createExecutor;
  let executor: LambdaExecutor | undefined;
  const runtimeImages = deps.runtimeImages;
  let warned = false;
  const sandbox = (): ContainerSandbox | undefined => {
    const driver = deps.containers;
    if (runtimeImages !== undefined && driver instanceof RuncDriver) {
      return new ContainerSandbox({
        driver,
        network: runcSandboxNetwork(),
        images: runtimeImages,
        endpoint: deps.endpoint,
        // This server's own (another server's slots are not this one's to reap).
        workDir: join(driver.stateDir, 'lambda'),
      });
    }
    if (runtimeImages !== undefined && driver instanceof DockerDriver) {
      return new ContainerSandbox({
        driver,
        network: dockerSandboxNetwork(driver),
        images: runtimeImages,
        endpoint: deps.endpoint,
        workDir: join(driver.stateDir, 'lambda'),
      });
    }
    // The process driver says at start that isolation and limits are off (select.ts);
    // another driver Lambda cannot use yet says it here, once.
    if (!warned && deps.containers !== undefined && deps.containers.name !== 'process') {
      warned = true;
      deps.log.warn(
        `Lambda does not run on the ${deps.containers.name} driver yet: functions run as host processes, isolation and memory limits are off`,
      );
    }
    return undefined;
  };
  const getExecutor = (): LambdaExecutor =>
    (executor ??= make({
      driver: new ProcessDriver(),
      sandbox: sandbox(),
      logs: deps.logs,
      endpoint: deps.endpoint,
      ...lifetimesFrom(env),
      warn: (msg, err) =>
        deps.log.warn(msg, err === undefined ? undefined : { error: errorText(err) }),
    }));

  const credentials = new RoleCredentialCache(deps.sts);
  const reservations = new ReservationTotals(deps.store);
  const usage = new UsageMeter(deps.store, deps.meter, (err) =>
    deps.log.error('could not record Lambda usage', { error: errorText(err) }),
  );
  const metrics = new LambdaMetrics(deps.metrics);
  const runner = new InvocationRunner({
    executor: getExecutor,
    credentials,
    gate: new ConcurrencyGate(deps.functions.concurrencyLimit),
    reservations,
    usage,
    metrics,
  });
  const provisioner = new ProvisionedEnvironments({
    store: deps.store,
    functions: deps.functions,
    runner,
    executor: getExecutor,
    meter: deps.meter,
    warn,
  });
  const managed = new ManagedInstances({
    store: deps.store,
    functions: deps.functions,
    provisioner,
    warn,
  });
  const durable = new DurableEngine({
    store: deps.store,
    functions: deps.functions,
    runner,
    warn,
  });
  const queue = new EventQueue(deps.store, deps.functions, runner, {
    retryDelaysMs: retryDelaysFrom(env),
    throttleBackoffMs: throttleBackoffFrom(env),
    warn,
    startDurable: async (target, name, payload) => {
      try {
        await durable.start(target, name, payload.toString('utf8'));
      } catch (err) {
        // Delivered before (the execution of that name ran already): nothing to redo.
        if (!(err instanceof DurableExecutionAlreadyStartedException)) throw err;
      }
    },
  });

  // Code or configuration changed: running environments finish, idle ones go; the
  // region's reservations may have changed too.
  deps.functions.onChange((change) => {
    reservations.forget(change);
    if (executor) {
      void executor
        .retire(change.account, change.region, change.functionName)
        .catch((err: unknown) => warn('could not retire environments', { error: errorText(err) }));
    }
  });

  return {
    operations: {
      ...invokeOperations(deps.functions, runner, queue, durable),
      ...durableOperations(durable, deps.functions),
    },
    async enqueueEvent(ctx, functionName, requestId, payload) {
      const target = await deps.functions.resolve(ctx, functionName);
      await queue.enqueue(target, functionName, undefined, requestId, payload);
    },
    dataPlanes: [
      functionUrlDataPlane({
        functions: deps.functions,
        runner,
        signatures: deps.signatures,
        warn,
      }),
      streamInvokeDataPlane({
        config: deps.config,
        functions: deps.functions,
        runner,
        signatures: deps.signatures,
        warn,
      }),
    ],
    provisioner,
    managed,
    async invokeEvent(functionArn, payload) {
      const ref = parseFunctionRef(functionArn);
      if (ref?.account === undefined || ref.region === undefined) {
        throw new Error(`not a function ARN: ${functionArn}`);
      }
      const scope = { account: ref.account, region: ref.region };
      const ctx = { ...scope, principal: rootPrincipal(ref.account) };
      const target = await deps.functions.resolve(ctx, ref.name, ref.qualifier);
      await queue.enqueue(target, ref.name, ref.qualifier, randomUUID(), payload);
    },
    async start() {
      getExecutor();
      await provisioner.start();
      await managed.start();
      const open = await durable.resume();
      if (open > 0) deps.log.info('resumed durable executions', { executions: open });
      const n = await queue.resume();
      if (n > 0) deps.log.info('resumed queued Lambda events', { events: n });
    },
    async stop() {
      queue.stop();
      durable.shutdown();
      const ex = executor;
      executor = undefined;
      await ex?.stop();
      await usage.flush();
      metrics.flush();
    },
    async reset() {
      queue.reset();
      durable.reset();
      usage.clear();
      credentials.clear();
      reservations.clear();
      runner.forgetSessions();
      runtimeImages?.clear();
      // Environments hold sessions of the wiped state: start afresh.
      const ex = executor;
      executor = undefined;
      await ex?.stop();
    },
    listUsage: (account, region, since) => usage.list(account, region, since),
    listAccountUsage: (account, from, to) => usage.listAccount(account, from, to),
    queuedEvents: () => queue.size(),
    environmentCount: () => executor?.environmentCount() ?? 0,
    invoker: serviceInvoker(deps.functions, runner, durable),
  };
}

/**
 * STRATUS_LAMBDA_KEEP_ALIVE_MS: how long an idle environment stays warm (default 5 min);
 * STRATUS_LAMBDA_MAX_LIFETIME_MS: how old one gets, however busy (default 2 hours).
 */
function lifetimesFrom(env: NodeJS.ProcessEnv): {
  idleTimeoutMs?: number;
  maxLifetimeMs?: number;
} {
  const idle = Number(env.STRATUS_LAMBDA_KEEP_ALIVE_MS);
  const max = Number(env.STRATUS_LAMBDA_MAX_LIFETIME_MS);
  return {
    ...(Number.isFinite(idle) && idle > 0 && { idleTimeoutMs: idle }),
    ...(Number.isFinite(max) && max > 0 && { maxLifetimeMs: max }),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
