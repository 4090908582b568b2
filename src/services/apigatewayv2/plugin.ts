/**
 * API Gateway v2: HTTP and WebSocket APIs. The control plane (rest-json `apigatewayv2`),
 * the invoke path behind the shared execute-api data plane (dataplane/), and the
 * `webSocketConnections` link the `@connections` management API works through.
 */
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import { clientEndpoint } from '../../shared/endpoint.js';
import { bindProvider, definePlugin } from '../plugin.js';
import type { ApiGatewayV2Deps } from './common.js';
import { apigatewayv2Operations } from './provider.js';

export const apigatewayv2Plugin = definePlugin({
  name: 'apigatewayv2',
  needs: ['executeApis', 'functionInvoke'],
  model: async () => (await import('../../api/apigatewayv2/model.js')).model,
  create(deps) {
    let endpoint = clientEndpoint(deps.config.host, deps.config.port);
    const v2: ApiGatewayV2Deps = {
      store: deps.store,
      now: Date.now,
      endpoint: () => endpoint,
      changed: () => undefined,
    };
    const operations = apigatewayv2Operations(v2, () => undefined);
    return {
      dispatch: bindProvider<Apigatewayv2Operations>(operations),
      async start(server) {
        endpoint = server.endpoint;
      },
    };
  },
});
