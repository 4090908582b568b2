/**
 * API Gateway v2: HTTP and WebSocket APIs. The control plane (rest-json `apigatewayv2`),
 * the invoke path behind the gateway's execute-api data plane (dataplane/), and the
 * `webSocketConnections` link the `@connections` management API works through.
 */
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import { clientEndpoint } from '../../shared/endpoint.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin } from '../plugin.js';
import type { ApiGatewayV2Deps } from './common.js';
import type { WebSocketConnections } from './dataplane/connections.js';
import { createInvokePath } from './dataplane/index.js';
import { apigatewayv2Operations } from './provider.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Open WebSocket connections, for the `@connections` management API. */
    webSocketConnections: WebSocketConnections;
  }
}

export const apigatewayv2Plugin = definePlugin({
  name: 'apigatewayv2',
  needs: [
    'executeApis',
    'functionInvoke',
    'resourcePolicies',
    'signatures',
    'logs',
    'metrics',
    'meter',
  ],
  provides: ['webSocketConnections'],
  model: async () => (await import('../../api/apigatewayv2/model.js')).model,
  create(deps) {
    let endpoint = clientEndpoint(deps.config.host, deps.config.port);
    const invoke = createInvokePath({
      store: deps.store,
      functions: deps.links.functionInvoke,
      resourcePolicies: deps.links.resourcePolicies,
      signatures: deps.links.signatures,
      logs: deps.links.logs,
      metrics: deps.links.metrics,
      meter: deps.links.meter,
      log: createLogger(deps.config.logLevel, deps.config.logFormat),
    });
    deps.links.executeApis.register(invoke.backend);
    const v2: ApiGatewayV2Deps = {
      store: deps.store,
      now: Date.now,
      endpoint: () => endpoint,
      changed: (apiId) => invoke.forget(apiId),
    };
    const operations = apigatewayv2Operations(v2, (apiId, stage) =>
      invoke.resetAuthorizerCache(apiId, stage),
    );
    return {
      dispatch: bindProvider<Apigatewayv2Operations>(operations),
      provides: { webSocketConnections: invoke.connections },
      async start(server) {
        endpoint = server.endpoint;
      },
      stop: () => invoke.stop(),
      async reset() {
        invoke.forget();
      },
    };
  },
});
