/**
 * Amazon ECR: the ECR API (json 1.1, `AmazonEC2ContainerRegistry_V20150921`) and the OCI
 * distribution registry on `/v2/` of the same port, sharing one registry core
 * (registry.ts). Blobs live in a blob namespace of ECR's own, since ECR collects them.
 *
 * Local image references: `127.0.0.1:<port>/<repo>` addresses the registry of the
 * account and region in the client's token (`aws ecr get-login-password | docker login`),
 * else of the default account and region (STRATUS_ACCOUNT, STRATUS_REGION). A Host header
 * of the form `<account>.dkr.ecr.<region>.amazonaws.com` selects that registry.
 */
import { ecrResourcePolicies } from './resource-policies.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import { clientEndpoint } from '../../shared/endpoint.js';
import { createLogger } from '../../shared/log.js';
import type { Links, Provided } from '../links.js';
import { buildArn } from '../../shared/arn.js';
import type { Scope } from './store.js';
import {
  bindProvider,
  definePlugin,
  type PluginDeps,
  type RequestAuthenticator,
  type ServiceInstance,
} from '../plugin.js';
import { RegistryTokens } from './auth-token.js';
import { BlobGuard } from './blob-guard.js';
import { uriForm, type EcrDeps } from './common.js';
import { BlobCollector } from './gc.js';
import { layerDownloadPlane } from './layer-download.js';
import { EcrImageSource, SERVICE_TOKEN_KEY } from './image-source.js';
import { LifecycleRunner } from './lifecycle-runner.js';
import { ReplicationRunner } from './replication.js';
import { recordScan } from './scans-api.js';
import { ecrOperations } from './provider.js';
import { registryDataPlane } from './registry-http.js';
import { Registry } from './registry.js';
import { StorageMeter } from './metering.js';
import type { ImageSource } from '../../runtime/container.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Image references resolved against the registry (Lambda and ECS images). */
    images: ImageSource;
  }
}

/** STRATUS_ECR_BLOB_GRACE_SECONDS: how long an uploaded, unreferenced blob waits for its manifest. */
const DEFAULT_GRACE_SECONDS = 3600;
/** STRATUS_ECR_UPLOAD_LIFETIME_SECONDS: abandoned uploads go after this (distribution: 1 week). */
const DEFAULT_UPLOAD_LIFETIME_SECONDS = 24 * 3600;

export interface EcrServiceInstance extends ServiceInstance {
  registry: Registry;
  collector: BlobCollector;
  lifecycle: LifecycleRunner;
  replication: ReplicationRunner;
  imageSource: EcrImageSource;
  provides: Provided<'images' | 'resourcePolicies'>;
}

export async function createEcr(
  /** `signatures`, `meter` and `metrics` are optional: tests open the plugin alone. */
  deps: PluginDeps & { links: Partial<Links<'signatures' | 'meter' | 'metrics'>> },
  env: NodeJS.ProcessEnv = process.env,
): Promise<EcrServiceInstance> {
  const log = createLogger(deps.config.logLevel, deps.config.logFormat);
  const signatures = deps.links.signatures;
  const blobs = await deps.blobNamespace('ecr');
  const now = Date.now;
  const guard = new BlobGuard(
    seconds(env.STRATUS_ECR_BLOB_GRACE_SECONDS, DEFAULT_GRACE_SECONDS) * 1000,
    now,
  );
  const collector = new BlobCollector({
    store: deps.store,
    blobs,
    guard,
    now,
    log,
    uploadLifetimeMs:
      seconds(env.STRATUS_ECR_UPLOAD_LIFETIME_SECONDS, DEFAULT_UPLOAD_LIFETIME_SECONDS) * 1000,
  });
  const meter = deps.links.meter;
  const storage = meter && new StorageMeter(deps.store, meter, (m) => log.warn(m));
  const registry = new Registry({
    store: deps.store,
    blobs,
    guard,
    now,
    onImagesDeleted: () => collector.schedule(),
    onStored: (repo) => storage?.changed(repo),
    // Runs only after a push, by when `lifecycle` and `replication` below exist.
    onPush: async (repo, push) => {
      if (repo.lifecyclePolicy) lifecycle.schedule(repo);
      if (repo.scanOnPush) await recordScan(deps.store, repo, push.digest, now());
      if (!push.replicated) await replication.pushed(repo, push.digest);
    },
  });
  const lifecycle = new LifecycleRunner({ store: deps.store, registry, now, log });
  const replication = new ReplicationRunner({ store: deps.store, registry, now, log });
  const tokens = new RegistryTokens(deps.store, now);
  let endpoint: string | undefined;
  const ecrDeps: EcrDeps = {
    store: deps.store,
    registry,
    tokens,
    lifecycle,
    endpoint: () => endpoint ?? clientEndpoint(deps.config.host, deps.config.port),
    uriForm: uriForm(env.STRATUS_ECR_REPOSITORY_URI),
    now,
  };
  const imageSource = new EcrImageSource({ registry, tokens, endpoint: ecrDeps.endpoint });
  return {
    dispatch: bindProvider<EcrOperations>(ecrOperations(ecrDeps)),
    registry,
    collector,
    lifecycle,
    replication,
    imageSource,
    provides: { images: imageSource, resourcePolicies: ecrResourcePolicies(deps.store) },
    dataPlanes: [
      registryDataPlane({
        config: deps.config,
        registry,
        tokens,
        log,
        authorize: signatures && registryAuthorizer(signatures),
        metrics: deps.links.metrics,
      }),
      layerDownloadPlane({ store: deps.store, registry, log }),
    ],
    async start(server) {
      endpoint = server.endpoint;
      collector.start();
      lifecycle.start();
      await replication.start();
    },
    async stop() {
      await replication.stop();
      await lifecycle.stop();
      await collector.stop();
    },
    async reset() {
      await blobs.reset();
    },
  };
}

function seconds(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** UploadLayerPart carries up to 20 MiB (LayerPartBlob's limit) as base64 in JSON. */
const MAX_REQUEST_BYTES = 28 * 1024 * 1024;

/** Registry pushes and pulls are authorised as the ECR actions they stand for (registry-http.ts). */
function registryAuthorizer(signatures: RequestAuthenticator) {
  return async (accessKeyId: string, scope: Scope, action: string, repository: string) => {
    if (accessKeyId === SERVICE_TOKEN_KEY) return undefined;
    const caller = await signatures.callerOf(accessKeyId);
    if (!caller) return `The access key ${accessKeyId} is no longer valid.`;
    const refused = await signatures.authorize(
      {
        principal: caller.principal,
        account: caller.account,
        region: scope.region,
        action,
        resource: buildArn('ecr', scope.region, scope.account, `repository/${repository}`),
      },
      'json',
    );
    return refused?.message;
  };
}

export const ecrPlugin = definePlugin({
  name: 'ecr',
  needs: ['signatures', 'meter', 'metrics'],
  provides: ['images', 'resourcePolicies'],
  maxRequestBytes: MAX_REQUEST_BYTES,
  model: async () => (await import('../../api/ecr/model.js')).model,
  create: (deps) => createEcr(deps),
});
