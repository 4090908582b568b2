/**
 * AWS Lambda. The plugin instance is a ServiceInstance plus what the gateway and the invoke
 * path need from Lambda:
 *  - `functions`: the typed LambdaFunctions interface (resolve a function for Invoke, async
 *    invocation settings, function URL owners, policies, change notifications);
 *  - `serveCodeDownload(path)`: the data plane behind GetFunction's Code.Location and
 *    GetLayerVersion's Content.Location (`GET /_stratus/lambda/code/<token>`);
 *  - `setEndpoint(url)`: the URL clients reach Stratus at, once the port is known;
 *  - `invocations`: the invoke path's readers (usage rows, queued events, environments).
 * Invoke, the async queue, function URLs and the event-stream invoke live in invoke/.
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import { clientEndpoint } from '../../shared/endpoint.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin, type PluginDeps, type ServiceInstance } from '../plugin.js';
import type { Provided } from '../links.js';
import { CODE_URL_PREFIX, CodeStore, type DownloadResponse } from './code-store.js';
import type { LambdaDeps } from './common.js';
import { LambdaFunctions } from './functions-api.js';
import { createInvokePath, type InvokePath } from './invoke/index.js';
import type { FunctionInvoker } from './invoke/service-invoker.js';
import { lambdaResourcePolicies } from './resource-policies.js';
import { RuntimeImages } from './execution/runtime-image.js';
import { Lifecycle } from './lifecycle.js';
import { controlPlaneOperations } from './provider.js';
import { storedOnly } from './provisioned.js';
import { s3EventTarget } from './s3-events.js';
import { mappingOperations } from './event-source-mappings.js';
import { EventSourcePoller } from './event-source-poller.js';
import { eventBridgeTarget } from './event-targets.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Synchronous invokes on behalf of another service (ALB Lambda targets). */
    functionInvoke: FunctionInvoker;
    /** Each invocation's usage row, for `stratus cost --what-if` (Cost Explorer's plugin). */
    functionUsage: Pick<InvokePath, 'listAccountUsage'>;
  }
}

export const DEFAULT_CONCURRENCY_LIMIT = 1000;

export interface LambdaServiceInstance extends ServiceInstance {
  /** Invokes for other services; function policies and tags for the gateway's authoriser. */
  provides: { functionInvoke: FunctionInvoker } & Provided<'resourcePolicies' | 'functionUsage'>;
  functions: LambdaFunctions;
  /** Usage rows (billing), queued async events, live environments. */
  invocations: Pick<InvokePath, 'listUsage' | 'queuedEvents' | 'environmentCount'>;
  /**
   * Answers `GET <CODE_URL_PREFIX><token>` (see code-store.ts) with the zip, S3-style 403s
   * for forged or expired tokens; undefined when `path` (query string allowed) is not a
   * code download path, so the caller can route on.
   */
  serveCodeDownload(path: string): Promise<DownloadResponse | undefined>;
  /** Sets the base URL (e.g. http://127.0.0.1:4566) code and function URLs are built on. */
  setEndpoint(endpoint: string): void;
}

export function isLambdaInstance(i: ServiceInstance): i is LambdaServiceInstance {
  return 'functions' in i && 'serveCodeDownload' in i;
}

/** STRATUS_LAMBDA_CONCURRENT_EXECUTIONS overrides AWS's default account limit of 1,000. */
export function concurrencyLimitFrom(env: NodeJS.ProcessEnv): number {
  const n = Number(env.STRATUS_LAMBDA_CONCURRENT_EXECUTIONS);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_CONCURRENCY_LIMIT;
}

/** The links Lambda needs (see services/links.ts). */
const NEEDS = [
  'logs',
  'iam',
  'sts',
  'signatures',
  'containers',
  'images',
  's3objects',
  's3events',
  'meter',
  'metrics',
  'dynamodbStreams',
  'eventTargets',
] as const;

export function createLambda(
  deps: PluginDeps<(typeof NEEDS)[number]>,
  env: NodeJS.ProcessEnv = process.env,
): LambdaServiceInstance {
  const log = createLogger(deps.config.logLevel, deps.config.logFormat);
  const code = new CodeStore(deps.blobs, deps.config.ephemeral ? undefined : deps.config.stateDir);
  const lifecycle = new Lifecycle(deps.store, (err) =>
    log.error('lambda state change failed', {
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    }),
  );
  let endpoint: string | undefined;
  // In containers every runtime runs on its image: a function stays Pending until it is in
  // ECR (built offline when missing), and Failed when it cannot be built.
  const runtimeImages =
    deps.links.containers.name === 'runc' || deps.links.containers.name === 'docker'
      ? new RuntimeImages({
          images: deps.links.images,
          config: deps.config,
          endpoint: () => endpoint ?? clientEndpoint(deps.config.host, deps.config.port),
          info: (msg) => log.info(msg),
        })
      : undefined;
  if (runtimeImages !== undefined) {
    lifecycle.prepare = async (runtime) => {
      if (RuntimeImages.imageOf(runtime) !== undefined) await runtimeImages.ensure(runtime);
    };
  }
  const lambdaDeps: LambdaDeps = {
    store: deps.store,
    code,
    iam: deps.links.iam,
    // Image functions need environments in containers (runtimeImages is set then).
    images: {
      source: runtimeImages !== undefined ? deps.links.images : undefined,
      driver: deps.links.containers.name,
    },
    s3: deps.links.s3objects,
    lifecycle,
    // Read late: the port may only be known once the server listens.
    endpoint: () => endpoint ?? clientEndpoint(deps.config.host, deps.config.port),
    now: Date.now,
    concurrencyLimit: concurrencyLimitFrom(env),
  };
  // The invoke path (created below, it needs `functions`) keeps provisioned environments.
  const late: { invoke?: InvokePath } = {};
  const control = controlPlaneOperations(
    lambdaDeps,
    () => late.invoke?.provisioner ?? storedOnly,
    () => (scope, name) => late.invoke?.managed.sync(scope, name),
  );
  const functions = new LambdaFunctions(lambdaDeps, control.PutFunctionEventInvokeConfig);
  const invoke = createInvokePath({
    config: deps.config,
    store: deps.store,
    logs: deps.links.logs,
    sts: deps.links.sts,
    signatures: deps.links.signatures,
    containers: deps.links.containers,
    runtimeImages,
    functions,
    endpoint: lambdaDeps.endpoint,
    log,
    meter: deps.links.meter,
    env,
    metrics: deps.links.metrics,
  });
  late.invoke = invoke;
  // CloudWatch alarm actions that name a function invoke it asynchronously.
  deps.links.metrics.registerAlarmTarget('lambda', (arn, payload) =>
    invoke.invokeEvent(arn, payload),
  );
  // CloudWatch Logs subscription filters that name a function invoke it asynchronously.
  deps.links.logs.deliverSubscriptions?.('lambda', (arn, payload) =>
    invoke.invokeEvent(arn, payload),
  );
  deps.links.s3events.registerLambda(s3EventTarget(functions, invoke));
  deps.links.eventTargets.register('lambda', eventBridgeTarget(functions, invoke));
  // Event source mappings: DynamoDB streams polled, batches invoked synchronously.
  const poller = new EventSourcePoller(
    deps.store,
    deps.links.dynamodbStreams,
    invoke.invoker,
    (msg, err) => log.warn(msg, { error: err instanceof Error ? err.message : String(err) }),
  );
  const mappings = mappingOperations({
    store: deps.store,
    functions,
    streams: deps.links.dynamodbStreams,
    now: Date.now,
    changed: () => poller.wake(),
  });
  const operations: Partial<LambdaOperations> = { ...control, ...invoke.operations, ...mappings };
  return {
    dispatch: bindProvider<LambdaOperations>(operations),
    provides: {
      functionInvoke: invoke.invoker,
      functionUsage: { listAccountUsage: (a, from, to) => invoke.listAccountUsage(a, from, to) },
      resourcePolicies: lambdaResourcePolicies(deps.store),
    },
    functions,
    invocations: {
      listUsage: (account, region, since) => invoke.listUsage(account, region, since),
      queuedEvents: () => invoke.queuedEvents(),
      environmentCount: () => invoke.environmentCount(),
    },
    serveCodeDownload: (path) => code.serveDownload(path),
    setEndpoint(url) {
      endpoint = url.replace(/\/+$/, '');
    },
    dataPlanes: [
      {
        name: 'lambda-code',
        title: 'Lambda code downloads (GetFunction Code.Location)',
        paths: [`${CODE_URL_PREFIX}{token}`],
        async handle(req, res) {
          req.resume();
          const answer = await code.serveDownload(req.url ?? '/');
          if (!answer) {
            res.writeHead(404).end();
            return;
          }
          res.writeHead(answer.status, answer.headers);
          res.end(req.method === 'HEAD' ? undefined : answer.body);
        },
      },
      ...invoke.dataPlanes,
    ],
    /** Learns the endpoint, finishes state flips a crash interrupted, resumes queued events. */
    async start(server) {
      endpoint = server.endpoint;
      await lifecycle.recover();
      await invoke.start();
      poller.start();
    },
    async stop() {
      await poller.stop();
      await invoke.stop();
      await code.close();
    },
    async reset() {
      functions.reset();
      await invoke.reset();
    },
  };
}

/** CreateFunction carries a 50 MB zip as base64 in JSON: AWS accepts 69,905,067 bytes. */
const MAX_REQUEST_BYTES = 69_905_067;

export const lambdaPlugin = definePlugin({
  name: 'lambda',
  needs: NEEDS,
  provides: ['functionInvoke', 'resourcePolicies', 'functionUsage'],
  maxRequestBytes: MAX_REQUEST_BYTES,
  model: async () => (await import('../../api/lambda/model.js')).model,
  create: (deps) => createLambda(deps),
});
