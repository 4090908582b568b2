/**
 * The `@connections` management API of WebSocket APIs (apigatewaymanagementapi, signed
 * for `execute-api`): PostToConnection, GetConnection, DeleteConnection on the open
 * connections API Gateway v2 keeps. Reached at `POST /@connections/<id>` on Stratus's
 * endpoint and at `<api-id>.execute-api…/<stage>/@connections/<id>`, as on AWS.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
import { GoneException } from '../../api/apigatewaymanagementapi/errors.js';
import type { ApigatewaymanagementapiOperations } from '../../api/apigatewaymanagementapi/operations.js';
import type { WebSocketConnections } from '../apigatewayv2/dataplane/connections.js';
import { bindProvider, definePlugin } from '../plugin.js';

/** AWS sends GoneException with no message of its own. */
const gone = () => new GoneException('');

export function managementOperations(
  connections: WebSocketConnections,
): ApigatewaymanagementapiOperations {
  return {
    async PostToConnection(input, ctx) {
      // Data over 128 KB never gets here: the model caps it (ValidationException).
      const data = Buffer.from(input.Data);
      if (!(await connections.post(ctx.account, input.ConnectionId, data))) throw gone();
    },

    async GetConnection(input, ctx) {
      const conn = connections.get(ctx.account, input.ConnectionId);
      if (!conn) throw gone();
      return {
        ConnectedAt: new Date(conn.connectedAt),
        Identity: { SourceIp: conn.sourceIp, UserAgent: conn.userAgent },
        LastActiveAt: new Date(conn.lastActiveAt),
      };
    },

    async DeleteConnection(input, ctx) {
      if (!connections.delete(ctx.account, input.ConnectionId)) throw gone();
    },
  };
}

export const apigatewaymanagementapiPlugin = definePlugin({
  name: 'apigatewaymanagementapi',
  needs: ['webSocketConnections'],
  model: async () => (await import('../../api/apigatewaymanagementapi/model.js')).model,
  create: (deps) => ({
    dispatch: bindProvider<ApigatewaymanagementapiOperations>(
      managementOperations(deps.links.webSocketConnections),
    ),
  }),
});
