/**
 * Elastic Load Balancing v2: the API, the load balancers' data plane (each listener's own
 * socket, and the gateway's `*.elb.localhost` / `/_stratus/elb/<name>/` forms), and the
 * `loadBalancing` link ECS registers its tasks through.
 */
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import { parseArn } from '../../shared/arn.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin } from '../plugin.js';
import type { CertificateSource } from './certificates.js';
import type { Elbv2Deps } from './common.js';
import { gatewayPlane } from './dataplane/gateway-plane.js';
import { ElbEngine } from './engine.js';
import { elbv2Operations } from './provider.js';
import { Targets } from './targets-api.js';
import type { FunctionInvoke } from './dataplane/proxy.js';
// The link's interface and its ServiceLinks entry.
import type { TargetRegistry } from './targets.js';
import type { Logger } from '../../shared/log.js';
import type { MetadataStore } from '../../storage/types.js';

export interface Elbv2Core {
  operations: ReturnType<typeof elbv2Operations>;
  /** The `loadBalancing` link. */
  registry: TargetRegistry;
  engine: ElbEngine;
}

/** The service's parts, wired as the plugin wires them (tests build it the same way). */
export function createElbv2(
  store: MetadataStore,
  host: string,
  log: Logger,
  invoke?: FunctionInvoke,
  certificates: CertificateSource = () => Promise.resolve(undefined),
): Elbv2Core {
  const engine = new ElbEngine({ store, host, log, invoke, certificates });
  const common: Elbv2Deps = { store, now: Date.now, changed: () => engine.changed() };
  const targets = new Targets({ ...common, health: engine.health });
  const operations = elbv2Operations(
    { ...common, certificates, localAddress: (arn) => engine.sockets.address(arn) },
    targets,
  );
  return { operations, registry: targets.registry, engine };
}

export const elbv2Plugin = definePlugin({
  name: 'elbv2',
  needs: ['functionInvoke', 'iam'],
  provides: ['loadBalancing'],
  model: async () => (await import('../../api/elbv2/model.js')).model,
  create(deps) {
    const lambda = deps.links.functionInvoke;
    const { operations, registry, engine } = createElbv2(
      deps.store,
      deps.config.host,
      createLogger(deps.config.logLevel, deps.config.logFormat),
      // A function ARN names its account and region.
      (arn, payload) => {
        const p = parseArn(arn);
        return lambda.invoke(p?.account ?? '', p?.region ?? '', arn, payload);
      },
      // HTTPS listeners serve IAM server certificates.
      (account, arn) => deps.links.iam.findServerCertificate(account, arn),
    );
    return {
      dispatch: bindProvider<Elbv2Operations>(operations),
      provides: { loadBalancing: registry },
      dataPlanes: [gatewayPlane(() => engine.snapshot(), engine.proxy)],
      start: () => engine.changed(),
      stop: () => engine.stop(),
      reset: () => engine.reset(),
    };
  },
});
