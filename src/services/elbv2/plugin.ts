/**
 * Elastic Load Balancing v2: the API, the load balancers' data plane (each listener's own
 * socket, and the gateway's `*.elb.localhost` / `/_stratus/elb/<name>/` forms), and the
 * `loadBalancing` link ECS registers its tasks through.
 */
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin } from '../plugin.js';
import type { Elbv2Deps } from './common.js';
import { gatewayPlane } from './dataplane/gateway-plane.js';
import { ElbEngine } from './engine.js';
import { elbv2Operations } from './provider.js';
import { Targets } from './targets-api.js';
// The link's interface and its ServiceLinks entry.
import './targets.js';

export const elbv2Plugin = definePlugin({
  name: 'elbv2',
  provides: ['loadBalancing'],
  model: async () => (await import('../../api/elbv2/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const engine = new ElbEngine({ store: deps.store, host: deps.config.host, log });
    const common: Elbv2Deps = {
      store: deps.store,
      now: Date.now,
      changed: () => engine.changed(),
    };
    const targets = new Targets({ ...common, health: engine.health });
    const operations = elbv2Operations(
      { ...common, localAddress: (arn) => engine.sockets.address(arn) },
      targets,
    );
    return {
      dispatch: bindProvider<Elbv2Operations>(operations),
      provides: { loadBalancing: targets.registry },
      dataPlanes: [gatewayPlane(() => engine.snapshot(), engine.proxy)],
      start: () => engine.changed(),
      stop: () => engine.stop(),
      reset: () => engine.reset(),
    };
  },
});
